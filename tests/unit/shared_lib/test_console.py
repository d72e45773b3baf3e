"""The platform console's numbers on hand-made rows: each product's state, freshness and last run;
the registry with its health; the execution timeline and per-notebook summary; the catalog; the
gateway read over HTTP (a fake transport), up, erroring and down."""
from __future__ import annotations

import datetime as dt

import httpx
import pandas as pd

from shared_lib import dashboard as ui
from shared_lib import lineage_graph
from shared_lib.dashboard import console

T0 = dt.datetime(2024, 5, 2, 10, 0, tzinfo=dt.timezone.utc)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def run(run_id, product, notebook, status, minute, duration=3.0, error=None):
    return {"run_id": run_id, "product": product, "notebook": notebook, "status": status,
            "started_at": at(minute), "duration_s": duration, "error": error}


STATUS = pd.DataFrame([
    {"evaluated_at": at(60), "product": "web", "state": "WARNING", "worst_metric": "data_freshness_minutes"},
    {"evaluated_at": at(60), "product": "mobile", "state": "CRITICAL", "worst_metric": "pipeline_success_rate"},
    {"evaluated_at": at(60), "product": "seg", "state": "HEALTHY", "worst_metric": "data_quality_score"}])
FRESHNESS = pd.DataFrame([
    {"product": "web", "table_name": "web.silver.events", "layer": "silver", "freshness_s": 120.0},
    {"product": "web", "table_name": "web.gold.kpis", "layer": "gold", "freshness_s": 600.0},
    # bronze is ingestion, not what the product serves: never the stalest
    {"product": "web", "table_name": "web.bronze.raw", "layer": "bronze", "freshness_s": 9000.0}])
RUNS = pd.DataFrame([
    run("r1", "web", "bronze", "succeeded", 0, 2.0), run("r1", "web", "silver", "failed", 1, 4.0, "RuntimeError: x"),
    run("r2", "web", "bronze", "succeeded", 30, 6.0), run("r2", "web", "silver", "succeeded", 31, 10.0),
    run("r2", "web", "gold", "skipped", 32, 0.0, "skipped: upstream"),
    run("r3", "mobile", "bronze", "failed", 40, 1.0, "KafkaError")])


def test_products_worst_state_first_with_stalest_served_table_and_latest_run():
    names = ["mobile", "ops", "seg", "web"]
    overview = console.product_overview(names, STATUS, FRESHNESS, RUNS).set_index("product")
    assert list(overview.index) == ["mobile", "web", "seg", "ops"]  # CRITICAL, WARNING, HEALTHY, not evaluated
    web = overview.loc["web"]
    assert (web["state"], web["worst_metric"]) == ("WARNING", "data_freshness_minutes")
    assert (web["stalest_table"], web["freshness_s"]) == ("web.gold.kpis", 600.0)
    # r2 is web's latest run (its last notebook started at minute 32); it started at minute 30
    assert web["last_run_at"] == at(30)
    assert (web["last_run"], web["last_run_status"]) == ("2 succeeded, 1 skipped", "skipped")
    assert overview.loc["mobile", "last_run_status"] == "failed"
    # a product that was never evaluated nor run: said so, nothing made up
    ops = overview.loc["ops"]
    assert ops["state"] == "NOT EVALUATED"
    assert ops["worst_metric"] is None and ops["last_run"] is None and pd.isna(ops["freshness_s"])


def test_a_run_is_failed_if_any_notebook_failed_else_skipped_if_any_skipped():
    assert console.last_run_status(["succeeded", "failed", "skipped"]) == "failed"
    assert console.last_run_status(["succeeded", "skipped"]) == "skipped"
    assert console.last_run_status(["succeeded"]) == "succeeded"


SERVICES = {"environment": "staging", "count": 3, "services": [
    {"name": "web", "base_url": "http://web:8002", "health_path": "/health", "enabled": True},
    {"name": "mobile", "base_url": "http://mobile:8003", "health_path": "/health", "enabled": True},
    {"name": "legacy", "base_url": "http://old:9", "health_path": "/ping", "enabled": False}]}
HEALTH = {"gateway": "platform-api-gateway", "environment": "staging", "status": "degraded",
          "timestamp": "2024-05-02T10:00:00Z",
          "summary": {"services_total": 3, "services_enabled": 2, "services_healthy": 1},
          "services": [{"service": "web", "status": "up", "healthy": True, "upstream_status": 200},
                       {"service": "mobile", "status": "down", "healthy": False, "error": "connection refused"},
                       {"service": "legacy", "status": "disabled", "healthy": False}]}
ENVIRONMENT = {"environment": "staging", "supported": ["dev", "staging", "prod"], "source": "env_map",
               "overrides": {"global": False, "env_map": True, "env_specific": False}}


def test_registry_rows_join_each_service_with_its_health():
    rows = console.registry_rows(SERVICES, HEALTH).set_index("service")
    assert rows.loc["web", ["status", "detail", "enabled"]].tolist() == ["up", "HTTP 200", "yes"]
    assert rows.loc["mobile", ["status", "detail"]].tolist() == ["down", "connection refused"]
    assert rows.loc["legacy", ["status", "enabled", "health_path"]].tolist() == ["disabled", "no", "/ping"]
    # without /health's answer every service is unknown rather than guessed up or down
    assert set(console.registry_rows(SERVICES, None)["status"]) == {"unknown"}


def test_environment_text_names_the_source_and_the_variables_set():
    assert console.environment_text(ENVIRONMENT) == (
        "Environment staging (registry from env_map; variables set: env_map; supported: dev, staging, prod)")
    defaults = {**ENVIRONMENT, "source": "defaults", "overrides": {"global": False, "env_map": False,
                                                                   "env_specific": False}}
    assert "registry from defaults; variables set: none;" in console.environment_text(defaults)


def test_timeline_names_each_run_by_product_and_notebook_with_duration_and_error():
    timeline = console.execution_timeline(RUNS, limit=2)
    assert timeline["notebook_id"].tolist() == ["web:gold", "mobile:bronze"]  # the latest two by start
    assert timeline["detail"].tolist() == ["0s - skipped: upstream", "1s - KafkaError"]


def test_notebook_summary_latest_first_with_median_of_succeeded_runs():
    summary = console.notebook_summary(RUNS).set_index("notebook")
    assert list(summary.index) == ["mobile:bronze", "web:gold", "web:silver", "web:bronze"]
    # web:silver failed in r1 (4 s) and succeeded in r2 (10 s): the median counts only the success
    assert summary.loc["web:silver", ["runs", "failed", "last_status", "last_duration_s",
                                      "median_duration_s"]].tolist() == [2, 1, "succeeded", 10.0, 10.0]
    assert summary.loc["web:bronze", "median_duration_s"] == 4.0  # (2 + 6) / 2
    assert pd.isna(summary.loc["mobile:bronze", "median_duration_s"])  # never succeeded
    assert console.notebook_summary(RUNS.iloc[0:0]).empty


ENTRY = {"name": "web.silver.users", "product": "web", "layer": "silver", "owner": "web-team",
         "retention_days": 365, "retention_source": "override", "retention_kind": "silver",
         "event_time": "event_ts", "description": "Users", "version": 4, "rows": 1200, "exists": True,
         "columns": [{"name": "user_id", "type": "string", "nullable": False, "pii": "subject_id", "comment": None},
                     {"name": "email", "type": "string", "nullable": True, "pii": "personal", "comment": "hashed"},
                     {"name": "country", "type": "string", "nullable": True, "pii": "none", "comment": None}]}


def test_catalog_rows_list_owner_retention_version_rows_and_personal_columns():
    not_created = {**ENTRY, "name": "web.gold.x", "version": None, "rows": None, "columns": ENTRY["columns"][2:]}
    rows = console.catalog_rows([ENTRY, not_created])
    assert rows.iloc[0].tolist() == ["web.silver.users", "web", "silver", "web-team", "365 d (override)", 4, 1200,
                                     "user_id:subject_id, email:personal"]
    assert rows.iloc[1]["personal data"] == "" and pd.isna(rows.iloc[1]["version"])  # shown as "–"


def test_column_rows_show_tags_only_for_personal_data():
    cols = console.column_rows(ENTRY)
    assert cols["personal data"].tolist() == ["subject_id", "personal", ""]
    assert cols["nullable"].tolist() == ["no", "yes", "yes"]
    assert cols["comment"].tolist() == ["", "hashed", ""]


def test_dashboard_links_are_relative_to_the_console_page():
    assert console.dashboard_links(["platform-console.ipynb", "web-user-analytics.ipynb"]) == [
        ("Platform console", "./platform-console.ipynb"), ("Web user analytics", "./web-user-analytics.ipynb")]


def test_gateway_url_comes_from_the_serve_parameters():
    params = {"platform": {"serve": {"host": "127.0.0.1", "gateway_port": 8123}}}
    assert console.gateway_url(params) == "http://127.0.0.1:8123"


def gateway(handler) -> console.Gateway:
    return console.read_gateway("http://gw:8000", transport=httpx.MockTransport(handler))


def test_read_gateway_gives_registry_health_and_environment():
    answers = {"/services": SERVICES, "/health": HEALTH, "/environment": ENVIRONMENT}
    gw = gateway(lambda request: httpx.Response(200, json=answers[request.url.path]))
    assert gw.error is None
    assert (gw.services, gw.health, gw.environment) == (SERVICES, HEALTH, ENVIRONMENT)


def test_a_gateway_that_is_down_or_errs_is_said_so_not_raised():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    down = gateway(refuse)
    assert down.services is None
    assert down.error == "the gateway at http://gw:8000 does not answer (ConnectError); start it with `dp serve`"
    erring = gateway(lambda request: httpx.Response(500, json={}))
    assert erring.error == "the gateway at http://gw:8000 answered 500 to /services"


# --- lineage -----------------------------------------------------------------------------------

def lineage_event(job, inputs, outputs):
    def ds(name, namespace="file:///ws"):
        return {"namespace": "kafka://h:1" if name == "web.events" else namespace, "name": name,
                "facets": {"version": {"datasetVersion": "4"}}}
    return {"eventType": "COMPLETE", "job": {"name": job}, "inputs": [ds(n) for n in inputs],
            "outputs": [ds(n) for n in outputs]}


# web: topic -> bronze -> silver, and its dashboard reading silver and a gold table that no run
# has written yet; mobile: a table of its own
LINEAGE = lineage_graph.build([lineage_event("web.bronze", ["web.events"], ["web.bronze.raw"]),
                               lineage_event("web.silver", ["web.bronze.raw"], ["web.silver.events"]),
                               lineage_event("mobile.gold", [], ["mobile.gold.kpis"])],
                              dashboards={"web": ["web.silver.events", "web.gold.unwritten"]})


def test_lineage_picker_offers_everything_then_tables_topics_dashboards_never_notebooks():
    # web.gold.unwritten: only a dashboard's read, no run touched it
    assert console.lineage_choices(LINEAGE) == [
        console.ALL_LINEAGE, "mobile.gold.kpis", "web.bronze.raw", "web.silver.events", "web.events", "dashboard:web"]


def test_everything_is_what_the_recorded_runs_link_not_a_dashboard_read_alone():
    shown = console.lineage_of(LINEAGE, console.ALL_LINEAGE)
    assert set(LINEAGE.nodes) - set(shown.nodes) == {"web.gold.unwritten"}
    assert ("web.gold.unwritten", "dashboard:web") not in shown.edges


def test_lineage_of_a_table_is_its_whole_chain_and_nothing_of_other_products():
    shown = console.lineage_of(LINEAGE, "web.bronze.raw")
    assert set(shown.nodes) == {"web.events", "web.bronze", "web.bronze.raw", "web.silver", "web.silver.events",
                                "dashboard:web"}


def test_lineage_figure_draws_each_edge_between_its_nodes_and_one_series_per_kind():
    shown = console.lineage_of(LINEAGE, "web.events")
    fig = ui.layered_graph(lineage_graph.layout(shown), shown.edges, console.LINEAGE_STYLES, "t")
    edges, topics, jobs, tables, boards = fig.data
    # five edges by (from, to) name, each (from, to, gap) at (column, -row); every node is in row 0:
    # web.bronze 1 -> raw 2, raw 2 -> web.silver 3, web.events 0 -> web.bronze 1, 3 -> events 4, 4 -> dashboard 5
    assert list(edges.x) == [1, 2, None, 2, 3, None, 0, 1, None, 3, 4, None, 4, 5, None]
    assert set(y for y in edges.y if y is not None) == {0}
    assert (topics.name, list(topics.text)) == ("Kafka topic", ["web.events @4"])
    assert list(jobs.text) == ["bronze", "silver"] and list(jobs.customdata) == ["web.bronze", "web.silver"]
    assert list(tables.text) == ["bronze.raw v4", "silver.events v4"] and list(tables.x) == [2, 4]
    assert (list(boards.text), list(boards.x)) == (["web dashboard"], [5])


def test_lineage_section_is_an_empty_state_before_any_run_else_a_picker_and_the_graph():
    def section_html(graph) -> str:
        data = console.Data([], pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], console.Gateway("u"),
                            lineage=graph)
        title, grid = console._lineage(data).children
        return title.value + "".join(getattr(w, "value", "") or "" for w in grid.children)

    # dashboards alone (their reads come from code) are no lineage yet
    before = lineage_graph.build([], dashboards={"web": ["web.silver.events"]})
    assert "No lineage recorded yet" in section_html(before)
    data = console.Data([], pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], console.Gateway("u"), lineage=LINEAGE)
    _title, grid = console._lineage(data).children
    picker, drawing = grid.children
    assert picker.value == console.ALL_LINEAGE and "pc-lineage" in drawing._dom_classes
    assert len(drawing.children) == 1
    picker.value = "web.events"  # a new choice draws a new chart
    assert len(drawing.children) == 1
