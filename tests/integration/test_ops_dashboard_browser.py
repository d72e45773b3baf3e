"""The operational-metrics dashboard in headless Chromium: small tables written with delta-rs in
a workspace of its own, Voila started by ``runners.serve``; the SLA board, open alerts, charts
and the service filter, and the empty state."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser import open_page as _open
from tests.browser import write_table

pytestmark = pytest.mark.integration

PRODUCT = "operational-metrics"
T1 = dt.datetime(2024, 5, 2, 11, 0, tzinfo=dt.timezone.utc)
T2 = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.timezone.utc)


def evaluation(at, product, metric, value, state):
    return {"evaluated_at": at, "date": at.date(), "product": product, "metric": metric, "value": value,
            "target": 1.0, "warning": 1.0, "critical": 1.0, "better": "lower", "state": state}


def write_tables() -> None:
    write_table(PRODUCT, "sla_status", [
        {"evaluated_at": T1, "date": T1.date(), "product": "web", "state": "HEALTHY", "previous_state": None,
         "worst_metric": "pipeline_success_rate", "metrics_evaluated": 2},
        {"evaluated_at": T1, "date": T1.date(), "product": "ops", "state": "HEALTHY", "previous_state": None,
         "worst_metric": "api_p99_latency_ms", "metrics_evaluated": 1},
        {"evaluated_at": T2, "date": T2.date(), "product": "web", "state": "CRITICAL", "previous_state": "HEALTHY",
         "worst_metric": "pipeline_success_rate", "metrics_evaluated": 2},
        {"evaluated_at": T2, "date": T2.date(), "product": "ops", "state": "WARNING", "previous_state": "HEALTHY",
         "worst_metric": "api_p99_latency_ms", "metrics_evaluated": 1}])
    write_table(PRODUCT, "sla_evaluations", [
        evaluation(T2, "web", "pipeline_success_rate", 0.5, "CRITICAL"),
        evaluation(T2, "web", "data_freshness_minutes", 2.25, "HEALTHY"),
        evaluation(T2, "ops", "api_p99_latency_ms", 1234.4, "WARNING")])
    write_table(PRODUCT, "service_hourly", [
        {"date": T1.date(), "hour": T1 + dt.timedelta(hours=h), "service": svc, "requests": 100, "errors": err,
         "error_rate": err / 100, "latency_p50_ms": 50.0, "latency_p95_ms": 90.0, "latency_p99_ms": 99.0}
        for h in range(3) for svc, err in (("checkout", 2), ("search", 0))])
    write_table("platform", "pipeline_runs", [
        {"run_id": "r1", "env": "dev", "product": "web", "notebook": nb, "status": status,
         "started_at": T1 + dt.timedelta(minutes=i), "duration_s": 3.0, "error": error}
        for i, (nb, status, error) in enumerate((("bronze", "succeeded", None), ("silver", "failed", "RuntimeError: x"),
                                                 ("gold", "skipped", "skipped: upstream")))])
    write_table(PRODUCT, "alerts", [
        {"at": T1, "date": T1.date(), "alert_id": "r1:web:1", "event": "fired", "rule": "stale-data", "product": "web",
         "metric": "data_freshness_minutes", "severity": "warning", "comparison": ">", "threshold": 30.0,
         "value": 45.0, "message": "stale", "notified": "log"},
        {"at": T2, "date": T2.date(), "alert_id": "r1:web:1", "event": "resolved", "rule": "stale-data",
         "product": "web", "metric": "data_freshness_minutes", "severity": "warning", "comparison": ">",
         "threshold": 30.0, "value": 2.25, "message": "fresh again", "notified": "log"},
        {"at": T2, "date": T2.date(), "alert_id": "pf:web:2", "event": "fired", "rule": "pipeline-failures",
         "product": "web", "metric": "pipeline_success_rate", "severity": "critical", "comparison": "<",
         "threshold": 0.99, "value": 0.5, "message": "[critical] web: pipeline_success_rate = 0.5 < 0.99",
         "notified": "log"}])
    write_table(PRODUCT, "table_freshness", [
        {"evaluated_at": T2, "date": T2.date(), "table_name": "web.gold.k", "product": "web", "layer": "gold",
         "freshness_s": 135.0}])
    write_table(PRODUCT, "consumer_lag", [
        {"evaluated_at": T2, "date": T2.date(), "topic": "web.events", "product": "web", "end_offset": 10,
         "ingested_offset": 4, "lag_messages": 6, "lag_seconds": 75.0}])


@pytest.fixture
def dashboard_url(dashboard_urls):
    return dashboard_urls[PRODUCT]


def _assert_no_error(page) -> None:
    # Voila hides tracebacks; a failing cell says "There was an error when executing cell ...".
    text = page.inner_text("body")
    assert not re.search("traceback|error when executing", text, re.IGNORECASE), text[:2000]


def test_sla_board_alerts_charts_and_service_filter(dashboard_url, browser):  # noqa: F811
    write_tables()
    page, seconds = _open(browser, dashboard_url, ".ops-sla")
    print(f"\noperational-metrics dashboard: first render in {seconds:.2f} s")
    cards = page.locator(".ops-sla")
    expect(cards).to_have_count(2)
    # worst first, each with its state and formatted metric values
    assert cards.nth(0).get_attribute("data-product") == "web"
    assert cards.nth(0).get_attribute("data-state") == "CRITICAL"
    assert cards.nth(1).get_attribute("data-state") == "WARNING"
    web_card = cards.nth(0).inner_text()
    assert "50.00%" in web_card and "2.2 min" in web_card
    assert "1,234 ms" in cards.nth(1).inner_text()
    body = page.inner_text("body")
    assert "HEALTHY → CRITICAL" in body  # the state change
    open_alerts = body.split("Open alerts", 1)[1].split("Incidents", 1)[0]
    assert "pipeline-failures" in open_alerts and "stale-data" not in open_alerts  # open alerts only
    assert "stale-data" in body.split("Incidents", 1)[1]  # every incident, the resolved one too
    # state history, latency, error rate, run timeline and the duration of each notebook's runs
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 5", timeout=60_000)
    _assert_no_error(page)
    page.locator(".widget-dropdown select").select_option("checkout")
    expect(page.locator(".gtitle", has_text="Latency of checkout (ms)")).to_have_count(1, timeout=30_000)
    _assert_no_error(page)


def test_without_tables_the_empty_state(dashboard_url, browser):  # noqa: F811
    page, _ = _open(browser, dashboard_url, ".dp-empty")
    assert "No operational metrics yet" in page.inner_text(".dp-empty")
    _assert_no_error(page)


D1, D2 = dt.date(2024, 5, 1), dt.date(2024, 5, 2)


def cost(day, product, compute, storage, broker, records):
    total = compute + storage + broker
    return {"date": day, "product": product, "runs": 3, "notebook_seconds": 10.0, "cpu_seconds": 12.0,
            "compute_usd": compute, "storage_bytes": 2_000_000_000, "storage_usd": storage, "broker_usd": broker,
            "total_usd": total, "records_processed": records,
            "usd_per_1k_records": total / records * 1000 if records else None}


def write_resource_tables() -> None:
    write_tables()
    write_table(PRODUCT, "alert_acks", [{"alert_id": "pf:web:2", "acknowledged_at": T2 + dt.timedelta(minutes=12),
                                         "acknowledged_by": "ann"}])
    write_table(PRODUCT, "cost_daily", [cost(D1, "web", 1.0, 0.5, 0.5, 1000), cost(D2, "web", 0.75, 0.25, 1.0, 2000),
                                        cost(D2, "platform", 0.0, 0.0, 3.0, 0)])
    write_table(PRODUCT, "cost_by_notebook", [
        {"date": D2, "product": "web", "notebook": "silver", "runs": 2, "notebook_seconds": 40.0,
         "cpu_seconds": 54.0, "compute_usd": 0.075}])
    write_table(PRODUCT, "process_samples", [
        {"sampled_at": T2, "date": T2.date(), "service": "kafka", "pid": 4242, "up_since": T1, "cpu_percent": 3.5,
         "cpu_seconds": 120.0, "rss_bytes": 1_500_000_000, "threads": 80, "open_files": 12, "connections": 4}])
    write_table(PRODUCT, "disk_usage", [
        {"sampled_at": T2, "date": T2.date(), "kind": kind, "name": name, "product": product, "bytes": size}
        for kind, name, product, size in (("table", "web.silver.events", "web", 750_000_000),
                                          ("topic", "web.events", "web", 20_000_000),
                                          ("workspace", "/ws", None, 2_500_000_000),
                                          ("disk_free", "/ws", None, 40_000_000_000))])


def test_incidents_cost_and_infrastructure_sections(dashboard_url, browser):  # noqa: F811
    write_resource_tables()
    page, _ = _open(browser, dashboard_url, ".ops-incident")
    # r1:web:1 fired and resolved; pf:web:2 fired and acknowledged by ann 12 minutes later
    counts = {c.get_attribute("data-state"): c.locator("b").inner_text() for c in page.locator(".ops-incident").all()}
    assert counts == {"open": "0", "acknowledged": "1", "resolved": "1"}
    body = page.inner_text("body")
    assert "ann" in body and "12.00" in body and "60.00" in body  # minutes to acknowledge, to resolve
    # cost of 2 May against 1 May: $2.00 + $3.00 of broker time = $5.00, up 150 %; per 1,000: 5 / 2000 records
    total = page.locator(".dp-kpi[data-kpi='total_usd']")
    expect(total.locator(".dp-kpi-value")).to_have_text("$5.0000")
    assert "150.0%" in total.inner_text()
    expect(page.locator(".dp-kpi[data-kpi='usd_per_1k_records'] .dp-kpi-value")).to_have_text("$2.5000")
    assert "$0.0750" in body  # the silver notebook's compute
    # infrastructure: the kafka process and the disk
    disk = page.locator(".ops-disk")
    assert disk.get_attribute("data-workspace-bytes") == "2500000000"
    assert "2.5 GB on disk, 40.0 GB free" in disk.inner_text()
    assert "1.5 GB" in body and "4242" in body and "750.0 MB" in body and "20.0 MB" in body
    # the five charts of the first test and the cost chart
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 6", timeout=60_000)
    _assert_no_error(page)
