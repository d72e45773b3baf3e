"""The one table writer. Every Delta write of a notebook goes through here, so that tables are
created from their declaration (types, NOT NULL, comments, partitioning, CHECK constraints) and
every read and write is counted for the run record (table versions, rows written).

Writes use Spark (through the session of ``shared_lib.spark``); versions and history are read
with delta-rs, which needs no JVM.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared_lib.products import Table


@dataclass
class Lineage:
    """What one notebook run read and wrote."""
    tables_read: dict[str, int] = field(default_factory=dict)
    tables_written: dict[str, int] = field(default_factory=dict)
    rows_written: int = 0

    def as_record(self) -> dict:
        return {"tables_read": self.tables_read, "tables_written": self.tables_written,
                "rows_written": self.rows_written}


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ident(path: Path | str) -> str:
    return f"delta.`{path}`"


def create_ddl(table: Table) -> str:
    cols = []
    for col in table.columns:
        null = "" if col.nullable else " NOT NULL"
        comment = f" COMMENT {_sql_string(col.comment)}" if col.comment else ""
        cols.append(f"  `{col.name}` {col.type}{null}{comment}")
    ddl = f"CREATE TABLE IF NOT EXISTS {ident(table.path)} (\n" + ",\n".join(cols) + "\n) USING delta"
    if table.partitioned_by:
        ddl += f"\nPARTITIONED BY ({', '.join(f'`{c}`' for c in table.partitioned_by)})"
    if table.description:
        ddl += f"\nCOMMENT {_sql_string(table.description)}"
    return ddl


def exists(table: Table) -> bool:
    return (table.path / "_delta_log").is_dir()


def version(table: Table) -> int | None:
    if not exists(table):
        return None
    from deltalake import DeltaTable
    return DeltaTable(str(table.path)).version()


def ensure(spark, table: Table) -> None:
    """Create ``table`` from its declaration if it does not exist; add missing CHECK constraints."""
    if not exists(table):
        table.path.parent.mkdir(parents=True, exist_ok=True)
        spark.sql(create_ddl(table))
    if table.checks:
        from deltalake import DeltaTable
        present = DeltaTable(str(table.path)).metadata().configuration
        for name, expr in table.checks:
            if f"delta.constraints.{name.lower()}" not in present:
                spark.sql(f"ALTER TABLE {ident(table.path)} ADD CONSTRAINT {name} CHECK ({expr})")


def rows_in_versions(table: Table, after: int | None, upto: int | None) -> int:
    """Rows written by the commits ``after`` < v <= ``upto``, from Delta's operation metrics."""
    if upto is None:
        return 0
    from deltalake import DeltaTable
    start = -1 if after is None else after
    total = 0
    for commit in DeltaTable(str(table.path)).history(limit=max(1, upto - start)):
        v = commit.get("version")
        if v is None or not (start < v <= upto):
            continue
        metrics = commit.get("operationMetrics") or {}
        if "numOutputRows" in metrics:
            total += int(metrics["numOutputRows"])
        else:
            total += sum(int(metrics.get(k, 0)) for k in ("numTargetRowsInserted", "numTargetRowsUpdated"))
    return total


class Writer:
    """Reads and writes declared tables for one notebook run and keeps its lineage."""

    def __init__(self, spark, run_id: str):
        self.spark = spark
        self.run_id = run_id
        self.lineage = Lineage()

    def read(self, table: Table):
        v = version(table)
        if v is None:
            raise FileNotFoundError(f"table {table.qualified_name} does not exist yet at {table.path}: "
                                    f"run the notebook that writes it first")
        self.lineage.tables_read[table.qualified_name] = v
        return self.spark.read.format("delta").option("versionAsOf", v).load(str(table.path))

    def _written(self, table: Table, before: int | None) -> int:
        after = version(table)
        rows = rows_in_versions(table, before, after)
        if after is not None and after != before:
            self.lineage.tables_written[table.qualified_name] = after
        self.lineage.rows_written += rows
        return rows

    def append_stream(self, df, table: Table, checkpoint: Path, timeout_s: float | None = None) -> int:
        """Append a streaming DataFrame with Trigger.AvailableNow: everything available now,
        exactly once (the checkpoint and Delta's transaction ids make a rerun after a crash
        write each micro-batch once). Returns the rows this run appended."""
        self.ensure(table)
        before = version(table)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        query = (df.writeStream.format("delta").outputMode("append")
                 .option("checkpointLocation", str(checkpoint))
                 .queryName(f"{table.product}_{table.name}_{self.run_id}".replace("-", "_")[:120])
                 .trigger(availableNow=True).start(str(table.path)))
        finished = query.awaitTermination(timeout_s) if timeout_s else query.awaitTermination()
        if finished is False:
            query.stop()
            raise TimeoutError(f"streaming into {table.qualified_name} did not finish within {timeout_s} s")
        if query.exception():
            raise RuntimeError(f"streaming into {table.qualified_name} failed: {query.exception()}")
        return self._written(table, before)

    def ensure(self, table: Table) -> None:
        ensure(self.spark, table)
