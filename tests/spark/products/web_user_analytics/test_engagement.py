"""Engagement depth on hand-built events in sessions: scroll-depth percentiles (continuous, as
the README defines them), invalid depths nulled and counted, click-through, clicks per element,
form completion by form id."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from products.web_user_analytics import engagement

D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


def ev(event_type, path, date=D1, **properties):
    return (date, path, event_type, json.dumps(properties) if properties else None)


EVENTS = [
    *[ev("page_view", "/a") for _ in range(4)],
    # Valid depths 10, 20, 40, "50" (a numeric string), 80: n = 5, h = p * 4.
    ev("scroll", "/a", scroll_depth=10), ev("scroll", "/a", scroll_depth=20), ev("scroll", "/a", scroll_depth=40),
    ev("scroll", "/a", scroll_depth="50"), ev("scroll", "/a", scroll_depth=80),
    # Outside 0-100 or not a number: nulled and counted; absent: neither.
    ev("scroll", "/a", scroll_depth=150), ev("scroll", "/a", scroll_depth=-5), ev("scroll", "/a", scroll_depth="deep"),
    ev("scroll", "/a"),
    ev("click", "/a", element_id="buy"), ev("click", "/a", element_id="buy"), ev("click", "/a", element_id="nav"),
    ev("click", "/a"),
    # /b: the two boundaries 0 and 100 are valid; no page view, so no click-through.
    ev("scroll", "/b", scroll_depth=0), ev("scroll", "/b", scroll_depth=100),
    ev("click", None, element_id="buy"),  # no page: counted nowhere
    # Forms: a submit is successful unless properties.success is false.
    ev("form_submit", "/f", form_id="signup"), ev("form_submit", "/f", form_id="signup", success=True),
    ev("form_submit", "/f", form_id="signup", success=False), ev("form_submit", "/f", form_id="signup", success="false"),
    ev("form_submit", "/f", D2, form_id="checkout"),
    ev("form_submit", "/f", D2, success=False),  # no form id
]
SCHEMA = "date date, page_path string, event_type string, properties string"


@pytest.fixture(scope="module")
def events(spark):
    return engagement.interactions(spark.createDataFrame(EVENTS, SCHEMA))


@pytest.mark.integration
def test_scroll_depth_percentiles_invalid_depths_and_click_through(events):
    got = {(r["date"], r["page_path"]): r.asDict() for r in engagement.depth(events).collect()}
    a = got[(D1, "/a")]
    # p25: h = 1 -> 20; p50: h = 2 -> 40; p75: h = 3 -> 50; p95: h = 3.8 -> 50 + 0.8 * (80 - 50) = 74
    assert (a["scroll_events"], a["scroll_depth_p25"], a["scroll_depth_p50"], a["scroll_depth_p75"],
            a["scroll_depth_p95"]) == (5, 20.0, 40.0, 50.0, pytest.approx(74.0))
    assert a["scroll_depth_invalid"] == 3
    assert (a["page_views"], a["clicks"], a["click_through"]) == (4, 4, 1.0)
    b = got[(D1, "/b")]
    # n = 2 (0 and 100): the p-th percentile is 100 p
    assert [b[f"scroll_depth_p{p}"] for p in (25, 50, 75, 95)] == [25.0, 50.0, 75.0, pytest.approx(95.0)]
    assert (b["page_views"], b["clicks"], b["click_through"], b["scroll_depth_invalid"]) == (0, 0, None, 0)
    f = got[(D1, "/f")]
    assert (f["scroll_events"], f["scroll_depth_p50"], f["clicks"]) == (0, None, 0)
    assert set(got) == {(D1, "/a"), (D1, "/b"), (D1, "/f"), (D2, "/f")}


@pytest.mark.integration
def test_clicks_per_element_ranked_within_the_page(events):
    got = sorted((r["page_path"], r["element_id"] or "", r["clicks"], r["rank"])
                 for r in engagement.element_clicks(events).collect())
    assert got == [("/a", "", 1, 3), ("/a", "buy", 2, 1), ("/a", "nav", 1, 2)]


@pytest.mark.integration
def test_form_completion_by_form_id(events):
    got = {(r["date"], r["form_id"]): (r["submits"], r["successful"], r["completion_rate"])
           for r in engagement.form_completion(events).collect()}
    assert got == {(D1, "signup"): (4, 2, 0.5), (D2, "checkout"): (1, 1, 1.0), (D2, None): (1, 0, 0.0)}
