"""RFM scores, segments, segment profiles and segment movement (metrics.md, user-segmentation):
pure functions on DataFrames of ``customer_features`` rows, and the ``rfm`` notebook's step ``run``.

Scores are quintiles by ``ntile(5)`` within each snapshot, ties broken by ``user_id`` so that
the same customers always get the same scores:
R = 6 - ntile(5) over (recency_days, user_id), F = ntile(5) over (frequency, user_id),
M = ntile(5) over (monetary, user_id), all ascending.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from products.user_segmentation import behaviour, snapshots
from products.user_segmentation.segment_grid import SEGMENT_NAMES, SEGMENTS, segment_of
from shared_lib import tables
from shared_lib.aggregates import exact_sum


def segment_column(r: str = "r", f: str = "f"):
    """The segment of columns ``r`` and ``f``, as one CASE expression built from ``SEGMENTS``."""
    expr = None
    for name, rs, fs in SEGMENTS:
        cond = F.col(r).isin(*rs) & F.col(f).isin(*fs)
        expr = F.when(cond, name) if expr is None else expr.when(cond, name)
    return expr


def check_actions(actions: dict) -> dict[str, str]:
    """The recommended action of every segment from the parameters; an unknown or missing
    segment is an error naming it (a typo must not leave a segment without an action)."""
    unknown = sorted(set(actions) - set(SEGMENT_NAMES))
    missing = [s for s in SEGMENT_NAMES if not actions.get(s)]
    if unknown or missing:
        raise ValueError("user-segmentation.segments.actions: "
                         + "; ".join(filter(None, [unknown and f"unknown segment(s) {unknown}",
                                                   missing and f"no action for {missing}"])))
    return dict(actions)


def scores(features: DataFrame) -> DataFrame:
    """``customer_segments`` rows: the features' R, F, M scores, ``rfm`` text and segment."""
    def quintile(col: str):
        return F.ntile(5).over(Window.partitionBy("snapshot_date").orderBy(F.col(col).asc(), F.col("user_id").asc()))

    scored = features.select("snapshot_date", "user_id", "recency_days", "frequency", "monetary",
                             (6 - quintile("recency_days")).alias("r"), quintile("frequency").alias("f"),
                             quintile("monetary").alias("m"))
    return scored.select("*", F.concat_ws("", "r", "f", "m").alias("rfm"), segment_column().alias("segment"))


def _segments_frame(spark, actions: dict[str, str]) -> DataFrame:
    rows = [(name, i, actions[name]) for i, (name, _, _) in enumerate(SEGMENTS, 1)]
    return spark.createDataFrame(rows, "segment string, segment_order int, recommended_action string")


def share_of(part: str, whole: str):
    """part / whole as a fraction; 0 when whole is 0 (an empty snapshot has no shares to give)."""
    return F.when(F.col(whole) > 0, F.col(part) / F.col(whole)).otherwise(0.0)


def profiles(segments: DataFrame, snapshot: dt.date, actions: dict[str, str]) -> DataFrame:
    """``segment_profiles`` of one snapshot: every segment of the grid, empty ones with zero
    customers and null averages."""
    rows = segments.where(F.col("snapshot_date") == F.lit(snapshot))
    per_segment = rows.groupBy("segment").agg(
        F.count("*").alias("customers"),
        F.avg("recency_days").alias("avg_recency_days"), F.avg("frequency").alias("avg_frequency"),
        F.avg("monetary").alias("avg_monetary"), F.avg("r").alias("avg_r"), F.avg("f").alias("avg_f"),
        F.avg("m").alias("avg_m"), exact_sum("monetary").alias("revenue"))
    totals = rows.agg(F.count("*").alias("_customers"), exact_sum("monetary").alias("_revenue"))
    return (_segments_frame(segments.sparkSession, actions).join(per_segment, "segment", "left")
            .fillna(0, ["customers"]).fillna(0.0, ["revenue"]).crossJoin(totals)
            .select(F.lit(snapshot).alias("snapshot_date"), "segment", "segment_order", "customers",
                    share_of("customers", "_customers").alias("customer_share"), "avg_recency_days",
                    "avg_frequency", "avg_monetary", "avg_r", "avg_f", "avg_m", "revenue",
                    share_of("revenue", "_revenue").alias("revenue_share"), "recommended_action"))


def grid(segments: DataFrame, snapshot: dt.date) -> DataFrame:
    """``rfm_grid`` of one snapshot: customers and revenue per R x F cell, all 25 cells."""
    spark = segments.sparkSession
    cells = spark.createDataFrame([(r, f, segment_of(r, f)) for r in range(1, 6) for f in range(1, 6)],
                                  "r int, f int, segment string")
    counted = (segments.where(F.col("snapshot_date") == F.lit(snapshot)).groupBy("r", "f")
               .agg(F.count("*").alias("customers"), exact_sum("monetary").alias("revenue")))
    return (cells.join(counted, ["r", "f"], "left").fillna(0, ["customers"]).fillna(0.0, ["revenue"])
            .select(F.lit(snapshot).alias("snapshot_date"), "r", "f", "segment", "customers", "revenue"))


def movement(segments: DataFrame, from_snapshot: dt.date, to_snapshot: dt.date) -> DataFrame:
    """``segment_movement``: customers per (segment at ``from_snapshot``, segment at
    ``to_snapshot``); a null side means not a customer at that snapshot."""
    if from_snapshot >= to_snapshot:
        raise ValueError(f"movement needs an earlier snapshot first: {from_snapshot} is not before {to_snapshot}")
    def at(day: dt.date, name: str) -> DataFrame:
        return segments.where(F.col("snapshot_date") == F.lit(day)).select("user_id", F.col("segment").alias(name))

    pairs = at(from_snapshot, "from_segment").join(at(to_snapshot, "to_segment"), "user_id", "full")
    return (pairs.groupBy("from_segment", "to_segment").agg(F.count("*").alias("customers"))
            .select(F.lit(from_snapshot).alias("from_snapshot"), F.lit(to_snapshot).alias("to_snapshot"),
                    "from_segment", "to_segment", "customers"))


TABLES = ("customer_segments", "segment_profiles", "rfm_grid", "segment_movement", "customer_behaviour",
          "churn_distribution", "tag_counts")


def run(ctx) -> dict:
    """RFM scores and segments of the snapshot, its profiles and R x F grid, and the movement
    from the previous snapshot (or the parameter movement.from_snapshot)."""
    with ctx.evaluated_for(snapshots.feature_rows(ctx)):
        return _rfm(ctx)


def _rfm(ctx) -> dict:
    actions = check_actions(ctx.own["segments"]["actions"])  # a bad parameter fails first
    limits = behaviour.thresholds(ctx.own)
    writer = ctx.writer
    for name in ("customer_features", *TABLES):
        writer.ensure(ctx.table(name))
    snapshot, current = snapshots.current_features(ctx)
    if snapshot is None or current.isEmpty():
        print(f"customer_features has no customers for snapshot {snapshot or '(none yet)'}: nothing written")
        return {"snapshot_date": snapshot.isoformat() if snapshot else None, "customers": 0, "moved_from": None}
    where = snapshots.where(snapshot)
    customers = writer.replace(scores(current), ctx.table("customer_segments"), where)
    history = ctx.read("customer_segments")
    scored = history.where(F.col("snapshot_date") == F.lit(snapshot))
    writer.replace_collected(profiles(scored, snapshot, actions), ctx.table("segment_profiles"), where)
    writer.replace_collected(grid(scored, snapshot), ctx.table("rfm_grid"), where)
    at_risk = _write_behaviour(ctx, current, scored, limits, snapshot)
    earlier = (snapshots.parse_date(ctx.own["movement"]["from_snapshot"], "movement.from_snapshot")
               or history.where(F.col("snapshot_date") < F.lit(snapshot)).agg(F.max("snapshot_date")).first()[0])
    if earlier is None:
        print(f"{snapshot} is the first snapshot: no segment movement yet")
    else:
        where_pair = f"{tables.in_predicate('to_snapshot', [snapshot])} AND {tables.in_predicate('from_snapshot', [earlier])}"
        writer.replace_collected(movement(history, earlier, snapshot), ctx.table("segment_movement"), where_pair)
    return {"snapshot_date": snapshot.isoformat(), "customers": customers,
            "moved_from": earlier.isoformat() if earlier else None, "at_risk_customers": at_risk}


def _write_behaviour(ctx, current: DataFrame, scored: DataFrame, limits: behaviour.Thresholds,
                     snapshot: dt.date) -> int:
    """Churn risk and tags of the snapshot's customers, their distribution per segment and the
    tag counts; returns the customers at risk (level High)."""
    writer, where = ctx.writer, snapshots.where(snapshot)
    writer.replace(behaviour.behaviour(current, scored, limits), ctx.table("customer_behaviour"), where)
    rows = ctx.read("customer_behaviour").where(F.col("snapshot_date") == F.lit(snapshot))
    writer.replace_collected(behaviour.risk_distribution(rows), ctx.table("churn_distribution"), where)
    writer.replace_collected(behaviour.tag_counts(rows), ctx.table("tag_counts"), where)
    return rows.where(F.col("churn_risk_level") == "High").count()
