"""Mobile silver: the enrichment of clean events and the session rows (metrics.md), keyed by
``device_id``. Sessionization itself is ``shared_lib.sessions``, the same as web's."""
from __future__ import annotations

from pyspark.sql import DataFrame, functions as F

from shared_lib.aggregates import order_totals

VISITOR = "device_id"
# GA4's engaged session, with screen_view in place of page_view (metrics.md).
ENGAGED_MIN_DURATION_S = 10
ENGAGED_MIN_SCREEN_VIEWS = 2


def enrich(events: DataFrame) -> DataFrame:
    """Clean contract rows -> silver mobile events: the UTC date, and ``is_bot`` false (metrics.md
    has no bot rule for apps; the column keeps silver's shape the same as web's)."""
    return events.select("*", F.to_date("event_ts").alias("event_date"), F.lit(False).alias("is_bot"))


def summarize(events: DataFrame, run_id: str) -> DataFrame:
    """One row per ``session_id`` of events that ``shared_lib.sessions.assign`` numbered.

    Platform and app version come from the session's first event, user and country are the
    first non-null ones; ``crashed`` says whether the session holds a ``crash`` event, wherever
    it falls (after midnight too). Orders are distinct ``order_id``s, each with its first
    event's revenue."""
    order = F.struct("event_ts", "event_id")

    def first(col: str, where=None):
        return F.min_by(col, order if where is None else F.when(where, order))

    sessions = events.groupBy("session_id").agg(
        F.first(VISITOR).alias(VISITOR),
        first("user_id", F.col("user_id").isNotNull()).alias("user_id"),
        F.min("event_ts").alias("session_start"),
        F.max("event_ts").alias("session_end"),
        F.count("*").alias("events"),
        F.count(F.when(F.col("event_type") == "screen_view", 1)).alias("screen_views"),
        F.max(F.col("event_type") == "crash").alias("crashed"),
        first("platform").alias("platform"),
        first("app_version").alias("app_version"),
        first("country", F.col("country").isNotNull()).alias("country"),
    )
    duration = (F.unix_micros("session_end") - F.unix_micros("session_start")) / 1e6
    return (sessions.join(order_totals(events, ["session_id"]), "session_id", "left")
            .withColumn("session_date", F.to_date("session_start"))
            .withColumn("duration_s", duration)
            .withColumn("purchases", F.coalesce("purchases", F.lit(0)).cast("int"))
            .withColumn("revenue", F.coalesce("revenue", F.lit(0.0)))
            .withColumn("engaged", (F.col("duration_s") > ENGAGED_MIN_DURATION_S)
                        | (F.col("screen_views") >= ENGAGED_MIN_SCREEN_VIEWS) | (F.col("purchases") > 0))
            .withColumn("run_id", F.lit(run_id)))
