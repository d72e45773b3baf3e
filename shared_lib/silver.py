"""The bronze -> silver step, the same for every event product: new bronze rows become clean
events, quarantine rows and recomputed sessions, then one ``batches`` row. A product gives what is
its own in a ``SilverSpec`` (contract, enrichment, visitor key, session summary); the reads and
writes happen here, the logic is in ``contract``, ``incremental``, ``sessions`` and ``consent``.

Write order matters for crash safety (see ``shared_lib.incremental``): first what consent
withdrawals that arrived late remove (events, then their sessions), then the new events,
quarantine, sessions, and last the ``batches`` row that marks the bronze rows and the consent
events as processed.

Tables the product declares: ``events_raw`` (bronze), ``events``, ``quarantine``, ``sessions``
and ``batches`` (silver). Its ``silver`` parameters hold ``session_timeout_minutes`` and
``quarantine_value_max_chars``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from shared_lib import consent, contract, incremental, lake
from shared_lib import sessions as sessions_lib
from shared_lib import spark as spark_lib

TABLES = ("events", "quarantine", "sessions", "batches")


@dataclass(frozen=True)
class SilverSpec:
    """What one product's silver step needs to know about its events."""
    contract: contract.Contract
    # Clean contract rows -> silver events; must add ``event_date`` and ``is_bot``.
    enrich: Callable[[DataFrame], DataFrame]
    # The column that keys sessions (web ``anonymous_id``, mobile ``device_id``).
    visitor: str
    # Columns that identify a data subject, for the consent filter.
    subjects: tuple[str, ...]
    # Sessionized events (``sessions.assign``) and the run id -> one row per session.
    summarize: Callable[[DataFrame, str], DataFrame]
    # Extra columns of the product's ``batches`` rows, (column, SQL type, value) each (web: the
    # GeoIP data version).
    batch_fields: tuple[tuple[str, str, object], ...] = ()
    # The raw message kept in quarantine, from bronze's (web: without full IP addresses).
    quarantine_value: Callable[[Column], Column] | None = None


def run(ctx, spec: SilverSpec) -> dict:
    """Apply the consent withdrawals that arrived late, then process every new bronze row;
    returns the batch's counts (all zero when there was nothing to do)."""
    own = ctx.own["silver"]
    with spark_lib.checkpoints() as keep:
        return _batch_processed(ctx, spec, own, keep)


def _batch_processed(ctx, spec: SilverSpec, own: dict, keep) -> dict:
    # Its own function, so that the batch's DataFrames are gone when ``checkpoints`` releases.
    batch, bronze_version = _new_batch(ctx, TABLES)
    rows = batch.count()
    with ctx.evaluated_for(rows):  # interpreted for a small batch
        validated = _validated(batch, spec.contract, keep) if rows else None
        # Before the new events: it reads silver as the last batch left it (see ``_late_withdrawals``).
        late = _late_withdrawals(ctx, spec, own, keep)
        if validated is None and late is None:
            return incremental.summary(None)
        return _process(ctx, spec, own, validated, bronze_version, keep, late)


def _run_batch(ctx, event_contract: contract.Contract, tables: tuple[str, ...],
               process: Callable[[DataFrame, int, Callable], dict]) -> dict:
    """``process(validated, bronze_version, keep)`` of the new bronze rows (zero counts when
    there are none); the run's checkpoints are released when it ends."""
    with spark_lib.checkpoints() as keep:
        return _new_batch_processed(ctx, event_contract, tables, process, keep)


def _new_batch_processed(ctx, event_contract, tables, process, keep) -> dict:
    # Its own function, so that the batch's DataFrames are gone when ``checkpoints`` releases.
    batch, bronze_version = _new_batch(ctx, tables)
    rows = batch.count()
    if not rows:
        return incremental.summary(None)
    with ctx.evaluated_for(rows):  # interpreted for a small batch
        return process(_validated(batch, event_contract, keep), bronze_version, keep)


def _new_batch(ctx, tables: tuple[str, ...]):
    """The bronze rows not processed yet, and the version of ``events_raw`` read."""
    for name in tables:
        ctx.writer.ensure(ctx.table(name))
    bronze = ctx.read("events_raw")
    bronze_version = ctx.writer.lineage.tables_read[ctx.table("events_raw").qualified_name]
    return incremental.unprocessed(bronze, incremental.high_water_marks(ctx.read("batches"))), bronze_version


def _validated(batch: DataFrame, event_contract: contract.Contract, keep) -> DataFrame:
    """The batch validated, one row per bronze row."""
    # Parsed once: every write and count below reads the checkpoint, not the JSON again (persist
    # instead measured 40 % slower on 1M web events). The raw message is kept for quarantined
    # rows only, the one place that needs it.
    return keep(contract.validate(batch, event_contract).withColumn(
        "value", F.when(F.col("reason").isNotNull(), F.col("value"))))


def _process(ctx, spec: SilverSpec, own: dict, validated, bronze_version: int, keep,
             late: incremental.LateConsent | None) -> dict:
    """Write the batch's events, quarantine and sessions, then its ``batches`` row (``late``
    withdrawals applied already; no new bronze row when ``validated`` is None)."""
    if validated is None:
        return _write_batch_row(ctx, spec, bronze_version, [], [], late, {})
    run_id = F.lit(ctx.run_id)
    # Duplicates are found once (repeated ids of the batch, and a join with silver): the events
    # written, the sessions and the counts all read this checkpoint.
    classified = keep(incremental.classify(spec.enrich(contract.clean(validated)), ctx.read("events")))
    kept, excluded = consent.split(classified.where(F.col("outcome") == "clean"),
                                   consent.consent_events(ctx), spec.subjects,
                                   default_granted=consent.default_granted(ctx))
    kept = kept.withColumn("run_id", run_id)
    if excluded is not None:  # the consent joins, once
        kept, excluded = keep(kept), keep(excluded)
    quarantine = contract.quarantined(validated, spec.contract, own["quarantine_value_max_chars"])
    if spec.quarantine_value is not None:
        quarantine = quarantine.withColumn("value", spec.quarantine_value(F.col("value")))

    ctx.writer.append(kept.where(~F.col("already_written")), ctx.table("events"))
    ctx.writer.append(incremental.not_written(quarantine.withColumn("run_id", run_id), ctx.read("quarantine")),
                      ctx.table("quarantine"))
    session_dates = _resessionize(ctx, spec, kept.where(~F.col("is_bot")), own["session_timeout_minutes"], keep)
    # The event dates of the new events matter too: bot events count on their own date (web),
    # and a device is active on the dates of its events, whichever day its session began (mobile).
    event_dates = [r[0] for r in kept.select("event_date").distinct().collect()]

    outcomes = {"clean": kept, "quarantined": validated.where(F.col("reason").isNotNull()),
                "duplicate": classified.where(F.col("outcome") == "duplicate")}
    if excluded is not None:
        outcomes["consent_excluded"] = excluded
    return _write_batch_row(ctx, spec, bronze_version, incremental.tally(validated, outcomes),
                            session_dates + event_dates, late, incremental.reason_counts(outcomes["quarantined"]))


def _write_batch_row(ctx, spec, bronze_version: int, partitions: list[dict], dates: list, late, reasons: dict) -> dict:
    """The ``batches`` row, written last: it marks the bronze rows and consent events as done."""
    row = incremental.batch_row(ctx.run_id, bronze_version, partitions, dates, late,
                                events_version=lake.version(ctx.table("events")))
    extra = {name: value for name, _, value in spec.batch_fields}
    schema = ", ".join([incremental.BATCH_SCHEMA, *(f"{name} {kind}" for name, kind, _ in spec.batch_fields)])
    ctx.writer.append_collected(ctx.spark.createDataFrame([{**row, **extra}], schema), ctx.table("batches"))
    return {**incremental.summary(row, reasons), **extra}


def _late_withdrawals(ctx, spec: SilverSpec, own: dict, keep) -> incremental.LateConsent | None:
    """Remove from silver the events that analytics-consent withdrawals arrived since the last
    batch now exclude, and re-derive their sessions; None when no withdrawal arrived.

    New consent events are those past the Kafka offsets the batches recorded (``consent_offsets``).
    The events to remove are looked for in silver as the last batch left it (its
    ``events_version``): a rerun after a crash between the delete and the batch row finds, counts
    and dates them again, and deleting them again changes nothing."""
    consents = consent.consent_events(ctx)
    if consents is None:
        return None
    batches = ctx.read("batches")
    arrived = keep(incremental.unprocessed(consents, incremental.high_water_marks(batches, "consent_offsets")))
    new_withdrawals = keep(consent.withdrawals(arrived))
    if new_withdrawals.isEmpty():
        return None
    since = new_withdrawals.agg(F.to_date(F.min("withdrawn_at"))).first()[0]

    def doomed_in(version):
        events = ctx.writer.read(ctx.table("events"), as_of=version).where(F.col("event_date") >= since)
        return keep(consent.withdrawn(events, new_withdrawals, consents, spec.subjects,
                                      default_granted=consent.default_granted(ctx)))

    as_of = batches.agg(F.max("events_version")).first()[0]
    try:
        doomed = doomed_in(as_of)
    except PySparkException:
        if as_of is None:
            raise
        # That version's files are gone (a VACUUM after an erasure): silver as it is now.
        doomed = doomed_in(None)
    event_dates = sorted(r[0] for r in doomed.select("event_date").distinct().collect())
    rows = doomed.count()
    session_dates: list = []
    if rows:
        ctx.writer.delete_matching(doomed, ctx.table("events"), ["event_id"], within={"event_date": event_dates})
        session_dates = _resessionize(ctx, spec, doomed.where(~F.col("is_bot")), own["session_timeout_minutes"],
                                      keep, removed=True)
    return incremental.LateConsent(rows, session_dates + event_dates, incremental.offset_ranges(arrived))


def _resessionize(ctx, spec: SilverSpec, new_events, timeout_minutes: float, keep, removed: bool = False) -> list:
    """Replace the sessions that ``new_events`` (bots excluded) touch; returns the session
    dates that changed (dates of replaced and of new sessions). ``removed``: the events were
    deleted from silver events, and the sessions they were in are recomputed without them."""
    reach_us = int(timeout_minutes * 60 * 1_000_000)
    new_span = new_events.agg(F.min(F.unix_micros("event_ts")).alias("lo"),
                              F.max(F.unix_micros("event_ts")).alias("hi")).first()
    if new_span["lo"] is None:
        return []
    # Only sessions within reach of the new events can be touched: literal bounds let Delta
    # prune partitions (session_date) and skip files (session_start/end statistics).
    lo, hi = (F.timestamp_micros(F.lit(new_span["lo"] - reach_us)),
              F.timestamp_micros(F.lit(new_span["hi"] + reach_us)))
    visitor = spec.visitor
    nearby = ctx.read("sessions").where((F.col("session_date") <= F.to_date(hi))
                                        & (F.col("session_start") <= hi) & (F.col("session_end") >= lo))
    stale = keep(sessions_lib.stale(nearby, new_events, visitor, timeout_minutes))
    if stale.isEmpty() and removed:
        return []  # the removed events were in no session
    if stale.isEmpty():
        # No session within reach of a new event: the new events make up their sessions alone
        # (an older event of the same visitor and time would lie in a stale session), so the
        # events just written need not be read back and matched (a first load, a new day).
        to_assign = new_events
    else:
        spans = sessions_lib.intervals(stale, new_events, visitor)
        bounds = spans.agg(F.to_date(F.min("lo")).alias("lo"), F.to_date(F.max("hi")).alias("hi")).first()
        assert bounds is not None  # a global aggregate has one row
        # Every event to recompute lies between the earliest and the latest span: prune the rest.
        candidates = ctx.read("events").where(
            ~F.col("is_bot") & F.col("event_date").between(bounds["lo"], bounds["hi"]))
        to_assign = sessions_lib.to_recompute(candidates, spans, visitor)
    assigned = sessions_lib.assign(to_assign, visitor, timeout_minutes)
    fresh = keep(spec.summarize(assigned, ctx.run_id))
    dates = sorted(r[0] for r in fresh.select("session_date").union(stale.select("session_date")).distinct().collect())
    ctx.writer.merge(fresh, ctx.table("sessions"), ["session_id"], deletes=stale.select("session_id"),
                     within={"session_date": dates})
    return dates


# --- event products without sessions ------------------------------------------------------

EVENT_TABLES = ("events", "quarantine", "batches")


def run_events(ctx, event_contract: contract.Contract, enrich: Callable[[DataFrame], DataFrame]) -> dict:
    """The step of ``run`` for events that form no sessions and identify no data subject
    (request logs): clean events, quarantine, then the ``batches`` row, with the same
    bookkeeping (duplicates, accounting, crash safety). ``enrich`` must add ``event_date``.
    Tables: ``events_raw``, ``events``, ``quarantine``, ``batches``."""
    return _run_batch(ctx, event_contract, EVENT_TABLES, lambda validated, bronze_version, keep: _process_events(
        ctx, event_contract, enrich, validated, bronze_version, keep))


def _process_events(ctx, event_contract: contract.Contract, enrich: Callable[[DataFrame], DataFrame],
                    validated: DataFrame, bronze_version: int, keep) -> dict:
    run_id = F.lit(ctx.run_id)
    classified = keep(incremental.classify(enrich(contract.clean(validated)), ctx.read("events")))
    kept = classified.where(F.col("outcome") == "clean").withColumn("run_id", run_id)
    quarantine = contract.quarantined(validated, event_contract, ctx.own["silver"]["quarantine_value_max_chars"])
    ctx.writer.append(kept.where(~F.col("already_written")), ctx.table("events"))
    ctx.writer.append(incremental.not_written(quarantine.withColumn("run_id", run_id), ctx.read("quarantine")),
                      ctx.table("quarantine"))
    dates = [r[0] for r in kept.select("event_date").distinct().collect()]
    outcomes = {"clean": kept, "quarantined": validated.where(F.col("reason").isNotNull()),
                "duplicate": classified.where(F.col("outcome") == "duplicate")}
    row = incremental.batch_row(ctx.run_id, bronze_version, incremental.tally(validated, outcomes), dates)
    ctx.writer.append_collected(ctx.spark.createDataFrame([row], incremental.BATCH_SCHEMA), ctx.table("batches"))
    return incremental.summary(row, incremental.reason_counts(outcomes["quarantined"]))
