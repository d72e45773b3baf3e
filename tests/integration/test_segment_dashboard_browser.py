"""The user-segmentation dashboard in a real browser: small gold tables written with delta-rs for
two snapshots, Voila on a free port, headless Chromium; cards against the earlier snapshot, the
charts, the profiles and clusters, another snapshot picked, a customer looked up."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from products.user_segmentation.rfm import SEGMENT_NAMES, segment_of
from tests.browser import LOAD_TIMEOUT_MS, assert_cards, assert_no_error, open_page, write_table

pytestmark = pytest.mark.integration

PRODUCT = "user-segmentation"
S1, S2 = dt.date(2024, 4, 1), dt.date(2024, 5, 1)
# snapshot: {segment: (customers, revenue, avg_frequency)}; the other segments are empty.
PROFILES = {
    S1: {"Champions": (2, 300.0, 3.0), "Hibernating": (6, 200.0, 1.0)},
    S2: {"Champions": (3, 600.0, 4.0), "Loyal Customers": (2, 300.0, 3.0), "Potential Loyalists": (1, 50.0, 2.0),
         "New Customers": (1, 20.0, 1.0), "About to Sleep": (1, 10.0, 1.0), "At Risk": (1, 15.0, 2.0),
         "Hibernating": (1, 5.0, 1.0)},
}
# Hand-computed cards of S2 against S1:
#   customers 10 against 8 -> +25.0 %; revenue 1,000.00 against 500.00 -> +100.0 %
#   revenue per customer 100.00 against 62.50 -> +60.0 %
#   orders per customer (12 + 6 + 2 + 1 + 1 + 2 + 1) / 10 = 2.50 against (6 + 6) / 8 = 1.50 -> +66.7 %
EXPECTED_CARDS = {"customers": ("10", "+25.0%"), "revenue": ("1,000.00", "+100.0%"),
                  "revenue_per_customer": ("100.00", "+60.0%"), "orders_per_customer": ("2.50", "+66.7%")}
EXPECTED_S1_CARDS = {"customers": ("8", "–"), "revenue": ("500.00", "–")}
# Champions of S2: 3 of 10 customers, 600 of 1,000 revenue; its averages as written below.
EXPECTED_CHAMPIONS_ROW = ["Champions", "3", "30.0%", "2.00", "4.00", "200.00", "5.00", "4.67", "4.00", "60.0%",
                          "Reward them"]
CLUSTER_1 = "Recent, frequent, high-spending customers"


def profile_rows() -> list[dict]:
    rows = []
    for snapshot, segments in PROFILES.items():
        total_customers = sum(c for c, _, _ in segments.values())
        total_revenue = sum(r for _, r, _ in segments.values())
        for order, name in enumerate(SEGMENT_NAMES, 1):
            customers, revenue, frequency = segments.get(name, (0, 0.0, None))
            rows.append({"snapshot_date": snapshot, "segment": name, "segment_order": order, "customers": customers,
                         "customer_share": customers / total_customers, "revenue": revenue,
                         "revenue_share": revenue / total_revenue, "avg_frequency": frequency,
                         "avg_recency_days": 2.0 if customers else None,
                         "avg_monetary": revenue / customers if customers else None,
                         "avg_r": 5.0 if customers else None, "avg_f": 14 / 3 if customers else None,
                         "avg_m": 4.0 if customers else None,
                         "recommended_action": "Reward them" if name == "Champions" else f"Act on {name}"})
    return rows


def write_gold() -> None:
    write_table(PRODUCT, "segment_profiles", profile_rows())
    write_table(PRODUCT, "rfm_grid", [{"snapshot_date": S2, "r": r, "f": f, "segment": segment_of(r, f),
                                       "customers": r * f, "revenue": 10.0 * r * f}
                                      for r in range(1, 6) for f in range(1, 6)])
    moves = [("Champions", "Champions", 2), ("Hibernating", "Loyal Customers", 2), ("Hibernating", "Hibernating", 1),
             ("Hibernating", "About to Sleep", 1), ("Hibernating", "At Risk", 1), ("Hibernating", None, 1),
             (None, "Champions", 1), (None, "Potential Loyalists", 1), (None, "New Customers", 1)]
    write_table(PRODUCT, "segment_movement", [{"from_snapshot": S1, "to_snapshot": S2, "from_segment": a,
                                               "to_segment": b, "customers": n} for a, b, n in moves])
    write_table(PRODUCT, "cluster_profiles", [
        {"snapshot_date": S2, "cluster": c, "k": 2, "customers": n, "customer_share": n / 10, "revenue": rev,
         "revenue_share": rev / 1000, "recency_days": 1.0, "frequency": 1.0, "monetary": 1.0, "sessions_30d": 1.0,
         "engaged_sessions_30d": 1.0, "web_share": 1.0, "description": text}
        for c, n, rev, text in ((1, 4, 900.0, CLUSTER_1 + ", very active."),
                                (2, 6, 100.0, "Lapsed, infrequent, low-spending customers."))])
    write_table(PRODUCT, "customer_segments", [
        {"snapshot_date": S1, "user_id": "cust-1", "recency_days": 40, "frequency": 1, "monetary": 20.0, "r": 1,
         "f": 1, "m": 2, "rfm": "112", "segment": "Hibernating"},
        {"snapshot_date": S2, "user_id": "cust-1", "recency_days": 2, "frequency": 6, "monetary": 420.0, "r": 5,
         "f": 5, "m": 5, "rfm": "555", "segment": "Champions"},
        {"snapshot_date": S2, "user_id": "cust-2", "recency_days": 9, "frequency": 1, "monetary": 5.0, "r": 1,
         "f": 1, "m": 1, "rfm": "111", "segment": "Hibernating"}])
    write_table(PRODUCT, "customer_clusters", [{"snapshot_date": S2, "user_id": "cust-1", "cluster": 1},
                                               {"snapshot_date": S2, "user_id": "cust-2", "cluster": 2}])
    write_churn()


# S2 only: (user, segment, churn risk, level, recency, orders, revenue, age, lifecycle); the other
# 7 customers are Low and not written.
BEHAVIOUR = [("cust-1", "Champions", 0.05, "Low", 2, 6, 420.0, 300, "Established"),
             ("cust-2", "Hibernating", 0.87, "High", 365, 1, 5.0, 365, "Dormant"),
             ("cust-3", "At Risk", 0.95, "High", 200, 2, 15.0, 400, "Dormant")]


def write_churn() -> None:
    write_table(PRODUCT, "customer_behaviour", [
        {"snapshot_date": S2, "user_id": u, "segment": seg, "churn_risk": risk, "churn_risk_level": level,
         "engagement_level": "Low", "purchase_pattern": "One-time", "value_tier": "Low", "lifecycle_stage": life,
         "recency_days": rec, "frequency": f, "monetary": m, "customer_age_days": age, "days_since_last_activity": rec}
        for u, seg, risk, level, rec, f, m, age, life in BEHAVIOUR])
    write_table(PRODUCT, "churn_distribution", [
        {"snapshot_date": S2, "segment": seg, "band": band, "risk_from": band / 10, "risk_to": (band + 1) / 10,
         "customers": n, "avg_churn_risk": risk}
        for seg, band, n, risk in (("Champions", 0, 3, 0.05), ("Hibernating", 8, 1, 0.87), ("At Risk", 9, 1, 0.95),
                                   ("Loyal Customers", 1, 5, 0.12))])
    write_table(PRODUCT, "tag_counts", [
        {"snapshot_date": S2, "tag": tag, "value": value, "customers": n}
        for tag, value, n in (("churn_risk_level", "High", 2), ("churn_risk_level", "Low", 8),
                              ("lifecycle_stage", "Dormant", 2), ("lifecycle_stage", "Established", 8))])


@pytest.fixture
def dashboard_url(dashboard_urls):
    return dashboard_urls[PRODUCT]


def test_segmentation_dashboard(dashboard_url, browser):
    write_gold()
    page, seconds = open_page(browser, dashboard_url, ".dp-kpi")
    print(f"\ntime to first render (cards visible): {seconds:.2f} s")
    # two bar charts (sizes, revenue share), the R x F heatmap, the movement heatmap, churn risk by segment
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 5", timeout=LOAD_TIMEOUT_MS)
    assert_cards(page, EXPECTED_CARDS)
    assert "Segment movement 2024-04-01 → 2024-05-01" in page.inner_text("body")
    profiles, tags, risky, clusters = (page.locator(".dp-table").nth(i) for i in range(4))
    assert profiles.locator("tbody tr").first.inner_text().split("\t") == EXPECTED_CHAMPIONS_ROW
    assert profiles.locator("tbody tr").count() == 10
    # every value of the five tags; churn risk High: 2 of 10 customers; Medium not written: 0
    assert tags.locator("tbody tr").count() == 16
    assert [tags.locator("tbody tr").nth(i).inner_text().split("\t") for i in range(2)] == [
        ["Churn risk", "High", "2", "20.0%"], ["Churn risk", "Medium", "0", "0.0%"]]
    # the at-risk list: level High only, riskiest first
    assert risky.locator("tbody tr").count() == 2
    assert risky.locator("tbody tr").first.inner_text().split("\t") == [
        "cust-3", "At Risk", "0.95", "200", "2", "15.00", "400", "Dormant"]
    assert clusters.locator("tbody tr").first.inner_text().split("\t")[:4] == ["1", "4", "40.0%", "90.0%"]
    assert_no_error(page)

    box = page.get_by_placeholder("user_id, then Enter")
    box.fill("cust-1")
    box.press("Enter")
    expect(page.locator(".dp-lookup")).to_contain_text("cust-1: Champions (RFM 555) on 2024-05-01; cluster 1: "
                                                      + CLUSTER_1)
    expect(page.locator(".dp-lookup")).to_contain_text("Recommended action: Reward them")
    history = page.locator(".dp-table").last.locator("tbody tr")
    expect(history).to_have_count(2)  # both snapshots of cust-1, latest first
    assert history.nth(1).inner_text().split("\t")[:3] == ["2024-04-01", "Hibernating", "112"]
    box.fill("nobody")
    box.press("Enter")
    expect(page.locator(".dp-empty").last).to_contain_text("No customer nobody")

    page.locator(".widget-dropdown select").select_option("2024-04-01")
    assert_cards(page, EXPECTED_S1_CARDS)
    # S1 is the first snapshot (and the test wrote no grid for it)
    expect(page.locator(".dp-empty", has_text="Segment movement: no earlier snapshot")).to_have_count(1)
    expect(page.locator(".dp-empty", has_text="R × F grid: no data")).to_have_count(1)
    expect(page.locator(".dp-empty", has_text="Churn risk: not computed for this snapshot")).to_have_count(1)
    assert_no_error(page)


def test_segmentation_dashboard_without_tables_shows_the_empty_state(dashboard_url, browser):
    page, _ = open_page(browser, dashboard_url, ".dp-empty")
    assert "No segmentation data yet" in page.inner_text(".dp-empty")
    assert page.locator(".dp-kpi").count() == 0
    assert_no_error(page)
