"""The compliance API on small hand-written Delta tables: the audit trail for auditors, a
subject's consent, KPIs, retention status, and data-subject requests."""
from __future__ import annotations

import dataclasses
import datetime as dt
import stat

import pytest

from products.compliance_auditing import api as compliance_api
from products.compliance_auditing import dsar_intake
from shared_lib import retention
from tests import api_client, api_data

P = "compliance-auditing"


@pytest.fixture
def compliance(tmp_path, monkeypatch):
    client = api_client.api(compliance_api.create_app, tmp_path, monkeypatch)
    api_data.write_compliance()
    return client


def test_an_auditor_queries_the_trail_newest_first_with_a_purpose_and_is_audited(compliance):
    resp = compliance.get("/audit?start=2024-03-01&end=2024-03-04", "auditor", purpose="compliance")
    assert resp.status_code == 200
    assert [r["event_id"] for r in resp.json()["data"]] == ["e4", "e3", "e2", "e1"]
    assert resp.json()["data"][3]["source_ip"] == "10.1.1.1"
    [audit] = compliance.sinks.audits
    assert (audit["actor_role"], audit["result"], audit["purpose"], audit["columns"]) == (
        "auditor", "success", "compliance", ["actor", "source_ip"])


def test_the_trail_filtered_by_actor_action_and_by_subject_through_its_keyed_hash(compliance):
    by_actor = compliance.get("/audit?start=2024-03-01&end=2024-03-04&actor=bob&action=export", "admin",
                              purpose="compliance").json()["data"]
    assert [r["event_id"] for r in by_actor] == ["e3"]
    by_subject = compliance.get("/audit?start=2024-03-01&end=2024-03-04&subject_id=v1", "auditor",
                                purpose="legal").json()["data"]
    assert [r["event_id"] for r in by_subject] == ["e3", "e1"]
    assert compliance.sinks.audits[-1]["subject_id"] == "v1"


def test_the_trail_is_paginated(compliance):
    body = compliance.get("/audit?start=2024-03-01&end=2024-03-04&limit=3", "auditor", purpose="compliance").json()
    assert body["meta"]["page"] == {"limit": 3, "offset": 0, "total": 4, "next_offset": 3}


@pytest.mark.parametrize("role", ["viewer", "analyst", "operator"])
def test_only_auditors_and_admins_read_the_trail(compliance, role):
    assert compliance.get("/audit", role, purpose="compliance").status_code == 403
    assert compliance.sinks.audits[-1]["result"] == "denied"


def test_a_bad_action_is_a_400_naming_it(compliance):
    resp = compliance.get("/audit?action=peek", "auditor", purpose="compliance")
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "action"


def test_a_subjects_consent_per_purpose(compliance):
    rows = compliance.get("/subjects/v1/consent", "auditor", purpose="compliance").json()["data"]
    assert [(r["purpose"], r["granted"], r["events"]) for r in rows] == [("analytics", True, 1), ("marketing", False, 2)]
    assert rows[0]["since"] == "2024-03-01T12:00:00Z" and rows[0]["subject_id"] == "v1"
    masked = compliance.get("/subjects/v1/consent", "operator").json()["data"]
    assert {r["subject_id"] for r in masked} == {"***"} and [r["granted"] for r in masked] == [True, False]


def test_compliance_kpis_of_a_range_and_one_kpi(compliance):
    rows = compliance.get("/kpis/daily?start=2024-03-03&end=2024-03-04&kpi=denied_accesses", "operator").json()["data"]
    assert [(r["date"], r["value"]) for r in rows] == [("2024-03-03", 5.0), ("2024-03-04", 1.0)]


def test_retention_status_before_any_check_gives_each_tables_policy_and_no_figures(compliance):
    rows = {r["table"]: r for r in compliance.get("/retention", "auditor").json()["data"]}
    trail = rows["compliance-auditing.silver.audit_trail"]
    # The audit trail is kept 2555 days by the policy (metrics.md), expired by its event time.
    assert (trail["retention_kind"], trail["retention_days"], trail["event_time"]) == ("audit", 2555, "event_date")
    assert trail["checked_at"] is None and trail["rows_past_retention"] is None
    assert rows["compliance-auditing.silver.consent_state"]["event_time"] is None  # a state table


def test_retention_status_answers_the_latest_check_of_each_table(compliance):
    first, second = dt.datetime(2024, 3, 5, 2, tzinfo=dt.timezone.utc), dt.datetime(2024, 3, 6, 2, tzinfo=dt.timezone.utc)
    trail = retention.TableCheck("compliance-auditing.silver.audit_trail", "audit", 2555, "event_date",
                                 cutoff="2017-03-07", rows_past_retention=3, rows_held=1, rows_deleted=2,
                                 status="deleted")
    retention.write_status([trail], first)
    # The next day nothing was left but the held row.
    retention.write_status([dataclasses.replace(trail, cutoff="2017-03-08", rows_past_retention=1, rows_deleted=0,
                                                status="held")], second)
    rows = {r["table"]: r for r in compliance.get("/retention", "operator").json()["data"]}
    found = rows["compliance-auditing.silver.audit_trail"]
    assert (found["checked_at"][:19], found["cutoff"], found["rows_past_retention"], found["rows_held"],
            found["rows_deleted"], found["status"]) == ("2024-03-06T02:00:00", "2017-03-08", 1, 1, 0, "held")
    assert rows["web-user-analytics.silver.events"]["checked_at"] is None  # not in either check


def test_a_dsar_is_recorded_answered_with_its_due_date_and_audited(compliance, tmp_path):
    resp = compliance.post("/dsar", {"subject_id": "v1", "kind": "erase", "reason": "asked by mail"}, "auditor")
    assert resp.status_code == 202
    created = resp.json()["data"]
    assert created["status"] == "received" and "subject_id" not in created
    received = dt.datetime.fromisoformat(created["received_at"])
    assert dt.datetime.fromisoformat(created["due_at"]) - received == dt.timedelta(days=30)
    assert compliance.get(f"/dsar/{created['request_id']}", "auditor").json()["data"] == created
    assert stat.S_IMODE(dsar_intake.intake_path().stat().st_mode) == 0o600
    [audit] = compliance.sinks.audits
    assert (audit["action"], audit["resource"], audit["subject_id"], audit["purpose"], audit["result"]) == (
        "write", "compliance-auditing-api:/dsar", "v1", "legal", "success")


def test_a_dsar_of_an_unknown_kind_is_a_400_naming_the_field_and_an_unknown_id_a_404(compliance):
    resp = compliance.post("/dsar", {"subject_id": "v1", "kind": "rectify"}, "auditor")
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "body.kind"
    assert compliance.get("/dsar/dsar-nope", "auditor").status_code == 404
