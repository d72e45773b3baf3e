"""compliance-auditing end to end: a hand-built audit and consent set as JSON-lines files through
`dp produce --topic`, bronze -> silver -> gold through the runner, exact KPIs read back with
delta-rs (each action and result, reads without a purpose, a withdrawal then a re-grant); the
audit trail refuses UPDATE and DELETE and no file of it holds a raw subject id; and in one run,
a web visitor's withdrawal is in force before web silver reads the visitor's events.

Every event here is dated August 2021 and its ids start with ``itc-``; the broker and workspace
are shared with the other tests of the session.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from deltalake import DeltaTable

from runners import generate
from runners import run as run_lib
from shared_lib import products
from tests.integration import pipeline

pytestmark = pytest.mark.integration

PRODUCT = "compliance-auditing"
D1, D2 = dt.date(2021, 8, 2), dt.date(2021, 8, 3)
EVENTS = "web-user-analytics.silver.events"
S1, S2 = "itc-subject-1", "itc-subject-2"


def audit(event_id, ts, action, result, resource="/users/{id}", **fields):
    return {"event_id": f"itc-{event_id}", "event_ts": ts, "actor": "itc-alice", "actor_role": "analyst",
            "action": action, "resource": resource, "result": result, **fields}


def consent(event_id, subject, ts, purpose, granted):
    return {"event_id": f"itc-{event_id}", "event_ts": ts, "subject_id": subject, "purpose": purpose,
            "granted": granted}


A1 = audit("a1", "2021-08-02T09:00:00Z", "read", "success", purpose="analytics", subject_id=S1)
AUDIT = [
    A1,
    audit("a2", "2021-08-02T09:01:00Z", "read", "success", subject_id=S1),  # personal, no purpose
    audit("a3", "2021-08-02T09:02:00Z", "read", "success", resource=EVENTS, columns=["page_path"]),  # not personal
    audit("a4", "2021-08-02T09:03:00Z", "read", "success", resource=EVENTS, columns=["ip_network"]),  # personal, no purpose
    audit("a5", "2021-08-02T09:04:00Z", "read", "denied", subject_id=S2),  # denied: nothing read
    audit("a6", "2021-08-02T09:05:00Z", "export", "success", purpose="compliance", subject_id=S2),
    audit("a7", "2021-08-02T09:06:00Z", "login", "failure", resource="/login", source_ip="198.51.100.7"),
    audit("a8", "2021-08-02T09:07:00Z", "write", "success", resource="web-user-analytics.gold.daily_kpis",
          purpose="operations"),
    audit("a9", "2021-08-02T09:08:00Z", "delete", "success", purpose="legal", subject_id=S1),
    audit("a10", "2021-08-02T09:09:00Z", "grant", "success", resource=EVENTS, purpose="compliance"),
    audit("a11", "2021-08-02T09:10:00+02:00", "revoke", "denied", resource=EVENTS),  # 07:10 UTC
    A1,  # delivered twice
    audit("a12", "2021-08-03T10:00:00Z", "read", "success", resource=EVENTS),  # whole table, no purpose
    json.dumps(audit("q-action", "2021-08-02T09:00:00Z", "peek", "success")),
    json.dumps({k: v for k, v in audit("q-actor", "2021-08-02T09:00:00Z", "read", "success").items() if k != "actor"}),
]
CONSENT = [
    consent("c1", S1, "2021-08-02T10:00:00Z", "analytics", True),
    consent("c2", S1, "2021-08-02T12:00:00Z", "analytics", False),  # withdrawal
    consent("c3", S2, "2021-08-02T11:00:00Z", "analytics", False),
    consent("c4", S1, "2021-08-03T09:00:00Z", "analytics", True),  # re-grant the next day
    consent("c5", S1, "2021-08-03T08:00:00Z", "marketing", True),
    json.dumps(consent("q-granted", S1, "2021-08-02T10:00:00Z", "analytics", "yes")),
    # A web visitor withdraws at 12:00; the web test below sends events before and after.
    consent("w-withdraw", "itc-visitor", "2021-08-02T12:00:00Z", "analytics", False),
]
QUARANTINED = {"itc-q-action": "bad_value:action", "itc-q-actor": "missing_field:actor",
               "itc-q-granted": "bad_type:granted"}


def write_jsonl(path, messages):
    path.write_text("".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages))
    return path


def table(name):
    return pipeline.table(PRODUCT, name)


@pytest.fixture(scope="module")
def first_run(params, tmp_path_factory):
    folder = tmp_path_factory.mktemp("compliance")
    assert generate.produce(params, PRODUCT, write_jsonl(folder / "audit.jsonl", AUDIT), topic="audit") == len(AUDIT)
    assert generate.produce(params, PRODUCT, write_jsonl(folder / "consent.jsonl", CONSENT),
                            topic="compliance.consent") == len(CONSENT)
    return pipeline.run_pipeline(PRODUCT)


def kpis():
    df = table("daily_compliance_kpis")
    df = df[df["date"].isin([D1, D2])]
    return {(r.date, r.kpi, r.dimension_value): r.value for r in df.itertuples()}


def test_gold_kpis_by_hand(first_run):
    got = kpis()
    audit_kpis = {k: v for k, v in got.items() if not k[1].startswith("consent")}
    assert audit_kpis == {
        (D1, "audit_events", "read/success"): 4.0, (D1, "audit_events", "read/denied"): 1.0,
        (D1, "audit_events", "export/success"): 1.0, (D1, "audit_events", "login/failure"): 1.0,
        (D1, "audit_events", "write/success"): 1.0, (D1, "audit_events", "delete/success"): 1.0,
        (D1, "audit_events", "grant/success"): 1.0, (D1, "audit_events", "revoke/denied"): 1.0,
        (D1, "audit_events", "all"): 11.0, (D1, "denied_accesses", "all"): 2.0,
        (D1, "reads_without_purpose", "all"): 2.0,
        (D2, "audit_events", "read/success"): 1.0, (D2, "audit_events", "all"): 1.0,
        (D2, "denied_accesses", "all"): 0.0, (D2, "reads_without_purpose", "all"): 1.0,
    }
    consent_kpis = {k: v for k, v in got.items() if k[1].startswith("consent")}
    # analytics on D1: S1 granted then withdrew, S2 withdrew, the web visitor withdrew: 3 subjects, none granted
    # D2: S1 granted again; marketing: S1 only
    assert consent_kpis == {
        (D1, "consent_subjects", "analytics"): 3.0, (D1, "consent_granted", "analytics"): 0.0,
        (D1, "consent_coverage", "analytics"): 0.0, (D1, "consent_grants", "analytics"): 1.0,
        (D1, "consent_withdrawals", "analytics"): 3.0,
        (D2, "consent_subjects", "analytics"): 3.0, (D2, "consent_granted", "analytics"): 1.0,
        (D2, "consent_coverage", "analytics"): pytest.approx(1 / 3), (D2, "consent_grants", "analytics"): 1.0,
        (D2, "consent_withdrawals", "analytics"): 0.0,
        (D2, "consent_subjects", "marketing"): 1.0, (D2, "consent_granted", "marketing"): 1.0,
        (D2, "consent_coverage", "marketing"): 1.0, (D2, "consent_grants", "marketing"): 1.0,
        (D2, "consent_withdrawals", "marketing"): 0.0,
    }


def test_silver_quarantine_consent_state_and_accounting(first_run):
    trail = table("audit_trail")
    mine = trail[trail["event_id"].str.startswith("itc-")]
    assert sorted(mine["event_id"]) == sorted(f"itc-a{i}" for i in range(1, 13))
    quarantine = table("quarantine")
    got = {e: r for e, r in zip(quarantine["event_id"], quarantine["reason"]) if e in QUARANTINED}
    assert got == QUARANTINED
    state = table("consent_state")
    state = state[state["subject_id"].isin([S1, S2])]
    assert {(r.subject_id, r.purpose): (r.granted, r.event_id, r.events) for r in state.itertuples()} == {
        (S1, "analytics"): (True, "itc-c4", 3), (S1, "marketing"): (True, "itc-c5", 1),
        (S2, "analytics"): (False, "itc-c3", 1)}
    batches = table("batches")
    assert (batches["bronze_rows"] == batches["clean_rows"] + batches["quarantined_rows"]
            + batches["duplicate_rows"]).all()
    assert len(table("events_raw")) == (len(trail) + len(table("consent_events")) + len(quarantine)
                                        + batches["duplicate_rows"].sum())


def test_audit_trail_refuses_update_and_delete(first_run, spark):
    path = products.get(PRODUCT).table("audit_trail").path
    for statement in (f"DELETE FROM delta.`{path}` WHERE event_id = 'itc-a1'",
                      f"UPDATE delta.`{path}` SET actor = 'nobody' WHERE event_id = 'itc-a1'"):
        with pytest.raises(Exception, match=r"(?i)append.?only"):
            spark.sql(statement).collect()
    assert (table("audit_trail")["actor"] == "nobody").sum() == 0


def test_no_file_of_the_audit_trail_holds_a_raw_subject_id(first_run):
    path = products.get(PRODUCT).table("audit_trail").path
    files = [f for f in path.rglob("*") if f.is_file()]
    assert any(f.suffix == ".parquet" for f in files)
    for f in files:
        content = f.read_bytes()
        assert S1.encode() not in content and S2.encode() not in content, f


def test_rerun_without_new_data_changes_nothing(first_run):
    pipeline.assert_rerun_changes_nothing(PRODUCT)


WEB = "web-user-analytics"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def web_event(event_id, ts):
    return {"event_id": f"itc-{event_id}", "event_type": "page_view", "event_ts": ts,
            "anonymous_id": "itc-visitor", "page_url": "https://shop.example.com/", "user_agent": DESKTOP}


def test_a_withdrawal_excludes_the_visitors_later_web_events_in_the_same_run(first_run, params):
    before = table("consent_events")  # the withdrawal is in silver from the first run
    assert (before["event_id"] == "itc-w-withdraw").sum() == 1
    excluded_before = pipeline.table(WEB, "batches")["consent_excluded_rows"].sum() if DeltaTable.is_deltatable(
        str(products.get(WEB).table("batches").path)) else 0
    pipeline.produce(params, WEB, [web_event("w-before", "2021-08-02T11:00:00Z"),
                                   web_event("w-after", "2021-08-02T12:30:00Z")], "anonymous_id")
    summary = run_lib.run(products=[PRODUCT, WEB])
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]
    events = pipeline.table(WEB, "events")
    assert sorted(events[events["anonymous_id"] == "itc-visitor"]["event_id"]) == ["itc-w-before"]
    assert pipeline.table(WEB, "batches")["consent_excluded_rows"].sum() - excluded_before == 1
    daily = pipeline.table(WEB, "daily_kpis")
    assert daily[daily["date"] == D1][["visitors", "sessions", "page_views"]].values.tolist() == [[1, 1, 1]]
    pipeline.assert_accounting_balances(WEB)
