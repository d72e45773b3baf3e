"""A hand-built lake for the data-subject request tests: the subject ``user-00042`` (a web user id),
the cookie ``anon-000042`` seen with it on the web and the phone ``dev-0000ab`` seen with it in the
app, among other subjects, one of them ``user-000420`` (the subject's id is a prefix of it: it must
not be taken for the subject). Each table's rows are written in two commits with delta-rs, which
keeps min/max statistics of every column in the log, so the subject's ids are in the log too."""
from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from shared_lib import lake, products

SUBJECT, COOKIE, DEVICE = "user-00042", "anon-000042", "dev-0000ab"
OTHER_USER, OTHER_COOKIE, OTHER_DEVICE = "user-000420", "anon-000420", "dev-0000cd"
STRANGER = "anon-000999"  # never logged in
SUBJECT_IDS = (SUBJECT, COOKIE, DEVICE)
OTHER_IDS = (OTHER_USER, OTHER_COOKIE, OTHER_DEVICE, STRANGER)
WEB, MOBILE, COMPLIANCE, SEGMENTS = ("web-user-analytics", "mobile-user-analytics", "compliance-auditing",
                                     "user-segmentation")
TS = dt.datetime(2021, 9, 1, 10, tzinfo=dt.timezone.utc)
DAY = TS.date()

_DEFAULTS = {"string": "x", "int": 0, "bigint": 0, "double": 0.0, "boolean": False, "date": DAY, "timestamp": TS}


def web_event(event_id: str, cookie: str, user: str | None = None) -> dict:
    event = {"event_id": event_id, "event_type": "page_view", "event_ts": "2021-09-01T10:00:00Z",
             "anonymous_id": cookie, "page_url": "https://shop.example/p"}
    return {**event, "user_id": user} if user else event


def raw(offset: int, message: dict | str, topic: str = "web.events", key: str | None = None) -> dict:
    text = message if isinstance(message, str) else json.dumps(message)
    return {"key": key, "value": text, "value_bytes": len(text), "topic": topic, "partition": 0,
            "offset": offset, "ingested_at": TS, "ingest_date": DAY}


TRUNCATED = '{"event_id": "w-9", "anonymous_id": "anon-000042", "event_ty'  # malformed: cut short

# (product, table) -> rows, in two commits (first half, second half).
ROWS: dict[tuple[str, str], list[dict]] = {
    (WEB, "events_raw"): [
        raw(0, web_event("w-1", COOKIE), key=COOKIE),                # before login: the cookie only
        raw(1, web_event("w-2", COOKIE, SUBJECT), key=COOKIE),       # logged in
        raw(2, web_event("w-2", COOKIE, SUBJECT), key=COOKIE),       # duplicate delivery
        raw(3, web_event("w-3", OTHER_COOKIE, OTHER_USER), key=OTHER_COOKIE),
        raw(4, TRUNCATED),                                           # malformed, no key
        raw(5, web_event("w-4", STRANGER), key=STRANGER),
        raw(6, '{"event_id": "w-5", "anonymous_id": "anon-0000421x"}', key="anon-0000421x"),  # not the subject
    ],
    (WEB, "quarantine"): [
        {**raw(4, TRUNCATED), "reason": "malformed_json"},
        {**raw(6, '{"event_id": "w-5", "anonymous_id": "anon-0000421x"}'), "reason": "bad_value:event_id"},
    ],
    (WEB, "events"): [
        {"event_id": "w-1", "anonymous_id": COOKIE, "user_id": None, "offset": 0},
        {"event_id": "w-2", "anonymous_id": COOKIE, "user_id": SUBJECT, "offset": 1},
        {"event_id": "w-3", "anonymous_id": OTHER_COOKIE, "user_id": OTHER_USER, "offset": 3},
        {"event_id": "w-4", "anonymous_id": STRANGER, "user_id": None, "offset": 5},
    ],
    (MOBILE, "events"): [
        {"event_id": "m-1", "device_id": DEVICE, "user_id": SUBJECT, "offset": 0},
        {"event_id": "m-2", "device_id": OTHER_DEVICE, "user_id": OTHER_USER, "offset": 1},
    ],
    (MOBILE, "devices"): [{"device_id": DEVICE}, {"device_id": OTHER_DEVICE}],
    (COMPLIANCE, "consent_events"): [
        {"event_id": "c-1", "subject_id": COOKIE, "purpose": "analytics", "granted": True},
        {"event_id": "c-2", "subject_id": OTHER_COOKIE, "purpose": "analytics", "granted": False},
    ],
    (SEGMENTS, "customer_features"): [{"user_id": SUBJECT, "frequency": 3}, {"user_id": OTHER_USER, "frequency": 1}],
    (WEB, "daily_kpis"): [{"date": DAY, "visitors": 3, "users": 2, "sessions": 3}],  # an aggregate
}

# What `dp dsar access user-00042` must find: (table, a column identifying the row, its values).
EXPECTED_ACCESS = {
    "web-user-analytics.bronze.events_raw": ("offset", [0, 1, 2, 4]),
    "web-user-analytics.silver.quarantine": ("offset", [4]),
    "web-user-analytics.silver.events": ("event_id", ["w-1", "w-2"]),
    "mobile-user-analytics.silver.events": ("event_id", ["m-1"]),
    "mobile-user-analytics.gold.devices": ("device_id", [DEVICE]),
    "compliance-auditing.silver.consent_events": ("event_id", ["c-1"]),
    "user-segmentation.silver.customer_features": ("user_id", [SUBJECT]),
    "compliance-auditing.silver.audit_trail": ("event_id", ["a-1"]),
}


def audit_rows(hash_of) -> list[dict]:
    """Audit trail rows: one about the subject (by keyed hash), one about another subject."""
    return [{"event_id": "a-1", "actor": "alice", "action": "export", "resource": "/users", "result": "success",
             "subject_hash": hash_of(SUBJECT)},
            {"event_id": "a-2", "actor": "bob", "action": "read", "resource": "/users", "result": "success",
             "subject_hash": hash_of(OTHER_USER)}]


def _full(table, row: dict) -> dict:
    return {c.name: row.get(c.name, None if c.nullable else _DEFAULTS.get(c.type, "x")) for c in table.columns}


def write(product: str, name: str, rows: list[dict]) -> None:
    """``rows`` appended to the declared table in two commits (missing NOT NULL columns filled)."""
    from deltalake import write_deltalake

    table = products.get(product).table(name)
    schema = lake.arrow_schema(table)
    table.path.parent.mkdir(parents=True, exist_ok=True)
    half = (len(rows) + 1) // 2
    for part in (rows[:half], rows[half:]):
        if part:
            data = pa.Table.from_pylist([_full(table, r) for r in part], schema=schema)
            write_deltalake(str(table.path), data, mode="append", partition_by=list(table.partitioned_by) or None)


def rewrite_like_spark(product: str, name: str) -> None:
    """A commit that replaces every file of the table by one with the same rows, its ``remove``
    actions carrying the removed files' statistics, as Spark writes them (a MERGE does): the
    subject's ids then stay in the tombstones of the log even though no live file holds them."""
    from deltalake import DeltaTable, write_deltalake

    table = products.get(product).table(name)
    log = table.path / "_delta_log"
    stats = {}
    for commit in sorted(log.glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                stats[action["add"]["path"]] = action["add"].get("stats")
    write_deltalake(str(table.path), DeltaTable(str(table.path)).to_pyarrow_table(), mode="overwrite")
    last = sorted(log.glob("*.json"))[-1]
    actions = [json.loads(line) for line in last.read_text().splitlines()]
    for action in actions:
        if "remove" in action:
            action["remove"]["stats"] = stats[action["remove"]["path"]]
    last.write_text("".join(json.dumps(a) + "\n" for a in actions))


def build_lake(hash_of) -> None:
    for (product, name), rows in ROWS.items():
        write(product, name, rows)
    write(COMPLIANCE, "audit_trail", audit_rows(hash_of))
    rewrite_like_spark(MOBILE, "devices")


def files_holding(roots, ids, skip=()) -> list[str]:
    """Every file under ``roots`` (``skip`` folders aside) that holds one of ``ids``: as bytes, or
    as a value of a Parquet file (compressed pages hide bytes), a token anywhere in either."""
    import re
    from pathlib import Path

    import pyarrow.parquet as pq

    from shared_lib.dsar import match

    pattern = re.compile(match.token_pattern(ids).encode())
    skip = [Path(s).resolve() for s in skip]
    hits = []
    for root in roots:
        for file in Path(root).rglob("*"):
            if not file.is_file() or any(file.resolve().is_relative_to(s) for s in skip):
                continue
            data = file.read_bytes()
            if file.suffix == ".parquet" and data[:4] == b"PAR1":
                data += str(pq.read_table(file).to_pylist()).encode()
            if pattern.search(data):
                hits.append(str(file))
    return sorted(hits)


def readable_versions(table) -> dict:
    """{version: its content} of every version of ``table`` that time travel can still load."""
    from deltalake import DeltaTable

    out = {}
    for version in range(lake.version(table) + 1):
        try:
            out[version] = DeltaTable(str(table.path), version=version).to_pyarrow_table()
        except Exception:  # its commits are no longer in the log
            continue
    return out


def holds_subject(content: pa.Table, ids=SUBJECT_IDS) -> bool:
    """Whether any value of an Arrow table names one of ``ids`` (as a token of a text)."""
    import re

    from shared_lib.dsar import match

    pattern = re.compile(match.token_pattern(ids))
    return any(isinstance(v, str) and pattern.search(v) for col in content.columns for v in col.to_pylist())
