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

from products.web_user_analytics import engagement, funnel, journeys, kpis
from shared_lib import incremental, tables
from shared_lib import spark as spark_lib

KPI_TABLES = {"daily_kpis": (), "daily_kpis_by_channel": ("channel",),
              "daily_kpis_by_device": ("device_type",), "daily_kpis_by_country": ("country",)}
DATED_TABLES = (*KPI_TABLES, "page_metrics", "funnel", "engagement_depth", "element_clicks", "form_completion")
TABLES = (*DATED_TABLES, "user_journeys")


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
    in_sessions = keep(kpis.session_events(sessions, engagement.interactions(in_span), engagement.COLUMNS))
    bot_events = events.where(F.col("is_bot") & F.col("event_date").isin(dates))
    where = tables.in_predicate("date", dates)
    outputs = {name: kpis.daily_kpis(sessions, in_sessions, bot_events, dimensions)
               for name, dimensions in KPI_TABLES.items()}
    outputs["page_metrics"] = kpis.page_metrics(sessions, in_sessions)
    outputs["funnel"] = funnel.funnel(sessions, in_sessions, steps)
    outputs["engagement_depth"] = engagement.depth(in_sessions)
    outputs["element_clicks"] = engagement.element_clicks(in_sessions)
    outputs["form_completion"] = engagement.form_completion(in_sessions)
    # The tables are independent: written side by side (the refreshes row still comes last).
    writer.write_all([lambda name=name, df=df: writer.replace_collected(df, ctx.table(name), where)
                      for name, df in outputs.items()])
    _write_journeys(ctx)


def _write_journeys(ctx) -> None:
    """Every visitor's and user's journey. A journey spans every date and ``days_since_first_seen``
    moves with the latest date (``as_of``): while ``as_of`` stays, only the ids that the pending
    silver batches' sessions touch are recomputed (``journeys.updated``); all of them when it
    moves, on the first run, when retention removed sessions, or when a batch removed events for
    a consent withdrawal (a visitor may then have lost every session, which no new session names)."""
    all_sessions = ctx.read("sessions")
    as_of, first = all_sessions.agg(F.max("session_date"), F.min("session_start")).first()
    if as_of is None:
        return
    table, every_type = ctx.table("user_journeys"), tables.in_predicate("id_type", journeys.ID_TYPES)
    previous = ctx.read("user_journeys")
    # Retention deletes silver's oldest sessions: the first session seen moves, and all is redone.
    known = previous.where(F.col("id_type") == "anonymous_id").agg(F.max("as_of"), F.min("first_seen")).first()
    runs = _runs_since(ctx) if tuple(known) == (as_of, first) else None
    if runs is None:
        ctx.writer.replace(journeys.journeys(all_sessions, as_of), table, every_type)
        return
    ids = journeys.touched(all_sessions.where(F.col("run_id").isin(runs)), ctx.read("events"))
    with spark_lib.checkpoints() as keep:  # the rows read from the table are fixed before it is overwritten
        ctx.writer.replace(keep(journeys.updated(previous, all_sessions, ids, as_of)), table, every_type)


def _runs_since(ctx) -> list[str] | None:
    """The silver runs of the batches this gold run consumes; None when one of them removed events
    for a consent withdrawal."""
    batches = ctx.read("batches")
    consumed = ctx.read("refreshes").select(F.col("silver_run_id").alias("run_id"))
    pending = batches.join(consumed, "run_id", "left_anti").agg(
        F.collect_list("run_id").alias("runs"), F.sum("consent_withdrawn_rows").alias("withdrawn")).first()
    return None if pending["withdrawn"] else list(pending["runs"])
