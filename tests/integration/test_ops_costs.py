"""operational-metrics' cost analysis and infrastructure metrics through the real path: a `dp run`
of the product records the Spark server's CPU seconds per notebook run; its health check samples
the workspace's Kafka and Spark processes and measures the disk; the day's cost follows from
those records and the rates exactly; the SLA evaluates the disk's free space."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from products.operational_metrics import infrastructure
from runners import run as run_lib
from runners import services
from shared_lib import lake, products

pytestmark = pytest.mark.integration

PRODUCT = "operational-metrics"
RUN_ID = "test-ops-cost"
EXECUTOR_HOUR_USD = 5.0  # parameters/base: cost.executor_hour_usd


@pytest.fixture(scope="module")
def health_checked():
    summary = run_lib.run(products=[PRODUCT], run_id=RUN_ID)
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]
    return summary


def today_runs() -> pd.DataFrame:
    runs = lake.read_table("platform", "pipeline_runs")
    today = dt.datetime.now(dt.timezone.utc).date()
    return runs[(runs["started_at"].dt.date == today) & (runs["status"] != "skipped")]


def test_each_notebook_run_records_the_spark_servers_cpu_seconds(health_checked):
    runs = lake.read_table("platform", "pipeline_runs")
    mine = runs[runs["run_id"] == RUN_ID]
    assert len(mine) == 5 and mine["spark_cpu_s"].notna().all() and (mine["spark_cpu_s"] >= 0).all()
    assert mine["spark_cpu_s"].sum() > 0  # the server worked for the run


def test_the_services_are_sampled_and_the_disk_measured(health_checked):
    processes = lake.read_latest(PRODUCT, "process_samples", "sampled_at")
    by_service = {r["service"]: r for r in processes.to_dict("records")}
    assert {"kafka", "spark"} <= set(by_service)
    for name in ("kafka", "spark"):
        row = by_service[name]
        assert row["pid"] == services.our_process(name).pid
        assert row["rss_bytes"] > 0 and row["threads"] > 1 and row["cpu_seconds"] > 0 and row["connections"] >= 1
    disk = lake.read_latest(PRODUCT, "disk_usage", "sampled_at")
    got = {(r["kind"], r["name"]): r["bytes"] for r in disk.to_dict("records")}
    # The silver events table is not written after the health check: its size is the same now.
    events = products.get(PRODUCT).table("events")
    assert got[("table", events.qualified_name)] == infrastructure.folder_bytes(events.path)
    assert got[("topic", "ops.requests")] > 0
    tables = sum(v for (kind, _), v in got.items() if kind == "table")
    [workspace] = [v for (kind, _), v in got.items() if kind == "workspace"]
    [free] = [v for (kind, _), v in got.items() if kind == "disk_free"]
    assert workspace >= tables and free > 0


def test_the_days_compute_cost_follows_from_the_run_records_at_the_core_hour_rate(health_checked):
    runs = today_runs()
    by_notebook = lake.read_table(PRODUCT, "cost_by_notebook")
    today = by_notebook[by_notebook["date"] == dt.datetime.now(dt.timezone.utc).date()]
    # Health costs the runs recorded before it: every bronze, silver and gold run of the day.
    for notebook in ("bronze", "silver", "gold"):
        recorded = runs[(runs["product"] == PRODUCT) & (runs["notebook"] == notebook)]
        cpu = recorded["spark_cpu_s"].fillna(recorded["duration_s"]).sum()
        [row] = today[(today["product"] == PRODUCT) & (today["notebook"] == notebook)].to_dict("records")
        assert (row["runs"], row["cpu_seconds"]) == (len(recorded), pytest.approx(cpu))
        assert row["compute_usd"] == pytest.approx(cpu / 3600 * EXECUTOR_HOUR_USD)


def test_the_days_storage_and_records_follow_from_the_disk_and_the_bronze_runs(health_checked):
    daily = lake.read_table(PRODUCT, "cost_daily")
    [row] = daily[(daily["date"] == dt.datetime.now(dt.timezone.utc).date())
                  & (daily["product"] == PRODUCT)].to_dict("records")
    disk = lake.read_latest(PRODUCT, "disk_usage", "sampled_at")
    mine = disk[(disk["kind"] == "table") & (disk["product"] == PRODUCT)]
    assert row["storage_bytes"] == mine["bytes"].sum()
    assert row["storage_usd"] == pytest.approx(mine["bytes"].sum() / 1e9 * 0.023 / 30)
    runs = today_runs()
    bronze = runs[(runs["product"] == PRODUCT) & (runs["layer"] == "bronze")]
    assert row["records_processed"] == bronze["rows_written"].fillna(0).sum()
    assert row["total_usd"] == pytest.approx(row["compute_usd"] + row["storage_usd"] + row["broker_usd"])


def test_the_free_disk_is_an_sla_metric_of_the_platform(health_checked):
    evaluations = lake.read_latest(PRODUCT, "sla_evaluations", "evaluated_at")
    [row] = evaluations[evaluations["metric"] == "disk_free_gb"].to_dict("records")
    disk = lake.read_latest(PRODUCT, "disk_usage", "sampled_at")
    [free] = disk[disk["kind"] == "disk_free"]["bytes"].tolist()
    assert (row["product"], row["value"]) == (PRODUCT, pytest.approx(free / 1e9))
