"""Small hand-written Delta tables of every product, for the API tests: each ``write_*`` writes one
product's tables (the values the tests' expectations are computed from) into the current workspace."""
from __future__ import annotations

import datetime as dt

from shared_lib import subject_hash
from tests.browser import write_table
from tests.compliance_data import KPIS

WEB = "web-user-analytics"
COMPLIANCE = "compliance-auditing"
SEGMENTATION = "user-segmentation"
MOBILE = "mobile-user-analytics"
OPS = "operational-metrics"

# web-user-analytics
D1, D2, D3 = dt.date(2024, 3, 1), dt.date(2024, 3, 2), dt.date(2024, 3, 3)


def web_kpi(day, sessions, **extra):
    return {"date": day, "visitors": sessions, "users": 0, "sessions": sessions, "page_views": 2 * sessions,
            "engaged_sessions": 0, "purchases": 0, "revenue": 0.0, "bot_events": 0, **extra}


def utc(day, hh, mm=0):
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.timezone.utc)


def write_web() -> None:
    """The web-user-analytics tables of its API tests."""
    write_table(WEB, "daily_kpis", [web_kpi(D1, 10, engagement_rate=0.5), web_kpi(D2, 20), web_kpi(D3, 30)])
    write_table(WEB, "daily_kpis_by_channel", [{**web_kpi(D1, 4), "channel": "paid"}, {**web_kpi(D1, 6), "channel": "direct"},
                                             {**web_kpi(D2, 20), "channel": "paid"}])
    write_table(WEB, "daily_kpis_by_country", [{**web_kpi(D1, 7), "country": "DE"}, {**web_kpi(D1, 3), "country": None}])
    write_table(WEB, "page_metrics", [
        {"date": D1, "page_path": "/", "page_views": 5, "unique_visitors": 4, "entrances": 4, "exits": 1, "exit_rate": 0.2},
        {"date": D1, "page_path": "/cart", "page_views": 9, "unique_visitors": 3, "entrances": 0, "exits": 3, "exit_rate": 1 / 3},
        {"date": D2, "page_path": "/", "page_views": 1, "unique_visitors": 1, "entrances": 1, "exits": 1, "exit_rate": 1.0}])
    write_table(WEB, "funnel", [
        {"date": D1, "step": 1, "step_name": "home", "sessions_reached": 100},
        {"date": D1, "step": 2, "step_name": "cart", "sessions_reached": 50},
        {"date": D1, "step": 3, "step_name": "purchase", "sessions_reached": 10},
        {"date": D2, "step": 1, "step_name": "home", "sessions_reached": 60},
        {"date": D2, "step": 2, "step_name": "cart", "sessions_reached": 30},
        {"date": D2, "step": 3, "step_name": "purchase", "sessions_reached": 5}])
    write_table(WEB, "sessions", [
        {"session_id": "s1", "anonymous_id": "v1", "user_id": "u1", "session_date": D1, "session_start": utc(D1, 9),
         "session_end": utc(D1, 9, 5), "duration_s": 300.0, "events": 2, "page_views": 2, "engaged": True,
         "channel": "direct", "device_type": "desktop", "purchases": 0, "revenue": 0.0},
        {"session_id": "s2", "anonymous_id": "v2", "session_date": D1, "session_start": utc(D1, 10),
         "session_end": utc(D1, 10), "duration_s": 0.0, "events": 1, "page_views": 1, "engaged": False,
         "channel": "paid", "device_type": "mobile", "purchases": 0, "revenue": 0.0}])
    event = {"event_type": "page_view", "anonymous_id": "v1", "user_id": "u1", "channel": "direct",
             "device_type": "desktop", "currency": "USD", "is_bot": False, "topic": "web.events", "partition": 0,
             "ip_network": "10.0.0.0/24", "user_agent": "Firefox", "ingested_at": utc(D1, 12)}
    write_table(WEB, "events", [
        {**event, "event_id": "e2", "event_ts": utc(D1, 9, 5), "event_date": D1, "page_path": "/cart",
         "page_url": "https://shop.example/cart", "offset": 2},
        {**event, "event_id": "e1", "event_ts": utc(D1, 9), "event_date": D1, "page_path": "/",
         "page_url": "https://shop.example/", "offset": 1},
        {**event, "event_id": "e3", "anonymous_id": "v2", "user_id": None, "event_ts": utc(D1, 10),
         "event_date": D1, "page_path": "/", "page_url": "https://shop.example/?x=1", "offset": 3}])


# compliance-auditing


def audit_event(event_id, day, hour, actor, action, result, purpose=None, subject=None, ip=None):
    key = subject_hash.workspace_key()
    return {"event_id": event_id, "event_ts": dt.datetime(2024, 3, day, hour, tzinfo=dt.timezone.utc),
            "event_date": dt.date(2024, 3, day), "actor": actor, "actor_role": "analyst", "action": action,
            "resource": "web.silver.events", "columns": ["ip_network"], "purpose": purpose, "result": result,
            "subject_hash": subject_hash.hash_id(subject, key) if subject else None, "source_ip": ip,
            "topic": "compliance.audit", "partition": 0, "offset": int(event_id[1:]),
            "ingested_at": dt.datetime(2024, 3, 5, tzinfo=dt.timezone.utc)}


def write_compliance() -> None:
    """The compliance-auditing tables of its API tests."""
    write_table(COMPLIANCE, "audit_trail", [
        audit_event("e1", 2, 9, "ana", "read", "success", "analytics", "v1", "10.1.1.1"),
        audit_event("e2", 3, 9, "ana", "read", "denied", subject="v2"),
        audit_event("e3", 3, 10, "bob", "export", "success", "support", "v1"),
        audit_event("e4", 4, 8, "bob", "delete", "failure")])
    since = dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc)
    write_table(COMPLIANCE, "consent_state", [
        {"subject_id": "v1", "purpose": "marketing", "granted": False, "since": since, "event_id": "c2", "events": 2},
        {"subject_id": "v1", "purpose": "analytics", "granted": True, "since": since, "event_id": "c1", "events": 1},
        {"subject_id": "v2", "purpose": "analytics", "granted": True, "since": since, "event_id": "c3", "events": 1}])
    write_table(COMPLIANCE, "daily_compliance_kpis", KPIS.to_dict("records"))


# user-segmentation
S1, S2 = dt.date(2024, 2, 1), dt.date(2024, 3, 1)

# Five customers of S2, one per quintile: recency 1..5 days (R 5..1), frequency 1..5 (F), monetary
# 10..50 (M). So the boundaries are recency [1..5], frequency [1..5], monetary [10..50].
CUSTOMERS = [("u1", 1, 5, 50.0, 5, 5, 5, "Champions"), ("u2", 2, 4, 40.0, 4, 4, 4, "Loyal Customers"),
             ("u3", 3, 3, 30.0, 3, 3, 3, "Need Attention"), ("u4", 4, 2, 20.0, 2, 2, 2, "Hibernating"),
             ("u5", 5, 1, 10.0, 1, 1, 1, "Hibernating")]


def customer_row(day, user, recency, frequency, monetary, r, f, m, segment):
    return {"snapshot_date": day, "user_id": user, "recency_days": recency, "frequency": frequency,
            "monetary": monetary, "r": r, "f": f, "m": m, "rfm": f"{r}{f}{m}", "segment": segment}


def behaviour_row(day, user, segment, risk, level):
    return {"snapshot_date": day, "user_id": user, "segment": segment, "churn_risk": risk, "churn_risk_level": level,
            "engagement_level": "Low", "purchase_pattern": "One-time", "value_tier": "Low",
            "lifecycle_stage": "Dormant", "recency_days": 40, "frequency": 1, "monetary": 10.0,
            "customer_age_days": 400, "days_since_last_activity": 40}


def write_segmentation() -> None:
    """The user-segmentation tables of its API tests."""
    # u1 was at risk in the older snapshot S1, whose single customer gives no quintiles
    write_table(SEGMENTATION, "customer_segments", [customer_row(S1, "u1", 40, 3, 30.0, 1, 3, 3, "At Risk")]
                + [customer_row(S2, *c) for c in CUSTOMERS])
    write_table(SEGMENTATION, "segment_profiles", [
        {"snapshot_date": S2, "segment": "Hibernating", "segment_order": 10, "customers": 2, "customer_share": 0.4,
         "revenue": 30.0, "revenue_share": 0.2, "recommended_action": "win back"},
        {"snapshot_date": S2, "segment": "Champions", "segment_order": 1, "customers": 1, "customer_share": 0.2,
         "revenue": 50.0, "revenue_share": 1 / 3, "recommended_action": "reward"},
        {"snapshot_date": S1, "segment": "At Risk", "segment_order": 8, "customers": 1, "customer_share": 1.0,
         "revenue": 30.0, "revenue_share": 1.0, "recommended_action": "reach out"}])
    # S1 -> S2: u1 moved from At Risk to Champions; u2..u5 are new (no segment at S1)
    write_table(SEGMENTATION, "segment_movement", [
        {"from_snapshot": S1, "to_snapshot": S2, "from_segment": "At Risk", "to_segment": "Champions", "customers": 1},
        {"from_snapshot": S1, "to_snapshot": S2, "from_segment": None, "to_segment": "Hibernating", "customers": 2},
        {"from_snapshot": S1, "to_snapshot": S2, "from_segment": None, "to_segment": "Loyal Customers", "customers": 1},
        {"from_snapshot": S1, "to_snapshot": S2, "from_segment": None, "to_segment": "Need Attention", "customers": 1}])
    # At S2: u5 and u4 are High risk (u5 riskier), u1 Low; at S1 u1 alone, High.
    write_table(SEGMENTATION, "customer_behaviour", [
        behaviour_row(S1, "u1", "At Risk", 0.75, "High"), behaviour_row(S2, "u1", "Champions", 0.10, "Low"),
        behaviour_row(S2, "u4", "Hibernating", 0.72, "High"), behaviour_row(S2, "u5", "Hibernating", 0.91, "High")])
    cluster = {"snapshot_date": S2, "k": 2, "recency_days": 3.0, "frequency": 3.0, "monetary": 30.0,
               "sessions_30d": 0.0, "engaged_sessions_30d": 0.0, "web_share": 1.0}
    write_table(SEGMENTATION, "cluster_profiles", [
        {**cluster, "cluster": 1, "customers": 3, "customer_share": 0.6, "revenue": 60.0, "revenue_share": 0.4,
         "description": "low spenders"},
        {**cluster, "cluster": 0, "customers": 2, "customer_share": 0.4, "revenue": 90.0, "revenue_share": 0.6,
         "description": "big spenders"}])


# mobile-user-analytics
D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


def mobile_kpis(day, dau, mau):
    return {"date": day, "dau": dau, "wau": dau, "mau": mau, "stickiness": dau / mau, "new_devices": 1,
            "sessions": dau, "engaged_sessions": 0, "crashed_devices": 0, "crashed_sessions": 0,
            "purchases": 0, "revenue": 0.0}


def version_row(day, platform, version, active, crashed, adopted, adoption):
    return {"date": day, "platform": platform, "app_version": version, "active_devices": active,
            "crashed_devices": crashed, "crash_free_users": 1 - crashed / active, "sessions": active,
            "crashed_sessions": crashed, "crash_free_sessions": 1 - crashed / active,
            "adopted_devices": adopted, "version_adoption": adoption}


def write_mobile() -> None:
    """The mobile-user-analytics tables of its API tests."""
    write_table(MOBILE, "daily_kpis", [mobile_kpis(D1, 4, 8), mobile_kpis(D2, 6, 8)])
    write_table(MOBILE, "retention", [
        {"cohort_date": D1, "day_n": 0, "cohort_size": 4, "retained_devices": 4, "retention": 1.0},
        {"cohort_date": D1, "day_n": 1, "cohort_size": 4, "retained_devices": 1, "retention": 0.25},
        {"cohort_date": D2, "day_n": 1, "cohort_size": 2, "retained_devices": None, "retention": None}])
    write_table(MOBILE, "daily_by_version", [
        version_row(D2, "ios", "2.0", 4, 1, 3, 0.5), version_row(D2, "ios", "1.9", 2, 0, 1, 1 / 6),
        version_row(D2, "android", "2.0", 2, 0, 2, 1 / 3), version_row(D1, "ios", "1.9", 4, 2, 4, 1.0)])


# operational-metrics
UTC = dt.timezone.utc
T1, T2 = dt.datetime(2024, 3, 1, 10, tzinfo=UTC), dt.datetime(2024, 3, 1, 11, tzinfo=UTC)
D = dt.date(2024, 3, 1)


def sla_row(at, product, state, previous):
    return {"evaluated_at": at, "date": at.date(), "product": product, "state": state, "previous_state": previous,
            "worst_metric": "data_freshness_minutes", "metrics_evaluated": 3}


def write_ops() -> None:
    """The operational-metrics tables of its API tests."""
    write_table(OPS, "sla_status", [sla_row(T1, "web", "HEALTHY", None), sla_row(T2, "web", "WARNING", "HEALTHY"),
                                  sla_row(T1, "mobile", "CRITICAL", None)])
    write_table(OPS, "table_freshness", [
        {"evaluated_at": T1, "date": D, "table_name": "a.gold.t", "product": "a", "layer": "gold", "freshness_s": 9.0},
        {"evaluated_at": T2, "date": D, "table_name": "b.gold.t", "product": "b", "layer": "gold", "freshness_s": 5.0},
        {"evaluated_at": T2, "date": D, "table_name": "a.gold.t", "product": "a", "layer": "gold", "freshness_s": 1.0}])
    write_table(OPS, "consumer_lag", [
        {"evaluated_at": T2, "date": D, "topic": "web.events", "product": "web", "end_offset": 10,
         "ingested_offset": 7, "lag_messages": 3, "lag_seconds": 4.5}])
    write_table(OPS, "alerts", [
        {"at": T1, "date": D, "alert_id": "a1", "event": "fired", "rule": "r", "product": "web", "metric": "m",
         "severity": "warning", "comparison": ">", "threshold": 1.0, "value": 2.0, "message": "high",
         "notified": "log"},
        {"at": T2, "date": D, "alert_id": "a1", "event": "resolved", "rule": "r", "product": "web", "metric": "m",
         "severity": "warning", "comparison": ">", "threshold": 1.0, "value": 0.5, "message": "ok",
         "notified": "log"}])
    write_table(OPS, "service_hourly", [
        {"date": D, "hour": T1, "service": "web-user-analytics-api", "requests": 4, "errors": 1, "error_rate": 0.25,
         "latency_p50_ms": 3.0, "latency_p95_ms": 9.0, "latency_p99_ms": 11.0}])
    write_table("platform", "pipeline_runs", [
        {"run_id": "r1", "env": "dev", "product": "web", "notebook": "bronze", "status": "succeeded",
         "started_at": T1, "duration_s": 3.0},
        {"run_id": "r2", "env": "dev", "product": "web", "notebook": "silver", "status": "failed",
         "started_at": T2, "error": "boom"}])
