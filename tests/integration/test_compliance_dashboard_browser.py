"""The compliance-auditing dashboard and its report in a real browser: small gold and silver
tables written with delta-rs into the served workspace (``tests/integration/conftest.py``), the
dashboard opened in headless Chromium, then the report step's HTML file opened from disk.
Needs Debian's chromium (``make browser`` installs it)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from products.compliance_auditing import report
from tests.browser import LOAD_TIMEOUT_MS, assert_cards, assert_no_error, open_page
from tests.browser import write_table as write_product_table
from tests.compliance_data import AUDIT, kpi_rows

pytestmark = pytest.mark.integration

PRODUCT = "compliance-auditing"
D = dt.date
# The default range is the last 7 days with data, 03-08 .. 03-14; the previous one 03-01 .. 03-07.
# Counts: 20 + 4 = 24 against 10 + 6 = 16 (+50 %); denied 6 against 2 (+200 %); coverage at the
# end: 03-09, the latest day with consent rows, (3 + 1) / (5 + 3) = 50 % against 03-02's
# (3 + 2) / (4 + 2) = 83.3 %: -33.3 pp.
KPIS = (kpi_rows(D(2024, 3, 2), 10, 2, 1, [("analytics", 4, 3, 3, 1), ("marketing", 2, 2, 2, 0)])
        + kpi_rows(D(2024, 3, 3), 6, 0, 0)
        + kpi_rows(D(2024, 3, 9), 20, 5, 2, [("analytics", 5, 3, 1, 1), ("marketing", 3, 1, 1, 2)],
                   read_success=13, read_denied=5, export_success=2)
        + kpi_rows(D(2024, 3, 14), 4, 1, 0, read_success=3, delete_denied=1))
EXPECTED_CARDS = {"audit_events": ("24", "+50.0%"), "denied_accesses": ("6", "+200.0%"),
                  "reads_without_purpose": ("2", "+100.0%"), "consent_coverage": ("50.0%", "−33.3 pp")}


def write_tables() -> None:
    write_product_table(PRODUCT, "daily_compliance_kpis", KPIS)
    # The unit tests' audit trail, moved into the default range (03-02.. -> 03-09..).
    audit = AUDIT.assign(event_ts=AUDIT["event_ts"] + pd.Timedelta(days=7),
                         event_date=[d + dt.timedelta(days=7) for d in AUDIT["event_date"]],
                         ingested_at=pd.Timestamp(2024, 3, 15), topic="compliance.audit", partition=0,
                         offset=range(len(AUDIT)))
    write_product_table(PRODUCT, "audit_trail", audit.to_dict("records"))


@pytest.fixture
def dashboard_url(dashboard_urls):
    return dashboard_urls[PRODUCT]


def test_dashboard_shows_the_cards_the_explorer_and_the_inventory(dashboard_url, browser):
    write_tables()
    page, seconds = open_page(browser, dashboard_url, ".dp-kpi")
    print(f"\ntime to first render (KPI cards visible): {seconds:.2f} s")
    assert_cards(page, EXPECTED_CARDS)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 2", timeout=LOAD_TIMEOUT_MS)
    body = page.inner_text("body")
    assert "5 events; the newest 5 shown" in body  # the explorer: all of e1..e5
    assert "compliance-auditing.silver.audit_trail" in body and "source_ip" in body  # the inventory
    assert_no_error(page)

    page.locator(".widget-dropdown", has_text="Actor").locator("select").select_option("ana")
    page.get_by_text("3 events; the newest 3 shown").wait_for(timeout=LOAD_TIMEOUT_MS)
    assert_cards(page, {"audit_events": ("24", "+50.0%")})  # the cards are gold's, not the filter's
    assert_no_error(page)


def test_dashboard_without_tables_shows_the_empty_state(dashboard_url, browser):
    page, _ = open_page(browser, dashboard_url, ".dp-empty")
    assert "No compliance data yet" in page.inner_text(".dp-empty")
    assert page.locator(".dp-kpi").count() == 0
    assert_no_error(page)


def test_the_report_step_writes_a_file_a_browser_opens_without_a_server(dashboard_workspace, browser, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("DP_REPORTS", str(tmp_path))
    write_tables()
    result = report.run(SimpleNamespace(run_id="20240315T000000Z-beef"))
    assert result["report"] == str(tmp_path / "compliance" / "20240315T000000Z-beef.html")
    page = browser.new_page()
    page.goto(f"file://{result['report']}", timeout=LOAD_TIMEOUT_MS)
    assert page.inner_text("h1") == "Compliance report"
    assert page.inner_text(".dp-run-id") == "20240315T000000Z-beef"
    assert_cards(page, EXPECTED_CARDS)
    assert result["report_sha256"] in page.inner_text("footer")
    page.goto(f"file://{tmp_path / 'compliance' / 'index.html'}", timeout=LOAD_TIMEOUT_MS)
    page.get_by_role("link", name="20240315T000000Z-beef").click()
    assert page.inner_text(".dp-run-id") == "20240315T000000Z-beef"
