"""The request-log gold step: recompute ``service_hourly`` for the dates that silver batches not
yet refreshed have touched, replacing those dates (``replaceWhere`` on the ``date`` partition).
A date's rows are a function of silver alone, so a rerun gives the same table; with no new
silver batch nothing is written. One ``refreshes`` row per silver batch consumed, written last.
"""
from __future__ import annotations

from pyspark.sql import functions as F

from products.operational_metrics import requests
from shared_lib import incremental, tables


def run_gold(ctx) -> dict:
    """Refresh the dates touched since the last gold run; returns the dates refreshed."""
    for name in ("service_hourly", "refreshes"):
        ctx.writer.ensure(ctx.table(name))
    pending = incremental.pending_batches(ctx.read("batches"), ctx.read("refreshes"))
    if not pending:
        return {"dates_refreshed": [], "silver_batches": 0}
    dates = incremental.pending_dates(pending)
    if dates:
        events = ctx.read("events").where(F.col("event_date").isin(dates))
        ctx.writer.replace_collected(requests.service_hourly(events), ctx.table("service_hourly"),
                           tables.in_predicate("date", dates))
    rows = incremental.refresh_rows(pending, ctx.run_id)
    ctx.writer.append_collected(ctx.spark.createDataFrame(rows, incremental.REFRESH_SCHEMA), ctx.table("refreshes"))
    return {"dates_refreshed": [d.isoformat() for d in dates], "silver_batches": len(pending)}
