"""Run records: one row per notebook run in the platform's Delta table ``pipeline_runs``.

The runner writes them with delta-rs, so recording a run needs no Spark; Spark, DuckDB and the
dashboards read the same table.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from shared_lib import lake, products
from shared_lib.lake import arrow_schema
from shared_lib.paths import PLATFORM

RUNS_TABLE = "pipeline_runs"

def runs_table() -> products.Table:
    return products.get(PLATFORM).table(RUNS_TABLE)


def _ts(epoch: float | None):
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc) if epoch is not None else None


def append(records: list[dict]) -> None:
    """Append run records (dicts keyed by column; epoch floats for the timestamps)."""
    if not records:
        return
    table = runs_table()
    schema = arrow_schema(table)
    rows = [{**r, "started_at": _ts(r.get("started_at")), "ended_at": _ts(r.get("ended_at"))}
            for r in records]
    data = pa.Table.from_pylist([{c: row.get(c) for c in schema.names} for row in rows], schema=schema)
    # merge: a table created before a column was declared gains it (older rows read null)
    lake.append(table, data, description=table.description, name=table.name, schema_mode="merge")


def of_run(run_id: str) -> list[dict]:
    """The records of one ``dp run``, in the order they ran; raises ``UnknownName`` for none."""
    df = lake.read(runs_table())
    mine = df[df["run_id"] == run_id].sort_values("started_at")
    if mine.empty:
        from shared_lib.errors import UnknownName
        raise UnknownName(f"no run {run_id!r} in {runs_table().qualified_name} (see `dp runs`)")
    return mine.to_dict("records")


def read(limit: int | None = None):
    """Run records as a pandas DataFrame, newest first (empty when nothing has run yet)."""
    df = lake.read(runs_table()).sort_values(["started_at", "run_id"], ascending=False)
    return df.head(limit) if limit else df
