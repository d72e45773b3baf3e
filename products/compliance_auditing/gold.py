"""The gold step of compliance-auditing: recompute, from silver, the dates that silver batches
not yet refreshed have touched, and replace those dates in ``daily_compliance_kpis``
(``replaceWhere`` on the date). A date's rows are a function of silver (and of the retention
checks of ``platform.retention_status``) alone, so a rerun gives the same table; with no new
silver batch and no new retention check nothing is written at all. One ``refreshes`` row per
silver batch consumed, written last (a run that dies before it is redone whole).

The retention KPIs (``retention_kpis``) of a date are rewritten with the date; and the date of the
latest retention check gets its retention KPIs rewritten alone when they differ from gold's."""
from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from products.compliance_auditing import kpis, retention_kpis
from shared_lib import incremental, lake, paths, products, tables

STATUS = "retention_status"  # of the platform


def run(ctx) -> dict:
    """Refresh the dates touched since the last gold run, then the latest retention check's KPIs
    and the DSAR KPIs; returns the dates refreshed, the retention check's date rewritten and the
    DSAR KPI rows written (0 when they had not changed)."""
    result = incremental.refresh(ctx, ("daily_compliance_kpis",), lambda dates: _write_dates(ctx, dates))
    result["retention_kpis_of"] = _refresh_latest_check(ctx, result["dates_refreshed"])
    return {**result, "dsar_kpi_rows": _write_dsar(ctx)}


def _status(ctx, dates: list[dt.date] | None = None):
    """The retention checks (of ``dates`` when given) as pandas; empty before the first check."""
    df = ctx.read_if_exists(STATUS, product=paths.PLATFORM)
    if df is None:
        return lake.read(products.get(paths.PLATFORM).table(STATUS))
    if dates is not None:
        df = df.where(F.to_date("checked_at").isin(dates))
    return df.toPandas()


def _retention_rows(ctx, status, dates: list[dt.date]):
    rows = retention_kpis.retention_kpis(status, dates)
    return ctx.spark.createDataFrame(rows if len(rows) else [], kpis.SCHEMA)


def _refresh_latest_check(ctx, refreshed: list[str]) -> str | None:
    """Rewrite the retention KPIs of the latest check's date, unless the date was just refreshed
    or gold holds them already; returns the date written."""
    status = _status(ctx)
    days = retention_kpis.check_dates(status)
    if not days or days[-1].isoformat() in refreshed:
        return None
    day = days[-1]
    new = retention_kpis.retention_kpis(status, [day])
    table = ctx.table("daily_compliance_kpis")
    held = lake.read(table, filters=[("date", "=", day)])
    held = held[held["kpi"].isin(retention_kpis.KPIS)]
    as_set = lambda df: {(r.kpi, r.dimension, r.dimension_value, float(r.value)) for r in df.itertuples()}  # noqa: E731
    if as_set(held) == as_set(new):
        return None
    where = f"{tables.in_predicate('date', [day])} AND {tables.in_predicate('kpi', list(retention_kpis.KPIS))}"
    ctx.writer.replace_collected(_retention_rows(ctx, status, [day]), table, where)
    return day.isoformat()


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
    rows = rows.unionByName(_retention_rows(ctx, _status(ctx, dates), dates))
    ctx.writer.replace_collected(rows, ctx.table("daily_compliance_kpis"), tables.in_predicate("date", dates))
