"""The web-user-analytics dashboard in a real browser: small gold tables written with delta-rs,
Voila started by ``runners.serve`` on a free port, the page opened in headless Chromium.

The server has a workspace of its own (``DP_HOME``) whose lake is emptied before each test, so
the tests' gold tables never meet the pipeline's or each other's.
Needs Debian's chromium (``make browser`` installs it)."""
from __future__ import annotations

import datetime as dt
import os

import pytest

from runners import serve
from tests.browser import LOAD_TIMEOUT_MS, assert_cards, assert_no_error, open_page, preheated_pages, wait_until_preheated
from tests.browser import write_table as write_product_table

pytestmark = pytest.mark.integration

PRODUCT = "web-user-analytics"
FIRST_RENDER_TARGET_S = 4.0
FIRST_RENDER_LIMIT_S = 20.0  # fails the test; the target is reported, a loaded CI box may miss it

D = dt.date
# The default range is the last 28 days with data: 2024-01-04 .. 2024-01-31; the previous period
# is 2023-12-07 .. 2024-01-03. Current: 01-30 and 01-31; previous: 01-02 and 01-03.
DAILY = [
    # date,         visitors, sessions, engaged, converted, revenue
    (D(2024, 1, 2), 40, 50, 40, 2, 800.0),
    (D(2024, 1, 3), 60, 30, 24, 3, 200.0),
    (D(2024, 1, 30), 80, 100, 60, 5, 1234.5),
    (D(2024, 1, 31), 45, 60, 36, 3, 765.5),
]
# Hand-computed cards of the default range:
#   visitors 80 + 45 = 125 against 40 + 60 = 100 -> +25.0 %
#   revenue 1234.5 + 765.5 = 2,000.00 against 800 + 200 = 1,000.00 -> +100.0 %
#   engagement (60 + 36) / 160 = 60.0 % against (40 + 24) / 80 = 80.0 % -> -20.0 pp
EXPECTED_CARDS = {"visitors": ("125", "+25.0%"), "revenue": ("2,000.00", "+100.0%"),
                  "engagement_rate": ("60.0%", "−20.0 pp")}
# Channel "direct" has half of every count, rounded down, and half the revenue:
#   visitors 40 + 22 = 62 against 20 + 30 = 50 -> +24.0 %; revenue 1,000.00 against 500.00.
EXPECTED_DIRECT_CARDS = {"visitors": ("62", "+24.0%"), "revenue": ("1,000.00", "+100.0%")}
# Page "/" has 100 views a day, 2 days: views, visitors, entrances, exits, exit rate.
EXPECTED_TOP_PAGE = ["/", "200", "200", "100", "50", "25.0%"]


def write_table(name: str, rows: list[dict]) -> None:
    write_product_table(PRODUCT, name, rows)


def kpi_row(date, visitors, sessions, engaged, converted, revenue, **group) -> dict:
    return {"date": date, "visitors": visitors, "users": visitors // 4, "sessions": sessions,
            "page_views": 2 * sessions, "engaged_sessions": engaged, "engagement_rate": engaged / sessions,
            "bounce_rate": 1 - engaged / sessions, "avg_session_duration_s": 42.0, "pages_per_session": 2.0,
            "purchases": converted, "revenue": revenue, "conversion_rate": converted / sessions,
            "bot_events": 0, **group}


def split(column: str, first: str, second: str) -> list[dict]:
    """Each day's KPIs split between two values of ``column``: ``first`` gets half of every count
    (rounded down) and of the revenue, ``second`` the rest."""
    rows = []
    for d, *counts, revenue in DAILY:
        halves = [c // 2 for c in counts]
        rows.append(kpi_row(d, *halves, revenue / 2, **{column: first}))
        rows.append(kpi_row(d, *(c - h for c, h in zip(counts, halves)), revenue / 2, **{column: second}))
    return rows


def write_gold() -> None:
    """Small gold tables of every kind the dashboard reads."""
    write_table("daily_kpis", [kpi_row(*day) for day in DAILY])
    write_table("daily_kpis_by_channel", split("channel", "direct", "organic"))
    write_table("daily_kpis_by_device", split("device_type", "desktop", "mobile"))
    write_table("daily_kpis_by_country", split("country", "DE", "US"))
    write_table("page_metrics", [
        {"date": d, "page_path": path, "page_views": views, "unique_visitors": views, "entrances": views // 2,
         "exits": views // 4, "exit_rate": (views // 4) / views}
        for d, *_ in DAILY for path, views in (("/", 100), ("/product", 40), ("/cart", 8))])
    write_table("funnel", [
        {"date": d, "step": step, "step_name": name, "sessions_reached": reached}
        for d, *_ in DAILY for step, name, reached in ((1, "/", 50), (2, "/product", 20), (3, "purchase", 5))])


@pytest.fixture
def dashboard_url(dashboard_urls):
    return dashboard_urls[PRODUCT]


def test_dashboard_shows_kpis_and_charts(dashboard_url, browser, record_property):
    write_gold()
    page, seconds = open_page(browser, dashboard_url, ".dp-kpi")
    record_property("first_render_s", round(seconds, 2))
    print(f"\ntime to first render (KPI cards visible): {seconds:.2f} s (target {FIRST_RENDER_TARGET_S} s)")
    # 3 trends, 3 breakdowns, the funnel
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 7", timeout=LOAD_TIMEOUT_MS)
    assert_cards(page, EXPECTED_CARDS)
    assert page.locator(".dp-table tbody tr").first.inner_text().split("\t") == EXPECTED_TOP_PAGE
    assert_no_error(page)
    if os.environ.get("DP_DASHBOARD_SCREENSHOT"):  # for a look by eye; the page scrolls inside
        page.set_viewport_size({"width": 1400, "height": 1750})
        page.screenshot(path=os.environ["DP_DASHBOARD_SCREENSHOT"])
    assert seconds <= FIRST_RENDER_LIMIT_S

    page.locator(".widget-dropdown select").select_option("direct")
    assert_cards(page, EXPECTED_DIRECT_CARDS)
    assert_no_error(page)


def test_dashboard_without_tables_shows_the_empty_state(dashboard_url, browser):
    page, _ = open_page(browser, dashboard_url, ".dp-empty")
    assert "No web analytics data yet" in page.inner_text(".dp-empty")
    assert page.locator(".dp-kpi").count() == 0
    assert_no_error(page)


def test_a_preheated_page_reads_gold_when_it_is_requested(dashboard_url, browser):
    """With pre-heating (``runners.serve.PREHEAT``), each page comes from a kernel that ran the
    notebook before the page was asked for; it must still show gold as it is at the request, not
    as it was when the kernel started. Without, the same holds trivially."""
    write_gold()
    served = preheated_pages(PRODUCT)
    page, _ = open_page(browser, dashboard_url, ".dp-kpi")
    assert_cards(page, {"visitors": ("125", "+25.0%")})
    page.close()
    wait_until_preheated(PRODUCT)  # the next page's kernel has run the notebook: now gold changes
    # 2024-01-31 gets 100 visitors instead of 45: 80 + 100 = 180 against 40 + 60 = 100 -> +80.0 %
    write_table("daily_kpis", [kpi_row(*day) for day in DAILY[:3]] + [kpi_row(D(2024, 1, 31), 100, 60, 36, 3, 765.5)])
    page, _ = open_page(browser, dashboard_url, ".dp-kpi")
    assert_cards(page, {"visitors": ("180", "+80.0%")})
    assert_no_error(page)
    if serve.PREHEAT:
        assert preheated_pages(PRODUCT) == served + 2  # both pages came from pre-heated kernels


def test_pages_requested_while_the_spare_kernel_starts_all_load(dashboard_url, browser):
    """Three tabs opened at once: the first takes the waiting kernel, the next two arrive while its
    replacement is still starting (the pattern of the pages that never loaded in November with
    pre-heating; runners/bench/preheat_stress.py repeats it at length). Each shows its cards."""
    write_gold()
    wait_until_preheated(PRODUCT)
    pages = [browser.new_page(viewport={"width": 1400, "height": 1000}) for _ in range(3)]
    for page in pages:  # each request sent without waiting for the previous page
        page.goto(dashboard_url, wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    for page in pages:
        page.wait_for_selector(".dp-kpi", state="visible", timeout=LOAD_TIMEOUT_MS)
        assert_cards(page, {"visitors": ("125", "+25.0%")})
        assert_no_error(page)
        page.close()


def write_engagement() -> None:
    """Engagement depth of the two current days and one visitor's journey."""
    write_table("engagement_depth", [
        {"date": d, "page_path": "/", "page_views": 100, "scroll_events": scrolls, "scroll_depth_invalid": invalid,
         "scroll_depth_p25": p[0], "scroll_depth_p50": p[1], "scroll_depth_p75": p[2], "scroll_depth_p95": p[3],
         "clicks": clicks, "click_through": clicks / 100}
        for d, scrolls, invalid, p, clicks in ((D(2024, 1, 30), 4, 0, (10.0, 20.0, 30.0, 40.0), 10),
                                               (D(2024, 1, 31), 8, 1, (25.0, 50.0, 75.0, 95.0), 30))])
    write_table("element_clicks", [
        {"date": d, "page_path": "/", "element_id": e, "clicks": n, "rank": r}
        for d, e, n, r in ((D(2024, 1, 30), "nav", 10, 1), (D(2024, 1, 31), "buy", 25, 1), (D(2024, 1, 31), "nav", 5, 2))])
    write_table("form_completion", [
        {"date": D(2024, 1, 30), "form_id": "signup", "submits": 4, "successful": 3, "completion_rate": 0.75},
        {"date": D(2024, 1, 31), "form_id": "signup", "submits": 6, "successful": 3, "completion_rate": 0.5}])
    write_table("user_journeys", [{
        "id_type": "anonymous_id", "id": "anon-1", "sessions": 3, "page_views": 6, "events": 9,
        "total_session_time_s": 400.0, "avg_session_time_s": 400 / 3, "pages_per_session": 2.0, "bounce_rate": 1 / 3,
        "first_seen": dt.datetime(2024, 1, 30, 10, 0, tzinfo=dt.timezone.utc),
        "last_seen": dt.datetime(2024, 1, 31, 12, 1, 40, tzinfo=dt.timezone.utc), "days_since_first_seen": 1,
        "primary_device_type": "mobile", "primary_browser": "Safari", "traffic_sources": ["direct", "paid"],
        "countries": ["DE", "FR"], "as_of": D(2024, 1, 31)}])


def test_dashboard_shows_engagement_depth_and_a_visitor_journey(dashboard_url, browser):
    from playwright.sync_api import expect

    write_gold()
    write_engagement()
    page, _ = open_page(browser, dashboard_url, ".dp-kpi")
    tables = page.locator(".dp-table")
    expect(tables).to_have_count(4)  # top pages, click-through, scroll depth, forms
    # "/": 10 + 30 clicks over 100 + 100 views = 0.20; buy 25 clicks beats nav 10 + 5 = 15
    assert tables.nth(1).locator("tbody tr").first.inner_text().split("\t") == ["/", "200", "40", "0.20", "buy"]
    # the percentiles of the range's last day, 2024-01-31
    assert tables.nth(2).locator("tbody tr").first.inner_text().split("\t") == [
        "/", "8", "25.00", "50.00", "75.00", "95.00", "1"]
    assert "percentiles of 31 Jan 2024" in page.inner_text("body")
    # signup: 3 + 3 successful of 4 + 6 submits = 60 %
    assert tables.nth(3).locator("tbody tr").first.inner_text().split("\t") == ["signup", "10", "6", "60.0%"]
    assert_no_error(page)

    box = page.get_by_placeholder("anonymous_id or user_id, then Enter")
    box.fill("anon-1")
    box.press("Enter")
    expect(tables).to_have_count(5)
    row = tables.last.locator("tbody tr").first.inner_text().split("\t")
    # 400 s in 3 sessions: 6m 40s and 2m 13s; 1 of 3 sessions bounced
    assert row[:8] == ["anonymous_id", "3", "6", "9", "6m 40s", "2m 13s", "2.00", "33.3%"]
    assert row[-4:] == ["mobile", "Safari", "direct, paid", "DE, FR"]
    box.fill("nobody")
    box.press("Enter")
    expect(page.locator(".dp-empty").last).to_contain_text("No visitor or user nobody")
    assert_no_error(page)
