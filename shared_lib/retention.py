"""Retention: delete the rows whose event time is past their table's retention, keep the rows
under a legal hold, vacuum, and leave a status row per table (`dp retention`, and the
compliance product's scheduled ``retention`` step).

Each declared table has an effective retention (``Table.retention_days``: the policy's days for
its kind, or its override) and an ``event_time`` column. At check time ``now``, a row is *past
retention* when its event time is more than ``retention_days`` before ``now``: for a timestamp,
``event_time < now - N days``; for a date, ``event_time < (UTC date of now) - N days``. A row
exactly N days old is kept. State tables (no ``event_time``) are never expired by age.

Legal holds (``shared_lib.holds``): a held table is skipped whole; a held subject's rows are kept
wherever the subject is named (subject columns, raw text, the keyed hash of the audit trail), and
so are the rows of the ids linked to it (its cookies and devices, as an erasure finds them).

Every step runs with delta-rs (DataFusion SQL; no Spark): the same predicate counts the rows and
deletes them. A dry run counts and changes nothing - no delete, no vacuum, no status row, no
audit event. Otherwise each table that lost rows is vacuumed (files unreferenced for longer than
``vacuum_retain_hours``), its delete is recorded in the audit trail, and one ``retention_status``
row per table is appended (the check's figures: rows past retention at check time, held,
deleted, files removed).
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Callable, Iterable

from shared_lib import audit, lake, maintenance, paths, products, subject_hash
from shared_lib.holds import InForce
from shared_lib.products import Table

logger = logging.getLogger(__name__)

STATUS_TABLE = "retention_status"
SUBJECT_HASH_COLUMN = "subject_hash"  # a keyed hash of a subject id (shared_lib.subject_hash)
# Delta refuses deletes from an append-only table; retention lifts the flag for its delete only.
APPEND_ONLY = "delta.appendOnly"


@dataclass
class TableCheck:
    """What one check found and did for one table (a ``retention_status`` row)."""
    table_name: str
    retention_kind: str
    retention_days: int
    event_time: str | None
    cutoff: str | None = None  # rows with event_time before this are past retention
    rows_past_retention: int = 0
    rows_held: int = 0
    rows_deleted: int = 0
    files_removed: int = 0
    status: str = ""
    detail: str | None = None


def status_table() -> Table:
    return products.get(paths.PLATFORM).table(STATUS_TABLE)


def cutoff(table: Table, now: dt.datetime) -> dt.date | dt.datetime:
    """The first event time still kept at ``now`` (see the module)."""
    kind = _column_type(table, table.event_time)
    if kind == "date":
        return now.astimezone(dt.timezone.utc).date() - dt.timedelta(days=table.retention_days)
    return now.astimezone(dt.timezone.utc) - dt.timedelta(days=table.retention_days)


def _column_type(table: Table, name: str | None) -> str:
    return next(c.type for c in table.columns if c.name == name)


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def expired_predicate(table: Table, now: dt.datetime) -> str:
    """DataFusion SQL: the row is past retention at ``now``."""
    edge = cutoff(table, now)
    if isinstance(edge, dt.datetime):
        # Typed as Delta stores timestamps (µs, UTC): delta-rs's delete refuses other timestamp types.
        literal = f"""arrow_cast({sql_string(edge.isoformat())}, 'Timestamp(Microsecond, Some("UTC"))')"""
        return f"{_quoted(table.event_time or '')} < {literal}"
    return f"{_quoted(table.event_time or '')} < CAST({sql_string(edge.isoformat())} AS DATE)"


def held_predicate(table: Table, subjects: Iterable[str], hashes: Iterable[str]) -> str | None:
    """DataFusion SQL: the row names a held subject (never null); None when no held subject can
    appear in the table."""
    subjects, hashes = sorted(set(subjects)), sorted(set(hashes))
    terms = []
    if subjects:
        ids = ", ".join(sql_string(s) for s in subjects)
        for col in table.columns:
            if col.pii == "subject_id":
                terms.append(f"{_quoted(col.name)} IN ({ids})")
            elif col.pii == "raw":
                terms += [f"strpos({_quoted(col.name)}, {sql_string(s)}) > 0" for s in subjects]
    if hashes and any(c.name == SUBJECT_HASH_COLUMN for c in table.columns):
        terms.append(f"{_quoted(SUBJECT_HASH_COLUMN)} IN ({', '.join(sql_string(h) for h in hashes)})")
    if not terms:
        return None
    return "(" + " OR ".join(f"COALESCE({t}, false)" for t in terms) + ")"


def _count(table: Table, where: str) -> int:
    import pyarrow as pa
    from deltalake import QueryBuilder

    reader = QueryBuilder().register("t", lake.delta_table(table)).execute(f"SELECT count(*) AS n FROM t WHERE {where}")
    return int(pa.table(reader.read_all()).column("n")[0].as_py())


def _delete(table: Table, where: str) -> int:
    dt_ = lake.delta_table(table)
    append_only = dt_.metadata().configuration.get(APPEND_ONLY) == "true"
    if append_only:
        dt_.alter.set_table_properties({APPEND_ONLY: "false"})
    try:
        metrics = dt_.delete(where)
    finally:
        if append_only:
            dt_.alter.set_table_properties({APPEND_ONLY: "true"})
    return int(metrics.get("num_deleted_rows", 0))


def check_table(table: Table, holds: InForce, hashes: Iterable[str], now: dt.datetime, dry_run: bool,
                retain_hours: float) -> TableCheck:
    """Count, and unless ``dry_run`` delete and vacuum, the rows of ``table`` past retention."""
    found = TableCheck(table.qualified_name, table.retention_kind, table.retention_days, table.event_time)
    if table.event_time is None:
        found.status = "state_table"
        return found
    found.cutoff = cutoff(table, now).isoformat()
    if not lake.exists(table):
        found.status = "not_created"
        return found
    expired = expired_predicate(table, now)
    found.rows_past_retention = _count(table, expired)
    if holds.holds_table(table.qualified_name):
        found.rows_held, found.status = found.rows_past_retention, "held"
        found.detail = "the table is under a legal hold"
        return found
    held = held_predicate(table, holds.subjects, hashes)
    found.rows_held = _count(table, f"{expired} AND {held}") if held and found.rows_past_retention else 0
    to_delete = found.rows_past_retention - found.rows_held
    if dry_run:
        found.status = "dry_run"
        return found
    if to_delete == 0:
        found.status = "nothing_expired" if found.rows_held == 0 else "held"
        return found
    found.rows_deleted = _delete(table, f"{expired} AND NOT {held}" if held else expired)
    found.files_removed = maintenance.vacuum(table, retain_hours)
    found.status = "deleted"
    return found


def declared_tables(names: Iterable[str] = ()) -> list[Table]:
    """Every declared table, or the tables ``names`` (qualified names; unknown ones fail by name)."""
    names = list(names)
    if names:
        return [products.find_table(n) for n in names]
    return [t for p in products.all_products().values() for t in p.tables]


def run(params: dict, dry_run: bool = False, now: dt.datetime | None = None, actor: str | None = None,
        tables: list[Table] | None = None, progress: Callable[[str], None] | None = None) -> list[TableCheck]:
    """One retention check over every declared table (or ``tables``); see the module."""
    from shared_lib import holds as holds_lib

    now = now or dt.datetime.now(dt.timezone.utc)
    settings = params["platform"]["retention"]
    in_force = with_linked_ids(holds_lib.current())
    key = subject_hash.workspace_key() if in_force.subjects else b""
    hashes = [subject_hash.hash_id(s, key) for s in in_force.subjects]
    checks = []
    for table in tables if tables is not None else declared_tables(settings["tables"]):
        try:
            found = check_table(table, in_force, hashes, now, dry_run, settings["vacuum_retain_hours"])
        except Exception as exc:  # one table's failure must not stop the others' retention
            logger.exception("retention of %s failed", table.qualified_name)
            found = TableCheck(table.qualified_name, table.retention_kind, table.retention_days, table.event_time,
                               status="failed", detail=f"{type(exc).__name__}: {exc}")
        checks.append(found)
        if progress and (found.rows_past_retention or found.status == "failed"):
            progress(describe(found, dry_run))
        if found.rows_deleted:
            _record_delete(params, found, actor)
    if not dry_run:
        write_status(checks, now)
    return checks


def with_linked_ids(in_force: InForce) -> InForce:
    """The holds with each held subject's linked ids held too (``shared_lib.dsar.identity``)."""
    from shared_lib.dsar import identity

    held = set(in_force.subjects)
    for subject in in_force.subjects:
        held.update(identity.linked(subject))
    return replace(in_force, subjects=tuple(sorted(held)))


def _record_delete(params: dict, found: TableCheck, actor: str | None) -> None:
    role = None
    if actor is None:
        actor, role = audit.actor_from_env()
    audit.record(params, actor, "delete", found.table_name, "success", purpose="compliance",
                 role=role or audit.SYSTEM_ROLE)


def write_status(checks: list[TableCheck], now: dt.datetime) -> str:
    """Append one ``retention_status`` row per table checked; returns the check id."""
    check_id = f"retention-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    rows = [{**asdict(c), "check_id": check_id, "checked_at": now,
             "dry_run": False} for c in checks]
    lake.append_rows(status_table(), rows)
    return check_id


def describe(found: TableCheck, dry_run: bool) -> str:
    what = {"dry_run": f"would delete {found.rows_past_retention - found.rows_held}",
            "deleted": f"deleted {found.rows_deleted}, vacuumed {found.files_removed} file(s)",
            "held": "kept: held", "nothing_expired": "nothing to delete",
            "failed": f"FAILED: {found.detail}"}.get(found.status, found.status)
    held = f", {found.rows_held} held" if found.rows_held and found.status != "held" else ""
    return (f"{found.table_name}: {found.rows_past_retention} row(s) past {found.retention_days} days "
            f"(before {found.cutoff}){held}: {what}")


def summary(checks: list[TableCheck]) -> dict:
    """Totals of a check, for the run record."""
    return {"tables_checked": len(checks),
            "rows_past_retention": sum(c.rows_past_retention for c in checks),
            "rows_held": sum(c.rows_held for c in checks),
            "rows_deleted": sum(c.rows_deleted for c in checks),
            "files_removed": sum(c.files_removed for c in checks),
            "tables_failed": sorted(c.table_name for c in checks if c.status == "failed")}
