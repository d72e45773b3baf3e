"""Repeated gold queries served before FastAPI (``shared_lib.api.repeats``): the same answer with
its own request id, logged under its route; never to a refused key or role, never after the
table changed."""
from __future__ import annotations

import pytest

from products.web_user_analytics import api as web_api
from shared_lib.api import repeats
from tests import api_client, api_data
from tests.api_client import write_table
from tests.api_data import D1, D2, web_kpi

URL = "/kpis/daily?start=2024-03-01&end=2024-03-02"


@pytest.fixture
def web(tmp_path, monkeypatch):
    client = api_client.api(web_api.create_app, tmp_path, monkeypatch)
    api_data.write_web()
    return client


def _answers(web) -> repeats.Answers:
    return web.client.app.state.api.answers


def test_a_repeated_query_gets_the_same_data_with_its_own_request_id_and_is_logged(web):
    first = web.get(URL, "viewer", **{"X-Request-ID": "first"})
    again = web.get(URL, "analyst", **{"X-Request-ID": "again"})
    assert _answers(web).served == 1  # the first went through FastAPI, the second did not
    assert again.status_code == 200 and again.headers["content-type"] == "application/json"
    assert again.headers["x-request-id"] == "again" and again.json()["meta"]["request_id"] == "again"
    assert again.json()["data"] == first.json()["data"]
    assert [(r["date"], r["sessions"]) for r in again.json()["data"]] == [("2024-03-01", 10), ("2024-03-02", 20)]
    assert [(e["endpoint"], e["status_code"]) for e in web.sinks.requests] == [("/kpis/daily", 200)] * 2


def test_a_repeated_page_keeps_its_page_meta(web):
    url = "/pages?start=2024-03-01&end=2024-03-02&limit=2"
    first, again = web.get(url, "viewer").json(), web.get(url, "viewer").json()
    assert _answers(web).served == 1
    assert again["meta"]["page"] == first["meta"]["page"] == {"limit": 2, "offset": 0, "total": 3, "next_offset": 2}


def test_a_revoked_key_is_refused_and_audited_even_for_a_recorded_answer(web):
    assert web.get(URL, "viewer").status_code == 200
    web.store.revoke(web.actor("viewer"))
    resp = web.get(URL, "viewer")
    assert resp.status_code == 401 and _answers(web).served == 0
    assert [(a["actor"], a["result"]) for a in web.sinks.audits] == [(web.actor("viewer"), "denied")]


def test_no_key_or_an_unknown_key_goes_to_fastapi_and_is_refused(web):
    web.get(URL, "viewer")
    assert web.get(URL).status_code == 401
    assert web.client.get(URL, headers={"X-API-Key": "dp_nope_nope"}).status_code == 401
    assert _answers(web).served == 0 and len(web.sinks.audits) == 2


def test_a_role_the_endpoint_does_not_admit_is_refused_for_a_recorded_answer(tmp_path, monkeypatch):
    client = api_client.api(web_api.create_app, tmp_path, monkeypatch)
    answers = client.client.app.state.api.answers
    route = object()
    # an analyst-only answer recorded for this path: a viewer's key must not get it
    answers.record("/kpis/daily", b"", repeats.Answer(route, frozenset({"analyst", "admin"}), (), (), b"[]", None))
    assert client.get("/kpis/daily", "viewer").status_code == 200  # answered by FastAPI, which admits viewers
    assert answers.served == 0
    assert client.get("/kpis/daily", "analyst").json()["data"] == []
    assert answers.served == 1


def test_a_new_table_version_is_answered_from_the_new_rows(web):
    web.get(URL, "viewer")
    write_table(api_data.WEB, "daily_kpis", [web_kpi(D1, 11), web_kpi(D2, 21)])
    again = web.get(URL, "viewer").json()
    assert [(r["date"], r["sessions"]) for r in again["data"]] == [("2024-03-01", 11), ("2024-03-02", 21)]
    assert _answers(web).served == 0
    web.get(URL, "viewer")
    assert _answers(web).served == 1


def test_a_query_written_differently_is_not_a_repeat_but_answers_the_same(web):
    first = web.get(URL, "viewer").json()
    other = web.get("/kpis/daily?end=2024-03-02&start=2024-03-01", "viewer").json()
    assert other["data"] == first["data"] and _answers(web).served == 0


def test_a_personal_data_read_is_never_recorded_so_each_one_is_audited(web):
    for _ in range(2):
        assert web.get("/visitors/v1/journey", "analyst", purpose="support").status_code == 200
    assert _answers(web).served == 0
    assert [a["result"] for a in web.sinks.audits] == ["success", "success"]


@pytest.mark.parametrize("headers,key", [
    ([(b"authorization", b"Bearer k1"), (b"x-api-key", b"k2")], "k1"),
    ([(b"authorization", b"Basic abc"), (b"x-api-key", b" k2 ")], "k2"),
    ([(b"x-api-key", b"k2"), (b"x-api-key", b"k3")], "k2"),
    ([(b"authorization", b"Bearer  ")], None),
    ([], None),
])
def test_the_key_is_read_from_raw_headers_as_from_a_request(headers, key):
    assert repeats.presented_key(headers) == key
