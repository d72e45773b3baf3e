"""The web-user-analytics dashboard (``notebooks/dashboards/web-user-analytics.ipynb``): the gold
tables in, a page of widgets out.

Gold holds one row per day (and per day × channel, device type, country, page, funnel step).
Totals over a date range are recomputed from the daily counts - rates as summed numerators over
summed sessions, never as an average of daily rates. Visitors and page visitors are distinct per
day, so their range totals are visitor-days (a visitor of three days counts three times); the
cards say so.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from shared_lib import dashboard as ui
from shared_lib import lake
from shared_lib.dashboard import Kpi, Period

PRODUCT = "web-user-analytics"
ALL_CHANNELS = "All channels"
DEFAULT_DAYS = 28

KPIS = (
    Kpi("visitors", "Visitors", "count", note="distinct per day, summed over the days"),
    Kpi("sessions", "Sessions", "count"),
    Kpi("engagement_rate", "Engagement rate", "rate"),
    Kpi("conversion_rate", "Conversion rate", "rate"),
    Kpi("revenue", "Revenue", "money"),
    Kpi("purchases", "Purchases", "count"),
    Kpi("avg_session_duration_s", "Avg. session duration", "seconds"),
    Kpi("pages_per_session", "Pages per session", "ratio"),
)
# Columns of the daily KPI tables that add up over days and over groups.
ADDITIVE = ("visitors", "users", "sessions", "page_views", "engaged_sessions", "purchases", "revenue")


@dataclass
class Gold:
    daily: pd.DataFrame
    by_channel: pd.DataFrame
    by_device: pd.DataFrame
    by_country: pd.DataFrame
    pages: pd.DataFrame
    funnel: pd.DataFrame
    depth: pd.DataFrame
    elements: pd.DataFrame
    forms: pd.DataFrame


# The gold tables of product.yaml that the dashboard reads, in the order of Gold's fields.
GOLD_TABLES = ("daily_kpis", "daily_kpis_by_channel", "daily_kpis_by_device", "daily_kpis_by_country",
               "page_metrics", "funnel", "engagement_depth", "element_clicks", "form_completion")


def load() -> Gold:
    return Gold(*(lake.read_table(PRODUCT, table) for table in GOLD_TABLES))


# --- numbers (pure) ------------------------------------------------------------------------


def _sums(df: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Additive columns summed (per ``by`` when given, else one row), plus the two numerators
    that gold keeps only as rates: converted sessions and total session seconds."""
    sessions = df["sessions"].astype(float)
    parts = df[list(ADDITIVE)].astype(float).assign(
        converted_sessions=(df["conversion_rate"].astype(float).fillna(0) * sessions).round(),
        duration_s=df["avg_session_duration_s"].astype(float).fillna(0) * sessions)
    if by is None:
        return parts.sum().to_frame().T
    return parts.assign(**{by: df[by].fillna("unknown")}).groupby(by).sum()


def _with_rates(sums: pd.DataFrame) -> pd.DataFrame:
    sessions = sums["sessions"].where(sums["sessions"] > 0)  # no sessions: rates are undefined
    return sums.assign(engagement_rate=sums["engaged_sessions"] / sessions,
                       bounce_rate=1 - sums["engaged_sessions"] / sessions,
                       conversion_rate=sums["converted_sessions"] / sessions,
                       avg_session_duration_s=sums["duration_s"] / sessions,
                       pages_per_session=sums["page_views"] / sessions)


def totals(daily: pd.DataFrame) -> dict:
    """KPI totals over the rows of a daily KPI table (any number of days; none gives zeros and
    undefined rates)."""
    row = _with_rates(_sums(daily)).iloc[0]
    return {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}


def by_dimension(df: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Totals per value of ``dimension`` (null as "unknown"), most sessions first."""
    out = _with_rates(_sums(df, by=dimension)).reset_index()
    return out.sort_values(["sessions", dimension], ascending=[False, True], ignore_index=True)


def top_pages(pages: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` pages with the most page views: views, visitors (distinct per day, summed),
    entrances, exits and exit rate over the rows given."""
    sums = pages.groupby("page_path")[["page_views", "unique_visitors", "entrances", "exits"]].sum()
    sums = sums.astype(float).assign(exit_rate=lambda d: d["exits"] / d["page_views"]).reset_index()
    return sums.sort_values(["page_views", "page_path"], ascending=[False, True], ignore_index=True).head(n)


def funnel_steps(funnel: pd.DataFrame) -> pd.DataFrame:
    """Sessions reaching each step over the rows given, with conversion from the first step and
    from the step before (a session belongs to one date, so daily counts add up)."""
    steps = (funnel.groupby(["step", "step_name"], as_index=False)["sessions_reached"].sum()
             .astype({"sessions_reached": float}).sort_values("step", ignore_index=True))
    reached = steps["sessions_reached"]
    first = reached.iloc[0] if len(reached) and reached.iloc[0] > 0 else float("nan")
    return steps.assign(conversion_from_start=reached / first,
                        step_conversion=reached / reached.shift(1).where(lambda r: r > 0))


def click_through(depth: pd.DataFrame, elements: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Per page over the rows given: page views, clicks, click-through = summed clicks / summed
    page views (null without views) and the most clicked element; the ``n`` most viewed pages."""
    sums = depth.groupby("page_path")[["page_views", "clicks"]].sum().astype(float)
    sums["click_through"] = sums["clicks"] / sums["page_views"].where(sums["page_views"] > 0)
    per_element = elements.assign(element_id=elements["element_id"].fillna("(none)")).groupby(
        ["page_path", "element_id"], as_index=False)["clicks"].sum()
    top = (per_element.sort_values(["page_path", "clicks", "element_id"], ascending=[True, False, True])
           .groupby("page_path").head(1).set_index("page_path")["element_id"])
    out = sums.assign(top_element=top).reset_index()
    return out.sort_values(["page_views", "page_path"], ascending=[False, True], ignore_index=True).head(n)


def scroll_depth_on(depth: pd.DataFrame, day, n: int = 10) -> pd.DataFrame:
    """One day's scroll-depth percentiles per page, the pages with the most valid scroll events
    first (percentiles of different days cannot be added up, so the dashboard shows one day)."""
    rows = depth[(depth["date"] == day) & (depth["scroll_events"] + depth["scroll_depth_invalid"] > 0)]
    return rows.sort_values(["scroll_events", "page_path"], ascending=[False, True], ignore_index=True).head(n)


def form_completion(forms: pd.DataFrame) -> pd.DataFrame:
    """Per form over the rows given: submits, successful ones and completion rate."""
    sums = (forms.assign(form_id=forms["form_id"].fillna("(no form_id)")).groupby("form_id")[["submits", "successful"]]
            .sum().astype(float))
    out = sums.assign(completion_rate=sums["successful"] / sums["submits"]).reset_index()
    return out.sort_values(["submits", "form_id"], ascending=[False, True], ignore_index=True)


# --- the page ------------------------------------------------------------------------------

NO_DATA_HINT = ui.build_hint("The gold tables of web-user-analytics have no rows yet. Build them with", PRODUCT)
ALL_CHANNELS_NOTE = "All channels: gold has no per-channel breakdown of these."


def _daily_for(gold: Gold, channel: str) -> pd.DataFrame:
    if channel == ALL_CHANNELS:
        return gold.daily
    return gold.by_channel[gold.by_channel["channel"] == channel]


def _cards(gold: Gold, period: Period, channel: str):
    daily = _daily_for(gold, channel)
    current, previous = totals(period.rows(daily)), totals(period.previous().rows(daily))
    return ui.kpi_cards(KPIS, current, previous, compared_with=f"previous {period.days} days")


def _trends(daily: pd.DataFrame):
    daily = daily.sort_values("date")
    # Each figure built once the browser has the page (ui.chart), after the cards.
    return ui.section("Trends", *(ui.chart(build) for build in (
        lambda: ui.line_chart(daily, "date", {"visitors": "Visitors", "sessions": "Sessions"}, "Traffic per day"),
        lambda: ui.line_chart(daily, "date", {"engagement_rate": "Engagement", "conversion_rate": "Conversion"},
                              "Engagement and conversion rate", value_kind="rate"),
        lambda: ui.line_chart(daily, "date", {"revenue": "Revenue"}, "Revenue per day", value_kind="money"))),
        columns=3)


def _breakdowns(gold: Gold, period: Period, channel: str):
    hover = {"engagement_rate": "rate", "conversion_rate": "rate", "revenue": "money"}
    charts = []
    for df, dimension, title in ((gold.by_channel, "channel", "Sessions by channel"),
                                 (gold.by_device, "device_type", "Sessions by device type"),
                                 (gold.by_country, "country", "Sessions by country (top 10)")):
        rows = by_dimension(period.rows(df), dimension).head(10)
        charts.append(ui.chart(lambda rows=rows, dimension=dimension, title=title:
                               ui.bar_chart(rows, dimension, "sessions", title, hover=hover))
                      if len(rows) else ui.empty_state(f"{title}: no data"))
    return ui.section("Breakdowns", *charts, columns=3, note=_all_channels_note(channel))


def _all_channels_note(channel: str) -> str:
    return "" if channel == ALL_CHANNELS else ALL_CHANNELS_NOTE


def _pages_and_funnel(gold: Gold, period: Period, channel: str):
    pages = top_pages(period.rows(gold.pages)).rename(columns={
        "page_path": "page", "page_views": "views", "unique_visitors": "visitors", "exit_rate": "exit rate"})
    formats = {"views": "count", "visitors": "count", "entrances": "count", "exits": "count",
               "exit rate": "rate"}
    funnel = funnel_steps(period.rows(gold.funnel))
    return ui.section("Top pages and the funnel",
                      ui.table(pages, formats) if len(pages) else ui.empty_state("Top pages: no data"),
                      ui.chart(lambda: ui.funnel_chart(funnel, "step_name", "sessions_reached", "Purchase funnel"))
                      if len(funnel) else ui.empty_state("Purchase funnel: no data"),
                      columns=2, note=_all_channels_note(channel))


def _engagement(gold: Gold, period: Period, channel: str):
    clicks = click_through(period.rows(gold.depth), period.rows(gold.elements)).rename(columns={
        "page_path": "page", "page_views": "views", "click_through": "click-through", "top_element": "most clicked"})
    last_day = period.rows(gold.depth)["date"].max() if len(period.rows(gold.depth)) else None
    scroll = (scroll_depth_on(gold.depth, last_day) if last_day is not None else gold.depth.iloc[0:0]).rename(columns={
        "page_path": "page", "scroll_events": "scrolls", "scroll_depth_p25": "p25", "scroll_depth_p50": "p50",
        "scroll_depth_p75": "p75", "scroll_depth_p95": "p95", "scroll_depth_invalid": "invalid"})
    forms = form_completion(period.rows(gold.forms)).rename(columns={
        "form_id": "form", "completion_rate": "completion"})
    depth_formats = {"scrolls": "count", "p25": "ratio", "p50": "ratio", "p75": "ratio", "p95": "ratio",
                     "invalid": "count"}
    return ui.section(
        "Engagement depth",
        ui.table(clicks[["page", "views", "clicks", "click-through", "most clicked"]],
                 {"views": "count", "clicks": "count", "click-through": "ratio"})
        if len(clicks) else ui.empty_state("Click-through: no data"),
        ui.table(scroll[["page", "scrolls", "p25", "p50", "p75", "p95", "invalid"]], depth_formats)
        if len(scroll) else ui.empty_state("Scroll depth: no scroll events"),
        ui.table(forms[["form", "submits", "successful", "completion"]],
                 {"submits": "count", "successful": "count", "completion": "rate"})
        if len(forms) else ui.empty_state("Form completion: no form submits"),
        columns=3,
        note=(f"Click-through = clicks per page view over the range; scroll depth (0-100) percentiles of "
              f"{format_day(last_day)}, the range's last day; forms over the range. "
              + _all_channels_note(channel)).strip())


def format_day(day) -> str:
    return ui.format_value(day, "date") if day is not None else "–"


def render(gold: Gold, values: dict) -> list:
    """The page body for the filter ``values`` (start, end, channel)."""
    period, channel = ui.chosen_period(values), values["channel"]
    if period is None:
        return [ui.no_period()]
    daily = period.rows(_daily_for(gold, channel))
    if daily.empty:
        return [ui.empty_state(f"No sessions in {period.label()}", "<p>Pick another date range or channel.</p>")]
    return [_cards(gold, period, channel), _trends(daily), _breakdowns(gold, period, channel),
            _pages_and_funnel(gold, period, channel), _engagement(gold, period, channel)]


def filters(gold: Gold) -> dict:
    channels = [ALL_CHANNELS, *sorted(gold.by_channel["channel"].unique())]
    return {**ui.date_filters(*ui.default_period(gold.daily["date"], DEFAULT_DAYS)),
            "channel": ui.choice_filter("Channel", channels)}


JOURNEY_FORMATS = {"sessions": "count", "page views": "count", "events": "count", "session time": "seconds",
                   "avg session": "seconds", "pages/session": "ratio", "bounce rate": "rate",
                   "first seen": "time", "last seen": "time", "days since first seen": "count"}


def journey_rows(journeys: pd.DataFrame) -> pd.DataFrame:
    """The journey rows of one id as a table: lists joined, columns named for people."""
    def joined(values) -> str:
        return ", ".join(values) if values is not None and len(values) else "–"

    return journeys.assign(traffic_sources=journeys["traffic_sources"].map(joined),
                           countries=journeys["countries"].map(joined)).rename(columns={
        "id_type": "identifier", "page_views": "page views", "total_session_time_s": "session time",
        "avg_session_time_s": "avg session", "pages_per_session": "pages/session", "bounce_rate": "bounce rate",
        "first_seen": "first seen", "last_seen": "last seen", "days_since_first_seen": "days since first seen",
        "primary_device_type": "device", "primary_browser": "browser", "traffic_sources": "sources"})[
        ["identifier", "sessions", "page views", "events", "session time", "avg session", "pages/session",
         "bounce rate", "first seen", "last seen", "days since first seen", "device", "browser", "sources",
         "countries"]]


def lookup(visitor: str) -> list:
    """The journey of one visitor (anonymous_id) or user (user_id): personal data, read for that
    id only."""
    if not visitor:
        return []
    rows = lake.read_table(PRODUCT, "user_journeys", filters=[("id", "=", visitor)])
    if rows.empty:
        return [ui.empty_state(f"No visitor or user {visitor}",
                               "<p>Journeys are rebuilt by every gold run from the sessions in silver.</p>")]
    return [ui.table(journey_rows(rows.sort_values("id_type", ignore_index=True)), JOURNEY_FORMATS)]


def page():
    """The whole dashboard as one widget, the journey lookup under it; an empty state when gold
    has no rows yet."""
    return ui.page(PRODUCT, "Web user analytics", "Sessions, engagement and conversion of the website (UTC days)",
                   load, has_data=lambda gold: not gold.daily.empty,
                   no_data=("No web analytics data yet", NO_DATA_HINT), filters=filters, render=render,
                   below=lambda gold: [ui.section("Visitor journey",
                                                  ui.text_search("Visitor", "anonymous_id or user_id, then Enter",
                                                                 lookup))])
