"""The product APIs' own events reach the broker: every request as an ops.requests event in the
request-log contract, every personal-data read and every refusal as a compliance.audit event.

The API runs in-process with its real Kafka sinks; its service name and its keys' names are
unique to this test, so the events are told apart from the session's others."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from products.web_user_analytics import api as web_api
from shared_lib import audit
from shared_lib import kafka as kafka_lib
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks, request_topic
from tests import api_data

pytestmark = pytest.mark.integration
WAIT_S = 60


def _events(params, topic: str, keep) -> list[dict]:
    """Every event of ``topic`` for which ``keep`` is true, read from the beginning."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_lib.bootstrap(params), auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=3000, client_id="dp-test-api")
    try:
        return [e for e in (json.loads(m.value) for m in consumer) if keep(e)]
    finally:
        consumer.close()


def _wait_for(params, topic: str, keep, count: int) -> list[dict]:
    deadline = time.monotonic() + WAIT_S
    while True:
        found = _events(params, topic, keep)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(1)


@pytest.fixture(scope="module")
def answered(params, tmp_path_factory):
    """Three requests to a web API with real sinks: a KPI read, a journey read, a refusal. Its
    tables live in a workspace of their own: the session's web tables belong to other tests."""
    tag = uuid.uuid4().hex[:8]
    own = tmp_path_factory.mktemp("api-workspace")
    mp = pytest.MonkeyPatch()
    mp.setenv("DP_HOME", str(own))
    api_data.write_web()
    store = KeyStore(own / "keys.json")
    analyst, _ = store.create("analyst", f"it-analyst-{tag}")
    viewer, _ = store.create("viewer", f"it-viewer-{tag}")
    sinks = Sinks.kafka(params)
    app = web_api.create_app(params=params, sinks=sinks, keys=store, service=f"it-web-api-{tag}")
    with TestClient(app) as client:
        statuses = [client.get("/kpis/daily", headers={"X-API-Key": viewer}).status_code,
                    client.get("/visitors/v1/journey", headers={"X-API-Key": analyst, "X-Purpose": "support"}).status_code,
                    client.get("/visitors/v1/journey", headers={"X-API-Key": viewer}).status_code]
    mp.undo()
    return tag, statuses


def test_each_request_is_an_ops_requests_event_of_the_api(params, answered):
    tag, statuses = answered
    assert statuses == [200, 200, 403]
    logged = _wait_for(params, request_topic(params), lambda e: e.get("service") == f"it-web-api-{tag}", 3)
    assert sorted((e["endpoint"], e["method"], e["status_code"]) for e in logged) == [
        ("/kpis/daily", "GET", 200), ("/visitors/{subject_id}/journey", "GET", 200),
        ("/visitors/{subject_id}/journey", "GET", 403)]
    assert all(e["latency_ms"] >= 0 for e in logged)


def test_the_journey_read_and_the_refusal_are_compliance_audit_events(params, answered):
    tag, _ = answered
    found = _wait_for(params, audit.topic(params), lambda e: e.get("actor", "").endswith(tag), 2)
    by_actor = {e["actor"]: e for e in found}
    read, refused = by_actor[f"it-analyst-{tag}"], by_actor[f"it-viewer-{tag}"]
    assert (read["action"], read["result"], read["purpose"], read["subject_id"]) == ("read", "success", "support", "v1")
    assert read["columns"] == ["anonymous_id", "ip_network", "page_url", "referrer", "user_agent", "user_id"]
    assert (refused["result"], refused["actor_role"]) == ("denied", "viewer")
