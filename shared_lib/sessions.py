"""Sessionization on event time, keyed by a visitor column (web ``anonymous_id``, mobile
``device_id``), and the pieces of its incremental form. Pure functions on DataFrames.

Rules (metrics.md): a visitor's events ordered by time (ties by event id); a new session starts at
the first event and after every gap of *more than* the timeout; sessions do not split at
midnight. ``session_id`` is a hash of the visitor, the start and the first event's id, so the
same events always give the same id.

Incremental recomputation: new events can only change the sessions they fall into or next to
(within the timeout of a session's span), and may merge two of them. ``stale`` finds those
sessions; ``to_recompute`` picks the events to sessionize again: the stale sessions' events plus
the new ones. Other sessions stay as they are: they are more than a timeout away from every new
event, so no recomputed session can reach them.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from shared_lib.aggregates import order_totals

SESSION_COLUMNS = ("session_id", "session_start", "session_end")


def assign(events: DataFrame, visitor: str, timeout_minutes: float, ts: str = "event_ts",
           event_id: str = "event_id") -> DataFrame:
    """``events`` with ``session_id`` and ``session_start`` added."""
    order = Window.partitionBy(visitor).orderBy(ts, event_id)
    gap_us = F.unix_micros(F.col(ts)) - F.unix_micros(F.lag(ts).over(order))
    # Microseconds, not seconds: a gap of timeout + 0.5 s must start a new session too.
    starts = F.coalesce(gap_us > int(timeout_minutes * 60 * 1_000_000), F.lit(True))
    numbered = events.withColumn("_starts", starts.cast("int")).withColumn(
        "_seq", F.sum("_starts").over(order.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
    session = Window.partitionBy(visitor, "_seq")
    first_id = F.min_by(event_id, F.struct(ts, event_id)).over(session)
    start = F.min(ts).over(session)
    session_id = F.substring(F.sha2(F.concat_ws(
        "|", F.col(visitor), F.unix_micros(start).cast("string"), first_id), 256), 1, 32)
    return (numbered.withColumn("session_start", start).withColumn("session_id", session_id)
            .drop("_starts", "_seq"))


def stale(sessions: DataFrame, new_events: DataFrame, visitor: str, timeout_minutes: float,
          ts: str = "event_ts") -> DataFrame:
    """Existing sessions that a new event falls into or within the timeout of (to be replaced)."""
    s, n = sessions.alias("s"), new_events.select(visitor, ts).alias("n")
    reach = F.expr(f"INTERVAL {int(timeout_minutes * 60 * 1_000_000)} MICROSECONDS")
    touches = (F.col(f"s.{visitor}") == F.col(f"n.{visitor}")) & F.col(f"n.{ts}").between(
        F.col("s.session_start") - reach, F.col("s.session_end") + reach)
    return s.join(n, touches, "left_semi")


def intervals(stale_sessions: DataFrame, new_events: DataFrame, visitor: str,
              ts: str = "event_ts") -> DataFrame:
    """Per visitor, the time spans whose events must be sessionized again."""
    return stale_sessions.select(visitor, F.col("session_start").alias("lo"), F.col("session_end").alias("hi")
                                 ).unionByName(new_events.select(visitor, F.col(ts).alias("lo"), F.col(ts).alias("hi")))


def to_recompute(events: DataFrame, spans: DataFrame, visitor: str, ts: str = "event_ts") -> DataFrame:
    """The events (new ones included) that fall in one of ``spans`` of their visitor."""
    e, i = events.alias("e"), spans.alias("i")
    inside = (F.col(f"e.{visitor}") == F.col(f"i.{visitor}")) & F.col(f"e.{ts}").between(
        F.col("i.lo"), F.col("i.hi"))
    return e.join(i, inside, "left_semi")


def attach(events: DataFrame, sessions: DataFrame, visitor: str, columns=(), ts: str = "event_ts") -> DataFrame:
    """``events`` that fall in one of ``sessions``, each with its session's ``session_id``, its
    ``session_date`` as ``date`` and the session ``columns`` asked for. An event belongs to its
    visitor's session whose span holds it: a visitor's sessions never overlap (they are more
    than the timeout apart)."""
    s = sessions.select("session_id", F.col(visitor).alias("_visitor"), F.col("session_start").alias("_start"),
                        F.col("session_end").alias("_end"), F.col("session_date").alias("date"), *columns)
    inside = (events[visitor] == s["_visitor"]) & events[ts].between(s["_start"], s["_end"])
    return events.join(s, inside).drop("_visitor", "_start", "_end")


def first_by_time(col: str, where=None, ts: str = "event_ts", event_id: str = "event_id"):
    """Aggregate: ``col`` of the first event (by time, then id), among those matching ``where``."""
    order = F.struct(ts, event_id)
    return F.min_by(col, order if where is None else F.when(where, order))


def summary(events: DataFrame, visitor: str, run_id: str, extra: dict) -> DataFrame:
    """One row per ``session_id`` of events that ``assign`` numbered, with what every product's
    sessions hold - the visitor, the first non-null ``user_id`` and ``country``, start, end, UTC
    start date, ``duration_s`` (fractions kept), ``events``, ``purchases`` and ``revenue`` over
    its distinct orders (first event of each) and ``run_id`` - plus the product's ``extra``
    aggregates (name -> aggregate Column)."""
    rows = events.groupBy("session_id").agg(
        F.first(visitor).alias(visitor),
        first_by_time("user_id", F.col("user_id").isNotNull()).alias("user_id"),
        F.min("event_ts").alias("session_start"),
        F.max("event_ts").alias("session_end"),
        F.count("*").alias("events"),
        first_by_time("country", F.col("country").isNotNull()).alias("country"),
        *[agg.alias(name) for name, agg in extra.items()])
    duration = (F.unix_micros("session_end") - F.unix_micros("session_start")) / 1e6
    return (rows.join(order_totals(events, ["session_id"]), "session_id", "left")
            .withColumn("session_date", F.to_date("session_start"))
            .withColumn("duration_s", duration)
            .withColumn("purchases", F.coalesce("purchases", F.lit(0)).cast("int"))
            .withColumn("revenue", F.coalesce("revenue", F.lit(0.0)))
            .withColumn("run_id", F.lit(run_id)))
