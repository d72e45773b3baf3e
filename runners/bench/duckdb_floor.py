"""The single-node floor for ``dp bench``: web-user-analytics' daily KPIs, mobile-user-analytics'
daily DAU, WAU and MAU and compliance-auditing's daily audit KPIs (metrics.md), computed by DuckDB
straight from a JSON-lines file of the raw events.

Not a second implementation used by the product: the product's KPIs are the Spark notebooks'.
This only says how fast one process could compute the same numbers on this machine, and serves
as a cross-check of the gold ``daily_kpis`` tables. The contract is checked only as far as the
benchmark's generator breaks it (unparsable, oversized, missing or out-of-domain fields), so that
the events kept are the ones silver keeps.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from products.web_user_analytics.contract import EVENT_TYPES
from products.web_user_analytics.transform import BOT_MARKERS
from shared_lib.contract import FUTURE_TOLERANCE_HOURS, MAX_MESSAGE_BYTES

# Every field as text: a wrongly typed value then fails a try_cast below instead of the read.
_COLUMNS = {c: "VARCHAR" for c in ("event_id", "event_type", "event_ts", "anonymous_id", "user_id",
                                   "page_url", "user_agent", "page_load_ms", "order_id", "revenue")}

_SQL = """
WITH raw AS (
    SELECT * FROM read_json($path, format = 'newline_delimited', records = true,
                            ignore_errors = true, maximum_object_size = $max_bytes, columns = $columns)
), good AS (  -- what silver keeps: the contract's quarantine rules the generator exercises
    SELECT event_id, event_type, CAST(event_ts AS TIMESTAMPTZ) AS ts, anonymous_id, user_id,
           user_agent, order_id, TRY_CAST(revenue AS DOUBLE) AS revenue
    FROM raw
    WHERE event_id IS NOT NULL AND anonymous_id IS NOT NULL AND list_contains($event_types, event_type)
      -- a timestamp without a zone is ambiguous: quarantined, as in the contract
      AND regexp_matches(event_ts, '(Z|[+-]\\d\\d:?\\d\\d)$') AND TRY_CAST(event_ts AS TIMESTAMPTZ) IS NOT NULL
      AND CAST(event_ts AS TIMESTAMPTZ) <= now() + INTERVAL ($future_hours) HOUR
      AND (page_load_ms IS NULL OR TRY_CAST(page_load_ms AS BIGINT) IS NOT NULL)
      AND (event_type <> 'page_view' OR page_url IS NOT NULL)
      AND (event_type <> 'purchase' OR (order_id IS NOT NULL AND TRY_CAST(revenue AS DOUBLE) IS NOT NULL))
), events AS (  -- an at-least-once producer sends some events twice: one row per event_id
    SELECT *, regexp_matches(lower(coalesce(user_agent, '')), $bot_pattern) AS is_bot
    FROM good QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ts) = 1
), gaps AS (  -- a new session at a visitor's first event and after a gap of more than the timeout
    SELECT *, CASE WHEN ts - lag(ts) OVER w <= to_microseconds($timeout_us) THEN 0 ELSE 1 END AS starts
    FROM events WHERE NOT is_bot WINDOW w AS (PARTITION BY anonymous_id ORDER BY ts, event_id)
), numbered AS (
    SELECT *, sum(starts) OVER (PARTITION BY anonymous_id ORDER BY ts, event_id
                                ROWS UNBOUNDED PRECEDING) AS session_no
    FROM gaps
), sessions AS (
    SELECT anonymous_id, session_no, CAST(min(ts) AS DATE) AS date,
           epoch(max(ts)) - epoch(min(ts)) AS duration_s,
           count(*) FILTER (event_type = 'page_view') AS page_views,
           bool_or(event_type IN ('purchase', 'form_submit')) AS converting,
           count(DISTINCT order_id) FILTER (event_type = 'purchase') AS orders
    FROM numbered GROUP BY anonymous_id, session_no
), dated AS (  -- each event with its session's start date
    SELECT n.*, s.date FROM numbered n JOIN sessions s USING (anonymous_id, session_no)
), orders AS (  -- revenue of an order's first occurrence
    SELECT date, order_id, arg_min(revenue, (ts, event_id)) AS revenue
    FROM dated WHERE event_type = 'purchase' GROUP BY date, order_id
), per_session AS (
    SELECT date, count(DISTINCT anonymous_id) AS visitors, count(*) AS sessions,
           sum(page_views) AS page_views,
           count(*) FILTER (duration_s > 10 OR page_views >= 2 OR converting) AS engaged_sessions,
           avg(duration_s) AS avg_session_duration_s,
           count(*) FILTER (orders > 0) AS converting_sessions
    FROM sessions GROUP BY date
), users AS (
    SELECT date, count(DISTINCT user_id) AS users FROM dated GROUP BY date
), revenue AS (
    SELECT date, count(*) AS purchases, sum(revenue) AS revenue FROM orders GROUP BY date
), bots AS (  -- bot events count on their own event date
    SELECT CAST(ts AS DATE) AS date, count(*) AS bot_events FROM events WHERE is_bot GROUP BY 1
)
SELECT date, visitors, coalesce(users, 0) AS users, sessions, page_views, engaged_sessions,
       avg_session_duration_s, coalesce(purchases, 0) AS purchases, coalesce(revenue, 0) AS revenue,
       converting_sessions / sessions AS conversion_rate, coalesce(bot_events, 0) AS bot_events
FROM per_session FULL JOIN users USING (date) FULL JOIN revenue USING (date) FULL JOIN bots USING (date)
ORDER BY date
"""


def daily_kpis(path: Path, timeout_minutes: float = 30) -> list[dict]:
    """The daily KPIs of the events in the JSON-lines file ``path``, one dict per UTC date."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")  # dates are UTC calendar days
        cursor = con.execute(_SQL, {
            "path": str(path), "max_bytes": MAX_MESSAGE_BYTES, "columns": _COLUMNS,
            "event_types": list(EVENT_TYPES), "future_hours": FUTURE_TOLERANCE_HOURS,
            "bot_pattern": "|".join(BOT_MARKERS), "timeout_us": int(timeout_minutes * 60 * 1_000_000)})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


# --- mobile-user-analytics: daily DAU, WAU and MAU ------------------------------------------

# The fields whose JSON type the checks below need (a version sent as a number is a wrong type).
_MOBILE_COLUMNS = {"event_id": "JSON", "event_type": "VARCHAR", "event_ts": "VARCHAR", "device_id": "JSON",
                   "platform": "JSON", "app_version": "JSON", "screen_name": "JSON", "order_id": "JSON",
                   "revenue": "JSON"}

_MOBILE_SQL = """
WITH raw AS (
    SELECT * FROM read_json($path, format = 'newline_delimited', records = true,
                            ignore_errors = true, maximum_object_size = $max_bytes, columns = $columns)
), typed AS (  -- a string field only counts when the JSON holds a non-blank string
    SELECT CASE WHEN json_type(event_id) = 'VARCHAR' AND trim(event_id->>'$') <> '' THEN event_id->>'$' END AS event_id,
           event_type, event_ts,
           CASE WHEN json_type(device_id) = 'VARCHAR' AND trim(device_id->>'$') <> '' THEN device_id->>'$' END AS device_id,
           lower(trim(platform->>'$')) AS platform, json_type(platform) AS platform_type,
           json_type(app_version) AS version_type, trim(app_version->>'$') AS app_version,
           trim(screen_name->>'$') AS screen_name, trim(order_id->>'$') AS order_id,
           TRY_CAST(revenue->>'$' AS DOUBLE) AS revenue
    FROM raw
), good AS (  -- what silver keeps: the contract's quarantine rules the generator exercises
    SELECT event_id, event_type, CAST(event_ts AS TIMESTAMPTZ) AS ts, device_id
    FROM typed
    WHERE event_id IS NOT NULL AND length(event_id) <= 128 AND device_id IS NOT NULL AND length(device_id) <= 128
      AND list_contains($event_types, event_type)
      AND platform_type = 'VARCHAR' AND list_contains($platforms, platform)
      AND version_type = 'VARCHAR' AND app_version <> '' AND length(app_version) <= 64
      AND regexp_matches(event_ts, '(Z|[+-]\\d\\d:?\\d\\d)$') AND TRY_CAST(event_ts AS TIMESTAMPTZ) IS NOT NULL
      AND CAST(event_ts AS TIMESTAMPTZ) <= now() + INTERVAL ($future_hours) HOUR
      AND (event_type <> 'screen_view' OR coalesce(screen_name, '') <> '')
      AND (event_type <> 'purchase' OR (coalesce(order_id, '') <> '' AND revenue >= 0))
), days AS (  -- one row per device and active day; a duplicate event adds nothing here
    SELECT DISTINCT CAST(ts AS DATE) AS date, device_id FROM good
), calendar AS (  -- every date from the first to the last day with data
    SELECT CAST(d AS DATE) AS date
    FROM range((SELECT min(date) FROM days), (SELECT max(date) FROM days) + INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)
)
SELECT c.date,
       count(DISTINCT a.device_id) FILTER (a.date = c.date) AS dau,
       count(DISTINCT a.device_id) FILTER (a.date >= c.date - 6) AS wau,
       count(DISTINCT a.device_id) AS mau
FROM calendar c LEFT JOIN days a ON a.date BETWEEN c.date - 27 AND c.date
GROUP BY c.date ORDER BY c.date
"""


def mobile_active_devices(path: Path) -> list[dict]:
    """Daily DAU, WAU (7 days) and MAU (28 days) of the mobile events in the JSON-lines file
    ``path``, one dict per UTC date from the first to the last day with data."""
    from products.mobile_user_analytics.contract import EVENT_TYPES as MOBILE_EVENT_TYPES
    from products.mobile_user_analytics.contract import PLATFORMS

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        cursor = con.execute(_MOBILE_SQL, {
            "path": str(path), "max_bytes": MAX_MESSAGE_BYTES, "columns": _MOBILE_COLUMNS,
            "event_types": list(MOBILE_EVENT_TYPES), "platforms": list(PLATFORMS),
            "future_hours": FUTURE_TOLERANCE_HOURS})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


# --- compliance-auditing: daily audit KPIs ---------------------------------------------------

# Text fields as JSON too: a blank string counts as absent, and ``columns`` must be an array of strings.
_AUDIT_COLUMNS = {"event_id": "JSON", "event_ts": "VARCHAR", "actor": "JSON", "action": "JSON", "resource": "JSON",
                  "columns": "JSON", "purpose": "JSON", "result": "JSON", "subject_id": "JSON"}

_AUDIT_SQL = """
WITH raw AS (
    SELECT * FROM read_json($path, format = 'newline_delimited', records = true,
                            ignore_errors = true, maximum_object_size = $max_bytes, columns = $columns)
), typed AS (  -- a string field counts when the JSON holds a non-blank string; domains are lower-cased
    SELECT CASE WHEN json_type(event_id) = 'VARCHAR' THEN nullif(trim(event_id->>'$'), '') END AS event_id,
           event_ts,
           CASE WHEN json_type(actor) = 'VARCHAR' THEN nullif(trim(actor->>'$'), '') END AS actor,
           CASE WHEN json_type(action) = 'VARCHAR' THEN lower(trim(action->>'$')) END AS action,
           CASE WHEN json_type(resource) = 'VARCHAR' THEN nullif(trim(resource->>'$'), '') END AS resource,
           CASE WHEN json_type(result) = 'VARCHAR' THEN lower(trim(result->>'$')) END AS result,
           CASE WHEN json_type(purpose) = 'VARCHAR' THEN nullif(lower(trim(purpose->>'$')), '') END AS purpose,
           coalesce(json_type(purpose), 'NULL') IN ('NULL', 'VARCHAR') AS purpose_typed,
           CASE WHEN json_type(subject_id) = 'VARCHAR' THEN nullif(trim(subject_id->>'$'), '') END AS subject_id,
           CASE WHEN json_type(columns) = 'ARRAY' THEN CAST(columns AS VARCHAR[]) END AS cols,
           coalesce(json_type(columns), 'NULL') = 'NULL'
             OR (json_type(columns) = 'ARRAY'
                 AND list_bool_and(list_transform(CAST(columns AS JSON[]), lambda c: json_type(c) = 'VARCHAR'))
                     IS NOT FALSE) AS columns_typed
    FROM raw
), good AS (  -- what silver keeps: the contract's quarantine rules the generator exercises
    SELECT *, CAST(CAST(event_ts AS TIMESTAMPTZ) AS DATE) AS date
    FROM typed
    WHERE event_id IS NOT NULL AND length(event_id) <= 128 AND actor IS NOT NULL AND resource IS NOT NULL
      AND list_contains($actions, action) AND list_contains($results, result)
      AND purpose_typed AND (purpose IS NULL OR list_contains($purposes, purpose)) AND columns_typed
      AND regexp_matches(event_ts, '(Z|[+-]\\d\\d:?\\d\\d)$') AND TRY_CAST(event_ts AS TIMESTAMPTZ) IS NOT NULL
      AND CAST(event_ts AS TIMESTAMPTZ) <= now() + INTERVAL ($future_hours) HOUR
), events AS (  -- one row per event_id
    SELECT * FROM good QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY event_ts) = 1
), flagged AS (  -- a read of personal data: it names a subject, or a table with personal columns
    SELECT e.*, action = 'read' AND (subject_id IS NOT NULL OR EXISTS (
               SELECT 1 FROM personal p WHERE p.resource = e.resource
                 AND (e.cols IS NULL OR len(e.cols) = 0 OR list_has_any(e.cols, p.cols)))) AS personal_read
    FROM events e
)
SELECT date, count(*) AS audit_events, count(*) FILTER (result = 'denied') AS denied_accesses,
       count(*) FILTER (personal_read AND result = 'success' AND purpose IS NULL) AS reads_without_purpose
FROM flagged GROUP BY date ORDER BY date
"""


def compliance_kpis(path: Path, personal_columns: dict[str, list[str]]) -> list[dict]:
    """Daily ``audit_events``, ``denied_accesses`` and ``reads_without_purpose`` (metrics.md) of the
    audit events in the JSON-lines file ``path``; ``personal_columns``: {table: its personal columns}."""
    from products.compliance_auditing.contract import ACTIONS, PURPOSES, RESULTS

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE TABLE personal (resource VARCHAR, cols VARCHAR[])")
        con.executemany("INSERT INTO personal VALUES (?, ?)", [[t, list(c)] for t, c in personal_columns.items()])
        cursor = con.execute(_AUDIT_SQL, {
            "path": str(path), "max_bytes": MAX_MESSAGE_BYTES, "columns": _AUDIT_COLUMNS,
            "actions": list(ACTIONS), "results": list(RESULTS), "purposes": list(PURPOSES),
            "future_hours": FUTURE_TOLERANCE_HOURS})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()
