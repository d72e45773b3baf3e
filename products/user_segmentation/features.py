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
from shared_lib import incremental, products
from shared_lib.aggregates import exact_sum

SOURCES = {"web": "web-user-analytics", "mobile": "mobile-user-analytics"}
SESSION_WINDOW_DAYS = 30  # "sessions and engaged sessions in the last 30 days"
# The silver columns read; the same names in web and mobile silver.
EVENT_COLUMNS = {"event_id": "string", "event_type": "string", "event_ts": "timestamp",
                 "user_id": "string", "order_id": "string", "revenue": "double", "is_bot": "boolean"}
SESSION_COLUMNS = {"user_id": "string", "session_date": "date", "engaged": "boolean", "duration_s": "double"}
ACTIVE_DAYS = 90  # default of parameter features.active_days: "is_active = last activity <= 90 days"
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
            .select("user_id", "engaged", "duration_s", F.lit(source).alias("source")))


def activity(events: DataFrame) -> DataFrame:
    """(user_id, event_ts) of one source's non-bot events of logged-in users: any event is
    activity (a purchase, a page or screen view, a crash ...)."""
    return events.where(~F.col("is_bot") & F.col("user_id").isNotNull()).select("user_id", "event_ts")


def last_activity(activity_df: DataFrame, snapshot: dt.date) -> DataFrame:
    """(user_id, last_activity_date): the UTC date of each user's last event before ``snapshot``."""
    return (activity_df.where(F.col("event_ts") < F.lit(dt.datetime.combine(snapshot, dt.time())))
            .groupBy("user_id").agg(F.to_date(F.max("event_ts")).alias("last_activity_date")))


def customer_features(orders_df: DataFrame, sessions: DataFrame, snapshot: dt.date, run_id: str,
                      activity_df: DataFrame | None = None, active_days: int = ACTIVE_DAYS) -> DataFrame:
    """One row per customer at ``snapshot``: users with >= 1 order strictly before it.
    ``sessions`` is ``recent_sessions`` of every source, unioned; ``activity_df`` the ``activity``
    of every source, unioned (without it, a customer's last activity is their last order)."""
    snap = F.lit(snapshot)
    per_customer = (orders_df.where(F.col("order_date") < snap).groupBy("user_id").agg(
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
        F.count("*").alias("frequency"),
        exact_sum("revenue").alias("monetary"),
        F.count(F.when(F.col("source") == "web", 1)).alias("web_orders"),
        F.count(F.when(F.col("source") == "mobile", 1)).alias("mobile_orders")))
    recent = sessions.groupBy("user_id").agg(
        F.count("*").alias("sessions_30d"),
        F.count(F.when(F.col("engaged"), 1)).alias("engaged_sessions_30d"),
        F.count(F.when(F.col("source") == "web", 1)).alias("web_sessions_30d"),
        F.count(F.when(F.col("source") == "mobile", 1)).alias("mobile_sessions_30d"),
        F.avg("duration_s").alias("avg_session_time_s"))
    counts = ["sessions_30d", "engaged_sessions_30d", "web_sessions_30d", "mobile_sessions_30d"]
    joined = per_customer.join(recent, "user_id", "left").fillna(0, counts)
    if activity_df is not None:
        joined = joined.join(last_activity(activity_df, snapshot), "user_id", "left")
    else:
        joined = joined.withColumn("last_activity_date", F.lit(None).cast("date"))
    # A purchase is activity too, whether or not the events given hold it.
    last_active = F.greatest(F.coalesce("last_activity_date", "last_order_date"), F.col("last_order_date"))
    frequency = F.col("frequency")
    return (joined.withColumn("last_activity_date", last_active)
            .select(snap.alias("snapshot_date"), "user_id", "first_order_date", "last_order_date",
                    F.datediff(snap, "last_order_date").alias("recency_days"), "frequency", "monetary",
                    "web_orders", "mobile_orders", (F.col("web_orders") / frequency).alias("web_share"),
                    *counts,
                    (F.col("monetary") / frequency).alias("avg_order_value"),
                    ((frequency - 1) / F.greatest(frequency, F.lit(1))).alias("repeat_purchase_rate"),
                    "last_activity_date",
                    F.datediff(snap, "last_activity_date").alias("days_since_last_activity"),
                    F.datediff(snap, "first_order_date").alias("customer_age_days"),
                    (F.datediff(snap, "last_activity_date") <= active_days).alias("is_active"),
                    "avg_session_time_s",
                    F.lit(run_id).alias("run_id")))


def source(ctx, product: str, table: str, columns: dict[str, str]) -> DataFrame:
    """``columns`` of another product's table, or an empty frame of them when it is not there."""
    df = ctx.read_if_exists(table, product)
    if df is None:
        return ctx.spark.createDataFrame([], schema(columns))
    return df.select(*[F.col(c).cast(t) for c, t in columns.items()])


def active_days(own: dict) -> int:
    """Parameter ``features.active_days`` (default 90), checked."""
    value = (own.get("features") or {}).get("active_days", ACTIVE_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"user-segmentation.features.active_days must be a whole number of days >= 0, got {value!r}")
    return value


def source_rows(ctx) -> int:
    """Rows of the silver tables the features read, from the Delta logs (0 for a product not installed)."""
    rows = 0
    for product in SOURCES.values():
        try:
            rows += incremental.silver_rows(products.get(product))
        except KeyError:
            pass
    return rows


def run(ctx) -> dict:
    """``customer_features`` of the snapshot date (parameter, else the day after the last purchase)."""
    with ctx.evaluated_for(source_rows(ctx)):
        return _features(ctx)


def _features(ctx) -> dict:
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
    active = [activity(source(ctx, product, "events", EVENT_COLUMNS)) for product in SOURCES.values()]
    rows = customer_features(all_orders, sessions[0].unionByName(sessions[1]), snapshot, ctx.run_id,
                             active[0].unionByName(active[1]), active_days(ctx.own))
    customers = ctx.writer.replace(rows, table, snapshots.where(snapshot))
    return {"snapshot_date": snapshot.isoformat(), "customers": customers}
