"""User journeys on hand-built sessions: one visitor on two devices, a user across two visitors,
a session without a user, ties for the primary device and browser, a session from before
browsers were recorded."""
from __future__ import annotations

import datetime as dt

import pytest

from products.web_user_analytics import journeys

AS_OF = dt.date(2024, 3, 5)
SCHEMA = ("anonymous_id string, user_id string, session_start timestamp, session_end timestamp, "
          "duration_s double, events int, page_views int, engaged boolean, channel string, "
          "device_type string, browser string, country string")


def s(visitor, user, start, seconds, events, page_views, engaged, channel, device, browser, country):
    begin = dt.datetime.fromisoformat(start)
    return (visitor, user, begin, begin + dt.timedelta(seconds=seconds), float(seconds), events, page_views,
            engaged, channel, device, browser, country)


SESSIONS = [
    s("A", "u1", "2024-03-01 10:00:00", 300, 5, 3, True, "paid", "desktop", "Chrome", "DE"),
    s("A", "u1", "2024-03-03 09:00:00", 0, 1, 1, False, "direct", "mobile", "Safari", None),
    s("A", "u1", "2024-03-04 12:00:00", 100, 3, 2, True, "direct", "mobile", "Safari", "FR"),
    s("B", "u1", "2024-03-02 08:00:00", 30, 2, 1, True, "organic", "desktop", "Firefox", "DE"),
    s("B", None, "2024-03-05 20:00:00", 0, 1, 0, False, "organic", "tablet", None, None),  # browser not recorded
]


@pytest.mark.integration
def test_journeys_per_visitor_and_per_user(spark):
    rows = journeys.journeys(spark.createDataFrame(SESSIONS, SCHEMA), AS_OF).collect()
    got = {(r["id_type"], r["id"]): r.asDict() for r in rows}
    assert set(got) == {("anonymous_id", "A"), ("anonymous_id", "B"), ("user_id", "u1")}
    a = got[("anonymous_id", "A")]
    assert (a["sessions"], a["page_views"], a["events"], a["total_session_time_s"]) == (3, 6, 9, 400.0)
    assert a["avg_session_time_s"] == pytest.approx(400 / 3)
    assert (a["pages_per_session"], a["bounce_rate"]) == (2.0, pytest.approx(1 / 3))
    assert (a["first_seen"], a["last_seen"]) == (dt.datetime(2024, 3, 1, 10), dt.datetime(2024, 3, 4, 12, 1, 40))
    assert a["days_since_first_seen"] == 4  # 03-01 -> as of 03-05
    assert (a["primary_device_type"], a["primary_browser"]) == ("mobile", "Safari")  # 2 sessions of 3
    assert (a["traffic_sources"], a["countries"], a["as_of"]) == (["direct", "paid"], ["DE", "FR"], AS_OF)
    b = got[("anonymous_id", "B")]
    assert (b["sessions"], b["page_views"], b["events"], b["total_session_time_s"]) == (2, 1, 3, 30.0)
    assert (b["avg_session_time_s"], b["pages_per_session"], b["bounce_rate"]) == (15.0, 0.5, 0.5)
    assert (b["last_seen"], b["days_since_first_seen"]) == (dt.datetime(2024, 3, 5, 20), 3)
    # Ties (1 session each) go to the alphabetically first: desktop before tablet, "Firefox" before "unknown".
    assert (b["primary_device_type"], b["primary_browser"]) == ("desktop", "Firefox")
    assert (b["traffic_sources"], b["countries"]) == (["organic"], ["DE"])
    u = got[("user_id", "u1")]  # A's three sessions and B's first
    assert (u["sessions"], u["page_views"], u["events"], u["total_session_time_s"]) == (4, 7, 11, 430.0)
    assert (u["avg_session_time_s"], u["pages_per_session"], u["bounce_rate"]) == (107.5, 1.75, 0.25)
    assert (u["first_seen"], u["last_seen"]) == (dt.datetime(2024, 3, 1, 10), dt.datetime(2024, 3, 4, 12, 1, 40))
    # desktop 2 and mobile 2: desktop; Safari 2, Chrome 1, Firefox 1: Safari
    assert (u["primary_device_type"], u["primary_browser"]) == ("desktop", "Safari")
    assert (u["traffic_sources"], u["countries"]) == (["direct", "organic", "paid"], ["DE", "FR"])


# Incremental: silver run r2 re-made visitor A's second session with new events, whose first user
# is now u3 (u1 loses that session, and u1 is named by no r2 session), and added visitor D.
RUN_SCHEMA = SCHEMA + ", run_id string"
BEFORE = [
    (*s("A", "u1", "2024-03-01 10:00:00", 300, 5, 3, True, "paid", "desktop", "Chrome", "DE"), "r1"),
    (*s("A", "u1", "2024-03-03 09:00:00", 60, 2, 2, True, "direct", "mobile", "Safari", None), "r1"),
    (*s("B", "u1", "2024-03-02 08:00:00", 30, 2, 1, True, "organic", "desktop", "Firefox", "DE"), "r1"),
    (*s("C", "u2", "2024-03-05 20:00:00", 0, 1, 0, False, "organic", "tablet", "Edge", "FR"), "r1"),
]
AFTER = [*BEFORE[:1], *BEFORE[2:],
         (*s("A", "u3", "2024-03-03 08:59:00", 120, 4, 3, True, "email", "mobile", "Safari", "AT"), "r2"),
         (*s("D", None, "2024-03-04 07:00:00", 10, 1, 1, False, "direct", "desktop", "Chrome", "US"), "r2")]
EVENTS_AFTER = [("A", "u1"), ("A", None), ("A", "u3"), ("B", "u1"), ("C", "u2"), ("D", None)]


def _rows(df):
    return sorted(tuple(r[c] for c in journeys.COLUMNS) for r in df.collect())


@pytest.mark.integration
def test_incremental_journeys_equal_a_recompute_from_all_sessions(spark):
    before = spark.createDataFrame(BEFORE, RUN_SCHEMA)
    after = spark.createDataFrame(AFTER, RUN_SCHEMA)
    events = spark.createDataFrame(EVENTS_AFTER, "anonymous_id string, user_id string")
    ids = journeys.touched(after.where("run_id = 'r2'"), events)
    assert sorted(tuple(r) for r in ids.collect()) == [
        ("anonymous_id", "A"), ("anonymous_id", "D"), ("user_id", "u1"), ("user_id", "u3")]
    previous = journeys.journeys(before, AS_OF)
    incremental = journeys.updated(previous, after, ids, AS_OF)
    assert _rows(incremental) == _rows(journeys.journeys(after, AS_OF))
    got = {(r["id_type"], r["id"]): r["sessions"] for r in incremental.collect()}
    # u1 kept A's first session and B's; C and u2 were not recomputed but are still there.
    assert got == {("anonymous_id", "A"): 2, ("anonymous_id", "B"): 1, ("anonymous_id", "C"): 1,
                   ("anonymous_id", "D"): 1, ("user_id", "u1"): 2, ("user_id", "u2"): 1, ("user_id", "u3"): 1}
