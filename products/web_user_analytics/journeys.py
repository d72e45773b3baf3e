"""User journeys: one row per visitor (``anonymous_id``) and one per logged-in user
(``user_id``), over all their sessions in silver (bots excluded there). Personal data.

A session counts for the user of its first non-null ``user_id``. ``days_since_first_seen`` is
taken at ``as_of``, the latest session date in silver, so the same silver gives the same table.

Incremental (``touched``, ``updated``): while ``as_of`` stays, only the journeys of the ids that
new sessions touch can change: their visitors, and every user of those visitors' events (a
session re-made by new events may have moved to another user, whose journey loses it). The
others are kept as they are; the result equals a recompute from all sessions.
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


def journeys(sessions: DataFrame, as_of: dt.date, only: DataFrame | None = None) -> DataFrame:
    """``user_journeys`` rows from silver ``sessions``: per ``anonymous_id`` and per non-null
    ``user_id``, sessions, page views, events, session time (total and mean, seconds), pages per
    session, bounce rate (share of sessions not engaged), first and last seen, days since first
    seen at ``as_of``, the device type and browser with the most sessions, and the sorted
    channels (traffic sources) and countries seen. ``only`` (``id_type``, ``id``): just those ids."""
    parts = []
    for id_type in ID_TYPES:
        rows = sessions.where(F.col(id_type).isNotNull())
        if only is not None:
            wanted = only.where(F.col("id_type") == id_type).select(F.col("id").alias(id_type))
            rows = rows.join(wanted, id_type, "left_semi")
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


def touched(new_sessions: DataFrame, events: DataFrame) -> DataFrame:
    """(``id_type``, ``id``) whose journeys ``new_sessions`` (those written since the last
    refresh) can change: their visitors and users, and every user_id in those visitors' events."""
    visitors = new_sessions.select(F.lit("anonymous_id").alias("id_type"), F.col("anonymous_id").alias("id"))
    users = new_sessions.where(F.col("user_id").isNotNull()).select(
        F.lit("user_id").alias("id_type"), F.col("user_id").alias("id"))
    linked = (events.join(new_sessions.select("anonymous_id").distinct(), "anonymous_id", "left_semi")
              .where(F.col("user_id").isNotNull())
              .select(F.lit("user_id").alias("id_type"), F.col("user_id").alias("id")))
    return visitors.unionByName(users).unionByName(linked).distinct()


def updated(previous: DataFrame, sessions: DataFrame, ids: DataFrame, as_of: dt.date) -> DataFrame:
    """The journeys after new sessions, from the ``previous`` ones (taken at the same ``as_of``):
    those of ``ids`` (``touched``) recomputed from all ``sessions``, the others kept; an id of
    ``ids`` left without sessions has no row."""
    kept = previous.select(*COLUMNS).join(ids.select("id_type", "id"), ["id_type", "id"], "left_anti")
    return kept.unionByName(journeys(sessions, as_of, only=ids).select(*COLUMNS))
