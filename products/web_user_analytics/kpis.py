"""Gold metrics of metrics.md, as pure functions of silver sessions and events: daily KPIs (also
per channel, device type and country) and page metrics. Bots are left out of everything but
``bot_events``; every metric is per session-start date except ``bot_events`` (per event date)."""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shared_lib import sessions as sessions_lib
from shared_lib.aggregates import exact_sum, order_totals

SESSION_DIMENSIONS = ("channel", "device_type", "country")
KPI_COLUMNS = ("visitors", "users", "sessions", "page_views", "engaged_sessions", "engagement_rate",
               "bounce_rate", "avg_session_duration_s", "pages_per_session", "purchases", "revenue",
               "conversion_rate", "bot_events")
_COUNTS = ("visitors", "users", "sessions", "page_views", "engaged_sessions", "purchases",
           "converting_sessions", "bot_events")


def session_events(sessions: DataFrame, events: DataFrame, extra: Sequence[str] = ()) -> DataFrame:
    """Non-bot ``events`` of ``sessions``, with the session's id, ``date`` and dimensions (and
    the ``extra`` event columns asked for)."""
    e = events.where(~F.col("is_bot")).select("event_id", "event_ts", "event_type", "anonymous_id",
                                              "user_id", "page_path", "page_load_ms", "order_id", "revenue", *extra)
    return sessions_lib.attach(e, sessions, "anonymous_id", SESSION_DIMENSIONS)


def daily_kpis(sessions: DataFrame, events_in_sessions: DataFrame, bot_events: DataFrame,
               dimensions: Sequence[str] = ()) -> DataFrame:
    """The daily KPIs per ``date`` (x ``dimensions``, from the session, or for bot events from the
    event itself). ``events_in_sessions`` is ``session_events``; ``bot_events`` are bot events."""
    keys = ["date", *dimensions]
    per_session = sessions.withColumnRenamed("session_date", "date").groupBy(*keys).agg(
        F.countDistinct("anonymous_id").alias("visitors"),
        F.count("*").alias("sessions"),
        F.sum("page_views").alias("page_views"),
        F.count(F.when(F.col("engaged"), 1)).alias("engaged_sessions"),
        exact_sum("duration_s").alias("_duration_s"),
        F.count(F.when(F.col("purchases") > 0, 1)).alias("converting_sessions"))
    users = (events_in_sessions.where(F.col("user_id").isNotNull()).groupBy(*keys)
             .agg(F.countDistinct("user_id").alias("users")))
    orders = order_totals(events_in_sessions, keys)
    bots = bot_events.withColumnRenamed("event_date", "date").groupBy(*keys).agg(F.count("*").alias("bot_events"))
    # Each part holds some of the metrics; a union then a group-by joins them on the keys,
    # with a null country (or any null key) matching itself, which a join would not do.
    parts = [per_session, users, orders, bots]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.unionByName(part, allowMissingColumns=True)
    metrics = [c for part in parts for c in part.columns if c not in keys]
    merged = combined.groupBy(*keys).agg(*[F.max(c).alias(c) for c in metrics])
    for c in _COUNTS:
        merged = merged.withColumn(c, F.coalesce(F.col(c), F.lit(0)).cast("bigint"))
    sessions_n = F.col("sessions")

    def per_session_rate(numerator):
        return F.when(sessions_n > 0, numerator / sessions_n)

    return (merged
            .withColumn("revenue", F.coalesce("revenue", F.lit(0.0)))
            .withColumn("engagement_rate", per_session_rate(F.col("engaged_sessions")))
            .withColumn("bounce_rate", 1 - F.col("engagement_rate"))
            .withColumn("avg_session_duration_s", per_session_rate(F.col("_duration_s")))
            .withColumn("pages_per_session", per_session_rate(F.col("page_views")))
            .withColumn("conversion_rate", per_session_rate(F.col("converting_sessions")))
            .select(*keys, *KPI_COLUMNS))


def page_metrics(sessions: DataFrame, events_in_sessions: DataFrame) -> DataFrame:
    """Per ``date`` x ``page_path``: page views, unique visitors, entrances, exits, exit rate and
    continuous load-time percentiles (p50, p95) over the non-null ``page_load_ms``."""
    page_views = events_in_sessions.where(F.col("event_type") == "page_view")
    # Visitors counted apart: a distinct count beside the percentiles in one aggregate makes
    # Spark expand every row once per kind of aggregate (4x slower at 1M events).
    load_ms = F.percentile("page_load_ms", F.array(F.lit(0.5), F.lit(0.95)))
    views = page_views.groupBy("date", "page_path").agg(F.count("*").alias("page_views"), load_ms.alias("_load_ms"))
    visitors = (page_views.select("date", "page_path", "anonymous_id").distinct()
                .groupBy("date", "page_path").agg(F.count("*").alias("unique_visitors")))
    views = views.join(visitors, ["date", "page_path"]).select(
        "date", "page_path", "page_views", "unique_visitors",
        F.col("_load_ms")[0].alias("load_ms_p50"), F.col("_load_ms")[1].alias("load_ms_p95"))
    by_date = sessions.withColumnRenamed("session_date", "date")
    entrances = (by_date.where(F.col("landing_page").isNotNull())
                 .groupBy("date", F.col("landing_page").alias("page_path")).agg(F.count("*").alias("entrances")))
    exits = (by_date.where(F.col("exit_page").isNotNull())
             .groupBy("date", F.col("exit_page").alias("page_path")).agg(F.count("*").alias("exits")))
    return (views.join(entrances, ["date", "page_path"], "left").join(exits, ["date", "page_path"], "left")
            .fillna(0, ["entrances", "exits"])
            .withColumn("exit_rate", F.col("exits") / F.col("page_views"))
            .select("date", "page_path", "page_views", "unique_visitors", "entrances", "exits",
                    "exit_rate", "load_ms_p50", "load_ms_p95"))
