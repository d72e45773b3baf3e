"""The cross-check of a pipeline's gold tables against a same-work floor's: row by row on each
table's key, every column compared (floats within a tolerance, lists element by element), the
differences reported per table as short texts. Pure Python on lists of row dicts."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

# Absolute tolerance, and relative to the larger value: the two engines add doubles in other orders.
ABS_TOLERANCE = 1e-6
REL_TOLERANCE = 1e-9
# Columns that say which run wrote a row, not what the row holds.
IGNORED = frozenset({"run_id", "silver_run_id", "refreshed_at"})
MAX_SHOWN = 10  # differences kept per table; the count is always the whole


def _normal(value):
    """Values as both engines give them compared alike: a timestamp as aware UTC, a tuple as a list."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, tuple):
        return list(value)
    return value


def same(a, b, tolerance: float = ABS_TOLERANCE) -> bool:
    """Whether two cell values are equal: floats within ``tolerance`` (absolute) or
    ``REL_TOLERANCE`` (relative), NaN equal to NaN, lists element by element."""
    a, b = _normal(a), _normal(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, tolerance) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
            return False
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= max(tolerance, REL_TOLERANCE * max(abs(a), abs(b)))
    return a == b


def _keyed(rows: Sequence[Mapping], keys: Sequence[str], side: str, diffs: list[str]) -> dict:
    out: dict = {}
    for row in rows:
        key = tuple(_normal(row[k]) for k in keys)
        if key in out:
            diffs.append(f"{_show(key)}: twice in {side}")
        out[key] = row
    return out


def _show(key: tuple) -> str:
    return "/".join("null" if k is None else str(k) for k in key)


def compare_table(pipeline: Sequence[Mapping], floor: Sequence[Mapping], keys: Sequence[str],
                  tolerances: Mapping[str, float] | None = None) -> list[str]:
    """The differences between one table's rows from the pipeline and from the floor (none: they
    match): rows only on one side, a key twice on one side, and each column of a row present on
    both whose values differ (``tolerances``: a column's absolute float tolerance instead of
    ``ABS_TOLERANCE``). A column on one side only is one difference, not one per row."""
    diffs: list[str] = []
    ours, theirs = _keyed(pipeline, keys, "pipeline", diffs), _keyed(floor, keys, "floor", diffs)
    columns_ours = {c for row in pipeline[:1] for c in row} - IGNORED
    columns_theirs = {c for row in floor[:1] for c in row} - IGNORED
    if pipeline and floor:
        diffs += [f"column {c}: only in the pipeline" for c in sorted(columns_ours - columns_theirs)]
        diffs += [f"column {c}: only in the floor" for c in sorted(columns_theirs - columns_ours)]
    compared = sorted((columns_ours & columns_theirs) - set(keys))
    for key in sorted(set(ours) | set(theirs), key=lambda k: tuple((v is not None, str(v)) for v in k)):
        if key not in theirs:
            diffs.append(f"{_show(key)}: only in the pipeline")
        elif key not in ours:
            diffs.append(f"{_show(key)}: only in the floor")
        else:
            a, b = ours[key], theirs[key]
            diffs += [f"{_show(key)} {c}: pipeline {a[c]!r} vs floor {b[c]!r}" for c in compared
                      if not same(a[c], b[c], (tolerances or {}).get(c, ABS_TOLERANCE))]
    return diffs


def compare_tables(pipeline: Mapping[str, Sequence[Mapping]], floor: Mapping[str, Sequence[Mapping]],
                   keys: Mapping[str, Sequence[str]],
                   tolerances: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, list[str]]:
    """``compare_table`` for every table of ``keys`` (its key columns): {table: differences}.
    A table the floor did not compute is one difference."""
    out = {}
    for table, key in keys.items():
        if table not in floor:
            out[table] = ["not computed by the floor"]
        elif table not in pipeline:
            out[table] = ["not in the pipeline's gold"]
        else:
            out[table] = compare_table(pipeline[table], floor[table], key, (tolerances or {}).get(table))
    return out


def summary(diffs: Mapping[str, list[str]]) -> str:
    """One line: the tables that match, and per other table its difference count and first few."""
    matching = [t for t, d in diffs.items() if not d]
    parts = [f"{len(matching)}/{len(diffs)} tables match"]
    for table, found in diffs.items():
        if found:
            parts.append(f"{table}: {len(found)} difference(s): " + "; ".join(found[:3]))
    return "; ".join(parts)
