"""The one table writer. Every Delta write of a notebook goes through here, so that tables are
created from their declaration (types, NOT NULL, comments, partitioning, CHECK constraints) and
every read and write is counted for the run record (table versions, rows written).

Writes use Spark (through the session of ``shared_lib.spark``); versions and history are read
with delta-rs, which needs no JVM.
"""
from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from shared_lib import lake, maintenance, storage
from shared_lib.errors import MissingFile, UserError
from shared_lib.lake import exists, version  # defined there; callers may ask tables too
from shared_lib.products import Table


@dataclass
class Lineage:
    """What one notebook run read and wrote."""
    tables_read: dict[str, int] = field(default_factory=dict)
    tables_written: dict[str, int] = field(default_factory=dict)
    rows_written: int = 0
    # Per table, for the step's summary in the notebook (the run record keeps the total only).
    rows_by_table: dict[str, int] = field(default_factory=dict)

    def as_record(self) -> dict:
        return {"tables_read": self.tables_read, "tables_written": self.tables_written,
                "rows_written": self.rows_written}


STATS_COLUMNS = "delta.dataSkippingStatsColumns"


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
    ddl = f"CREATE TABLE IF NOT EXISTS {ident(table.uri)} (\n" + ",\n".join(cols) + "\n) USING delta"
    if table.partitioned_by:
        ddl += f"\nPARTITIONED BY ({', '.join(f'`{c}`' for c in table.partitioned_by)})"
    if table.description:
        ddl += f"\nCOMMENT {_sql_string(table.description)}"
    # CHECK constraints are table properties in Delta; set at creation they cost nothing,
    # while ALTER TABLE ADD CONSTRAINT runs a validating job (10-25 s on this machine).
    props = {f"delta.constraints.{name.lower()}": expr for name, expr in table.checks}
    props.update(_stats_property(table))
    props.update(table.properties)
    if props:
        ddl += "\nTBLPROPERTIES (" + ", ".join(f"{_sql_string(k)} = {_sql_string(v)}" for k, v in props.items()) + ")"
    return ddl


def _stats_property(table: Table) -> dict[str, str]:
    return {STATS_COLUMNS: ",".join(table.stats_columns)} if table.stats_columns else {}


def ensure(spark, table: Table) -> None:
    """Create ``table`` from its declaration if it does not exist; bring an existing one's
    columns, CHECK constraints and statistics columns up to the declaration (added since it was
    created; a column added later must be nullable: the rows before it have none)."""
    if not exists(table):
        if not storage.current().on_s3:  # (an object store has no folders to prepare or clear)
            clear_failed_creation(table)
            table.path.parent.mkdir(parents=True, exist_ok=True)
        spark.sql(create_ddl(table))
        return
    delta = lake.delta_table(table)
    _migrate_columns(spark, table, [f.name for f in delta.schema().fields])
    if not (table.checks or table.stats_columns or table.properties):
        return
    present = delta.metadata().configuration
    for name, expr in table.checks:
        if f"delta.constraints.{name.lower()}" not in present:
            spark.sql(f"ALTER TABLE {ident(table.uri)} ADD CONSTRAINT {name} CHECK ({expr})")
    wanted = {**_stats_property(table), **dict(table.properties)}
    changed = {k: v for k, v in wanted.items() if present.get(k) != v}
    if changed:
        spark.sql(f"ALTER TABLE {ident(table.uri)} SET TBLPROPERTIES ("
                  + ", ".join(f"{_sql_string(k)} = {_sql_string(v)}" for k, v in changed.items()) + ")")


def clear_failed_creation(table: Table) -> bool:
    """Remove the ``_delta_log`` that a creation cut short (a full disk, a crash) left without a
    commit; returns whether there was one. Delta's ``CREATE TABLE IF NOT EXISTS`` on a path takes
    any non-empty folder for a table and does nothing, so the table would never be created. Only a
    log without a commit goes: anything else in the folder is refused, never deleted."""
    log = table.path / "_delta_log"
    if lake.has_commit(table.path) or not table.path.is_dir():
        return False
    others = sorted(p.name for p in table.path.iterdir() if p.name != "_delta_log")
    if others:
        raise UserError(f"table {table.qualified_name} at {table.path} has no Delta commit but holds "
                        f"{', '.join(others[:5])}{' ...' if len(others) > 5 else ''}: not a table the platform "
                        f"wrote; move that folder away (or remove it), then run again to create the table")
    if not log.exists():
        return False
    left = sorted(str(p.relative_to(log)) for p in log.rglob("*"))
    logging.getLogger(__name__).warning("table %s at %s was half-created (its _delta_log held %s, no commit): "
                                        "cleared, creating it again", table.qualified_name, table.path,
                                        ", ".join(left) or "nothing")
    shutil.rmtree(log)
    return True


def _migrate_columns(spark, table: Table, existing: list[str]) -> None:
    """Add the declared nullable columns that an existing table lacks (older rows read null);
    refuse a table that holds a column no longer declared or a new NOT NULL one: its old rows
    would keep data the declaration has dropped (e.g. a raw IP), so it must be rebuilt."""
    declared = {c.name: c for c in table.columns}
    dropped = [name for name in existing if name not in declared]
    added = [c for c in table.columns if c.name not in existing]
    not_null = [c.name for c in added if not c.nullable]
    if dropped or not_null:
        problem = (f"holds column(s) {', '.join(dropped)} no longer declared" if dropped
                   else f"lacks NOT NULL column(s) {', '.join(not_null)}")
        raise UserError(f"table {table.qualified_name} at {table.uri} {problem} in products/"
                        f"{table.product.replace('-', '_')}/product.yaml: rebuild it (remove that folder, "
                        f"and the tables computed from it, then dp run --product {table.product})")
    if added:
        spark.sql(f"ALTER TABLE {ident(table.uri)} ADD COLUMNS ("
                  + ", ".join(f"`{c.name}` {c.type}" + (f" COMMENT {_sql_string(c.comment)}" if c.comment else "")
                              for c in added) + ")")


def rows_in_versions(table: Table, after: int | None, upto: int | None) -> int:
    """Rows written by the commits ``after`` < v <= ``upto``, from Delta's operation metrics."""
    if upto is None:
        return 0
    start = -1 if after is None else after
    total = 0
    for commit in lake.delta_table(table).history(limit=max(1, upto - start)):
        v = commit.get("version")
        if v is None or not (start < v <= upto):
            continue
        metrics = commit.get("operationMetrics") or {}
        if "numOutputRows" in metrics:
            total += int(metrics["numOutputRows"])
        elif "num_added_rows" in metrics:  # a commit of delta-rs (``Writer.*_collected``)
            total += int(metrics["num_added_rows"])
        else:
            total += sum(int(metrics.get(k, 0)) for k in ("numTargetRowsInserted", "numTargetRowsUpdated"))
    return total


class Writer:
    """Reads and writes declared tables for one notebook run and keeps its lineage."""

    def __init__(self, spark, run_id: str, compaction: maintenance.Settings | None = maintenance.DEFAULT):
        self.spark = spark
        self.run_id = run_id
        self.lineage = Lineage()
        self._lock = threading.Lock()  # writes may run side by side (``write_all``)
        # After each write, the partitions crowded with small files are compacted (None: never),
        # so incremental runs do not leave a table with thousands of small files.
        self.compaction = compaction

    def read(self, table: Table, as_of: int | None = None):
        """``table`` at its current version, or at version ``as_of``."""
        v = version(table) if as_of is None else as_of
        if v is None:
            raise MissingFile(f"table {table.qualified_name} does not exist yet at {table.uri}: "
                                    f"run the notebook that writes it first")
        self.lineage.tables_read[table.qualified_name] = v
        return self.spark.read.format("delta").option("versionAsOf", v).load(table.uri)

    def _written(self, table: Table, before: int | None) -> int:
        after = version(table)
        rows = rows_in_versions(table, before, after)
        with self._lock:
            if after is not None and after != before:
                self.lineage.tables_written[table.qualified_name] = after
                by_table = self.lineage.rows_by_table
                by_table[table.qualified_name] = by_table.get(table.qualified_name, 0) + rows
            self.lineage.rows_written += rows
        if after is not None and after != before and self.compaction is not None:
            self._compact(table)
        return rows

    def _compact(self, table: Table) -> None:
        try:
            maintenance.compact_if_needed(table, self.compaction or maintenance.DEFAULT)
        except Exception as exc:  # the write stands; the scheduled maintenance step reports the table
            logging.getLogger(__name__).warning("compaction of %s after a write failed: %s: %s",
                                                table.qualified_name, type(exc).__name__, exc)

    def write_all(self, writes: list[Callable[[], int]], parallel: int = 2) -> list[int]:
        """Run independent writes (calls of this writer's methods) ``parallel`` at a time; returns
        their results in order, or raises the first failure once all have ended. Spark runs one
        write's jobs while another waits on its Delta commit or its driver-side planning, so the
        cores stay busy; writes that depend on each other must not be given together."""
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = [pool.submit(write) for write in writes]
        return [f.result() for f in futures]

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
                 .trigger(availableNow=True).start(table.uri))
        finished = query.awaitTermination(timeout_s) if timeout_s else query.awaitTermination()
        if finished is False:
            query.stop()
            raise TimeoutError(f"streaming into {table.qualified_name} did not finish within {timeout_s} s")
        if query.exception():
            raise RuntimeError(f"streaming into {table.qualified_name} failed: {query.exception()}")
        return self._written(table, before)

    def ensure(self, table: Table) -> None:
        ensure(self.spark, table)

    def append(self, df, table: Table) -> int:
        """Append a batch DataFrame; returns the rows appended."""
        self.ensure(table)
        before = version(table)
        conform(df, table).write.format("delta").mode("append").save(table.uri)
        return self._written(table, before)

    def replace(self, df, table: Table, where: str) -> int:
        """Atomically replace the rows matching ``where`` (a SQL predicate, typically on the
        partition column) by ``df``, whose rows must all match it. Rerunning with the same
        ``df`` leaves the same content. Returns the rows written."""
        self.ensure(table)
        before = version(table)
        (conform(df, table).write.format("delta").mode("overwrite").option("replaceWhere", where)
         .save(table.uri))
        return self._written(table, before)

    # Small results (gold aggregates, bookkeeping rows) are computed by Spark but written by
    # delta-rs: a Spark write costs 3-4 s of CPU per table on this machine (planning, the write
    # job, Delta's commit and snapshot jobs), a delta-rs commit a few milliseconds. delta-rs checks
    # the same NOT NULL and CHECK constraints (a CHECK on NULL fails, as in Spark), refuses a row
    # outside ``where``, and Spark reads its commits like its own.

    def append_collected(self, df, table: Table) -> int:
        """``append`` for rows few enough to hold in memory (collected as Arrow)."""
        return self._write_collected(df, table, mode="append")

    def replace_collected(self, df, table: Table, where: str) -> int:
        """``replace`` for rows few enough to hold in memory (collected as Arrow); ``where`` as
        for ``replace`` (e.g. ``in_predicate``), and every row of ``df`` must match it."""
        return self._write_collected(df, table, mode="overwrite", predicate=where)

    def _write_collected(self, df, table: Table, mode: str, predicate: str | None = None) -> int:
        self.ensure(table)
        before = version(table)
        rows = conform(df, table).toArrow()
        try:
            lake.write(table, rows, mode=mode, predicate=predicate)
        except Exception as exc:  # delta-rs shows the offending rows, not the table nor the rules
            rules = [f"where {predicate}"] if predicate else []
            rules += [f"{name} CHECK ({expr})" for name, expr in table.checks]
            rules += [f"{c.name} NOT NULL" for c in table.columns if not c.nullable]
            raise ValueError(f"cannot write {table.qualified_name}: {exc}\n"
                             f"(every row must satisfy: {'; '.join(rules)})") from exc
        return self._written(table, before)

    def merge(self, df, table: Table, keys: list[str], deletes=None, within: dict | None = None) -> int:
        """Upsert ``df`` by ``keys`` and delete the rows whose keys are in ``deletes`` but not in
        ``df``, in one MERGE (one commit). ``within`` ({column: values}, typically partition
        values) limits the table rows the MERGE reads: every row that ``df`` or ``deletes``
        matches must lie within it. Returns the rows inserted or updated."""
        from pyspark.sql import functions as F

        self.ensure(table)
        before = version(table)
        source = conform(df, table).withColumn("_dp_delete", F.lit(False))
        if deletes is not None:
            gone = deletes.select(*keys).distinct().join(df.select(*keys), keys, "left_anti")
            source = source.unionByName(gone.select(
                *[F.col(c.name) if c.name in keys else F.lit(None).cast(c.type).alias(c.name)
                  for c in table.columns], F.lit(True).alias("_dp_delete")))
        view = f"_dp_merge_{uuid.uuid4().hex}"
        source.createOrReplaceTempView(view)
        names = [f"`{c.name}`" for c in table.columns]
        on = " AND ".join([f"t.`{k}` = s.`{k}`" for k in keys]
                          + [in_predicate(c, values, "t") for c, values in (within or {}).items()])
        try:
            self.spark.sql(
                f"MERGE INTO {ident(table.uri)} t USING {view} s "
                f"ON {on} "
                f"WHEN MATCHED AND s._dp_delete THEN DELETE "
                f"WHEN MATCHED THEN UPDATE SET {', '.join(f't.{n} = s.{n}' for n in names)} "
                f"WHEN NOT MATCHED AND NOT s._dp_delete THEN INSERT ({', '.join(names)}) "
                f"VALUES ({', '.join(f's.{n}' for n in names)})")
        finally:
            self.spark.catalog.dropTempView(view)
        return self._written(table, before)


    def delete_matching(self, rows, table: Table, keys: list[str], within: dict | None = None) -> int:
        """Delete the rows of ``table`` whose ``keys`` are in ``rows``, in one commit; ``within``
        as for ``merge``. Deleting what is gone already changes nothing (a rerun after a crash).
        Returns the rows deleted."""
        self.ensure(table)
        before = version(table)
        view = f"_dp_delete_{uuid.uuid4().hex}"
        rows.select(*keys).distinct().createOrReplaceTempView(view)
        on = " AND ".join([f"t.`{k}` = s.`{k}`" for k in keys]
                          + [in_predicate(c, values, "t") for c, values in (within or {}).items()])
        try:
            self.spark.sql(f"MERGE INTO {ident(table.uri)} t USING {view} s ON {on} WHEN MATCHED THEN DELETE")
        finally:
            self.spark.catalog.dropTempView(view)
        self._written(table, before)
        after = version(table)
        if after is None or after == before:
            return 0
        metrics = lake.delta_table(table).history(limit=1)[0].get("operationMetrics") or {}
        return int(metrics.get("numTargetRowsDeleted", 0))


def sql_literal(value) -> str:
    if isinstance(value, dt.datetime):
        raise TypeError("timestamps are ambiguous as SQL literals here; pass dates or epoch numbers")
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return _sql_string(value)
    raise TypeError(f"no SQL literal for {value!r}")


def in_predicate(column: str, values, alias: str | None = None) -> str:
    """``alias.`column` IN (literal, ...)``, e.g. for ``replaceWhere`` on partition values."""
    name = f"{alias}.`{column}`" if alias else f"`{column}`"
    return f"{name} IN ({', '.join(sql_literal(v) for v in values)})"


def conform(df, table: Table):
    """``df`` with exactly the declared columns, in declared order and types: a missing column
    fails here, by name, rather than as a schema mismatch deep in Delta."""
    from pyspark.sql import functions as F

    missing = [c.name for c in table.columns if c.name not in df.columns]
    if missing:
        raise ValueError(f"cannot write {table.qualified_name}: missing column(s) {', '.join(missing)}")
    return df.select(*[F.col(c.name).cast(c.type).alias(c.name) for c in table.columns])
