"""The request-log gold step: recompute ``service_hourly`` for the dates that silver batches not
yet refreshed have touched, replacing those dates (``replaceWhere`` on the ``date`` partition).
A date's rows are a function of silver alone, so a rerun gives the same table; with no new
silver batch nothing is written. One ``refreshes`` row per silver batch consumed, written last.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from products.operational_metrics import requests
from shared_lib import incremental, tables


def run(ctx) -> dict:
    """Refresh the dates touched since the last gold run; returns the dates refreshed."""
    return incremental.refresh(ctx, ("service_hourly",), lambda dates: _write_dates(ctx, dates))


def _write_dates(ctx, dates: list[dt.date]) -> None:
    events = ctx.read("events").where(F.col("event_date").isin(dates))
    ctx.writer.replace_collected(requests.service_hourly(events), ctx.table("service_hourly"),
                                 tables.in_predicate("date", dates))
