"""User journeys: one row per visitor (``anonymous_id``) and one per logged-in user
(``user_id``), over all their sessions in silver (bots excluded there). Personal data.

A session counts for the user of its first non-null ``user_id``. ``days_since_first_seen`` is
taken at ``as_of``, the latest session date in silver, so the same silver gives the same table.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from shared_lib.aggregates import exact_sum

ID_TYPES = ("anonymous_id", "user_id")
COLUMNS = ("id_type", "id", "sessions", "page_views", "events", "total_session_time_s", "avg_session_time_s",
           "pages_per_session", "bounce_rate", "first_seen", "last_seen", "days_since_first_seen",
           "primary_device_type", "primary_browser", "traffic_sources", "countries", "as_of")


def _most_sessions(col: str) -> Column:
    """The value of ``col`` with the most sessions, ties to the alphabetically first (so the
    result does not depend on row order); computed from the per-value counts ``_<col>``."""
    return F.element_at(F.array_sort(F.transform(
        F.map_entries(f"_{col}"), lambda e: F.struct((-e["value"]).alias("n"), e["key"].alias("v")))), 1)["v"]


def journeys(sessions: DataFrame, as_of: dt.date) -> DataFrame:
    """``user_journeys`` rows from silver ``sessions``: per ``anonymous_id`` and per non-null
    ``user_id``, sessions, page views, events, session time (total and mean, seconds), pages per
    session, bounce rate (share of sessions not engaged), first and last seen, days since first
    seen at ``as_of``, the device type and browser with the most sessions, and the sorted
    channels (traffic sources) and countries seen."""
    parts = []
    for id_type in ID_TYPES:
        rows = sessions.where(F.col(id_type).isNotNull())
        # Sessions written before browsers were recorded have none: "unknown" (a map key must not be null).
        per_value = {c: rows.groupBy(id_type, F.coalesce(c, F.lit("unknown")).alias(c)).agg(F.count("*").alias("n"))
                     .groupBy(id_type).agg(F.map_from_entries(F.collect_list(F.struct(c, "n"))).alias(f"_{c}"))
                     for c in ("device_type", "browser")}
        agg = rows.groupBy(id_type).agg(
            F.count("*").alias("sessions"),
            F.sum("page_views").alias("page_views"),
            F.sum("events").alias("events"),
            exact_sum("duration_s").alias("total_session_time_s"),
            F.count(F.when(~F.col("engaged"), 1)).alias("_bounced"),
            F.min("session_start").alias("first_seen"),
            F.max("session_end").alias("last_seen"),
            F.array_sort(F.collect_set("channel")).alias("traffic_sources"),
            F.array_sort(F.collect_set("country")).alias("countries"))
        for frame in per_value.values():
            agg = agg.join(frame, id_type, "left")
        parts.append(agg.select(
            F.lit(id_type).alias("id_type"), F.col(id_type).alias("id"), "sessions", "page_views", "events",
            "total_session_time_s", (F.col("total_session_time_s") / F.col("sessions")).alias("avg_session_time_s"),
            (F.col("page_views") / F.col("sessions")).alias("pages_per_session"),
            (F.col("_bounced") / F.col("sessions")).alias("bounce_rate"), "first_seen", "last_seen",
            F.datediff(F.lit(as_of), F.to_date("first_seen")).alias("days_since_first_seen"),
            _most_sessions("device_type").alias("primary_device_type"),
            _most_sessions("browser").alias("primary_browser"), "traffic_sources", "countries",
            F.lit(as_of).alias("as_of")))
    return parts[0].unionByName(parts[1])
