"""Pipeline health, gathered by the ``health`` notebook after every other notebook of a run:

- ``pipeline_daily``: the runner's run records (``platform.pipeline_runs``) per product x day;
- ``table_freshness``: every declared table's last commit (delta-rs), and for tables with an
  ``event_ts`` column the newest event, from the files' statistics (no data read);
- ``consumer_lag``: per topic, the broker's end offsets against the highest offset in the bronze
  table that reads it, in messages and in seconds (age of the oldest unread message);
- ``quality``: per silver table and run, rows that passed the contract / rows checked, from the
  products' ``batches`` rows;
- ``process_samples`` and ``disk_usage``: the service processes and the disk (``infrastructure``);
- ``cost_daily`` and ``cost_by_notebook``: recomputed for the last days (``costs``).

The row builders are pure functions; ``run`` does the reads and writes.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from products.operational_metrics import costs, infrastructure
from shared_lib import catalog, lake, paths, products, tables
from shared_lib import kafka as kafka_lib
from shared_lib.paths import PLATFORM

RUNS_TABLE = "pipeline_runs"
FRESHNESS_SCHEMA = ("evaluated_at timestamp, date date, table_name string, product string, layer string, "
                    "version bigint, last_commit_at timestamp, freshness_s double, max_event_ts timestamp, "
                    "event_freshness_s double")
LAG_SCHEMA = ("evaluated_at timestamp, date date, topic string, product string, end_offset bigint, "
              "ingested_offset bigint, lag_messages bigint, lag_seconds double")
EVENT_TS = "event_ts"


# --- pure row builders ---------------------------------------------------------------------

def pipeline_daily(runs: DataFrame, dates: list[dt.date]) -> DataFrame:
    """Per UTC day (of ``started_at``) in ``dates`` x product: runs, succeeded, failed, skipped,
    success rate (succeeded / runs), mean and max duration of the runs that executed, rows written.
    A notebook found up to date (``runners.freshness``) was not run: not counted."""
    executed = F.col("status") != "skipped"
    count = lambda status: F.sum((F.col("status") == status).cast("long"))  # noqa: E731
    runs = runs.where(F.col("status") != "up_to_date")
    return (runs.withColumn("date", F.to_date("started_at")).where(F.col("date").isin(dates))
            .groupBy("date", "product")
            .agg(F.count("*").alias("runs"), count("succeeded").alias("succeeded"),
                 count("failed").alias("failed"), count("skipped").alias("skipped"),
                 F.avg(F.when(executed, F.col("duration_s"))).alias("avg_duration_s"),
                 F.max(F.when(executed, F.col("duration_s"))).alias("max_duration_s"),
                 F.coalesce(F.sum("rows_written"), F.lit(0)).alias("rows_written"))
            .withColumn("success_rate", F.col("succeeded") / F.col("runs")))


def _seconds(later: dt.datetime, earlier: dt.datetime | None) -> float | None:
    return None if earlier is None else (later - earlier).total_seconds()


def freshness_row(entry: dict, max_event_ts: dt.datetime | None, now: dt.datetime) -> dict:
    """One ``table_freshness`` row from a ``catalog.entries()`` entry."""
    last = dt.datetime.fromisoformat(entry["last_commit"]) if entry.get("last_commit") else None
    return {"evaluated_at": now, "date": now.date(), "table_name": entry["name"], "product": entry["product"],
            "layer": entry["layer"], "version": entry["version"], "last_commit_at": last,
            "freshness_s": _seconds(now, last), "max_event_ts": max_event_ts,
            "event_freshness_s": _seconds(now, max_event_ts)}


def lag_row(topic: str, product: str, end: dict[int, int], begin: dict[int, int], ingested: dict[int, int],
            first_unread_ms: dict[int, int], now: dt.datetime) -> dict:
    """One ``consumer_lag`` row. ``end``/``begin``: the broker's offsets per partition; ``ingested``:
    the highest offset in bronze per partition; ``first_unread_ms``: Kafka time of the first
    unread message of each lagging partition. A partition bronze has never read starts at the
    broker's earliest offset."""
    nxt = next_offsets(end, begin, ingested)
    lag = {p: max(0, end[p] - nxt[p]) for p in end}
    oldest = [first_unread_ms[p] for p, n in lag.items() if n > 0 and p in first_unread_ms]
    age = max(0.0, now.timestamp() - min(oldest) / 1000) if oldest else 0.0
    return {"evaluated_at": now, "date": now.date(), "topic": topic, "product": product,
            "end_offset": sum(end.values()), "ingested_offset": sum(min(nxt[p], end[p]) for p in end),
            "lag_messages": sum(lag.values()), "lag_seconds": age}


def next_offsets(end: dict[int, int], begin: dict[int, int], ingested: dict[int, int]) -> dict[int, int]:
    """The next offset bronze will read, per partition."""
    return {p: max(ingested.get(p, -1) + 1, begin.get(p, 0)) for p in end}


def quality(batches: DataFrame, product: str, table_name: str) -> DataFrame:
    """``quality`` rows of one product's ``batches``: valid rows are those that passed the
    contract (checked - quarantined); duplicates are valid messages, dropped for being repeats."""
    checked, quarantined = F.col("bronze_rows"), F.col("quarantined_rows")
    return batches.where(checked > 0).select(
        F.lit(table_name).alias("table_name"), F.lit(product).alias("product"), "run_id", "processed_at",
        checked.alias("rows_checked"), (checked - quarantined).alias("valid_rows"),
        quarantined.alias("quarantined_rows"), F.col("duplicate_rows"),
        ((checked - quarantined) / checked).alias("quality_score"))


# --- reads and writes ----------------------------------------------------------------------

def _declared(layer: str | None = None, with_column: str | None = None):
    for product in products.all_products().values():
        for table in product.tables:
            if (layer is None or table.layer == layer) and (
                    with_column is None or any(c.name == with_column for c in table.columns)):
                yield product, table


def max_event_ts(table: products.Table) -> dt.datetime | None:
    """Newest ``event_ts`` of a table from its files' statistics (delta-rs, no data read)."""
    import pyarrow as pa

    if not tables.exists(table):
        return None
    actions = pa.table(lake.delta_table(table).get_add_actions(flatten=True))
    column = f"max.{EVENT_TS}"
    if column not in actions.column_names or actions.num_rows == 0:
        return None
    value = pa.compute.max(actions[column]).as_py()
    return value.astimezone(dt.timezone.utc) if value is not None else None


def freshness_rows(now: dt.datetime) -> list[dict]:
    with_events = {t.qualified_name: t for _, t in _declared(with_column=EVENT_TS) if t.layer == "silver"}
    return [freshness_row(e, max_event_ts(with_events[e["name"]]) if e["name"] in with_events else None, now)
            for e in catalog.entries() if e["exists"]]


def lag_rows(ctx, now: dt.datetime) -> list[dict]:
    rows = []
    for product, table in _declared(layer="bronze", with_column="offset"):
        for topic in product.topics:
            ingested = {}
            if tables.exists(table):
                found = (ctx.read(table.name, product.name).where(F.col("topic") == topic)
                         .groupBy("partition").agg(F.max("offset").alias("last")).collect())
                ingested = {r["partition"]: r["last"] for r in found}
            end = kafka_lib.end_offsets(ctx.params, topic)
            begin = kafka_lib.beginning_offsets(ctx.params, topic)
            lagging = {p: n for p, n in next_offsets(end, begin, ingested).items() if n < end[p]}
            first = kafka_lib.timestamps_at(ctx.params, topic, lagging)
            rows.append(lag_row(topic, product.name, end, begin, ingested, first, now))
    return rows


def new_quality(ctx) -> DataFrame | None:
    """Quality rows of the silver batches not yet in ``quality``."""
    parts = []
    for product, table in _declared(layer="silver"):
        if table.name == "batches" and tables.exists(table):
            events = next((t for t in product.tables if t.layer == "silver" and t.name == "events"), None)
            name = events.qualified_name if events else table.qualified_name
            parts.append(quality(ctx.read(table.name, product.name), product.name, name))
    if not parts:
        return None
    found = parts[0]
    for part in parts[1:]:
        found = found.unionByName(part)
    return found.join(ctx.read("quality").select("table_name", "run_id"), ["table_name", "run_id"], "left_anti")


def read_rows() -> int:
    """Rows of what the health step reads with Spark (every bronze table, the run records), from
    the Delta logs."""
    read = [t for _, t in _declared(layer="bronze", with_column="offset")] + [products.get(PLATFORM).table(RUNS_TABLE)]
    return sum(lake.count_rows(t) for t in read)


def run(ctx, now: dt.datetime | None = None) -> dict:
    """Gather pipeline health at ``now`` (default: the wall clock); returns what was written."""
    with ctx.evaluated_for(read_rows()):
        return _gathered(ctx, now)


def _gathered(ctx, now: dt.datetime | None) -> dict:
    writer, own = ctx.writer, ctx.own["health"]
    for name in ("pipeline_daily", "table_freshness", "consumer_lag", "quality", "process_samples", "disk_usage",
                 "cost_daily", "cost_by_notebook"):
        writer.ensure(ctx.table(name))
    # The clock is read, and the commits with it, before this run writes anything: its own
    # writes would otherwise be "fresher than now".
    now = now or dt.datetime.now(dt.timezone.utc)
    freshness = freshness_rows(now)
    result = {"evaluated_at": now.isoformat()}
    runs_table = products.get(PLATFORM).table(RUNS_TABLE)
    if tables.exists(runs_table):
        dates = [now.date() - dt.timedelta(days=i) for i in range(own["recompute_days"])]
        result["pipeline_days"] = writer.replace_collected(pipeline_daily(ctx.read(RUNS_TABLE, PLATFORM), dates),
                                                 ctx.table("pipeline_daily"), tables.in_predicate("date", dates))
    writer.append_collected(ctx.spark.createDataFrame(freshness, FRESHNESS_SCHEMA), ctx.table("table_freshness"))
    lag = lag_rows(ctx, now)
    if lag:
        writer.append_collected(ctx.spark.createDataFrame(lag, LAG_SCHEMA), ctx.table("consumer_lag"))
    fresh_quality = new_quality(ctx)
    result["quality_rows"] = writer.append(fresh_quality, ctx.table("quality")) if fresh_quality is not None else 0
    result.update(tables_checked=len(freshness), topics_checked=len(lag),
                  lag_messages={r["topic"]: r["lag_messages"] for r in lag})
    result.update(_infrastructure(ctx, now))
    result.update(_costs(ctx, now, own["recompute_days"]))
    return result


def _infrastructure(ctx, now: dt.datetime) -> dict:
    """Sample the workspace's service processes and measure its disk (``infrastructure``)."""
    writer = ctx.writer
    processes = infrastructure.sample_processes(infrastructure.running_services(paths.pids_dir()), now,
                                                float(ctx.own["infrastructure"]["cpu_interval_s"]))
    declared = [t for p in products.all_products().values() for t in p.tables]
    readers = {topic: p.name for p in products.all_products().values() for topic in p.topics}
    disk = infrastructure.disk_rows(declared, readers, paths.service_dir("kafka") / "data", paths.workspace(), now)
    writer.append_collected(ctx.spark.createDataFrame(processes, infrastructure.PROCESS_SCHEMA),
                            ctx.table("process_samples"))
    writer.append_collected(ctx.spark.createDataFrame(disk, infrastructure.DISK_SCHEMA), ctx.table("disk_usage"))
    return {"processes_sampled": sorted(r["service"] for r in processes),
            "workspace_bytes": next(r["bytes"] for r in disk if r["kind"] == "workspace")}


def _costs(ctx, now: dt.datetime, days: int) -> dict:
    """Recompute ``cost_daily`` and ``cost_by_notebook`` for the last ``days`` days (``costs``)."""
    rates = costs.Rates.from_params(ctx.own["cost"])
    dates = [now.date() - dt.timedelta(days=i) for i in range(days)]
    runs_table = products.get(PLATFORM).table(RUNS_TABLE)
    in_dates = F.to_date("started_at").isin(dates)
    runs = ctx.read(RUNS_TABLE, PLATFORM).where(in_dates).toPandas() if tables.exists(runs_table) else pd.DataFrame(
        columns=["product", "notebook", "layer", "status", "started_at", "duration_s", "rows_written"])
    disk = ctx.read("disk_usage").where(F.col("date").isin(dates) & (F.col("kind") == "table")).toPandas()
    samples = ctx.read("process_samples").where(F.col("date").isin(dates)).toPandas()
    with_bronze = {p.name for p in products.all_products().values() if any(n.layer == "bronze" for n in p.notebooks)}
    by_notebook, daily = [], []
    for day in dates:
        notebooks, day_rows = costs.for_day(runs, disk, samples, day, rates, with_bronze)
        by_notebook += notebooks
        daily += day_rows
    where = tables.in_predicate("date", dates)
    ctx.writer.replace_collected(ctx.spark.createDataFrame(by_notebook, costs.NOTEBOOK_SCHEMA),
                                 ctx.table("cost_by_notebook"), where)
    ctx.writer.replace_collected(ctx.spark.createDataFrame(daily, costs.DAILY_SCHEMA), ctx.table("cost_daily"), where)
    today = [r for r in daily if r["date"] == now.date()]
    return {"cost_today_usd": round(sum(r["total_usd"] for r in today), 6)}
