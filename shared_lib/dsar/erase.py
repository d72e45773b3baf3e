"""`dp dsar erase SUBJECT`: the subject's rows deleted from every table of every layer, then the
history purged (``purge``), an ``erasure_log`` row per erased id, the request completed.

A tracked request: opened in ``dsar_requests`` (and the audit trail) before anything is
deleted. Progress is kept table by table in ``<workspace>/dsar/pending/<request>.json`` (it holds
the linked ids, which silver no longer has once its rows are gone; deleted at the end): a
`dp dsar erase` that dies midway resumes the same request on its next call, skipping the tables
already done. Running it again after it completed opens a new request that finds nothing.

Tables without personal data (aggregates) are left as they are; the audit trail is append-only
and names subjects only by keyed hash, so it keeps what was done about the subject.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from shared_lib import audit, holds, lake, storage, subject_hash
from shared_lib import kafka as kafka_lib
from shared_lib.dsar import identity, purge, requests, rows
from shared_lib.dsar.scope import all_scopes
from shared_lib.errors import UserError

RESOURCE = "dp dsar erase"


@dataclass
class Erasure:
    request_id: str
    ids: list[str]
    rows_removed: dict[str, int]
    files_removed: int
    kept_without_personal_data: list[str]
    kept_hashed: list[str]
    files_redacted: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)
    topic_retention: dict[str, str] = field(default_factory=dict)
    resumed: bool = False
    # Where the time went: {phase: seconds} (identity, find, delete, purge, log check, scrub files,
    # records) and {table: {find|delete|purge: seconds}}, for `dp bench` and the slow cases.
    seconds: dict[str, float] = field(default_factory=dict)
    table_seconds: dict[str, dict[str, float]] = field(default_factory=dict)


@contextlib.contextmanager
def _clock(seconds: dict[str, float], phase: str, table: dict[str, float] | None = None) -> Iterator[None]:
    """Adds the time spent inside to ``seconds[phase]`` (and to ``table[phase]``)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - started
        seconds[phase] = seconds.get(phase, 0.0) + spent
        if table is not None:
            table[phase] = table.get(phase, 0.0) + spent


def _state_file(request_id: str):
    return purge.pending_dir() / f"{request_id}.json"


def _save(state: dict) -> None:
    path = _state_file(state["request_id"])
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, default=str), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


def _start(params: dict, requested: str, reason: str | None, log,
           request_id: str | None = None) -> tuple[dict, dict, bool]:
    """(request, progress state, resumed): the pending request of this subject, or a new one."""
    requested_hash = subject_hash.hash_id(requested, subject_hash.workspace_key())
    pending = requests.pending_erasure(requested_hash)
    if pending is not None:
        path = _state_file(pending["request_id"])
        state = json.loads(path.read_text()) if path.exists() else None
        if state is None:  # died before its first save: nothing was deleted yet
            state = {"request_id": pending["request_id"], "links": identity.linked(requested),
                     "tables": {}, "purged": {}}
            _save(state)
        log(f"dp dsar erase: resuming request {pending['request_id']} of {pending['received_at']:%Y-%m-%d %H:%M} UTC "
            f"({len(state['tables'])} table(s) done)")
        return pending, state, True
    links = identity.linked(requested)
    refuse_if_held(holds.current(), {requested, *links}, [s.table.qualified_name for s in all_scopes() if s.erasable])
    # Recorded before anything is deleted: with Kafka down this raises AuditError and nothing happens.
    audit.record(params, None, "delete", RESOURCE, "success", purpose="legal", subject_hash=requested_hash)
    actor, _ = audit.actor_from_env()
    request = requests.open_request("erase", requested_hash, actor, reason, request_id=request_id)
    state = {"request_id": request["request_id"], "links": links, "tables": {}, "purged": {}}
    _save(state)
    return request, state, False


def refuse_if_held(in_force: holds.InForce, ids: set[str], tables: list[str]) -> None:
    """A legal hold keeps what it holds from erasure too (GDPR art. 17(3)(e)): refuse, before
    anything is deleted, when one of the subject's ids or a table the erasure would touch is held."""
    held_ids = sorted(ids & set(in_force.subjects))
    held_tables = sorted(t for t in tables if in_force.holds_table(t))
    if held_ids or held_tables:
        what = ", ".join([f"subject {i}" for i in held_ids] + [f"table {t}" for t in held_tables])
        raise holds.HoldError(f"dp dsar erase: refused, a legal hold is in force on {what}; see `dp hold list`, "
                              f"and erase after `dp hold remove HOLD_ID` once the hold ends")


def erase(params: dict, requested: str, reason: str | None = None, log: Callable[[str], None] = print,
          after_table: Callable[[str], None] | None = None, request_id: str | None = None) -> Erasure:
    """Erase the subject everywhere (see the module's text). ``after_table(name)`` is called after
    each table's rows are deleted (tests make it fail, to show that the next call resumes)."""
    from deltalake import WriterProperties

    # The purge cuts each table's log and scrubs its checkpoint file by file: a local lake only.
    storage.require_local("dp dsar erase (it purges the tables' Delta logs on disk)")
    seconds: dict[str, float] = {}
    per_table: dict[str, dict[str, float]] = {}
    with _clock(seconds, "identity"):
        request, state, resumed = _start(params, requested, reason, log, request_id)
        subject, links = identity.resolve(requested, state["links"])
    log(f"dp dsar erase: request {request['request_id']}, {len(subject.ids)} id(s): {requested}"
        + (f" and linked {', '.join(sorted(links))}" if links else ""))
    scopes = all_scopes()
    for scope in scopes:
        name = scope.table.qualified_name
        if not scope.erasable or name in state["tables"]:
            continue
        timing = per_table.setdefault(name, {})
        with _clock(seconds, "find", timing):
            found = rows.find(scope, subject, hashes=False, columns=rows.key_columns(scope))
            predicate = rows.delete_predicate(scope, found)
        if predicate:
            # Rewritten files in Spark's codec for the lake, snappy: ~15% faster than delta-rs's zstd.
            with _clock(seconds, "delete", timing):
                deleted = lake.open_uri(scope.table.uri).delete(
                    predicate, writer_properties=WriterProperties(compression="SNAPPY"))["num_deleted_rows"]
            log(f"  {name}: {deleted} row(s) deleted in {timing['delete']:.1f} s (found in {timing['find']:.1f} s)")
        state["tables"][name] = found.num_rows
        _save(state)
        if after_table:
            after_table(name)
    for scope in scopes:
        name = scope.table.qualified_name
        if scope.erasable and name not in state["purged"]:
            with _clock(seconds, "purge", per_table.setdefault(name, {})):
                state["purged"][name] = purge.purge_table(scope.table)
            _save(state)
    with _clock(seconds, "log check"):
        left = {s.table.qualified_name: purge.log_mentions(s.table, subject.ids)
                for s in scopes if s.erasable and lake.exists(s.table)}
    left = {k: v for k, v in left.items() if v}
    if left:
        raise RuntimeError(f"dp dsar erase: the Delta log still names the subject in {left}; the request "
                           f"{request['request_id']} stays in progress")
    with _clock(seconds, "scrub files"):
        touched = purge.scrub_files(subject.ids)
    removed = {k: v for k, v in state["tables"].items() if v}
    files = sum(state["purged"].values()) + len(touched.deleted)
    with _clock(seconds, "records"):
        completed = requests.now()
        key = subject_hash.workspace_key()
        requests.log_erasure(request, {subject_hash.hash_id(i, key): i == requested for i in subject.ids},
                             removed, files, completed)
        requests.complete(request, len(subject.ids), sum(removed.values()), completed)
        _state_file(request["request_id"]).unlink(missing_ok=True)
    with _clock(seconds, "topic retention"):
        retention = topic_retention(params)
    return Erasure(request_id=request["request_id"], ids=sorted(subject.ids), rows_removed=removed,
                   files_removed=files, resumed=resumed,
                   kept_without_personal_data=[s.table.qualified_name for s in scopes
                                               if not s.personal and not s.hash_columns],
                   kept_hashed=[s.table.qualified_name for s in scopes if s.hash_columns],
                   files_redacted=[str(p) for p in touched.redacted], files_deleted=[str(p) for p in touched.deleted],
                   topic_retention=retention, seconds=seconds, table_seconds=per_table)


def topic_retention(params: dict) -> dict[str, str]:
    """{topic: its retention as the broker reports it}: an erased subject's messages stay in
    Kafka until then (bronze drops them on a replay)."""
    try:
        found = kafka_lib.topic_retention_ms(params, kafka_lib.all_topics(params))
    except Exception as exc:  # the broker down: the report says so rather than failing the erasure
        return {t: f"unknown (broker not reachable: {type(exc).__name__})" for t in kafka_lib.all_topics(params)}
    return {t: _duration(ms) for t, ms in found.items()}


def _duration(ms: int | None) -> str:
    if ms is None:
        return "unknown (topic not found)"
    if ms < 0:
        return "unlimited (retention.ms = -1)"
    return f"{ms / 86_400_000:g} days (retention.ms = {ms})"


def report_lines(result: Erasure) -> list[str]:
    lines = [f"dp dsar erase: request {result.request_id} completed" + (" (resumed)" if result.resumed else ""),
             f"  ids erased: {', '.join(result.ids)}",
             f"  rows removed: {sum(result.rows_removed.values())}"]
    lines += [f"    {t}: {n}" for t, n in sorted(result.rows_removed.items())]
    lines += [f"  files removed (old data files, earlier log versions, scratch files): {result.files_removed}",
              f"  files redacted under reports/ and logs ([erased]): {len(result.files_redacted)}"]
    lines += [f"    {p}" for p in result.files_redacted[:20]]
    lines += ["  kept as they are, holding no personal data (aggregates, bookkeeping): "
              + ", ".join(result.kept_without_personal_data),
              "  kept, naming subjects by keyed hash only (append-only audit trail, DSAR records): "
              + ", ".join(result.kept_hashed),
              "  Kafka keeps the subject's messages until each topic's retention; bronze drops them on a replay:"]
    lines += [f"    {t}: {r}" for t, r in sorted(result.topic_retention.items())]
    return lines


def check_subject(requested: str) -> str:
    if not requested or not requested.strip():
        raise UserError("the subject id is empty: name the id the request is about")
    return requested
