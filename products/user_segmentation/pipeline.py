"""The notebooks' steps of user-segmentation: read, call the pure functions of ``features``,
``rfm`` and ``clusters``, write. Each step writes one snapshot date and replaces that date's rows
(``replaceWhere``), so a rerun with the same input leaves the same tables, and earlier snapshots
stay as history.

The inputs are other products' silver tables. One that is not there yet (its product not run, or
not installed in this checkout) is read as empty, with a printed note, so that segmentation runs
on whatever sources exist.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, functions as F

from products.user_segmentation import clusters, features, rfm
from shared_lib import tables

SOURCES = {"web": "web-user-analytics", "mobile": "mobile-user-analytics"}
RFM_TABLES = ("customer_segments", "segment_profiles", "rfm_grid", "segment_movement")
CLUSTER_TABLES = ("customer_clusters", "cluster_profiles")


def parse_date(value: str, parameter: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` parameter; empty gives None (the parameter's default applies)."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"user-segmentation.{parameter} must be a date YYYY-MM-DD or empty, got {value!r}") from None


def source(ctx, product: str, table: str, columns: dict[str, str]) -> DataFrame:
    """``columns`` of another product's table, or an empty frame of them when it is not there."""
    df = ctx.read_if_exists(table, product)
    if df is None:
        return ctx.spark.createDataFrame([], features.schema(columns))
    return df.select(*[F.col(c).cast(t) for c, t in columns.items()])


def _where_snapshot(day: dt.date) -> str:
    return tables.in_predicate("snapshot_date", [day])


def run_features(ctx) -> dict:
    """``customer_features`` of the snapshot date (parameter, else the day after the last purchase)."""
    table = ctx.table("customer_features")
    ctx.writer.ensure(table)
    purchases = [features.purchases(source(ctx, product, "events", features.EVENT_COLUMNS), name)
                 for name, product in SOURCES.items()]
    orders = features.orders(*purchases)
    snapshot = parse_date(ctx.own["snapshot_date"], "snapshot_date") or features.default_snapshot(orders)
    if snapshot is None:
        print("no purchases by logged-in users in web or mobile silver yet: no customers, nothing written")
        return {"snapshot_date": None, "customers": 0}
    sessions = [features.recent_sessions(source(ctx, product, "sessions", features.SESSION_COLUMNS), name, snapshot)
                for name, product in SOURCES.items()]
    rows = features.customer_features(orders, sessions[0].unionByName(sessions[1]), snapshot, ctx.run_id)
    customers = ctx.writer.replace(rows, table, _where_snapshot(snapshot))
    return {"snapshot_date": snapshot.isoformat(), "customers": customers}


def current_snapshot(ctx, history: DataFrame) -> dt.date | None:
    """The snapshot date parameter, else the latest snapshot in ``history``."""
    return (parse_date(ctx.own["snapshot_date"], "snapshot_date")
            or history.agg(F.max("snapshot_date")).first()[0])


def _snapshot_features(ctx) -> tuple[dt.date | None, DataFrame | None]:
    found = ctx.read("customer_features")
    snapshot = current_snapshot(ctx, found)
    return snapshot, (found.where(F.col("snapshot_date") == F.lit(snapshot)) if snapshot else None)


def run_rfm(ctx) -> dict:
    """RFM scores and segments of the snapshot, its profiles and R x F grid, and the movement
    from the previous snapshot (or the parameter movement.from_snapshot)."""
    actions = rfm.check_actions(ctx.own["segments"]["actions"])  # a bad parameter fails first
    writer = ctx.writer
    for name in ("customer_features", *RFM_TABLES):
        writer.ensure(ctx.table(name))
    snapshot, current = _snapshot_features(ctx)
    if snapshot is None or current.isEmpty():
        print(f"customer_features has no customers for snapshot {snapshot or '(none yet)'}: nothing written")
        return {"snapshot_date": snapshot.isoformat() if snapshot else None, "customers": 0, "moved_from": None}
    where = _where_snapshot(snapshot)
    customers = writer.replace(rfm.scores(current), ctx.table("customer_segments"), where)
    history = ctx.read("customer_segments")
    scored = history.where(F.col("snapshot_date") == F.lit(snapshot))
    writer.replace_collected(rfm.profiles(scored, snapshot, actions), ctx.table("segment_profiles"), where)
    writer.replace_collected(rfm.grid(scored, snapshot), ctx.table("rfm_grid"), where)
    earlier = (parse_date(ctx.own["movement"]["from_snapshot"], "movement.from_snapshot")
               or history.where(F.col("snapshot_date") < F.lit(snapshot)).agg(F.max("snapshot_date")).first()[0])
    if earlier is None:
        print(f"{snapshot} is the first snapshot: no segment movement yet")
    else:
        where_pair = f"{tables.in_predicate('to_snapshot', [snapshot])} AND {tables.in_predicate('from_snapshot', [earlier])}"
        writer.replace_collected(rfm.movement(history, earlier, snapshot), ctx.table("segment_movement"), where_pair)
    return {"snapshot_date": snapshot.isoformat(), "customers": customers,
            "moved_from": earlier.isoformat() if earlier else None}


def run_clusters(ctx) -> dict:
    """k-means clusters of the snapshot's customers and the clusters' profiles."""
    settings = ctx.own["clusters"]
    writer = ctx.writer
    for name in ("customer_features", *CLUSTER_TABLES):
        writer.ensure(ctx.table(name))
    snapshot, current = _snapshot_features(ctx)
    if snapshot is None or current.isEmpty():
        print("customer_features has no customers for the snapshot: no clusters, nothing written")
        return {"snapshot_date": snapshot.isoformat() if snapshot else None, "customers": 0, "clusters": 0}
    clustering = clusters.fit(current, settings["k"], settings["seed"], settings["max_iter"])
    found = len(clustering.centroids)
    try:
        where = _where_snapshot(snapshot)
        customers = writer.replace(clusters.customer_clusters(clustering, snapshot), ctx.table("customer_clusters"),
                                   where)
        writer.replace_collected(clusters.profiles(clustering, snapshot, settings["k"]), ctx.table("cluster_profiles"), where)
    finally:
        clusters.release(clustering)  # while the session works, not at the kernel's exit
    return {"snapshot_date": snapshot.isoformat(), "customers": customers, "clusters": found}
