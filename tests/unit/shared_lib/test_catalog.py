"""The catalog's entries: with ``rows``, each table's row count from the one opening that gives
its version."""
from __future__ import annotations

import datetime as dt

from shared_lib import catalog
from tests.api_data import web_kpi
from tests.browser import write_table


def test_entries_with_rows_count_each_written_table_and_none_for_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    day = dt.date(2024, 3, 1)
    write_table("web-user-analytics", "daily_kpis", [web_kpi(day, n) for n in (1, 2, 3)])
    write_table("web-user-analytics", "daily_kpis", [web_kpi(day, 4), web_kpi(day, 5)])
    by_name = {e["name"]: e for e in catalog.entries(rows=True)}
    kpis = by_name["web-user-analytics.gold.daily_kpis"]
    assert (kpis["exists"], kpis["version"], kpis["rows"]) == (True, 1, 2)  # the overwrite's two rows
    funnel = by_name["web-user-analytics.gold.funnel"]
    assert (funnel["exists"], funnel["version"], funnel["rows"]) == (False, None, None)
    assert "rows" not in catalog.entries()[0]
