"""Customer features from web and mobile silver on a hand-built set: an order seen on both
sources and twice on the web, bots, anonymous purchases, an order on the snapshot date, sessions
at the edges of the 30-day window."""
from __future__ import annotations

import datetime as dt

import pytest

from products.user_segmentation import features

S = dt.date(2024, 5, 1)  # window of recent sessions: 2024-04-01 .. 2024-04-30


def ev(event_id, user, ts, order=None, revenue=None, event_type="purchase", bot=False):
    return (event_id, event_type, dt.datetime.fromisoformat(ts), user, order, revenue, bot)


WEB_EVENTS = [
    ev("w1", "u1", "2024-04-10 10:00:00", "o1", 20.0),
    ev("w2", "u1", "2024-04-10 10:05:00", "o1", 25.0),  # o1 again: not a new order
    ev("w3", "u1", "2024-04-20 08:00:00", "o2", 10.0),
    ev("w4", "u2", "2024-04-30 23:59:59", "o3", 5.0),  # the last day before the snapshot
    ev("w5", "u2", "2024-05-01 00:00:00", "o4", 100.0),  # on the snapshot date: not before it
    ev("w6", "u3", "2024-04-12 12:00:00", "o5", 50.0, bot=True),  # bots are nobody's customers
    ev("w7", None, "2024-04-12 12:00:00", "o6", 60.0),  # no user: nobody's order
    ev("w8", "u4", "2024-04-12 12:00:00", event_type="page_view"),  # u4 never buys
]
MOBILE_EVENTS = [
    ev("m1", "u1", "2024-04-10 09:00:00", "o1", 30.0),  # o1 first seen in the app: a mobile order of 30.0
    ev("m2", "u3", "2024-03-01 18:30:00", "o7", 7.25),  # u3: one order, mobile only
]
# (user, session date, engaged, duration_s)
WEB_SESSIONS = [("u1", dt.date(2024, 4, 1), True, 100.0), ("u1", dt.date(2024, 3, 31), True, 999.0),  # in, out
                ("u2", dt.date(2024, 4, 30), False, 30.0), (None, dt.date(2024, 4, 15), True, 5.0),
                ("u4", dt.date(2024, 4, 15), True, 7.0)]
MOBILE_SESSIONS = [("u1", dt.date(2024, 4, 10), True, 50.0), ("u1", dt.date(2024, 5, 1), True, 999.0),  # in, out
                   ("u3", dt.date(2024, 4, 29), False, 12.5)]
# Activity beyond the purchases: any event type counts, a bot's does not, the snapshot day does not.
WEB_ACTIVITY = [ev("w9", "u1", "2024-04-28 12:00:00", event_type="page_view"),
                ev("w10", "u3", "2024-04-05 12:00:00", event_type="page_view", bot=True)]
MOBILE_ACTIVITY = [ev("m3", "u3", "2024-05-01 00:00:00", event_type="screen_view"),
                   ev("m4", "u3", "2024-01-31 10:00:00", event_type="app_open")]

COLUMNS = ("user_id", "first_order_date", "last_order_date", "recency_days", "frequency", "monetary",
           "web_orders", "mobile_orders", "web_share", "sessions_30d", "engaged_sessions_30d",
           "web_sessions_30d", "mobile_sessions_30d")
D = dt.date
EXPECTED = {
    # u1: o1 (mobile, 30.0, 04-10) and o2 (web, 10.0, 04-20); sessions web 04-01, mobile 04-10
    "u1": ("u1", D(2024, 4, 10), D(2024, 4, 20), 11, 2, 40.0, 1, 1, 0.5, 2, 2, 1, 1),
    "u2": ("u2", D(2024, 4, 30), D(2024, 4, 30), 1, 1, 5.0, 1, 0, 1.0, 1, 0, 1, 0),
    # u3: 2024-03-01 -> 2024-05-01 is 31 + 30 = 61 days
    "u3": ("u3", D(2024, 3, 1), D(2024, 3, 1), 61, 1, 7.25, 0, 1, 0.0, 1, 0, 0, 1),
}


@pytest.fixture(scope="module")
def frames(spark):
    events_schema = features.schema(features.EVENT_COLUMNS)
    sessions_schema = features.schema(features.SESSION_COLUMNS)
    orders = features.orders(features.purchases(spark.createDataFrame(WEB_EVENTS, events_schema), "web"),
                             features.purchases(spark.createDataFrame(MOBILE_EVENTS, events_schema), "mobile"))
    sessions = features.recent_sessions(spark.createDataFrame(WEB_SESSIONS, sessions_schema), "web", S).unionByName(
        features.recent_sessions(spark.createDataFrame(MOBILE_SESSIONS, sessions_schema), "mobile", S))
    return orders, sessions


@pytest.mark.integration
def test_orders_counted_once_across_sources(frames):
    orders, _ = frames
    got = {r["order_id"]: (r["user_id"], r["source"], r["revenue"], r["order_date"]) for r in orders.collect()}
    assert got == {"o1": ("u1", "mobile", 30.0, D(2024, 4, 10)), "o2": ("u1", "web", 10.0, D(2024, 4, 20)),
                   "o3": ("u2", "web", 5.0, D(2024, 4, 30)), "o4": ("u2", "web", 100.0, D(2024, 5, 1)),
                   "o7": ("u3", "mobile", 7.25, D(2024, 3, 1))}
    assert features.default_snapshot(orders) == D(2024, 5, 2)  # the day after o4
    assert features.default_snapshot(orders.limit(0)) is None


@pytest.mark.integration
def test_customer_features(frames):
    orders, sessions = frames
    rows = features.customer_features(orders, sessions, S, "run-1").collect()
    assert {r["user_id"]: tuple(r[c] for c in COLUMNS) for r in rows} == EXPECTED
    assert {(r["snapshot_date"], r["run_id"]) for r in rows} == {(S, "run-1")}


BEHAVIOUR = ("avg_order_value", "repeat_purchase_rate", "last_activity_date", "days_since_last_activity",
             "customer_age_days", "is_active", "avg_session_time_s")


@pytest.mark.integration
def test_feature_vector_for_churn_and_tags(spark, frames):
    orders, sessions = frames
    schema = features.schema(features.EVENT_COLUMNS)
    active = features.activity(spark.createDataFrame(WEB_EVENTS + WEB_ACTIVITY, schema)).unionByName(
        features.activity(spark.createDataFrame(MOBILE_EVENTS + MOBILE_ACTIVITY, schema)))
    rows = features.customer_features(orders, sessions, S, "run-1", active, active_days=60).collect()
    assert {r["user_id"]: tuple(r[c] for c in BEHAVIOUR) for r in rows} == {
        # 40.0 over 2 orders; (2 - 1) / 2; last event w9 on 04-28; first order 04-10; sessions 100 s and 50 s
        "u1": (20.0, 0.5, D(2024, 4, 28), 3, 21, True, 75.0),
        # o4 on the snapshot date is no activity before it
        "u2": (5.0, 0.0, D(2024, 4, 30), 1, 1, True, 30.0),
        # the bot's 04-05 and the snapshot day's m3 do not count: its last order, 61 days > 60
        "u3": (7.25, 0.0, D(2024, 3, 1), 61, 61, False, 12.5),
    }
    # Without activity events, the last order is the last activity.
    bare = {r["user_id"]: r["last_activity_date"] for r in features.customer_features(orders, sessions, S, "r").collect()}
    assert bare == {"u1": D(2024, 4, 20), "u2": D(2024, 4, 30), "u3": D(2024, 3, 1)}
