"""Sessionization and the session rows common to web and mobile (``shared_lib.sessions``) as
DuckDB SQL: the same rules, the same deterministic ``session_id``."""
from __future__ import annotations

FIRST = "(event_ts, event_id)"  # "first" is by time, then event id


def assign_sql(events: str, visitor: str, timeout_minutes: float) -> str:
    """``events`` with ``session_id`` and ``session_start``: a new session at a visitor's first
    event and after a gap of more than the timeout (microseconds, as the pipeline)."""
    timeout_us = int(timeout_minutes * 60 * 1_000_000)
    return f"""
WITH g AS (
    SELECT *, CASE WHEN micros(event_ts) - micros(lag(event_ts) OVER w) <= {timeout_us} THEN 0 ELSE 1 END AS _starts
    FROM {events} WINDOW w AS (PARTITION BY {visitor} ORDER BY event_ts, event_id)
), n AS (
    SELECT *, sum(_starts) OVER (PARTITION BY {visitor} ORDER BY event_ts, event_id ROWS UNBOUNDED PRECEDING) AS _seq
    FROM g
), s AS (
    SELECT {visitor}, _seq, min(event_ts) AS _start, arg_min(event_id, {FIRST}) AS _first_id
    FROM n GROUP BY {visitor}, _seq
)
SELECT n.* EXCLUDE (_starts, _seq), s._start AS session_start,
       substr(sha256(concat_ws('|', n.{visitor}, CAST(micros(s._start) AS VARCHAR), s._first_id)), 1, 32) AS session_id
FROM n JOIN s USING ({visitor}, _seq)
"""


def summary_sql(assigned: str, visitor: str, extra: dict[str, str]) -> str:
    """One row per session of ``assigned`` (``assign_sql``'s output): what every product's
    sessions hold (``shared_lib.sessions.summary``) plus ``extra`` (name -> aggregate SQL)."""
    extras = "".join(f",\n           {sql} AS {name}" for name, sql in extra.items())
    return f"""
WITH agg AS (
    SELECT session_id, any_value({visitor}) AS {visitor},
           arg_min(user_id, {FIRST}) AS user_id,
           min(event_ts) AS session_start, max(event_ts) AS session_end, count(*) AS events,
           arg_min(country, {FIRST}) AS country{extras}
    FROM {assigned} GROUP BY session_id
), first_orders AS (  -- an order sent twice counts once, with its first event's revenue
    SELECT session_id, order_id, arg_min_null(revenue, {FIRST}) AS revenue
    FROM {assigned} WHERE event_type = 'purchase' AND order_id IS NOT NULL GROUP BY session_id, order_id
), orders AS (
    SELECT session_id, count(*) AS purchases, exact_sum(revenue) AS revenue FROM first_orders GROUP BY session_id
)
SELECT agg.*, CAST(session_start AS DATE) AS session_date,
       (micros(session_end) - micros(session_start)) / 1e6 AS duration_s,
       CAST(coalesce(purchases, 0) AS INTEGER) AS purchases, coalesce(revenue, 0.0) AS revenue
FROM agg LEFT JOIN orders USING (session_id)
"""
