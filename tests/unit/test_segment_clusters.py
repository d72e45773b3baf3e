"""Behavioural clusters: numbering by centroid monetary, centroids back in plain units, their
description, and k-means (Spark MLlib over Spark Connect) giving the same clusters and labels on
two runs, whatever the row order and partitioning of its input."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from products.user_segmentation import clusters

S = dt.date(2024, 5, 1)


def test_clusters_numbered_by_centroid_monetary():
    centers = [[0.0, 0.0, -1.0, 0, 0, 0], [0.0, 0.0, 2.0, 0, 0, 0], [1.0, 0.0, 0.5, 0, 0, 0],
               [-1.0, 0.0, 0.5, 0, 0, 0]]
    # monetary 2.0 first; the tie at 0.5 goes to the higher first coordinate; -1.0 last
    assert clusters.cluster_numbers(centers) == {1: 1, 2: 2, 3: 3, 0: 4}


def test_unscale_undoes_standardization_and_log1p():
    mean, std = [1.0, 0.5, 2.0, 3.0, 1.0, 0.5], [0.5, 0.25, 1.0, 2.0, 1.0, 0.5]
    values = clusters.unscale([2.0, 0.0, -1.0, 1.0, 0.0, -1.0], mean, std)
    assert values == pytest.approx({"recency_days": math.expm1(2.0), "frequency": math.expm1(0.5),
                                    "monetary": math.expm1(1.0), "sessions_30d": 5.0,
                                    "engaged_sessions_30d": 1.0, "web_share": 0.0})


def test_describe_in_plain_terms():
    centroid = clusters.Centroid(
        values={"recency_days": 3.4, "frequency": 6.25, "monetary": 1234.5, "sessions_30d": 12.0,
                "engaged_sessions_30d": 7.5, "web_share": 0.8},
        z={"recency_days": -1.2, "frequency": 0.5, "monetary": 1.1, "sessions_30d": 0.2,
           "engaged_sessions_30d": 0.4, "web_share": 0.9})
    assert clusters.describe(centroid) == (
        "Recent, frequent, high-spending customers, moderately active in the last 30 days, mostly web: "
        "last order 3 days before the snapshot, 6.2 orders, 1,234.50 revenue, 12.0 sessions (7.5 engaged) "
        "in the last 30 days, 80% of orders on the web.")
    lapsed = clusters.Centroid(values={**centroid.values, "web_share": 0.5},
                               z={**centroid.z, "recency_days": 0.5, "frequency": -0.49, "monetary": -0.5,
                                  "sessions_30d": -2.0})
    assert clusters.describe(lapsed).startswith(
        "Lapsed, occasional, low-spending customers, barely active in the last 30 days, web and mobile: ")


# Three well-separated groups of customers: (user prefix, count, recency, frequency, monetary,
# sessions, engaged, web share); members differ slightly so that no two rows are equal.
GROUPS = [("big", 6, 2, 12, 1500.0, 20, 15, 1.0),
          ("mid", 8, 20, 4, 150.0, 6, 3, 0.5),
          ("low", 10, 200, 1, 12.0, 0, 0, 0.0)]
SCHEMA = ("snapshot_date date, user_id string, recency_days int, frequency bigint, monetary double, "
          "sessions_30d bigint, engaged_sessions_30d bigint, web_share double")


def rows():
    out = []
    for prefix, n, rec, freq, mon, ses, eng, share in GROUPS:
        for i in range(n):
            out.append((S, f"{prefix}{i:02d}", rec + i % 3, freq + i % 2, mon + i, ses + i % 2, eng, share))
    return out


@pytest.mark.integration
def test_kmeans_same_clusters_and_labels_on_two_runs(spark):
    first_input = spark.createDataFrame(rows(), SCHEMA)
    second_input = spark.createDataFrame(list(reversed(rows())), SCHEMA).repartition(3)
    runs = []
    for df in (first_input, second_input):
        clustering = clusters.fit(df, k=3, seed=7, max_iter=20)
        members = {r["user_id"]: r["cluster"] for r in clustering.assignments.collect()}
        profiles = {r["cluster"]: r.asDict() for r in clusters.profiles(clustering, S, 3).collect()}
        runs.append((members, profiles))
        clusters.release(clustering)  # at once, not when the garbage collector runs
    (members, profiles), (members_again, profiles_again) = runs
    assert members == members_again
    assert profiles == profiles_again
    # Highest spenders are cluster 1, lowest cluster 3; each group is one cluster.
    assert members == {u: {"big": 1, "mid": 2, "low": 3}[u[:3]] for u in members} and len(members) == 24
    assert [(profiles[c]["customers"], profiles[c]["revenue"]) for c in (1, 2, 3)] == [
        (6, 6 * 1500.0 + 15), (8, 8 * 150.0 + 28), (10, 10 * 12.0 + 45)]
    assert profiles[1]["revenue_share"] == pytest.approx(9015 / (9015 + 1228 + 165))
    # The low group: web share 0 for all, 0 sessions for half and 1 for the other half.
    assert profiles[3]["web_share"] == pytest.approx(0.0) and profiles[3]["sessions_30d"] == pytest.approx(0.5)
    assert profiles[1]["description"].startswith("Recent, frequent, high-spending customers, very active")
    assert profiles[3]["description"].startswith("Lapsed, infrequent, low-spending customers, barely active")


@pytest.mark.integration
def test_kmeans_of_one_customer(spark):
    clustering = clusters.fit(spark.createDataFrame(rows()[:1], SCHEMA), k=4, seed=1, max_iter=5)
    assert [r["cluster"] for r in clustering.assignments.collect()] == [1]
    # Every customer alike: one cluster at their values (k-means itself needs two distinct points).
    assert clustering.centroids[1].values == pytest.approx({
        "recency_days": 2, "frequency": 12, "monetary": 1500.0, "sessions_30d": 20, "engaged_sessions_30d": 15,
        "web_share": 1.0})
    clusters.release(clustering)
