"""Retention (shared_lib.retention) and legal holds (shared_lib.holds) on real Delta tables written
with delta-rs in a throw-away workspace (no Spark, no broker: audit events are collected).

Check time NOW = 2026-12-02 10:00 UTC. Hand-computed cut-offs (a row exactly N days old is kept):
- web silver events, 365 days by event_date: rows dated before 2025-12-02 are past retention;
- web bronze, 90 days by ingest_date: before 2026-09-03;
- the audit trail, 2555 days by event_date: before 2019-12-04;
- platform.pipeline_runs, 2555 days by the timestamp started_at: before 2019-12-04 10:00:00 UTC.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from shared_lib import audit, holds, lake, products, retention, subject_hash
from shared_lib import params as params_lib

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.timezone.utc)
KEY = "test-hash-key"
EVENTS = products.find_table("web-user-analytics.silver.events")
BRONZE = products.find_table("web-user-analytics.bronze.events_raw")
TRAIL = products.find_table("compliance-auditing.silver.audit_trail")
RUNS = products.find_table("platform.pipeline_runs")
CHECKED = [EVENTS, BRONZE, TRAIL, RUNS]
DEFAULTS = {"string": "x", "int": 0, "bigint": 0, "boolean": False, "double": 0.0}
FILLED = {"event_type": "page_view", "channel": "direct", "device_type": "desktop", "action": "read",
          "result": "success"}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


def write(table, rows: list[dict]) -> None:
    """``rows`` into a declared table; NOT NULL columns left out get a harmless value."""
    from deltalake import write_deltalake

    def full(row):
        out = {}
        for c in table.columns:
            value = row.get(c.name, FILLED.get(c.name))
            if value is None and not c.nullable:
                value = NOW if c.type == "timestamp" else NOW.date() if c.type == "date" else DEFAULTS[c.type]
            out[c.name] = value
        return out
    data = pa.Table.from_pylist([full(r) for r in rows], schema=lake.arrow_schema(table))
    table.path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(str(table.path), data, mode="append", partition_by=list(table.partitioned_by) or None)


def ids(table, column: str) -> list:
    return sorted(lake.read(table)[column].tolist())


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.setenv(subject_hash.ENV_VAR, KEY)
    monkeypatch.setenv("DP_ACTOR", "dpo@corp.example")
    return tmp_path


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    """The audit events the code under test sends (no broker)."""
    events: list[dict] = []
    monkeypatch.setattr(audit, "send", lambda params, evs, *sent: events.extend(evs) or len(evs))
    return events


@pytest.fixture
def params():
    return params_lib.load("dev", {"platform.retention.vacuum_retain_hours": 0})


@pytest.fixture
def lake_rows(workspace):
    """Rows on both sides of each cut-off, of held and of other subjects."""
    write(EVENTS, [
        {"event_id": "e1", "event_date": d("2025-11-30"), "anonymous_id": "a-old"},  # past: deleted
        {"event_id": "e2", "event_date": d("2025-12-01"), "anonymous_id": "a-held"},  # past, subject held
        {"event_id": "e3", "event_date": d("2025-12-01"), "anonymous_id": "a-2", "user_id": "u-held"},  # held by user_id
        {"event_id": "e4", "event_date": d("2025-12-02"), "anonymous_id": "a-old"},  # exactly 365 days: kept
        {"event_id": "e5", "event_date": d("2026-06-01"), "anonymous_id": "a-old"},  # young: kept
        {"event_id": "e6", "event_date": d("2025-12-01"), "anonymous_id": "a-3"},  # past, user_id null: deleted
    ])
    write(BRONZE, [
        {"offset": 1, "ingest_date": d("2026-09-02"), "value": '{"anonymous_id": "a-held"}'},  # held (raw text)
        {"offset": 2, "ingest_date": d("2026-09-02"), "value": '{"anonymous_id": "a-old"}'},  # deleted
        {"offset": 3, "ingest_date": d("2026-09-03"), "value": '{"anonymous_id": "a-old"}'},  # exactly 90: kept
        {"offset": 4, "ingest_date": d("2026-09-01"), "value": None},  # deleted
    ])
    held_hash = subject_hash.hash_id("a-held", KEY.encode())
    write(TRAIL, [
        {"event_id": "t1", "event_date": d("2019-12-03"), "subject_hash": held_hash},  # past, held via hash
        {"event_id": "t2", "event_date": d("2019-12-03"), "subject_hash": "0" * 64},  # deleted
        {"event_id": "t3", "event_date": d("2019-12-03")},  # no subject: deleted
        {"event_id": "t4", "event_date": d("2019-12-04")},  # exactly 2555 days: kept
    ])
    lake.delta_table(TRAIL).alter.set_table_properties({retention.APPEND_ONLY: "true"})
    write(RUNS, [
        {"run_id": "r1", "started_at": ts("2019-12-04T09:59:59")},  # one second too old: deleted
        {"run_id": "r2", "started_at": ts("2019-12-04T10:00:00")},  # exactly 2555 days: kept
        {"run_id": "r3", "started_at": None},  # no time: never expires
    ])


def test_the_policy_gives_each_kind_its_days_and_a_declaration_may_override_it():
    assert products.RETENTION_POLICY == {"bronze": 90, "quarantine": 90, "silver": 365, "personal_gold": 365,
                                         "aggregate": 2555, "audit": 2555}
    kinds = {t.qualified_name: (t.retention_kind, t.retention_days, t.retention_overridden)
             for p in products.all_products().values() for t in p.tables}
    assert kinds["web-user-analytics.bronze.events_raw"] == ("bronze", 90, False)
    assert kinds["web-user-analytics.silver.quarantine"] == ("quarantine", 90, False)
    assert kinds["web-user-analytics.silver.events"] == ("silver", 365, False)
    assert kinds["user-segmentation.gold.customer_segments"] == ("personal_gold", 365, False)  # person-level gold
    assert kinds["web-user-analytics.gold.daily_kpis"] == ("aggregate", 2555, False)
    assert kinds["compliance-auditing.silver.audit_trail"] == ("audit", 2555, False)
    assert kinds["operational-metrics.gold.consumer_lag"] == ("aggregate", 365, True)  # declared override


def test_every_table_declares_its_event_time_and_only_state_tables_have_none():
    no_time = sorted(t.qualified_name for p in products.all_products().values() for t in p.tables
                     if t.event_time is None)
    # user_journeys is rebuilt whole from silver sessions by each gold run: it expires with them.
    assert no_time == ["compliance-auditing.silver.consent_state", "mobile-user-analytics.gold.devices",
                       "platform.legal_holds", "web-user-analytics.gold.user_journeys"]


def test_a_declaration_without_event_time_or_with_a_non_time_column_is_refused(tmp_path):
    base = ("name: p\nowner: o\ntables:\n  - name: t\n    layer: silver\n{extra}    columns:\n"
            "      - {{name: id, type: string}}\n      - {{name: at, type: timestamp}}\n")
    path = tmp_path / "product.yaml"
    path.write_text(base.format(extra=""))
    with pytest.raises(products.DeclarationError, match="missing 'event_time'"):
        products.parse(path)
    path.write_text(base.format(extra="    event_time: id\n"))
    with pytest.raises(products.DeclarationError, match="event_time 'id' must name a date or timestamp"):
        products.parse(path)
    path.write_text(base.format(extra="    event_time: at\n    retention_kind: forever\n"))
    with pytest.raises(products.DeclarationError, match="retention_kind 'forever'"):
        products.parse(path)


def test_cutoffs_are_hand_computed_days_before_the_check_time():
    assert retention.cutoff(EVENTS, NOW) == d("2025-12-02")
    assert retention.cutoff(BRONZE, NOW) == d("2026-09-03")
    assert retention.cutoff(TRAIL, NOW) == d("2019-12-04")
    assert retention.cutoff(RUNS, NOW) == ts("2019-12-04T10:00:00")


def test_expired_rows_go_held_and_boundary_rows_stay_and_the_check_is_recorded(lake_rows, params, sent):
    holds.place(params, "subject", "a-held", reason="case 7")
    holds.place(params, "subject", "u-held")
    checks = {c.table_name: c for c in retention.run(params, now=NOW, tables=CHECKED)}

    assert ids(EVENTS, "event_id") == ["e2", "e3", "e4", "e5"]
    assert ids(BRONZE, "offset") == [1, 3]
    assert ids(TRAIL, "event_id") == ["t1", "t4"]
    assert sorted(lake.read(RUNS)["run_id"]) == ["r2", "r3"]
    figures = {name: (c.rows_past_retention, c.rows_held, c.rows_deleted, c.status) for name, c in checks.items()}
    assert figures == {EVENTS.qualified_name: (4, 2, 2, "deleted"), BRONZE.qualified_name: (3, 1, 2, "deleted"),
                       TRAIL.qualified_name: (3, 1, 2, "deleted"), RUNS.qualified_name: (1, 0, 1, "deleted")}
    # The audit trail is append-only again after its delete.
    assert lake.delta_table(TRAIL).metadata().configuration[retention.APPEND_ONLY] == "true"
    # Vacuumed with 0 hours kept: the files that held the deleted rows are gone from disk.
    assert all(c.files_removed >= 1 for c in checks.values())
    # One delete per table in the audit trail, by the person running the command.
    deletes = [(e["action"], e["resource"], e["actor"], e["purpose"]) for e in sent if e["action"] == "delete"]
    assert deletes == [("delete", t.qualified_name, "dpo@corp.example", "compliance") for t in CHECKED]
    status = lake.read(retention.status_table())
    assert len(status) == 4 and status["check_id"].nunique() == 1
    assert status.set_index("table_name").loc[EVENTS.qualified_name, "cutoff"] == "2025-12-02"


def test_a_held_users_linked_cookie_keeps_its_rows_too(workspace, params, sent):
    write(EVENTS, [
        {"event_id": "l1", "event_date": d("2026-11-01"), "anonymous_id": "a-linked", "user_id": "u-sued"},  # the link
        {"event_id": "l2", "event_date": d("2025-01-01"), "anonymous_id": "a-linked"},  # past, the cookie only: held
        {"event_id": "l3", "event_date": d("2025-01-01"), "anonymous_id": "a-other"},  # past, not linked: deleted
    ])
    write(BRONZE, [
        {"offset": 1, "ingest_date": d("2026-01-01"), "value": '{"anonymous_id": "a-linked"}'},  # past: held
        {"offset": 2, "ingest_date": d("2026-01-01"), "value": '{"anonymous_id": "a-other"}'},  # past: deleted
    ])
    holds.place(params, "subject", "u-sued", reason="case 9")
    retention.run(params, now=NOW, tables=[EVENTS, BRONZE])
    assert ids(EVENTS, "event_id") == ["l1", "l2"]
    assert ids(BRONZE, "offset") == [1]


def test_a_dry_run_counts_the_same_rows_and_changes_nothing(lake_rows, params, sent):
    holds.place(params, "subject", "a-held")
    before = {t.qualified_name: lake.version(t) for t in CHECKED}
    checks = {c.table_name: c for c in retention.run(params, dry_run=True, now=NOW, tables=CHECKED)}
    assert {t.qualified_name: lake.version(t) for t in CHECKED} == before
    assert not lake.exists(retention.status_table())
    assert [e for e in sent if e["action"] == "delete"] == []
    assert {n: (c.rows_past_retention, c.rows_held, c.rows_deleted, c.status) for n, c in checks.items()} == {
        EVENTS.qualified_name: (4, 1, 0, "dry_run"),  # only a-held is held here, not u-held
        BRONZE.qualified_name: (3, 1, 0, "dry_run"), TRAIL.qualified_name: (3, 1, 0, "dry_run"),
        RUNS.qualified_name: (1, 0, 0, "dry_run")}
    assert ids(EVENTS, "event_id") == ["e1", "e2", "e3", "e4", "e5", "e6"]


def test_a_table_hold_keeps_every_row_of_the_table_until_released(lake_rows, params, sent):
    hold = holds.place(params, "table", "web-user-analytics.bronze.events_raw", reason="litigation")
    version = lake.version(BRONZE)
    [check] = retention.run(params, now=NOW, tables=[BRONZE])
    assert (check.rows_past_retention, check.rows_held, check.rows_deleted, check.status) == (3, 3, 0, "held")
    assert lake.version(BRONZE) == version and ids(BRONZE, "offset") == [1, 2, 3, 4]

    holds.release(params, hold.hold_id, reason="case closed")
    [check] = retention.run(params, now=NOW, tables=[BRONZE])
    assert (check.rows_deleted, check.status) == (3, "deleted") and ids(BRONZE, "offset") == [3]


def test_holds_are_placed_listed_released_and_audited(workspace, params, sent):
    first = holds.place(params, "subject", "anon-9", reason="case 12", now=NOW)
    table = holds.place(params, "table", "web-user-analytics.silver.events", now=NOW + dt.timedelta(minutes=1))
    assert [(h.scope, h.target, h.reason, h.placed_by) for h in holds.in_force()] == [
        ("subject", "anon-9", "case 12", "dpo@corp.example"),
        ("table", "web-user-analytics.silver.events", None, "dpo@corp.example")]
    with pytest.raises(holds.HoldError, match="already held"):
        holds.place(params, "subject", "anon-9")
    with pytest.raises(KeyError, match="no declared table"):
        holds.place(params, "table", "nope.gold.t")
    holds.release(params, first.hold_id)
    assert [h.hold_id for h in holds.in_force()] == [table.hold_id]
    with pytest.raises(holds.HoldError, match="no hold"):
        holds.release(params, first.hold_id)
    # The history stays: two places, one release. Each action is a write in the audit trail.
    assert sorted(lake.read(holds.holds_table())["action"]) == ["place", "place", "release"]
    assert [(e["action"], e["resource"], e.get("subject_id")) for e in sent] == [
        ("write", "platform.legal_holds", "anon-9"), ("write", "platform.legal_holds", None),
        ("write", "platform.legal_holds", "anon-9")]


def test_a_state_table_and_a_table_not_created_yet_are_reported_not_touched(workspace, params, sent):
    state = products.find_table("compliance-auditing.silver.consent_state")
    checks = retention.run(params, now=NOW, tables=[state, EVENTS])
    assert [(c.table_name, c.status, c.cutoff) for c in checks] == [
        (state.qualified_name, "state_table", None), (EVENTS.qualified_name, "not_created", "2025-12-02")]


def test_a_held_subject_is_matched_on_subject_columns_raw_text_and_the_keyed_hash_never_null():
    assert retention.held_predicate(EVENTS, ["o'neil"], []) == (
        """(COALESCE("anonymous_id" IN ('o''neil'), false) OR COALESCE("user_id" IN ('o''neil'), false))""")
    assert retention.held_predicate(BRONZE, ["s1"], []) == (
        """(COALESCE(strpos("key", 's1') > 0, false) OR COALESCE(strpos("value", 's1') > 0, false))""")
    assert retention.held_predicate(TRAIL, ["s1"], ["ab"]) == """(COALESCE("subject_hash" IN ('ab'), false))"""
    assert retention.held_predicate(EVENTS, [], []) is None


def test_the_tables_parameter_limits_the_check_to_the_tables_it_names(lake_rows, sent):
    only = params_lib.load("dev", {"platform.retention.tables": [RUNS.qualified_name]})
    assert [c.table_name for c in retention.run(only, now=NOW)] == [RUNS.qualified_name]
    assert sorted(lake.read(RUNS)["run_id"]) == ["r2", "r3"] and len(lake.read(EVENTS)) == 6  # events untouched
    with pytest.raises(KeyError, match="no declared table 'nope'"):
        retention.declared_tables(["nope"])
