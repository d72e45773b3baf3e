"""Behavioural clusters beside RFM (metrics.md, user-segmentation): Spark MLlib k-means on
standardized customer features, with a fixed seed; the ``clusters`` notebook's step is ``run``.

Features: log1p of recency_days, frequency and monetary (long-tailed: a few big spenders would
otherwise pull every centroid), sessions_30d, engaged_sessions_30d and web_share, each scaled to
mean 0 and standard deviation 1. The rows reach k-means in one partition sorted by ``user_id``:
k-means|| samples its initial centres per partition, so the same customers in another partition
layout could start elsewhere; this way the same input always gives the same clusters.

k-means numbers its clusters arbitrarily; here cluster 1 is the one with the highest centroid
monetary, then down (ties by the other centroid coordinates), so reruns give the same labels.
"""
from __future__ import annotations

import datetime as dt
import gc
import math
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from products.user_segmentation import snapshots
from products.user_segmentation.rfm import share_of
from shared_lib.aggregates import exact_sum

FEATURES = ("recency_days", "frequency", "monetary", "sessions_30d", "engaged_sessions_30d", "web_share")
LOG1P = ("recency_days", "frequency", "monetary")
MONETARY = FEATURES.index("monetary")
# A centroid this many standard deviations above (below) the mean is described as high (low).
LEVEL_Z = 0.5
# web_share of the centroid from which a cluster is "mostly web", and below which "mostly mobile".
MOSTLY = 2 / 3


@dataclass(frozen=True)
class Centroid:
    values: dict[str, float]  # in the features' own units (days, orders, revenue, sessions, share)
    z: dict[str, float]  # standardized, as k-means saw it


@dataclass
class Clustering:
    assignments: DataFrame  # user_id, cluster, monetary
    centroids: dict[int, Centroid]  # by cluster number


def cluster_numbers(centers: list[list[float]]) -> dict[int, int]:
    """k-means' index of each centre -> cluster number: 1 for the highest monetary, then down;
    equal monetary ordered by the other coordinates (highest first), then by index."""
    ranked = sorted(range(len(centers)), key=lambda i: (
        -centers[i][MONETARY], [-c for c in centers[i]], i))
    return {index: number for number, index in enumerate(ranked, 1)}


def unscale(center: list[float], mean: list[float], std: list[float]) -> dict[str, float]:
    """A standardized centre back in the features' units (expm1 undoes log1p)."""
    values = {}
    for name, z, mu, sd in zip(FEATURES, center, mean, std):
        raw = z * sd + mu
        values[name] = math.expm1(raw) if name in LOG1P else raw
    return values


def _level(z: float, high: str, middle: str, low: str) -> str:
    return high if z >= LEVEL_Z else low if z <= -LEVEL_Z else middle


def describe(centroid: Centroid) -> str:
    """A centroid in plain terms: levels against the average customer, then the values."""
    v, z = centroid.values, centroid.z
    recency = _level(z["recency_days"], "lapsed", "mid-recency", "recent")
    frequency = _level(z["frequency"], "frequent", "occasional", "infrequent")
    spend = _level(z["monetary"], "high-spending", "mid-spending", "low-spending")
    activity = _level(z["sessions_30d"], "very active", "moderately active", "barely active")
    share = v["web_share"]
    channel = "mostly web" if share >= MOSTLY else "mostly mobile" if share <= 1 - MOSTLY else "web and mobile"
    return (f"{recency.capitalize()}, {frequency}, {spend} customers, {activity} in the last 30 days, {channel}: "
            f"last order {v['recency_days']:.0f} days before the snapshot, {v['frequency']:.1f} orders, "
            f"{v['monetary']:,.2f} revenue, {v['sessions_30d']:.1f} sessions ({v['engaged_sessions_30d']:.1f} "
            f"engaged) in the last 30 days, {share:.0%} of orders on the web.")


def _prepared(features: DataFrame) -> DataFrame:
    transformed = [(F.log1p(F.col(c)) if c in LOG1P else F.col(c)).cast("double").alias(f"x_{c}") for c in FEATURES]
    return (features.select("user_id", "monetary", *transformed)
            .repartition(1).sortWithinPartitions("user_id"))


def fit(features: DataFrame, k: int, seed: int, max_iter: int) -> Clustering:
    """k-means of one snapshot's ``customer_features`` rows (at least one); fewer clusters than
    ``k`` when the customers have fewer distinct feature vectors."""
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import StandardScaler, VectorAssembler

    if k < 2:
        raise ValueError(f"user-segmentation.clusters.k must be >= 2 (Spark's k-means), got {k}")
    prepared = _prepared(features)
    columns = [f"x_{c}" for c in FEATURES]
    # Spark's k-means fails (index out of bounds) when there are fewer distinct points than k.
    k = min(k, prepared.select(*columns).distinct().count())
    data = VectorAssembler(inputCols=columns, outputCol="raw").transform(prepared)
    scaler = StandardScaler(inputCol="raw", outputCol="features", withMean=True, withStd=True).fit(data)
    mean, std = [float(x) for x in scaler.mean], [float(x) for x in scaler.std]
    if k == 1:  # every customer alike: one cluster, at the mean (k-means needs k >= 2)
        centroid = Centroid(unscale([0.0] * len(FEATURES), mean, std), dict.fromkeys(FEATURES, 0.0))
        return Clustering(prepared.select("user_id", F.lit(1).alias("cluster"), "monetary"), {1: centroid})
    scaled = scaler.transform(data)
    model = KMeans(k=k, seed=seed, maxIter=max_iter, featuresCol="features", predictionCol="index").fit(scaled)
    centers = [[float(x) for x in c] for c in model.clusterCenters()]
    numbers = cluster_numbers(centers)
    label = F.create_map(*[F.lit(x) for pair in numbers.items() for x in pair])
    assignments = model.transform(scaled).select("user_id", label[F.col("index")].alias("cluster"), "monetary")
    centroids = {numbers[i]: Centroid(unscale(c, mean, std), dict(zip(FEATURES, c))) for i, c in enumerate(centers)}
    return Clustering(assignments, centroids)


def release(clustering: Clustering) -> None:
    """Let go of ``clustering``'s fitted models now (its assignments hold them); it is unusable
    after. PySpark deletes a model from the server's ML cache when Python collects it, and that
    delete is a request of its own: left to the garbage collector, it may run in the middle of
    another request and wait forever (a hung test run), or during gRPC's shutdown at the end of
    the process (a kernel that hangs on exit)."""
    clustering.assignments = None
    gc.collect()


def profiles(clustering: Clustering, snapshot: dt.date, k: int) -> DataFrame:
    """``cluster_profiles`` of one snapshot: size and revenue per cluster, centroid, description."""
    assignments = clustering.assignments
    spark = assignments.sparkSession
    sizes = assignments.groupBy("cluster").agg(F.count("*").alias("customers"), exact_sum("monetary").alias("revenue"))
    rows = [(number, *(c.values[f] for f in FEATURES), describe(c)) for number, c in sorted(clustering.centroids.items())]
    centroids = spark.createDataFrame(rows, "cluster int, " + ", ".join(f"{f} double" for f in FEATURES)
                                      + ", description string")
    totals = assignments.agg(F.count("*").alias("_customers"), exact_sum("monetary").alias("_revenue"))
    return (centroids.join(sizes, "cluster", "left").fillna(0, ["customers"]).fillna(0.0, ["revenue"])
            .crossJoin(totals)
            .select(F.lit(snapshot).alias("snapshot_date"), "cluster", F.lit(k).alias("k"), "customers",
                    share_of("customers", "_customers").alias("customer_share"), "revenue",
                    share_of("revenue", "_revenue").alias("revenue_share"), *FEATURES, "description"))


def customer_clusters(clustering: Clustering, snapshot: dt.date) -> DataFrame:
    return clustering.assignments.select(F.lit(snapshot).alias("snapshot_date"), "user_id", "cluster")


TABLES = ("customer_clusters", "cluster_profiles")


def run(ctx) -> dict:
    """k-means clusters of the snapshot's customers and the clusters' profiles."""
    with ctx.evaluated_for(snapshots.feature_rows(ctx)):
        return _clusters(ctx)


def _clusters(ctx) -> dict:
    settings = ctx.own["clusters"]
    writer = ctx.writer
    for name in ("customer_features", *TABLES):
        writer.ensure(ctx.table(name))
    snapshot, current = snapshots.current_features(ctx)
    if snapshot is None or current.isEmpty():
        print("customer_features has no customers for the snapshot: no clusters, nothing written")
        return {"snapshot_date": snapshot.isoformat() if snapshot else None, "customers": 0, "clusters": 0}
    clustering = fit(current, settings["k"], settings["seed"], settings["max_iter"])
    found = len(clustering.centroids)
    try:
        where = snapshots.where(snapshot)
        customers = writer.replace(customer_clusters(clustering, snapshot), ctx.table("customer_clusters"), where)
        writer.replace_collected(profiles(clustering, snapshot, settings["k"]), ctx.table("cluster_profiles"), where)
    finally:
        release(clustering)  # while the session works, not at the kernel's exit
    return {"snapshot_date": snapshot.isoformat(), "customers": customers, "clusters": found}
