"""mobile-user-analytics' floor: the pipeline's work in DuckDB SQL, from the raw JSON lines to the
silver tables (events, sessions, quarantine) and every gold table, each written as Parquet. Read
from the product's code: ``sessions`` (enrichment, session rows) and ``metrics`` (device days,
cohorts, rolling windows, per-version figures, retention); ``gold.plan`` recomputes every date
from the first to the last day with data and every cohort when all of silver is new, as here.
The consent filter is not applied: the benchmark has no consent events."""
from __future__ import annotations

from pathlib import Path

from products.mobile_user_analytics import gold as mobile_gold
from products.mobile_user_analytics import metrics
from products.mobile_user_analytics.contract import MOBILE_CONTRACT
from products.mobile_user_analytics.sessions import ENGAGED_MIN_DURATION_S, ENGAGED_MIN_SCREEN_VIEWS
from runners.bench.floors import common
from runners.bench.floors.sessions import FIRST, assign_sql, summary_sql

PRODUCT = "mobile-user-analytics"
SILVER = ["events", "sessions", "quarantine"]
GOLD_KEYS = {"device_activity": ["date", "device_id"], "devices": ["device_id"], "daily_kpis": ["date"],
             "daily_by_version": ["date", "platform", "app_version"], "retention": ["cohort_date", "day_n"]}
TOLERANCES = {"daily_kpis": {"revenue": 0.005}}

_SESSION_EXTRA = {
    "screen_views": "count(*) FILTER (event_type = 'screen_view')",
    "crashed": "bool_or(event_type = 'crash')",
    "platform": f"arg_min_null(platform, {FIRST})",
    "app_version": f"arg_min_null(app_version, {FIRST})",
}

_DEVICE_ACTIVITY = f"""
SELECT event_date AS date, device_id, arg_max_null(platform, {FIRST}) AS platform,
       arg_max_null(app_version, {FIRST}) AS app_version, CAST(count(*) AS INTEGER) AS events,
       bool_or(event_type = 'crash') AS crashed
FROM events GROUP BY event_date, device_id
"""

_DEVICES = "SELECT device_id, min(date) AS cohort_date FROM device_activity GROUP BY device_id"

_DAILY_KPIS = f"""
WITH calendar AS (
    SELECT CAST(d AS DATE) AS date FROM range((SELECT min(date) FROM device_activity),
                                             (SELECT max(date) FROM device_activity) + INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)
), latest AS (  -- each device once per window: by its latest day in it
    SELECT c.date, a.device_id, min(c.date - a.date) AS k
    FROM calendar c JOIN device_activity a ON a.date BETWEEN c.date - {metrics.MAU_DAYS - 1} AND c.date
    GROUP BY c.date, a.device_id
), active AS (
    SELECT date, count(*) FILTER (k = 0) AS dau, count(*) FILTER (k < {metrics.WAU_DAYS}) AS wau, count(*) AS mau
    FROM latest GROUP BY date
), crashed AS (
    SELECT date, count(*) AS crashed_devices FROM device_activity WHERE crashed GROUP BY date
), new_devices AS (
    SELECT cohort_date AS date, count(*) AS new_devices FROM devices GROUP BY cohort_date
), per_session AS (
    SELECT session_date AS date, count(*) AS sessions, count(*) FILTER (engaged) AS engaged_sessions,
           count(*) FILTER (crashed) AS crashed_sessions, exact_sum(duration_s) AS _duration_s
    FROM sessions GROUP BY session_date
), first_orders AS (
    SELECT s.session_date AS date, a.order_id, arg_min_null(a.revenue, (a.event_ts, a.event_id)) AS revenue
    FROM assigned a JOIN sessions s USING (session_id)
    WHERE a.event_type = 'purchase' AND a.order_id IS NOT NULL GROUP BY ALL
), orders AS (
    SELECT date, count(*) AS purchases, exact_sum(revenue) AS revenue FROM first_orders GROUP BY date
), merged AS (
    SELECT date, coalesce(dau, 0) AS dau, coalesce(wau, 0) AS wau, coalesce(mau, 0) AS mau,
           coalesce(new_devices, 0) AS new_devices, coalesce(sessions, 0) AS sessions,
           coalesce(engaged_sessions, 0) AS engaged_sessions, _duration_s,
           coalesce(crashed_devices, 0) AS crashed_devices, coalesce(crashed_sessions, 0) AS crashed_sessions,
           coalesce(purchases, 0) AS purchases, coalesce(revenue, 0.0) AS revenue
    FROM calendar LEFT JOIN active USING (date) LEFT JOIN crashed USING (date) LEFT JOIN new_devices USING (date)
         LEFT JOIN per_session USING (date) LEFT JOIN orders USING (date)
)
SELECT date, dau, wau, mau, CASE WHEN mau > 0 THEN dau / mau END AS stickiness, new_devices, sessions,
       engaged_sessions, CASE WHEN sessions > 0 THEN _duration_s / sessions END AS avg_session_duration_s,
       CASE WHEN dau > 0 THEN sessions / dau END AS sessions_per_dau, crashed_devices,
       1 - CASE WHEN dau > 0 THEN crashed_devices / dau END AS crash_free_users, crashed_sessions,
       1 - CASE WHEN sessions > 0 THEN crashed_sessions / sessions END AS crash_free_sessions, purchases, revenue
FROM merged
"""

_BY_VERSION = """
WITH users AS (
    SELECT event_date AS date, platform, app_version, count(DISTINCT device_id) AS active_devices,
           count(DISTINCT device_id) FILTER (event_type = 'crash') AS crashed_devices
    FROM events GROUP BY ALL
), per_session AS (
    SELECT session_date AS date, platform, app_version, count(*) AS sessions,
           count(*) FILTER (crashed) AS crashed_sessions
    FROM sessions GROUP BY ALL
), adopted AS (
    SELECT date, platform, app_version, count(*) AS adopted_devices FROM device_activity GROUP BY ALL
), dau AS (
    SELECT date, count(*) AS _dau FROM device_activity GROUP BY date
), merged AS (  -- a union then a group-by, as the pipeline's ``_combine``
    SELECT date, platform, app_version, coalesce(max(active_devices), 0) AS active_devices,
           coalesce(max(crashed_devices), 0) AS crashed_devices, coalesce(max(sessions), 0) AS sessions,
           coalesce(max(crashed_sessions), 0) AS crashed_sessions, coalesce(max(adopted_devices), 0) AS adopted_devices
    FROM (SELECT * FROM users UNION ALL BY NAME SELECT * FROM per_session UNION ALL BY NAME SELECT * FROM adopted)
    GROUP BY ALL
)
SELECT date, platform, app_version, active_devices, crashed_devices,
       1 - CASE WHEN active_devices > 0 THEN crashed_devices / active_devices END AS crash_free_users,
       sessions, crashed_sessions, 1 - CASE WHEN sessions > 0 THEN crashed_sessions / sessions END AS crash_free_sessions,
       adopted_devices, CASE WHEN _dau > 0 THEN adopted_devices / _dau END AS version_adoption
FROM merged LEFT JOIN dau USING (date)
"""


def _retention_sql(days: list[int]) -> str:
    return f"""
WITH targets AS (
    SELECT device_id, cohort_date, day_n, cohort_date + day_n AS _on
    FROM devices CROSS JOIN (SELECT unnest({list(days)}) AS day_n)
), counted AS (
    SELECT cohort_date, day_n, count(*) AS cohort_size, count(a.device_id) AS _retained
    FROM targets t LEFT JOIN device_activity a ON a.device_id = t.device_id AND a.date = t._on
    GROUP BY cohort_date, day_n
)
SELECT cohort_date, CAST(day_n AS INTEGER) AS day_n, cohort_size,
       CASE WHEN cohort_date + day_n <= (SELECT max(date) FROM device_activity) THEN _retained END AS retained_devices,
       CASE WHEN cohort_date + day_n <= (SELECT max(date) FROM device_activity) THEN _retained / cohort_size END
           AS retention
FROM counted
"""


def run(path: Path, out: Path, params: dict) -> dict[str, list[dict]]:
    """The floor over the JSON lines ``path``: silver and gold written under ``out``; returns
    the gold tables' rows for the cross-check."""
    own = params[PRODUCT]
    days = mobile_gold.retention_days_of(own)
    con = common.connect()
    try:
        common.ingest(con, path, MOBILE_CONTRACT, own["silver"]["quarantine_value_max_chars"])
        fields = ", ".join(f.name for f in MOBILE_CONTRACT.fields)
        con.execute(f"""CREATE TABLE events AS
            SELECT line, {fields}, CAST(event_ts AS DATE) AS event_date, false AS is_bot FROM validated
            WHERE reason IS NULL QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY line) = 1""")
        con.execute(f"CREATE TABLE assigned AS {assign_sql('events', 'device_id', own['silver']['session_timeout_minutes'])}")
        engaged = (f"duration_s > {ENGAGED_MIN_DURATION_S} OR screen_views >= {ENGAGED_MIN_SCREEN_VIEWS} "
                   f"OR purchases > 0")
        con.execute(f"CREATE TABLE sessions AS SELECT *, {engaged} AS engaged "
                    f"FROM ({summary_sql('assigned', 'device_id', _SESSION_EXTRA)})")
        gold = {"device_activity": _DEVICE_ACTIVITY, "devices": _DEVICES, "daily_kpis": _DAILY_KPIS,
                "daily_by_version": _BY_VERSION, "retention": _retention_sql(days)}
        return common.finish(con, out, gold, SILVER)
    finally:
        con.close()
