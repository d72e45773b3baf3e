"""The platform console (``notebooks/dashboards/platform-console.ipynb``): every product with its
SLA state, freshness and last run; the gateway's registry of the active environment and each
service's health; the execution timeline of recent notebook runs; the lineage graph (Kafka topic
to dashboard, from the runs' OpenLineage events); a catalog browser; links to every dashboard.

It reads Delta tables with delta-rs (``shared_lib.lake``) and the gateway over HTTP at the address
of the parameters (``platform.serve``: host and gateway_port, moved by DP_GATEWAY_PORT); a gateway
that does not answer is said so on the page. The console is the platform's, not a product's, so it
lives here and imports no product module: numbers first (pure, on hand-made rows in the unit
tests), then the page.
"""
from __future__ import annotations

import html
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pandas as pd

from shared_lib import catalog, lake, lineage_graph, paths, products
from shared_lib import dashboard as ui
from shared_lib import params as params_lib

PAGE = "platform-console"  # the notebook's name (pre-heated kernels wait under it)
OPS = "operational-metrics"  # the product whose gold holds the SLA states and freshness
GATEWAY_TIMEOUT_S = 2.0  # /health probes the services itself, each within its own timeout
RUNS_SHOWN = 300  # notebook runs in the execution timeline
STATE_ORDER = ("CRITICAL", "WARNING", "HEALTHY")
STATE_COLORS = {"HEALTHY": "#1f9d74", "WARNING": "#f08a24", "CRITICAL": "#d92d20", "NOT EVALUATED": "#98a2b3"}
LINEAGE_STYLES = {"topic": ("#b54bc7", "Kafka topic"), "job": ("#7a8797", "notebook"), "table": ("#2e6fdb", "table"),
                  "dashboard": ("#f08a24", "dashboard")}  # kind: (colour, legend name)
ALL_LINEAGE = "(everything)"  # the lineage picker's first option: the whole graph
RUN_STYLES = {"succeeded": ("#1f9d74", 7), "skipped": ("#98a2b3", 9), "failed": ("#d92d20", 14)}
CSS = """
.pc-products { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; }
.pc-product { border: 1px solid #e3e8ef; border-left-width: 6px; border-radius: 10px; padding: 10px 14px; background: #fff; }
.pc-product h3 { margin: 0 0 4px 0; font-size: 1.05em; }
.pc-state { font-weight: 700; }
.pc-product ul { list-style: none; padding: 0; margin: 6px 0 0 0; font-size: 0.85em; color: #475467; }
.pc-product li { display: flex; justify-content: space-between; gap: 8px; }
.pc-links { display: flex; flex-wrap: wrap; gap: 10px; }
.pc-links a { border: 1px solid #d0d5dd; border-radius: 8px; padding: 6px 12px; text-decoration: none; color: #2e6fdb; }
"""


# --- reading -------------------------------------------------------------------------------


@dataclass
class Gateway:
    """What the gateway at ``url`` answered; ``error`` says why it did not (then all else is None)."""
    url: str
    services: dict | None = None  # GET /services
    health: dict | None = None  # GET /health
    environment: dict | None = None  # GET /environment
    error: str | None = None


@dataclass
class Data:
    product_names: list[str]
    status: pd.DataFrame  # sla_status of the latest evaluation
    freshness: pd.DataFrame  # table_freshness of the latest health check
    runs: pd.DataFrame  # platform.pipeline_runs
    tables: list[dict]  # catalog entries, each with its row count ("rows")
    gateway: Gateway
    dashboards: list[str] = field(default_factory=list)  # notebook file names
    lineage: lineage_graph.Graph = field(default_factory=lineage_graph.Graph)  # from the runs' events


def gateway_url(params: dict) -> str:
    serve = params_lib.get(params, "platform.serve")
    return f"http://{serve['host']}:{serve['gateway_port']}"


def read_gateway(url: str, transport: httpx.BaseTransport | None = None) -> Gateway:
    """The registry, health and environment of the gateway at ``url``; a gateway that does not
    answer (or answers an error) gives a ``Gateway`` whose ``error`` says so."""
    try:
        # verify=False: the gateway's address is plain http, and loading the CA bundle costs 0.2 s
        # (the pre-heated kernel has made one client already: ``_preheat._warm_up``).
        with httpx.Client(base_url=url, timeout=GATEWAY_TIMEOUT_S, transport=transport, verify=False) as client:
            answers = {}
            for path in ("services", "health", "environment"):
                response = client.get(f"/{path}")
                response.raise_for_status()
                answers[path] = response.json()
    except httpx.HTTPStatusError as exc:
        return Gateway(url, error=f"the gateway at {url} answered {exc.response.status_code} to {exc.request.url.path}")
    except (httpx.HTTPError, ValueError) as exc:
        return Gateway(url, error=f"the gateway at {url} does not answer ({type(exc).__name__}); "
                                  "start it with `dp serve`")
    return Gateway(url, **answers)


def load(params: dict | None = None, transport: httpx.BaseTransport | None = None) -> Data:
    params = params or params_lib.load()
    declared = products.all_products()
    # The gateway's answer and the catalog's table openings are waits, not work: side by side.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="console-load") as pool:
        gateway = pool.submit(read_gateway, gateway_url(params), transport)
        tables = pool.submit(catalog.entries, rows=True)
        return Data(product_names=sorted(n for n in declared if n != paths.PLATFORM),
                    status=lake.read_latest(OPS, "sla_status", "evaluated_at"),
                    freshness=lake.read_latest(OPS, "table_freshness", "evaluated_at"),
                    runs=lake.read_table(paths.PLATFORM, "pipeline_runs"),
                    tables=tables.result(), gateway=gateway.result(),
                    dashboards=sorted(p.name for p in paths.DASHBOARDS_DIR.glob("*.ipynb")),
                    lineage=lineage_graph.build())


# --- numbers (pure) ------------------------------------------------------------------------


def last_run_status(statuses) -> str:
    """One word for a run's notebooks: failed if any failed, else skipped if any was skipped."""
    statuses = set(statuses)
    return "failed" if "failed" in statuses else "skipped" if "skipped" in statuses else "succeeded"


def product_overview(names: list[str], status: pd.DataFrame, freshness: pd.DataFrame,
                     runs: pd.DataFrame) -> pd.DataFrame:
    """One row per product, worst SLA state first: its state and worst metric at the latest
    evaluation ("NOT EVALUATED" without one), its stalest silver or gold table (seconds since the
    last write), and its latest ``dp run``: start, notebooks per status, one-word outcome."""
    rows = []
    for name in names:
        mine = status[status["product"] == name]
        fresh = freshness[(freshness["product"] == name) & freshness["layer"].isin(["silver", "gold"])]
        stalest = fresh.sort_values("freshness_s", ascending=False).head(1)
        own_runs = runs[runs["product"] == name]
        row = {"product": name, "state": mine["state"].iloc[0] if len(mine) else "NOT EVALUATED",
               "worst_metric": mine["worst_metric"].iloc[0] if len(mine) else None,
               "stalest_table": stalest["table_name"].iloc[0] if len(stalest) else None,
               "freshness_s": float(stalest["freshness_s"].iloc[0]) if len(stalest) else None,
               "last_run_at": None, "last_run": None, "last_run_status": None}
        if len(own_runs):
            latest_id = own_runs.sort_values("started_at")["run_id"].iloc[-1]
            last = own_runs[own_runs["run_id"] == latest_id]
            counts = last["status"].value_counts()
            row.update(last_run_at=last["started_at"].min(), last_run_status=last_run_status(last["status"]),
                       last_run=", ".join(f"{counts[s]} {s}" for s in RUN_STYLES if s in counts))
        rows.append(row)
    order = {**{s: i for i, s in enumerate(STATE_ORDER)}, "NOT EVALUATED": len(STATE_ORDER)}
    return pd.DataFrame(rows, columns=["product", "state", "worst_metric", "stalest_table", "freshness_s",
                                       "last_run_at", "last_run", "last_run_status"]).sort_values(
        ["state", "product"], key=lambda c: c.map(order) if c.name == "state" else c, ignore_index=True)


def registry_rows(services: dict, health: dict | None) -> pd.DataFrame:
    """The registry (``/services``) with each service's health (``/health``): up, down (with the
    error or upstream status), disabled, or unknown when the health is missing."""
    probed = {h["service"]: h for h in (health or {}).get("services", [])}
    rows = []
    for s in services["services"]:
        h = probed.get(s["name"], {})
        detail = h.get("error") or (f"HTTP {h['upstream_status']}" if h.get("upstream_status") else "")
        rows.append({"service": s["name"], "base_url": s["base_url"], "health_path": s["health_path"],
                     "enabled": "yes" if s["enabled"] else "no", "status": h.get("status", "unknown"),
                     "detail": detail})
    return pd.DataFrame(rows, columns=["service", "base_url", "health_path", "enabled", "status", "detail"])


def environment_text(environment: dict) -> str:
    """The gateway's ``/environment`` in one line: the active one, where its registry comes from,
    the registry variables set and the environments it could switch to."""
    set_vars = [name for name, on in environment["overrides"].items() if on]
    return (f"Environment {environment['environment']} (registry from {environment['source']}; variables set: "
            f"{', '.join(set_vars) or 'none'}; supported: {', '.join(environment['supported'])})")


def execution_timeline(runs: pd.DataFrame, limit: int = RUNS_SHOWN) -> pd.DataFrame:
    """The latest ``limit`` notebook runs, each with ``notebook_id`` (product:notebook) and a
    hover text of its duration and error."""
    latest = runs.sort_values("started_at").tail(limit)
    duration = latest["duration_s"].map(lambda s: ui.format_value(s, "seconds"))
    error = latest["error"].fillna("").astype(str).str.slice(0, 160)
    return latest.assign(notebook_id=latest["product"] + ":" + latest["notebook"],
                         detail=duration + error.map(lambda e: f" - {e}" if e else ""))


def notebook_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per notebook (product:notebook), most recent first: runs recorded, failed, the latest's
    status, start and duration, and the median duration of its succeeded runs."""
    cols = ["notebook", "runs", "failed", "last_status", "last_started", "last_duration_s", "median_duration_s"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    df = runs.assign(notebook=runs["product"] + ":" + runs["notebook"]).sort_values("started_at")
    rows = []
    for name, group in df.groupby("notebook"):
        last = group.iloc[-1]
        ok = group[group["status"] == "succeeded"]["duration_s"]
        rows.append({"notebook": name, "runs": len(group), "failed": int((group["status"] == "failed").sum()),
                     "last_status": last["status"], "last_started": last["started_at"],
                     "last_duration_s": last["duration_s"], "median_duration_s": ok.median() if len(ok) else None})
    return pd.DataFrame(rows, columns=cols).sort_values(["last_started", "notebook"], ascending=[False, True],
                                                        ignore_index=True)


def catalog_rows(tables: list[dict]) -> pd.DataFrame:
    """One row per declared table: product, layer, owner, retention, version, rows, and its
    personal-data columns with their tags ("email:personal")."""
    rows = [{"table": e["name"], "product": e["product"], "layer": e["layer"], "owner": e["owner"],
             "retention": f"{e['retention_days']} d ({e['retention_source']})", "version": e["version"],
             "rows": e.get("rows"),
             "personal data": ", ".join(f"{c['name']}:{c['pii']}" for c in e["columns"] if c["pii"] != "none")}
            for e in tables]
    return pd.DataFrame(rows, columns=["table", "product", "layer", "owner", "retention", "version", "rows",
                                       "personal data"])


def column_rows(entry: dict) -> pd.DataFrame:
    """The columns of one catalog entry: name, type, nullable, personal-data tag, comment."""
    return pd.DataFrame([{"column": c["name"], "type": c["type"], "nullable": "yes" if c["nullable"] else "no",
                          "personal data": "" if c["pii"] == "none" else c["pii"], "comment": c["comment"] or ""}
                         for c in entry["columns"]], columns=["column", "type", "nullable", "personal data", "comment"])


def lineage_choices(graph: lineage_graph.Graph) -> list[str]:
    """What the lineage picker offers: the whole graph, then the tables, topics and dashboards that
    recorded runs link (notebooks are between them, not something one looks up), each kind by name."""
    order = {"table": 0, "topic": 1, "dashboard": 2}
    linked = graph.recorded().nodes
    return [ALL_LINEAGE] + sorted((n for n, k in linked.items() if k in order), key=lambda n: (order[linked[n]], n))


def lineage_of(graph: lineage_graph.Graph, choice: str) -> lineage_graph.Graph:
    """The part of the graph the picker shows: all that recorded runs link, or what is upstream
    and downstream of one node."""
    return graph.recorded() if choice == ALL_LINEAGE else graph.around(choice, "both")


def dashboard_links(names: list[str]) -> list[tuple[str, str]]:
    """(title, address relative to this page) of each dashboard notebook, this one included."""
    return [(n.removesuffix(".ipynb").replace("-", " ").capitalize(), f"./{n}") for n in names]


# --- the page ------------------------------------------------------------------------------


def _products(data: Data):
    overview = product_overview(data.product_names, data.status, data.freshness, data.runs)
    cards = []
    for row in overview.to_dict("records"):
        color = STATE_COLORS.get(row["state"], "#98a2b3")
        fresh = ui.format_value(row["freshness_s"], "seconds")
        items = [("Worst metric", html.escape(row["worst_metric"] or "–")),
                 ("Stalest table", f"{html.escape(row['stalest_table'] or '–')}: {fresh}"),
                 ("Last run", ui.format_value(row["last_run_at"], "time")),
                 ("Notebooks", html.escape(row["last_run"] or "–"))]
        lis = "".join(f"<li><span>{k}</span><span>{v}</span></li>" for k, v in items)
        cards.append(f"<div class='pc-product' data-product='{html.escape(row['product'])}' data-state='{row['state']}'"
                     f" data-last-run='{row['last_run_status'] or ''}' style='border-left-color:{color}'>"
                     f"<h3>{html.escape(row['product'])}</h3><span class='pc-state' style='color:{color}'>"
                     f"{row['state']}</span><ul>{lis}</ul></div>")
    note = ("No SLA evaluation yet: the sla notebook of operational-metrics evaluates after each run."
            if data.status.empty else
            f"SLA states of the latest evaluation ({data.status['evaluated_at'].max():%d %b %Y %H:%M} UTC); "
            "freshness: seconds since the last write of the product's stalest silver or gold table.")
    return ui.section("Products", ui.widgets.HTML(f"<style>{CSS}</style><div class='pc-products'>{''.join(cards)}</div>"),
                      note=note)


def _registry(data: Data):
    gw = data.gateway
    if gw.error:
        return ui.section("Services", ui.widgets.HTML(
            f"<div class='dp-empty pc-gateway-down'><b>The gateway is not running</b><p>{html.escape(gw.error)}.</p>"
            "</div>"), note=f"The registry and health come from the gateway at {gw.url}.")
    assert gw.services is not None and gw.environment is not None and gw.health is not None
    table = ui.widgets.HTML(f"<div class='pc-services'>{ui.table_html(registry_rows(gw.services, gw.health), {})}</div>")
    summary = gw.health["summary"]
    return ui.section(
        "Services", table,
        note=f"{environment_text(gw.environment)}; gateway "
             f"{gw.health['status']}: {summary['services_healthy']} of {summary['services_enabled']} enabled "
             f"services healthy, {summary['services_total']} registered. Gateway: {gw.url}.")


def _timeline(data: Data):
    if data.runs.empty:
        return ui.section("Execution timeline", ui.empty_state("No notebook runs recorded yet",
                                                               "<p>Every <code>dp run</code> records its runs.</p>"))
    timeline = execution_timeline(data.runs)
    fig = ui.timeline_chart(timeline, "started_at", "notebook_id", "status", RUN_STYLES,
                            f"Notebook runs (latest {len(timeline)})", hover="detail",
                            height=max(300, 22 * timeline["notebook_id"].nunique() + 120))
    summary = notebook_summary(data.runs).rename(columns={
        "last_status": "last status", "last_started": "last started", "last_duration_s": "last duration",
        "median_duration_s": "median duration (succeeded)"})
    return ui.section("Execution timeline", ui.chart(fig),
                      ui.table(summary, {"runs": "count", "failed": "count", "last started": "time",
                                         "last duration": "seconds", "median duration (succeeded)": "seconds"}),
                      columns=2, note="Each notebook's runs over time; hover a run for its duration and error.")


def _catalog(data: Data):
    rows = catalog_rows(data.tables)
    entries = {e["name"]: e for e in data.tables}
    picker = ui.choice_filter("Columns of", list(entries))
    picker.add_class("pc-catalog-picker")
    columns = ui.widgets.HTML()

    def show(_change=None) -> None:
        entry = entries[picker.value]
        columns.value = (f"<p class='dp-note'>{html.escape(entry['description'] or '')} "
                         f"{html.escape(catalog.retention_text(entry))}.</p>"
                         + ui.table_html(column_rows(entry), {}))

    picker.observe(show, names="value")
    show()
    return ui.section("Catalog", ui.table(rows, {"version": "count", "rows": "count"}), ui.column(picker, columns),
                      columns=2, note="Every declared table; version and rows of its current Delta version "
                                      "(– before its first commit).")


def _lineage(data: Data):
    graph = data.lineage
    if not lineage_graph.has_runs(graph):
        return ui.section("Lineage", ui.widgets.HTML(
            "<div class='dp-empty pc-lineage-empty'><b>No lineage recorded yet</b><p>Every notebook that "
            "<code>dp run</code> executes records what it read and wrote as OpenLineage events; "
            "<code>dp lineage TABLE</code> prints the same graph.</p></div>"))
    picker = ui.choice_filter("Lineage of", lineage_choices(graph))
    picker.add_class("pc-lineage-picker")
    drawing = ui.widgets.VBox()
    drawing.add_class("pc-lineage")

    def show(_change=None) -> None:
        shown = lineage_of(graph, picker.value)
        title = "Every recorded run" if picker.value == ALL_LINEAGE else f"Upstream and downstream of {picker.value}"
        drawing.children = [ui.chart(ui.layered_graph(lineage_graph.layout(shown), shown.edges, LINEAGE_STYLES, title))]

    picker.observe(show, names="value")
    show()
    return ui.section("Lineage", picker, drawing,
                      note="Kafka topics -> notebooks -> tables -> dashboards, from the newest completed run of "
                           "each notebook; tables with their Delta version (v), topics with the end offsets read (@).")


def _links(data: Data):
    links = "".join(f"<a href='{html.escape(href)}' target='_blank'>{html.escape(title)}</a>"
                    for title, href in dashboard_links(data.dashboards))
    return ui.section("Dashboards", ui.widgets.HTML(f"<div class='pc-links'>{links}</div>"))


def render(data: Data, _values: dict) -> list:
    # The product cards and services first; the timeline, lineage and catalog (most of the page's
    # widgets and building) follow once the browser has those.
    return [_products(data), _registry(data), ui.later(lambda: _timeline(data)), ui.later(lambda: _lineage(data)),
            ui.later(lambda: _catalog(data)), _links(data)]


def page():
    """The whole console as one widget. Every section says when it has nothing yet."""
    return ui.page(PAGE, "Platform console",
                   "Products, services, notebook runs, lineage, the catalog and every dashboard (UTC)",
                   load, has_data=lambda data: True, no_data=("", ""), filters=lambda data: {}, render=render)
