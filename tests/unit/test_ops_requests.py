"""Request logs: the contract, the hourly gold metrics (continuous percentiles and 5xx error
rates, hand-computed) and the pipeline-health row builders, on tiny DataFrames."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F

from products.operational_metrics import generator, health, requests
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


def test_lag_row_counts_unread_messages_and_their_age():
    now = dt.datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    end, begin = {0: 10, 1: 5, 2: 7}, {0: 0, 1: 0, 2: 3}
    ingested = {0: 9, 1: 1}  # partition 2 never read: it starts at the broker's earliest offset, 3
    first_unread = {1: int((now.timestamp() - 120) * 1000), 2: int((now.timestamp() - 30) * 1000)}
    row = health.lag_row("t", "p", end, begin, ingested, first_unread, now)
    assert (row["end_offset"], row["ingested_offset"], row["lag_messages"], row["lag_seconds"]) == (22, 15, 7, 120.0)
    caught_up = health.lag_row("t", "p", {0: 10}, {0: 0}, {0: 9}, {}, now)
    assert (caught_up["lag_messages"], caught_up["lag_seconds"]) == (0, 0.0)


def test_freshness_row():
    now = dt.datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    entry = {"name": "p.silver.events", "product": "p", "layer": "silver", "version": 3,
             "last_commit": "2024-05-02T11:55:00+00:00"}
    row = health.freshness_row(entry, dt.datetime(2024, 5, 2, 11, 0, tzinfo=UTC), now)
    assert (row["freshness_s"], row["event_freshness_s"]) == (300.0, 3600.0)
    assert health.freshness_row({**entry, "last_commit": None}, None, now)["freshness_s"] is None


def test_generator_is_deterministic_with_diurnal_load_and_an_incident():
    end = dt.datetime(2024, 5, 3, 0, 0, tzinfo=UTC)
    events = list(generator.generate(20000, 7, days=2, now=end))
    assert events == list(generator.generate(20000, 7, days=2, now=end))
    good = [e for e in events if isinstance(e, dict)]
    newest = max(dt.datetime.fromisoformat(e["event_ts"]) for e in good)
    assert end - dt.timedelta(minutes=10) < newest <= end  # requests up to now, none later
    bad = [e for e in events if isinstance(e, str)]
    assert len(events) == 20000 and len(bad) == 100 and len(good) == 19900
    assert len({e["event_id"] for e in good}) == 19900 - 20  # 20 duplicate deliveries
    assert all(kind in " ".join(bad) for kind in generator.BAD_KINDS)
    by_hour = [sum(1 for e in good if int(e["event_ts"][11:13]) == h) for h in range(24)]
    assert min(by_hour[2:5]) * 3 < max(by_hour[13:17])  # night against mid-afternoon
    start, stop = generator.incident_window(end, 2)
    assert (start, stop) == (dt.datetime(2024, 5, 2, 9, 0, tzinfo=UTC),  # 70 % of 48 h in: 09:36, on the hour
                             dt.datetime(2024, 5, 2, 10, 30, tzinfo=UTC))
    assert stop < end  # the incident is over: it lies in the past
    def web_api(inside: bool):
        rows = [e for e in good if e["service"] == "web-api"
                and (start <= dt.datetime.fromisoformat(e["event_ts"]) < stop) == inside]
        return sum(e["status_code"] >= 500 for e in rows) / len(rows), sorted(e["latency_ms"] for e in rows)

    error_in, latency_in = web_api(True)
    error_out, latency_out = web_api(False)
    assert error_in > 0.1 > 0.02 > error_out
    assert latency_in[len(latency_in) // 2] > 4 * latency_out[len(latency_out) // 2]


def test_generator_ends_at_now_and_the_incident_is_past_even_at_one_day():
    now = dt.datetime(2024, 5, 2, 0, 20, 30, 123456, tzinfo=UTC)
    good = [e for e in generator.generate(3000, 1, days=1, now=now) if isinstance(e, dict)]
    assert max(e["event_ts"] for e in good) <= "2024-05-02T00:20:30.123Z"
    assert min(e["event_ts"] for e in good) >= "2024-05-01T00:20:30.123Z"
    start, stop = generator.incident_window(now, 1)  # 70 % of 24 h after 2024-05-01 00:20:30: 17:08
    assert (start, stop) == (dt.datetime(2024, 5, 1, 17, 0, tzinfo=UTC), dt.datetime(2024, 5, 1, 18, 30, tzinfo=UTC))
