"""Reading the lake's declared Delta tables with delta-rs: no JVM and no widget library, so the
dashboards, the Prometheus exporter, ``dp demo-summary``, the bench and the tests read a table in
milliseconds. Writes go through ``shared_lib.tables`` (Spark).

A table *exists* once it has its first commit: a table whose creation was cut short has a
``_delta_log`` folder without one, and delta-rs cannot open it.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from shared_lib import products, storage
from shared_lib.products import Table

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from deltalake import DeltaTable

# pandas and deltalake are imported where they are used: shared_lib.tables imports this module in
# every pipeline notebook, and the two cost a second of start-up to code that may never read.


# A dashboard opened with ``?as_of=RUN_ID`` reads every table as it was when that run ended
# (``as_of_run``): one page per kernel, so a module setting is enough.
_as_of: dt.datetime | None = None


def open_uri(uri: str, version: int | None = None, without_files: bool = False) -> DeltaTable:
    """The Delta table at ``uri`` (a local path or ``s3a://``), with the lake's storage options
    (``without_files``: its log only, for its version or history)."""
    from deltalake import DeltaTable
    return DeltaTable(storage.delta_rs_uri(uri), version=version, storage_options=storage.delta_rs_options(),
                      without_files=without_files)


def has_commit(uri: str | Path) -> bool:
    """Whether the Delta table at ``uri`` has its first commit: locally, a version's JSON or a
    checkpoint in its log; on S3, an attempt to open it (delta-rs lists the log)."""
    uri = str(uri)
    if uri.startswith(storage.S3_SCHEMES):
        from deltalake import DeltaTable
        return DeltaTable.is_deltatable(storage.delta_rs_uri(uri), storage.delta_rs_options())
    log = Path(uri) / "_delta_log"
    return any(log.glob("*.json")) or (log / "_last_checkpoint").exists() or any(log.glob("*.checkpoint*.parquet"))


# delta-rs writes no checkpoint of its own: without one, a reader replays every JSON commit, and
# the platform's run records (a commit per notebook) took longer to read with every run. Spark's
# default interval.
CHECKPOINT_INTERVAL = 10


def write(table: Table, data, **options) -> None:
    """``write_deltalake`` of ``data`` to ``table``'s address (``options``: its keyword arguments),
    then a checkpoint every ``CHECKPOINT_INTERVAL`` versions."""
    from deltalake import write_deltalake

    if not table.uri.startswith(storage.S3_SCHEMES):
        Path(table.uri).parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(storage.delta_rs_uri(table.uri), data, storage_options=storage.delta_rs_options(), **options)
    _upkeep(table, lambda: _checkpoint_if_due(table))


def append(table: Table, data, **options) -> None:
    """``write`` in mode append, for the platform's own tables (a few rows per run): their small
    files compacted as the table writer compacts its own (``maintenance.compact_if_needed``)."""
    from shared_lib import maintenance  # it reads through this module

    write(table, data, mode="append", **options)
    _upkeep(table, lambda: maintenance.compact_if_needed(table))


def _checkpoint_if_due(table: Table) -> None:
    # The log alone tells the version: the file list is loaded only for a checkpoint, one write in ten.
    version = open_uri(table.uri, without_files=True).version()
    if version and version % CHECKPOINT_INTERVAL == 0:
        open_uri(table.uri, version=version).create_checkpoint()


def _upkeep(table: Table, work) -> None:
    try:
        work()
    except Exception as exc:  # the write stands; a concurrent writer may have won the commit
        logging.getLogger(__name__).warning("upkeep of %s after a write failed: %s: %s",
                                            table.qualified_name, type(exc).__name__, exc)


def exists(table: Table) -> bool:
    """True once ``table`` has its first commit (before the as-of moment, when one is set)."""
    if not has_commit(table.uri):
        return False
    return _as_of is None or _first_commit(table) <= _as_of


def _first_commit(table: Table) -> dt.datetime:
    history = open_uri(table.uri).history()
    first = min(history, key=lambda c: c.get("version", 0))
    return dt.datetime.fromtimestamp(first["timestamp"] / 1000, tz=dt.timezone.utc)


def delta_table(table: Table) -> DeltaTable:
    """``table`` opened with delta-rs (it must exist: see ``exists``), as of the as-of moment
    when one is set (Delta time travel by timestamp)."""
    opened = open_uri(table.uri)
    if _as_of is not None:
        opened.load_as_version(_as_of)
    return opened


def as_of_run(run_id: str | None) -> dt.datetime | None:
    """Read every table, from now on, as it was when run ``run_id`` ended (None: as it is now);
    returns that moment. Raises ``UnknownName`` for a run that ``platform.pipeline_runs`` lacks."""
    global _as_of
    _as_of = None
    if not run_id:
        return None
    from shared_lib.errors import UnknownName
    from shared_lib.paths import PLATFORM

    runs = read(products.get(PLATFORM).table("pipeline_runs"), filters=[("run_id", "=", run_id)])
    if runs.empty:
        raise UnknownName(f"no run {run_id!r} in platform.pipeline_runs (see `dp runs`)")
    _as_of = runs["ended_at"].max().to_pydatetime()
    return _as_of


def version(table: Table) -> int | None:
    """The table's current version; None before its first commit."""
    if not exists(table):
        return None
    return delta_table(table).version() if _as_of is not None else open_uri(table.uri, without_files=True).version()


def count_rows(table: Table) -> int:
    """Rows in the table's current version, from the files' statistics where they have them; 0
    before its first commit."""
    return delta_table(table).to_pyarrow_dataset().count_rows() if exists(table) else 0


def arrow_schema(table: Table) -> pa.Schema:
    """The declared columns as an Arrow schema, for writes with delta-rs."""
    import pyarrow as pa

    types = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(),
             "boolean": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC"),
             "array<string>": pa.list_(pa.string())}
    return pa.schema([pa.field(c.name, types[c.type], nullable=c.nullable,
                               metadata={"comment": c.comment} if c.comment else None)
                      for c in table.columns])


def append_rows(table: Table, rows: list[dict]) -> int:
    """Append ``rows`` (dicts keyed by column; missing columns null) to a declared table with
    delta-rs: no Spark, for the platform's own small tables. Returns the version written."""
    import pyarrow as pa

    schema = arrow_schema(table)
    data = pa.Table.from_pylist([{c: row.get(c) for c in schema.names} for row in rows], schema=schema)
    append(table, data, partition_by=list(table.partitioned_by) or None,
           description=table.description, name=table.name)
    return delta_table(table).version()


def read(table: Table, filters: list | None = None) -> pd.DataFrame:
    """A declared table as pandas (``filters``: delta-rs row filters, which also skip files and
    partitions). A table that no run has written yet gives an empty frame with the declared
    columns, so that callers need only one test: ``.empty``."""
    import pandas as pd

    if not exists(table):
        return pd.DataFrame(columns=[c.name for c in table.columns])
    return delta_table(table).to_pandas(filters=filters)


def read_table(product: str, table: str, filters: list | None = None) -> pd.DataFrame:
    """The declared table ``table`` of ``product`` as pandas (see ``read``)."""
    return read(products.get(product).table(table), filters)


def read_latest(product: str, table: str, time_column: str, partition: str = "date") -> pd.DataFrame:
    """The rows of the latest ``time_column`` value of a table that appends one snapshot at a
    time, partitioned by the snapshot's ``partition`` date: only the newest partition is read."""
    declared = products.get(product).table(table)
    if not exists(declared):
        return read(declared)
    dates = [p[partition] for p in delta_table(declared).partitions() if p.get(partition)]
    if not dates:
        return read(declared)
    rows = read(declared, filters=[(partition, "=", dt.date.fromisoformat(max(dates)))])
    return rows[rows[time_column] == rows[time_column].max()].reset_index(drop=True)
