"""The daily compliance KPIs of metrics.md, as pure functions of silver DataFrames, in the long
format of ``daily_compliance_kpis``: (date, kpi, dimension, dimension_value, value). A day's
total has dimension and value ``all``. DSAR and retention KPIs join later as new kpi names.

- ``audit_events``: audit events per action/result, and all.
- ``denied_accesses``: audit events with result ``denied`` (any action).
- ``reads_without_purpose``: successful reads of personal data with no purpose. A read is of
  personal data when it names a data subject, or reads a declared table with columns tagged as
  personal data (``columns`` absent or empty: the whole table; else one of them tagged).
- ``consent_subjects`` / ``consent_granted`` / ``consent_coverage`` per purpose: at the end of
  the day, the subjects with a consent decision for the purpose, those whose latest decision is
  a grant, and their share.
- ``consent_grants`` / ``consent_withdrawals`` per purpose: consent events of the day.
- ``dsar_opened`` / ``dsar_completed`` per kind (access, erase) and all: data-subject requests
  received / completed that day; ``dsar_overdue``: requests still open at the end of the day
  whose due time (received + 30 days) had passed; ``dsar_median_completion_days``: the median
  time from receipt to completion, in days, of the requests completed that day (no row without
  one). From ``dsar_requests`` (``dsar_kpis``, plain Python: the table is small), every day from
  the first request to the day of the run.
"""
from __future__ import annotations

import datetime as dt
import statistics
from typing import Iterable, Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from shared_lib.utc import as_utc

SCHEMA = "date date, kpi string, dimension string, dimension_value string, value double"
ALL = "all"


def _rows(df: DataFrame, kpi: str, dimension: str, dimension_value: Column, value: Column) -> DataFrame:
    return df.select(F.col("date"), F.lit(kpi).alias("kpi"), F.lit(dimension).alias("dimension"),
                     dimension_value.alias("dimension_value"), value.cast("double").alias("value"))


def personal_read(personal_columns: Mapping[str, Sequence[str]]) -> Column:
    """True for an audit event that reads personal data (see the module's definition);
    ``personal_columns`` maps a table's qualified name to its columns tagged as personal data."""
    named = F.col("subject_hash").isNotNull()
    whole_table = F.col("columns").isNull() | (F.size("columns") == 0)
    for resource, columns in sorted(personal_columns.items()):
        if columns:
            tagged = F.arrays_overlap("columns", F.array(*[F.lit(c) for c in columns]))
            named = named | ((F.col("resource") == resource) & (whole_table | tagged))
    return F.coalesce((F.col("action") == "read") & named, F.lit(False))


def audit_kpis(audit: DataFrame, personal_columns: Mapping[str, Sequence[str]]) -> DataFrame:
    """Audit-trail rows -> the audit KPIs of each ``event_date`` they cover."""
    a = audit.withColumn("date", F.col("event_date"))
    by_pair = a.groupBy("date", "action", "result").agg(F.count("*").alias("n"))
    no_purpose = personal_read(personal_columns) & (F.col("result") == "success") & F.col("purpose").isNull()
    per_day = a.groupBy("date").agg(F.count("*").alias("n"),
                                    F.sum(F.when(F.col("result") == "denied", 1).otherwise(0)).alias("denied"),
                                    F.sum(F.when(no_purpose, 1).otherwise(0)).alias("no_purpose"))
    return (_rows(by_pair, "audit_events", "action/result", F.concat_ws("/", "action", "result"), F.col("n"))
            .unionByName(_rows(per_day, "audit_events", ALL, F.lit(ALL), F.col("n")))
            .unionByName(_rows(per_day, "denied_accesses", ALL, F.lit(ALL), F.col("denied")))
            .unionByName(_rows(per_day, "reads_without_purpose", ALL, F.lit(ALL), F.col("no_purpose"))))


def consent_kpis(history: DataFrame, dates: Sequence[dt.date]) -> DataFrame:
    """Consent events (the whole history up to the last of ``dates``) -> the consent KPIs of each
    of ``dates`` on which some subject had a decision for a purpose."""
    spark = history.sparkSession
    days = spark.createDataFrame([(d,) for d in sorted(set(dates))], "date date")
    # The decision in force at the end of each day: the latest event at or before it.
    known = history.join(F.broadcast(days), F.col("event_date") <= F.col("date"))
    latest = Window.partitionBy("date", "subject_id", "purpose").orderBy(F.col("event_ts").desc(),
                                                                         F.col("event_id").desc())
    in_force = known.withColumn("_n", F.row_number().over(latest)).where("_n = 1")
    state = in_force.groupBy("date", "purpose").agg(
        F.count("*").alias("subjects"), F.sum(F.when(F.col("granted"), 1).otherwise(0)).alias("granted"))
    changes = history.join(F.broadcast(days), F.col("event_date") == F.col("date")).groupBy("date", "purpose").agg(
        F.sum(F.when(F.col("granted"), 1).otherwise(0)).alias("grants"),
        F.sum(F.when(~F.col("granted"), 1).otherwise(0)).alias("withdrawals"))
    state = state.join(changes, ["date", "purpose"], "left").fillna(0, ["grants", "withdrawals"])
    purpose = F.col("purpose")
    return (_rows(state, "consent_subjects", "purpose", purpose, F.col("subjects"))
            .unionByName(_rows(state, "consent_granted", "purpose", purpose, F.col("granted")))
            .unionByName(_rows(state, "consent_coverage", "purpose", purpose, F.col("granted") / F.col("subjects")))
            .unionByName(_rows(state, "consent_grants", "purpose", purpose, F.col("grants")))
            .unionByName(_rows(state, "consent_withdrawals", "purpose", purpose, F.col("withdrawals"))))


DSAR_KPIS = ("dsar_opened", "dsar_completed", "dsar_overdue", "dsar_median_completion_days")


def dsar_kpis(requests: Iterable[Mapping], today: dt.date) -> list[tuple]:
    """``dsar_requests`` rows (received_at, due_at, completed_at as aware datetimes, kind) -> the
    DSAR KPI rows (date, kpi, dimension, dimension_value, value) of every day from the first
    request to ``today`` (see the module's definitions)."""
    utc = dt.timezone.utc
    reqs = [{**r, **{k: as_utc(r.get(k)) for k in ("received_at", "due_at", "completed_at")}} for r in requests]
    if not reqs:
        return []
    first = min(r["received_at"].date() for r in reqs)
    kinds = sorted({r["kind"] for r in reqs})
    out: list[tuple] = []
    for i in range((today - first).days + 1):
        day = first + dt.timedelta(days=i)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), utc)
        opened = [r for r in reqs if r["received_at"].date() == day]
        done = [r for r in reqs if r["completed_at"] is not None and r["completed_at"].date() == day]
        for kpi, rows in (("dsar_opened", opened), ("dsar_completed", done)):
            out += [(day, kpi, "kind", k, float(sum(r["kind"] == k for r in rows))) for k in kinds]
            out.append((day, kpi, ALL, ALL, float(len(rows))))
        overdue = [r for r in reqs if r["received_at"] < end and r["due_at"] < end
                   and (r["completed_at"] is None or r["completed_at"] >= end)]
        out.append((day, "dsar_overdue", ALL, ALL, float(len(overdue))))
        if done:
            days = [(r["completed_at"] - r["received_at"]).total_seconds() / 86400 for r in done]
            out.append((day, "dsar_median_completion_days", ALL, ALL, float(statistics.median(days))))
    return out
