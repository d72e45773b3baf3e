"""The DuckDB floor of `dp bench`'s compliance benchmark on a hand-computed set of audit lines:
the day totals of metrics.md (audit events, denied accesses, personal-data reads without a
purpose), after the contract checks the generator exercises and one row per event_id."""
import datetime as dt
import json

from runners.bench import duckdb_floor

EVENTS = "web-user-analytics.silver.events"
PERSONAL = {EVENTS: ["anonymous_id", "ip"]}


def line(event_id, ts, action="read", result="success", resource=EVENTS, **fields):
    return json.dumps({"event_id": event_id, "event_ts": ts, "actor": "alice", "action": action,
                       "resource": resource, "result": result, **fields}, separators=(",", ":"))


def test_the_floor_counts_each_days_audit_events_denials_and_reads_without_purpose(tmp_path):
    lines = [
        line("a1", "2024-03-10T09:00:00Z", purpose="analytics", subject_id="s1"),  # read with a purpose
        line("a2", "2024-03-10T09:01:00Z", subject_id="s1"),  # personal: names a subject, no purpose
        line("a3", "2024-03-10T09:02:00Z", columns=["page_path"]),  # no personal column: not counted
        line("a4", "2024-03-10T09:03:00Z", columns=["page_path", "ip"]),  # a personal column
        line("a5", "2024-03-10T09:04:00Z", result="denied", subject_id="s2"),  # denied: nothing read
        line("a6", "2024-03-10T09:05:00Z", action=" EXPORT ", subject_id="s2"),  # export, normalized
        line("a7", "2024-03-10T23:59:59+01:00", resource="/login", action="login", result="failure"),  # 22:59 UTC
        line("a2", "2024-03-10T09:01:00Z", subject_id="s1"),  # delivered twice: counted once
        line("a8", "2024-03-11T10:00:00Z", columns=[]),  # whole table, no purpose
        line("a9", "2024-03-11T10:01:00Z", resource="web-user-analytics.gold.daily_kpis"),  # no personal data
        line("a10", "2024-03-11T10:02:00Z", purpose=" "),  # a blank purpose is no purpose
        # quarantined by silver, so not here: bad action, missing actor, columns not an array,
        # no zone, unknown purpose, a JSON array, broken JSON
        line("q1", "2024-03-10T09:00:00Z", action="peek"),
        json.dumps({"event_id": "q2", "event_ts": "2024-03-10T09:00:00Z", "action": "read",
                    "resource": EVENTS, "result": "success"}),
        line("q3", "2024-03-10T09:00:00Z", columns="ip"),
        line("q4", "2024-03-10T09:00:00"),
        line("q5", "2024-03-10T09:00:00Z", purpose="curiosity"),
        json.dumps(["q6", "read"]),
        line("q7", "2024-03-10T09:00:00Z")[:-7],
    ]
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert duckdb_floor.compliance_kpis(path, PERSONAL) == [
        {"date": dt.date(2024, 3, 10), "audit_events": 7, "denied_accesses": 1, "reads_without_purpose": 2},
        {"date": dt.date(2024, 3, 11), "audit_events": 3, "denied_accesses": 0, "reads_without_purpose": 2},
    ]
