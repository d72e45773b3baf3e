"""user-segmentation's floor: customer features and RFM in DuckDB SQL, k-means in scikit-learn,
over the same web and mobile silver the pipeline reads (delta-rs datasets scanned by DuckDB),
each table written as Parquet. Read from ``features``, ``rfm`` and ``clusters``.

Cross-checked: ``customer_features``, ``customer_segments``, ``segment_profiles``, ``rfm_grid``.
The clusters are computed (same features, log1p, standardization with the sample standard
deviation as Spark's ``StandardScaler``, same k and seed, clusters numbered by
``clusters.cluster_numbers``) for the timing, but scikit-learn's k-means++ does not start where
Spark's k-means|| does, so assignments may differ: not cross-checked. Behaviour, churn, tag
counts and movement are not in the floor yet."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from products.user_segmentation import clusters, features, rfm
from products.user_segmentation.segment_grid import SEGMENTS, segment_of
from runners.bench.floors import common
from runners.bench.floors.common import lit

PRODUCT = "user-segmentation"
GOLD_KEYS = {"customer_features": ["snapshot_date", "user_id"], "customer_segments": ["snapshot_date", "user_id"],
             "segment_profiles": ["snapshot_date", "segment"], "rfm_grid": ["snapshot_date", "r", "f"]}
TOLERANCES = {t: {"monetary": 0.005, "revenue": 0.005, "avg_monetary": 1e-4} for t in GOLD_KEYS}


def _source(con, name: str, product: str, table: str, columns: dict[str, str]) -> None:
    """Another product's silver table as the view ``name`` (empty when it is not there)."""
    from shared_lib import lake, products

    try:
        dataset = lake.delta_table(products.get(product).table(table)).to_pyarrow_dataset()
    except Exception:  # not written yet: read as empty, as the pipeline does
        cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in columns.items())
        con.execute(f"CREATE VIEW {name} AS SELECT {cols} WHERE false")
        return
    con.register(f"_{name}", dataset)
    con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(columns)} FROM _{name}")


def _features_sql(snapshot: dt.date, active_days: int) -> str:
    snap = f"DATE '{snapshot.isoformat()}'"
    window_start = f"DATE '{(snapshot - dt.timedelta(days=features.SESSION_WINDOW_DAYS)).isoformat()}'"
    return f"""
WITH per_customer AS (
    SELECT user_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date, count(*) AS frequency,
           exact_sum(revenue) AS monetary, count(*) FILTER (source = 'web') AS web_orders,
           count(*) FILTER (source = 'mobile') AS mobile_orders
    FROM orders WHERE order_date < {snap} GROUP BY user_id
), recent AS (
    SELECT user_id, count(*) AS sessions_30d, count(*) FILTER (engaged) AS engaged_sessions_30d,
           count(*) FILTER (source = 'web') AS web_sessions_30d, count(*) FILTER (source = 'mobile') AS mobile_sessions_30d,
           avg(duration_s) AS avg_session_time_s
    FROM (SELECT *, 'web' AS source FROM web_sessions UNION ALL SELECT *, 'mobile' FROM mobile_sessions)
    WHERE user_id IS NOT NULL AND session_date >= {window_start} AND session_date < {snap} GROUP BY user_id
), active AS (
    SELECT user_id, CAST(max(event_ts) AS DATE) AS last_activity_date
    FROM (SELECT user_id, event_ts, is_bot FROM web_events UNION ALL SELECT user_id, event_ts, is_bot FROM mobile_events)
    WHERE NOT is_bot AND user_id IS NOT NULL AND event_ts < CAST({snap} AS TIMESTAMPTZ) GROUP BY user_id
), joined AS (
    SELECT p.*, coalesce(sessions_30d, 0) AS sessions_30d, coalesce(engaged_sessions_30d, 0) AS engaged_sessions_30d,
           coalesce(web_sessions_30d, 0) AS web_sessions_30d, coalesce(mobile_sessions_30d, 0) AS mobile_sessions_30d,
           avg_session_time_s, greatest(coalesce(a.last_activity_date, last_order_date), last_order_date) AS last_activity_date
    FROM per_customer p LEFT JOIN recent USING (user_id) LEFT JOIN active a USING (user_id)
)
SELECT {snap} AS snapshot_date, user_id, first_order_date, last_order_date, {snap} - last_order_date AS recency_days,
       frequency, monetary, web_orders, mobile_orders, web_orders / frequency AS web_share, sessions_30d,
       engaged_sessions_30d, web_sessions_30d, mobile_sessions_30d, monetary / frequency AS avg_order_value,
       (frequency - 1) / greatest(frequency, 1) AS repeat_purchase_rate, last_activity_date,
       {snap} - last_activity_date AS days_since_last_activity, {snap} - first_order_date AS customer_age_days,
       {snap} - last_activity_date <= {int(active_days)} AS is_active, avg_session_time_s
FROM joined
"""


_ORDERS = """
SELECT order_id, first.user_id, first.event_ts AS order_ts, CAST(first.event_ts AS DATE) AS order_date,
       first.source, first.revenue
FROM (SELECT order_id, arg_min({'user_id': user_id, 'event_ts': event_ts, 'source': source, 'revenue': revenue},
                               (event_ts, source, event_id)) AS first
      FROM (SELECT event_id, event_ts, user_id, order_id, coalesce(revenue, 0.0) AS revenue, 'web' AS source FROM web_events
            WHERE event_type = 'purchase' AND NOT is_bot AND order_id IS NOT NULL AND user_id IS NOT NULL
            UNION ALL
            SELECT event_id, event_ts, user_id, order_id, coalesce(revenue, 0.0), 'mobile' FROM mobile_events
            WHERE event_type = 'purchase' AND NOT is_bot AND order_id IS NOT NULL AND user_id IS NOT NULL)
      GROUP BY order_id)
"""


def _segment_case() -> str:
    cases = " ".join(f"WHEN r IN ({', '.join(map(str, rs))}) AND f IN ({', '.join(map(str, fs))}) THEN {lit(name)}"
                     for name, rs, fs in SEGMENTS)
    return f"CASE {cases} END"


_SCORES = """
SELECT snapshot_date, user_id, recency_days, frequency, monetary,
       6 - ntile(5) OVER (ORDER BY recency_days, user_id) AS r, ntile(5) OVER (ORDER BY frequency, user_id) AS f,
       ntile(5) OVER (ORDER BY monetary, user_id) AS m
FROM customer_features
"""


def _profiles_sql(actions: dict[str, str]) -> str:
    grid = " UNION ALL ".join(f"SELECT {lit(name)} AS segment, {i} AS segment_order, {lit(actions[name])} AS recommended_action"
                              for i, (name, _, _) in enumerate(SEGMENTS, 1))
    return f"""
WITH segs AS ({grid}),
per AS (SELECT segment, count(*) AS customers, avg(recency_days) AS avg_recency_days, avg(frequency) AS avg_frequency,
               avg(monetary) AS avg_monetary, avg(r) AS avg_r, avg(f) AS avg_f, avg(m) AS avg_m,
               exact_sum(monetary) AS revenue FROM customer_segments GROUP BY segment),
tot AS (SELECT count(*) AS _customers, exact_sum(monetary) AS _revenue FROM customer_segments)
SELECT (SELECT max(snapshot_date) FROM customer_segments) AS snapshot_date, segment, segment_order,
       coalesce(customers, 0) AS customers,
       CASE WHEN _customers > 0 THEN coalesce(customers, 0) / _customers ELSE 0.0 END AS customer_share,
       avg_recency_days, avg_frequency, avg_monetary, avg_r, avg_f, avg_m, coalesce(revenue, 0.0) AS revenue,
       CASE WHEN _revenue > 0 THEN coalesce(revenue, 0.0) / _revenue ELSE 0.0 END AS revenue_share, recommended_action
FROM segs LEFT JOIN per USING (segment) CROSS JOIN tot
"""


def _grid_sql() -> str:
    cells = " UNION ALL ".join(f"SELECT {r} AS r, {f} AS f, {lit(segment_of(r, f))} AS segment"
                               for r in range(1, 6) for f in range(1, 6))
    return f"""
SELECT (SELECT max(snapshot_date) FROM customer_segments) AS snapshot_date, r, f, segment,
       coalesce(customers, 0) AS customers, coalesce(revenue, 0.0) AS revenue
FROM ({cells}) LEFT JOIN (SELECT r, f, count(*) AS customers, exact_sum(monetary) AS revenue
                          FROM customer_segments GROUP BY r, f) USING (r, f)
"""


def _kmeans(con, k: int, seed: int, max_iter: int) -> None:
    """``customer_clusters``: scikit-learn's k-means on the pipeline's standardized features."""
    import numpy as np
    from sklearn.cluster import KMeans

    columns = [f"ln(1 + {c})" if c in clusters.LOG1P else c for c in clusters.FEATURES]
    table = con.execute(f"SELECT user_id, {', '.join(f'CAST({c} AS DOUBLE)' for c in columns)} "
                        f"FROM customer_features ORDER BY user_id").fetchnumpy()
    ids = table.pop("user_id")
    x = np.column_stack(list(table.values()))
    std = x.std(axis=0, ddof=1)  # Spark's StandardScaler: the sample standard deviation
    scaled = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    k = min(k, len(np.unique(scaled, axis=0)))
    model = KMeans(n_clusters=k, random_state=seed, max_iter=max_iter, n_init=1).fit(scaled)
    numbers = clusters.cluster_numbers(model.cluster_centers_.tolist())
    con.execute("CREATE TABLE customer_clusters (snapshot_date DATE, user_id VARCHAR, cluster INTEGER)")
    snapshot = con.execute("SELECT max(snapshot_date) FROM customer_features").fetchone()[0]
    con.executemany("INSERT INTO customer_clusters VALUES (?, ?, ?)",
                    [(snapshot, u, numbers[int(i)]) for u, i in zip(ids, model.labels_)])


def run(out: Path, params: dict, snapshot: dt.date) -> dict[str, list[dict]]:
    """The floor at ``snapshot`` over web and mobile silver as they are: tables written under
    ``out``; returns the cross-checked tables' rows."""
    own = params[PRODUCT]
    actions = rfm.check_actions(own["segments"]["actions"])
    con = common.connect()
    try:
        for source, product in features.SOURCES.items():
            _source(con, f"{source}_events", product, "events", features.EVENT_COLUMNS)
            _source(con, f"{source}_sessions", product, "sessions", features.SESSION_COLUMNS)
        con.execute(f"CREATE TABLE orders AS {_ORDERS}")
        con.execute(f"CREATE TABLE customer_features AS {_features_sql(snapshot, features.active_days(own))}")
        settings = own["clusters"]
        _kmeans(con, settings["k"], settings["seed"], settings["max_iter"])  # reads customer_features only
        gold = {"customer_segments": f"SELECT *, concat(r, f, m) AS rfm, {_segment_case()} AS segment FROM ({_SCORES})",
                "segment_profiles": _profiles_sql(actions), "rfm_grid": _grid_sql()}
        return common.finish(con, out, gold, ["orders", "customer_features", "customer_clusters"], checked=GOLD_KEYS)
    finally:
        con.close()

