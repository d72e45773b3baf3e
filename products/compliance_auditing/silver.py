"""The silver step of compliance-auditing: the new bronze rows of both topics become audit-trail
rows (``audit_trail``, append-only, subject ids hashed), consent events (``consent_events``) and
the consent in force (``consent_state``, by MERGE), or quarantine rows with their reason; then
one ``batches`` row for both topics. Bookkeeping (rows not processed yet, duplicates, accounting,
crash safety) is ``shared_lib.incremental``'s, as for the other products; the pure functions are
in ``records``.

Write order: audit trail, consent events, consent state, quarantine, then the ``batches`` row
that marks the bronze rows as processed (a run that dies before it is redone whole: what it wrote
is recognised by its Kafka coordinates, and the consent state is recomputed, not added to).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from products.compliance_auditing import records
from products.compliance_auditing.contract import AUDIT_CONTRACT, CONSENT_CONTRACT
from shared_lib import contract, incremental, subject_hash
from shared_lib import spark as spark_lib

TABLES = ("audit_trail", "consent_events", "consent_state", "quarantine", "batches")
COORDINATES = ("topic", "partition", "offset")


def run(ctx) -> dict:
    """Process every new bronze row; returns the batch's counts (all zero when nothing was new)."""
    with spark_lib.checkpoints() as keep:
        return _process(ctx, keep)


def _process(ctx, keep) -> dict:
    for name in TABLES:
        ctx.writer.ensure(ctx.table(name))
    bronze = ctx.read("events_raw")
    bronze_version = ctx.writer.lineage.tables_read[ctx.table("events_raw").qualified_name]
    batch = incremental.unprocessed(bronze, incremental.high_water_marks(ctx.read("batches")))
    if batch.isEmpty():
        return incremental.summary(None)
    topics, max_chars, run_id = ctx.own["topic"], ctx.own["silver"]["quarantine_value_max_chars"], F.lit(ctx.run_id)
    audit = _validated(batch, topics["audit"], AUDIT_CONTRACT, keep)
    consent = _validated(batch, topics["consent"], CONSENT_CONTRACT, keep)

    audit_classified = keep(incremental.classify(
        records.audit_rows(contract.clean(audit), subject_hash.workspace_key()), ctx.read("audit_trail")))
    audit_kept = audit_classified.where(F.col("outcome") == "clean").withColumn("run_id", run_id)
    ctx.writer.append(audit_kept.where(~F.col("already_written")), ctx.table("audit_trail"))

    consent_classified = keep(incremental.classify(records.consent_rows(contract.clean(consent)),
                                                   ctx.read("consent_events")))
    consent_kept = consent_classified.where(F.col("outcome") == "clean").withColumn("run_id", run_id)
    ctx.writer.append(consent_kept.where(~F.col("already_written")), ctx.table("consent_events"))
    consent_dates = _refresh_consent_state(ctx, consent_kept)

    quarantine = contract.quarantined(audit, AUDIT_CONTRACT, max_chars).unionByName(
        contract.quarantined(consent, CONSENT_CONTRACT, max_chars))
    ctx.writer.append(incremental.not_written(quarantine.withColumn("run_id", run_id), ctx.read("quarantine")),
                      ctx.table("quarantine"))

    audit_dates = [r[0] for r in audit_kept.select("event_date").distinct().collect()]
    both = audit.select(*COORDINATES).unionByName(consent.select(*COORDINATES))
    outcomes = {
        "clean": _coordinates(audit_kept, consent_kept),
        "quarantined": _coordinates(audit.where(F.col("reason").isNotNull()),
                                    consent.where(F.col("reason").isNotNull())),
        "duplicate": _coordinates(audit_classified.where(F.col("outcome") == "duplicate"),
                                  consent_classified.where(F.col("outcome") == "duplicate"))}
    row = incremental.batch_row(ctx.run_id, bronze_version, incremental.tally(both, outcomes),
                                audit_dates + consent_dates)
    ctx.writer.append_collected(ctx.spark.createDataFrame([row], incremental.BATCH_SCHEMA), ctx.table("batches"))
    return incremental.summary(row)


def _validated(batch: DataFrame, topic: str, event_contract, keep) -> DataFrame:
    """The batch's rows of ``topic`` validated against ``event_contract`` (raw value kept for
    quarantined rows only)."""
    validated = contract.validate(batch.where(F.col("topic") == topic), event_contract)
    return keep(validated.withColumn("value", F.when(F.col("reason").isNotNull(), F.col("value"))))


def _coordinates(audit: DataFrame, consent: DataFrame) -> DataFrame:
    return audit.select(*COORDINATES).unionByName(consent.select(*COORDINATES))


def _refresh_consent_state(ctx, new_events: DataFrame) -> list:
    """Recompute the consent in force of the subject x purpose pairs of ``new_events`` from their
    whole history (late events included); returns the gold dates that changed."""
    new_dates = [r[0] for r in new_events.select("event_date").distinct().collect()]
    if not new_dates:
        return []
    history = ctx.read("consent_events")
    pairs = new_events.select("subject_id", "purpose").distinct()
    state = records.consent_state(history.join(pairs, ["subject_id", "purpose"], "left_semi"), ctx.run_id)
    ctx.writer.merge(state, ctx.table("consent_state"), ["subject_id", "purpose"])
    last = history.agg(F.max("event_date")).first()[0]
    return records.consent_dates(new_dates, last)
