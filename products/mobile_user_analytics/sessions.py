"""Mobile silver: the enrichment of clean events and the session rows (metrics.md), keyed by
``device_id``. Sessionization itself is ``shared_lib.sessions``, the same as web's."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shared_lib import sessions as sessions_lib

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
    first = sessions_lib.first_by_time
    sessions = sessions_lib.summary(events, VISITOR, run_id, {
        "screen_views": F.count(F.when(F.col("event_type") == "screen_view", 1)),
        "crashed": F.max(F.col("event_type") == "crash"),
        "platform": first("platform"),
        "app_version": first("app_version"),
    })
    return sessions.withColumn("engaged", (F.col("duration_s") > ENGAGED_MIN_DURATION_S)
                               | (F.col("screen_views") >= ENGAGED_MIN_SCREEN_VIEWS) | (F.col("purchases") > 0))
