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
