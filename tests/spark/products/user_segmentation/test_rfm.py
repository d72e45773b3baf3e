"""RFM scores, segments, profiles, the R x F grid and segment movement (metrics.md,
user-segmentation) on hand-built customers whose every expected value is worked out below."""


from __future__ import annotations

import datetime as dt

import pytest

from products.user_segmentation import rfm

S = dt.date(2024, 5, 1)


FEATURES_SCHEMA = "snapshot_date date, user_id string, recency_days int, frequency bigint, monetary double"


# 25 customers, c<i><j>: i is the recency quintile (ntile 1 = most recent, so R = 6 - i), j the
# frequency quintile (F = j): every (R, F) cell once, so every segment boundary is crossed.
# Ties: within a quintile on every score (c31..c35 recency 10, c13..c53 frequency 4, the five of
# M = 2 monetary 30.0), and across quintile boundaries, where user_id decides:
#   recency 5: c14, c15 | c21, c22, c23  (ntile positions 4-5 | 6-8)
#   recency 40: c45 | c51, c52           (positions 20 | 21-22)
#   frequency 2: c51 | c52               (positions 5 | 6)
#   frequency 8: c54 | c55               (positions 20 | 21)
#   monetary 80.0: c11 | c12             (positions 15 | 16)
# c11, c21, c31, c41 have one order. The M quintile (worked out from the sorted monetary values)
# follows the pattern M = (i + j) mod 5 + 1.
CUSTOMERS = [
    # user, recency_days, frequency, monetary, R, F, M, segment
    ("c11", 1, 1, 80.0, 5, 1, 3, "New Customers"),
    ("c12", 2, 3, 80.0, 5, 2, 4, "Potential Loyalists"),
    ("c13", 3, 4, 200.0, 5, 3, 5, "Potential Loyalists"),
    ("c14", 5, 5, 10.0, 5, 4, 1, "Champions"),
    ("c15", 5, 9, 30.0, 5, 5, 2, "Champions"),
    ("c21", 5, 1, 90.0, 4, 1, 4, "Promising"),
    ("c22", 5, 3, 250.0, 4, 2, 5, "Potential Loyalists"),
    ("c23", 5, 4, 10.0, 4, 3, 1, "Potential Loyalists"),
    ("c24", 8, 6, 30.0, 4, 4, 2, "Loyal Customers"),
    ("c25", 8, 9, 55.0, 4, 5, 3, "Loyal Customers"),
    ("c31", 10, 1, 300.0, 3, 1, 5, "About to Sleep"),
    ("c32", 10, 3, 10.0, 3, 2, 1, "About to Sleep"),
    ("c33", 10, 4, 30.0, 3, 3, 2, "Need Attention"),
    ("c34", 10, 7, 60.0, 3, 4, 3, "Loyal Customers"),
    ("c35", 10, 10, 100.0, 3, 5, 4, "Loyal Customers"),
    ("c41", 20, 1, 15.5, 2, 1, 1, "Hibernating"),
    ("c42", 20, 3, 30.0, 2, 2, 2, "Hibernating"),
    ("c43", 25, 4, 70.0, 2, 3, 3, "At Risk"),
    ("c44", 30, 7, 100.0, 2, 4, 4, "At Risk"),
    ("c45", 40, 12, 500.0, 2, 5, 5, "Can't Lose Them"),
    ("c51", 40, 2, 30.0, 1, 1, 2, "Hibernating"),
    ("c52", 40, 2, 75.0, 1, 2, 3, "Hibernating"),
    ("c53", 60, 4, 120.0, 1, 3, 4, "At Risk"),
    ("c54", 90, 8, 1000.0, 1, 4, 5, "At Risk"),
    ("c55", 200, 8, 20.0, 1, 5, 1, "Can't Lose Them"),
]


TOTAL_REVENUE = 3295.5  # 65.5 (M = 1) + 150 + 340 + 490 + 2250 (M = 5)


ACTIONS = {name: f"do {name.lower()}" for name in rfm.SEGMENT_NAMES}


@pytest.fixture(scope="module")
def scored(spark):
    rows = [(S, u, rec, freq, mon) for u, rec, freq, mon, *_ in CUSTOMERS]
    # Another snapshot in the same frame: quintiles are per snapshot.
    rows += [(dt.date(2024, 4, 1), "c11", 300, 1, 1.0), (dt.date(2024, 4, 1), "zz", 1, 50, 9999.0)]
    return rfm.scores(spark.createDataFrame(rows, FEATURES_SCHEMA)).where(f"snapshot_date = '{S}'").cache()


@pytest.mark.integration
def test_scores_and_segments_with_ties(scored):
    got = {row["user_id"]: (row["r"], row["f"], row["m"], row["rfm"], row["segment"]) for row in scored.collect()}
    assert got == {u: (r, f, m, f"{r}{f}{m}", seg) for u, _, _, _, r, f, m, seg in CUSTOMERS}


@pytest.mark.integration
def test_profiles(scored):
    got = {row["segment"]: row.asDict() for row in rfm.profiles(scored, S, ACTIONS).collect()}
    assert [got[s]["segment_order"] for s in rfm.SEGMENT_NAMES] == list(range(1, 11))
    champions = got["Champions"]  # c14 (5 days, 5 orders, 10.0, R5 F4 M1) and c15 (5, 9, 30.0, R5 F5 M2)
    assert {k: champions[k] for k in ("customers", "avg_recency_days", "avg_frequency", "avg_monetary", "avg_r",
                                      "avg_f", "avg_m", "revenue", "recommended_action")} == {
        "customers": 2, "avg_recency_days": 5.0, "avg_frequency": 7.0, "avg_monetary": 20.0, "avg_r": 5.0,
        "avg_f": 4.5, "avg_m": 1.5, "revenue": 40.0, "recommended_action": "do champions"}
    assert champions["customer_share"] == pytest.approx(2 / 25)
    assert champions["revenue_share"] == pytest.approx(40 / TOTAL_REVENUE)
    # Hibernating: c41 (20, 1, 15.5), c42 (20, 3, 30.0), c51 (40, 2, 30.0), c52 (40, 2, 75.0)
    hib = got["Hibernating"]
    assert (hib["customers"], hib["avg_recency_days"], hib["avg_frequency"], hib["revenue"]) == (4, 30.0, 2.0, 150.5)
    assert (hib["avg_r"], hib["avg_f"], hib["avg_m"]) == (1.5, 1.5, 2.0)
    assert {s: got[s]["customers"] for s in rfm.SEGMENT_NAMES} == {
        "Champions": 2, "Loyal Customers": 4, "Potential Loyalists": 4, "New Customers": 1, "Promising": 1,
        "Need Attention": 1, "About to Sleep": 2, "At Risk": 4, "Can't Lose Them": 2, "Hibernating": 4}
    assert sum(p["revenue_share"] for p in got.values()) == pytest.approx(1.0)


@pytest.mark.integration
def test_profiles_of_an_empty_segment(spark):
    one = spark.createDataFrame([(S, "solo", 3, 1, 12.0)], FEATURES_SCHEMA)
    got = {row["segment"]: row for row in rfm.profiles(rfm.scores(one), S, ACTIONS).collect()}
    # One customer is in every quintile's first ntile: R = 5, F = 1 -> New Customers.
    assert (got["New Customers"]["customers"], got["New Customers"]["customer_share"],
            got["New Customers"]["revenue_share"]) == (1, 1.0, 1.0)
    assert (got["Champions"]["customers"], got["Champions"]["customer_share"], got["Champions"]["avg_r"],
            got["Champions"]["revenue"], got["Champions"]["recommended_action"]) == (0, 0.0, None, 0.0, "do champions")


@pytest.mark.integration
def test_grid_has_all_cells(scored):
    got = {(row["r"], row["f"]): (row["segment"], row["customers"], row["revenue"])
           for row in rfm.grid(scored, S).collect()}
    assert got == {(r, f): (seg, 1, mon) for _, _, _, mon, r, f, _, seg in CUSTOMERS}


@pytest.mark.integration
def test_movement_between_two_snapshots(spark):
    s0, s1, s2 = dt.date(2024, 3, 1), dt.date(2024, 4, 1), dt.date(2024, 5, 1)
    history = spark.createDataFrame([
        (s0, "a", "At Risk"),  # an older snapshot: not part of the s1 -> s2 movement
        (s1, "a", "Champions"), (s2, "a", "Champions"),
        (s1, "b", "At Risk"), (s2, "b", "Hibernating"),
        (s1, "c", "Hibernating"),  # gone by s2
        (s1, "d", "Champions"), (s2, "d", "Loyal Customers"),
        (s2, "e", "New Customers"),  # new since s1
        (s1, "f", "Hibernating"), (s2, "f", "Hibernating"),
        (s1, "g", "Hibernating"), (s2, "g", "Hibernating"),
        (s2, "h", "New Customers"),
    ], "snapshot_date date, user_id string, segment string")
    got = {(r["from_snapshot"], r["to_snapshot"], r["from_segment"], r["to_segment"]): r["customers"]
           for r in rfm.movement(history, s1, s2).collect()}
    assert got == {(s1, s2, "Champions", "Champions"): 1, (s1, s2, "At Risk", "Hibernating"): 1,
                   (s1, s2, "Hibernating", None): 1, (s1, s2, "Champions", "Loyal Customers"): 1,
                   (s1, s2, None, "New Customers"): 2, (s1, s2, "Hibernating", "Hibernating"): 2}
    with pytest.raises(ValueError, match="not before"):
        rfm.movement(history, s2, s1)
