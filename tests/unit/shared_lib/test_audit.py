"""The platform's own audit events (shared_lib.audit): one contract-shaped event per action, the
reads of a `dp run` (one per product and personal-data table, never per row, compliance's own
runs left out), the actor from the environment, and the failure policy (a read warns, a delete
fails the command), also against a broker that is not there."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

import pytest

from products.compliance_auditing.contract import ACTIONS, AUDIT_CONTRACT, PURPOSES, RESULTS
from runners import services
from shared_lib import audit
from shared_lib import params as params_lib

EVENTS, SESSIONS = "web-user-analytics.silver.events", "web-user-analytics.silver.sessions"
BRONZE = "web-user-analytics.bronze.events_raw"
PERSONAL = {EVENTS: ["anonymous_id", "ip"], SESSIONS: ["anonymous_id"], BRONZE: ["key", "value"],
            "compliance-auditing.silver.audit_trail": ["actor", "source_ip"]}


def test_an_event_has_the_contract_fields_a_uuid_and_a_utc_time_and_leaves_out_what_is_not_given():
    ev = audit.event("alice", "export", EVENTS, "success", columns=["ip"], purpose="legal", subject_id="anon-1",
                     role="dpo")
    assert set(ev) == {"event_id", "event_ts", "actor", "actor_role", "action", "resource", "columns",
                       "purpose", "result", "subject_id"}
    assert set(ev) <= {f.name for f in AUDIT_CONTRACT.fields}
    assert uuid.UUID(ev["event_id"]).version == 4
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ev["event_ts"])
    assert (ev["action"], ev["result"], ev["purpose"]) in [(a, r, p) for a in ACTIONS for r in RESULTS
                                                           for p in PURPOSES]
    bare = audit.event("svc", "read", EVENTS, "denied")
    assert set(bare) == {"event_id", "event_ts", "actor", "action", "resource", "result"}


def record(product, notebook, status, *tables):
    return {"product": product, "notebook": notebook, "status": status,
            "tables_read": json.dumps({t: 3 for t in tables}) if tables else None}


def test_a_run_reads_one_event_per_product_and_personal_table_with_its_personal_columns():
    records = [
        record("web-user-analytics", "silver", "succeeded", BRONZE, "web-user-analytics.silver.batches"),
        record("web-user-analytics", "gold", "failed", EVENTS, SESSIONS),
        record("web-user-analytics", "dashboard_cache", "succeeded", EVENTS),  # EVENTS again: still failure
        record("mobile-user-analytics", "silver", "skipped"),
        record("user-segmentation", "features", "succeeded", EVENTS),
        record("compliance-auditing", "gold", "succeeded", "compliance-auditing.silver.audit_trail"),
    ]
    got = [(e["actor"], e["actor_role"], e["action"], e["resource"], e["columns"], e["purpose"], e["result"])
           for e in audit.runs_read(records, PERSONAL)]
    assert got == [
        ("svc-dp-runner", "service", "read", BRONZE, ["key", "value"], "analytics", "success"),
        ("svc-dp-runner", "service", "read", EVENTS, ["anonymous_id", "ip"], "analytics", "failure"),
        ("svc-dp-runner", "service", "read", SESSIONS, ["anonymous_id"], "analytics", "failure"),
        ("svc-dp-runner", "service", "read", EVENTS, ["anonymous_id", "ip"], "analytics", "success"),
    ]


def test_the_actor_of_a_command_is_dp_actor_and_dp_role_when_set(monkeypatch):
    sent = []
    monkeypatch.setattr(audit, "send", lambda params, events, _offsets=None: sent.extend(events) or len(events))
    monkeypatch.setenv("DP_ACTOR", "fatima@corp.example")
    monkeypatch.setenv("DP_ROLE", "dpo")
    ev = audit.record({}, None, "export", EVENTS, "success", purpose="legal", subject_id="anon-1")
    assert sent == [ev] and (ev["actor"], ev["actor_role"], ev["subject_id"]) == ("fatima@corp.example", "dpo",
                                                                                 "anon-1")
    monkeypatch.delenv("DP_ROLE")
    assert audit.record({}, None, "read", EVENTS, "success")["actor_role"] == "operator"


def _broker_down(monkeypatch):
    def send(params, events, _offsets=None):
        raise ConnectionError("broker gone")
    monkeypatch.setattr(audit, "send", send)
    return {"platform": {"services": {"kafka": {"host": "127.0.0.1", "port": 1}}},
            "compliance-auditing": {"topic": {"audit": "compliance.audit", "consent": "compliance.consent"}}}


def test_a_read_that_cannot_be_recorded_warns_and_the_command_goes_on(monkeypatch, caplog):
    params = _broker_down(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="shared_lib.audit"):
        assert audit.record(params, "svc", "read", EVENTS, "success") is None
    assert "could not record read web-user-analytics.silver.events in audit topic compliance.audit" in caplog.text


def test_a_delete_that_cannot_be_recorded_fails_the_command_naming_the_topic_and_the_fix(monkeypatch):
    params = _broker_down(monkeypatch)
    with pytest.raises(audit.AuditError, match=r"could not record delete /api/v1/users/\{id\} in audit topic "
                                               r"compliance.audit at 127.0.0.1:1: ConnectionError: broker gone; "
                                               r".*start Kafka \(`dp up`\)"):
        audit.record(params, "svc", "delete", "/api/v1/users/{id}", "success", subject_id="anon-1")


def test_with_no_broker_listening_an_export_fails_within_seconds(monkeypatch):
    monkeypatch.setenv("DP_KAFKA_PORT", str(services.free_ports(1)[0]))
    params = params_lib.load("dev")
    started = time.monotonic()
    with pytest.raises(audit.AuditError, match="could not record export"):
        audit.record(params, "svc", "export", EVENTS, "success", purpose="legal")
    assert time.monotonic() - started < 20  # ACK_TIMEOUT_S, not kafka-python's 30 s bootstrap
