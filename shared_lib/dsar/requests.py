"""The compliance product's DSAR tables, written with delta-rs by `dp dsar`: ``dsar_requests``
(one row per request: received, due = received + 30 days, status) and ``erasure_log`` (one row per
erased id: its keyed hash, the request and completion times, rows removed per table, files
removed). Neither holds a raw subject id, so an erasure never has to rewrite them."""
from __future__ import annotations

import datetime as dt
import json
import secrets

import pyarrow as pa

from shared_lib import lake, products
from shared_lib.products import Table

PRODUCT = "compliance-auditing"
DUE_DAYS = 30  # metrics.md: requests are due within 30 days


def requests_table() -> Table:
    return products.get(PRODUCT).table("dsar_requests")


def erasure_table() -> Table:
    return products.get(PRODUCT).table("erasure_log")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_request_id(at: dt.datetime) -> str:
    return f"dsar-{at.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def _write(table: Table, rows: list[dict], predicate: str | None = None) -> None:
    schema = lake.arrow_schema(table)
    data = pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema)
    created = not lake.exists(table)
    if predicate and not created:
        lake.write(table, data, mode="overwrite", predicate=predicate)
    else:
        lake.append(table, data, name=table.name, description=table.description)
    if created and table.checks:
        lake.open_uri(table.uri).alter.add_constraint({name: expr for name, expr in table.checks})


def open_request(kind: str, subject_hash: str, actor: str, reason: str | None = None,
                 at: dt.datetime | None = None, request_id: str | None = None) -> dict:
    """A new request, in progress from now; returns its row. ``request_id``: the id the caller
    already answered (the compliance API's POST /dsar), else a new one."""
    received = at or now()
    row = {"request_id": request_id or new_request_id(received), "kind": kind, "subject_hash": subject_hash,
           "received_at": received, "due_at": received + dt.timedelta(days=DUE_DAYS),
           "status": "in_progress", "reason": reason, "actor": actor}
    _write(requests_table(), [row])
    return row


def complete(request: dict, linked_ids: int, rows: int, at: dt.datetime | None = None) -> dict:
    """The request marked completed (its row replaced)."""
    done = {**request, "status": "completed", "completed_at": at or now(), "linked_ids": linked_ids, "rows": rows}
    _write(requests_table(), [done], predicate=f"request_id = '{request['request_id']}'")
    return done


def read_requests() -> list[dict]:
    return lake.read(requests_table()).to_dict("records") if lake.exists(requests_table()) else []


def pending_erasure(subject_hash: str) -> dict | None:
    """The erase request of this subject that an interrupted `dp dsar erase` left in progress."""
    pending = [r for r in read_requests() if r["kind"] == "erase" and r["status"] == "in_progress"
               and r["subject_hash"] == subject_hash]
    return min(pending, key=lambda r: r["received_at"]) if pending else None


def log_erasure(request: dict, hashes: dict[str, bool], rows_removed: dict[str, int], files_removed: int,
                completed_at: dt.datetime) -> None:
    """One ``erasure_log`` row per erased id hash (``hashes``: {hash: is the requested id})."""
    total = sum(rows_removed.values())
    _write(erasure_table(), [
        {"request_id": request["request_id"], "subject_hash": h, "requested_subject": requested,
         "requested_at": request["received_at"], "completed_at": completed_at,
         "rows_removed": json.dumps(rows_removed, sort_keys=True), "rows_removed_total": total,
         "files_removed": files_removed}
        for h, requested in sorted(hashes.items())])


def erased_hashes() -> frozenset[str]:
    """The keyed hashes of every erased id (bronze drops their messages on a replay)."""
    table = erasure_table()
    if not lake.exists(table):
        return frozenset()
    column = lake.delta_table(table).to_pyarrow_dataset().to_table(columns=["subject_hash"]).column(0)
    return frozenset(column.to_pylist())
