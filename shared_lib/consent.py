"""The consent seam between the analytics products and compliance-auditing (metrics.md):

    an analytics event of a subject whose latest consent event for purpose ``analytics`` at or
    before the event's time has ``granted = false`` is excluded from silver and gold, and counted.
    With no consent event the default applies: the compliance product's parameter
    ``consent.default_granted`` (``default_granted``; granted while that product is absent).

Silver calls ``split`` on its clean, de-duplicated events and counts what it excludes. The
consent events come from ``consent_events``: the table ``CONSENT_TABLE`` once the compliance
product declares and fills it (columns ``subject_id``, ``event_ts``, ``purpose``, ``granted``);
until then there are none and, with the default granted, every event passes untouched.

Late withdrawals: a withdrawal can arrive after the subject's later events are in silver already.
Each silver batch takes the consent events that arrived since its last one (``withdrawals``) and
removes the events that the rule above now excludes (``withdrawn``); see ``shared_lib.silver``.
"""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

CONSENT_TABLE = "compliance-auditing.silver.consent_events"
CONSENT_PRODUCT = "compliance-auditing"
ANALYTICS = "analytics"


def default_granted(ctx) -> bool:
    """Whether a subject without a consent event counts as granted (parameter
    ``compliance-auditing.consent.default_granted``; True when the product is not installed)."""
    own = ctx.params.get(CONSENT_PRODUCT) or {}
    return bool((own.get("consent") or {}).get("default_granted", True))


def consent_events(ctx) -> DataFrame | None:
    """The consent events supplied by the compliance product, or None while there are none."""
    from shared_lib import products, tables

    try:
        table = products.find_table(CONSENT_TABLE)
    except KeyError:
        return None
    return ctx.writer.read(table) if tables.exists(table) else None


def split(events: DataFrame, consents: DataFrame | None, subject_columns: Sequence[str],
          purpose: str = ANALYTICS, default_granted: bool = True, ts: str = "event_ts",
          event_id: str = "event_id") -> tuple[DataFrame, DataFrame | None]:
    """(events kept, events excluded or None when nothing can be excluded).

    An event is excluded when, for any of its subject columns (web: ``anonymous_id`` and
    ``user_id``), the subject's latest consent for ``purpose`` at or before the event is a
    refusal, or there is none and the default is not granted. Every product's events have a
    required subject column (web ``anonymous_id``, mobile ``device_id``), so each event has one."""
    if consents is None and default_granted:
        return events, None
    if consents is None:
        consents = events.sparkSession.createDataFrame([], "subject_id string, event_ts timestamp, "
                                                           "purpose string, granted boolean")
    wanted = consents.where(F.col("purpose") == purpose).select(
        F.col("subject_id").alias("_consent_subject"), F.col("event_ts").alias("_consent_ts"), "granted")
    decisions = []
    for column in subject_columns:
        pairs = events.select(event_id, ts, F.col(column).alias("subject_id")).where(F.col("subject_id").isNotNull())
        matched = pairs.join(wanted, (F.col("subject_id") == F.col("_consent_subject"))
                             & (F.col("_consent_ts") <= F.col(ts)), "left")
        latest = Window.partitionBy(event_id, "subject_id").orderBy(F.col("_consent_ts").desc_nulls_last())
        decisions.append(matched.withColumn("_n", F.row_number().over(latest)).where("_n = 1").select(
            event_id, F.coalesce("granted", F.lit(default_granted)).alias("granted")))
    refused = decisions[0]
    for more in decisions[1:]:
        refused = refused.unionByName(more)
    refused = refused.where(~F.col("granted")).select(event_id).distinct()
    return events.join(refused, event_id, "left_anti"), events.join(refused, event_id, "left_semi")


def withdrawals(consents: DataFrame, purpose: str = ANALYTICS) -> DataFrame:
    """Per subject that withdrew ``purpose`` in ``consents``: its earliest withdrawal
    (``subject_id``, ``withdrawn_at``)."""
    return (consents.where((F.col("purpose") == purpose) & ~F.col("granted"))
            .groupBy("subject_id").agg(F.min("event_ts").alias("withdrawn_at")))


def withdrawn(events: DataFrame, new_withdrawals: DataFrame, consents: DataFrame,
              subject_columns: Sequence[str], purpose: str = ANALYTICS, default_granted: bool = True,
              ts: str = "event_ts", event_id: str = "event_id") -> DataFrame:
    """The ``events`` that late withdrawals take out: those of a subject of ``new_withdrawals``
    (``withdrawals`` of the consent events that arrived late) dated at or after its withdrawal,
    that the consent rule (``split``) excludes given every consent event (``consents``), so an
    event after a later re-grant stays. Pruning by date is the caller's (``event_date``)."""
    wanted = F.broadcast(new_withdrawals.select(F.col("subject_id").alias("_withdrawn"), "withdrawn_at"))
    candidates = None
    for column in subject_columns:
        mine = events.join(wanted, (F.col(column) == F.col("_withdrawn")) & (F.col(ts) >= F.col("withdrawn_at")),
                           "left_semi")
        candidates = mine if candidates is None else candidates.unionByName(mine)
    assert candidates is not None, "an event product names at least one subject column"
    _, excluded = split(candidates.dropDuplicates([event_id]), consents, subject_columns, purpose,
                        default_granted, ts, event_id)
    assert excluded is not None  # consents were given
    return excluded
