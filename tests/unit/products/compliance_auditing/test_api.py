"""The compliance API on small hand-written Delta tables: the audit trail for auditors, a
subject's consent, KPIs, retention status, and data-subject requests."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import stat
import sys
import time

import pytest

from products.compliance_auditing import api as compliance_api
from products.compliance_auditing import dsar_jobs
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


# ---- data-subject requests: POST /dsar starts `dp dsar` in the background ----------------------

# A stand-in for `dp dsar`: keeps its argv and stdin, opens the request under the id it is given,
# waits for the test's go file, then completes it (or, with FAIL in its argv, refuses as a hold does).
STAND_IN = """
import json, pathlib, sys, time
from shared_lib.dsar import requests
out = pathlib.Path(sys.argv[1])
subject, reason = sys.stdin.readline().strip(), sys.stdin.readline().strip()
out.joinpath("seen.json").write_text(json.dumps({"argv": sys.argv, "stdin": subject, "reason": reason}))
if "FAIL" in sys.argv:
    print("working ...")
    print("dp dsar: refused, a legal hold is in force on subject v1", file=sys.stderr)
    sys.exit(2)
request = requests.open_request(sys.argv[3], "hash-of-v1", "auditor", request_id=sys.argv[2])
while not out.joinpath("go").exists():
    time.sleep(0.05)
requests.complete(request, linked_ids=1, rows=3)
"""


def stand_in(out, fail=False):
    def command(request_id, kind):
        return [sys.executable, "-c", STAND_IN, str(out), request_id, kind] + (["FAIL"] if fail else [])
    return command


@pytest.fixture
def dsar_api(tmp_path, monkeypatch):
    """The compliance API whose POST /dsar runs the stand-in (its files in tmp_path/out)."""
    out = tmp_path / "out"
    out.mkdir()

    def make(fail=False):
        return api_client.api(functools.partial(compliance_api.create_app, dsar_command=stand_in(out, fail)),
                              tmp_path / "ws", monkeypatch), out
    return make


def wait_for(api, request_id, statuses, timeout=60.0):
    """The request's state once its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        resp = api.get(f"/dsar/{request_id}", "auditor")
        assert resp.status_code == 200, resp.text  # every poll answers, even while the job's file is written
        found = resp.json()["data"]
        if found["status"] in statuses or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_dsar_answers_its_id_at_once_then_goes_in_progress_and_completed(dsar_api):
    api, out = dsar_api()
    resp = api.post("/dsar", {"subject_id": "v1", "kind": "erase", "reason": "asked by mail"}, "auditor")
    assert resp.status_code == 202
    created = resp.json()["data"]
    # Answered before the process opened the request; due 30 days after it was received.
    assert (created["status"], created["kind"], created["completed_at"], created["error"]) == (
        "received", "erase", None, None)
    assert "subject_id" not in created
    received = dt.datetime.fromisoformat(created["received_at"])
    assert dt.datetime.fromisoformat(created["due_at"]) - received == dt.timedelta(days=30)
    request_id = created["request_id"]
    assert wait_for(api, request_id, {"in_progress"})["status"] == "in_progress"
    (out / "go").touch()
    done = wait_for(api, request_id, {"completed", "failed"})
    assert (done["status"], done["error"]) == ("completed", None) and done["completed_at"] is not None
    # The subject reached the process on its stdin, never on its command line.
    seen = json.loads((out / "seen.json").read_text())
    assert (seen["stdin"], seen["reason"]) == ("v1", "asked by mail")
    assert "v1" not in " ".join(seen["argv"]) and "mail" not in " ".join(seen["argv"])
    # The API's own files: no subject in the job record; the process's log readable by its owner only.
    assert "v1" not in dsar_jobs.job_file(request_id).read_text()
    assert stat.S_IMODE(dsar_jobs.log_file(request_id).stat().st_mode) == 0o600
    [audit] = api.sinks.audits[:1]
    assert (audit["action"], audit["resource"], audit["subject_id"], audit["purpose"], audit["result"]) == (
        "write", "compliance-auditing-api:/dsar", "v1", "legal", "success")


def test_the_real_dp_dsar_is_started_with_the_subject_and_reason_on_stdin_and_the_request_id():
    # Nothing personal on the command line, which other users of the machine can read.
    assert dsar_jobs.dp_dsar_command("dsar-1", "erase")[1:] == [
        "-m", "runners.cli", "dsar", "erase", "-", "--request-id", "dsar-1"]


def test_a_request_made_with_dp_dsar_on_the_command_line_is_answered_from_its_table(dsar_api):
    from shared_lib.dsar import requests
    api, _ = dsar_api()
    at = dt.datetime(2024, 3, 1, 9, tzinfo=dt.timezone.utc)
    opened = requests.open_request("access", "hash-of-v1", "alice", at=at, request_id="dsar-cli-1")
    found = api.get("/dsar/dsar-cli-1", "auditor").json()["data"]
    assert (found["status"], found["kind"], found["received_at"][:19], found["due_at"][:19]) == (
        "in_progress", "access", "2024-03-01T09:00:00", "2024-03-31T09:00:00")
    requests.complete(opened, linked_ids=1, rows=2, at=at + dt.timedelta(hours=1))
    found = api.get("/dsar/dsar-cli-1", "auditor").json()["data"]
    assert (found["status"], found["completed_at"][:19]) == ("completed", "2024-03-01T10:00:00")


def test_an_erase_that_resumed_the_subjects_interrupted_request_points_to_it(dsar_api):
    api, _ = dsar_api()
    dsar_jobs.jobs_dir().mkdir(parents=True)
    dsar_jobs.job_file("dsar-2").write_text(json.dumps({
        "request_id": "dsar-2", "kind": "erase", "received_at": "2024-03-02T00:00:00+00:00",
        "due_at": "2024-04-01T00:00:00+00:00", "pid": None, "exit_code": 0}))
    dsar_jobs.log_file("dsar-2").write_text("dp dsar erase: resuming request dsar-1 of 2024-03-01 09:00 UTC "
                                            "(2 table(s) done)\n  done\n")
    found = api.get("/dsar/dsar-2", "auditor").json()["data"]
    assert (found["status"], found["error"]) == ("failed", "carried out as the subject's interrupted request "
                                                           "dsar-1, which dp dsar erase resumed: see GET /dsar/dsar-1")


def test_a_refused_dsar_is_failed_with_the_last_line_the_process_wrote(dsar_api):
    api, _ = dsar_api(fail=True)
    request_id = api.post("/dsar", {"subject_id": "v1", "kind": "erase"}, "auditor").json()["data"]["request_id"]
    failed = wait_for(api, request_id, {"failed", "completed"})
    assert (failed["status"], failed["error"]) == ("failed", "dp dsar: refused, a legal hold is in force on subject v1")


def test_a_dsar_of_an_unknown_kind_is_a_400_naming_the_field_and_an_unknown_id_a_404(compliance):
    resp = compliance.post("/dsar", {"subject_id": "v1", "kind": "rectify"}, "auditor")
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "body.kind"
    assert compliance.get("/dsar/dsar-nope", "auditor").status_code == 404


# ---- the real `dp dsar` on a hand-written lake (tests/dsar_data.py, delta-rs, no Spark) ------------

# `dp dsar` itself, with its audit events kept from the broker (no Kafka in unit tests).
NO_BROKER = ("import sys; from shared_lib import audit; audit.deliver = lambda params, events, sent=None: len(events); "
             "from runners import cli; sys.exit(cli.main(sys.argv[1:]))")


def real_dp_dsar(request_id, kind):
    return [sys.executable, "-c", NO_BROKER] + dsar_jobs.dp_dsar_command(request_id, kind)[3:]


@pytest.fixture
def lake_api(tmp_path, monkeypatch):
    from shared_lib import subject_hash
    from tests import dsar_data

    api = api_client.api(functools.partial(compliance_api.create_app, dsar_command=real_dp_dsar), tmp_path, monkeypatch)
    monkeypatch.setenv("DP_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv(subject_hash.ENV_VAR, "dsar-api-test-key")
    dsar_data.build_lake(lambda subject: subject_hash.hash_id(subject, b"dsar-api-test-key"))
    return api


def test_the_real_dp_dsar_access_completes_the_request_and_exports_the_subjects_rows(lake_api, tmp_path):
    from tests import dsar_data

    request_id = lake_api.post("/dsar", {"subject_id": dsar_data.SUBJECT, "kind": "access"},
                               "auditor").json()["data"]["request_id"]
    done = wait_for(lake_api, request_id, {"completed", "failed"})
    assert (done["status"], done["error"]) == ("completed", None), done
    manifest = json.loads((tmp_path / "reports" / "dsar" / request_id / "manifest.json").read_text())
    # Every hand-listed row of the subject and its linked ids (4+1+2+1+1+1+1+1), and this request's
    # own dsar_requests row, opened under the id the API answered.
    assert manifest["rows"] == 4 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1
    assert manifest["request_id"] == request_id
    by_table = {t["table"]: t["rows"] for t in manifest["tables"]}
    assert by_table["compliance-auditing.silver.dsar_requests"] == 1


def test_the_real_dp_dsar_erase_refused_by_a_legal_hold_is_failed_with_the_refusal(lake_api, monkeypatch):
    from shared_lib import audit, holds
    from tests import dsar_data

    monkeypatch.setattr(audit, "deliver", lambda params, events, sent=None: len(events))
    holds.place({}, "subject", dsar_data.SUBJECT, "litigation", actor="legal-team")
    request_id = lake_api.post("/dsar", {"subject_id": dsar_data.SUBJECT, "kind": "erase"},
                               "auditor").json()["data"]["request_id"]
    failed = wait_for(lake_api, request_id, {"completed", "failed"})
    assert failed["status"] == "failed"
    assert "refused, a legal hold is in force on subject user-00042" in failed["error"]
