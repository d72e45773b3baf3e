"""The silver step of web-user-analytics: bronze rows not processed yet -> clean events,
quarantine, recomputed sessions and one ``batches`` row. The reads and writes of the
``02_silver`` notebook; the logic is in ``shared_lib`` (contract, incremental, sessions, consent)
and in this product's ``contract``, ``transform`` and ``sessions`` modules.

Write order matters for crash safety (see ``shared_lib.incremental``): events, quarantine,
sessions, then the ``batches`` row that marks the bronze rows as processed.
"""
from __future__ import annotations

from pyspark.sql import functions as F

from products.web_user_analytics import sessions as web_sessions
from products.web_user_analytics import transform
from products.web_user_analytics.contract import WEB_CONTRACT
from shared_lib import consent, contract, incremental
from shared_lib import sessions as sessions_lib

VISITOR = web_sessions.VISITOR
SUBJECTS = ("anonymous_id", "user_id")
TABLES = ("events", "quarantine", "sessions", "batches")


def run_silver(ctx) -> dict:
    """Process every new bronze row; returns the batch's counts (all zero when nothing was new)."""
    for name in TABLES:
        ctx.writer.ensure(ctx.table(name))
    bronze = ctx.read("events_raw")
    bronze_version = ctx.writer.lineage.tables_read[ctx.table("events_raw").qualified_name]
    batch = incremental.unprocessed(bronze, incremental.high_water_marks(ctx.read("batches")))
    # Parsed once, used by every write and count below.
    validated = contract.validate(batch, WEB_CONTRACT).persist()
    try:
        if validated.isEmpty():
            return incremental.summary(None)
        return _process(ctx, ctx.own["silver"], validated, bronze_version)
    finally:
        validated.unpersist()


def _process(ctx, own: dict, validated, bronze_version: int) -> dict:
    """Write the batch's events, quarantine and sessions, then its ``batches`` row."""
    run_id = F.lit(ctx.run_id)
    classified = incremental.classify(transform.enrich(contract.clean(validated)), ctx.read("events"))
    kept, excluded = consent.split(classified.where(F.col("outcome") == "clean"),
                                   consent.consent_events(ctx), SUBJECTS)
    kept = kept.withColumn("run_id", run_id).persist()
    quarantine = contract.quarantined(validated, WEB_CONTRACT, own["quarantine_value_max_chars"])

    ctx.writer.append(kept.where(~F.col("already_written")), ctx.table("events"))
    ctx.writer.append(incremental.not_written(quarantine.withColumn("run_id", run_id), ctx.read("quarantine")),
                      ctx.table("quarantine"))
    session_dates = _resessionize(ctx, kept.where(~F.col("is_bot")), own["session_timeout_minutes"])
    bot_dates = [r[0] for r in kept.where("is_bot").select("event_date").distinct().collect()]

    outcomes = {"clean": kept, "quarantined": validated.where(F.col("reason").isNotNull()),
                "duplicate": classified.where(F.col("outcome") == "duplicate")}
    if excluded is not None:
        outcomes["consent_excluded"] = excluded
    row = incremental.batch_row(ctx.run_id, bronze_version, incremental.tally(validated, outcomes),
                                session_dates + bot_dates)
    ctx.writer.append(ctx.spark.createDataFrame([row], incremental.BATCH_SCHEMA), ctx.table("batches"))
    kept.unpersist()
    return incremental.summary(row)


def _resessionize(ctx, new_events, timeout_minutes: float) -> list:
    """Replace the sessions that ``new_events`` (bots excluded) touch; returns the session
    dates that changed (dates of replaced and of new sessions)."""
    reach_us = int(timeout_minutes * 60 * 1_000_000)
    new_span = new_events.agg(F.min(F.unix_micros("event_ts")).alias("lo"),
                              F.max(F.unix_micros("event_ts")).alias("hi")).first()
    if new_span["lo"] is None:
        return []
    # Only sessions within reach of the new events can be touched: literal bounds let Delta
    # prune partitions (session_date) and skip files (session_start/end statistics).
    lo, hi = (F.timestamp_micros(F.lit(new_span["lo"] - reach_us)),
              F.timestamp_micros(F.lit(new_span["hi"] + reach_us)))
    nearby = ctx.read("sessions").where((F.col("session_date") <= F.to_date(hi))
                                        & (F.col("session_start") <= hi) & (F.col("session_end") >= lo))
    stale = sessions_lib.stale(nearby, new_events, VISITOR, timeout_minutes).persist()
    spans = sessions_lib.intervals(stale, new_events, VISITOR)
    bounds = spans.agg(F.to_date(F.min("lo")).alias("lo"), F.to_date(F.max("hi")).alias("hi")).first()
    # Every event to recompute lies between the earliest and the latest span: prune the rest.
    candidates = ctx.read("events").where(
        ~F.col("is_bot") & F.col("event_date").between(bounds["lo"], bounds["hi"]))
    assigned = sessions_lib.assign(sessions_lib.to_recompute(candidates, spans, VISITOR), VISITOR,
                                   timeout_minutes)
    fresh = web_sessions.summarize(assigned, ctx.run_id).persist()
    dates = sorted(r[0] for r in fresh.select("session_date").union(stale.select("session_date")).distinct().collect())
    ctx.writer.merge(fresh, ctx.table("sessions"), ["session_id"], deletes=stale.select("session_id"),
                     within={"session_date": dates})
    fresh.unpersist()
    stale.unpersist()
    return dates
