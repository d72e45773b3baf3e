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


def find(scope: Scope, subject: Subject, version: int | None = None, hashes: bool = True) -> pa.Table:
    """The rows of ``scope``'s table (its current version, or ``version``) that identify the
    subject; an empty table when it holds none or does not exist."""
    if not lake.exists(scope.table) or not (scope.personal or (hashes and scope.hash_columns)):
        return pa.table({c.name: pa.array([], pa.null()) for c in scope.table.columns})
    data = _dataset(scope, version)
    parts = []
    conditions = []
    if scope.id_columns:
        conditions.append(match.id_filter(scope.id_columns, subject.ids))
    if hashes and scope.hash_columns:
        conditions.append(match.id_filter(scope.hash_columns, subject.hashes))
    if conditions:
        parts.append(data.to_table(filter=reduce(lambda a, b: a | b, conditions)))
    if scope.raw_columns:
        for batch in data.to_batches():
            mask = reduce(pc.or_, [match.text_mask(batch.column(c), subject.ids) for c in scope.raw_columns])
            if pc.any(mask).as_py():
                parts.append(pa.Table.from_batches([batch.filter(mask)]))
    if not parts:
        return data.schema.empty_table()
    found = pa.concat_tables(parts, promote_options="permissive")
    return found if len(parts) == 1 else _distinct(found)


def _distinct(table: pa.Table) -> pa.Table:
    """A row found by an id and by its text counts once."""
    seen, keep = set(), []
    for i, row in enumerate(table.to_pylist()):
        key = repr(sorted(row.items()))
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return table.take(keep)


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
        return " OR ".join(
            f"(`topic` = {sql_string(t)} AND `partition` = {p} AND `offset` IN ({', '.join(map(str, sorted(o)))}))"
            for (t, p), o in sorted(by_partition.items()))
    ids = sorted({v for c in scope.id_columns for v in found.column(c).to_pylist() if v is not None})
    values = ", ".join(sql_string(i) for i in ids)
    return " OR ".join(f"`{c}` IN ({values})" for c in scope.id_columns)
