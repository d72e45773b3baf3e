"""web-user-analytics' floor: the pipeline's work in DuckDB SQL, from the raw JSON lines to the
silver tables (events, sessions, quarantine) and every dated gold table plus ``user_journeys``,
each written as Parquet. Read from the product's code: ``transform`` (enrichment), ``geoip``
(addresses looked up once each, in Python, as the pipeline does on the driver), ``sessions``,
``kpis``, ``funnel``, ``engagement``, ``journeys``. The consent filter is not applied: the
benchmark has no consent events, so the pipeline's keeps every event too."""
from __future__ import annotations

from pathlib import Path

from products.web_user_analytics import engagement, funnel, geoip, transform
from products.web_user_analytics.contract import WEB_CONTRACT
from products.web_user_analytics.sessions import ENGAGED_MIN_DURATION_S, ENGAGED_MIN_PAGE_VIEWS
from runners.bench.floors import common
from runners.bench.floors.common import in_list, lit
from runners.bench.floors.sessions import FIRST, assign_sql, summary_sql

PRODUCT = "web-user-analytics"
SILVER = ["events", "sessions", "quarantine"]
GOLD_KEYS = {
    "daily_kpis": ["date"], "daily_kpis_by_channel": ["date", "channel"],
    "daily_kpis_by_device": ["date", "device_type"], "daily_kpis_by_country": ["date", "country"],
    "page_metrics": ["date", "page_path"], "funnel": ["date", "step"],
    "engagement_depth": ["date", "page_path"], "element_clicks": ["date", "page_path", "element_id"],
    "form_completion": ["date", "form_id"], "user_journeys": ["id_type", "id"]}
# Sums of doubles: the engines add in other orders (the pipeline's exact sums are exact to 1e-6).
TOLERANCES = {t: {"revenue": 0.005} for t in GOLD_KEYS if t.startswith("daily_kpis")}

_SCHEME = r"^[A-Za-z][A-Za-z0-9+.-]*://"
# RE2 has no look-ahead: transform's "android(?!.*mobile)" is "android, and no mobile after it".
_ANDROID_TABLET = "|android(?!.*mobile)"
assert _ANDROID_TABLET in transform._TABLET_UA, "transform._TABLET_UA changed: update the floor's device rule"
_TABLET_UA = transform._TABLET_UA.replace(_ANDROID_TABLET, "")


def _host(url: str) -> str:
    authority = f"regexp_extract({url}, {lit(_SCHEME + '([^/?#]*)')}, 1)"
    return f"nullif(lower(regexp_replace(regexp_replace({authority}, '^.*@', ''), ':\\d*$', '')), '')"


def _contains_any(col: str, needles) -> str:
    return "coalesce(" + " OR ".join(f"contains({col}, {lit(n)})" for n in needles) + ", false)"


def _browser(ua: str) -> str:
    low = f"lower({ua})"
    cases = " ".join(f"WHEN {_contains_any(low, markers)} THEN {lit(name)}" for name, markers in transform.BROWSERS)
    return f"CASE WHEN {ua} IS NULL THEN 'unknown' {cases} ELSE 'Other' END"


def _enrich_sql() -> str:
    path = f"regexp_replace(regexp_extract(page_url, {lit(_SCHEME + '[^/?#]*([^?#]*)')}, 1), '/+$', '')"
    medium = "lower(utm_medium)"
    no_utm = "(utm_source IS NULL AND utm_medium IS NULL AND utm_campaign IS NULL)"
    channel = (f"CASE WHEN {medium} IN {in_list(transform.PAID_MEDIUMS)} THEN 'paid' "
               f"WHEN {medium} = 'email' THEN 'email' "
               f"WHEN {medium} = 'social' OR {_contains_any('referrer_host', transform.SOCIAL_HOSTS)} THEN 'social' "
               f"WHEN {medium} = 'organic' OR {_contains_any('referrer_host', transform.SEARCH_HOSTS)} THEN 'organic' "
               f"WHEN {no_utm} AND (referrer IS NULL OR coalesce(referrer_host = _page_host, false)) THEN 'direct' "
               f"ELSE 'referral' END")
    tablet = (f"regexp_matches(user_agent, {lit(_TABLET_UA)}) OR (regexp_matches(user_agent, '(?i)android') "
              f"AND NOT regexp_matches(user_agent, '(?i)android.*mobile'))")
    device = (f"coalesce(device_type, CASE WHEN {tablet} THEN 'tablet' "
              f"WHEN regexp_matches(user_agent, {lit(transform._MOBILE_UA)}) THEN 'mobile' "
              f"WHEN regexp_matches(user_agent, {lit(transform._DESKTOP_UA)}) THEN 'desktop' END, 'unknown')")
    fields = ", ".join(f.name for f in WEB_CONTRACT.fields if f.name not in ("ip", "country", "device_type"))
    return f"""
WITH clean AS (
    SELECT line, {fields}, country, device_type, ip, {_host('referrer')} AS referrer_host, {_host('page_url')} AS _page_host
    FROM validated WHERE reason IS NULL
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY line) = 1  -- duplicates: the first copy
)
SELECT c.* EXCLUDE (_page_host, ip, country, device_type), CAST(event_ts AS DATE) AS event_date,
       CASE WHEN page_url IS NOT NULL THEN coalesce(nullif({path}, ''), '/') END AS page_path,
       {channel} AS channel, {_contains_any('lower(user_agent)', transform.BOT_MARKERS)} AS is_bot,
       {device} AS device_type, g.ip_network,
       coalesce(c.country, g.ip_country) AS country,
       CASE WHEN c.country IS NOT NULL THEN {lit(geoip.FROM_EVENT)}
            WHEN g.ip_country IS NOT NULL THEN {lit(geoip.FROM_GEOIP)} END AS country_source
FROM clean c LEFT JOIN geo g ON c.ip = g.ip
"""


def _session_extra() -> dict[str, str]:
    page_view = "event_type = 'page_view'"
    first = lambda col: f"arg_min_null({col}, {FIRST})"  # noqa: E731
    return {
        "page_views": f"count(*) FILTER ({page_view})",
        "_converting": "bool_or(event_type IN ('purchase', 'form_submit'))",
        "channel": first("channel"), "utm_source": first("utm_source"), "utm_medium": first("utm_medium"),
        "utm_campaign": first("utm_campaign"), "referrer_host": first("referrer_host"),
        "landing_page": f"arg_min_null(page_path, CASE WHEN {page_view} THEN {FIRST} END)",
        "exit_page": f"arg_max_null(page_path, CASE WHEN {page_view} THEN {FIRST} END)",
        "device_type": first("device_type"), "browser": _browser(first("user_agent")),
    }


def _interactions() -> str:
    """Events in sessions with engagement's properties (``engagement.interactions``)."""
    depth_text = "CASE WHEN event_type = 'scroll' THEN json_extract_string(properties, '$.scroll_depth') END"
    depth = f"TRY_CAST({depth_text} AS DOUBLE)"
    valid = f"({depth} BETWEEN {engagement.SCROLL_MIN} AND {engagement.SCROLL_MAX})"
    return f"""
SELECT e.*, s.session_date AS date, s.channel AS s_channel, s.device_type AS s_device_type, s.country AS s_country,
       CASE WHEN {valid} THEN {depth} END AS scroll_depth,
       ({depth_text}) IS NOT NULL AND NOT coalesce({valid}, false) AS scroll_invalid,
       CASE WHEN event_type = 'click' THEN json_extract_string(properties, '$.element_id') END AS element_id,
       CASE WHEN event_type = 'form_submit' THEN json_extract_string(properties, '$.form_id') END AS form_id,
       coalesce(lower(trim(json_extract_string(properties, '$.success'))) <> 'false', true) AS form_success
FROM assigned e JOIN sessions s USING (session_id)
"""


def _kpis_sql(dimension: str | None) -> str:
    """``kpis.daily_kpis`` per date (x the session's ``dimension``; bot events by their own)."""
    keys = "date" + (f", {dimension}" if dimension else "")
    ev = f"* EXCLUDE ({dimension}), s_{dimension} AS {dimension}" if dimension else "*"
    dim_e = f", {dimension}" if dimension else ""
    return f"""
WITH per_session AS (
    SELECT session_date AS date{dim_e}, count(DISTINCT anonymous_id) AS visitors, count(*) AS sessions,
           sum(page_views) AS page_views, count(*) FILTER (engaged) AS engaged_sessions,
           exact_sum(duration_s) AS _duration_s, count(*) FILTER (purchases > 0) AS converting_sessions
    FROM sessions GROUP BY ALL
), ev AS (SELECT {ev} FROM in_sessions
), users AS (
    SELECT {keys}, count(DISTINCT user_id) AS users FROM ev WHERE user_id IS NOT NULL GROUP BY ALL
), first_orders AS (
    SELECT {keys}, order_id, arg_min_null(revenue, {FIRST}) AS revenue
    FROM ev WHERE event_type = 'purchase' AND order_id IS NOT NULL GROUP BY ALL
), orders AS (
    SELECT {keys}, count(*) AS purchases, exact_sum(revenue) AS revenue FROM first_orders GROUP BY ALL
), bots AS (
    SELECT event_date AS date{dim_e}, count(*) AS bot_events FROM events WHERE is_bot GROUP BY ALL
), merged AS (  -- a union then a group-by: a null key matches itself
    SELECT {keys}, max(visitors) AS visitors, max(users) AS users, max(sessions) AS sessions,
           max(page_views) AS page_views, max(engaged_sessions) AS engaged_sessions, max(_duration_s) AS _duration_s,
           max(converting_sessions) AS converting_sessions, max(purchases) AS purchases, max(revenue) AS revenue,
           max(bot_events) AS bot_events
    FROM (SELECT * FROM per_session UNION ALL BY NAME SELECT * FROM users UNION ALL BY NAME SELECT * FROM orders
          UNION ALL BY NAME SELECT * FROM bots) GROUP BY ALL
)
SELECT {keys}, coalesce(visitors, 0) AS visitors, coalesce(users, 0) AS users, coalesce(sessions, 0) AS sessions,
       coalesce(page_views, 0) AS page_views, coalesce(engaged_sessions, 0) AS engaged_sessions,
       CASE WHEN sessions > 0 THEN engaged_sessions / sessions END AS engagement_rate,
       1 - CASE WHEN sessions > 0 THEN engaged_sessions / sessions END AS bounce_rate,
       CASE WHEN sessions > 0 THEN _duration_s / sessions END AS avg_session_duration_s,
       CASE WHEN sessions > 0 THEN page_views / sessions END AS pages_per_session,
       coalesce(purchases, 0) AS purchases, coalesce(revenue, 0.0) AS revenue,
       CASE WHEN sessions > 0 THEN coalesce(converting_sessions, 0) / sessions END AS conversion_rate,
       coalesce(bot_events, 0) AS bot_events
FROM merged
"""


_PAGE_METRICS = """
WITH views AS (
    SELECT date, page_path, count(*) AS page_views, count(DISTINCT anonymous_id) AS unique_visitors,
           quantile_cont(page_load_ms, 0.5) AS load_ms_p50, quantile_cont(page_load_ms, 0.95) AS load_ms_p95
    FROM in_sessions WHERE event_type = 'page_view' GROUP BY ALL
), entrances AS (
    SELECT session_date AS date, landing_page AS page_path, count(*) AS entrances
    FROM sessions WHERE landing_page IS NOT NULL GROUP BY ALL
), exits AS (
    SELECT session_date AS date, exit_page AS page_path, count(*) AS exits FROM sessions WHERE exit_page IS NOT NULL GROUP BY ALL
)
SELECT date, page_path, page_views, unique_visitors, coalesce(entrances, 0) AS entrances, coalesce(exits, 0) AS exits,
       coalesce(exits, 0) / page_views AS exit_rate, load_ms_p50, load_ms_p95
FROM views LEFT JOIN entrances USING (date, page_path) LEFT JOIN exits USING (date, page_path)
"""


def _funnel_sql(steps: list[funnel.Step]) -> str:
    """``funnel.funnel``: step k is reached at the first event matching it at or after step k-1."""
    def matches(step: funnel.Step) -> str:
        if step.page_path is not None:
            return f"(event_type = 'page_view' AND page_path = {lit(step.page_path)})"
        return f"event_type = {lit(str(step.event_type))}"

    ctes = [f"t0 AS (SELECT session_id, min(event_ts) AS t FROM in_sessions WHERE {matches(steps[0])} GROUP BY ALL)"]
    for k in range(1, len(steps)):
        ctes.append(f"t{k} AS (SELECT e.session_id, min(e.event_ts) AS t FROM in_sessions e JOIN t{k - 1} p "
                    f"ON e.session_id = p.session_id AND e.event_ts >= p.t WHERE {matches(steps[k])} GROUP BY ALL)")
    reached = ", ".join(f"count(t{k}.t) AS r{k}" for k in range(len(steps)))
    joins = " ".join(f"LEFT JOIN t{k} USING (session_id)" for k in range(len(steps)))
    unpivot = " UNION ALL ".join(
        f"SELECT date, {k + 1} AS step, {lit(s.name)} AS step_name, r{k} AS sessions_reached FROM counts"
        for k, s in enumerate(steps))
    return f"""
WITH {', '.join(ctes)},
counts AS (SELECT session_date AS date, {reached} FROM sessions {joins} GROUP BY ALL),
steps AS ({unpivot})
SELECT date, step, step_name, sessions_reached,
       CASE WHEN first(sessions_reached) OVER w > 0 THEN sessions_reached / first(sessions_reached) OVER w END
           AS conversion_from_start,
       CASE WHEN lag(sessions_reached) OVER w > 0 THEN sessions_reached / lag(sessions_reached) OVER w END
           AS step_conversion
FROM steps WINDOW w AS (PARTITION BY date ORDER BY step)
"""


def _depth_sql() -> str:
    names = [f"scroll_depth_p{round(p * 100)}" for p in engagement.PERCENTILES]
    percentiles = ", ".join(f"quantile_cont(scroll_depth, {p}) AS {n}" for p, n in zip(engagement.PERCENTILES, names))
    return f"""
SELECT date, page_path, count(*) FILTER (event_type = 'page_view') AS page_views,
       count(scroll_depth) AS scroll_events, {percentiles},
       count(*) FILTER (scroll_invalid) AS scroll_depth_invalid, count(*) FILTER (event_type = 'click') AS clicks,
       CASE WHEN count(*) FILTER (event_type = 'page_view') > 0
            THEN count(*) FILTER (event_type = 'click') / count(*) FILTER (event_type = 'page_view') END AS click_through
FROM in_sessions WHERE page_path IS NOT NULL GROUP BY date, page_path
"""


_ELEMENT_CLICKS = """
SELECT *, row_number() OVER (PARTITION BY date, page_path ORDER BY clicks DESC, element_id ASC NULLS LAST) AS rank
FROM (SELECT date, page_path, element_id, count(*) AS clicks FROM in_sessions
      WHERE event_type = 'click' AND page_path IS NOT NULL GROUP BY ALL)
"""

_FORM_COMPLETION = """
SELECT date, form_id, count(*) AS submits, count(*) FILTER (form_success) AS successful,
       count(*) FILTER (form_success) / count(*) AS completion_rate
FROM in_sessions WHERE event_type = 'form_submit' GROUP BY ALL
"""


def _most_sessions(col: str) -> str:
    """The value with the most sessions, ties to the alphabetically first (``journeys._most_sessions``)."""
    return f"arg_min(coalesce({col}, 'unknown'), (-n_{col}, coalesce({col}, 'unknown')))"


def _journeys_sql(id_type: str) -> str:
    return f"""
WITH rows AS (SELECT * FROM sessions WHERE {id_type} IS NOT NULL
), counted AS (
    SELECT *, count(*) OVER (PARTITION BY {id_type}, coalesce(device_type, 'unknown')) AS n_device_type,
              count(*) OVER (PARTITION BY {id_type}, coalesce(browser, 'unknown')) AS n_browser
    FROM rows
)
SELECT '{id_type}' AS id_type, {id_type} AS id, count(*) AS sessions, sum(page_views) AS page_views,
       sum(events) AS events, exact_sum(duration_s) AS total_session_time_s,
       exact_sum(duration_s) / count(*) AS avg_session_time_s, sum(page_views) / count(*) AS pages_per_session,
       count(*) FILTER (NOT engaged) / count(*) AS bounce_rate, min(session_start) AS first_seen,
       max(session_end) AS last_seen,
       (SELECT max(session_date) FROM sessions) - CAST(min(session_start) AS DATE) AS days_since_first_seen,
       {_most_sessions('device_type')} AS primary_device_type, {_most_sessions('browser')} AS primary_browser,
       -- Spark's collect_set of only nulls is [], DuckDB's filtered list() is null
       coalesce(list_sort(list(DISTINCT channel) FILTER (channel IS NOT NULL)), []) AS traffic_sources,
       coalesce(list_sort(list(DISTINCT country) FILTER (country IS NOT NULL)), []) AS countries,
       (SELECT max(session_date) FROM sessions) AS as_of
FROM counted GROUP BY {id_type}
"""


def run(path: Path, out: Path, params: dict) -> dict[str, list[dict]]:
    """The floor over the JSON lines ``path``: silver and gold written under ``out``; returns
    the gold tables' rows for the cross-check."""
    own = params[PRODUCT]
    steps = funnel.steps_from_params(own["gold"]["funnel_steps"])
    con = common.connect()
    try:
        # Quarantined messages keep no full address (``geoip.redact``).
        redacted = (f"regexp_replace(regexp_replace(value, {lit(geoip._JSON_IP)}, '\\1\"[removed]\"', 'g'), "
                    f"{lit(geoip._IPV4)}, '\\1.0/24', 'g')")
        common.ingest(con, path, WEB_CONTRACT, own["silver"]["quarantine_value_max_chars"], value=redacted)
        addresses = [r[0] for r in con.execute(
            "SELECT DISTINCT ip FROM validated WHERE reason IS NULL AND ip IS NOT NULL").fetchall()]
        con.execute("CREATE TABLE geo (ip VARCHAR, ip_network VARCHAR, ip_country VARCHAR)")
        if addresses:
            con.executemany("INSERT INTO geo VALUES (?, ?, ?)", geoip.lookup(addresses))
        con.execute(f"CREATE TABLE events AS {_enrich_sql()}")
        con.execute("CREATE VIEW human AS SELECT * FROM events WHERE NOT is_bot")
        con.execute(f"CREATE TABLE assigned AS {assign_sql('human', 'anonymous_id', own['silver']['session_timeout_minutes'])}")
        engaged = (f"duration_s > {ENGAGED_MIN_DURATION_S} OR page_views >= {ENGAGED_MIN_PAGE_VIEWS} OR _converting")
        con.execute(f"CREATE TABLE sessions AS SELECT * EXCLUDE (_converting), {engaged} AS engaged "
                    f"FROM ({summary_sql('assigned', 'anonymous_id', _session_extra())})")
        con.execute(f"CREATE TABLE in_sessions AS {_interactions()}")
        gold = {"daily_kpis": _kpis_sql(None), "daily_kpis_by_channel": _kpis_sql("channel"),
                "daily_kpis_by_device": _kpis_sql("device_type"), "daily_kpis_by_country": _kpis_sql("country"),
                "page_metrics": _PAGE_METRICS, "funnel": _funnel_sql(steps), "engagement_depth": _depth_sql(),
                "element_clicks": _ELEMENT_CLICKS, "form_completion": _FORM_COMPLETION,
                "user_journeys": f"SELECT * FROM ({_journeys_sql('anonymous_id')}) UNION ALL "
                                 f"SELECT * FROM ({_journeys_sql('user_id')})"}
        return common.finish(con, out, gold, SILVER)
    finally:
        con.close()
