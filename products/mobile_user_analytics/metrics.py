"""Gold metrics of metrics.md for mobile-user-analytics, as pure functions of silver events and
sessions (``gold.py`` decides which dates to recompute and does the reads and writes).

Active devices are counted by event date: a device is active on every UTC date it has an event
on. Session metrics count by session-start date (a session that runs past midnight, and any crash
in it, belongs to the day it began). The per-device-day rows (``device_activity``) and each
device's cohort date (``cohorts``) are the compact intermediates from which the rolling windows
and retention are computed without reading old events again.
"""
from __future__ import annotations

import datetime as dt
from typing import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shared_lib import sessions as sessions_lib
from shared_lib.aggregates import exact_sum, order_totals

WAU_DAYS, MAU_DAYS = 7, 28  # d-6..d and d-27..d (28 days, as Firebase)

DAILY_COLUMNS = ("date", "dau", "wau", "mau", "stickiness", "new_devices", "sessions", "engaged_sessions",
                 "avg_session_duration_s", "sessions_per_dau", "crashed_devices", "crash_free_users",
                 "crashed_sessions", "crash_free_sessions", "purchases", "revenue")
VERSION_COLUMNS = ("date", "platform", "app_version", "active_devices", "crashed_devices", "crash_free_users",
                   "sessions", "crashed_sessions", "crash_free_sessions", "adopted_devices", "version_adoption")


def device_activity(events: DataFrame) -> DataFrame:
    """One row per ``date`` x ``device_id`` with an event: the platform and app version of the
    device's last event that day (a device that updates during the day counts for its new
    version), its events, and whether one of them was a crash."""
    last = F.struct("event_ts", "event_id")
    return events.groupBy(F.col("event_date").alias("date"), "device_id").agg(
        F.max_by("platform", last).alias("platform"),
        F.max_by("app_version", last).alias("app_version"),
        F.count("*").cast("int").alias("events"),
        F.max(F.col("event_type") == "crash").alias("crashed"))


def cohort_dates(activity: DataFrame) -> DataFrame:
    """``device_id`` -> ``cohort_date``, the date of the device's first event ever."""
    return activity.groupBy("device_id").agg(F.min("date").alias("cohort_date"))


def _dates(spark, dates: Sequence[dt.date]) -> DataFrame:
    return spark.createDataFrame([(d,) for d in dates], "date date")


def rolling_active(activity: DataFrame, dates: Sequence[dt.date]) -> DataFrame:
    """Per date of ``dates``: DAU, WAU (d-6..d) and MAU (d-27..d), distinct devices. ``activity``
    must hold the device days of d-27..d for every d asked for; a date without any gives zeros."""
    spread = (activity.select("device_id", "date", F.explode(F.sequence(F.lit(0), F.lit(MAU_DAYS - 1))).alias("_k"))
              .withColumn("_for", F.date_add("date", F.col("_k")))
              .where(F.col("_for").isin(list(dates))))
    # A device counts once per window: by its latest day in it (smallest k). Then plain counts,
    # instead of three distinct counts that Spark would run as three expanded aggregations.
    latest = spread.groupBy("_for", "device_id").agg(F.min("_k").alias("_k"))
    counts = latest.groupBy(F.col("_for").alias("date")).agg(
        F.count(F.when(F.col("_k") == 0, 1)).alias("dau"),
        F.count(F.when(F.col("_k") < WAU_DAYS, 1)).alias("wau"),
        F.count("*").alias("mau"))
    return (_dates(activity.sparkSession, dates).join(counts, "date", "left")
            .fillna(0, ["dau", "wau", "mau"]))


def purchase_orders(purchases: DataFrame, sessions: DataFrame) -> DataFrame:
    """Per session-start ``date``: ``purchases`` (distinct orders) and ``revenue`` (first event of
    each order), as for web. ``purchases`` are purchase events, ``sessions`` those of the dates."""
    in_sessions = sessions_lib.attach(purchases.where(F.col("event_type") == "purchase"), sessions, "device_id")
    return order_totals(in_sessions, ["date"])


def _combine(keys: Sequence[str], parts: Sequence[DataFrame], counts: Sequence[str]) -> DataFrame:
    """The parts (each holding some metrics per ``keys``) as one row per key: a union then a
    group-by, so that null keys match themselves; absent counts are 0."""
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.unionByName(part, allowMissingColumns=True)
    metrics = list(dict.fromkeys(c for part in parts for c in part.columns if c not in keys))
    merged = combined.groupBy(*keys).agg(*[F.max(c).alias(c) for c in metrics])
    for c in counts:
        merged = merged.withColumn(c, F.coalesce(F.col(c), F.lit(0)).cast("bigint"))
    return merged


def _ratio(numerator: str, denominator: str):
    return F.when(F.col(denominator) > 0, F.col(numerator) / F.col(denominator))


def daily_kpis(dates: Sequence[dt.date], activity: DataFrame, cohorts: DataFrame, sessions: DataFrame,
               orders: DataFrame) -> DataFrame:
    """The daily KPI row of every date of ``dates``.

    ``activity``: device days of d-27..d for each date; ``cohorts``: device cohort dates (at least
    those of ``dates``); ``sessions``: the sessions that start on ``dates``; ``orders``:
    ``purchase_orders`` of those sessions."""
    wanted = list(dates)
    active = rolling_active(activity, wanted)
    crashed_devices = (activity.where(F.col("crashed") & F.col("date").isin(wanted))
                       .groupBy("date").agg(F.count("*").alias("crashed_devices")))
    new_devices = (cohorts.where(F.col("cohort_date").isin(wanted))
                   .groupBy(F.col("cohort_date").alias("date")).agg(F.count("*").alias("new_devices")))
    per_session = sessions.groupBy(F.col("session_date").alias("date")).agg(
        F.count("*").alias("sessions"),
        F.count(F.when(F.col("engaged"), 1)).alias("engaged_sessions"),
        F.count(F.when(F.col("crashed"), 1)).alias("crashed_sessions"),
        exact_sum("duration_s").alias("_duration_s"))
    counts = ("dau", "wau", "mau", "new_devices", "sessions", "engaged_sessions", "crashed_devices",
              "crashed_sessions", "purchases")
    merged = _combine(["date"], [active, crashed_devices, new_devices, per_session, orders], counts)
    return (merged
            .withColumn("revenue", F.coalesce("revenue", F.lit(0.0)))
            .withColumn("stickiness", _ratio("dau", "mau"))
            .withColumn("avg_session_duration_s", _ratio("_duration_s", "sessions"))
            .withColumn("sessions_per_dau", _ratio("sessions", "dau"))
            .withColumn("crash_free_users", 1 - _ratio("crashed_devices", "dau"))
            .withColumn("crash_free_sessions", 1 - _ratio("crashed_sessions", "sessions"))
            .select(*DAILY_COLUMNS))


def by_version(events: DataFrame, activity: DataFrame, sessions: DataFrame) -> DataFrame:
    """Per ``date`` x ``platform`` x ``app_version``: crash-free users among the devices with an
    event of that version that day, crash-free sessions among the sessions that began on it
    (the version of their first event), and version adoption: the share of the day's DAU whose
    last event that day has the version. All three inputs cover the same dates."""
    keys = ["date", "platform", "app_version"]
    device = F.col("device_id")
    users = events.groupBy(F.col("event_date").alias("date"), "platform", "app_version").agg(
        F.countDistinct(device).alias("active_devices"),
        F.countDistinct(F.when(F.col("event_type") == "crash", device)).alias("crashed_devices"))
    per_session = sessions.groupBy(F.col("session_date").alias("date"), "platform", "app_version").agg(
        F.count("*").alias("sessions"), F.count(F.when(F.col("crashed"), 1)).alias("crashed_sessions"))
    adopted = activity.groupBy(*keys).agg(F.count("*").alias("adopted_devices"))
    dau = activity.groupBy("date").agg(F.count("*").alias("_dau"))
    counts = ("active_devices", "crashed_devices", "sessions", "crashed_sessions", "adopted_devices")
    merged = _combine(keys, [users, per_session, adopted], counts).join(dau, "date", "left")
    return (merged
            .withColumn("crash_free_users", 1 - _ratio("crashed_devices", "active_devices"))
            .withColumn("crash_free_sessions", 1 - _ratio("crashed_sessions", "sessions"))
            .withColumn("version_adoption", _ratio("adopted_devices", "_dau"))
            .select(*VERSION_COLUMNS))


def retention(cohorts: DataFrame, activity: DataFrame, days: Sequence[int], last_date: dt.date) -> DataFrame:
    """Per cohort date of ``cohorts`` x N of ``days``: the cohort's size, its devices with an
    event on exactly cohort date + N, and their share; both null while cohort date + N is after
    ``last_date`` (the last day with data). ``activity`` must hold the device days of every
    cohort date + N asked for."""
    targets = cohorts.select("device_id", "cohort_date", F.explode(F.array(*[F.lit(int(n)) for n in days])).alias("day_n"))
    targets = targets.withColumn("_on", F.date_add("cohort_date", F.col("day_n")))
    seen = activity.select("device_id", F.col("date").alias("_on"), F.lit(1).alias("_hit"))
    counted = targets.join(seen, ["device_id", "_on"], "left").groupBy("cohort_date", "day_n").agg(
        F.count("*").alias("cohort_size"), F.count("_hit").alias("_retained"))
    due = F.date_add("cohort_date", F.col("day_n")) <= F.lit(last_date)
    return counted.select(
        "cohort_date", F.col("day_n").cast("int").alias("day_n"), "cohort_size",
        F.when(due, F.col("_retained")).alias("retained_devices"),
        F.when(due, F.col("_retained") / F.col("cohort_size")).alias("retention"))
