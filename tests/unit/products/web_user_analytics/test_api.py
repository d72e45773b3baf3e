"""The web API on small hand-written Delta tables: KPIs by date range and dimension, pages,
the funnel's range totals, and one visitor's journey with masking, purpose and audit."""
from __future__ import annotations

import datetime as dt

import pytest

from products.web_user_analytics import api as web_api
from tests import api_client
from tests.api_client import write_table

P = "web-user-analytics"
D1, D2, D3 = dt.date(2024, 3, 1), dt.date(2024, 3, 2), dt.date(2024, 3, 3)


def _kpi(day, sessions, **extra):
    return {"date": day, "visitors": sessions, "users": 0, "sessions": sessions, "page_views": 2 * sessions,
            "engaged_sessions": 0, "purchases": 0, "revenue": 0.0, "bot_events": 0, **extra}


def _ts(day, hh, mm=0):
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.timezone.utc)


@pytest.fixture
def web(tmp_path, monkeypatch):
    client = api_client.api(web_api.create_app, tmp_path, monkeypatch)
    write_table(P, "daily_kpis", [_kpi(D1, 10, engagement_rate=0.5), _kpi(D2, 20), _kpi(D3, 30)])
    write_table(P, "daily_kpis_by_channel", [{**_kpi(D1, 4), "channel": "paid"}, {**_kpi(D1, 6), "channel": "direct"},
                                             {**_kpi(D2, 20), "channel": "paid"}])
    write_table(P, "daily_kpis_by_country", [{**_kpi(D1, 7), "country": "DE"}, {**_kpi(D1, 3), "country": None}])
    write_table(P, "page_metrics", [
        {"date": D1, "page_path": "/", "page_views": 5, "unique_visitors": 4, "entrances": 4, "exits": 1, "exit_rate": 0.2},
        {"date": D1, "page_path": "/cart", "page_views": 9, "unique_visitors": 3, "entrances": 0, "exits": 3, "exit_rate": 1 / 3},
        {"date": D2, "page_path": "/", "page_views": 1, "unique_visitors": 1, "entrances": 1, "exits": 1, "exit_rate": 1.0}])
    write_table(P, "funnel", [
        {"date": D1, "step": 1, "step_name": "home", "sessions_reached": 100},
        {"date": D1, "step": 2, "step_name": "cart", "sessions_reached": 50},
        {"date": D1, "step": 3, "step_name": "purchase", "sessions_reached": 10},
        {"date": D2, "step": 1, "step_name": "home", "sessions_reached": 60},
        {"date": D2, "step": 2, "step_name": "cart", "sessions_reached": 30},
        {"date": D2, "step": 3, "step_name": "purchase", "sessions_reached": 5}])
    write_table(P, "sessions", [
        {"session_id": "s1", "anonymous_id": "v1", "user_id": "u1", "session_date": D1, "session_start": _ts(D1, 9),
         "session_end": _ts(D1, 9, 5), "duration_s": 300.0, "events": 2, "page_views": 2, "engaged": True,
         "channel": "direct", "device_type": "desktop", "purchases": 0, "revenue": 0.0},
        {"session_id": "s2", "anonymous_id": "v2", "session_date": D1, "session_start": _ts(D1, 10),
         "session_end": _ts(D1, 10), "duration_s": 0.0, "events": 1, "page_views": 1, "engaged": False,
         "channel": "paid", "device_type": "mobile", "purchases": 0, "revenue": 0.0}])
    event = {"event_type": "page_view", "anonymous_id": "v1", "user_id": "u1", "channel": "direct",
             "device_type": "desktop", "currency": "USD", "is_bot": False, "topic": "web.events", "partition": 0,
             "ip": "10.0.0.1", "user_agent": "Firefox", "ingested_at": _ts(D1, 12)}
    write_table(P, "events", [
        {**event, "event_id": "e2", "event_ts": _ts(D1, 9, 5), "event_date": D1, "page_path": "/cart",
         "page_url": "https://shop.example/cart", "offset": 2},
        {**event, "event_id": "e1", "event_ts": _ts(D1, 9), "event_date": D1, "page_path": "/",
         "page_url": "https://shop.example/", "offset": 1},
        {**event, "event_id": "e3", "anonymous_id": "v2", "user_id": None, "event_ts": _ts(D1, 10),
         "event_date": D1, "page_path": "/", "page_url": "https://shop.example/?x=1", "offset": 3}])
    return client


def test_daily_kpis_of_a_date_range(web):
    body = web.get("/kpis/daily?start=2024-03-02&end=2024-03-03", "viewer").json()
    assert [(r["date"], r["sessions"]) for r in body["data"]] == [("2024-03-02", 20), ("2024-03-03", 30)]


def test_without_a_range_the_last_30_days_up_to_the_latest_date_are_answered(web):
    body = web.get("/kpis/daily", "viewer").json()
    assert [r["date"] for r in body["data"]] == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert body["data"][0]["engagement_rate"] == 0.5 and body["data"][1]["engagement_rate"] is None


def test_kpis_by_channel_filtered_to_one_channel(web):
    body = web.get("/kpis/daily/by-channel?start=2024-03-01&end=2024-03-02&channel=paid", "viewer").json()
    assert [(r["date"], r["channel"], r["sessions"]) for r in body["data"]] == [
        ("2024-03-01", "paid", 4), ("2024-03-02", "paid", 20)]


def test_kpis_by_country_keep_the_unknown_country_as_null_last(web):
    body = web.get("/kpis/daily/by-country?start=2024-03-01&end=2024-03-01", "viewer").json()
    assert [(r["country"], r["sessions"]) for r in body["data"]] == [("DE", 7), (None, 3)]


def test_a_table_no_run_has_written_answers_an_empty_list(web):
    assert web.get("/kpis/daily/by-device", "viewer").json()["data"] == []


@pytest.mark.parametrize("url,field", [
    ("/kpis/daily?start=2024-02-30", "start"),          # no such day
    ("/kpis/daily?end=yesterday", "end"),
    ("/kpis/daily?start=2024-03-03&end=2024-03-01", "start"),  # reversed range
    ("/kpis/daily/by-channel?channel=tv", "channel"),
    ("/kpis/daily/by-country?country=germany", "country"),
    ("/pages?limit=5000", "limit"),
])
def test_a_bad_parameter_is_a_400_naming_it(web, url, field):
    resp = web.get(url, "viewer")
    assert resp.status_code == 400
    assert [d["field"] for d in resp.json()["error"]["details"]] == [field]


def test_pages_most_viewed_first_within_the_newest_date_and_paginated(web):
    body = web.get("/pages?start=2024-03-01&end=2024-03-02&limit=2", "viewer").json()
    assert [(r["date"], r["page_path"], r["page_views"]) for r in body["data"]] == [
        ("2024-03-02", "/", 1), ("2024-03-01", "/cart", 9)]
    assert body["meta"]["page"] == {"limit": 2, "offset": 0, "total": 3, "next_offset": 2}


def test_the_funnel_of_a_range_sums_its_days_and_recomputes_the_rates(web):
    steps = web.get("/funnel?start=2024-03-01&end=2024-03-02", "viewer").json()["data"]
    # reached: 100+60=160, 50+30=80, 10+5=15; from start 80/160, 15/160; step 15/80
    assert steps == [
        {"step": 1, "step_name": "home", "sessions_reached": 160, "conversion_from_start": 1.0, "step_conversion": None},
        {"step": 2, "step_name": "cart", "sessions_reached": 80, "conversion_from_start": 0.5, "step_conversion": 0.5},
        {"step": 3, "step_name": "purchase", "sessions_reached": 15, "conversion_from_start": 0.09375,
         "step_conversion": 0.1875}]


def test_an_analyst_reads_a_journey_unmasked_with_a_purpose_and_the_read_is_audited(web):
    resp = web.get("/visitors/v1/journey", "analyst", purpose="support")
    assert resp.status_code == 200
    data = resp.json()["data"]
    assert [s["session_id"] for s in data["sessions"]] == ["s1"]
    assert [(e["event_id"], e["page_url"], e["ip"]) for e in data["events"]] == [
        ("e1", "https://shop.example/", "10.0.0.1"), ("e2", "https://shop.example/cart", "10.0.0.1")]
    [audit] = web.sinks.audits
    assert audit["actor"] == web.actor("analyst") and audit["actor_role"] == "analyst"
    assert (audit["action"], audit["result"], audit["purpose"], audit["subject_id"]) == ("read", "success", "support", "v1")
    assert audit["resource"] == "web-user-analytics-api:/visitors/{subject_id}/journey"
    # the personal columns answered, from both tables
    assert audit["columns"] == ["anonymous_id", "ip", "page_url", "referrer", "user_agent", "user_id"]


def test_an_operator_sees_the_journey_with_personal_columns_masked_and_no_audit(web):
    data = web.get("/visitors/u1/journey?id_type=user_id", "operator").json()["data"]
    [event1, event2] = data["events"]
    assert (event1["event_id"], event1["page_path"], event1["page_url"], event1["ip"], event1["anonymous_id"]) == (
        "e1", "/", "***", "***", "***")
    assert event2["referrer"] is None  # null stays null: masking hides values, not their absence
    assert data["sessions"][0]["user_id"] == "***" and data["sessions"][0]["channel"] == "direct"
    assert web.sinks.audits == []


@pytest.mark.parametrize("purpose", [None, "curiosity"])
def test_a_journey_without_a_valid_purpose_is_refused_and_audited_as_denied(web, purpose):
    resp = web.get("/visitors/v1/journey", "auditor", purpose=purpose)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "purpose_required"
    assert resp.json()["error"]["details"][0]["field"] == "X-Purpose"
    [audit] = web.sinks.audits
    assert (audit["result"], audit["actor_role"], audit["subject_id"]) == ("denied", "auditor", "v1")
    assert "purpose" not in audit  # only a purpose of events.md may be recorded


def test_a_viewer_may_not_read_a_journey_and_the_refusal_is_audited(web):
    assert web.get("/visitors/v1/journey", "viewer", purpose="support").status_code == 403
    [audit] = web.sinks.audits
    assert (audit["actor"], audit["result"]) == (web.actor("viewer"), "denied")


def test_journey_events_are_paginated_and_a_visitor_without_data_answers_empty_lists(web):
    body = web.get("/visitors/v1/journey?limit=1&offset=1", "admin", purpose="support").json()
    assert [e["event_id"] for e in body["data"]["events"]] == ["e2"]
    assert body["meta"]["page"] == {"limit": 1, "offset": 1, "total": 2, "next_offset": None}
    empty = web.get("/visitors/nobody/journey", "admin", purpose="support").json()["data"]
    assert (empty["sessions"], empty["events"]) == ([], [])


def test_a_table_is_read_once_per_version_then_served_from_the_cache(web):
    cache = web.client.app.state.cache
    assert web.get("/kpis/daily", "viewer").json()["data"][-1]["sessions"] == 30
    web.get("/kpis/daily?start=2024-03-03", "viewer")
    assert cache.reads == 1
    write_table(P, "daily_kpis", [_kpi(D3, 31)])  # version 1 replaces every row
    assert web.get("/kpis/daily", "viewer").json()["data"] == [pytest.approx(_expected_row(D3, 31))]
    assert cache.reads == 2


def _expected_row(day, sessions):
    row = {k: v for k, v in _kpi(day, sessions).items()}
    row["date"] = day.isoformat()
    return {**{c: None for c in ("engagement_rate", "bounce_rate", "avg_session_duration_s", "pages_per_session",
                                 "conversion_rate")}, **row}
