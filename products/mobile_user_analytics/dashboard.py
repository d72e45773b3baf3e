"""The mobile-user-analytics dashboard (``notebooks/dashboards/mobile-user-analytics.ipynb``): the
gold tables in, a page of widgets out.

Gold holds one row per day (and per day × platform × app version, and per cohort × N). Totals over
a date range are recomputed from daily counts: crash-free rates as 1 − summed crashes over summed
device-days or sessions, never as an average of daily rates. DAU summed over days is device-days;
the cards show the average DAU and the MAU of the range's last day instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from shared_lib import dashboard as ui
from shared_lib import lake
from shared_lib.dashboard import Kpi, Period

PRODUCT = "mobile-user-analytics"
DEFAULT_DAYS = 42  # six weeks: day-30 retention of the first cohorts shows
# A version is a candidate for "worst" only with enough use in the range to mean something.
WORST_MIN_SHARE, WORST_MIN_DEVICE_DAYS = 0.01, 5

KPIS = (
    Kpi("avg_dau", "Average DAU", "count", note="distinct devices per day, averaged"),
    Kpi("mau", "MAU", "count", note="28 days to the range's last day"),
    Kpi("stickiness", "Stickiness", "rate", note="average DAU / average MAU"),
    Kpi("new_devices", "New devices", "count"),
    Kpi("sessions", "Sessions", "count"),
    Kpi("crash_free_users", "Crash-free users", "rate", note="over device-days"),
    Kpi("crash_free_sessions", "Crash-free sessions", "rate"),
    Kpi("revenue", "Revenue", "money"),
)


@dataclass
class Gold:
    daily: pd.DataFrame
    by_version: pd.DataFrame
    retention: pd.DataFrame


GOLD_TABLES = ("daily_kpis", "daily_by_version", "retention")


def load() -> Gold:
    return Gold(*(lake.read_table(PRODUCT, table) for table in GOLD_TABLES))


# --- numbers (pure) ------------------------------------------------------------------------


def _share(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def totals(daily: pd.DataFrame) -> dict:
    """Card values over the rows of ``daily_kpis`` (any number of days; none gives zeros and
    undefined averages and rates)."""
    rows = daily.sort_values("date")
    s = {c: float(rows[c].astype(float).sum()) for c in
         ("dau", "mau", "new_devices", "sessions", "crashed_devices", "crashed_sessions", "revenue", "purchases")}
    crash_users, crash_sessions = _share(s["crashed_devices"], s["dau"]), _share(s["crashed_sessions"], s["sessions"])
    return {"avg_dau": _share(s["dau"], len(rows)), "mau": float(rows["mau"].iloc[-1]) if len(rows) else None,
            "stickiness": _share(s["dau"], s["mau"]), "new_devices": s["new_devices"], "sessions": s["sessions"],
            "crash_free_users": None if crash_users is None else 1 - crash_users,
            "crash_free_sessions": None if crash_sessions is None else 1 - crash_sessions,
            "revenue": s["revenue"], "purchases": s["purchases"]}


def version_label(df: pd.DataFrame) -> pd.Series:
    return df["platform"].astype(str) + " " + df["app_version"].astype(str)


def version_health(by_version: pd.DataFrame) -> pd.DataFrame:
    """Per platform × version over the rows given: device-days, crashed device-days, sessions,
    crashed sessions and the two crash-free rates; the least crash-free first."""
    counts = ["active_devices", "crashed_devices", "sessions", "crashed_sessions"]
    sums = by_version.assign(version=version_label(by_version)).groupby("version")[counts].sum().astype(float)
    sums["crash_free_users"] = 1 - sums["crashed_devices"] / sums["active_devices"].where(sums["active_devices"] > 0)
    sums["crash_free_sessions"] = 1 - sums["crashed_sessions"] / sums["sessions"].where(sums["sessions"] > 0)
    return sums.reset_index().sort_values(["crash_free_users", "version"], ignore_index=True, na_position="last")


def worst_version(health: pd.DataFrame) -> pd.Series | None:
    """The version with the lowest crash-free users among those with at least 1 % of the
    device-days (and at least 5); None when no version has a crash."""
    floor = max(WORST_MIN_DEVICE_DAYS, WORST_MIN_SHARE * health["active_devices"].sum())
    candidates = health[(health["active_devices"] >= floor) & (health["crashed_devices"] > 0)]
    if candidates.empty:
        return None
    return candidates.sort_values(["crash_free_users", "version"]).iloc[0]


def adoption(by_version: pd.DataFrame) -> pd.DataFrame:
    """date, version, version_adoption: each version's share of the day's DAU (by the version of
    a device's last event that day)."""
    return by_version.assign(version=version_label(by_version))[["date", "version", "version_adoption"]]


def retention_matrix(retention: pd.DataFrame) -> pd.DataFrame:
    """Cohort date down, "day N" across, retention in the cells (blank while not yet due)."""
    table = retention.pivot_table(index="cohort_date", columns="day_n", values="retention", aggfunc="first",
                                  dropna=False)
    table = table.reindex(columns=sorted(retention["day_n"].unique()))
    table.columns = [f"day {n}" for n in table.columns]
    table.index = [ui.format_value(d, "day") for d in table.index]
    return table


# --- the page ------------------------------------------------------------------------------

NO_DATA_HINT = ui.build_hint("The gold tables of mobile-user-analytics have no rows yet. Build them with", PRODUCT)


def _active(daily: pd.DataFrame):
    daily = daily.sort_values("date")
    return ui.section("Active devices", *(ui.chart(fig) for fig in (
        ui.line_chart(daily, "date", {"dau": "DAU", "wau": "WAU", "mau": "MAU"}, "DAU, WAU (7 days) and MAU (28 days)"),
        ui.line_chart(daily, "date", {"stickiness": "DAU / MAU"}, "Stickiness", value_kind="rate"))),
        columns=2)


def _retention(gold: Gold, period: Period):
    cohorts = period.rows(gold.retention, "cohort_date")
    if cohorts.empty:
        return ui.section("Retention", ui.empty_state("No cohorts in this range"))
    matrix = retention_matrix(cohorts)
    return ui.section("Retention", ui.chart(ui.heatmap(
        matrix, "Devices back on exactly day N, by install cohort", "day", "cohort", value_kind="rate",
        height=max(300, 22 * len(matrix) + 120))),
        note="Blank: cohort date + N is after the last day with data.")


def _versions(gold: Gold, period: Period):
    rows = period.rows(gold.by_version)
    if rows.empty:
        return ui.section("App versions", ui.empty_state("No version data in this range"))
    health = version_health(rows)
    worst = worst_version(health)
    overall = totals(period.rows(gold.daily))["crash_free_users"]
    if worst is None:
        call = ui.callout("No crashes in this range.", "", tone="good")
    else:
        call = ui.callout(f"Worst version: {worst['version']}",
                          f"{ui.format_value(worst['crash_free_users'], 'rate')} crash-free users "
                          f"(all versions {ui.format_value(overall, 'rate')}), "
                          f"{ui.format_value(worst['crashed_devices'], 'count')} crashing device-days of "
                          f"{ui.format_value(worst['active_devices'], 'count')}, "
                          f"{ui.format_value(worst['crash_free_sessions'], 'rate')} crash-free sessions.")
    hover = {"crash_free_sessions": "rate", "active_devices": "count", "crashed_devices": "count"}
    bars = ui.bar_chart(health.dropna(subset=["crash_free_users"]).sort_values("crash_free_users", ascending=False),
                        "version", "crash_free_users", "Crash-free users by version", value_kind="rate", hover=hover,
                        highlight=None if worst is None else worst["version"])
    shares = ui.area_chart(adoption(rows), "date", "version", "version_adoption", "Version adoption (share of DAU)")
    return ui.section("App versions", ui.column(call, ui.chart(bars)), ui.chart(shares), columns=2)


def render(gold: Gold, values: dict) -> list:
    """The page body for the filter ``values`` (start, end)."""
    period = ui.chosen_period(values)
    if period is None:
        return [ui.no_period()]
    daily = period.rows(gold.daily)
    if daily.empty:
        return [ui.empty_state(f"No activity in {period.label()}", "<p>Pick another date range.</p>")]
    current, previous = totals(daily), totals(period.previous().rows(gold.daily))
    cards = ui.kpi_cards(KPIS, current, previous, compared_with=f"previous {period.days} days")
    return [cards, _active(daily), _versions(gold, period), _retention(gold, period)]


def filters(gold: Gold) -> dict:
    return ui.date_filters(*ui.default_period(gold.daily["date"], DEFAULT_DAYS))


def page():
    """The whole dashboard as one widget; an empty state when gold has no rows yet."""
    return ui.page(PRODUCT, "Mobile user analytics", "Active devices, retention, crashes and app versions (UTC days)",
                   load, has_data=lambda gold: not gold.daily.empty,
                   no_data=("No mobile analytics data yet", NO_DATA_HINT), filters=filters, render=render)
