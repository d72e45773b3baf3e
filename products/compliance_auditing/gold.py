"""The gold step of compliance-auditing: recompute, from silver, the dates that silver batches
not yet refreshed have touched, and replace those dates in ``daily_compliance_kpis``
(``replaceWhere`` on the date). A date's rows are a function of silver alone, so a rerun gives
the same table; with no new silver batch nothing is written at all. One ``refreshes`` row per
silver batch consumed, written last (a run that dies before it is redone whole)."""
from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from products.compliance_auditing import kpis
from shared_lib import incremental, products, tables


def run(ctx) -> dict:
    """Refresh the dates touched since the last gold run, then the DSAR KPIs; returns the dates
    refreshed and the DSAR KPI rows written (0 when they had not changed)."""
    out = incremental.refresh(ctx, ("daily_compliance_kpis",), lambda dates: _write_dates(ctx, dates))
    return {**out, "dsar_kpi_rows": _write_dsar(ctx)}


def _write_dsar(ctx) -> int:
    """The DSAR KPIs from ``dsar_requests`` (written by `dp dsar`, not by silver batches: checked on
    every run), replaced only when they changed, so a quiet rerun writes nothing."""
    requests = ctx.table("dsar_requests")
    if not tables.exists(requests):
        return 0
    rows = kpis.dsar_kpis([r.asDict() for r in ctx.read("dsar_requests").collect()], dt.datetime.now(dt.timezone.utc).date())
    target = ctx.table("daily_compliance_kpis")
    names = tables.in_predicate("kpi", kpis.DSAR_KPIS)
    present = [] if not tables.exists(target) else [
        tuple(r) for r in ctx.read("daily_compliance_kpis").where(names).select(
            "date", "kpi", "dimension", "dimension_value", "value").collect()]
    if sorted(present) == sorted(rows):
        return 0
    return ctx.writer.replace_collected(ctx.spark.createDataFrame(rows, kpis.SCHEMA), target, names)


def _write_dates(ctx, dates: list[dt.date]) -> None:
    audit = ctx.read("audit_trail").where(F.col("event_date").isin(dates))
    history = ctx.read("consent_events").where(F.col("event_date") <= max(dates))
    personal = products.personal_columns_of(products.all_products().values())
    rows = kpis.audit_kpis(audit, personal).unionByName(kpis.consent_kpis(history, dates))
    ctx.writer.replace_collected(rows, ctx.table("daily_compliance_kpis"), tables.in_predicate("date", dates))
