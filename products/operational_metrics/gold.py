"""The request-log gold step: recompute ``service_hourly`` for the dates that silver batches not
yet refreshed have touched, replacing those dates (``replaceWhere`` on the ``date`` partition).
A date's rows are a function of silver alone, so a rerun gives the same table; with no new
silver batch nothing is written. One ``refreshes`` row per silver batch consumed, written last.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from products.operational_metrics import requests
from shared_lib import tables

REFRESH_SCHEMA = "silver_run_id string, run_id string, dates array<date>, refreshed_at timestamp"


def run_gold(ctx) -> dict:
    """Refresh the dates touched since the last gold run; returns the dates refreshed."""
    for name in ("service_hourly", "refreshes"):
        ctx.writer.ensure(ctx.table(name))
    consumed = ctx.read("refreshes").select(F.col("silver_run_id").alias("run_id"))
    pending = ctx.read("batches").join(consumed, "run_id", "left_anti").select("run_id", "affected_dates").collect()
    if not pending:
        return {"dates_refreshed": [], "silver_batches": 0}
    dates = sorted({d for row in pending for d in row["affected_dates"]})
    if dates:
        events = ctx.read("events").where(F.col("event_date").isin(dates))
        ctx.writer.replace(requests.service_hourly(events), ctx.table("service_hourly"),
                           tables.in_predicate("date", dates))
    now = dt.datetime.now(dt.timezone.utc)
    rows = [(row["run_id"], ctx.run_id, list(row["affected_dates"]), now) for row in pending]
    ctx.writer.append(ctx.spark.createDataFrame(rows, REFRESH_SCHEMA), ctx.table("refreshes"))
    return {"dates_refreshed": [d.isoformat() for d in dates], "silver_batches": len(pending)}
