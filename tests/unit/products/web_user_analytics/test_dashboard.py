"""The web dashboard's engagement numbers and journey table on hand-computed cases: click-through
summed over days, the most clicked element, one day's scroll depth, form completion over days."""
import datetime as dt

import pandas as pd
import pytest

from products.web_user_analytics import dashboard as web

D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


def test_click_through_sums_clicks_and_views_over_the_days():
    depth = pd.DataFrame({"date": [D1, D2, D1, D1], "page_path": ["/", "/", "/cart", "/x"],
                          "page_views": [4, 6, 2, 0], "clicks": [1, 4, 0, 3]})
    elements = pd.DataFrame({"date": [D1, D2, D2, D1], "page_path": ["/", "/", "/", "/x"],
                             "element_id": ["nav", "buy", "nav", None], "clicks": [1, 2, 2, 3]})
    got = web.click_through(depth, elements)
    assert got["page_path"].tolist() == ["/", "/cart", "/x"]  # most views first
    # "/": 5 clicks over 10 views (not the mean of 0.25 and 0.667); nav 1 + 2 = 3 clicks beats buy 2
    assert got.loc[0, ["page_views", "clicks", "click_through", "top_element"]].tolist() == [10.0, 5.0, 0.5, "nav"]
    assert got.loc[1, "click_through"] == 0.0 and pd.isna(got.loc[1, "top_element"])
    assert pd.isna(got.loc[2, "click_through"]) and got.loc[2, "top_element"] == "(none)"  # no views; no element id


def test_scroll_depth_is_shown_for_one_day():
    depth = pd.DataFrame({"date": [D1, D2, D2, D2], "page_path": ["/", "/", "/a", "/b"],
                          "scroll_events": [9, 2, 5, 0], "scroll_depth_invalid": [0, 0, 0, 1],
                          "scroll_depth_p50": [10.0, 50.0, 70.0, None]})
    got = web.scroll_depth_on(depth, D2)
    assert got["page_path"].tolist() == ["/a", "/", "/b"]  # most valid scrolls first; invalid-only kept
    assert got["scroll_depth_p50"].tolist()[:2] == [70.0, 50.0]


def test_form_completion_over_the_days():
    forms = pd.DataFrame({"date": [D1, D2, D2], "form_id": ["signup", "signup", None],
                          "submits": [4, 1, 2], "successful": [2, 1, 0]})
    got = web.form_completion(forms)
    assert got.values.tolist() == [["signup", 5.0, 3.0, pytest.approx(0.6)], ["(no form_id)", 2.0, 0.0, 0.0]]


def test_journey_rows_read_as_a_table():
    journeys = pd.DataFrame({
        "id_type": ["anonymous_id"], "id": ["A"], "sessions": [3], "page_views": [6], "events": [9],
        "total_session_time_s": [400.0], "avg_session_time_s": [400 / 3], "pages_per_session": [2.0],
        "bounce_rate": [1 / 3], "first_seen": [pd.Timestamp("2024-03-01 10:00")],
        "last_seen": [pd.Timestamp("2024-03-04 12:01:40")], "days_since_first_seen": [4],
        "primary_device_type": ["mobile"], "primary_browser": ["Safari"], "traffic_sources": [["direct", "paid"]],
        "countries": [[]], "as_of": [D2]})
    row = web.journey_rows(journeys).iloc[0]
    assert (row["identifier"], row["sources"], row["countries"], row["device"]) == (
        "anonymous_id", "direct, paid", "–", "mobile")
    html = web.ui.table(web.journey_rows(journeys), web.JOURNEY_FORMATS).value
    assert "6m 40s" in html and "33.3%" in html and "01 Mar 10:00" in html
