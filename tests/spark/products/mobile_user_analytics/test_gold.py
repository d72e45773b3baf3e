"""Mobile gold metrics (metrics.md) on hand-built silver rows whose every expected value is worked
out by hand below: the 7- and 28-day window edges, retention on exactly day c + N and null while
c + N is past the data, a device that updates its app version during a day, a crash in a session
that spans midnight, orders sent twice. Silver's own steps build the sessions."""
from __future__ import annotations

import datetime as dt

import pytest

from products.mobile_user_analytics import metrics
from products.mobile_user_analytics import sessions as mobile_sessions
from shared_lib import sessions

pytestmark = pytest.mark.integration

C = dt.date(2024, 3, 1)
ACTIVITY = "date date, device_id string, platform string, app_version string, events int, crashed boolean"


def day(n: int) -> dt.date:
    return C + dt.timedelta(days=n)


def activity(spark, rows):
    """Device days from (day number, device)."""
    return spark.createDataFrame([(day(n), dev, "ios", "1.0", 1, False) for n, dev in rows], ACTIVITY)


def test_window_edges(spark):
    # A is active on day 0 only, B on day 7 only.
    act = activity(spark, [(0, "A"), (7, "B")])
    got = {r["date"]: (r["dau"], r["wau"], r["mau"])
           for r in metrics.rolling_active(act, [day(6), day(7), day(27), day(28), day(40)]).collect()}
    assert got == {
        day(6): (0, 1, 1),   # A on d-6: inside WAU
        day(7): (1, 1, 2),   # A on d-7: outside WAU, inside MAU; B that day
        day(27): (0, 0, 2),  # A on d-27: the first day of the 28-day MAU
        day(28): (0, 0, 1),  # A on d-28: outside; B on d-21 still in
        day(40): (0, 0, 0),  # nobody within 28 days: a row of zeros, not a missing row
    }


def test_retention_on_exactly_day_n_and_null_past_the_data(spark):
    act = activity(spark, [
        (0, "X"), (6, "X"), (8, "X"),  # active on c+6 and c+8 but not c+7: not retained on day 7
        (0, "Y"), (1, "Y"), (7, "Y"),  # retained on days 1 and 7
        (1, "Z"), (2, "Z"),            # cohort c+1, back on its day 1
    ])
    cohorts = metrics.cohort_dates(act)
    assert {r["device_id"]: r["cohort_date"] for r in cohorts.collect()} == {"X": C, "Y": C, "Z": day(1)}
    got = {(r["cohort_date"], r["day_n"]): (r["cohort_size"], r["retained_devices"], r["retention"])
           for r in metrics.retention(cohorts, act, [1, 7, 30], last_date=day(8)).collect()}
    assert got == {
        (C, 1): (2, 1, 0.5), (C, 7): (2, 1, 0.5),
        (C, 30): (2, None, None),            # c+30 is after the last day with data (c+8)
        (day(1), 1): (1, 1, 1.0),
        (day(1), 7): (1, 0, 0.0),            # c+1+7 = c+8 is the last day itself: due, nobody back
        (day(1), 30): (1, None, None),
    }


EVENTS = "event_id string, event_type string, event_ts timestamp, device_id string, platform string, " \
         "app_version string, order_id string, revenue double, user_id string, country string"


def ev(event_id, device, when, event_type, platform, version, order=None, revenue=None):
    return (event_id, event_type, dt.datetime.fromisoformat(when), device, platform, version, order, revenue,
            None, None)


SILVER = [
    # P: a session from 23:50 on day 0 to a crash at 00:05 on day 1 (900 s). The session and its
    # crash belong to day 0; the crashing device to day 1 (the crash event's date).
    ev("p1", "P", "2024-03-01 23:50:00", "app_open", "android", "3.2.0"),
    ev("p2", "P", "2024-03-02 00:05:00", "crash", "android", "3.2.0"),
    # Q updates from 3.1.0 to 3.2.0 during day 0: two sessions (20 s, then 0 s).
    ev("q1", "Q", "2024-03-01 09:00:00", "app_open", "ios", "3.1.0"),
    ev("q2", "Q", "2024-03-01 09:00:20", "screen_view", "ios", "3.1.0"),
    ev("q3", "Q", "2024-03-01 15:00:00", "app_open", "ios", "3.2.0"),
    # R on day 1: 60 s; order o1 sent twice (the first event's revenue counts).
    ev("r1", "R", "2024-03-02 10:00:00", "app_open", "android", "3.3.0"),
    ev("r2", "R", "2024-03-02 10:00:05", "purchase", "android", "3.3.0", "o1", 9.99),
    ev("r3", "R", "2024-03-02 10:00:06", "purchase", "android", "3.3.0", "o1", 5.0),
    ev("r4", "R", "2024-03-02 10:01:00", "screen_view", "android", "3.3.0"),
]


@pytest.fixture(scope="module")
def silver(spark):
    events = mobile_sessions.enrich(spark.createDataFrame(SILVER, EVENTS))
    session_rows = mobile_sessions.summarize(sessions.assign(events, "device_id", 30), "test").persist()
    return events, session_rows


def test_sessions_crash_across_midnight_and_first_version(silver):
    _, session_rows = silver
    got = {(r["device_id"], r["session_start"].hour): (r["session_date"], r["duration_s"], r["crashed"], r["engaged"],
                                                       r["app_version"], r["purchases"], r["revenue"])
           for r in session_rows.collect()}
    assert got == {
        ("P", 23): (C, 900.0, True, True, "3.2.0", 0, 0.0),
        ("Q", 9): (C, 20.0, False, True, "3.1.0", 0, 0.0),
        ("Q", 15): (C, 0.0, False, False, "3.2.0", 0, 0.0),
        ("R", 10): (day(1), 60.0, False, True, "3.3.0", 1, 9.99),
    }


def test_daily_kpis(silver):
    events, session_rows = silver
    act = metrics.device_activity(events)
    dates = [C, day(1)]
    orders = metrics.purchase_orders(events, session_rows)
    got = {r["date"]: tuple(r[c] for c in metrics.DAILY_COLUMNS[1:])
           for r in metrics.daily_kpis(dates, act, metrics.cohort_dates(act), session_rows, orders).collect()}
    assert got == {
        # dau wau mau stickiness new sessions engaged avg_s per_dau crashed_dev cfu crashed_s cfs purchases revenue
        C: (2, 2, 2, 1.0, 2, 3, 2, pytest.approx(920 / 3), 1.5, 0, 1.0, 1, pytest.approx(2 / 3), 0, 0.0),
        day(1): (2, 3, 3, pytest.approx(2 / 3), 1, 1, 1, 60.0, 0.5, 1, 0.5, 0, 1.0, 1, 9.99),
    }


def test_crash_free_and_adoption_per_version(silver):
    events, session_rows = silver
    got = {(r["date"], r["platform"], r["app_version"]): tuple(r[c] for c in metrics.VERSION_COLUMNS[3:])
           for r in metrics.by_version(events, metrics.device_activity(events), session_rows).collect()}
    assert got == {
        # active crashed cfu sessions crashed_s cfs adopted adoption
        (C, "android", "3.2.0"): (1, 0, 1.0, 1, 1, 0.0, 1, 0.5),
        (C, "ios", "3.1.0"): (1, 0, 1.0, 1, 0, 1.0, 0, 0.0),  # Q moved on to 3.2.0 that day
        (C, "ios", "3.2.0"): (1, 0, 1.0, 1, 0, 1.0, 1, 0.5),
        (day(1), "android", "3.2.0"): (1, 1, 0.0, 0, 0, None, 1, 0.5),  # P's crash, no session begun
        (day(1), "android", "3.3.0"): (1, 0, 1.0, 1, 0, 1.0, 1, 0.5),
    }


def test_device_activity_takes_the_days_last_version(silver):
    events, _ = silver
    got = {(r["date"], r["device_id"]): (r["app_version"], r["events"], r["crashed"])
           for r in metrics.device_activity(events).collect()}
    assert got == {(C, "P"): ("3.2.0", 1, False), (day(1), "P"): ("3.2.0", 1, True),
                   (C, "Q"): ("3.2.0", 3, False), (day(1), "R"): ("3.3.0", 4, False)}
