"""The events an API sends: request logs in the ops.requests contract, audit events in the
compliance.audit contract, written in batches off the request path."""
from __future__ import annotations

import datetime as dt
import logging
import threading

from products.compliance_auditing.contract import AUDIT_CONTRACT
from products.operational_metrics.contract import REQUEST_CONTRACT
from shared_lib import audit
from shared_lib.api import sinks


def _conforms(event: dict, contract) -> None:
    """Every field of ``event`` is one of the contract's, every required one is there, and each
    value has the contract's kind and domain."""
    fields = {f.name: f for f in contract.fields}
    assert set(event) <= set(fields)
    for f in contract.fields:
        if f.required:
            assert event.get(f.name) not in (None, ""), f.name
        value = event.get(f.name)
        if value is None:
            continue
        if f.kind == "timestamp":
            assert dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        elif f.kind == "integer":
            assert isinstance(value, int) and f.minimum <= value <= f.maximum
        elif f.kind == "number":
            assert isinstance(value, float) and value >= f.minimum
        elif f.kind == "string_array":
            assert all(isinstance(v, str) for v in value)
        else:
            assert isinstance(value, str) and len(value) <= (f.max_length or 10**9)
            if f.values:
                assert value in f.values, (f.name, value)


def test_a_request_log_is_an_ops_requests_event():
    event = sinks.request_event("web-user-analytics-api", "/kpis/daily", "GET", 200, 3.14159)
    _conforms(event, REQUEST_CONTRACT)
    assert (event["service"], event["endpoint"], event["status_code"], event["latency_ms"]) == (
        "web-user-analytics-api", "/kpis/daily", 200, 3.142)


def test_an_api_audit_event_is_a_compliance_audit_event():
    event = audit.event("alice", "read", "web-user-analytics-api:/visitors/{subject_id}/journey", "success",
                        ["ip", "user_id"], "support", "v1", "analyst")
    event["source_ip"] = "127.0.0.1"
    _conforms(event, AUDIT_CONTRACT)


def test_the_writer_sends_in_batches_and_close_sends_what_is_queued():
    batches: list[list[dict]] = []
    writer = sinks.BackgroundWriter("test", batches.append)
    for i in range(3):
        writer.put({"i": i})
    writer.close()
    assert [e["i"] for batch in batches for e in batch] == [0, 1, 2]
    assert len(batches) == 1  # the three arrived within one linger


def test_a_failing_delivery_drops_the_batch_with_one_warning_and_never_raises(caplog):
    def broken(_events):
        raise ConnectionError("no broker")

    writer = sinks.BackgroundWriter("test", broken)
    with caplog.at_level(logging.WARNING, logger="shared_lib.api.sinks"):
        writer.put({"a": 1})
        writer.close()
        writer.put({"a": 2})
        writer.close()
    assert writer.dropped == 2
    assert len([r for r in caplog.records if "not written" in r.message]) == 1  # one warning a minute


def test_put_never_waits_for_the_delivery():
    release = threading.Event()
    writer = sinks.BackgroundWriter("test", lambda _events: release.wait(5))
    for i in range(100):
        writer.put({"i": i})  # returns at once although the delivery blocks
    release.set()
    writer.close()
    assert writer.dropped == 0
