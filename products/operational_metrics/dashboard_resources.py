"""Three sections of the operational-metrics dashboard, kept apart from the rest of the page:
incidents (open, acknowledged, resolved, with their times), cost (per product and day, per
notebook) and infrastructure (service processes, disk). Each takes the current health
(``current.Current``) and returns a section widget; the numbers are the pure functions first.
"""
from __future__ import annotations

import html

import pandas as pd

from products.operational_metrics import incidents as incidents_lib
from shared_lib import dashboard as ui

COST_DAYS = 30  # the cost chart's days
TOP_TABLES = 10
INCIDENTS_SHOWN = 50
INCIDENT_COLORS = {"open": "#b42318", "acknowledged": "#b54708", "resolved": "#067647"}
CSS = """
.ops-incidents { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; }
.ops-incident { border: 1px solid #e3e8ef; border-left-width: 6px; border-radius: 10px; padding: 8px 14px; background: #fff; }
.ops-incident b { font-size: 1.6em; display: block; }
"""
COST_KPIS = (ui.Kpi("total_usd", "Cost of the day", "usd", higher_is_better=False,
                    note="compute + storage + broker, every product"),
             ui.Kpi("compute_usd", "Compute", "usd", higher_is_better=False, note="Spark CPU time of notebook runs"),
             ui.Kpi("storage_usd", "Storage", "usd", higher_is_better=False, note="tables' bytes on disk"),
             ui.Kpi("usd_per_1k_records", "Per 1,000 records", "usd", higher_is_better=False,
                    note="all products: cost / records processed"))


# --- numbers (pure) ------------------------------------------------------------------------

def cost_days(costs: pd.DataFrame) -> tuple[dict, dict, object, object]:
    """(totals of the latest day with costs, of the day before it, those two dates) over every
    product: each cost summed, and the cost per 1,000 records of the sums."""
    if costs.empty:
        return {}, {}, None, None
    dates = sorted(costs["date"].unique())
    def totals(day) -> dict:
        rows = costs[costs["date"] == day]
        out = {k: float(rows[k].sum()) for k in ("total_usd", "compute_usd", "storage_usd", "broker_usd")}
        records = float(rows["records_processed"].sum())
        out["usd_per_1k_records"] = out["total_usd"] / records * 1000 if records else None
        return out
    last, before = dates[-1], (dates[-2] if len(dates) > 1 else None)
    return totals(last), (totals(before) if before is not None else {}), last, before


def disk_summary(disk: pd.DataFrame) -> dict:
    """Workspace bytes, free bytes, and the largest tables and every topic (name, product, bytes)."""
    if disk.empty:
        return {"workspace": None, "free": None, "tables": disk, "topics": disk}
    pick = lambda kind: disk[disk["kind"] == kind]  # noqa: E731
    one = lambda kind: int(pick(kind)["bytes"].iloc[0]) if len(pick(kind)) else None  # noqa: E731
    return {"workspace": one("workspace"), "free": one("disk_free"),
            "tables": pick("table").sort_values(["bytes", "name"], ascending=[False, True]).head(TOP_TABLES),
            "topics": pick("topic").sort_values("name")}


# --- sections ------------------------------------------------------------------------------

def _time(value) -> str:
    return ui.format_value(value, "time")


def incidents_section(now) -> object:
    rows = now.incidents()
    if rows.empty:
        return ui.section("Incidents", ui.empty_state("No alert has fired yet"))
    counts = incidents_lib.counts(rows.to_dict("records"))
    cards = "".join(f"<div class='ops-incident' data-state='{state}' style='border-left-color:"
                    f"{INCIDENT_COLORS[state]}'><b style='color:{INCIDENT_COLORS[state]}'>{n}</b>{state}</div>"
                    for state, n in counts.items())
    shown = rows.head(INCIDENTS_SHOWN)
    table = pd.DataFrame({
        "state": shown["state"], "severity": shown["severity"], "product": shown["product"], "rule": shown["rule"],
        "fired": shown["fired_at"].map(_time), "acknowledged": shown["acknowledged_at"].map(_time),
        "by": shown["acknowledged_by"].fillna("–"), "resolved": shown["resolved_at"].map(_time),
        "to acknowledge (min)": shown["minutes_to_acknowledge"], "to resolve (min)": shown["minutes_to_resolve"],
        "alert id": shown["alert_id"]})
    return ui.section("Incidents", ui.widgets.HTML(f"<style>{CSS}</style><div class='ops-incidents'>{cards}</div>"),
                      ui.table(table, {"to acknowledge (min)": "ratio", "to resolve (min)": "ratio"}),
                      note="Every fired alert: open until someone acknowledges it (dp alerts ack ID --by NAME), "
                           "resolved when its rule stops breaching.")


def costs_section(now) -> object:
    costs, notebooks = now.costs, now.notebook_costs
    if costs.empty:
        return ui.section("Cost", ui.empty_state("No cost computed yet", "<p>The <code>health</code> notebook "
                                                                         "of operational-metrics computes it.</p>"))
    latest, before, last_day, day_before = cost_days(costs)
    compared = ui.format_value(day_before, "date") if day_before is not None else "no earlier day"
    cards = ui.kpi_cards(COST_KPIS, latest, before, compared)
    recent = costs[costs["date"] > last_day - pd.Timedelta(days=COST_DAYS)]
    trend = recent.pivot_table(index="date", columns="product", values="total_usd", aggfunc="sum").reset_index()
    chart = ui.line_chart(trend, "date", {p: p for p in trend.columns if p != "date"}, "Cost per product per day (USD)",
                          "usd")
    day = costs[costs["date"] == last_day].sort_values("total_usd", ascending=False)
    by_product = day[["product", "compute_usd", "storage_usd", "broker_usd", "total_usd", "records_processed",
                      "usd_per_1k_records"]].rename(columns={
        "compute_usd": "compute", "storage_usd": "storage", "broker_usd": "broker", "total_usd": "total",
        "records_processed": "records", "usd_per_1k_records": "per 1,000 records"})
    money = {c: "usd" for c in ("compute", "storage", "broker", "total", "per 1,000 records")}
    nb_day = notebooks[notebooks["date"] == last_day] if not notebooks.empty else notebooks
    nb_table = (ui.table(nb_day.sort_values("compute_usd", ascending=False).head(10)[
        ["product", "notebook", "runs", "notebook_seconds", "cpu_seconds", "compute_usd"]].rename(columns={
            "notebook_seconds": "wall time", "cpu_seconds": "Spark CPU", "compute_usd": "compute"}),
        {"runs": "count", "wall time": "seconds", "Spark CPU": "seconds", "compute": "usd"})
        if len(nb_day) else ui.empty_state("No notebook ran that day"))
    return ui.column(
        ui.section("Cost", cards, note=f"{ui.format_value(last_day, 'date')} (UTC), against the day before; rates "
                                       f"are the parameters cost.* (per core-hour, broker-hour, GB-month)."),
        ui.section("Cost per product", ui.chart(chart), ui.table(by_product, {**money, "records": "count"}), columns=2),
        ui.section("Most expensive notebooks", nb_table, note="Compute of the day: the Spark server's CPU seconds "
                                                              "during each run (its wall time where not measured)."))


def infrastructure_section(now) -> object:
    processes, disk = now.processes, disk_summary(now.disk)
    if processes.empty and disk["workspace"] is None:
        return ui.section("Infrastructure", ui.empty_state("Nothing measured yet", "<p>The <code>health</code> "
                                                                                   "notebook samples the services.</p>"))
    if processes.empty:
        process_table = ui.empty_state("No service process running at the latest health check")
    else:
        shown = processes.sort_values("service")
        process_table = ui.table(pd.DataFrame({
            "service": shown["service"], "pid": shown["pid"].astype(str), "up since": shown["up_since"].map(_time),
            "CPU %": shown["cpu_percent"], "memory": shown["rss_bytes"], "threads": shown["threads"],
            "open files": shown["open_files"], "connections": shown["connections"]}),
            {"CPU %": "ratio", "memory": "bytes", "threads": "count", "open files": "count", "connections": "count"})
    summary = (f"<p class='ops-disk' data-workspace-bytes='{disk['workspace']}' data-free-bytes='{disk['free']}'>"
               f"Workspace: <b>{html.escape(ui.format_value(disk['workspace'], 'bytes'))}</b> on disk, "
               f"<b>{html.escape(ui.format_value(disk['free'], 'bytes'))}</b> free.</p>")
    tables = disk["tables"]
    tables_view = (ui.table(tables[["name", "bytes"]].rename(columns={"name": "table"}), {"bytes": "bytes"})
                   if len(tables) else ui.empty_state("No table on disk yet"))
    topics = disk["topics"]
    topics_view = (ui.table(topics[["name", "product", "bytes"]].rename(columns={"name": "topic"}), {"bytes": "bytes"})
                   if len(topics) else ui.empty_state("No topic log on disk"))
    return ui.column(
        ui.section("Service processes", process_table, note="At the latest health check; CPU % over a short "
                                                            "interval, of one core."),
        ui.section("Disk", ui.widgets.HTML(summary), tables_view, topics_view, columns=3,
                   note=f"The {TOP_TABLES} largest tables and every topic, all files counted (Delta log and old "
                        f"versions too)."))
