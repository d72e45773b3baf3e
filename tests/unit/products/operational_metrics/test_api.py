"""The operational-metrics API on small hand-written Delta tables: SLA now and over time, runs,
freshness, consumer lag, alerts and hourly request metrics."""
from __future__ import annotations

import pytest

from products.operational_metrics import api as ops_api
from tests import api_client, api_data

P = "operational-metrics"


@pytest.fixture
def ops(tmp_path, monkeypatch):
    client = api_client.api(ops_api.create_app, tmp_path, monkeypatch)
    api_data.write_ops()
    return client


def test_sla_answers_each_products_latest_state(ops):
    rows = ops.get("/sla", "viewer").json()["data"]
    assert [(r["product"], r["state"], r["previous_state"]) for r in rows] == [
        ("mobile", "CRITICAL", None), ("web", "WARNING", "HEALTHY")]


def test_sla_history_newest_first_filtered_by_product(ops):
    rows = ops.get("/sla/history?product=web&start=2024-03-01", "viewer").json()["data"]
    assert [r["state"] for r in rows] == ["WARNING", "HEALTHY"]


def test_runs_newest_first_for_operators_only(ops):
    rows = ops.get("/runs", "operator").json()["data"]
    assert [(r["run_id"], r["status"], r["error"]) for r in rows] == [("r2", "failed", "boom"), ("r1", "succeeded", None)]
    assert ops.get("/runs?status=failed", "admin").json()["meta"]["page"]["total"] == 1
    assert ops.get("/runs", "analyst").status_code == 403


def test_freshness_and_lag_of_the_latest_health_check(ops):
    fresh = ops.get("/freshness", "viewer").json()["data"]
    assert [(r["table_name"], r["freshness_s"]) for r in fresh] == [("a.gold.t", 1.0), ("b.gold.t", 5.0)]
    lag = ops.get("/consumer-lag", "viewer").json()["data"]
    assert [(r["topic"], r["lag_messages"], r["lag_seconds"]) for r in lag] == [("web.events", 3, 4.5)]


def test_alerts_newest_first_and_by_event(ops):
    assert [r["event"] for r in ops.get("/alerts?start=2024-03-01", "operator").json()["data"]] == ["resolved", "fired"]
    assert [r["message"] for r in ops.get("/alerts?start=2024-03-01&event=fired", "admin").json()["data"]] == ["high"]


def test_hourly_request_metrics_of_one_service(ops):
    rows = ops.get("/requests/hourly?start=2024-03-01&service=web-user-analytics-api", "viewer").json()["data"]
    assert [(r["hour"], r["requests"], r["latency_p99_ms"]) for r in rows] == [("2024-03-01T10:00:00Z", 4, 11.0)]
