"""A consent withdrawal that arrives after the subject's events are in web silver, end to end:
web events of visitors S and T through `dp run`, then S's withdrawal (dated before S's last
events) through compliance-auditing and a second `dp run`. S's events from the withdrawal on
leave web silver, S's session is recomputed without them, gold's daily KPIs of that date are
recomputed, the batch row counts them, and T is untouched.

Every event here is dated 6 September 2021 and its ids start with ``ilw-``; the broker and
workspace are shared with the other tests of the session.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from runners import generate
from runners import run as run_lib
from tests.integration import pipeline

# After the web and mobile pipeline modules: its later-dated events would add days to their gold.
pytestmark = [pytest.mark.integration, pytest.mark.after_pipelines]

WEB, COMPLIANCE = "web-user-analytics", "compliance-auditing"
D = dt.date(2021, 9, 6)
S, T = "ilw-visitor-s", "ilw-visitor-t"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def page_view(event_id, visitor, time):
    return {"event_id": f"ilw-{event_id}", "event_type": "page_view", "event_ts": f"2021-09-06T{time}Z",
            "anonymous_id": visitor, "page_url": "https://shop.example.com/", "user_agent": DESKTOP}


# S: one session of 20 minutes (timeout 30 min); T: one session of 2 minutes.
EVENTS = [page_view("s1", S, "10:00:00"), page_view("s2", S, "10:05:00"), page_view("s3", S, "10:20:00"),
          page_view("t1", T, "10:00:00"), page_view("t2", T, "10:02:00")]
# Dated exactly at s2: the refusal is in force from that instant, so s2 and s3 go.
WITHDRAWAL = {"event_id": "ilw-withdraw", "event_ts": "2021-09-06T10:05:00Z", "subject_id": S,
              "purpose": "analytics", "granted": False}
KPI_COLUMNS = ["visitors", "sessions", "page_views", "engaged_sessions", "engagement_rate", "bounce_rate",
               "avg_session_duration_s", "pages_per_session"]


def run_both():
    summary = run_lib.run(products=[COMPLIANCE, WEB])
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]


def daily_kpis():
    daily = pipeline.table(WEB, "daily_kpis")
    return [tuple(row) for row in daily[daily["date"] == D][KPI_COLUMNS].values.tolist()]


def mine(name, column):
    df = pipeline.table(WEB, name)
    return df[df[column].isin([S, T])]


@pytest.fixture(scope="module")
def withdrawn_late(params, tmp_path_factory):
    pipeline.produce(params, WEB, EVENTS, "anonymous_id")
    run_both()
    before = {"kpis": daily_kpis(), "events": sorted(mine("events", "anonymous_id")["event_id"])}
    consent_file = tmp_path_factory.mktemp("late-withdrawal") / "consent.jsonl"
    consent_file.write_text(json.dumps(WITHDRAWAL) + "\n")
    assert generate.produce(params, COMPLIANCE, consent_file, topic="compliance.consent") == 1
    run_both()
    return before


def test_before_the_withdrawal_both_visitors_count(withdrawn_late):
    assert withdrawn_late["events"] == ["ilw-s1", "ilw-s2", "ilw-s3", "ilw-t1", "ilw-t2"]
    # S: 1200 s, 3 views, engaged; T: 120 s, 2 views, engaged. Mean duration (1200 + 120) / 2.
    assert withdrawn_late["kpis"] == [pipeline.approx(2, 2, 5, 2, 1.0, 0.0, 660.0, 2.5)]


def test_the_subjects_events_from_the_withdrawal_on_leave_silver_and_the_other_stays(withdrawn_late):
    assert sorted(mine("events", "anonymous_id")["event_id"]) == ["ilw-s1", "ilw-t1", "ilw-t2"]
    sessions = mine("sessions", "anonymous_id")
    got = {r.anonymous_id: (r.events, r.page_views, r.duration_s, r.engaged) for r in sessions.itertuples()}
    assert got == {S: (1, 1, 0.0, False), T: (2, 2, 120.0, True)}


def test_gold_recomputes_the_affected_date(withdrawn_late):
    # S: 0 s, 1 view, not engaged; T unchanged. 1 engaged of 2; mean duration (0 + 120) / 2; 3 views / 2.
    assert daily_kpis() == [pipeline.approx(2, 2, 3, 1, 0.5, 0.5, 60.0, 1.5)]


def test_the_batch_counts_the_removed_events_and_the_accounting_still_balances(withdrawn_late):
    batches = pipeline.table(WEB, "batches").sort_values("processed_at")
    last = batches.iloc[-1]
    assert (last["bronze_rows"], last["consent_withdrawn_rows"]) == (0, 2)
    assert list(last["affected_dates"]) == [D]
    pipeline.assert_accounting_balances(WEB)


def test_a_rerun_changes_nothing(withdrawn_late):
    pipeline.assert_rerun_changes_nothing(WEB)


# --- mobile: the same, the subject withdrawing by its user_id ------------------------------

MOBILE = "mobile-user-analytics"
USER = "ilw-user-u"


def app_event(event_id, device, time, event_type="app_open", **fields):
    return {"event_id": f"ilw-m-{event_id}", "event_type": event_type, "event_ts": f"2021-09-06T{time}Z",
            "device_id": device, "platform": "ios", "app_version": "1.0", **fields}


# Device m1 is used by USER (logged in): one session of 10 minutes; device m2: one event.
APP_EVENTS = [app_event("1", "ilw-m1", "10:00:00", user_id=USER),
              app_event("2", "ilw-m1", "10:01:00", "screen_view", screen_name="home", user_id=USER),
              app_event("3", "ilw-m1", "10:10:00", user_id=USER),
              app_event("4", "ilw-m2", "10:00:00")]
USER_WITHDRAWAL = {"event_id": "ilw-m-withdraw", "event_ts": "2021-09-06T10:01:00Z", "subject_id": USER,
                   "purpose": "analytics", "granted": False}
MOBILE_KPIS = ["dau", "sessions", "engaged_sessions", "avg_session_duration_s"]


def run_mobile():
    summary = run_lib.run(products=[COMPLIANCE, MOBILE])
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]


def mobile_kpis():
    daily = pipeline.table(MOBILE, "daily_kpis")
    return [tuple(row) for row in daily[daily["date"] == D][MOBILE_KPIS].values.tolist()]


@pytest.fixture(scope="module")
def withdrawn_late_on_mobile(params, tmp_path_factory):
    pipeline.produce(params, MOBILE, APP_EVENTS, "device_id")
    run_mobile()
    before = mobile_kpis()
    consent_file = tmp_path_factory.mktemp("late-withdrawal-mobile") / "consent.jsonl"
    consent_file.write_text(json.dumps(USER_WITHDRAWAL) + "\n")
    assert generate.produce(params, COMPLIANCE, consent_file, topic="compliance.consent") == 1
    run_mobile()
    return before


def test_on_mobile_the_users_later_events_leave_silver_and_gold_is_recomputed(withdrawn_late_on_mobile):
    # Before: m1 600 s, engaged; m2 0 s. After: m1 keeps its 10:00 event only (0 s, not engaged).
    assert withdrawn_late_on_mobile == [pipeline.approx(2, 2, 1, 300.0)]
    events = pipeline.table(MOBILE, "events")
    assert sorted(events[events["device_id"].isin(["ilw-m1", "ilw-m2"])]["event_id"]) == ["ilw-m-1", "ilw-m-4"]
    assert mobile_kpis() == [pipeline.approx(2, 2, 0, 0.0)]
    batches = pipeline.table(MOBILE, "batches").sort_values("processed_at")
    assert (batches.iloc[-1]["bronze_rows"], batches.iloc[-1]["consent_withdrawn_rows"]) == (0, 2)
    pipeline.assert_accounting_balances(MOBILE)
