"""operational-metrics end to end against the real broker and Spark server: hand-built request
logs through bronze -> silver -> gold with exact hourly values; a made-up product whose notebook
fails in the same run, which the health check (declared ``runs_after``) still sees: the
product's success rate is 0, its SLA CRITICAL, and the pipeline-failures alert fires and is
POSTed to a local webhook receiver; then events produced and not yet read show up as consumer lag.

Request logs here are dated June 2021 with ids ``ito-``; assertions look only at those.
"""
from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from runners import run as run_lib
from shared_lib import kafka as kafka_lib
from shared_lib import lake, products
from tests import factories

pytestmark = pytest.mark.integration

PRODUCT = "operational-metrics"
FAILING = "ops-failing"
HOUR = dt.datetime(2021, 6, 14, 10, tzinfo=dt.timezone.utc)


def request(i, service, minute, status, latency, **extra):
    return {"event_id": f"ito-{i}", "event_ts": (HOUR + dt.timedelta(minutes=minute)).isoformat(),
            "service": service, "endpoint": "/x", "method": "GET", "status_code": status, "latency_ms": latency,
            **extra}


BATCH = [
    request(1, "checkout", 0, 200, 100), request(2, "checkout", 10, 502, 400), request(3, "checkout", 20, 200, 200),
    request(4, "checkout", 30, 200, 300), request(4, "checkout", 30, 200, 300),  # a duplicate delivery
    request(5, "search", 5, 404, 50), request(6, "search", 65, 200, 70),  # hour 11
    json.dumps(request(7, "search", 5, 200, "slow")),  # bad_type:latency_ms
    '{"event_id": "ito-8", ',  # malformed_json
]


@pytest.fixture(scope="module")
def receiver():
    with factories.http_receiver() as found:
        yield found


def produce(params, messages) -> int:
    return kafka_lib.produce(params, params[PRODUCT]["topic"], kafka_lib.encode_events(messages, "service"))


@pytest.fixture(scope="module")
def failed_run(params, receiver, tmp_path_factory):
    url, _ = receiver
    assert produce(params, BATCH) == len(BATCH)
    failing = factories.declare(tmp_path_factory.mktemp("declared"), FAILING, [
        ("boom", [], ["raise RuntimeError('deliberate failure')"], None), ("after", ["boom"], ["pass"], None)])
    declared = {**products.all_products(), FAILING: failing}
    with pytest.MonkeyPatch.context() as mp:  # a secret: only from the environment, never a parameter
        mp.setenv("DP_ALERT_WEBHOOK_URL", url)
        summary = run_lib.run(products=[FAILING, PRODUCT], declared=declared, run_id="test-ops-failing")
    return {r["notebook"] if r["product"] == PRODUCT else f"{FAILING}:{r['notebook']}": r for r in summary.records}


def table(name: str):
    return lake.read_table(PRODUCT, name)


def test_the_health_check_runs_after_a_failure_and_reports_it(failed_run, receiver):
    assert {k: r["status"] for k, r in failed_run.items()} == {
        f"{FAILING}:boom": "failed", f"{FAILING}:after": "skipped", "bronze": "succeeded", "silver": "succeeded",
        "gold": "succeeded", "health": "succeeded", "sla": "succeeded"}
    order = list(failed_run)
    assert order.index(f"{FAILING}:after") < order.index("health") < order.index("sla")
    daily = table("pipeline_daily")
    [row] = daily[daily["product"] == FAILING].to_dict("records")
    assert (row["runs"], row["succeeded"], row["failed"], row["skipped"], row["success_rate"]) == (2, 0, 1, 1, 0.0)
    evaluations = table("sla_evaluations")
    mine = evaluations[(evaluations["product"] == FAILING) & (evaluations["metric"] == "pipeline_success_rate")]
    assert mine[["value", "state", "detail"]].values.tolist() == [[0.0, "CRITICAL", "0 of 2 notebook runs succeeded"]]
    status = table("sla_status")
    assert status[status["product"] == FAILING][["state", "previous_state"]].values.tolist() == [["CRITICAL", None]]
    fired = table("alerts")
    fired = fired[(fired["product"] == FAILING)]
    assert fired[["event", "rule", "severity", "value", "notified"]].values.tolist() == [
        ["fired", "pipeline-failures", "critical", 0.0, "log+webhook"]]
    _, received = receiver
    posted = [p for p in received if p["product"] == FAILING]
    assert [(p["event"], p["rule"], p["metric"], p["value"], p["alert_id"]) for p in posted] == [
        ("fired", "pipeline-failures", "pipeline_success_rate", 0.0, fired["alert_id"].iloc[0])]


def test_request_logs_hourly_gold(failed_run):
    hourly = table("service_hourly")
    mine = hourly[hourly["date"] == HOUR.date()]
    got = {(r["service"], r["hour"].hour): (r["requests"], r["errors"], r["error_rate"], r["latency_p50_ms"],
                                            r["latency_p95_ms"], r["latency_p99_ms"]) for r in mine.to_dict("records")}
    # checkout@10: 100, 200, 300, 400 (the duplicate dropped): p50 = 250, p95 = 300 + 0.85 * 100,
    # p99 = 300 + 0.97 * 100; one 502 of 4. search: one request per hour (the bad one quarantined).
    assert got == {("checkout", 10): (4, 1, 0.25, 250.0, pytest.approx(385.0), pytest.approx(397.0)),
                   ("search", 10): (1, 0, 0.0, 50.0, 50.0, 50.0),
                   ("search", 11): (1, 0, 0.0, 70.0, 70.0, 70.0)}
    quality = table("quality")
    [row] = quality[quality["run_id"] == "test-ops-failing"].to_dict("records")
    assert (row["rows_checked"], row["valid_rows"], row["quarantined_rows"], row["duplicate_rows"]) == (9, 7, 2, 1)
    assert row["quality_score"] == pytest.approx(7 / 9)


def test_lag_of_unread_events_against_the_real_broker(failed_run, params):
    produced_at = time.time()
    assert produce(params, [request(100 + i, "search", 70, 200, 10) for i in range(5)]) == 5
    time.sleep(1.0)
    summary = run_lib.run(notebook=f"{PRODUCT}:health", run_id="test-ops-lag")
    assert summary.ok
    lag = lake.read_latest(PRODUCT, "consumer_lag", "evaluated_at")
    [row] = lag[lag["topic"] == params[PRODUCT]["topic"]].to_dict("records")
    assert row["lag_messages"] == 5
    assert row["end_offset"] - row["ingested_offset"] == 5
    # the age of the oldest unread message: produced just before the health check ran
    assert 1.0 <= row["lag_seconds"] <= row["evaluated_at"].timestamp() - produced_at + 1.0
