"""The platform console in headless Chromium: small tables written with delta-rs in the
dashboards' own workspace, and a real gateway (``runners.gateway.app``) on the workspace's
DP_GATEWAY_PORT with a staging registry of one service up, one down and one disabled, and two
OpenLineage events in the workspace. Product cards, the registry, the execution timeline, the
lineage graph, the catalog browser, the links; and, with no table, event or gateway, every
section's empty state."""
from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest
from playwright.sync_api import expect

from runners.gateway import app as gateway_app
from runners.gateway import registry
from runners.services import free_ports
from shared_lib import lineage_graph
from tests.browser import open_page, write_table
from tests.local_server import serving, upstream_app

pytestmark = pytest.mark.integration

PAGE = "platform-console"
OPS = "operational-metrics"
FIRST_RENDER_TARGET_S = 4.0
FIRST_RENDER_LIMIT_S = 20.0  # fails the test; the target is reported, a loaded CI box may miss it
T1 = dt.datetime(2024, 5, 2, 11, 0, tzinfo=dt.timezone.utc)
T2 = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.timezone.utc)


def run(run_id, product, notebook, status, started, duration, error=None):
    return {"run_id": run_id, "env": "dev", "product": product, "notebook": notebook, "status": status,
            "started_at": started, "duration_s": duration, "error": error}


def write_tables() -> None:
    write_table(OPS, "sla_status", [
        {"evaluated_at": T1, "date": T1.date(), "product": "web-user-analytics", "state": "HEALTHY",
         "worst_metric": "data_freshness_minutes", "metrics_evaluated": 2},
        {"evaluated_at": T2, "date": T2.date(), "product": "web-user-analytics", "state": "CRITICAL",
         "previous_state": "HEALTHY", "worst_metric": "pipeline_success_rate", "metrics_evaluated": 2},
        {"evaluated_at": T2, "date": T2.date(), "product": "mobile-user-analytics", "state": "HEALTHY",
         "worst_metric": "data_freshness_minutes", "metrics_evaluated": 2}])
    write_table(OPS, "table_freshness", [
        {"evaluated_at": T2, "date": T2.date(), "table_name": name, "product": "web-user-analytics", "layer": layer,
         "freshness_s": seconds}
        for name, layer, seconds in (("web-user-analytics.gold.daily_kpis", "gold", 600.0),
                                     ("web-user-analytics.silver.events", "silver", 65.0),
                                     ("web-user-analytics.bronze.events", "bronze", 9000.0))])
    write_table("platform", "pipeline_runs", [
        run("r1", "web-user-analytics", "silver", "succeeded", T1, 40.0),
        run("r2", "web-user-analytics", "silver", "succeeded", T2, 20.0),
        run("r2", "web-user-analytics", "gold", "failed", T2 + dt.timedelta(minutes=1), 5.0, "RuntimeError: boom")])


def lineage_event(job: str, inputs: dict, outputs: dict) -> dict:
    """A COMPLETE event of ``job`` as ``dp run`` writes it; {dataset: version}, topics named web.*."""
    def ds(name, version):
        return {"namespace": "kafka://127.0.0.1:9092" if name.startswith("web.") else "file:///ws", "name": name,
                "facets": {"version": {"datasetVersion": version}}}
    return {"eventType": "COMPLETE", "job": {"name": job}, "inputs": [ds(*kv) for kv in inputs.items()],
            "outputs": [ds(*kv) for kv in outputs.items()]}


def write_lineage() -> None:
    path = lineage_graph.events_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in [
        lineage_event("web-user-analytics.bronze", {"web.events": "0:42"}, {"web-user-analytics.bronze.events_raw": "2"}),
        lineage_event("web-user-analytics.silver", {"web-user-analytics.bronze.events_raw": "2"},
                      {"web-user-analytics.silver.events": "5"})]))


def staging_gateway(up_url: str):
    """The gateway app for staging with three services: up (``up_url``), down (a closed port), disabled."""
    services = [{"name": "web-user-analytics", "base_url": up_url},
                {"name": "mobile-user-analytics", "base_url": f"http://127.0.0.1:{free_ports(1)[0]}"},
                {"name": "legacy", "base_url": "http://127.0.0.1:9", "enabled": False}]
    config = registry.config({registry.ENV_VAR: "staging", registry.env_specific_var("staging"): json.dumps(services),
                              registry.TIMEOUT_VAR: "1"})
    return gateway_app.create_app(config)


@pytest.fixture
def console_url(dashboard_urls):
    return dashboard_urls[PAGE]


def _assert_no_error(page) -> None:
    # Voila hides tracebacks; a failing cell says "There was an error when executing cell ...".
    text = page.inner_text("body")
    assert not re.search("traceback|error when executing", text, re.IGNORECASE), text[:2000]


def test_products_services_runs_catalog_and_links(console_url, browser):
    write_tables()
    write_lineage()
    with serving(upstream_app()) as up, serving(staging_gateway(up), port=int(os.environ["DP_GATEWAY_PORT"])):
        page, seconds = open_page(browser, console_url, ".pc-product")
        print(f"\nplatform console: first render in {seconds:.2f} s (target {FIRST_RENDER_TARGET_S} s)")
        assert seconds <= FIRST_RENDER_LIMIT_S
        # products: the five declared ones, worst state first; not evaluated ones last, by name
        cards = page.locator(".pc-product")
        expect(cards).to_have_count(5)
        assert [c.get_attribute("data-product") for c in cards.all()] == [
            "web-user-analytics", "mobile-user-analytics", "compliance-auditing", "operational-metrics",
            "user-segmentation"]
        assert [c.get_attribute("data-state") for c in cards.all()] == [
            "CRITICAL", "HEALTHY", "NOT EVALUATED", "NOT EVALUATED", "NOT EVALUATED"]
        web = cards.nth(0)
        assert web.get_attribute("data-last-run") == "failed"  # r2: silver succeeded, gold failed
        web_text = web.inner_text()
        # the stalest served table (bronze left out): 600 s; r2 started at 12:00
        assert "web-user-analytics.gold.daily_kpis: 10m 00s" in web_text
        assert "02 May 12:00" in web_text and "1 succeeded, 1 failed" in web_text
        assert "pipeline_success_rate" in web_text
        # services: staging's registry, one up, one down, one disabled
        text = page.inner_text("body")
        assert ("Environment staging (registry from env_specific; variables set: env_specific; "
                "supported: dev, staging, prod)") in text
        assert "gateway degraded: 1 of 2 enabled services healthy, 3 registered" in text
        services = page.locator(".pc-services")
        rows = {r.locator("td").nth(0).inner_text(): r.locator("td").nth(4).inner_text()
                for r in services.locator("tbody tr").all()}
        assert rows == {"web-user-analytics": "up", "mobile-user-analytics": "down", "legacy": "disabled"}
        # execution timeline and lineage: their charts, and each notebook's latest run
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 2", timeout=60_000)
        body = page.inner_text("body")
        assert re.search(r"web-user-analytics:gold\s+1\s+1\s+failed\s+02 May 12:01\s+5s\s+–", body)
        # silver: two runs of 40 s and 20 s, both succeeded: median 30 s
        assert re.search(r"web-user-analytics:silver\s+2\s+0\s+succeeded\s+02 May 12:00\s+20s\s+30s", body)
        # catalog: pipeline_runs written once (version 0, 3 rows); legal_holds not created yet
        assert re.search(r"platform\.pipeline_runs\s+platform\s+platform\s+data-platform-team\s+\d+ d \(\w+\)\s+0\s+3",
                         body)
        assert re.search(r"platform\.legal_holds.*\s+–\s+–\s+subject_id:subject_id, actor:personal", body)
        # lineage: every recorded run, tables labelled with their Delta version, the topic with its offsets
        lineage = page.locator(".pc-lineage")
        expect(lineage.locator("text", has_text="bronze.events_raw v2")).to_have_count(1)
        expect(lineage.locator("text", has_text="web.events @0:42")).to_have_count(1)
        page.locator(".pc-lineage-picker select").select_option("web-user-analytics.silver.events")
        expect(lineage.locator("text", has_text="Upstream and downstream of web-user-analytics.silver.events")
               ).to_have_count(1, timeout=30_000)
        expect(lineage.locator("text", has_text="silver.events v5")).to_have_count(1)
        page.locator(".pc-catalog-picker select").select_option("platform.legal_holds")
        expect(page.locator(".dp-table", has_text="hold_id")).to_have_count(1, timeout=30_000)
        columns = page.locator(".dp-table", has_text="hold_id").inner_text()
        assert re.search(r"actor\s+string\s+no\s+personal\s+Who placed or released it", columns)
        # links to every dashboard, this one included
        links = page.locator(".pc-links a")
        expect(links).to_have_count(6)
        assert "./web-user-analytics.ipynb" in [a.get_attribute("href") for a in links.all()]
        _assert_no_error(page)


def test_without_tables_or_gateway_every_section_says_so(console_url, browser):
    page, seconds = open_page(browser, console_url, ".pc-gateway-down")
    print(f"\nplatform console, empty: render in {seconds:.2f} s (target {FIRST_RENDER_TARGET_S} s)")
    assert seconds <= FIRST_RENDER_LIMIT_S
    assert "The gateway is not running" in page.inner_text(".pc-gateway-down")
    assert f"127.0.0.1:{os.environ['DP_GATEWAY_PORT']} does not answer" in page.inner_text(".pc-gateway-down")
    states = {c.get_attribute("data-state") for c in page.locator(".pc-product").all()}
    assert states == {"NOT EVALUATED"}
    body = page.inner_text("body")
    assert "No SLA evaluation yet" in body and "No notebook runs recorded yet" in body
    assert "No lineage recorded yet" in page.inner_text(".pc-lineage-empty")
    # the catalog lists every declared table even before any is created
    assert re.search(r"platform\.pipeline_runs\s+platform\s+platform\s+data-platform-team\s+\d+ d \(\w+\)\s+–\s+–",
                     body)
    _assert_no_error(page)
