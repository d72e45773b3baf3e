"""The operational-metrics dashboard's numbers: metric formatting, the board's order, the
service summary over the last hours (rates from summed counts)."""
import pandas as pd

from products.operational_metrics import dashboard as ops
from shared_lib import dashboard as ui

T = pd.Timestamp("2024-05-02 12:00", tz="UTC")


def test_each_sla_metric_reads_in_the_unit_of_its_thresholds():
    values = (("data_freshness_minutes", 12.34), ("api_p99_latency_ms", 1234.5), ("pipeline_success_rate", 0.9991),
              ("data_quality_score", 1.0), ("kafka_consumer_lag_seconds", 61.6), ("api_p99_latency_ms", None))
    assert [ui.format_value(v, ops.METRIC_KINDS[m]) for m, v in values] == [
        "12.3 min", "1,234 ms", "99.91%", "100.00%", "62 s", "–"]


def test_board_puts_the_worst_first_and_orders_metrics():
    status = pd.DataFrame({"product": ["b", "a", "c"], "state": ["WARNING", "CRITICAL", "WARNING"],
                           "worst_metric": ["x", "y", "z"]})
    evals = pd.DataFrame({"product": ["a", "a"], "metric": ["data_quality_score", "data_freshness_minutes"],
                          "value": [0.5, 3.0], "state": ["CRITICAL", "HEALTHY"]})
    got = ops.board(status, evals)
    assert [(e["product"], e["state"]) for e in got] == [("a", "CRITICAL"), ("b", "WARNING"), ("c", "WARNING")]
    assert got[0]["metrics"] == [("data_freshness_minutes", 3.0, "HEALTHY"), ("data_quality_score", 0.5, "CRITICAL")]


def test_service_summary_sums_counts_over_the_last_hours():
    hourly = pd.DataFrame({"hour": [T - pd.Timedelta(hours=h) for h in (30, 2, 0, 0)],
                           "service": ["s", "s", "s", "t"], "requests": [1000, 100, 300, 10],
                           "errors": [1000, 10, 0, 1], "latency_p99_ms": [9999.0, 500.0, 200.0, 50.0]})
    got = ops.service_summary(hourly, hours=24)  # the hour 30 h before the last is left out
    assert got.values.tolist() == [["s", 400, 10 / 400, 500.0], ["t", 10, 0.1, 50.0]]


def _runs(*rows):
    """(run_id, notebook, status, started second, duration_s, rows) of product p."""
    return pd.DataFrame([{"run_id": r, "product": "p", "notebook": nb, "status": st,
                          "started_at": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(seconds=t),
                          "duration_s": d, "rows_written": n, "error": None if st != "up_to_date" else "up to date: as run r1"}
                         for r, nb, st, t, d, n in rows])


RUNS = _runs(("r1", "bronze", "succeeded", 0, 4.0, 100), ("r1", "silver", "succeeded", 5, 6.5, 90),
             ("r2", "bronze", "succeeded", 60, 3.0, 10), ("r2", "silver", "up_to_date", 64, 0.0, 0),
             ("r3", "bronze", "failed", 120, 1.25, None))


def test_the_duration_trend_has_one_row_per_run_and_a_column_per_notebook():
    trend = ops.duration_trend(RUNS)
    assert list(trend.columns) == ["run_started", "p:bronze", "p:silver"]
    assert trend["p:bronze"].tolist() == [4.0, 3.0, 1.25]
    # silver was up to date in r2 and not selected in r3: no time, no point
    assert trend["p:silver"].tolist()[0] == 6.5 and trend["p:silver"].isna().tolist() == [False, True, True]
    # each run at its first notebook's start
    assert trend["run_started"].dt.second.tolist() == [0, 0, 0] and trend["run_started"].dt.minute.tolist() == [0, 1, 2]


def test_the_timeline_hover_says_duration_and_rows_of_executed_runs_only():
    details = ops.run_timeline(RUNS)["detail"].tolist()
    assert details == ["succeeded · 4.0 s · 100 rows", "succeeded · 6.5 s · 90 rows", "succeeded · 3.0 s · 10 rows",
                       "up_to_date · up to date: as run r1", "failed · 1.2 s"]


def test_the_durations_section_waits_for_a_first_run():
    assert ops.duration_trend(RUNS.iloc[0:0]).columns.tolist() == ["run_started"]
