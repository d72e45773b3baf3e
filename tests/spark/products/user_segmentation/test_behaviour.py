"""Churn risk and behavioural tags on hand-built customer features: the formula and its clip,
each level's and tag's threshold on both sides, the distribution per segment and the counts."""
from __future__ import annotations

import datetime as dt

import pytest

from products.user_segmentation import behaviour

S = dt.date(2024, 5, 1)
FEATURES = "user_id string, recency_days int, frequency bigint, monetary double, customer_age_days int, " \
           "is_active boolean, avg_session_time_s double"


def c(user, recency, frequency, monetary, age, active, session_s):
    return (user, recency, frequency, monetary, age, active, session_s)


CUSTOMERS = [
    # 0.4 * 1 + 0.3 * 0.9 + 0.2 * 1 + 0.1 * 0 = 0.87
    c("c1", 365, 1, 0.0, 365, False, None),
    # 0.4 / 365 only: every other term is at its cap
    c("c2", 1, 10, 1000.0, 365, True, 500.5),
    # 0.8 + 0.27 + 0.2 + 0.1 * (1 - 10/365) > 1: clipped to 1
    c("c3", 730, 1, 0.0, 10, True, 500.0),
    # exactly 0.4 = churn.medium: Medium
    c("c4", 365, 10, 1000.0, 365, False, 200.0),
    # 0.4 * 100/365 + 0.3 * 0.8 + 0 + 0.1 * (1 - 30/365)
    c("c5", 100, 2, 2000.0, 30, True, 200.1),
    # 0.4 * 50/365 + 0.3 * 0.6 + 0 + 0.1 * (1 - 180/365)
    c("c6", 50, 4, 2000.01, 180, True, None),
    # 0.4 * 10/365 + 0.3 * 0.7 + 0.2 * 0.5 + 0.1 * (1 - 29/365)
    c("c7", 10, 3, 500.0, 29, True, 0.0),
    # 0.4 * 200/365 + 0.3 * 0.9 + 0.2 * (1 - 0.50001) + 0.1 * (1 - 179/365)
    c("c8", 200, 1, 500.01, 179, False, 0.0),
]
RISK = {"c1": 0.87, "c2": 0.4 / 365, "c3": 1.0, "c4": 0.4,
        "c5": 0.4 * 100 / 365 + 0.24 + 0.1 * (1 - 30 / 365), "c6": 0.4 * 50 / 365 + 0.18 + 0.1 * (1 - 180 / 365),
        "c7": 0.4 * 10 / 365 + 0.21 + 0.1 + 0.1 * (1 - 29 / 365),
        "c8": 0.4 * 200 / 365 + 0.27 + 0.2 * (1 - 0.50001) + 0.1 * (1 - 179 / 365)}
# (risk level, engagement, purchase pattern, value, lifecycle)
TAGS = {
    "c1": ("High", "Low", "One-time", "Low", "Dormant"),           # no session time: Low
    "c2": ("Low", "High", "Repeater", "Medium", "Established"),    # 500.5 s > 500; rate 0.9
    "c3": ("High", "Medium", "One-time", "Low", "New"),            # 500 s is not above 500; age 10 < 30
    "c4": ("Medium", "Low", "Repeater", "Medium", "Dormant"),      # 200 s is not above 200; inactive
    "c5": ("Medium", "Medium", "Occasional", "Medium", "Growing"),  # rate 0.5; 2000 is not above 2000; age 30
    "c6": ("Low", "Low", "Repeater", "High", "Established"),       # rate 0.75; age 180 and active
    "c7": ("Medium", "Low", "Occasional", "Low", "New"),           # rate 2/3; 500 is not above 500; age 29
    "c8": ("Medium", "Low", "One-time", "Medium", "Growing"),      # age 179
}
SEGMENT = {"c1": "Hibernating", "c3": "Hibernating", "c2": "Champions"}


@pytest.fixture(scope="module")
def inputs(spark):
    from pyspark.sql import functions as F
    features = (spark.createDataFrame(CUSTOMERS, FEATURES)
                .withColumn("snapshot_date", F.lit(S))
                .withColumn("repeat_purchase_rate", (F.col("frequency") - 1) / F.greatest("frequency", F.lit(1)))
                .withColumn("days_since_last_activity", F.col("recency_days")))
    segments = spark.createDataFrame([(S, u, SEGMENT.get(u, "Loyal Customers")) for u, *_ in CUSTOMERS],
                                     "snapshot_date date, user_id string, segment string")
    return features, segments


@pytest.fixture(scope="module")
def rows(inputs):
    return behaviour.behaviour(*inputs, behaviour.Thresholds()).cache()


@pytest.mark.integration
def test_churn_risk_and_tags_at_their_thresholds(rows):
    got = {r["user_id"]: r for r in rows.collect()}
    assert {u: r["churn_risk"] for u, r in got.items()} == {u: pytest.approx(v) for u, v in RISK.items()}
    assert {u: (r["churn_risk_level"], r["engagement_level"], r["purchase_pattern"], r["value_tier"],
                r["lifecycle_stage"]) for u, r in got.items()} == TAGS
    assert got["c1"]["segment"] == "Hibernating" and got["c5"]["segment"] == "Loyal Customers"


@pytest.mark.integration
def test_risk_distribution_per_segment(rows):
    got = {(r["segment"], r["band"]): (r["customers"], r["risk_from"], r["risk_to"])
           for r in behaviour.risk_distribution(rows).collect()}
    assert got == {("Hibernating", 8): (1, 0.8, 0.9), ("Hibernating", 9): (1, 0.9, 1.0),  # 0.87 and 1.0
                   ("Champions", 0): (1, 0.0, 0.1),
                   ("Loyal Customers", 4): (3, 0.4, 0.5),  # c4 0.4, c5 0.44, c7 0.41
                   ("Loyal Customers", 2): (1, 0.2, 0.3), ("Loyal Customers", 6): (1, 0.6, 0.7)}


@pytest.mark.integration
def test_tag_counts(rows):
    got = {(r["tag"], r["value"]): r["customers"] for r in behaviour.tag_counts(rows).collect()}
    assert got == {("churn_risk_level", "High"): 2, ("churn_risk_level", "Medium"): 4, ("churn_risk_level", "Low"): 2,
                   ("engagement_level", "High"): 1, ("engagement_level", "Medium"): 2, ("engagement_level", "Low"): 5,
                   ("purchase_pattern", "Repeater"): 3, ("purchase_pattern", "Occasional"): 2,
                   ("purchase_pattern", "One-time"): 3,
                   ("value_tier", "High"): 1, ("value_tier", "Medium"): 4, ("value_tier", "Low"): 3,
                   ("lifecycle_stage", "New"): 2, ("lifecycle_stage", "Growing"): 2,
                   ("lifecycle_stage", "Established"): 2, ("lifecycle_stage", "Dormant"): 2}


@pytest.mark.integration
def test_a_lower_at_risk_threshold_moves_customers_into_the_at_risk_list(inputs):
    limits = behaviour.Thresholds(at_risk=0.4, medium_risk=0.1)  # c4's risk exactly: High now
    high = {r["user_id"] for r in behaviour.behaviour(*inputs, limits).where("churn_risk_level = 'High'").collect()}
    assert high == {"c1", "c3", "c4", "c5", "c7", "c8"}
