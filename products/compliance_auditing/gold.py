"""The gold step of compliance-auditing: recompute, from silver, the dates that silver batches
not yet refreshed have touched, and replace those dates in ``daily_compliance_kpis``
(``replaceWhere`` on the date). A date's rows are a function of silver alone, so a rerun gives
the same table; with no new silver batch nothing is written at all. One ``refreshes`` row per
silver batch consumed, written last (a run that dies before it is redone whole)."""
from __future__ import annotations

from pyspark.sql import functions as F

from products.compliance_auditing import kpis
from shared_lib import incremental, products, tables

TABLES = ("daily_compliance_kpis", "refreshes")


def run(ctx) -> dict:
    """Refresh the dates touched since the last gold run; returns the dates refreshed."""
    for name in TABLES:
        ctx.writer.ensure(ctx.table(name))
    pending = incremental.pending_batches(ctx.read("batches"), ctx.read("refreshes"))
    if not pending:
        return {"dates_refreshed": [], "silver_batches": 0}
    dates = incremental.pending_dates(pending)
    if dates:
        audit = ctx.read("audit_trail").where(F.col("event_date").isin(dates))
        history = ctx.read("consent_events").where(F.col("event_date") <= max(dates))
        personal = kpis.personal_columns_of(products.all_products().values())
        rows = kpis.audit_kpis(audit, personal).unionByName(kpis.consent_kpis(history, dates))
        ctx.writer.replace_collected(rows, ctx.table("daily_compliance_kpis"), tables.in_predicate("date", dates))
    refreshes = incremental.refresh_rows(pending, ctx.run_id)
    ctx.writer.append_collected(ctx.spark.createDataFrame(refreshes, incremental.REFRESH_SCHEMA), ctx.table("refreshes"))
    return {"dates_refreshed": [d.isoformat() for d in dates], "silver_batches": len(pending)}
