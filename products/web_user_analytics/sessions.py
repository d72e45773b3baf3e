"""Web session rows from sessionized silver events (metrics.md, "Per session")."""
from __future__ import annotations

from pyspark.sql import DataFrame, functions as F

from shared_lib.aggregates import order_totals

VISITOR = "anonymous_id"
ENGAGED_MIN_DURATION_S = 10
ENGAGED_MIN_PAGE_VIEWS = 2


def summarize(events: DataFrame, run_id: str) -> DataFrame:
    """One row per ``session_id`` of events that ``shared_lib.sessions.assign`` numbered.

    Channel, device, landing page and the UTM fields come from the session's first event (page
    view for the landing page), the exit page from its last page view; user and country are the
    first non-null ones. Orders are distinct ``order_id``s, each with its first event's revenue.
    """
    order = F.struct("event_ts", "event_id")
    is_page_view = F.col("event_type") == "page_view"

    def first(col: str, where=None):
        return F.min_by(col, order if where is None else F.when(where, order))

    per_order = order_totals(events, ["session_id"])
    sessions = events.groupBy("session_id").agg(
        F.first(VISITOR).alias(VISITOR),
        first("user_id", F.col("user_id").isNotNull()).alias("user_id"),
        F.min("event_ts").alias("session_start"),
        F.max("event_ts").alias("session_end"),
        F.count("*").alias("events"),
        F.count(F.when(is_page_view, 1)).alias("page_views"),
        F.max(F.col("event_type").isin("purchase", "form_submit")).alias("_converting"),
        first("channel").alias("channel"),
        first("utm_source").alias("utm_source"),
        first("utm_medium").alias("utm_medium"),
        first("utm_campaign").alias("utm_campaign"),
        first("referrer_host").alias("referrer_host"),
        first("page_path", is_page_view).alias("landing_page"),
        F.max_by("page_path", F.when(is_page_view, order)).alias("exit_page"),
        first("device_type").alias("device_type"),
        first("country", F.col("country").isNotNull()).alias("country"),
    )
    duration = (F.unix_micros("session_end") - F.unix_micros("session_start")) / 1e6
    return (sessions.join(per_order, "session_id", "left")
            .withColumn("session_date", F.to_date("session_start"))
            .withColumn("duration_s", duration)
            .withColumn("purchases", F.coalesce("purchases", F.lit(0)).cast("int"))
            .withColumn("revenue", F.coalesce("revenue", F.lit(0.0)))
            .withColumn("engaged", (F.col("duration_s") > ENGAGED_MIN_DURATION_S)
                        | (F.col("page_views") >= ENGAGED_MIN_PAGE_VIEWS) | F.col("_converting"))
            .withColumn("run_id", F.lit(run_id))
            .drop("_converting"))
