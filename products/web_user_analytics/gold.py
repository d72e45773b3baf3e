"""The gold step of web-user-analytics: recompute, from silver, the dates that silver batches
not yet refreshed have touched, and replace those dates in every gold table (``replaceWhere`` on
the ``date`` partition). A gold table's content for a date is a function of silver alone, so a
rerun gives the same tables; with no new silver batch nothing is written at all.

Progress: one ``refreshes`` row per silver batch consumed, written after the gold tables
(``incremental.refresh``: a run that dies before it is redone whole, to the same result).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from products.web_user_analytics import funnel, kpis
from shared_lib import incremental, tables
from shared_lib import spark as spark_lib

KPI_TABLES = {"daily_kpis": (), "daily_kpis_by_channel": ("channel",),
              "daily_kpis_by_device": ("device_type",), "daily_kpis_by_country": ("country",)}
TABLES = (*KPI_TABLES, "page_metrics", "funnel")


def run(ctx) -> dict:
    """Refresh the dates touched since the last gold run; returns the dates refreshed."""
    steps = funnel.steps_from_params(ctx.own["gold"]["funnel_steps"])  # a bad parameter fails first
    return incremental.refresh(ctx, TABLES, lambda dates: _refresh(ctx, dates, steps))


def _refresh(ctx, dates: list[dt.date], steps: list[funnel.Step]) -> None:
    with spark_lib.checkpoints() as keep:
        _write_dates(ctx, dates, steps, keep)


def _write_dates(ctx, dates: list[dt.date], steps: list[funnel.Step], keep) -> None:
    writer = ctx.writer
    sessions = keep(ctx.read("sessions").where(F.col("session_date").isin(dates)))
    events = ctx.read("events")
    # Sessions may run past midnight: read the events of every day their spans cover.
    span = sessions.agg(F.to_date(F.min("session_start")).alias("lo"),
                        F.to_date(F.max("session_end")).alias("hi")).first()
    if span["lo"] is None:
        in_span = events.where(F.lit(False))
    else:
        in_span = events.where(F.col("event_date").between(span["lo"], span["hi"]))
    in_sessions = keep(kpis.session_events(sessions, in_span))
    bot_events = events.where(F.col("is_bot") & F.col("event_date").isin(dates))
    where = tables.in_predicate("date", dates)
    outputs = {name: kpis.daily_kpis(sessions, in_sessions, bot_events, dimensions)
               for name, dimensions in KPI_TABLES.items()}
    outputs["page_metrics"] = kpis.page_metrics(sessions, in_sessions)
    outputs["funnel"] = funnel.funnel(sessions, in_sessions, steps)
    # The tables are independent: written side by side (the refreshes row still comes last).
    writer.write_all([lambda name=name, df=df: writer.replace_collected(df, ctx.table(name), where)
                      for name, df in outputs.items()])
