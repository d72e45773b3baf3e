"""Incremental bronze -> silver bookkeeping, the same for every product. Pure functions on
DataFrames; the product's silver step does the reads and writes.

- Progress: each silver run appends one row to the product's ``batches`` table, with the Kafka
  offset range it processed per topic partition. Bronze appends each partition in offset order
  (exactly once, from its streaming checkpoint), so the rows not yet processed are exactly those
  past the highest offset recorded per partition (``high_water_marks``, ``unprocessed``).
- Duplicates: an event whose id is already in silver, or that repeats an id earlier in the same
  batch (by Kafka time, then coordinates), is a duplicate: dropped and counted (``classify``).
- Accounting: every bronze row of the batch ends up clean, quarantined, duplicate or excluded
  by consent; the batch row holds the four counts and the table's CHECK constraint makes them add
  up to the bronze rows read (``tally``). Events that a consent withdrawal arriving later removes
  from silver were clean in their own batch; the batch that removes them counts them apart
  (``consent_withdrawn_rows``, ``LateConsent``).
- Crash safety: the batch row is written last. A run that died before it is redone whole, and
  what it already wrote is recognised by its Kafka coordinates (``already_written`` in
  ``classify``, ``not_written``), so nothing is written or counted twice.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Callable, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shared_lib import lake
from shared_lib.step_report import QUARANTINE_BY_REASON

COORDINATES = ("topic", "partition", "offset")
OUTCOMES = ("clean", "quarantined", "duplicate", "consent_excluded")


@dataclass(frozen=True)
class LateConsent:
    """What a silver batch did about consent withdrawals that arrived after the subject's events:
    events removed from silver (counted clean by an earlier batch), the dates that changed, and
    the Kafka offset ranges of the consent events it took into account (the watermark)."""
    rows: int
    dates: list[dt.date]
    consent_offsets: list[dict]


def high_water_marks(batches: DataFrame, column: str = "offsets") -> dict[tuple[str, int], int]:
    """{(topic, partition): the highest offset processed} (one small job). ``column`` holds the
    ranges: ``offsets`` for bronze, ``consent_offsets`` for the consent events applied late."""
    ranges = batches.select(F.explode(column).alias("r")).select("r.*")
    rows = ranges.groupBy("topic", "partition").agg(F.max("to_offset").alias("last")).collect()
    return {(r["topic"], r["partition"]): r["last"] for r in rows}


def unprocessed(bronze: DataFrame, marks: dict[tuple[str, int], int]) -> DataFrame:
    """The bronze rows past ``marks``. A literal predicate, so that Delta skips the files of
    earlier batches by their offset statistics instead of reading all of bronze."""
    if not marks:
        return bronze
    known, past = F.lit(False), F.lit(False)
    for (topic, partition), last in sorted(marks.items()):
        here = (F.col("topic") == topic) & (F.col("partition") == partition)
        known, past = known | here, past | (here & (F.col("offset") > last))
    return bronze.where(past | ~known)


def classify(events: DataFrame, existing: DataFrame, event_id: str = "event_id") -> DataFrame:
    """``events`` with ``outcome`` (``clean`` or ``duplicate``) and ``already_written`` (the same
    message is in silver already: a crashed run wrote it)."""
    # Only the batch's ids are looked up in silver: a semi join keeps the big side small.
    seen = _small(existing.join(events.select(event_id).distinct(), event_id, "left_semi").select(
        F.col(event_id), *[F.col(c).alias(f"_seen_{c}") for c in COORDINATES]))
    # The first message of each id that the batch holds more than once, found from the ids and
    # coordinates alone: the events themselves are neither shuffled nor sorted (a window over
    # them was the costliest step of silver after parsing).
    arrival = F.struct("kafka_ts", *COORDINATES)
    repeated = _small(events.groupBy(event_id).agg(F.count("*").alias("_n"), F.min(arrival).alias("_first"))
                      .where(F.col("_n") > 1).drop("_n"))
    same_message = ((F.col("_seen_topic") == F.col("topic")) & (F.col("_seen_partition") == F.col("partition"))
                    & (F.col("_seen_offset") == F.col("offset")))
    in_silver = F.col("_seen_offset").isNotNull()
    first_in_batch = F.col("_first").isNull() | (arrival == F.col("_first"))
    joined = events.join(seen, event_id, "left").join(repeated, event_id, "left")
    outcome = (F.when(in_silver, F.when(same_message, "clean").otherwise("duplicate"))
               .when(first_in_batch, "clean").otherwise("duplicate"))
    return (joined.withColumn("outcome", outcome)
            .withColumn("already_written", F.coalesce(same_message, F.lit(False)))
            .drop("_first", *[f"_seen_{c}" for c in COORDINATES]))


# Up to this many ids, a lookup table of ``classify`` is broadcast: the batch is then joined to
# it where it lies, without a shuffle. Usually it holds a handful (duplicates are rare); a
# replayed topic can make it as large as the batch, and then it is joined the usual way.
BROADCAST_MAX_ROWS = 200_000


def _small(lookup: DataFrame) -> DataFrame:
    """``lookup`` computed now, with a broadcast hint if it is small enough."""
    kept = lookup.localCheckpoint(eager=True)
    return F.broadcast(kept) if kept.count() <= BROADCAST_MAX_ROWS else kept


def not_written(rows: DataFrame, table: DataFrame) -> DataFrame:
    """``rows`` whose Kafka coordinates are not in ``table`` yet."""
    return rows.join(table.select(*COORDINATES), list(COORDINATES), "left_anti")


def offset_ranges(rows: DataFrame) -> list[dict]:
    """Per topic partition of ``rows``: the Kafka offset range they span (one small job)."""
    ranges = rows.groupBy("topic", "partition").agg(F.min("offset").alias("from_offset"),
                                                   F.max("offset").alias("to_offset"))
    return [r.asDict() for r in ranges.orderBy("topic", "partition").collect()]


def tally(batch: DataFrame, outcomes: dict[str, DataFrame]) -> list[dict]:
    """Per topic partition of ``batch``: offset range, bronze rows and the rows of each outcome
    (``outcomes`` maps an outcome of ``OUTCOMES`` to the DataFrame of its rows)."""
    unknown = set(outcomes) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"unknown outcome(s) {sorted(unknown)}; expected {OUTCOMES}")
    parts = [rows.select("topic", "partition", F.lit(name).alias("outcome")) for name, rows in outcomes.items()]
    labelled = functools.reduce(DataFrame.unionByName, parts)
    read = batch.groupBy("topic", "partition").agg(
        F.min("offset").alias("from_offset"), F.max("offset").alias("to_offset"), F.count("*").alias("bronze_rows"))
    counts = labelled.groupBy("topic", "partition").pivot("outcome", list(OUTCOMES)).count()
    rows = read.join(counts, ["topic", "partition"], "left").orderBy("topic", "partition").collect()
    return [{**r.asDict(), **{o: int(r[o] or 0) for o in OUTCOMES}} for r in rows]


def batch_row(run_id: str, bronze_version: int | None, partitions: list[dict],
              affected_dates: list[dt.date], late: LateConsent | None = None,
              events_version: int | None = None) -> dict:
    """The ``batches`` row of one silver run, from ``tally``'s partitions (none when the run only
    applied ``late`` withdrawals); ``events_version`` is silver ``events``' version at its end."""
    late = late or LateConsent(0, [], [])
    return {
        "run_id": run_id,
        "processed_at": dt.datetime.now(dt.timezone.utc),
        "bronze_version": bronze_version,
        "offsets": [{k: p[k] for k in ("topic", "partition", "from_offset", "to_offset")} for p in partitions],
        "bronze_rows": sum(p["bronze_rows"] for p in partitions),
        **{f"{o}_rows": sum(p[o] for p in partitions) for o in OUTCOMES},
        "affected_dates": sorted(set(affected_dates) | set(late.dates)),
        "consent_offsets": late.consent_offsets,
        "consent_withdrawn_rows": late.rows,
        "events_version": events_version,
    }


def reason_counts(quarantined: DataFrame) -> dict[str, int]:
    """{reason: rows} of a batch's quarantined rows, the most frequent first (one small job)."""
    rows = quarantined.groupBy("reason").count().collect()
    return dict(sorted(((r["reason"], int(r["count"])) for r in rows), key=lambda kv: (-kv[1], kv[0])))


def summary(row: dict | None, reasons: dict[str, int] | None = None) -> dict:
    """The counts and affected dates of a ``batch_row`` (zeros for no batch) and the quarantined
    rows by reason (``reason_counts``), as plain JSON values for the run record."""
    counts = {"bronze_rows": 0, **{f"{o}_rows": 0 for o in OUTCOMES}, "consent_withdrawn_rows": 0}
    if row is None:
        return {**counts, "affected_dates": [], QUARANTINE_BY_REASON: {}}
    return {**{k: row[k] for k in counts}, "affected_dates": [d.isoformat() for d in row["affected_dates"]],
            QUARANTINE_BY_REASON: dict(reasons or {})}


BATCH_SCHEMA = ("run_id string, processed_at timestamp, bronze_version bigint, "
                "offsets array<struct<topic:string, partition:int, from_offset:bigint, to_offset:bigint>>, "
                "bronze_rows bigint, clean_rows bigint, quarantined_rows bigint, duplicate_rows bigint, "
                "consent_excluded_rows bigint, affected_dates array<date>, "
                "consent_offsets array<struct<topic:string, partition:int, from_offset:bigint, to_offset:bigint>>, "
                "consent_withdrawn_rows bigint, events_version bigint")


# Silver -> gold progress, the same for every product: gold appends one ``refreshes`` row per
# silver ``batches`` row it has consumed, last, so a gold run that died is redone whole.
REFRESH_SCHEMA = "silver_run_id string, run_id string, dates array<date>, refreshed_at timestamp"


def pending_batches(batches: DataFrame, refreshes: DataFrame) -> list:
    """The silver ``batches`` rows (``run_id``, ``affected_dates``) that no gold ``refreshes``
    row has consumed yet (one small job)."""
    consumed = refreshes.select(F.col("silver_run_id").alias("run_id"))
    return batches.join(consumed, "run_id", "left_anti").select("run_id", "affected_dates").collect()


def pending_dates(pending: list) -> list[dt.date]:
    """Every date that the ``pending`` batches affected, sorted."""
    return sorted({d for row in pending for d in row["affected_dates"]})


def refresh_rows(pending: list, run_id: str) -> list[tuple]:
    """The ``refreshes`` rows (``REFRESH_SCHEMA``) that mark ``pending`` as consumed by ``run_id``."""
    now = dt.datetime.now(dt.timezone.utc)
    return [(row["run_id"], run_id, list(row["affected_dates"]), now) for row in pending]


def silver_rows(product) -> int:
    """Rows in the product's silver tables (from the Delta logs' statistics): what a gold refresh
    may read, at most, to choose how Spark evaluates it."""
    return sum(lake.count_rows(table) for table in product.tables if table.layer == "silver")


def refresh(ctx, tables: Sequence[str], write_dates: Callable[[list[dt.date]], dict | None],
            rewrite: bool = False) -> dict:
    """The gold step's skeleton, the same for every product: ensure ``tables`` and ``refreshes``,
    find the silver batches no gold run has consumed, ``write_dates(the dates they affected)``,
    then their ``refreshes`` rows, last (a run that dies before is redone whole). With no pending
    batch nothing is written, unless ``rewrite`` (a parameter changed what gold holds): then
    ``write_dates([])`` runs too. Returns ``dates_refreshed`` and ``silver_batches``, updated by
    what ``write_dates`` returns."""
    writer = ctx.writer
    for name in dict.fromkeys((*tables, "refreshes")):
        writer.ensure(ctx.table(name))
    pending = pending_batches(ctx.read("batches"), ctx.read("refreshes"))
    dates = pending_dates(pending)
    result = {"dates_refreshed": [d.isoformat() for d in dates], "silver_batches": len(pending)}
    if not pending and not rewrite:
        return result
    if dates or rewrite:
        with ctx.evaluated_for(silver_rows(ctx.product)):
            result.update(write_dates(dates) or {})
    rows = refresh_rows(pending, ctx.run_id)
    if rows:
        writer.append_collected(ctx.spark.createDataFrame(rows, REFRESH_SCHEMA), ctx.table("refreshes"))
    return result
