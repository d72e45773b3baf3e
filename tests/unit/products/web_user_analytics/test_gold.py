"""Gold metrics (daily KPIs, breakdowns, page metrics, funnel) on a hand-built two-day event set
whose every expected value is worked out by hand below. Silver's pure steps build the sessions."""


from __future__ import annotations

import datetime as dt

import pytest

from products.web_user_analytics import funnel
from shared_lib import tables

D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


def test_funnel_steps_are_validated():
    assert funnel.steps_from_params([{"name": "buy", "event_type": "purchase"}]) == [
        funnel.Step("buy", event_type="purchase")]
    for bad in ([], [{"name": "x"}], [{"name": "x", "page_path": "/", "event_type": "click"}], ["/"]):
        with pytest.raises(ValueError, match="funnel_steps"):
            funnel.steps_from_params(bad)


def test_replace_predicate_names_the_dates():
    assert tables.in_predicate("date", [D1, D2]) == "`date` IN (DATE '2024-03-01', DATE '2024-03-02')"
    assert tables.in_predicate("k", ["it's", 3], alias="t") == "t.`k` IN ('it\\'s', 3)"
