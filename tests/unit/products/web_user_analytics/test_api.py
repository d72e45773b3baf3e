"""The web API on small hand-written Delta tables: KPIs by date range and dimension, pages,
the funnel's range totals, and one visitor's journey with masking, purpose and audit."""
from __future__ import annotations

import pytest

from products.web_user_analytics import api as web_api
from tests import api_client, api_data
from tests.api_client import write_table
from tests.api_data import D3, web_kpi

P = "web-user-analytics"


@pytest.fixture
def web(tmp_path, monkeypatch):
    client = api_client.api(web_api.create_app, tmp_path, monkeypatch)
    api_data.write_web()
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
    assert [(e["event_id"], e["page_url"], e["ip_network"]) for e in data["events"]] == [
        ("e1", "https://shop.example/", "10.0.0.0/24"), ("e2", "https://shop.example/cart", "10.0.0.0/24")]
    [audit] = web.sinks.audits
    assert audit["actor"] == web.actor("analyst") and audit["actor_role"] == "analyst"
    assert (audit["action"], audit["result"], audit["purpose"], audit["subject_id"]) == ("read", "success", "support", "v1")
    assert audit["resource"] == "web-user-analytics-api:/visitors/{subject_id}/journey"
    # the personal columns answered, from both tables
    assert audit["columns"] == ["anonymous_id", "ip_network", "page_url", "referrer", "user_agent", "user_id"]


def test_an_operator_sees_the_journey_with_personal_columns_masked_and_no_audit(web):
    data = web.get("/visitors/u1/journey?id_type=user_id", "operator").json()["data"]
    [event1, event2] = data["events"]
    assert (event1["event_id"], event1["page_path"], event1["page_url"], event1["ip_network"], event1["anonymous_id"]) == (
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
    write_table(P, "daily_kpis", [web_kpi(D3, 31)])  # version 1 replaces every row
    assert web.get("/kpis/daily", "viewer").json()["data"] == [pytest.approx(_expected_row(D3, 31))]
    assert cache.reads == 2


def _expected_row(day, sessions):
    row = {k: v for k, v in web_kpi(day, sessions).items()}
    row["date"] = day.isoformat()
    return {**{c: None for c in ("engagement_rate", "bounce_rate", "avg_session_duration_s", "pages_per_session",
                                 "conversion_rate")}, **row}
