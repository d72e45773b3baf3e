"""Request logs: the contract, the hourly gold metrics (continuous percentiles and 5xx error
rates, hand-computed) and the pipeline-health row builders, on tiny DataFrames."""


from __future__ import annotations

import datetime as dt
import json

import pytest

from products.operational_metrics import health, requests
from products.operational_metrics.contract import REQUEST_CONTRACT
from shared_lib import contract

UTC = dt.timezone.utc


INGESTED = dt.datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


GOOD = {"event_id": "r", "event_ts": "2024-05-02T10:00:00Z", "service": "a", "endpoint": "/x/{id}",
        "method": "get", "status_code": 200, "latency_ms": 12.5}


def req(**changes) -> str:
    return json.dumps({k: v for k, v in {**GOOD, **changes}.items() if v is not ...})


CASES = [
    ("good", req(), None),
    ("status_text", req(status_code="503"), None),
    ("unknown_method_nulled", req(method="FETCH"), None),
    ("no_method", req(method=...), None),
    ("no_service", req(service=...), "missing_field:service"),
    ("status_out_of_range", req(status_code=600), "bad_value:status_code"),
    ("status_fraction", req(status_code=200.5), "bad_type:status_code"),
    ("negative_latency", req(latency_ms=-1), "bad_value:latency_ms"),
    ("latency_text", req(latency_ms="slow"), "bad_type:latency_ms"),
    ("no_zone", req(event_ts="2024-05-02T10:00:00"), "bad_timestamp"),
    ("not_json", req()[:-3], "malformed_json"),
]


@pytest.mark.integration
def test_request_contract(spark):
    rows = [("ops.requests", 0, i, INGESTED, INGESTED, INGESTED.date(), value) for i, (_, value, _) in enumerate(CASES)]
    bronze = spark.createDataFrame(rows, "topic string, partition int, offset bigint, kafka_ts timestamp, "
                                         "ingested_at timestamp, ingest_date date, value string")
    out = {r["offset"]: r for r in contract.validate(bronze, REQUEST_CONTRACT).collect()}
    assert {name: out[i]["reason"] for i, (name, _, _) in enumerate(CASES)} == {n: r for n, _, r in CASES}
    assert (out[0]["method"], out[0]["status_code"], out[0]["latency_ms"]) == ("GET", 200, 12.5)
    assert out[1]["status_code"] == 503
    assert out[2]["method"] is None and out[3]["method"] is None


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# service, event_ts, status_code, latency_ms
REQUESTS = [
    ("a", "2024-05-02 10:00:00", 200, 10.0), ("a", "2024-05-02 10:10:00", 200, 30.0),
    ("a", "2024-05-02 10:20:00", 500, 20.0), ("a", "2024-05-02 10:30:00", 404, 40.0),
    ("a", "2024-05-02 10:59:59.999", 503, 100.0),  # still hour 10
    ("a", "2024-05-02 11:00:00", 499, 7.0),  # hour 11; 4xx are no errors
    ("b", "2024-05-02 10:05:00", 599, 2.0), ("b", "2024-05-02 10:06:00", 500, 1.0),
]


@pytest.mark.integration
def test_service_hourly_percentiles_and_error_rates(spark):
    rows = [(f"e{i}", ts(t), s, code, lat) for i, (s, t, code, lat) in enumerate(REQUESTS)]
    events = requests.enrich(spark.createDataFrame(
        rows, "event_id string, event_ts timestamp, service string, status_code bigint, latency_ms double"))
    got = {(r["service"], r["hour"].hour): tuple(r)[3:] for r in requests.service_hourly(events).collect()}
    # a@10: sorted latencies 10, 20, 30, 40, 100: p50 = 30; p95 at rank 0.95 * 4 = 3.8:
    # 40 + 0.8 * (100 - 40) = 88; p99 at rank 3.96: 40 + 0.96 * 60 = 97.6. Errors 500 and 503: 2 of 5.
    # b@10: 1, 2: p50 = 1.5, p95 = 1.95, p99 = 1.99; both 5xx. a@11: one request, 499 is no error.
    assert got == {
        ("a", 10): (5, 2, 0.4, 30.0, pytest.approx(88.0), pytest.approx(97.6)),
        ("a", 11): (1, 0, 0.0, 7.0, 7.0, 7.0),
        ("b", 10): (2, 2, 1.0, 1.5, pytest.approx(1.95), pytest.approx(1.99)),
    }
    assert {r["date"] for r in requests.service_hourly(events).select("date").collect()} == {dt.date(2024, 5, 2)}


RUNS = [  # product, status, started_at, duration_s, rows_written
    ("a", "succeeded", "2024-05-02 01:00:00", 10.0, 100), ("a", "failed", "2024-05-02 02:00:00", 4.0, None),
    ("a", "skipped", "2024-05-02 02:00:01", 0.0, None), ("a", "succeeded", "2024-05-01 23:59:59", 99.0, 5),
    ("b", "succeeded", "2024-05-02 03:00:00", 2.0, 0),
    ("b", "up_to_date", "2024-05-02 04:00:00", 0.0, 0),  # not run: counted nowhere
]


@pytest.mark.integration
def test_pipeline_daily(spark):
    runs = spark.createDataFrame([(p, s, ts(t), d, r) for p, s, t, d, r in RUNS],
                                 "product string, status string, started_at timestamp, duration_s double, "
                                 "rows_written bigint")
    got = {(r["date"], r["product"]): (r["runs"], r["succeeded"], r["failed"], r["skipped"], r["success_rate"],
                                       r["avg_duration_s"], r["max_duration_s"], r["rows_written"])
           for r in health.pipeline_daily(runs, [dt.date(2024, 5, 2)]).collect()}
    # the skipped run counts as a run, not in the durations; the run of 1 May is another day
    assert got == {(dt.date(2024, 5, 2), "a"): (3, 1, 1, 1, pytest.approx(1 / 3), 7.0, 10.0, 100),
                   (dt.date(2024, 5, 2), "b"): (1, 1, 0, 0, 1.0, 2.0, 2.0, 0)}


@pytest.mark.integration
def test_quality_rows(spark):
    batches = spark.createDataFrame([("r1", INGESTED, 200, 190, 6, 4), ("r2", INGESTED, 0, 0, 0, 0)],
                                    "run_id string, processed_at timestamp, bronze_rows bigint, clean_rows bigint, "
                                    "quarantined_rows bigint, duplicate_rows bigint")
    [row] = health.quality(batches, "p", "p.silver.events").collect()
    # duplicates are valid messages: (200 - 6) / 200; an empty batch checks nothing and is left out
    assert (row["run_id"], row["rows_checked"], row["valid_rows"], row["quality_score"]) == ("r1", 200, 194, 0.97)
