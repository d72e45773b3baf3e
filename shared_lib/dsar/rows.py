"""A subject's rows in one declared table, read with delta-rs (no Spark): by id in its
``subject_id`` columns, by token in its ``raw`` columns, by keyed hash in ``subject_hash``."""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from shared_lib import lake
from shared_lib.dsar import match
from shared_lib.dsar.scope import Scope


@dataclass(frozen=True)
class Subject:
    """The ids treated as one data subject and their keyed hashes."""
    requested: str
    ids: frozenset[str]
    hashes: frozenset[str]


def _dataset(scope: Scope, version: int | None = None) -> ds.Dataset:
    table = lake.delta_table(scope.table)
    if version is not None:
        table.load_as_version(version)
    return table.to_pyarrow_dataset()


def key_columns(scope: Scope) -> list[str]:
    """What ``delete_predicate`` needs of the found rows: Kafka coordinates of raw messages, else
    the ``subject_id`` columns."""
    return list(scope.coordinates) if scope.raw_columns and scope.coordinates else list(scope.id_columns)


def find(scope: Scope, subject: Subject, version: int | None = None, hashes: bool = True,
         columns: list[str] | None = None) -> pa.Table:
    """The rows of ``scope``'s table (its current version, or ``version``) that identify the
    subject, with all their columns or only ``columns``; an empty table when it holds none or
    does not exist."""
    names = columns if columns is not None else [c.name for c in scope.table.columns]
    if not lake.exists(scope.table) or not (scope.personal or (hashes and scope.hash_columns)):
        return pa.table({c: pa.array([], pa.null()) for c in names})
    data = _dataset(scope, version)
    # Only the columns matched on and returned are read (silver's events have ~30 columns).
    read = None if columns is None else list(dict.fromkeys(
        [*columns, *scope.id_columns, *scope.raw_columns, *(scope.hash_columns if hashes else ())]))
    parts = []
    # Batches filtered here, not a dataset filter: files that delta-rs rewrote (a DELETE) hold
    # their strings as Arrow string views, and a pushed-down filter cannot compare those.
    for batch in data.to_batches(columns=read):
        masks = []
        if scope.id_columns:
            masks += [match.in_set(batch.column(c), subject.ids) for c in scope.id_columns]
        if hashes and scope.hash_columns:
            masks += [match.in_set(batch.column(c), subject.hashes) for c in scope.hash_columns]
        masks += [match.text_mask(batch.column(c), subject.ids) for c in scope.raw_columns]
        if not masks:
            continue
        mask = reduce(pc.or_, masks)
        if pc.any(mask).as_py():
            found = batch.filter(mask)
            parts.append(pa.Table.from_batches([found if columns is None else found.select(columns)]))
    if not parts:
        schema = data.schema
        return (schema if columns is None else pa.schema([schema.field(c) for c in columns])).empty_table()
    return pa.concat_tables(parts, promote_options="permissive")


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def delete_predicate(scope: Scope, found: pa.Table) -> str | None:
    """The delta-rs DELETE predicate of the ``found`` rows: their Kafka coordinates for raw
    messages, else the subject's ids in the ``subject_id`` columns."""
    if found.num_rows == 0:
        return None
    if scope.raw_columns:
        if not scope.coordinates:
            raise ValueError(f"{scope.table.qualified_name}: raw columns without Kafka coordinates "
                             f"cannot be erased row by row")
        by_partition: dict[tuple[str, int], list[int]] = {}
        for row in found.select(list(scope.coordinates)).to_pylist():
            by_partition.setdefault((row["topic"], row["partition"]), []).append(row["offset"])
        # The offsets' range as well: delta-rs skips the files whose offset statistics lie outside
        # it (it does not prune on an IN list of more than a few values).
        return " OR ".join(
            f"(`topic` = {sql_string(t)} AND `partition` = {p} AND `offset` >= {min(o)} AND `offset` <= {max(o)} "
            f"AND `offset` IN ({', '.join(map(str, sorted(o)))}))"
            for (t, p), o in sorted(by_partition.items()))
    ids = sorted({v for c in scope.id_columns for v in found.column(c).to_pylist() if v is not None})
    values = ", ".join(sql_string(i) for i in ids)
    return " OR ".join(f"`{c}` IN ({values})" for c in scope.id_columns)
