"""compliance-auditing silver on tiny hand-built DataFrames: both contracts (every reason they can
give, the columns array, normalized domains), audit rows that hold a keyed hash instead of the
subject id, the consent in force per subject x purpose, and the gold dates consent changes."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from products.compliance_auditing import records
from products.compliance_auditing.contract import AUDIT_CONTRACT, CONSENT_CONTRACT, reasons
from shared_lib import contract, subject_hash

pytestmark = pytest.mark.integration

UTC = dt.timezone.utc
INGESTED = dt.datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
AUDIT = {"event_id": "a", "event_ts": "2024-03-10T10:00:00Z", "actor": "alice", "action": "read",
         "resource": "web-user-analytics.silver.events", "result": "success"}
CONSENT = {"event_id": "c", "event_ts": "2024-03-10T10:00:00Z", "subject_id": "anon-1", "purpose": "analytics",
           "granted": False}
KEY = b"test-key"


def msg(base, **changes):
    event = {**base, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not ...})


AUDIT_CASES = [
    ("good", msg(AUDIT, columns=["ip", "user_agent"], purpose=" Analytics ", subject_id="anon-1",
                 actor_role="analyst", source_ip="10.0.0.1", action="READ"), None),
    ("good_minimal_empty_columns", msg(AUDIT, columns=[]), None),
    ("missing_actor", msg(AUDIT, actor=...), "missing_field:actor"),
    ("unknown_action", msg(AUDIT, action="peek"), "bad_value:action"),
    ("missing_resource", msg(AUDIT, resource=" "), "missing_field:resource"),
    ("columns_not_array", msg(AUDIT, columns="ip"), "bad_type:columns"),
    ("columns_of_numbers", msg(AUDIT, columns=[1, 2]), "bad_type:columns"),
    ("unknown_purpose", msg(AUDIT, purpose="curiosity"), "bad_value:purpose"),
    ("unknown_result", msg(AUDIT, result="ok"), "bad_value:result"),
    ("numeric_subject", msg(AUDIT, subject_id=7), "bad_type:subject_id"),
    ("ts_without_zone", msg(AUDIT, event_ts="2024-03-10T10:00:00"), "bad_timestamp"),
    ("not_an_object", json.dumps(["a"]), "malformed_json"),
]
CONSENT_CASES = [
    ("good", msg(CONSENT), None),
    ("good_grant_epoch", msg(CONSENT, granted=True, event_ts=1710064800000, purpose="Marketing"), None),
    ("missing_subject", msg(CONSENT, subject_id=...), "missing_field:subject_id"),
    ("granted_as_text", msg(CONSENT, granted="false"), "bad_type:granted"),
    ("missing_granted", msg(CONSENT, granted=...), "missing_field:granted"),
    ("unknown_purpose", msg(CONSENT, purpose="fun"), "bad_value:purpose"),
]


def validate(spark, topic, cases, event_contract):
    rows = [(topic, 0, i, INGESTED, INGESTED, INGESTED.date(), v) for i, (_, v, _) in enumerate(cases)]
    bronze = spark.createDataFrame(rows, "topic string, partition int, offset bigint, kafka_ts timestamp, "
                                         "ingested_at timestamp, ingest_date date, value string")
    out = {r["offset"]: r for r in contract.validate(bronze, event_contract).collect()}
    return {name: out[i] for i, (name, _, _) in enumerate(cases)}


def test_audit_contract_reasons_and_values(spark):
    got = validate(spark, "compliance.audit", AUDIT_CASES, AUDIT_CONTRACT)
    assert {name: r["reason"] for name, r in got.items()} == {name: reason for name, _, reason in AUDIT_CASES}
    good = got["good"]
    assert (good["action"], good["purpose"], good["columns"], good["subject_id"]) == (
        "read", "analytics", ["ip", "user_agent"], "anon-1")
    assert got["good_minimal_empty_columns"]["columns"] == []
    assert set(r for _, _, r in AUDIT_CASES if r) <= set(reasons(AUDIT_CONTRACT))


def test_consent_contract_reasons_and_values(spark):
    got = validate(spark, "compliance.consent", CONSENT_CASES, CONSENT_CONTRACT)
    assert {name: r["reason"] for name, r in got.items()} == {name: reason for name, _, reason in CONSENT_CASES}
    grant = got["good_grant_epoch"]
    assert (grant["granted"], grant["purpose"]) == (True, "marketing")
    assert set(r for _, _, r in CONSENT_CASES if r) <= set(reasons(CONSENT_CONTRACT))


def test_audit_rows_hold_the_keyed_hash_and_no_subject_id(spark):
    clean = spark.createDataFrame([("a", dt.datetime(2024, 3, 10, 23, 59), "anon-1", None),
                                   ("b", dt.datetime(2024, 3, 11), None, None),
                                   ("c", dt.datetime(2024, 3, 11), None, "hash-sent")],  # dp dsar sends the hash only
                                  "event_id string, event_ts timestamp, subject_id string, subject_hash string")
    rows = records.audit_rows(clean, KEY)
    assert "subject_id" not in rows.columns
    got = sorted((r["event_id"], r["subject_hash"]) for r in rows.collect())
    assert got == [("a", subject_hash.hash_id("anon-1", KEY)), ("b", None), ("c", "hash-sent")]


T = dt.datetime(2024, 3, 10, 12, 0)


def test_consent_state_is_the_latest_decision_per_subject_and_purpose(spark):
    history = spark.createDataFrame([
        ("e1", "s1", T, "analytics", True),
        ("e2", "s1", T + dt.timedelta(hours=1), "analytics", False),  # withdrawn
        ("e3", "s1", T + dt.timedelta(hours=2), "analytics", True),   # then granted again
        ("e4", "s1", T, "marketing", False),
        ("e5", "s2", T, "analytics", True),
        ("e6", "s2", T, "analytics", False),  # same instant: the larger event_id wins
    ], "event_id string, subject_id string, event_ts timestamp, purpose string, granted boolean")
    got = {(r["subject_id"], r["purpose"]): (r["granted"], r["event_id"], r["events"], r["run_id"])
           for r in records.consent_state(history, "r1").collect()}
    assert got == {("s1", "analytics"): (True, "e3", 3, "r1"), ("s1", "marketing"): (False, "e4", 1, "r1"),
                   ("s2", "analytics"): (False, "e6", 2, "r1")}


def test_consent_dates_run_from_the_earliest_new_event_to_the_last_known():
    d = dt.date(2024, 3, 10)
    assert records.consent_dates([], d) == []
    assert records.consent_dates([d], d + dt.timedelta(days=2)) == [d, d + dt.timedelta(days=1), d + dt.timedelta(days=2)]
    assert records.consent_dates([d + dt.timedelta(days=1), d], None) == [d, d + dt.timedelta(days=1)]
