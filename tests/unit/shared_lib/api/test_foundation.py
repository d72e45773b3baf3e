"""The API foundation on a two-endpoint app: envelope, error shape for every status, request ids,
validation errors as 400s naming the field, pagination, keys and roles, request logs."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

import pytest
from fastapi import APIRouter, Query, Request
from fastapi.testclient import TestClient

from shared_lib.api import app as api_app
from shared_lib.api import auth, pagination, roles
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/numbers", **auth.secured("analyst"))
    def numbers(request: Request, start: Annotated[dt.date, Query()], page: pagination.PageParam):
        rows, info = page.slice([1, 2, 3, 4, 5])
        return api_app.ok(request, {"start": start.isoformat(), "rows": rows}, info)

    @router.get("/boom", **auth.secured("viewer"))
    def boom():
        raise RuntimeError("a bug")

    return router


@pytest.fixture
def api(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    sinks = Sinks.memory()
    app = api_app.create_app("web-user-analytics", "test", "test", [_router()], params={}, sinks=sinks, keys=store)
    keys = {role: store.create(role)[0] for role in roles.ROLES}
    return TestClient(app, raise_server_exceptions=False), keys, sinks, store


def _get(client, url, key=None, **headers):
    if key:
        headers["X-API-Key"] = key
    return client.get(url, headers=headers)


def test_a_success_is_the_envelope_with_the_page_and_the_request_id_echoed(api):
    client, keys, _, _ = api
    resp = _get(client, "/numbers?start=2024-03-01&limit=2&offset=1", keys["analyst"], **{"X-Request-ID": "req-1"})
    assert resp.status_code == 200
    assert resp.headers["x-request-id"] == "req-1"
    body = resp.json()
    assert body["data"] == {"start": "2024-03-01", "rows": [2, 3]}
    # 5 rows, 2 from offset 1: the next page starts at 3
    assert body["meta"]["page"] == {"limit": 2, "offset": 1, "total": 5, "next_offset": 3}
    assert body["meta"]["request_id"] == "req-1"


def test_the_last_page_has_no_next_offset(api):
    client, keys, _, _ = api
    body = _get(client, "/numbers?start=2024-03-01&limit=2&offset=4", keys["admin"]).json()
    assert body["data"]["rows"] == [5] and body["meta"]["page"]["next_offset"] is None


def test_a_bad_date_is_a_400_naming_the_field(api):
    client, keys, _, _ = api
    resp = _get(client, "/numbers?start=2024-13-01", keys["analyst"])
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "bad_request"
    assert "start" in error["message"]
    assert [d["field"] for d in error["details"]] == ["start"]


def test_a_limit_out_of_range_is_a_400_naming_limit(api):
    client, keys, _, _ = api
    resp = _get(client, "/numbers?start=2024-03-01&limit=0", keys["analyst"])
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "limit"


@pytest.mark.parametrize("status,url,key_role,code", [
    (401, "/numbers?start=2024-03-01", None, "unauthorized"),
    (403, "/numbers?start=2024-03-01", "viewer", "forbidden"),
    (404, "/no-such-path", None, "not_found"),
    (500, "/boom", "viewer", "internal_error"),
])
def test_every_error_status_has_the_one_shape_and_the_request_id(api, status, url, key_role, code):
    client, keys, _, _ = api
    resp = _get(client, url, keys.get(key_role))
    assert resp.status_code == status
    body = resp.json()
    assert set(body) == {"error", "meta"}
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["code"] == code
    assert body["meta"]["request_id"] == resp.headers["x-request-id"]


def test_a_wrong_method_is_a_405_in_the_error_shape(api):
    client, keys, _, _ = api
    resp = client.post("/numbers", headers={"X-API-Key": keys["admin"]})
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"


def test_a_request_id_that_is_not_a_plain_token_is_replaced(api):
    client, _, _, _ = api
    resp = _get(client, "/health", **{"X-Request-ID": "two words"})
    assert resp.headers["x-request-id"] != "two words" and len(resp.headers["x-request-id"]) == 32


def test_health_needs_no_key(api):
    client, _, _, _ = api
    resp = _get(client, "/health")
    assert resp.status_code == 200 and resp.json()["data"]["status"] == "ok"


def test_a_bearer_key_works_like_x_api_key(api):
    client, keys, _, _ = api
    resp = client.get("/numbers?start=2024-03-01", headers={"Authorization": f"Bearer {keys['operator']}"})
    assert resp.status_code == 200


@pytest.mark.parametrize("role,status", [("viewer", 403), ("analyst", 200), ("operator", 200),
                                         ("admin", 200), ("auditor", 403)])
def test_an_analyst_endpoint_admits_the_ladder_from_analyst_up(api, role, status):
    client, keys, _, _ = api
    assert _get(client, "/numbers?start=2024-03-01", keys[role]).status_code == status


def test_a_revoked_key_is_refused_and_the_other_keys_still_work(api):
    client, keys, _, store = api
    other, _ = store.create("analyst", "other")
    revoked = store.revoke("other")
    assert revoked.revoked_at is not None
    resp = _get(client, "/numbers?start=2024-03-01", other)
    assert resp.status_code == 401 and "revoked" in resp.json()["error"]["message"]
    assert _get(client, "/numbers?start=2024-03-01", keys["analyst"]).status_code == 200


def test_denied_requests_are_audited_with_actor_role_and_resource(api):
    client, keys, sinks, _ = api
    _get(client, "/numbers?start=2024-03-01")  # no key
    _get(client, "/numbers?start=2024-03-01", "dp_unknown_key")
    _get(client, "/numbers?start=2024-03-01", keys["viewer"])
    assert [(a["actor"], a.get("actor_role"), a["result"]) for a in sinks.audits] == [
        ("anonymous", None, "denied"), ("anonymous", None, "denied"), ("viewer-" + _id(keys["viewer"]), "viewer", "denied")]
    assert {a["resource"] for a in sinks.audits} == {"web-user-analytics-api:/numbers"}
    assert {a["action"] for a in sinks.audits} == {"read"}


def _id(key: str) -> str:
    return key.split("_")[1]


def test_every_request_is_logged_with_its_route_template_status_and_latency(api):
    client, keys, sinks, _ = api
    _get(client, "/numbers?start=2024-03-01", keys["analyst"])
    _get(client, "/numbers?start=bad", keys["analyst"])
    _get(client, "/nowhere")
    logged = [(r["service"], r["endpoint"], r["method"], r["status_code"]) for r in sinks.requests]
    assert logged == [("web-user-analytics-api", "/numbers", "GET", 200),
                      ("web-user-analytics-api", "/numbers", "GET", 400),
                      ("web-user-analytics-api", "<unmatched>", "GET", 404)]
    assert all(r["latency_ms"] >= 0 and r["event_id"] and r["event_ts"].endswith("Z") for r in sinks.requests)


def test_the_openapi_documents_roles_and_400_instead_of_422(api):
    client, _, _, _ = api
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/numbers"]["get"]
    assert op["x-roles"] == ["analyst", "operator", "admin"]
    assert "400" in op["responses"] and "422" not in op["responses"]
    assert "401" not in schema["paths"]["/health"]["get"]["responses"]
