"""The compliance generator: exactly the events asked for, deterministic by seed and now, both
topics (routed by topic_role), every bad kind present, denied accesses and reads without a
purpose among the audit events, consent for subjects of the web and mobile demo data, and no
event after now."""
import datetime as dt
import re
from collections import Counter

from products.compliance_auditing import generator

NOW = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.timezone.utc)
SUBJECTS = ["anon-000001", "anon-000002", "user-00002", "dev-00000000abcd"]


def make(events=1000, seed=7, now=NOW):
    return list(generator.generate(events, seed=seed, now=now, subjects=SUBJECTS))


def test_count_determinism_bad_kinds_and_routing():
    first = make()
    assert len(first) == 1000
    assert first == make() and first != make(seed=8) and first != make(now=NOW - dt.timedelta(hours=1))
    bad = [e for e in first if isinstance(e, str)]
    assert len(bad) == 10
    assert {re.search(r"bad-([a-z_]+)-\d+", raw).group(1) for raw in bad} == set(generator.BAD_KINDS)
    roles = Counter(generator.topic_role(e) for e in first)
    good = [e for e in first if isinstance(e, dict)]
    consents = [e for e in good if "granted" in e]
    assert roles == {"consent": len(consents), "audit": 1000 - len(consents)}
    assert len({e["event_id"] for e in consents}) == int(988 * 0.2)  # 988 good events, 20 % consent


def test_audit_events_hold_denials_and_reads_without_purpose_and_stop_at_now():
    good = [e for e in make() if isinstance(e, dict)]
    audit = [e for e in good if "action" in e]
    assert {e["action"] for e in audit} == set(generator.ACTIONS)
    assert {e["result"] for e in audit} == {"success", "denied", "failure"}
    assert any(e["action"] == "read" and "purpose" not in e and e.get("subject_id") for e in audit)
    assert {e["subject_id"] for e in good if e.get("subject_id")} <= set(SUBJECTS)
    assert max(e["event_ts"] for e in good) <= "2026-11-20T15:30:00.000Z"
    assert min(e["event_ts"] for e in good) >= "2026-11-14T00:00:00.000Z"  # 7 days ending today


def test_consent_has_withdrawals_and_regrants():
    consents = [e for e in make(3000) if isinstance(e, dict) and "granted" in e]
    assert {e["purpose"] for e in consents} == {"analytics", "marketing"}
    story = {}
    for e in sorted(consents, key=lambda e: e["event_ts"]):
        story.setdefault((e["subject_id"], e["purpose"]), []).append(e["granted"])
    assert any(True in s[:-1] and s[-1] is False for s in story.values())  # withdrawn after a grant
    assert any(s[-2:] == [False, True] for s in story.values())  # granted again


def test_demo_subjects_are_the_web_and_mobile_generators_ids():
    subjects = generator.demo_subjects(NOW, events=300, seed=42)
    kinds = {re.match(r"[a-z]+", s).group(0) for s in subjects}
    assert kinds == {"anon", "user", "dev", "muser"} or kinds == {"anon", "user", "dev"}
    assert "anon-000001" in subjects
