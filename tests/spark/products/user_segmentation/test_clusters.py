"""Behavioural clusters: numbering by centroid monetary, centroids back in plain units, their
description, and k-means (Spark MLlib over Spark Connect) giving the same clusters and labels on
two runs, whatever the row order and partitioning of its input."""


from __future__ import annotations

import datetime as dt

import pytest

from products.user_segmentation import clusters

S = dt.date(2024, 5, 1)


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
