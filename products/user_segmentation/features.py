"""Customer features from web and mobile silver (metrics.md, user-segmentation): pure functions
on DataFrames, and the ``features`` notebook's step ``run``.

An order is a distinct ``order_id`` across both sources: a purchase sent twice, or seen on the
website and in the app, counts once, with the user, time, source and revenue of its first event
(by ``event_ts``, then source, then ``event_id``). Bot events and purchases without a
``user_id`` belong to no customer and are left out.

The inputs are other products' silver tables. One that is not there yet (its product not run, or
not installed in this checkout) is read as empty, with a printed note, so that segmentation runs
on whatever sources exist.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from products.user_segmentation import snapshots
from shared_lib.aggregates import exact_sum

SOURCES = {"web": "web-user-analytics", "mobile": "mobile-user-analytics"}
SESSION_WINDOW_DAYS = 30  # "sessions and engaged sessions in the last 30 days"
# The silver columns read; the same names in web and mobile silver.
EVENT_COLUMNS = {"event_id": "string", "event_type": "string", "event_ts": "timestamp",
                 "user_id": "string", "order_id": "string", "revenue": "double", "is_bot": "boolean"}
SESSION_COLUMNS = {"user_id": "string", "session_date": "date", "engaged": "boolean"}
ORDER_SCHEMA = "order_id string, user_id string, order_ts timestamp, order_date date, source string, revenue double"


def schema(columns: dict[str, str]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns.items())


def purchases(events: DataFrame, source: str) -> DataFrame:
    """The purchase events of one source that can belong to a customer, tagged with ``source``."""
    return (events.where((F.col("event_type") == "purchase") & ~F.col("is_bot")
                         & F.col("order_id").isNotNull() & F.col("user_id").isNotNull())
            .select("event_id", "event_ts", "user_id", "order_id",
                    F.coalesce("revenue", F.lit(0.0)).alias("revenue"), F.lit(source).alias("source")))


def orders(*purchase_frames: DataFrame) -> DataFrame:
    """One row per distinct ``order_id`` over all ``purchases`` frames: its first event's user,
    time, source and revenue."""
    union = purchase_frames[0]
    for frame in purchase_frames[1:]:
        union = union.unionByName(frame)
    first = F.min_by(F.struct("user_id", "event_ts", "source", "revenue"), F.struct("event_ts", "source", "event_id"))
    return (union.groupBy("order_id").agg(first.alias("o"))
            .select("order_id", "o.user_id", F.col("o.event_ts").alias("order_ts"),
                    F.to_date("o.event_ts").alias("order_date"), "o.source", "o.revenue"))


def default_snapshot(orders_df: DataFrame) -> dt.date | None:
    """The day after the last purchase in the data; None without orders."""
    last = orders_df.agg(F.max("order_date")).first()[0]
    return last + dt.timedelta(days=1) if last is not None else None


def recent_sessions(sessions: DataFrame, source: str, snapshot: dt.date) -> DataFrame:
    """Sessions of logged-in users that started in the 30 days before ``snapshot``, tagged."""
    start = snapshot - dt.timedelta(days=SESSION_WINDOW_DAYS)
    return (sessions.where(F.col("user_id").isNotNull()
                           & (F.col("session_date") >= F.lit(start)) & (F.col("session_date") < F.lit(snapshot)))
            .select("user_id", "engaged", F.lit(source).alias("source")))


def customer_features(orders_df: DataFrame, sessions: DataFrame, snapshot: dt.date, run_id: str) -> DataFrame:
    """One row per customer at ``snapshot``: users with >= 1 order strictly before it.
    ``sessions`` is ``recent_sessions`` of every source, unioned."""
    snap = F.lit(snapshot)
    per_customer = (orders_df.where(F.col("order_date") < snap).groupBy("user_id").agg(
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
        F.count("*").alias("frequency"),
        exact_sum("revenue").alias("monetary"),
        F.count(F.when(F.col("source") == "web", 1)).alias("web_orders"),
        F.count(F.when(F.col("source") == "mobile", 1)).alias("mobile_orders")))
    activity = sessions.groupBy("user_id").agg(
        F.count("*").alias("sessions_30d"),
        F.count(F.when(F.col("engaged"), 1)).alias("engaged_sessions_30d"),
        F.count(F.when(F.col("source") == "web", 1)).alias("web_sessions_30d"),
        F.count(F.when(F.col("source") == "mobile", 1)).alias("mobile_sessions_30d"))
    counts = ["sessions_30d", "engaged_sessions_30d", "web_sessions_30d", "mobile_sessions_30d"]
    return (per_customer.join(activity, "user_id", "left").fillna(0, counts)
            .select(snap.alias("snapshot_date"), "user_id", "first_order_date", "last_order_date",
                    F.datediff(snap, "last_order_date").alias("recency_days"), "frequency", "monetary",
                    "web_orders", "mobile_orders", (F.col("web_orders") / F.col("frequency")).alias("web_share"),
                    *counts, F.lit(run_id).alias("run_id")))


def source(ctx, product: str, table: str, columns: dict[str, str]) -> DataFrame:
    """``columns`` of another product's table, or an empty frame of them when it is not there."""
    df = ctx.read_if_exists(table, product)
    if df is None:
        return ctx.spark.createDataFrame([], schema(columns))
    return df.select(*[F.col(c).cast(t) for c, t in columns.items()])


def run(ctx) -> dict:
    """``customer_features`` of the snapshot date (parameter, else the day after the last purchase)."""
    table = ctx.table("customer_features")
    ctx.writer.ensure(table)
    bought = [purchases(source(ctx, product, "events", EVENT_COLUMNS), name) for name, product in SOURCES.items()]
    all_orders = orders(*bought)
    snapshot = snapshots.parse_date(ctx.own["snapshot_date"], "snapshot_date") or default_snapshot(all_orders)
    if snapshot is None:
        print("no purchases by logged-in users in web or mobile silver yet: no customers, nothing written")
        return {"snapshot_date": None, "customers": 0}
    sessions = [recent_sessions(source(ctx, product, "sessions", SESSION_COLUMNS), name, snapshot)
                for name, product in SOURCES.items()]
    rows = customer_features(all_orders, sessions[0].unionByName(sessions[1]), snapshot, ctx.run_id)
    customers = ctx.writer.replace(rows, table, snapshots.where(snapshot))
    return {"snapshot_date": snapshot.isoformat(), "customers": customers}
