"""Behavioural clusters: numbering by centroid monetary, centroids back in plain units, their
description, and k-means (Spark MLlib over Spark Connect) giving the same clusters and labels on
two runs, whatever the row order and partitioning of its input."""


from __future__ import annotations

import math

import pytest

from products.user_segmentation import clusters


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
