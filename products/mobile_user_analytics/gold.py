"""The gold step of mobile-user-analytics: from the silver batches not yet consumed, work out
which dates and cohorts changed, recompute only those from silver, and replace them in gold
(``replaceWhere`` on the date; ``devices`` by MERGE). A gold row is a function of silver alone,
so a rerun gives the same tables; with no new silver batch nothing is written at all.

Which dates change (``plan``), for the dates A whose events or sessions a batch touched:

- ``device_activity``, ``daily_by_version``: the dates A.
- ``daily_kpis``: A and the 27 days after each (WAU and MAU of d look back to d-27), the old and
  new cohort dates of devices whose first day moved (``new_devices``), and the dates the data's
  span grew by; never past the last day with data, so every date from the first to the last day
  with data has a row (days without events too: their WAU and MAU need not be zero).
- ``retention``: cohorts A, the moved cohort dates, a − N for every a in A, and d − N for every d
  by which the last day with data moved (their retention stops being null); all cohorts when
  the parameter's list of N changed.

Progress: one ``refreshes`` row per silver batch consumed, written last (``incremental.refresh``).
Writes are ordered so that a run that dies half-way is redone whole to the same result:
``devices`` (which the plan compares against) is written after every table that the plan's moved
cohorts feed, and ``daily_kpis`` (whose span the plan starts from) after ``retention``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from pyspark.sql import functions as F

from products.mobile_user_analytics import metrics
from shared_lib import incremental, tables
from shared_lib import spark as spark_lib

TABLES = ("device_activity", "devices", "daily_kpis", "daily_by_version", "retention")
LOOKBACK_DAYS = metrics.MAU_DAYS - 1
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    first: dt.date  # first and last day with data, after this refresh
    last: dt.date
    kpi_dates: list[dt.date]
    cohort_dates: list[dt.date]


def _span(lo: dt.date, hi: dt.date) -> list[dt.date]:
    return [lo + i * DAY for i in range((hi - lo).days + 1)] if lo <= hi else []


def plan(affected: Sequence[dt.date], moved: Iterable[dt.date], previous: tuple | None,
         retention_days: Sequence[int], all_cohorts: bool = False) -> Plan | None:
    """The dates and cohorts to recompute. ``affected``: dates of the batches; ``moved``: old and
    new cohort dates of devices whose first day changed; ``previous``: (first, last) day of the
    daily KPIs before this refresh, None when there are none yet. None when nothing to do."""
    moved = set(moved)
    known = [*affected, *moved, *(previous or ())]
    if not known:
        return None
    first, last = min(known), max(known)
    prev_first, prev_last = previous or (last + DAY, first - DAY)  # none yet: every date is new
    grown = set(_span(first, prev_first - DAY)) | set(_span(prev_last + DAY, last))
    kpi = {a + k * DAY for a in affected for k in range(LOOKBACK_DAYS + 1)} | moved | grown
    cohorts = set(affected) | moved | {d - n * DAY for d in set(affected) | grown for n in retention_days}
    if all_cohorts:
        cohorts = set(_span(first, last))
    in_range = lambda dates: sorted(d for d in dates if first <= d <= last)  # noqa: E731
    return Plan(first, last, in_range(kpi), in_range(cohorts))


def retention_days_of(own: dict) -> list[int]:
    days = own["gold"]["retention_days"]
    if not days or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in days):
        raise ValueError(f"mobile-user-analytics.gold.retention_days must be a list of whole days >= 1, got {days!r}")
    return sorted(set(days))


def run(ctx) -> dict:
    """Refresh what the silver batches since the last gold run changed; returns what was refreshed."""
    days = retention_days_of(ctx.own)  # a bad parameter fails before anything is read
    changed = _days_changed(ctx, days)
    return {"cohorts_refreshed": 0, **incremental.refresh(
        ctx, TABLES, lambda affected: _refresh(ctx, affected, days, changed), rewrite=changed)}


def _days_changed(ctx, days: list[int]) -> bool:
    """The parameter's retention days differ from those ``retention`` holds: every cohort is redone."""
    if not tables.exists(ctx.table("retention")):
        return False
    known = sorted(r[0] for r in ctx.read("retention").select("day_n").distinct().collect())
    return bool(known) and known != days


def _refresh(ctx, affected: list[dt.date], days: list[int], all_cohorts: bool) -> dict:
    with spark_lib.checkpoints() as keep:
        done = _write_plan(ctx, affected, days, all_cohorts, keep)
    return {"dates_refreshed": [d.isoformat() for d in done.kpi_dates] if done else [],
            "cohorts_refreshed": len(done.cohort_dates) if done else 0}


def _write_plan(ctx, affected: list[dt.date], days: list[int], all_cohorts: bool, keep) -> Plan | None:
    writer = ctx.writer
    events = ctx.read("events")
    on_affected = keep(events.where(F.col("event_date").isin(affected)))
    fresh = keep(metrics.device_activity(on_affected))
    # Each device whose days changed gets its first day again, from its other days and the new ones.
    others = ctx.read("device_activity").where(~F.col("date").isin(affected) if affected else F.lit(True))
    touched = fresh.select("device_id").distinct()
    firsts = metrics.cohort_dates(others.join(touched, "device_id", "left_semi").select("device_id", "date")
                                  .unionByName(fresh.select("device_id", "date")))
    old = ctx.read("devices")
    changed = keep(firsts.join(old.select("device_id", F.col("cohort_date").alias("_old")), "device_id", "left")
                   .where(F.col("_old").isNull() | (F.col("_old") != F.col("cohort_date"))))
    moved = {d for r in changed.select("cohort_date", "_old").collect() for d in r if d is not None}
    span = ctx.read("daily_kpis").agg(F.min("date"), F.max("date")).first()
    todo = plan(affected, moved, None if span[0] is None else (span[0], span[1]), days, all_cohorts)
    if todo is None:
        return None
    cohorts = keep(old.join(changed.select("device_id"), "device_id", "left_anti").select("device_id", "cohort_date")
                   .unionByName(changed.select("device_id", "cohort_date")))

    if affected:
        writer.replace(fresh, ctx.table("device_activity"), tables.in_predicate("date", affected))
    activity = ctx.read("device_activity")
    # Retention and the per-version table are independent: written side by side. Both come before
    # daily_kpis, whose date span the plan of a rerun starts from, and before devices.
    writes = []
    if todo.cohort_dates:
        due = (F.col("date") >= todo.cohort_dates[0] + min(days) * DAY) & (
            F.col("date") <= todo.cohort_dates[-1] + max(days) * DAY)
        retained = metrics.retention(cohorts.where(F.col("cohort_date").isin(todo.cohort_dates)),
                                     activity.where(due), days, todo.last)
        writes.append(lambda: writer.replace_collected(retained, ctx.table("retention"),
                                             tables.in_predicate("cohort_date", todo.cohort_dates)))
    if affected:
        versions = metrics.by_version(on_affected, fresh, ctx.read("sessions").where(F.col("session_date").isin(affected)))
        writes.append(lambda: writer.replace_collected(versions, ctx.table("daily_by_version"),
                                             tables.in_predicate("date", affected)))
    writer.write_all(writes)
    if todo.kpi_dates:
        kpi_dates = todo.kpi_dates
        window = F.col("date").between(kpi_dates[0] - LOOKBACK_DAYS * DAY, kpi_dates[-1])
        sessions = keep(ctx.read("sessions").where(F.col("session_date").isin(kpi_dates)))
        orders = metrics.purchase_orders(_purchases_of(events, sessions), sessions)
        writer.replace_collected(metrics.daily_kpis(kpi_dates, activity.where(window), cohorts, sessions, orders),
                       ctx.table("daily_kpis"), tables.in_predicate("date", kpi_dates))
    if not changed.isEmpty():
        writer.merge(changed.select("device_id", "cohort_date"), ctx.table("devices"), ["device_id"])
    return todo


def _purchases_of(events, sessions):
    """The purchase events that may belong to ``sessions``: those of the days their spans cover."""
    span = sessions.agg(F.to_date(F.min("session_start")).alias("lo"), F.to_date(F.max("session_end")).alias("hi")).first()
    if span["lo"] is None:
        return events.where(F.lit(False))
    return events.where((F.col("event_type") == "purchase") & F.col("event_date").between(span["lo"], span["hi"]))
