"""Pure functions from clean contract rows to the silver rows of compliance-auditing: the audit
trail (its subject id replaced by a keyed hash), consent events, the consent in force per
subject x purpose, and which gold dates a batch of consent events changes."""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from shared_lib import subject_hash


def audit_rows(clean: DataFrame, key: bytes) -> DataFrame:
    """Clean audit events -> audit-trail rows: ``event_date`` added, ``subject_id`` replaced by
    ``subject_hash`` (HMAC-SHA256 with ``key``), so the raw id never reaches the table; an event
    that came with a ``subject_hash`` and no ``subject_id`` (dp dsar) keeps the hash it sent."""
    return (clean.withColumn("event_date", F.to_date("event_ts"))
            .withColumn("subject_hash", F.coalesce(subject_hash.hash_column(F.col("subject_id"), key),
                                                   F.col("subject_hash")))
            .drop("subject_id"))


def consent_rows(clean: DataFrame) -> DataFrame:
    """Clean consent events -> ``consent_events`` rows (``event_date`` added)."""
    return clean.withColumn("event_date", F.to_date("event_ts"))


def consent_state(history: DataFrame, run_id: str) -> DataFrame:
    """One row per subject x purpose of ``history`` (consent events): the latest event's
    decision (``granted``, ``since``, ``event_id``) and the number of events. Two events at the
    same instant: the larger event_id wins, so the result never depends on row order."""
    latest = Window.partitionBy("subject_id", "purpose").orderBy(F.col("event_ts").desc(), F.col("event_id").desc())
    per_pair = Window.partitionBy("subject_id", "purpose")
    return (history.withColumn("_n", F.row_number().over(latest))
            .withColumn("events", F.count("*").over(per_pair).cast("int"))
            .where("_n = 1")
            .select("subject_id", "purpose", "granted", F.col("event_ts").alias("since"), "event_id", "events",
                    F.lit(run_id).alias("run_id")))


def consent_dates(new_dates: list[dt.date], last_date: dt.date | None) -> list[dt.date]:
    """The gold dates that new consent events dated ``new_dates`` change: consent in force at the
    end of a day depends on every earlier event, so every date from the earliest new one to the
    last date of any consent event (``last_date``)."""
    if not new_dates:
        return []
    first = min(new_dates)
    last = max(max(new_dates), last_date or first)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
