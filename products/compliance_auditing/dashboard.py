"""The compliance-auditing dashboard (``notebooks/dashboards/compliance-auditing.ipynb``): gold
``daily_compliance_kpis``, the silver ``audit_trail`` (hashed subject ids only) and the catalog's
personal-data inventory in, a page of widgets out. The compliance report (``report.py``) shows
the same numbers, computed by the same pure functions.

Counts over a date range are the sums of the daily counts of gold. Consent coverage is a state,
not a flow: the card shows it at the end of the range (the latest day on or before it that gold
has), over every subject x purpose with a decision: granted pairs / decided pairs. Rows past
retention is a state too: the latest day's value on or before the end of the range. The retention
section shows each table's latest check (``platform.retention_status``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from products.compliance_auditing import retention_kpis
from shared_lib import catalog, lake, paths, products
from shared_lib import dashboard as ui
from shared_lib.dashboard import Kpi, Period

PRODUCT = "compliance-auditing"
DEFAULT_DAYS = 7
ALL = "All"
NO_PURPOSE = "(none)"
EXPLORER_ROWS = 200

KPIS = (
    Kpi("audit_events", "Audit events", "count"),
    Kpi("denied_accesses", "Denied accesses", "count", higher_is_better=False),
    Kpi("reads_without_purpose", "Personal-data reads without a purpose", "count", higher_is_better=False),
    Kpi("consent_coverage", "Consent coverage", "rate", note="granted / decided subject x purpose, at the end"),
    Kpi("rows_past_retention", "Rows past retention", "count", higher_is_better=False,
        note="at the last retention check up to the end"),
)
COUNTED = ("audit_events", "denied_accesses", "reads_without_purpose")
# The audit explorer's filters: (filter name, audit_trail column, label).
AUDIT_FILTERS = (("actor", "actor", "Actor"), ("role", "actor_role", "Role"), ("action", "action", "Action"),
                 ("result", "result", "Result"), ("resource", "resource", "Resource"),
                 ("purpose", "purpose", "Purpose"))
EXPLORER_COLUMNS = ["event_ts", "actor", "actor_role", "action", "resource", "purpose", "result", "subject"]


@dataclass
class Compliance:
    kpis: pd.DataFrame  # gold daily_compliance_kpis (long format)
    audit: pd.DataFrame  # silver audit_trail
    inventory: pd.DataFrame  # the catalog's personal-data columns
    # platform.retention_status: each table's latest retention check (retention_kpis.latest_by_table)
    retention: pd.DataFrame = field(default_factory=lambda: retention_kpis.latest_by_table(pd.DataFrame()))


# The tables of product.yaml that the dashboard and the report read.
TABLES = ("daily_compliance_kpis", "audit_trail")


def inventory() -> pd.DataFrame:
    return pd.DataFrame(catalog.personal_data(products.all_products().values()),
                        columns=["table", "column", "type", "tag", "owner", "retention_days"])


def load() -> Compliance:
    kpis, audit = (lake.read_table(PRODUCT, table) for table in TABLES)
    status = lake.read_table(paths.PLATFORM, STATUS_TABLE)
    return Compliance(kpis, audit, inventory(), retention_kpis.latest_by_table(status))


STATUS_TABLE = "retention_status"  # of the platform


# --- numbers (pure) ------------------------------------------------------------------------


def card_values(kpis: pd.DataFrame, period: Period) -> dict:
    """The cards' values over ``period``: the counts summed over its days (day totals, dimension
    ``all``), consent coverage at its end (see the module); None where gold has nothing."""
    days = period.rows(kpis)
    totals = days[days["dimension"] == "all"].groupby("kpi")["value"].sum()
    values = {k: float(totals[k]) if k in totals.index else 0.0 for k in COUNTED}
    values["consent_coverage"] = coverage_at(kpis, period.end)
    values["rows_past_retention"] = latest_total(kpis, "rows_past_retention", period.end)
    return values


def latest_total(kpis: pd.DataFrame, kpi: str, day) -> float | None:
    """The day's total (dimension ``all``) of ``kpi`` on the latest day on or before ``day`` that
    has one; None when none has."""
    rows = kpis[(kpis["kpi"] == kpi) & (kpis["dimension"] == "all") & (kpis["date"] <= day)]
    if rows.empty:
        return None
    return float(rows[rows["date"] == rows["date"].max()]["value"].sum())


def coverage_at(kpis: pd.DataFrame, day) -> float | None:
    """Granted / decided subject x purpose pairs on the latest day on or before ``day`` with
    consent rows; None when there is none or no decision."""
    consent = kpis[kpis["kpi"].isin(["consent_subjects", "consent_granted"]) & (kpis["date"] <= day)]
    if consent.empty:
        return None
    latest = consent[consent["date"] == consent["date"].max()].groupby("kpi")["value"].sum()
    decided = latest.get("consent_subjects", 0.0)
    return float(latest.get("consent_granted", 0.0) / decided) if decided else None


def consent_by_day(kpis: pd.DataFrame) -> pd.DataFrame:
    """One row per date x purpose: coverage, grants and withdrawals of the day, by date."""
    consent = kpis[kpis["kpi"].isin(["consent_coverage", "consent_grants", "consent_withdrawals"])]
    wide = consent.pivot_table(index=["date", "dimension_value"], columns="kpi", values="value", aggfunc="sum")
    wide = wide.reindex(columns=["consent_coverage", "consent_grants", "consent_withdrawals"]).reset_index()
    wide.columns.name = None
    return wide.rename(columns={"dimension_value": "purpose", "consent_coverage": "coverage",
                                "consent_grants": "grants", "consent_withdrawals": "withdrawals"}
                       ).sort_values(["date", "purpose"], ignore_index=True)


DSAR_COLUMNS = {"dsar_opened": "opened", "dsar_completed": "completed", "dsar_overdue": "overdue",
                "dsar_median_completion_days": "median_completion_days"}
DSAR_FORMATS = {"date": "date", "opened": "count", "completed": "count", "overdue": "count", "median_completion_days": "ratio"}


def dsar_by_day(kpis: pd.DataFrame) -> pd.DataFrame:
    """One row per date with data-subject requests (day totals): opened, completed, overdue at
    the end of the day, median completion time in days of the day's completions; newest first."""
    rows = kpis[kpis["kpi"].isin(list(DSAR_COLUMNS)) & (kpis["dimension"] == "all")]
    if rows.empty:
        return pd.DataFrame(columns=["date", *DSAR_COLUMNS.values()])
    wide = rows.pivot_table(index="date", columns="kpi", values="value", aggfunc="sum")
    wide = wide.reindex(columns=list(DSAR_COLUMNS)).rename(columns=DSAR_COLUMNS).reset_index()
    wide.columns.name = None
    active = (wide[["opened", "completed", "overdue"]].fillna(0) > 0).any(axis=1)
    return wide[active].sort_values("date", ascending=False, ignore_index=True)


def audit_in(audit: pd.DataFrame, period: Period, values: dict) -> pd.DataFrame:
    """The audit events of ``period`` that match the explorer's filter ``values`` (``ALL`` matches
    anything, ``NO_PURPOSE`` an event without a purpose), newest first."""
    rows = period.rows(audit, "event_date")
    for name, column, _ in AUDIT_FILTERS:
        chosen = values.get(name, ALL)
        if chosen == NO_PURPOSE:
            rows = rows[rows[column].isna()]
        elif chosen != ALL:
            rows = rows[rows[column] == chosen]
    return rows.sort_values(["event_ts", "event_id"], ascending=False, ignore_index=True)


def explorer_rows(audit: pd.DataFrame, n: int = EXPLORER_ROWS) -> pd.DataFrame:
    """The first ``n`` events as the explorer shows them: the subject as the start of its hash."""
    rows = audit.head(n)
    return rows.assign(subject=rows["subject_hash"].fillna("").str[:12],
                       purpose=rows["purpose"].fillna(NO_PURPOSE))[EXPLORER_COLUMNS]


def denied(audit: pd.DataFrame) -> pd.DataFrame:
    """Denied audit events per actor, role, action and resource: how many and the last one, most
    first."""
    rows = audit[audit["result"] == "denied"].fillna({"actor_role": ""})
    out = (rows.groupby(["actor", "actor_role", "action", "resource"], as_index=False)
           .agg(denied=("event_id", "count"), last=("event_ts", "max")))
    return out.sort_values(["denied", "last"], ascending=False, ignore_index=True)


def by_action(kpis: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Audit events of ``period`` per action/result, most first."""
    rows = period.rows(kpis)
    rows = rows[(rows["kpi"] == "audit_events") & (rows["dimension"] == "action/result")]
    out = rows.groupby("dimension_value", as_index=False)["value"].sum()
    out = out.rename(columns={"dimension_value": "action/result", "value": "events"})
    return out.sort_values(["events", "action/result"], ascending=[False, True], ignore_index=True)


def default_period(kpis: pd.DataFrame) -> tuple:
    return ui.default_period(kpis["date"], DEFAULT_DAYS)


# --- the page ------------------------------------------------------------------------------

NO_DATA_HINT = ui.build_hint("The compliance KPIs have no rows yet. Build them with", PRODUCT)
DENIED_FORMATS = {"denied": "count", "last": "time"}
EXPLORER_FORMATS = {"event_ts": "time"}
INVENTORY_FORMATS = {"retention_days": "count"}
RETENTION_FORMATS = {"retention_days": "count", "checked_at": "time", "rows_past_retention": "count",
                     "rows_held": "count", "rows_deleted": "count"}
RETENTION_NOTE = ("Each table's latest retention check: rows past its retention at check time (held ones "
                  "included), kept by a legal hold, deleted. Policy and holds: dp catalog, dp hold list.")
NO_RETENTION_CHECK = "No retention check yet: run dp retention, or the retention-daily schedule"


def _cards(kpis: pd.DataFrame, period: Period):
    current, previous = card_values(kpis, period), card_values(kpis, period.previous())
    return ui.kpi_cards(KPIS, current, previous, compared_with=f"previous {period.days} days")


def _explorer(data: Compliance, period: Period, values: dict):
    rows = audit_in(data.audit, period, values)
    if rows.empty:
        return ui.section("Audit explorer", ui.empty_state("No audit events match", "<p>Change the filters.</p>"))
    note = f"{len(rows):,} events; the newest {min(len(rows), EXPLORER_ROWS)} shown. Subjects are keyed hashes."
    return ui.section("Audit explorer", ui.table(explorer_rows(rows), EXPLORER_FORMATS), note=note)


def _denied(data: Compliance, period: Period):
    rows = denied(period.rows(data.audit, "event_date")).head(20)
    return ui.section("Denied accesses", ui.table(rows, DENIED_FORMATS) if len(rows)
                      else ui.empty_state("No denied access in the period"))


def _consent(kpis: pd.DataFrame, period: Period):
    days = period.rows(consent_by_day(kpis))
    if days.empty:
        return ui.section("Consent", ui.empty_state("No consent decisions yet"))
    coverage = days.pivot_table(index="date", columns="purpose", values="coverage").reset_index()
    withdrawals = days.pivot_table(index="date", columns="purpose", values="withdrawals").reset_index()
    purposes = sorted(days["purpose"].unique())
    return ui.section("Consent", *(ui.chart(fig) for fig in (
        ui.line_chart(coverage, "date", {p: p for p in purposes}, "Consent coverage per purpose", value_kind="rate"),
        ui.line_chart(withdrawals, "date", {p: p for p in purposes}, "Withdrawals per day"))), columns=2)


def _dsar(kpis: pd.DataFrame, period: Period):
    days = period.rows(dsar_by_day(kpis))
    note = "dp dsar access / erase; overdue: still open more than 30 days after receipt."
    if days.empty:
        return ui.section("Data-subject requests", ui.empty_state("No data-subject requests in the period"), note=note)
    return ui.section("Data-subject requests", ui.table(days, DSAR_FORMATS), note=note)


def render(data: Compliance, values: dict) -> list:
    """The page body for the filter ``values`` (start, end and the explorer's filters)."""
    period = ui.chosen_period(values)
    if period is None:
        return [ui.no_period()]
    return [_cards(data.kpis, period), _explorer(data, period, values), _denied(data, period),
            _consent(data.kpis, period), _dsar(data.kpis, period)]


def filters(data: Compliance) -> dict:
    out = ui.date_filters(*default_period(data.kpis))
    for name, column, label in AUDIT_FILTERS:
        options = sorted(data.audit[column].dropna().unique())
        out[name] = ui.choice_filter(label, [ALL, *options, *([NO_PURPOSE] if name == "purpose" else [])])
    return out


def retention_section(data: Compliance):
    if data.retention.empty:
        return ui.section("Retention", ui.empty_state(NO_RETENTION_CHECK))
    return ui.section("Retention", ui.table(data.retention, RETENTION_FORMATS), note=RETENTION_NOTE)


def inventory_section(data: Compliance):
    return ui.section("Personal data inventory", ui.table(data.inventory, INVENTORY_FORMATS),
                      note="Declared columns tagged as personal data (product.yaml), their owner and retention.")


def page():
    """The whole dashboard as one widget; an empty state when gold has no rows yet."""
    return ui.page(PRODUCT, "Compliance auditing", "Audit trail, denied accesses and consent (UTC days)",
                   load, has_data=lambda data: not data.kpis.empty,
                   no_data=("No compliance data yet", NO_DATA_HINT), filters=filters, render=render,
                   below=lambda data: [retention_section(data), inventory_section(data)])
