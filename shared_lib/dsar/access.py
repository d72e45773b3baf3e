"""`dp dsar access SUBJECT`: every row that identifies the subject (the requested id and the ids
linked to it), from every declared table of every layer, as one JSON file per table plus a
manifest (tables, versions read, row counts, files' sha256). Recorded as a request
(``dsar_requests``) and, before anything is read, in the audit trail (an ``export``)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Callable

import pyarrow as pa

from shared_lib import audit, lake, paths, subject_hash
from shared_lib.dsar import identity, match, requests, rows
from shared_lib.dsar.scope import all_scopes, identity_fields

RESOURCE = "dp dsar access"


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _records(scope, found: pa.Table, subject: rows.Subject) -> list[dict]:
    records = found.to_pylist()
    if scope.raw_columns:  # say how each raw column names the subject: its parsed fields, or its text
        fields, ids = identity_fields(), set(subject.ids)
        pattern = re.compile(match.token_pattern(ids))
        for rec in records:
            rec["_matched_by"] = {c: match.matched_by(rec[c], ids, fields) for c in scope.raw_columns
                                  if rec.get(c) and pattern.search(rec[c])}
    return records


def access(params: dict, requested: str, out: Path | None = None,
           progress: Callable[[str], None] = print, request_id: str | None = None) -> dict:
    """Export the subject's rows; returns the manifest (also written as ``manifest.json``)."""
    subject, links = identity.resolve(requested)
    requested_hash = subject_hash.hash_id(requested, subject_hash.workspace_key())
    # Recorded first: without the audit event (Kafka down) nothing is read (AuditError).
    audit.record(params, None, "export", RESOURCE, "success", purpose="compliance", subject_hash=requested_hash)
    actor, _ = audit.actor_from_env()
    request = requests.open_request("access", requested_hash, actor, request_id=request_id)
    folder = Path(out) if out else paths.reports_dir() / "dsar" / request["request_id"]
    folder.mkdir(parents=True, exist_ok=True)
    tables: list[dict] = []
    without: list[str] = []
    for scope in all_scopes():
        if not (scope.personal or scope.hash_columns):
            without.append(scope.table.qualified_name)
            continue
        version = lake.version(scope.table)
        found = rows.find(scope, subject, version=version)
        records = _records(scope, found, subject)
        file = folder / f"{scope.table.qualified_name}.json"
        file.write_text(json.dumps(records, indent=1, default=_json_default, sort_keys=True) + "\n", encoding="utf-8")
        tables.append({"table": scope.table.qualified_name, "layer": scope.table.layer, "version": version,
                       "rows": len(records), "file": file.name,
                       "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
                       "matched_on": _matched_on(scope)})
        if records:
            progress(f"  {scope.table.qualified_name}: {len(records)} row(s)")
    total = sum(int(t["rows"]) for t in tables)
    manifest = {"request_id": request["request_id"], "generated_at": requests.now().isoformat(),
                "subject": requested, "linked_ids": links, "ids": sorted(subject.ids), "rows": total,
                "tables": tables, "tables_without_personal_data": without}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, default=_json_default) + "\n",
                                          encoding="utf-8")
    requests.complete(request, len(subject.ids), total)
    progress(f"dp dsar access: {total} row(s) of {len(subject.ids)} id(s) in {len(tables)} table(s) "
             f"-> {folder} (request {request['request_id']})")
    return manifest


def _matched_on(scope) -> str:
    parts = [f"ids in {', '.join(scope.id_columns)}"] if scope.id_columns else []
    parts += [f"ids as tokens of {', '.join(scope.raw_columns)} (JSON fields parsed)"] if scope.raw_columns else []
    parts += [f"keyed hash in {', '.join(scope.hash_columns)}"] if scope.hash_columns else []
    return "; ".join(parts)
