"""OpenLineage run events: each validates against the specification's own JSON schemas (vendored
in tests/data/openlineage, see SOURCE.md there), names the declared tables with their Delta
versions and columns, and reaches an HTTP endpoint as the same JSON as the workspace's file."""
from __future__ import annotations

import json

import pytest

from runners import lineage
from shared_lib import params as params_lib
from tests import factories
from tests.openlineage_schema import validate


def bronze_record(status="succeeded") -> dict:
    """A web bronze run: it consumed topic web.events up to offsets 10, 12 and 9 and wrote
    version 4 of events_raw."""
    return {"run_id": "r1", "product": "web-user-analytics", "notebook": "bronze", "status": status,
            "parameters": json.dumps({"env": "dev", "run_id": "r1", "overrides": {}}),
            "started_at": 1_700_000_000.0, "ended_at": 1_700_000_012.5,
            "topic_offsets": json.dumps({"web.events": {"0": 10, "1": 12, "2": 9}}),
            "tables_read": "{}", "tables_written": json.dumps({"web-user-analytics.bronze.events_raw": 4}),
            "error": None if status == "succeeded" else "ValueError: bad"}


@pytest.fixture
def params():
    return params_lib.load("dev")


@pytest.mark.parametrize("event_type,status", [("START", "succeeded"), ("COMPLETE", "succeeded"),
                                               ("FAIL", "failed")])
def test_every_event_validates_against_the_openlineage_schema(params, event_type, status):
    from openlineage.client.serde import Serde

    event = json.loads(Serde.to_json(lineage.run_event(event_type, bronze_record(status), params)))
    validate(event)
    assert event["eventType"] == event_type


def test_complete_names_topics_tables_versions_and_declared_columns(params):
    from openlineage.client.serde import Serde

    event = json.loads(Serde.to_json(lineage.run_event("COMPLETE", bronze_record(), params)))
    assert event["job"] == {**event["job"], "namespace": lineage.namespace(), "name": "web-user-analytics.bronze"}
    [topic] = event["inputs"]
    assert (topic["namespace"], topic["name"]) == (lineage.kafka_namespace(params), "web.events")
    assert topic["facets"]["version"]["datasetVersion"] == "0:10,1:12,2:9"
    [table] = event["outputs"]
    assert table["name"] == "web-user-analytics.bronze.events_raw"
    assert table["facets"]["version"]["datasetVersion"] == "4"
    columns = [f["name"] for f in table["facets"]["schema"]["fields"]]
    assert columns[:3] == ["key", "value", "value_bytes"]  # declaration order of product.yaml
    parameters = {p["key"]: p["value"] for p in event["run"]["facets"]["executionParameters"]["parameters"]}
    assert parameters == {"env": '"dev"', "overrides": "{}", "run_id": '"r1"'}


def test_start_and_complete_share_the_run_id_and_the_parent_is_the_dp_run(params):
    start = lineage.run_event("START", bronze_record(), params)
    complete = lineage.run_event("COMPLETE", bronze_record(), params)
    assert start.run.runId == complete.run.runId == lineage.run_uuid("r1", "web-user-analytics:bronze")
    assert start.run.facets["parent"].run.runId == lineage.run_uuid("r1")


def test_an_http_receiver_gets_the_same_events_as_the_file(tmp_path, params, monkeypatch):
    with factories.http_receiver() as (url, received):
        monkeypatch.setenv(lineage.URL_ENV, url)
        emitter = lineage.Emitter(params, tmp_path / "events.jsonl")
        emitter.emit("START", bronze_record())
        emitter.emit("COMPLETE", bronze_record())
    written = lineage.read_events(tmp_path / "events.jsonl")
    assert [e["eventType"] for e in written] == ["START", "COMPLETE"]
    assert received == written
    for event in written:
        validate(event)


def test_an_endpoint_that_does_not_answer_costs_a_warning_not_the_run(tmp_path, params, monkeypatch, caplog):
    monkeypatch.setenv(lineage.URL_ENV, "http://127.0.0.1:9")  # discard port: nothing listens
    lineage.Emitter(params, tmp_path / "events.jsonl").emit("START", bronze_record())
    assert len(lineage.read_events(tmp_path / "events.jsonl")) == 1
    assert "could not send the lineage event" in caplog.text
