"""The operational-metrics API on small hand-written Delta tables: SLA now and over time, runs,
freshness, consumer lag, alerts and hourly request metrics."""
from __future__ import annotations

import datetime as dt

import pytest

from products.operational_metrics import api as ops_api
from tests import api_client
from tests.api_client import write_table

P = "operational-metrics"
UTC = dt.timezone.utc
T1, T2 = dt.datetime(2024, 3, 1, 10, tzinfo=UTC), dt.datetime(2024, 3, 1, 11, tzinfo=UTC)
D = dt.date(2024, 3, 1)


def _status(at, product, state, previous):
    return {"evaluated_at": at, "date": at.date(), "product": product, "state": state, "previous_state": previous,
            "worst_metric": "data_freshness_minutes", "metrics_evaluated": 3}


@pytest.fixture
def ops(tmp_path, monkeypatch):
    client = api_client.api(ops_api.create_app, tmp_path, monkeypatch)
    write_table(P, "sla_status", [_status(T1, "web", "HEALTHY", None), _status(T2, "web", "WARNING", "HEALTHY"),
                                  _status(T1, "mobile", "CRITICAL", None)])
    write_table(P, "table_freshness", [
        {"evaluated_at": T1, "date": D, "table_name": "a.gold.t", "product": "a", "layer": "gold", "freshness_s": 9.0},
        {"evaluated_at": T2, "date": D, "table_name": "b.gold.t", "product": "b", "layer": "gold", "freshness_s": 5.0},
        {"evaluated_at": T2, "date": D, "table_name": "a.gold.t", "product": "a", "layer": "gold", "freshness_s": 1.0}])
    write_table(P, "consumer_lag", [
        {"evaluated_at": T2, "date": D, "topic": "web.events", "product": "web", "end_offset": 10,
         "ingested_offset": 7, "lag_messages": 3, "lag_seconds": 4.5}])
    write_table(P, "alerts", [
        {"at": T1, "date": D, "alert_id": "a1", "event": "fired", "rule": "r", "product": "web", "metric": "m",
         "severity": "warning", "comparison": ">", "threshold": 1.0, "value": 2.0, "message": "high",
         "notified": "log"},
        {"at": T2, "date": D, "alert_id": "a1", "event": "resolved", "rule": "r", "product": "web", "metric": "m",
         "severity": "warning", "comparison": ">", "threshold": 1.0, "value": 0.5, "message": "ok",
         "notified": "log"}])
    write_table(P, "service_hourly", [
        {"date": D, "hour": T1, "service": "web-user-analytics-api", "requests": 4, "errors": 1, "error_rate": 0.25,
         "latency_p50_ms": 3.0, "latency_p95_ms": 9.0, "latency_p99_ms": 11.0}])
    write_table("platform", "pipeline_runs", [
        {"run_id": "r1", "env": "dev", "product": "web", "notebook": "bronze", "status": "succeeded",
         "started_at": T1, "duration_s": 3.0},
        {"run_id": "r2", "env": "dev", "product": "web", "notebook": "silver", "status": "failed",
         "started_at": T2, "error": "boom"}])
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
