"""The mobile-user-analytics dashboard in a real browser, as every dashboard is tested (helpers in
tests/browser.py, fixtures in tests/integration/conftest.py): small gold tables written with
delta-rs, Voila on a free port serving a workspace of its own, headless Chromium."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.browser import LOAD_TIMEOUT_MS, assert_cards, assert_no_error, open_page, write_table

pytestmark = pytest.mark.integration

PRODUCT = "mobile-user-analytics"
D = dt.date
# The default range is the last 42 days with data: 2023-12-21 .. 2024-01-31, the previous period
# 2023-11-09 .. 2023-12-20. Current rows: 01-30 and 01-31; previous: 12-19 and 12-20.
DAILY = [
    # date,          dau, mau, new, sessions, crashed devices, crashed sessions, revenue
    (D(2023, 12, 19), 40, 100, 10, 80, 2, 4, 100.0),
    (D(2023, 12, 20), 60, 100, 10, 120, 3, 6, 100.0),
    (D(2024, 1, 30), 90, 200, 30, 150, 9, 3, 250.5),
    (D(2024, 1, 31), 60, 250, 20, 100, 6, 2, 149.5),
]
# Hand-computed cards of the default range:
#   average DAU (90 + 60) / 2 = 75 against (40 + 60) / 2 = 50 -> +50.0 %
#   MAU of the last day 250 against 100 -> +150.0 %
#   stickiness 150 / 450 = 33.3 % against 100 / 200 = 50.0 % -> -16.7 pp
#   crash-free users 1 - 15 / 150 = 90.0 % against 1 - 5 / 100 = 95.0 % -> -5.0 pp
#   revenue 250.5 + 149.5 = 400.00 against 200.00 -> +100.0 %
EXPECTED_CARDS = {"avg_dau": ("75", "+50.0%"), "mau": ("250", "+150.0%"), "stickiness": ("33.3%", "−16.7 pp"),
                  "crash_free_users": ("90.0%", "−5.0 pp"), "revenue": ("400.00", "+100.0%")}
# Per version and day: active devices, crashed devices. android 3.1.0 is the least crash-free
# (2 of 4 device-days) but has fewer than 5 device-days, so android 3.2.0 (20 of 100: 80.0 %) is
# called out.
VERSIONS = [("android", "3.2.0", 50, 10), ("ios", "3.3.0", 100, 1), ("android", "3.1.0", 2, 1)]


def daily_row(date, dau, mau, new, sessions, crashed_devices, crashed_sessions, revenue) -> dict:
    return {"date": date, "dau": dau, "wau": (dau + mau) // 2, "mau": mau, "stickiness": dau / mau,
            "new_devices": new, "sessions": sessions, "engaged_sessions": sessions // 2,
            "avg_session_duration_s": 60.0, "sessions_per_dau": sessions / dau, "crashed_devices": crashed_devices,
            "crash_free_users": 1 - crashed_devices / dau, "crashed_sessions": crashed_sessions,
            "crash_free_sessions": 1 - crashed_sessions / sessions, "purchases": 3, "revenue": revenue}


def write_gold() -> None:
    write_table(PRODUCT, "daily_kpis", [daily_row(*day) for day in DAILY])
    write_table(PRODUCT, "daily_by_version", [
        {"date": d, "platform": platform, "app_version": version, "active_devices": active,
         "crashed_devices": crashed, "crash_free_users": 1 - crashed / active, "sessions": active,
         "crashed_sessions": crashed, "crash_free_sessions": 1 - crashed / active, "adopted_devices": active,
         "version_adoption": active / 152}
        for d in (D(2024, 1, 30), D(2024, 1, 31)) for platform, version, active, crashed in VERSIONS])
    write_table(PRODUCT, "retention", [
        {"cohort_date": D(2024, 1, 30), "day_n": 1, "cohort_size": 30, "retained_devices": 15, "retention": 0.5},
        {"cohort_date": D(2024, 1, 30), "day_n": 7, "cohort_size": 30},
        {"cohort_date": D(2024, 1, 31), "day_n": 1, "cohort_size": 20},
        {"cohort_date": D(2024, 1, 31), "day_n": 7, "cohort_size": 20}])


def test_mobile_dashboard_shows_trends_retention_and_the_worst_version(dashboard_urls, browser):
    write_gold()
    page, seconds = open_page(browser, dashboard_urls[PRODUCT], ".dp-kpi")
    print(f"\nmobile dashboard: KPI cards visible after {seconds:.2f} s")
    # DAU/WAU/MAU, stickiness, crash-free by version, adoption, the retention heatmap
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 5", timeout=LOAD_TIMEOUT_MS)
    assert_cards(page, EXPECTED_CARDS)
    callout = page.locator(".dp-callout").inner_text()
    assert "Worst version: android 3.2.0" in callout and "80.0% crash-free users (all versions 90.0%)" in callout
    assert page.locator(".js-plotly-plot .hm").count() == 1  # the heatmap trace
    assert page.locator("text=Devices back on exactly day N").count() == 1
    assert_no_error(page)


def test_mobile_dashboard_without_tables_shows_the_empty_state(dashboard_urls, browser):
    page, _ = open_page(browser, dashboard_urls[PRODUCT], ".dp-empty")
    assert "No mobile analytics data yet" in page.inner_text(".dp-empty")
    assert_no_error(page)
