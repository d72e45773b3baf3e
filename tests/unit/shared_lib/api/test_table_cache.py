"""The product APIs' cache: a whole table and its partition dates read once per version, filtered
reads and encoded answers kept per version in small LRUs."""
from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from shared_lib import products
from shared_lib.api import app as api_app
from shared_lib.api import gold
from tests.api_data import D1, D2, D3, web_kpi
from tests.browser import write_table

WEB, COMPLIANCE = "web-user-analytics", "compliance-auditing"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    write_table(WEB, "daily_kpis", [web_kpi(D1, 10), web_kpi(D2, 20)])
    return gold.TableCache()


def kpis():
    return products.get(WEB).table("daily_kpis")


def test_a_whole_table_is_read_once_per_version(cache):
    assert sorted(cache.frame(kpis())["sessions"]) == [10, 20]
    assert cache.frame(kpis()) is cache.frame(kpis()) and cache.reads == 1
    write_table(WEB, "daily_kpis", [web_kpi(D3, 30)])
    assert list(cache.frame(kpis())["sessions"]) == [30] and cache.reads == 2


def test_partition_dates_come_from_the_log_and_follow_its_version(cache):
    table = products.get(COMPLIANCE).table("daily_compliance_kpis")
    assert cache.dates(table, "date") == []  # no commit yet
    kpi = {"kpi": "audit_events", "dimension": "all", "dimension_value": "all", "value": 1.0}
    write_table(COMPLIANCE, "daily_compliance_kpis", [{"date": D2, **kpi}, {"date": D1, **kpi}])
    assert cache.dates(table, "date") == [D1, D2] and cache.reads == 0


def test_filtered_reads_are_kept_per_version_and_the_least_recently_used_goes_first(cache, monkeypatch):
    monkeypatch.setattr(gold, "FILTERED_CACHE_SIZE", 2)
    first, second, third = ([("date", "=", day)] for day in (D1, D2, D3))
    assert list(cache.filtered(kpis(), first)["sessions"]) == [10]
    cache.filtered(kpis(), second)
    cache.filtered(kpis(), first)  # used again: second is now the oldest
    cache.filtered(kpis(), third)  # evicts second
    assert cache.reads == 3
    cache.filtered(kpis(), first)
    assert cache.reads == 3
    cache.filtered(kpis(), second)
    assert cache.reads == 4
    write_table(WEB, "daily_kpis", [web_kpi(D1, 11)])
    assert list(cache.filtered(kpis(), first)["sessions"]) == [11] and cache.reads == 5


def test_an_answer_is_computed_once_per_query_and_version_and_kept_as_json(cache, monkeypatch):
    monkeypatch.setattr(gold, "ANSWER_CACHE_SIZE", 1)
    computed = []

    def compute(label):
        def run():
            computed.append(label)
            return [{"sessions": len(computed), "label": "é"}], {"next": None}
        return run

    assert cache.answer(("/a",), [kpis()], compute("a")) == (b'[{"sessions":1,"label":"\xc3\xa9"}]', {"next": None})
    assert cache.answer(("/a",), [kpis()], compute("a again"))[0] == b'[{"sessions":1,"label":"\xc3\xa9"}]'
    cache.answer(("/b",), [kpis()], compute("b"))  # the only place: /a goes
    cache.answer(("/a",), [kpis()], compute("a after b"))
    write_table(WEB, "daily_kpis", [web_kpi(D3, 30)])
    cache.answer(("/a",), [kpis()], compute("a at version 1"))
    assert computed == ["a", "b", "a after b", "a at version 1"]


def test_an_answer_from_one_table_s_frame_follows_that_table_s_version(cache):
    app = FastAPI()

    @app.get("/total")
    def total(request: Request):
        return api_app.cached_frame(request, cache, kpis(), lambda frame: (int(frame["sessions"].sum()), None))

    client = TestClient(app)
    assert [client.get("/total").json()["data"] for _ in range(2)] == [30, 30] and cache.reads == 1
    write_table(WEB, "daily_kpis", [web_kpi(D3, 31)])
    assert client.get("/total").json()["data"] == 31 and cache.reads == 2
