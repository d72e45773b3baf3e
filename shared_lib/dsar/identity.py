"""Who the subject is: the requested id and the ids linked to it in silver (a web cookie seen
with that user id, a mobile device seen with it; or the user id a cookie or device was seen
with). One hop: a user's cookie does not bring in the other users of a shared device."""
from __future__ import annotations

import pyarrow.compute as pc

from shared_lib import lake, subject_hash
from shared_lib.dsar import match
from shared_lib.dsar.rows import Subject
from shared_lib.dsar.scope import all_scopes


def linked(requested: str) -> dict[str, list[str]]:
    """{linked id: ["<table>.<column>", ...] where it was seen with ``requested``}."""
    out: dict[str, list[str]] = {}
    for scope in all_scopes():
        if scope.table.layer != "silver" or len(scope.id_columns) < 2 or not lake.exists(scope.table):
            continue
        seen = []
        for batch in lake.delta_table(scope.table).to_pyarrow_dataset().to_batches(columns=list(scope.id_columns)):
            mask = match.in_set(batch.column(0), [requested])
            for i in range(1, batch.num_columns):
                mask = pc.or_(mask, match.in_set(batch.column(i), [requested]))
            seen += batch.filter(mask).to_pylist()
        for value, columns in match.linked_ids(seen, requested).items():
            where = out.setdefault(value, [])
            where += [f"{scope.table.qualified_name}.{c}" for c in columns if f"{scope.table.qualified_name}.{c}" not in where]
    return out


def resolve(requested: str, known: dict[str, list[str]] | None = None) -> tuple[Subject, dict[str, list[str]]]:
    """The subject of a request naming ``requested``, and where each linked id was seen.
    ``known``: the links found by an earlier, interrupted erasure (silver no longer has them)."""
    if not requested or not requested.strip():
        from shared_lib.errors import UserError
        raise UserError("the subject id is empty: name the id the request is about")
    links = dict(known) if known is not None else linked(requested)
    ids = frozenset({requested, *links})
    key = subject_hash.workspace_key()
    return Subject(requested, ids, frozenset(subject_hash.hash_id(i, key) for i in ids)), links
