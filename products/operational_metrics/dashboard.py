"""The operational-metrics dashboard (``notebooks/dashboards/operational-metrics.ipynb``): the SLA
board of every product and its state changes, latency percentiles and error rate per service, a
timeline of the pipeline's notebook runs (failures stand out), freshness and lag, open alerts;
incidents, cost and infrastructure (``dashboard_resources``).
Tables in (delta-rs, no JVM), a page of widgets out; the numbers are pure functions below.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from products.operational_metrics import current as current_lib
from products.operational_metrics import dashboard_resources as resources
from products.operational_metrics import service_levels as sla
from shared_lib import dashboard as ui
from shared_lib import lake

PRODUCT = current_lib.PRODUCT
ALL_SERVICES = "All services"
RUNS_SHOWN = 500  # the timeline shows the latest notebook runs
CHART_HOURS = 72  # the request charts show the last hours with data
STATE_COLORS = {"HEALTHY": "#067647", "WARNING": "#b54708", "DEGRADED": "#c4320a", "CRITICAL": "#b42318"}
STATE_STYLES = {"HEALTHY": (STATE_COLORS["HEALTHY"], 8), "WARNING": (STATE_COLORS["WARNING"], 10),
                "DEGRADED": (STATE_COLORS["DEGRADED"], 12), "CRITICAL": (STATE_COLORS["CRITICAL"], 14)}
STATES_SHOWN = 2000  # sla_status rows in the state history chart (one per product and evaluation)
RUN_STYLES = {"succeeded": ("#1f9d74", 7), "up_to_date": ("#b2ddff", 6), "skipped": ("#98a2b3", 9),
              "failed": ("#d92d20", 14)}
EXECUTED = ("succeeded", "failed")  # statuses of runs that took time (up_to_date and skipped did not run)
# Each SLA metric in the unit of its thresholds (ui.KINDS).
METRIC_KINDS = {"data_freshness_minutes": "min", "api_p99_latency_ms": "ms", "pipeline_success_rate": "fine_rate",
                "data_quality_score": "fine_rate", "kafka_consumer_lag_seconds": "s", "disk_free_gb": "gb"}
METRIC_LABELS = {"data_freshness_minutes": "Data freshness", "api_p99_latency_ms": "API p99 latency",
                 "pipeline_success_rate": "Pipeline success rate", "data_quality_score": "Data quality",
                 "kafka_consumer_lag_seconds": "Consumer lag", "disk_free_gb": "Disk free"}
CSS = """
.ops-board { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; }
.ops-sla { border: 1px solid #e3e8ef; border-left-width: 6px; border-radius: 10px; padding: 10px 14px; background: #fff; }
.ops-sla h3 { margin: 0 0 4px 0; font-size: 1.05em; }
.ops-state { font-weight: 700; }
.ops-sla ul { list-style: none; padding: 0; margin: 6px 0 0 0; font-size: 0.85em; color: #475467; }
.ops-sla li { display: flex; justify-content: space-between; gap: 8px; }
"""


@dataclass
class Data:
    now: current_lib.Current
    hourly: pd.DataFrame  # service_hourly
    status_history: pd.DataFrame  # sla_status, every evaluation
    daily_runs: pd.DataFrame  # pipeline_daily


def load() -> Data:
    return Data(now=current_lib.load(), hourly=lake.read_table(PRODUCT, "service_hourly"),
                status_history=lake.read_table(PRODUCT, "sla_status"),
                daily_runs=lake.read_table(PRODUCT, "pipeline_daily"))


# --- numbers (pure) ------------------------------------------------------------------------




def board(status: pd.DataFrame, evaluations: pd.DataFrame) -> list[dict]:
    """One entry per product, worst state first: state, worst metric and every metric's value."""
    out = []
    for row in status.to_dict("records"):
        mine = evaluations[evaluations["product"] == row["product"]]
        metrics = sorted(mine.to_dict("records"), key=lambda m: sla.METRICS.index(m["metric"]))
        out.append({"product": row["product"], "state": row["state"], "worst_metric": row["worst_metric"],
                    "metrics": [(m["metric"], m["value"], m["state"]) for m in metrics]})
    return sorted(out, key=lambda e: (-sla.STATES.index(e["state"]), e["product"]))


def service_summary(hourly: pd.DataFrame, hours: int = 24) -> pd.DataFrame:
    """Per service over the last ``hours`` hours with data: requests, error rate (summed errors
    over summed requests) and the worst hourly p99."""
    if hourly.empty:
        return pd.DataFrame(columns=["service", "requests", "error_rate", "worst_p99_ms"])
    sums = last_hours(hourly, hours).groupby("service").agg(requests=("requests", "sum"), errors=("errors", "sum"),
                                         worst_p99_ms=("latency_p99_ms", "max")).reset_index()
    sums["error_rate"] = sums["errors"] / sums["requests"]
    return sums[["service", "requests", "error_rate", "worst_p99_ms"]].sort_values(
        ["requests", "service"], ascending=[False, True], ignore_index=True)


def last_hours(hourly: pd.DataFrame, hours: int) -> pd.DataFrame:
    """The rows of the last ``hours`` hours up to the latest hour with data."""
    if hourly.empty:
        return hourly
    return hourly[hourly["hour"] > hourly["hour"].max() - pd.Timedelta(hours=hours)]


def by_service(hourly: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` per hour, one column per service (wide, for one line per service)."""
    return hourly.pivot_table(index="hour", columns="service", values=column).reset_index()


def run_timeline(runs: pd.DataFrame, limit: int = RUNS_SHOWN) -> pd.DataFrame:
    latest = runs.sort_values("started_at").tail(limit)
    return latest.assign(notebook_id=latest["product"] + ":" + latest["notebook"],
                         detail=[_run_detail(r) for r in latest.to_dict("records")])


def _run_detail(run: dict) -> str:
    """Hover text of one notebook run: status, duration, rows written, error or why not run."""
    parts = [str(run["status"])]
    if run["status"] in EXECUTED and pd.notna(run.get("duration_s")):
        parts.append(f"{run['duration_s']:.1f} s")
    if run["status"] in EXECUTED and pd.notna(run.get("rows_written")):
        parts.append(f"{int(run['rows_written']):,} rows")
    if isinstance(run.get("error"), str) and run["error"]:
        parts.append(run["error"][:200])
    return " · ".join(parts)


def duration_trend(runs: pd.DataFrame, limit: int = RUNS_SHOWN) -> pd.DataFrame:
    """Seconds each notebook took in each ``dp run`` that executed it: one row per run (at its
    first notebook's start, column ``run_started``), one column per notebook; NaN where the run did
    not execute it (up to date, skipped, not selected)."""
    done = runs[runs["status"].isin(EXECUTED)].sort_values("started_at").tail(limit)
    if done.empty:
        return pd.DataFrame(columns=["run_started"])
    done = done.assign(notebook_id=done["product"] + ":" + done["notebook"],
                       run_started=done.groupby("run_id")["started_at"].transform("min"))
    wide = done.pivot_table(index="run_started", columns="notebook_id", values="duration_s", aggfunc="sum")
    return wide.reset_index().rename_axis(columns=None)


# --- the page ------------------------------------------------------------------------------

NO_DATA_HINT = ui.build_hint("operational-metrics has evaluated nothing yet. Run", PRODUCT)


def _board(data: Data):
    if data.now.status.empty:
        return ui.section("SLA board", ui.empty_state("No SLA evaluation yet", "<p>The <code>sla</code> notebook "
                                                      "of operational-metrics evaluates after each run.</p>"))
    cards = []
    for entry in board(data.now.status, data.now.evaluations):
        color = STATE_COLORS[entry["state"]]
        items = "".join(
            f"<li><span>{html.escape(METRIC_LABELS.get(m, m))}</span>"
            f"<span style='color:{STATE_COLORS[s]}'>{ui.format_value(v, METRIC_KINDS[m])}</span></li>"
            for m, v, s in entry["metrics"])
        cards.append(f"<div class='ops-sla' data-product='{html.escape(entry['product'])}' data-state='{entry['state']}' "
                     f"style='border-left-color:{color}'><h3>{html.escape(entry['product'])}</h3>"
                     f"<span class='ops-state' style='color:{color}'>{entry['state']}</span>"
                     f"<ul>{items}</ul></div>")
    evaluated = data.now.status["evaluated_at"].max()
    changes = sla.transitions(data.status_history).tail(10).iloc[::-1]
    changes = changes if changes.empty else changes.assign(
        when=changes["evaluated_at"].map(lambda t: ui.format_value(t, "time")),
        change=changes["previous_state"].fillna("–") + " → " + changes["state"])
    history = data.status_history.sort_values("evaluated_at").tail(STATES_SHOWN)
    timeline = ui.timeline_chart(history, "evaluated_at", "product", "state", STATE_STYLES,
                                 "SLA state at each evaluation", hover="worst_metric",
                                 height=max(220, 40 * history["product"].nunique() + 120))
    board_html = ui.widgets.HTML(f"<style>{CSS}</style><div class='ops-board'>{''.join(cards)}</div>")
    changes_table = (ui.table(changes[["when", "product", "change", "worst_metric"]], {}) if len(changes)
                     else ui.empty_state("No state changes yet"))
    return ui.column(
        ui.section("SLA board", board_html, note=f"Latest evaluation {evaluated:%d %b %Y %H:%M} UTC; a product's "
                                                 f"state is its worst metric's."),
        ui.section("State history", ui.chart(timeline), changes_table, columns=2,
                   note="Each product's state at every evaluation, and the latest changes."))


def _requests(data: Data, service: str):
    hourly = last_hours(data.hourly.sort_values("hour"), CHART_HOURS)
    if hourly.empty:
        return ui.section("Requests", ui.empty_state("No request logs yet"))
    if service == ALL_SERVICES:
        p99 = by_service(hourly, "latency_p99_ms")
        errors = by_service(hourly, "error_rate")
        services = [c for c in p99.columns if c != "hour"]
        latency = ui.line_chart(p99, "hour", {s: s for s in services}, "Latency p99 per service (ms)", "ms",
                                hourly=True)
        rate = ui.line_chart(errors, "hour", {s: s for s in services}, "Error rate (5xx) per service", "rate",
                             hourly=True)
    else:
        mine = hourly[hourly["service"] == service]
        latency = ui.line_chart(mine, "hour", {"latency_p50_ms": "p50", "latency_p95_ms": "p95",
                                               "latency_p99_ms": "p99"}, f"Latency of {service} (ms)", "ms", hourly=True)
        rate = ui.line_chart(mine, "hour", {"error_rate": "5xx share"}, f"Error rate of {service}", "rate", hourly=True)
    summary = service_summary(hourly).rename(columns={"error_rate": "error rate", "worst_p99_ms": "worst hourly p99 (ms)"})
    return ui.section("Requests", ui.chart(latency), ui.chart(rate),
                      ui.table(summary, {"requests": "count", "error rate": "rate", "worst hourly p99 (ms)": "count"}),
                      columns=3, note=f"Per service × UTC hour, the last {CHART_HOURS} hours with data; the table "
                                      f"covers the last 24.")


def _runs(data: Data):
    runs = data.now.runs
    if runs.empty:
        return ui.section("Pipeline runs", ui.empty_state("No notebook runs recorded yet"))
    timeline = run_timeline(runs)
    fig = ui.timeline_chart(timeline, "started_at", "notebook_id", "status", RUN_STYLES,
                            f"Notebook runs (latest {len(timeline)})", hover="detail",
                            height=max(300, 22 * timeline["notebook_id"].nunique() + 120))
    daily = data.daily_runs.sort_values(["date", "product"], ascending=[False, True]).head(14)
    daily = daily[["date", "product", "runs", "failed", "skipped", "success_rate", "avg_duration_s"]].rename(
        columns={"success_rate": "success rate", "avg_duration_s": "avg duration"})
    return ui.section("Pipeline runs", ui.chart(fig),
                      ui.table(daily, {"runs": "count", "failed": "count", "skipped": "count",
                                       "success rate": "rate", "avg duration": "seconds"})
                      if len(daily) else ui.empty_state("No daily run counts yet"), columns=2)


def _run_history(data: Data):
    """Run history as pictures: how long each notebook took, run after run (the timeline above
    shows each run's status, duration and rows on hover)."""
    trend = duration_trend(data.now.runs)
    if trend.empty or len(trend.columns) < 2:
        return ui.section("Notebook durations", ui.empty_state("No notebook has run yet"))
    notebooks = [c for c in trend.columns if c != "run_started"]
    fig = ui.line_chart(trend, "run_started", {n: n for n in notebooks}, "Seconds per notebook run",
                        value_kind="count", height=360, hourly=True, connect_gaps=True)
    return ui.section("Notebook durations", ui.chart(fig),
                      note="One point per dp run that executed the notebook; up-to-date and skipped runs took no time.")


def _freshness_and_lag(data: Data):
    fresh = data.now.freshness
    fresh = fresh[fresh["layer"].isin(["silver", "gold"])].sort_values("freshness_s", ascending=False)
    fresh = fresh[["table_name", "freshness_s", "event_freshness_s"]].rename(columns={
        "table_name": "table", "freshness_s": "since last write", "event_freshness_s": "since newest event"})
    lag = data.now.lag[["topic", "product", "lag_messages", "lag_seconds"]].rename(
        columns={"lag_messages": "unread messages", "lag_seconds": "oldest unread"})
    return ui.section(
        "Freshness and lag",
        ui.table(fresh, {"since last write": "seconds", "since newest event": "seconds"}) if len(fresh)
        else ui.empty_state("No freshness measured yet"),
        ui.table(lag, {"unread messages": "count", "oldest unread": "seconds"}) if len(lag)
        else ui.empty_state("No consumer lag measured yet"),
        columns=2, note="At the latest health check.")


def _alerts(data: Data):
    rows = data.now.open_alerts()
    if rows.empty:
        return ui.section("Open alerts", ui.empty_state("No open alerts"))
    rows = rows.assign(since=rows["at"].map(lambda t: ui.format_value(t, "time")))
    return ui.section("Open alerts", ui.table(rows[["since", "severity", "product", "rule", "message"]], {}))


def render(data: Data, values: dict) -> list:
    return [_board(data), _alerts(data), resources.incidents_section(data.now), _requests(data, values["service"]),
            _runs(data), _run_history(data), _freshness_and_lag(data), resources.costs_section(data.now),
            resources.infrastructure_section(data.now)]


def filters(data: Data) -> dict:
    return {"service": ui.choice_filter("Service", [ALL_SERVICES, *sorted(data.hourly["service"].unique())])}


def page():
    """The whole dashboard as one widget; an empty state before the first evaluation."""
    return ui.page(PRODUCT, "Operational metrics",
                   "SLAs, request latency and errors, pipeline runs, freshness and lag (UTC)",
                   load, has_data=lambda data: not (data.now.status.empty and data.hourly.empty),
                   no_data=("No operational metrics yet", NO_DATA_HINT), filters=filters, render=render)
