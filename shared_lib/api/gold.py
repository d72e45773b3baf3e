"""Declared tables read with delta-rs (no JVM) behind a cache keyed by the table's version, and
the response models of their rows generated from the declarations.

A gold table is small (daily aggregates): it is read whole once per version and filtered in
memory, so most requests cost a directory listing (the version) and a pandas filter. Larger
tables (silver, for one subject's rows) are read with delta-rs filters, cached per (version,
filters) in a small LRU.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from pydantic import BaseModel, Field, create_model

from shared_lib import lake, storage
from shared_lib.products import Column, Table

if TYPE_CHECKING:
    import pandas as pd

FILTERED_CACHE_SIZE = 256
ANSWER_CACHE_SIZE = 2048


_versions: dict[str, tuple[int, int | None]] = {}  # log folder -> (its mtime, the version then)


def version(table: Table) -> int | None:
    """The table's latest version from its log's file names (no log replay), listed again only
    when the log folder changed (a commit adds a file to it); None before the first commit."""
    return log_version(log_folder(table))


def log_folder(table: Table) -> str:
    return f"{table.uri}/_delta_log"


def log_version(log: str) -> int | None:
    """``version`` of the table whose ``_delta_log`` folder is ``log``."""
    if log.startswith(storage.S3_SCHEMES):  # no folder time to watch: delta-rs lists the log
        uri = log.removesuffix("/_delta_log")
        return lake.open_uri(uri, without_files=True).version() if lake.has_commit(uri) else None
    try:
        stamp = os.stat(log).st_mtime_ns
    except FileNotFoundError:
        return None
    known = _versions.get(log)
    if known is not None and known[0] == stamp:
        return known[1]
    names = [e.name for e in os.scandir(log) if e.name.endswith(".json")]
    numbers = [int(n[:-5]) for n in names if n[:-5].isdigit()]
    found = max(numbers) if numbers else None
    _versions[log] = (stamp, found)
    return found


class TableCache:
    """Whole tables, filtered reads and whole answers, each kept until a table it was read from
    changes version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._whole: dict[str, tuple[int | None, Any]] = {}
        self._filtered: OrderedDict[tuple, Any] = OrderedDict()
        self._answers: OrderedDict[tuple, tuple[bytes, dict | None]] = OrderedDict()
        self._table_locks: dict[str, threading.Lock] = {}
        self.reads = 0  # delta-rs reads done (what the cache saves; tests count them)

    def _table_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._table_locks.setdefault(name, threading.Lock())

    def _as_of(self, key: str, current: int | None, read: Callable[[], Any]) -> Any:
        """What ``read`` gives for ``key`` while its table stays at version ``current``."""
        cached = self._whole.get(key)
        if cached is not None and cached[0] == current:
            return cached[1]
        with self._table_lock(key):  # one reader per key; the others wait for it
            cached = self._whole.get(key)
            if cached is not None and cached[0] == current:
                return cached[1]
            value = read()
            self._whole[key] = (current, value)
            return value

    def frame(self, table: Table) -> pd.DataFrame:
        """The whole table as of its current version (callers must not modify it)."""
        def read() -> pd.DataFrame:
            frame = lake.read(table)
            self.reads += 1
            return frame

        return self._as_of(table.qualified_name, version(table), read)

    def dates(self, table: Table, column: str) -> list[dt.date]:
        """The values of ``table``'s date partition ``column``, ascending (none before its
        first commit), from the log alone."""
        current = version(table)

        def listed() -> list[dt.date]:
            if current is None:
                return []
            return sorted({dt.date.fromisoformat(p[column]) for p in lake.delta_table(table).partitions()
                           if p.get(column)})

        return self._as_of(str((table.qualified_name, "dates", column)), current, listed)

    def _remembered(self, store: OrderedDict, size: int, key: tuple, compute: Callable[[], Any]) -> Any:
        """``store[key]``, made by ``compute`` (outside the lock: other keys are served meanwhile)
        when missing; ``store`` keeps the ``size`` most recently used."""
        with self._lock:
            if key in store:
                store.move_to_end(key)
                return store[key]
        value = compute()
        with self._lock:
            store[key] = value
            while len(store) > size:
                store.popitem(last=False)
        return value

    def filtered(self, table: Table, filters: list[tuple]) -> pd.DataFrame:
        """The rows matching delta-rs ``filters`` (e.g. ``[("user_id", "=", "u1")]``)."""
        def read() -> pd.DataFrame:
            frame = lake.read(table, filters=list(filters))
            self.reads += 1
            return frame

        key = (table.qualified_name, version(table), tuple(filters))
        return self._remembered(self._filtered, FILTERED_CACHE_SIZE, key, read)

    def answer(self, key: tuple, tables: Iterable[Table], compute: Callable[[], tuple[Any, dict | None]]
               ) -> tuple[bytes, dict | None]:
        """The JSON of an answer's ``data`` and its page, computed by ``compute`` once per
        ``key`` (the route and its query) and version of each of ``tables``."""
        def encoded() -> tuple[bytes, dict | None]:
            data, page = compute()
            return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(), page

        full_key = (key, tuple(version(t) for t in tables))
        return self._remembered(self._answers, ANSWER_CACHE_SIZE, full_key, encoded)


def _plain(value: Any) -> Any:
    """A cell as JSON-ready Python: NaN and NaT -> None, dates and times -> ISO text (UTC as Z),
    numpy scalars and arrays -> Python."""
    import numpy as np
    import pandas as pd

    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> list[dict]:
    """Rows as JSON-ready dicts (``columns``: which, in this order; default all)."""
    names = list(columns) if columns is not None else list(frame.columns)
    data = frame[names].to_dict("records") if len(frame) else []
    return [{k: _plain(v) for k, v in row.items()} for row in data]


_TYPES: dict[str, Any] = {"string": str, "int": int, "bigint": int, "smallint": int, "tinyint": int,
                          "double": float, "float": float, "boolean": bool, "date": dt.date,
                          "timestamp": dt.datetime, "array<string>": list[str], "array<date>": list[dt.date]}


def python_type(column: Column) -> Any:
    """The Python type of a declared column in an answer. Personal-data columns may be masked
    (``privacy.MASK``), so they are strings or null whatever their declared type."""
    if column.pii != "none":
        return Optional[str]
    base = _TYPES.get(column.type, Any)
    return Optional[base] if column.nullable else base


_models: dict[tuple, type[BaseModel]] = {}


def row_model(table: Table, columns: Iterable[str] | None = None, name: str | None = None) -> type[BaseModel]:
    """A pydantic model of ``table``'s rows (``columns`` of it), documented with the columns'
    comments, for an endpoint's OpenAPI response."""
    chosen = tuple(columns) if columns is not None else tuple(c.name for c in table.columns)
    key = (table.qualified_name, chosen, name)
    if key not in _models:
        by_name = {c.name: c for c in table.columns}
        fields: dict[str, Any] = {}
        for col in chosen:
            column = by_name[col]
            comment = column.comment + (" (personal data: masked without the grant)" if column.pii != "none" else "")
            fields[col] = (python_type(column), Field(description=comment or None))
        model_name = name or "".join(part.title() for part in table.name.split("_")) + "Row"
        _models[key] = create_model(model_name, **fields)
    return _models[key]
