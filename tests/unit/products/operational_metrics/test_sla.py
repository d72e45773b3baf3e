"""SLA states at every threshold boundary, both directions; a product's state is its worst
metric's; transitions; the metric values from small hand-built health frames."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml

from products.operational_metrics import service_levels as sla
from shared_lib import paths

NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.timezone.utc)
LOWER = sla.Threshold(target=5, warning=10, critical=30, better="lower")  # data_freshness_minutes
HIGHER = sla.Threshold(target=0.999, warning=0.99, critical=0.95, better="higher")  # pipeline_success_rate


@pytest.mark.parametrize("value,expected", [
    (0, "HEALTHY"), (5, "HEALTHY"),  # exactly the target meets it
    (5.0001, "WARNING"), (10, "WARNING"),
    (10.0001, "DEGRADED"), (30, "DEGRADED"),
    (30.0001, "CRITICAL"), (1e9, "CRITICAL"),
])
def test_lower_is_better_boundaries(value, expected):
    assert sla.state(value, LOWER) == expected


@pytest.mark.parametrize("value,expected", [
    (1.0, "HEALTHY"), (0.999, "HEALTHY"),
    (0.9989, "WARNING"), (0.99, "WARNING"),
    (0.9899, "DEGRADED"), (0.95, "DEGRADED"),
    (0.9499, "CRITICAL"), (0.0, "CRITICAL"),
])
def test_higher_is_better_boundaries(value, expected):
    assert sla.state(value, HIGHER) == expected


def test_default_thresholds_are_those_of_metrics_md():
    base = yaml.safe_load((paths.PARAMETERS_DIR / "base" / "operational-metrics.yaml").read_text())["sla"]
    got = sla.thresholds(base, "web-user-analytics")
    assert {m: (t.target, t.warning, t.critical, t.better) for m, t in got.items()} == {
        "data_freshness_minutes": (5, 10, 30, "lower"),
        "api_p99_latency_ms": (800, 1500, 3000, "lower"),
        "pipeline_success_rate": (0.999, 0.99, 0.95, "higher"),
        "data_quality_score": (0.995, 0.98, 0.95, "higher"),
        "kafka_consumer_lag_seconds": (60, 300, 900, "lower"),
        "disk_free_gb": (10, 5, 2, "higher"),  # not in metrics.md: the infrastructure metrics of issue 22
    }


def test_disk_free_is_the_latest_measurement_in_gb():
    t0 = pd.Timestamp("2026-11-02 12:00", tz="UTC")
    disk = pd.DataFrame([
        {"sampled_at": t0, "kind": "disk_free", "name": "/ws", "bytes": 9_000_000_000},
        {"sampled_at": t0 + pd.Timedelta(hours=1), "kind": "disk_free", "name": "/ws", "bytes": 4_500_000_000},
        {"sampled_at": t0 + pd.Timedelta(hours=2), "kind": "workspace", "name": "/ws", "bytes": 1}])
    assert sla.disk_free(disk, "operational-metrics") == [
        sla.MetricValue("operational-metrics", "disk_free_gb", 4.5, "free on /ws")]
    assert sla.disk_free(disk.iloc[0:0], "operational-metrics") == []
    # 4.5 GB: below warning (5), above critical (2)
    base = yaml.safe_load((paths.PARAMETERS_DIR / "base" / "operational-metrics.yaml").read_text())["sla"]
    assert sla.state(4.5, sla.thresholds(base, "operational-metrics")["disk_free_gb"]) == "DEGRADED"


def test_product_thresholds_replace_the_defaults_per_metric():
    params = {"defaults": {"data_freshness_minutes": {"target": 5, "warning": 10, "critical": 30, "better": "lower"},
                           "pipeline_success_rate": {"target": 0.999, "warning": 0.99, "critical": 0.95,
                                                     "better": "higher"}},
              "products": {"slow-batch": {"data_freshness_minutes": {"target": 60, "warning": 120, "critical": 240,
                                                                     "better": "lower"}}, "other": None}}
    assert sla.state(100, sla.thresholds(params, "slow-batch")["data_freshness_minutes"]) == "WARNING"
    assert sla.state(100, sla.thresholds(params, "other")["data_freshness_minutes"]) == "CRITICAL"
    with pytest.raises(ValueError, match="out of order"):
        sla.Threshold(target=10, warning=5, critical=30, better="lower")


def test_product_state_is_its_worst_metric_and_remembers_the_previous():
    params = {"defaults": {m: t for m, t in {
        "data_freshness_minutes": {"target": 5, "warning": 10, "critical": 30, "better": "lower"},
        "pipeline_success_rate": {"target": 0.999, "warning": 0.99, "critical": 0.95, "better": "higher"},
        "data_quality_score": {"target": 0.995, "warning": 0.98, "critical": 0.95, "better": "higher"}}.items()}}
    rows = sla.evaluate([sla.MetricValue("a", "data_freshness_minutes", 7.0, "t1"),  # WARNING
                         sla.MetricValue("a", "pipeline_success_rate", 0.96),  # DEGRADED
                         sla.MetricValue("a", "data_quality_score", 0.97),  # DEGRADED
                         sla.MetricValue("b", "pipeline_success_rate", 1.0)], params, NOW)
    assert [(r["product"], r["metric"], r["state"]) for r in rows] == [
        ("a", "data_freshness_minutes", "WARNING"), ("a", "pipeline_success_rate", "DEGRADED"),
        ("a", "data_quality_score", "DEGRADED"), ("b", "pipeline_success_rate", "HEALTHY")]
    status = sla.product_status(rows, {"a": "HEALTHY"}, NOW)
    assert [(s["product"], s["state"], s["previous_state"], s["worst_metric"], s["metrics_evaluated"])
            for s in status] == [("a", "DEGRADED", "HEALTHY", "pipeline_success_rate", 3),
                                 ("b", "HEALTHY", None, "pipeline_success_rate", 1)]


def test_transitions_show_when_a_product_went_critical_and_back():
    t = [NOW + dt.timedelta(hours=h) for h in range(5)]
    status = pd.DataFrame({"evaluated_at": t, "product": ["a"] * 5,
                           "state": ["HEALTHY", "HEALTHY", "CRITICAL", "CRITICAL", "HEALTHY"],
                           "previous_state": [None, "HEALTHY", "HEALTHY", "CRITICAL", "CRITICAL"]})
    got = sla.transitions(status)
    assert list(zip(got["evaluated_at"], got["previous_state"].fillna("-"), got["state"])) == [
        (t[0], "-", "HEALTHY"), (t[2], "HEALTHY", "CRITICAL"), (t[4], "CRITICAL", "HEALTHY")]


def test_metric_values_from_health_frames():
    since = NOW - dt.timedelta(hours=24)
    # b's second notebook was up to date: not run, so not counted (b stays at 1 of 1)
    runs = pd.DataFrame({"product": ["a", "a", "a", "a", "b", "b"],
                         "status": ["succeeded", "failed", "skipped", "succeeded", "succeeded", "up_to_date"],
                         "started_at": [NOW - dt.timedelta(hours=h) for h in (1, 2, 3, 25, 1, 1)]})
    assert [(v.product, v.value) for v in sla.success_rates(runs, since)] == [("a", pytest.approx(1 / 3)), ("b", 1.0)]
    freshness = pd.DataFrame({"product": ["a", "a", "a"], "layer": ["gold", "gold", "silver"],
                              "table_name": ["a.gold.x", "a.gold.y", "a.silver.z"],
                              "freshness_s": [600.0, 120.0, 1.0]})
    [fresh] = sla.freshness_minutes(freshness)
    assert (fresh.value, fresh.detail) == (2.0, "a.gold.y last written")
    quality = pd.DataFrame({"product": ["a", "a", "a"], "rows_checked": [100, 300, 50], "valid_rows": [90, 300, 0],
                            "processed_at": [NOW, NOW, NOW - dt.timedelta(days=2)]})
    assert [(v.product, v.value) for v in sla.quality_scores(quality, since)] == [("a", 390 / 400)]
    lag = pd.DataFrame({"product": ["a", "a"], "topic": ["t1", "t2"], "lag_seconds": [5.0, 70.0],
                        "lag_messages": [1, 9]})
    assert [(v.value, v.detail) for v in sla.lag_seconds(lag)] == [(70.0, "t2: 9 unread")]
    h1, h2 = pd.Timestamp("2024-05-02 10:00", tz="UTC"), pd.Timestamp("2024-05-02 11:00", tz="UTC")
    hourly = pd.DataFrame({"hour": [h1, h2, h2], "service": ["s1", "s1", "s2"],
                           "latency_p99_ms": [9999.0, 400.0, 700.0]})
    [p99] = sla.api_latency(hourly, "ops")
    assert (p99.product, p99.value, p99.detail) == ("ops", 700.0, "s2, hour 2024-05-02 11:00 UTC")
