"""user-segmentation end to end: hand-built web and mobile events into Kafka, bronze -> silver of
both products through the runner, then the segmentation notebooks for two snapshot dates; exact
customer features (an order seen on the website and in the app counts once), RFM scores,
segments and the movement between the snapshots, read back with delta-rs; a rerun of a snapshot
leaves the same rows.

The broker and tables are shared with other tests of the session: every event here is dated
January to March 2021 (before the web and mobile tests' June and July 2021) with ids starting
``its-``, and the snapshots are explicit, so customers of other tests' purchases never count.
"""
from __future__ import annotations

import datetime as dt

import pytest

from runners import run as run_lib
from shared_lib import kafka as kafka_lib
from shared_lib import lake

pytestmark = pytest.mark.integration

WEB = "web-user-analytics"
MOBILE = "mobile-user-analytics"
PRODUCT = "user-segmentation"
S1, S2 = dt.date(2021, 3, 1), dt.date(2021, 3, 15)
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def page(event_id, visitor, ts, user=None, agent=DESKTOP):
    event = {"event_id": f"its-{event_id}", "event_type": "page_view", "event_ts": ts, "anonymous_id": f"its-{visitor}",
             "page_url": "https://shop.example.com/checkout", "user_agent": agent}
    return {**event, "user_id": f"its-{user}"} if user else event


def buy(event_id, visitor, ts, order, revenue, user=None, agent=DESKTOP):
    return {**page(event_id, visitor, ts, user, agent), "event_type": "purchase", "order_id": f"its-{order}",
            "revenue": revenue}


def app(event_id, device, ts, user, event_type="screen_view", **fields):
    event = {"event_id": f"its-{event_id}", "event_type": event_type, "event_ts": ts, "device_id": f"its-{device}",
             "platform": "ios", "app_version": "1.0", "user_id": f"its-{user}", **fields}
    return {**event, "screen_name": "home"} if event_type == "screen_view" else event


def app_buy(event_id, device, ts, user, order, revenue):
    return app(event_id, device, ts, user, "purchase", order_id=f"its-{order}", revenue=revenue)


MOBILE_EVENTS = [
    # o2 of u1 reached the app first, a minute earlier: a mobile order of 55.0, not a web one of 50.0
    app_buy("m1", "d1", "2021-02-25T09:01:00Z", "u1", "o2", 55.0),
    app("m2", "d2", "2021-02-26T10:00:00Z", "u2"),  # one screen view: a session, not engaged
    # u7 buys in the app only; a one-screen visit the next day
    app_buy("m3", "d7", "2021-02-20T10:00:00Z", "u7", "o9", 80.0), app("m4", "d7", "2021-02-21T10:00:00Z", "u7"),
]
EVENTS = [
    # u1: o1 and o2; o2 sent a second time with another revenue (the first one counts)
    page("a1", "v1", "2021-02-10T10:00:00Z", "u1"), buy("a2", "v1", "2021-02-10T10:01:00Z", "o1", 100.0, "u1"),
    page("a3", "v1", "2021-02-25T09:00:00Z", "u1"), buy("a4", "v1", "2021-02-25T09:02:00Z", "o2", 50.0, "u1"),
    buy("a5", "v1", "2021-02-25T09:03:00Z", "o2", 70.0, "u1"),
    # u2: o3 before S1, o6 between S1 and S2
    buy("b1", "v2", "2021-02-27T12:00:00Z", "o3", 20.0, "u2"),
    buy("b2", "v2", "2021-03-10T12:00:00Z", "o6", 10.0, "u2"),
    # u3: one old order (its session is outside both 30-day windows), a one-page visit on 02-20
    buy("c1", "v3", "2021-01-05T08:00:00Z", "o4", 300.0, "u3"), page("c2", "v3", "2021-02-20T08:00:00Z", "u3"),
    # u4 is a bot, u5 buys on S1 itself (a customer at S2 only), an anonymous order counts for nobody
    buy("d1", "v4", "2021-02-11T08:00:00Z", "o7", 999.0, "u4", agent="curl/8.5.0"),
    buy("e1", "v5", "2021-03-01T00:00:00Z", "o5", 40.0, "u5"),
    buy("f1", "v6", "2021-02-12T08:00:00Z", "o8", 55.0),
]
FEATURE_COLUMNS = ("recency_days", "frequency", "monetary", "web_orders", "mobile_orders", "web_share",
                   "sessions_30d", "engaged_sessions_30d")
EXPECTED_FEATURES = {
    # windows: S1 2021-01-30 .. 02-28, S2 2021-02-13 .. 03-14; every purchase session is engaged.
    # u1: o1 (web, 100.0) and o2 (mobile, 55.0); sessions web 02-10, web 02-25, app 02-25
    S1: {"its-u1": (4, 2, 155.0, 1, 1, 0.5, 3, 3), "its-u2": (2, 1, 20.0, 1, 0, 1.0, 2, 1),
         "its-u3": (55, 1, 300.0, 1, 0, 1.0, 1, 0), "its-u7": (9, 1, 80.0, 0, 1, 0.0, 2, 1)},
    S2: {"its-u1": (18, 2, 155.0, 1, 1, 0.5, 2, 2), "its-u2": (5, 2, 30.0, 2, 0, 1.0, 3, 2),
         "its-u3": (69, 1, 300.0, 1, 0, 1.0, 1, 0), "its-u5": (14, 1, 40.0, 1, 0, 1.0, 1, 1),
         "its-u7": (23, 1, 80.0, 0, 1, 0.0, 2, 1)},
}
EXPECTED_SEGMENTS = {
    # S1, four customers (ntile 1-4): recency u2 < u1 < u7 < u3; frequency (1, u2) (1, u3) (1, u7)
    # (2, u1); monetary u2 < u7 < u1 < u3
    S1: {"its-u1": ("443", "Loyal Customers"), "its-u2": ("511", "New Customers"),
         "its-u3": ("224", "Hibernating"), "its-u7": ("332", "Need Attention")},
    # S2, five customers: recency u2 < u5 < u1 < u7 < u3; frequency (1, u3) (1, u5) (1, u7) (2, u1)
    # (2, u2); monetary u2 < u5 < u7 < u1 < u3
    S2: {"its-u1": ("344", "Loyal Customers"), "its-u2": ("551", "Champions"),
         "its-u3": ("115", "Hibernating"), "its-u5": ("422", "Potential Loyalists"),
         "its-u7": ("233", "At Risk")},
}
EXPECTED_MOVEMENT = {("Loyal Customers", "Loyal Customers"): 1, ("New Customers", "Champions"): 1,
                     ("Hibernating", "Hibernating"): 1, ("Need Attention", "At Risk"): 1,
                     (None, "Potential Loyalists"): 1}


def table(name: str):
    return lake.read_table(PRODUCT, name)


def at(df, snapshot, column="snapshot_date"):
    return df[df[column] == snapshot]


def check(summary) -> None:
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]


def run(snapshot: dt.date, notebook=None) -> None:
    check(run_lib.run(products=[PRODUCT], notebook=notebook,
                      overrides=[f"{PRODUCT}.snapshot_date={snapshot.isoformat()}", f"{PRODUCT}.clusters.k=2"]))


@pytest.fixture(scope="module")
def two_snapshots(params):
    for product, events, key in ((WEB, EVENTS, "anonymous_id"), (MOBILE, MOBILE_EVENTS, "device_id")):
        assert kafka_lib.produce(params, params[product]["topic"], kafka_lib.encode_events(events, key)) == len(events)
    for layer in ("bronze", "silver"):  # gold of web and mobile is not an input of segmentation
        check(run_lib.run(products=[WEB, MOBILE], layer=layer))
    run(S1)
    run(S2)


def test_customer_features(two_snapshots):
    features = table("customer_features")
    for snapshot, expected in EXPECTED_FEATURES.items():
        rows = at(features, snapshot)
        assert {r["user_id"]: tuple(r[c] for c in FEATURE_COLUMNS) for _, r in rows.iterrows()} == expected


def test_rfm_segments_and_movement(two_snapshots):
    segments = table("customer_segments")
    for snapshot, expected in EXPECTED_SEGMENTS.items():
        rows = at(segments, snapshot)
        assert {r["user_id"]: (r["rfm"], r["segment"]) for _, r in rows.iterrows()} == expected
    profiles = at(table("segment_profiles"), S2)
    assert len(profiles) == 10 and profiles["customers"].sum() == 5
    assert profiles.set_index("segment").loc["Champions", "revenue_share"] == pytest.approx(30 / 605)
    movement = at(table("segment_movement"), S2, "to_snapshot")
    assert set(movement["from_snapshot"]) == {S1}
    assert {(r["from_segment"], r["to_segment"]): r["customers"] for _, r in movement.iterrows()} == EXPECTED_MOVEMENT


# S2 = 2021-03-15: (avg_order_value, repeat_purchase_rate, days_since_last_activity, customer_age_days,
# is_active, avg_session_time_s)
EXPECTED_VECTOR = {
    # o1 100.0 + o2 55.0; last event a5 on 02-25; first order 02-10; sessions in the window: web 02-25
    # (09:00 -> 09:03, 180 s) and app 02-25 (one event, 0 s)
    "its-u1": (77.5, 0.5, 18, 33, True, 90.0),
    # one order 01-05 (69 days), but a page view on 02-20: active 23 days ago
    "its-u3": (300.0, 0.0, 23, 69, True, 0.0),
    # an app order on 02-20, a screen view on 02-21
    "its-u7": (80.0, 0.0, 22, 23, True, 0.0),
}
# churn risk = 0.4 r/365 + 0.3 (1 - min(1, f/10)) + 0.2 (1 - min(1, m/1000)) + 0.1 (1 - min(1, age/365)),
# then (level, engagement, purchase pattern, value, lifecycle)
EXPECTED_BEHAVIOUR = {
    "its-u1": (0.4 * 18 / 365 + 0.24 + 0.2 * 0.845 + 0.1 * (1 - 33 / 365),
               ("Medium", "Low", "Occasional", "Low", "Growing")),
    "its-u3": (0.4 * 69 / 365 + 0.27 + 0.2 * 0.7 + 0.1 * (1 - 69 / 365), ("Medium", "Low", "One-time", "Low", "Growing")),
    "its-u7": (0.4 * 23 / 365 + 0.27 + 0.2 * 0.92 + 0.1 * (1 - 23 / 365), ("Medium", "Low", "One-time", "Low", "New")),
}


def test_feature_vector_churn_risk_and_tags(two_snapshots):
    vector = ("avg_order_value", "repeat_purchase_rate", "days_since_last_activity", "customer_age_days",
              "is_active", "avg_session_time_s")
    features = at(table("customer_features"), S2).set_index("user_id")
    assert {u: tuple(features.loc[u, c] for c in vector) for u in EXPECTED_VECTOR} == EXPECTED_VECTOR
    behaviour = at(table("customer_behaviour"), S2).set_index("user_id")
    tags = ("churn_risk_level", "engagement_level", "purchase_pattern", "value_tier", "lifecycle_stage")
    for user, (risk, expected_tags) in EXPECTED_BEHAVIOUR.items():
        assert behaviour.loc[user, "churn_risk"] == pytest.approx(risk)
        assert tuple(behaviour.loc[user, t] for t in tags) == expected_tags
    assert behaviour.loc["its-u3", "segment"] == "Hibernating"
    counts = at(table("tag_counts"), S2)
    assert counts[counts["tag"] == "lifecycle_stage"]["customers"].sum() == 5  # every customer once per tag
    assert at(table("churn_distribution"), S2)["customers"].sum() == 5


def test_clusters(two_snapshots):
    members = at(table("customer_clusters"), S2)
    assert sorted(members["user_id"]) == ["its-u1", "its-u2", "its-u3", "its-u5", "its-u7"]
    profiles = at(table("cluster_profiles"), S2).sort_values("cluster")
    assert profiles["cluster"].tolist() == [1, 2] and profiles["customers"].sum() == 5
    assert profiles["monetary"].iloc[0] > profiles["monetary"].iloc[1]  # numbered by centroid monetary
    assert profiles["description"].str.contains("of orders on the web").all()


def test_rerun_of_a_snapshot_leaves_the_same_rows(two_snapshots):
    names = ("customer_segments", "segment_profiles", "rfm_grid", "segment_movement")
    before = {n: table(n).sort_values(list(table(n).columns[:4])).reset_index(drop=True) for n in names}
    run(S2, notebook="rfm")
    for n in names:
        after = table(n).sort_values(list(before[n].columns[:4])).reset_index(drop=True)
        assert after.equals(before[n]), n
