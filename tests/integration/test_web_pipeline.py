"""web-user-analytics end to end: hand-built JSON events into Kafka, bronze -> silver -> gold
through the runner, exact gold values read back with delta-rs; then a second batch with late
events that changes yesterday's KPIs; then a rerun without new data that changes nothing.

The broker and topic are shared with other tests of the session, so every event here is dated
June 2021 and its ids start with ``itw-``; assertions look only at those dates and ids, and the
accounting check holds for the whole tables whatever else they hold.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from shared_lib import paths
from tests.integration import pipeline

pytestmark = pytest.mark.integration

PRODUCT = "web-user-analytics"
D1, D2 = dt.date(2021, 6, 14), dt.date(2021, 6, 15)
SHOP = "https://shop.example.com"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def event(event_id, visitor, ts, event_type="page_view", path="/", **fields):
    body = {"event_id": f"itw-{event_id}", "event_type": event_type, "event_ts": ts,
            "anonymous_id": f"itw-{visitor}", "user_agent": DESKTOP}
    if path is not None:
        body["page_url"] = SHOP + path
    return {**body, **fields}


P1 = event("p1", "v1", "2021-06-14T10:00:00Z", utm_source="google", utm_medium="cpc", page_load_ms=120,
           user_id="itw-u1", country="de", ip="81.2.69.160")  # the country sent wins over the address's (GB)
# Sent out of order (v1's last event first); one duplicate delivery; one of each bad input.
BATCH_1 = [
    event("p3", "v1", "2021-06-14T11:00:01Z", path="/cart", referrer=f"{SHOP}/product"),  # 30 min 1 s: new session
    event("p2", "v1", "2021-06-14T12:30:00+02:00", path="/product", page_load_ms=999999),  # exactly 30 min; load nulled
    P1,
    event("e1", "v2", "2021-06-14T12:00:00.000Z", utm_source="news", utm_medium="email", ip="8.8.8.8"),  # GeoIP: US
    event("e2", "v2", "2021-06-14T12:00:10.000Z", "scroll", properties={"scroll_depth": 50}),  # 10 s: not engaged
    event("s1", "v3", "2021-06-14T13:00:00.000Z", referrer="https://www.facebook.com/"),
    event("s2", "v3", 1623675610500, "click"),  # epoch ms = 13:00:10.500: 10.5 s, engaged
    event("o1", "v4", "2021-06-14T14:00:00Z", path="/checkout", referrer="https://www.google.com/search?q=x"),
    event("o2", "v4", "2021-06-14T14:00:05Z", "purchase", path="/checkout", order_id="itw-o1", revenue=42.5),
    event("r1", "v5", "2021-06-14T23:50:00Z", path="/produkt/café-crème/", referrer="https://blog.example.org/x"),
    event("r2", "v5", "2021-06-15T00:10:00Z"),  # across midnight: the session belongs to D1
    event("d1", "v6", "2021-06-14T15:00:00Z"),
    event("d1", "v6", "2021-06-14T15:00:00Z"),  # duplicate
    event("b1", "bot", "2021-06-14T16:00:00Z", user_agent="curl/8.5.0"),
    event("n1", "v7", "2021-06-15T09:00:00Z"),
    '{"event_id": "itw-q-malformed", "event_type": "page_view", ',
    json.dumps(event("q-bad-ts", "q", "2021-06-14T10:00:00")),
    json.dumps(event("q-future", "q", (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat())),
    json.dumps({k: v for k, v in event("q-missing", "q", "2021-06-14T10:00:00Z").items() if k != "anonymous_id"}),
    json.dumps(event("q-type", "q", "2021-06-14T10:00:00Z", page_load_ms="fast", ip="193.0.6.139")),
    json.dumps(event("q-value", "q", "2021-06-14T10:00:00Z", "teleport")),
    json.dumps(event("q-large", "q", "2021-06-14T10:00:00Z", properties={"blob": "x" * (1024 * 1024)})),
]
QUARANTINED = {"itw-q-malformed": "malformed_json", "itw-q-bad-ts": "bad_timestamp",
               "itw-q-future": "future_timestamp", "itw-q-missing": "missing_field:anonymous_id",
               "itw-q-type": "bad_type:page_load_ms", "itw-q-value": "bad_value:event_type",
               "itw-q-large": "too_large"}
# Late events for D1: v6 20 minutes before its session (merging into it), a new visitor v8; and
# a second delivery of p1, a duplicate across runs.
BATCH_2 = [event("d0", "v6", "2021-06-14T14:40:00Z", path="/product"),
           event("l1", "v8", "2021-06-14T20:00:00Z"), P1]
KPI = ("visitors", "users", "sessions", "page_views", "engaged_sessions", "engagement_rate", "bounce_rate",
       "avg_session_duration_s", "pages_per_session", "purchases", "revenue", "conversion_rate", "bot_events")


def produce(params, messages) -> int:
    return pipeline.produce(params, PRODUCT, messages, "anonymous_id")


def run_pipeline():
    return pipeline.run_pipeline(PRODUCT)


def table(name: str):
    return pipeline.table(PRODUCT, name)


def kpis(name: str, keys: list[str]) -> dict:
    df = table(name)
    df = df[df["date"].isin([D1, D2])]
    return {tuple(row[k] for k in keys): tuple(row[c] for c in KPI) for _, row in df.iterrows()}


approx = pipeline.approx


@pytest.fixture(scope="module")
def first_run(params):
    sent = produce(params, BATCH_1)
    assert sent == len(BATCH_1)
    return run_pipeline()


@pytest.fixture(scope="module")
def second_run(first_run, params):
    produce(params, BATCH_2)
    return run_pipeline()


def test_first_batch_gold_values(first_run):
    assert kpis("daily_kpis", ["date"]) == {
        # sessions: v1 10:00-10:30 (1800 s, 2 pv), v1 11:00:01, v2 (10 s), v3 (10.5 s), v4 (5 s, purchase),
        # v5 23:50-00:10 (1200 s, 2 pv), v6; engaged: v1 first, v3, v4, v5
        (D1,): approx(6, 1, 7, 9, 4, 4 / 7, 3 / 7, 3025.5 / 7, 9 / 7, 1, 42.5, 1 / 7, 1),
        (D2,): approx(1, 0, 1, 1, 0, 0.0, 1.0, 0.0, 1.0, 0, 0.0, 0.0, 0),
    }
    channels = {k[1]: v[2] for k, v in kpis("daily_kpis_by_channel", ["date", "channel"]).items() if k[0] == D1}
    assert channels == {"paid": 1, "email": 1, "social": 1, "organic": 1, "referral": 1, "direct": 2}
    countries = {k[1]: v[2] for k, v in kpis("daily_kpis_by_country", ["date", "country"]).items() if k[0] == D1}
    assert countries == {"DE": 1, "US": 1, None: 5}  # v2's from its address
    devices = {k[1]: (v[2], v[-1]) for k, v in kpis("daily_kpis_by_device", ["date", "device_type"]).items()
               if k[0] == D1}
    assert devices == {"desktop": (7, 0), "unknown": (0, 1)}
    pages = table("page_metrics")
    unicode_page = pages[(pages["date"] == D1) & (pages["page_path"] == "/produkt/café-crème")]
    assert unicode_page[["page_views", "entrances", "exits"]].values.tolist() == [[1, 1, 0]]
    product_page = pages[(pages["date"] == D1) & (pages["page_path"] == "/product")]
    assert product_page["page_views"].tolist() == [1]
    assert product_page["load_ms_p50"].isna().all()  # its only load time, 999999 ms, was nulled


def test_silver_quarantine_and_accounting(first_run):
    events = table("events")
    mine = events[events["event_id"].str.startswith("itw-")]
    assert sorted(mine["event_id"]) == sorted({f"itw-{e}" for e in
                                               "p1 p2 p3 e1 e2 s1 s2 o1 o2 r1 r2 d1 b1 n1".split()})
    p2 = mine[mine["event_id"] == "itw-p2"].iloc[0]
    assert p2["event_ts"] == pd.Timestamp("2021-06-14T10:30:00Z")  # sent as 12:30+02:00
    assert pd.isna(p2["page_load_ms"])
    assert mine[mine["event_id"] == "itw-b1"]["is_bot"].tolist() == [True]
    quarantine = table("quarantine")
    mine_q = quarantine[quarantine["value"].str.contains('"itw-q-', regex=False)]
    got = {next(k for k in QUARANTINED if f'"{k}"' in v): r for v, r in zip(mine_q["value"], mine_q["reason"])}
    assert got == QUARANTINED
    assert_accounting_balances()


def assert_accounting_balances():
    pipeline.assert_accounting_balances(PRODUCT)


def test_late_events_change_yesterdays_kpis(second_run):
    # v6's late event merges into its session (now 14:40-15:00, 2 pv, engaged); v8 adds a session.
    assert kpis("daily_kpis", ["date"]) == {
        (D1,): approx(7, 1, 8, 11, 5, 0.625, 0.375, 4225.5 / 8, 1.375, 1, 42.5, 0.125, 1),
        (D2,): approx(1, 0, 1, 1, 0, 0.0, 1.0, 0.0, 1.0, 0, 0.0, 0.0, 0),
    }
    last = table("batches").sort_values("processed_at").iloc[-1]
    assert (last["bronze_rows"], last["clean_rows"], last["duplicate_rows"], list(last["affected_dates"])) == (
        3, 2, 1, [D1])
    assert_accounting_balances()


def test_executed_notebooks_show_what_each_step_wrote(first_run, second_run):
    """The HTML report of each executed notebook ends with the step's summary: the second run's
    bronze wrote exactly the three messages of batch 2, silver two events (one duplicate)."""
    reports = paths.run_reports_dir(second_run.run_id)
    assert all(reports in Path(r["output_notebook"]).parents for r in second_run.records)
    lineage = {r["notebook"]: json.loads(r["tables_written"]) for r in second_run.records}
    bronze = pipeline.step_report(second_run, "bronze")
    assert bronze["Tables written"] == [["table", "rows written", "Delta version"], [
        "web-user-analytics.bronze.events_raw", "3", str(lineage["bronze"]["web-user-analytics.bronze.events_raw"])]]
    assert ["new_messages", "3"] in bronze["Key figures"]
    silver = pipeline.step_report(second_run, "silver")
    written = {row[0]: row[1] for row in silver["Tables written"][1:]}
    assert (written["web-user-analytics.silver.events"], written["web-user-analytics.silver.batches"]) == ("2", "1")
    assert "Quarantine by reason" not in silver  # batch 2 had no bad message
    assert ["duplicate_rows", "1"] in silver["Key figures"]
    first_silver = pipeline.step_report(first_run, "silver")
    assert {row[0] for row in first_silver["Quarantine by reason"][1:]} >= set(QUARANTINED.values())


def test_rerun_without_new_data_changes_nothing(second_run):
    pipeline.assert_rerun_changes_nothing(PRODUCT)


FULL_IPV4 = r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.(?!0/24)\d{1,3}\b"


def test_no_full_ip_address_leaves_bronze(first_run):
    """Every text column of every silver and gold table, scanned for a full IPv4 address and for
    the IPv6 one sent; the network and the looked-up country are there instead."""
    from shared_lib import products
    for declared in products.get(PRODUCT).tables:
        if declared.layer == "bronze":
            continue
        df = table(declared.name)
        for column in df.columns:
            text = df[column].dropna().astype(str)
            assert not text.str.contains(FULL_IPV4, regex=True).any(), (declared.name, column)
            assert not text.str.contains("8.8.8.8", regex=False).any(), (declared.name, column)
    events = table("events").set_index("event_id")
    assert (events.loc["itw-e1", "ip_network"], events.loc["itw-e1", "country"],
            events.loc["itw-e1", "country_source"]) == ("8.8.8.0/24", "US", "geoip")
    assert (events.loc["itw-p1", "ip_network"], events.loc["itw-p1", "country"],
            events.loc["itw-p1", "country_source"]) == ("81.2.69.0/24", "DE", "event")
    versions = set(table("batches")["geoip_data_version"].dropna())
    assert len(versions) == 1 and versions.pop().startswith("iptocc ")


def test_journeys_and_engagement_depth(second_run):
    journeys = table("user_journeys").set_index(["id_type", "id"])
    v1 = journeys.loc[("anonymous_id", "itw-v1")]  # the second batch only repeats p1, a duplicate
    # 10:00-10:30 (1800 s, 2 page views, engaged, paid) and 11:00:01 (0 s, 1 page view, direct)
    assert (v1["sessions"], v1["page_views"], v1["events"], v1["total_session_time_s"], v1["bounce_rate"]) == (
        2, 3, 3, 1800.0, 0.5)
    assert (list(v1["traffic_sources"]), list(v1["countries"]), v1["primary_browser"]) == (
        ["direct", "paid"], ["DE"], "Chrome")
    assert journeys.loc[("user_id", "itw-u1"), "sessions"] == 1  # the second session has no user_id
    depth = table("engagement_depth")
    home = depth[(depth["date"] == D1) & (depth["page_path"] == "/")].iloc[0]
    # page views p1, e1, s1, d1, r2 (its session began on D1) and the late l1; one click (s2); one scroll of 50
    assert (home["page_views"], home["clicks"], home["scroll_events"]) == (6, 1, 1)
    assert home["click_through"] == pytest.approx(1 / 6)
    assert [home[f"scroll_depth_p{p}"] for p in (25, 50, 75, 95)] == [50.0] * 4
