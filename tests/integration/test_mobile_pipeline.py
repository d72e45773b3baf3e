"""mobile-user-analytics end to end: hand-built JSON events into Kafka, bronze -> silver -> gold
through the runner, exact gold values read back with delta-rs; then a second batch a week later
with a late event that moves a device into an earlier cohort; then a rerun without new data that
changes nothing.

Every event here is dated July 2021 and its ids start with ``itm-``; the broker and workspace are
shared with the other tests of the session, which send no mobile events.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.integration import pipeline

pytestmark = pytest.mark.integration

PRODUCT = "mobile-user-analytics"


def D(n: int) -> dt.date:
    return dt.date(2021, 7, n)


def event(event_id, device, ts, event_type="app_open", platform="ios", version="1.0", **fields):
    return {"event_id": f"itm-{event_id}", "event_type": event_type, "event_ts": ts, "device_id": f"itm-{device}",
            "platform": platform, "app_version": version, **fields}


A1 = event("a1", "A", "2021-07-01T10:00:00Z", "app_install")
BATCH_1 = [
    A1,
    event("a2", "A", "2021-07-01T10:00:30Z", "screen_view", screen_name="home"),  # A: 30 s
    event("b1", "B", "2021-07-01T23:50:00Z", platform="Android", version="2.0"),   # "Android" is android
    event("b2", "B", "2021-07-02T00:10:00+00:00", "crash", platform="android", version="2.0"),  # across midnight
    event("a3", "A", 1625216400000),                                                # 2021-07-02 09:00, epoch ms
    event("c1", "C", "2021-07-02T12:00:00Z"),
    event("c2", "C", "2021-07-02T15:00:00Z", version="1.1"),                        # C updates during the day
    event("c3", "C", "2021-07-02T15:00:10Z", "purchase", version="1.1", order_id="itm-o1", revenue="2.50"),
    A1,  # delivered twice
    '{"event_id": "itm-q-malformed", "device_id": ',
    json.dumps({k: v for k, v in event("q-missing", "Q", "2021-07-01T10:00:00Z").items() if k != "device_id"}),
    json.dumps(event("q-platform", "Q", "2021-07-01T10:00:00Z", platform="windows_phone")),
    json.dumps(event("q-screen", "Q", "2021-07-01T10:00:00Z", "screen_view")),
    json.dumps(event("q-ts", "Q", "2021-07-01T10:00:00")),
]
QUARANTINED = {"itm-q-malformed": "malformed_json", "itm-q-missing": "missing_field:device_id",
               "itm-q-platform": "bad_value:platform", "itm-q-screen": "missing_field:screen_name",
               "itm-q-ts": "bad_timestamp"}
# A week later: A back on D8 (its day 7), a new device D on D9; and C's event of D1 arriving late,
# which moves C from cohort D2 into cohort D1.
BATCH_2 = [event("a4", "A", "2021-07-08T08:00:00Z"), event("d1", "D", "2021-07-09T08:00:00Z", "app_install"),
           event("c0", "C", "2021-07-01T20:00:00Z")]
KPI = ("dau", "wau", "mau", "stickiness", "new_devices", "sessions", "engaged_sessions", "avg_session_duration_s",
       "sessions_per_dau", "crashed_devices", "crash_free_users", "crashed_sessions", "crash_free_sessions",
       "purchases", "revenue")


def produce(params, messages) -> int:
    return pipeline.produce(params, PRODUCT, messages, "device_id")


def run_pipeline():
    return pipeline.run_pipeline(PRODUCT)


def table(name: str):
    return pipeline.table(PRODUCT, name)


approx = pipeline.approx


def daily() -> dict:
    df = table("daily_kpis")
    return {row["date"]: tuple(None if row[c] != row[c] else row[c] for c in KPI)
            for _, row in df[df["date"].between(D(1), D(31))].iterrows()}


def retention() -> dict:
    df = table("retention")
    return {(r["cohort_date"], r["day_n"]): (r["cohort_size"], None if r["retention"] != r["retention"] else r["retention"])
            for _, r in df[df["cohort_date"].between(D(1), D(31))].iterrows()}


@pytest.fixture(scope="module")
def first_run(params):
    assert produce(params, BATCH_1) == len(BATCH_1)
    return run_pipeline()


@pytest.fixture(scope="module")
def second_run(first_run, params):
    produce(params, BATCH_2)
    return run_pipeline()


def test_first_batch(first_run):
    assert daily() == {
        # sessions A 30 s, B 23:50-00:10 (1200 s, its crash after midnight); nobody crashed on D1 itself
        D(1): approx(2, 2, 2, 1.0, 2, 2, 2, 615.0, 1.0, 0, 1.0, 1, 0.5, 0, 0.0),
        # sessions A 0 s, C 0 s, C 10 s with the purchase; B's crash counts here for crash-free users
        D(2): approx(3, 3, 3, 1.0, 1, 3, 1, 10 / 3, 1.0, 1, 2 / 3, 0, 1.0, 1, 2.5),
    }
    assert retention() == {(D(1), 1): (2, 1.0), (D(1), 7): (2, None), (D(1), 30): (2, None),
                           (D(2), 1): (1, None), (D(2), 7): (1, None), (D(2), 30): (1, None)}
    versions = table("daily_by_version")
    got = {(r["platform"], r["app_version"]): (r["active_devices"], r["crashed_devices"], r["adopted_devices"],
                                               r["version_adoption"])
           for _, r in versions[versions["date"] == D(2)].iterrows()}
    assert got == approx_dict({("ios", "1.0"): (2, 0, 1, 1 / 3), ("ios", "1.1"): (1, 0, 1, 1 / 3),
                               ("android", "2.0"): (1, 1, 1, 1 / 3)})


def approx_dict(d: dict) -> dict:
    return {k: approx(*v) for k, v in d.items()}


def test_silver_quarantine_and_accounting(first_run):
    events = table("events")
    mine = events[events["event_id"].str.startswith("itm-")]
    assert sorted(mine["event_id"]) == sorted(f"itm-{e}" for e in "a1 a2 b1 b2 a3 c1 c2 c3".split())
    assert set(mine["platform"]) == {"ios", "android"} and not mine["is_bot"].any()
    quarantine = table("quarantine")
    mine_q = quarantine[quarantine["value"].str.contains('"itm-q-', regex=False)]
    got = {next(k for k in QUARANTINED if f'"{k}"' in v): r for v, r in zip(mine_q["value"], mine_q["reason"])}
    assert got == QUARANTINED
    sessions = table("sessions")
    b = sessions[sessions["device_id"] == "itm-B"].iloc[0]
    assert (b["session_date"], b["duration_s"], b["crashed"]) == (D(1), 1200.0, True)
    assert_accounting_balances()


def assert_accounting_balances():
    pipeline.assert_accounting_balances(PRODUCT)


def test_a_week_later_windows_roll_and_a_late_event_moves_a_cohort(second_run):
    gap = (0, 3, 3, 0.0, 0, 0, 0, None, None, 0, None, 0, None, 0, 0.0)  # no events, still in WAU and MAU
    assert daily() == {
        # C's late session (0 s) joins D1; C is now a D1 device
        D(1): approx(3, 3, 3, 1.0, 3, 3, 2, 410.0, 1.0, 0, 1.0, 1, 2 / 3, 0, 0.0),
        D(2): approx(3, 3, 3, 1.0, 0, 3, 1, 10 / 3, 1.0, 1, 2 / 3, 0, 1.0, 1, 2.5),
        D(3): gap, D(4): gap, D(5): gap, D(6): gap, D(7): gap,
        D(8): approx(1, 3, 3, 1 / 3, 0, 1, 0, 0.0, 1.0, 0, 1.0, 0, 1.0, 0, 0.0),  # WAU D2..D8
        D(9): approx(1, 2, 4, 0.25, 1, 1, 0, 0.0, 1.0, 0, 1.0, 0, 1.0, 0, 0.0),  # WAU D3..D9: A, D
    }
    # Cohort D1 is A, B, C: all back on D2; only A on D8 (day 7). Cohort D2 is empty now.
    assert retention() == {(D(1), 1): (3, 1.0), (D(1), 7): (3, pytest.approx(1 / 3)), (D(1), 30): (3, None),
                           (D(9), 1): (1, None), (D(9), 7): (1, None), (D(9), 30): (1, None)}
    assert_accounting_balances()


def test_rerun_without_new_data_changes_nothing(second_run):
    pipeline.assert_rerun_changes_nothing(PRODUCT)
