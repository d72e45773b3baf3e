"""The consent seam between the analytics products and compliance-auditing (metrics.md):

    an analytics event of a subject whose latest consent event for purpose ``analytics`` at or
    before the event's time has ``granted = false`` is excluded from silver and gold, and counted.
    With no consent event the default applies: the compliance product's parameter
    ``consent.default_granted`` (``default_granted``; granted while that product is absent).

Silver calls ``split`` on its clean, de-duplicated events and counts what it excludes. The
consent events come from ``consent_events``: the table ``CONSENT_TABLE`` once the compliance
product declares and fills it (columns ``subject_id``, ``event_ts``, ``purpose``, ``granted``);
until then there are none and, with the default granted, every event passes untouched.
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
