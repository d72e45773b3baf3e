"""Cost analysis from a fixed day of run records, fixed table sizes and broker samples, every
figure computed by hand (rates of the original platform: $5 per core-hour, $2 per broker-hour,
$0.023 per GB-month, a day being 1/30 of a month)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from products.operational_metrics import costs

D = dt.date(2026, 11, 2)
RATES = costs.Rates(executor_hour_usd=5.0, broker_hour_usd=2.0, storage_gb_month_usd=0.023)
WITH_BRONZE = {"web-user-analytics", "mobile-user-analytics"}


def at(hour: float, day: dt.date = D) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) + dt.timedelta(hours=hour)


def run(product, notebook, layer, status, started, duration_s, spark_cpu_s, rows):
    return {"product": product, "notebook": notebook, "layer": layer, "status": status, "started_at": started,
            "duration_s": duration_s, "spark_cpu_s": spark_cpu_s, "rows_written": rows}


RUNS = pd.DataFrame([
    run("web-user-analytics", "bronze", "bronze", "succeeded", at(9), 30.0, 45.0, 1000),
    run("web-user-analytics", "silver", "silver", "succeeded", at(9.1), 60.0, None, 900),  # not measured: wall time
    run("web-user-analytics", "gold", "gold", "skipped", at(9.2), 0.0, None, None),  # skipped: costs nothing
    run("mobile-user-analytics", "bronze", "bronze", "failed", at(10), 20.0, 27.0, 3000),  # failed runs cost too
    run("user-segmentation", "features", "gold", "succeeded", at(11), 100.0, 90.0, 500),  # no bronze: all rows
    run("web-user-analytics", "bronze", "bronze", "succeeded", at(23, D - dt.timedelta(days=1)), 999.0, 999.0, 7),
])


def kafka(pid, up_since, sampled):
    return {"service": "kafka", "pid": pid, "up_since": up_since, "sampled_at": sampled}


# Broker pid 100 up from 06:00, last sampled at 12:00; restarted as pid 200 at 11:00, sampled at
# 14:00: up 06:00-14:00 = 8 hours (11:00-12:00 counts once). Spark's samples do not count.
SAMPLES = pd.DataFrame([kafka(100, at(6), at(8)), kafka(100, at(6), at(12)), kafka(200, at(11), at(14)),
                        {"service": "spark", "pid": 300, "up_since": at(0), "sampled_at": at(14)}])


def table(product, name, size, sampled):
    return {"kind": "table", "name": name, "product": product, "bytes": size, "sampled_at": sampled}


DISK = pd.DataFrame([
    table("web-user-analytics", "web.silver.events", 9_000_000_000, at(12)),  # an earlier measurement
    table("web-user-analytics", "web.silver.events", 2_000_000_000, at(14)),
    table("web-user-analytics", "web.gold.daily_kpis", 1_000_000_000, at(14)),
    table("mobile-user-analytics", "mobile.silver.events", 500_000_000, at(14)),
    table("user-segmentation", "seg.gold.rfm", 1_500_000_000, at(14)),
])


def test_compute_cost_per_notebook_is_spark_cpu_seconds_at_the_core_hour_rate():
    rows = {(r["product"], r["notebook"]): r for r in costs.by_notebook(RUNS, D, RATES)}
    assert set(rows) == {("web-user-analytics", "bronze"), ("web-user-analytics", "silver"),
                         ("mobile-user-analytics", "bronze"), ("user-segmentation", "features")}
    bronze = rows[("web-user-analytics", "bronze")]
    assert (bronze["runs"], bronze["notebook_seconds"], bronze["cpu_seconds"]) == (1, 30.0, 45.0)
    assert bronze["compute_usd"] == pytest.approx(45 / 3600 * 5)  # 0.0625
    assert rows[("web-user-analytics", "silver")]["cpu_seconds"] == 60.0
    assert rows[("web-user-analytics", "silver")]["compute_usd"] == pytest.approx(60 / 3600 * 5)


def test_the_brokers_of_a_cluster_each_count_their_hours():
    # Broker 1 as in SAMPLES (8 hours); kafka-2 up 10:00-13:00 (3 hours); "kafka-ui" is no broker.
    second = pd.DataFrame([{**kafka(400, at(10), at(13)), "service": "kafka-2"},
                           {**kafka(500, at(0), at(20)), "service": "kafka-ui"}])
    assert costs.broker_hours(pd.concat([SAMPLES, second]), D) == pytest.approx(11.0)


def test_broker_hours_join_the_spans_of_every_broker_process_of_the_day():
    assert costs.broker_hours(SAMPLES, D) == pytest.approx(8.0)
    # The day before: pid 100 was not up yet.
    assert costs.broker_hours(SAMPLES, D - dt.timedelta(days=1)) == 0.0
    # A broker up since the day before counts from midnight.
    assert costs.broker_hours(pd.DataFrame([kafka(1, at(-5), at(2))]), D) == pytest.approx(2.0)


def test_a_day_of_cost_per_product_by_hand():
    _, daily = costs.for_day(RUNS, DISK, SAMPLES, D, RATES, WITH_BRONZE)
    got = {r["product"]: r for r in daily}
    assert set(got) == {"web-user-analytics", "mobile-user-analytics", "user-segmentation"}
    web, mobile, segments = got["web-user-analytics"], got["mobile-user-analytics"], got["user-segmentation"]
    # Broker: 8 h x $2 = $16, shared 1000 : 3000 by the records of the products that read a topic.
    assert (web["broker_usd"], mobile["broker_usd"], segments["broker_usd"]) == pytest.approx((4.0, 12.0, 0.0))
    # Storage at 14:00: web 3 GB, mobile 0.5 GB, segments 1.5 GB, x $0.023 / 30 per GB-day.
    assert web["storage_bytes"] == 3_000_000_000
    assert web["storage_usd"] == pytest.approx(3 * 0.023 / 30)
    assert (web["runs"], web["notebook_seconds"], web["cpu_seconds"]) == (2, 90.0, 105.0)
    assert web["compute_usd"] == pytest.approx(105 / 3600 * 5)
    assert web["total_usd"] == pytest.approx(0.0625 + 60 / 3600 * 5 + 3 * 0.023 / 30 + 4.0)  # 4.148133...
    assert web["records_processed"] == 1000  # bronze rows only
    assert web["usd_per_1k_records"] == pytest.approx(web["total_usd"])
    assert mobile["total_usd"] == pytest.approx(27 / 3600 * 5 + 0.5 * 0.023 / 30 + 12.0)
    assert mobile["usd_per_1k_records"] == pytest.approx(mobile["total_usd"] / 3)
    assert segments["records_processed"] == 500  # no bronze notebook: every row it wrote
    assert segments["total_usd"] == pytest.approx(90 / 3600 * 5 + 1.5 * 0.023 / 30)  # 0.12615
    assert segments["usd_per_1k_records"] == pytest.approx(0.12615 / 0.5)


def test_broker_time_without_records_is_the_platforms_and_a_product_without_records_has_no_unit_cost():
    idle_runs = RUNS.assign(rows_written=0)
    _, daily = costs.for_day(idle_runs, DISK.iloc[0:0], SAMPLES, D, RATES, WITH_BRONZE)
    got = {r["product"]: r for r in daily}
    assert got["platform"]["broker_usd"] == pytest.approx(16.0)
    assert got["platform"]["total_usd"] == pytest.approx(16.0)
    assert got["web-user-analytics"]["usd_per_1k_records"] is None


def test_rates_come_from_the_parameters_and_cannot_be_negative():
    assert costs.Rates.from_params({"executor_hour_usd": 5, "broker_hour_usd": 2, "storage_gb_month_usd": 0.023}) \
        == RATES
    with pytest.raises(ValueError, match="cost.broker_hour_usd must be >= 0"):
        costs.Rates.from_params({"executor_hour_usd": 5, "broker_hour_usd": -1, "storage_gb_month_usd": 0.023})
