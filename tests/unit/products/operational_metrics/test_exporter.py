"""The Prometheus exporter: its output parses with prometheus_client's own text parser and holds
exactly the values of the tables; ``dp serve`` runs it and ``dp status`` shows it."""
from __future__ import annotations

import datetime as dt
import urllib.request

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from products.operational_metrics import current, exporter
from runners import serve, services
from shared_lib import params as params_lib
from tests.browser import write_table

T = pd.Timestamp("2024-05-02 12:00", tz="UTC")
PRODUCT = "operational-metrics"


def frames() -> dict:
    return {
        "status": pd.DataFrame({"evaluated_at": [T, T], "product": ["web", "ops"], "state": ["CRITICAL", "HEALTHY"]}),
        "evaluations": pd.DataFrame({"evaluated_at": [T, T], "product": ["web", "ops"],
                                     "metric": ["pipeline_success_rate", "api_p99_latency_ms"],
                                     "value": [0.5, 640.25], "state": ["CRITICAL", "HEALTHY"]}),
        "freshness": pd.DataFrame({"evaluated_at": [T, T], "table_name": ["web.gold.k", "web.silver.events"],
                                   "product": ["web", "web"], "layer": ["gold", "silver"],
                                   "freshness_s": [90.0, 30.0], "event_freshness_s": [None, 4000.5]}),
        "lag": pd.DataFrame({"evaluated_at": [T], "topic": ["web.events"], "product": ["web"],
                             "lag_messages": [12], "lag_seconds": [75.5]}),
        "alert_log": pd.DataFrame([
            {"at": T - pd.Timedelta(hours=2), "alert_id": "a", "event": "fired", "rule": "r1", "product": "web",
             "severity": "warning"},
            {"at": T - pd.Timedelta(hours=1), "alert_id": "a", "event": "resolved", "rule": "r1", "product": "web",
             "severity": "warning"},
            {"at": T, "alert_id": "b", "event": "fired", "rule": "pipeline-failures", "product": "web",
             "severity": "critical"}]),
        "runs": pd.DataFrame({"product": ["web", "web", "web", "ops"],
                              "status": ["succeeded", "failed", "skipped", "succeeded"],
                              "duration_s": [10.0, 2.5, 0.0, 4.0]}),
    }


def parse(text: str) -> dict:
    """{(sample name, sorted labels): value} of every sample."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_exporter_output_parses_with_exact_values():
    got = parse(exporter.render(lambda: current.Current(**frames())))
    assert got == {
        ("dp_sla_state", (("product", "web"),)): 3.0,
        ("dp_sla_state", (("product", "ops"),)): 0.0,
        ("dp_sla_value", (("metric", "pipeline_success_rate"), ("product", "web"))): 0.5,
        ("dp_sla_value", (("metric", "api_p99_latency_ms"), ("product", "ops"))): 640.25,
        ("dp_sla_metric_state", (("metric", "pipeline_success_rate"), ("product", "web"))): 3.0,
        ("dp_sla_metric_state", (("metric", "api_p99_latency_ms"), ("product", "ops"))): 0.0,
        ("dp_sla_evaluated_timestamp_seconds", ()): T.timestamp(),
        ("dp_table_freshness_seconds", (("layer", "gold"), ("product", "web"), ("table", "web.gold.k"))): 90.0,
        ("dp_table_freshness_seconds", (("layer", "silver"), ("product", "web"), ("table", "web.silver.events"))): 30.0,
        ("dp_event_freshness_seconds", (("product", "web"), ("table", "web.silver.events"))): 4000.5,
        ("dp_consumer_lag_messages", (("product", "web"), ("topic", "web.events"))): 12.0,
        ("dp_consumer_lag_seconds", (("product", "web"), ("topic", "web.events"))): 75.5,
        ("dp_pipeline_runs_total", (("product", "ops"), ("status", "succeeded"))): 1.0,
        ("dp_pipeline_runs_total", (("product", "web"), ("status", "failed"))): 1.0,
        ("dp_pipeline_runs_total", (("product", "web"), ("status", "skipped"))): 1.0,
        ("dp_pipeline_runs_total", (("product", "web"), ("status", "succeeded"))): 1.0,
        ("dp_pipeline_run_duration_seconds_count", (("product", "ops"),)): 1.0,
        ("dp_pipeline_run_duration_seconds_sum", (("product", "ops"),)): 4.0,
        ("dp_pipeline_run_duration_seconds_count", (("product", "web"),)): 2.0,  # skipped runs left out
        ("dp_pipeline_run_duration_seconds_sum", (("product", "web"),)): 12.5,
        ("dp_alerts_open", (("product", "web"), ("rule", "pipeline-failures"), ("severity", "critical"))): 1.0,
        # alert a fired and resolved, b fired: one open, one resolved
        ("dp_incidents", (("state", "open"),)): 1.0, ("dp_incidents", (("state", "acknowledged"),)): 0.0,
        ("dp_incidents", (("state", "resolved"),)): 1.0,
    }


def test_infrastructure_cost_and_incident_series_hold_the_latest_values():
    latest, before = pd.Timestamp("2024-05-02").date(), pd.Timestamp("2024-05-01").date()
    extra = {
        "processes": pd.DataFrame([{"service": "kafka", "cpu_percent": 12.5, "rss_bytes": 2048, "threads": 40,
                                    "open_files": 7, "connections": 3},
                                   {"service": "spark", "cpu_percent": None, "rss_bytes": 4096, "threads": 90,
                                    "open_files": 20, "connections": 5}]),
        "disk": pd.DataFrame([{"kind": "table", "name": "web.silver.events", "product": "web", "bytes": 1500},
                              {"kind": "topic", "name": "web.events", "product": "web", "bytes": 700},
                              {"kind": "workspace", "name": "/ws", "product": None, "bytes": 9000},
                              {"kind": "disk_free", "name": "/ws", "product": None, "bytes": 10 ** 9}]),
        "costs": pd.DataFrame([{"date": before, "product": "web", "compute_usd": 9.0, "storage_usd": 9.0,
                                "broker_usd": 9.0, "total_usd": 27.0, "usd_per_1k_records": 9.0},
                               {"date": latest, "product": "web", "compute_usd": 0.5, "storage_usd": 0.25,
                                "broker_usd": 1.0, "total_usd": 1.75, "usd_per_1k_records": 0.0875}]),
        "acks": pd.DataFrame([{"alert_id": "b", "acknowledged_at": T + pd.Timedelta(minutes=5),
                               "acknowledged_by": "ann"}]),
    }
    got = parse(exporter.render(lambda: current.Current(**frames(), **extra)))
    mine = {k: v for k, v in got.items() if k[0].startswith(("dp_process", "dp_disk", "dp_cost", "dp_incidents"))}
    assert mine == {
        ("dp_process_cpu_percent", (("service", "kafka"),)): 12.5,  # spark's CPU % unknown: left out
        ("dp_process_resident_memory_bytes", (("service", "kafka"),)): 2048.0,
        ("dp_process_resident_memory_bytes", (("service", "spark"),)): 4096.0,
        ("dp_process_threads", (("service", "kafka"),)): 40.0, ("dp_process_threads", (("service", "spark"),)): 90.0,
        ("dp_process_open_files", (("service", "kafka"),)): 7.0,
        ("dp_process_open_files", (("service", "spark"),)): 20.0,
        ("dp_process_connections", (("service", "kafka"),)): 3.0,
        ("dp_process_connections", (("service", "spark"),)): 5.0,
        ("dp_disk_used_bytes", (("kind", "table"), ("name", "web.silver.events"), ("product", "web"))): 1500.0,
        ("dp_disk_used_bytes", (("kind", "topic"), ("name", "web.events"), ("product", "web"))): 700.0,
        ("dp_disk_used_bytes", (("kind", "workspace"), ("name", "/ws"), ("product", ""))): 9000.0,
        ("dp_disk_free_bytes", (("path", "/ws"),)): 1e9,
        # the latest day only
        ("dp_cost_usd", (("part", "compute"), ("product", "web"))): 0.5,
        ("dp_cost_usd", (("part", "storage"), ("product", "web"))): 0.25,
        ("dp_cost_usd", (("part", "broker"), ("product", "web"))): 1.0,
        ("dp_cost_usd", (("part", "total"), ("product", "web"))): 1.75,
        ("dp_cost_per_1k_records_usd", (("product", "web"),)): 0.0875,
        # b is acknowledged now
        ("dp_incidents", (("state", "open"),)): 0.0, ("dp_incidents", (("state", "acknowledged"),)): 1.0,
        ("dp_incidents", (("state", "resolved"),)): 1.0,
    }


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path / "workspace"))
    monkeypatch.setenv("DP_SERVE_PORT", str(services.free_ports(1)[0]))
    monkeypatch.setenv("DP_METRICS_PORT", str(services.free_ports(1)[0]))
    return tmp_path / "workspace"


def test_dp_serve_runs_the_exporter_on_the_tables(workspace):
    params = params_lib.load("dev")
    assert {r.name: r.state for r in serve.status(params)} == {
        "dashboards": "stopped", "metrics": "stopped", "apis": "stopped", "gateway": "stopped"}
    # an empty workspace: nothing to report yet, but a valid page
    empty = exporter.render()
    assert {f.name for f in text_string_to_metric_families(empty)} >= {"dp_sla_state", "dp_pipeline_runs"}
    old, new = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc), dt.datetime(2024, 5, 2, 12, tzinfo=dt.timezone.utc)
    write_table(PRODUCT, "sla_status", [
        {"evaluated_at": at, "date": at.date(), "product": "web", "state": state, "worst_metric": "x",
         "metrics_evaluated": 1} for at, state in ((old, "HEALTHY"), (new, "DEGRADED"))])
    write_table(PRODUCT, "consumer_lag", [
        {"evaluated_at": new, "date": new.date(), "topic": "web.events", "product": "web", "end_offset": 10,
         "ingested_offset": 7, "lag_messages": 3, "lag_seconds": 42.0}])
    serve.start(params, serve.METRICS, progress=lambda _: None)
    try:
        assert {r.name: r.state for r in serve.status(params)} == {
            "dashboards": "stopped", "metrics": "running", "apis": "stopped", "gateway": "stopped"}
        with urllib.request.urlopen(f"{serve.base_url(params, serve.METRICS)}/metrics", timeout=10) as response:
            got = parse(response.read().decode())
    finally:
        serve.stop()
    assert got[("dp_sla_state", (("product", "web"),))] == 2.0  # the latest evaluation's state
    assert got[("dp_consumer_lag_messages", (("product", "web"), ("topic", "web.events")))] == 3.0
    assert got[("dp_sla_evaluated_timestamp_seconds", ())] == new.timestamp()
