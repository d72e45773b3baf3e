"""Reading the lake's declared Delta tables with delta-rs: no JVM and no widget library, so the
dashboards, the Prometheus exporter, ``dp demo-summary``, the bench and the tests read a table in
milliseconds. Writes go through ``shared_lib.tables`` (Spark).

A table *exists* once it has its first commit: a table whose creation was cut short has a
``_delta_log`` folder without one, and delta-rs cannot open it.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from shared_lib import products
from shared_lib.products import Table

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from deltalake import DeltaTable

# pandas and deltalake are imported where they are used: shared_lib.tables imports this module in
# every pipeline notebook, and the two cost a second of start-up to code that may never read.


def exists(table: Table) -> bool:
    """True once ``table`` has its first commit."""
    return any((table.path / "_delta_log").glob("*.json"))


def delta_table(table: Table) -> DeltaTable:
    """``table`` opened with delta-rs (it must exist: see ``exists``)."""
    from deltalake import DeltaTable
    return DeltaTable(str(table.path))


def version(table: Table) -> int | None:
    """The table's current version; None before its first commit."""
    return delta_table(table).version() if exists(table) else None


def count_rows(table: Table) -> int:
    """Rows in the table's current version, from the files' statistics where they have them; 0
    before its first commit."""
    return delta_table(table).to_pyarrow_dataset().count_rows() if exists(table) else 0


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


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a declared table (for delta-rs writes of its rows)."""
    import pyarrow as pa

    types = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(),
             "boolean": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC"),
             "array<string>": pa.list_(pa.string())}
    return pa.schema([pa.field(c.name, types[c.type], nullable=c.nullable,
                               metadata={"comment": c.comment} if c.comment else None)
                      for c in table.columns])
