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
    """Process every new bronze row; returns the batch counts (all zero when nothing was new)."""
    writer, own = ctx.writer, ctx.own["silver"]
    for name in TABLES:
        writer.ensure(ctx.table(name))
    bronze = ctx.read("events_raw")
    bronze_version = writer.lineage.tables_read[ctx.table("events_raw").qualified_name]
    batch = incremental.unprocessed(bronze, ctx.read("batches"))
    validated = contract.validate(batch, WEB_CONTRACT).persist()
    try:
        if validated.isEmpty():
            return {"bronze_rows": 0, **{f"{o}_rows": 0 for o in incremental.OUTCOMES}, "affected_dates": []}
        return _process(ctx, own, validated, bronze_version)
    finally:
        validated.unpersist()


def _process(ctx, own: dict, validated, bronze_version: int) -> dict:
    writer = ctx.writer
    events_table = ctx.table("events")
    events = transform.enrich(contract.clean(validated))
    classified = incremental.classify(events, ctx.read("events"))
    unique = classified.where(F.col("outcome") == "clean")
    kept, excluded = consent.split(unique, consent.consent_events(ctx), SUBJECTS)
    kept = kept.withColumn("run_id", F.lit(ctx.run_id)).persist()
    writer.append(kept.where(~F.col("already_written")), events_table)
    quarantine = contract.quarantined(validated, WEB_CONTRACT, own["quarantine_value_max_chars"])
    writer.append(incremental.not_written(quarantine.withColumn("run_id", F.lit(ctx.run_id)),
                                          ctx.read("quarantine")), ctx.table("quarantine"))
    affected = _resessionize(ctx, kept.where(~F.col("is_bot")), own["session_timeout_minutes"])
    bot_dates = [r[0] for r in kept.where("is_bot").select("event_date").distinct().collect()]
    outcomes = {"clean": kept, "quarantined": validated.where(F.col("reason").isNotNull()),
                "duplicate": classified.where(F.col("outcome") == "duplicate")}
    if excluded is not None:
        outcomes["consent_excluded"] = excluded
    partitions = incremental.tally(validated, outcomes)
    row = incremental.batch_row(ctx.run_id, bronze_version, partitions, affected + bot_dates)
    writer.append(ctx.spark.createDataFrame([row], incremental.BATCH_SCHEMA), ctx.table("batches"))
    kept.unpersist()
    return {k: (v if not isinstance(v, list) else [str(d) for d in v])
            for k, v in row.items() if k.endswith("_rows") or k == "affected_dates"}


def _resessionize(ctx, new_events, timeout_minutes: float) -> list:
    """Replace the sessions that ``new_events`` (bots excluded) touch; returns the session
    dates that changed (dates of replaced and of new sessions)."""
    stale = sessions_lib.stale(ctx.read("sessions"), new_events, VISITOR, timeout_minutes).persist()
    spans = sessions_lib.intervals(stale, new_events, VISITOR)
    bounds = spans.agg(F.to_date(F.min("lo")).alias("lo"), F.to_date(F.max("hi")).alias("hi")).first()
    if bounds["lo"] is None:
        stale.unpersist()
        return []
    # Partition pruning: every event to recompute lies between the earliest and latest span.
    candidates = ctx.read("events").where(
        ~F.col("is_bot") & F.col("event_date").between(bounds["lo"], bounds["hi"]))
    assigned = sessions_lib.assign(sessions_lib.to_recompute(candidates, spans, VISITOR), VISITOR,
                                   timeout_minutes)
    fresh = web_sessions.summarize(assigned, ctx.run_id).persist()
    ctx.writer.merge(fresh, ctx.table("sessions"), ["session_id"], deletes=stale.select("session_id"))
    dates = [r[0] for r in fresh.select("session_date").union(stale.select("session_date")).distinct().collect()]
    fresh.unpersist(), stale.unpersist()
    return dates
