"""The gateway's endpoints against real upstreams (small apps under uvicorn on free ports): /health
with up, failing, slow, unreachable and disabled services; /services, /environment; the proxy:
what it forwards, what it returns, 404, 502 after counted retries, 504; its request logs."""
import asyncio
import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from runners.gateway import app as gateway_app
from runners.gateway import registry as reg
from runners.services import free_ports
from shared_lib.api.context import ApiContext
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks
from tests.local_server import serving, upstream_app

TIMEOUT_S = 1.0  # PLATFORM_GATEWAY_TIMEOUT_SECONDS of these tests: the slow upstream takes 3 s


@pytest.fixture(scope="module")
def upstreams():
    """Base URLs: ``up`` answers, ``failing`` answers /health with 503, ``slow`` answers /health
    after 3 s, ``closed`` is a port nobody listens on."""
    up_app = upstream_app()
    with serving(up_app) as up, serving(upstream_app(health_status=503)) as failing, \
            serving(upstream_app(health_delay_s=3.0)) as slow:
        yield {"up": up, "failing": failing, "slow": slow, "closed": f"http://127.0.0.1:{free_ports(1)[0]}",
               "up_app": up_app}


def environ(upstreams, retries=1, **extra) -> dict:
    services = [{"name": "web", "base_url": upstreams["up"]},
                {"name": "mobile", "base_url": upstreams["failing"]},
                {"name": "segments", "base_url": upstreams["slow"]},
                {"name": "search", "base_url": upstreams["slow"]},
                {"name": "ops", "base_url": upstreams["closed"]},
                {"name": "audit", "base_url": upstreams["up"], "enabled": False}]
    return {reg.GLOBAL_VAR: json.dumps(services), reg.TIMEOUT_VAR: str(TIMEOUT_S), reg.RETRIES_VAR: str(retries),
            **extra}


class CountingTransport(httpx.AsyncHTTPTransport):
    """The real network, counting the requests the gateway sends (each connection attempt)."""

    def __init__(self):
        super().__init__()
        self.sent = 0

    async def handle_async_request(self, request):
        self.sent += 1
        return await super().handle_async_request(request)


@pytest.fixture
def gateway(upstreams):
    transport = CountingTransport()
    with TestClient(gateway_app.create_app(reg.config(environ(upstreams)), transport=transport)) as client:
        client.transport_counter = transport
        yield client


def test_health_is_200_and_degraded_naming_what_is_down_and_what_is_disabled(gateway):
    started = time.perf_counter()
    answer = gateway.get("/health")
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200
    body = answer.json()
    assert (body["gateway"], body["environment"], body["status"]) == ("platform-api-gateway", "dev", "degraded")
    assert body["summary"] == {"services_total": 6, "services_enabled": 5, "services_healthy": 1}
    by_name = {s["service"]: s for s in body["services"]}
    assert by_name["web"] == {"service": "web", "status": "up", "healthy": True, "upstream_status": 200,
                              "upstream_response": {"status": "ok"}}
    assert by_name["mobile"] == {"service": "mobile", "status": "down", "healthy": False, "upstream_status": 503,
                                 "upstream_response": {"status": "failing"}}
    for slow in ("segments", "search"):
        assert by_name[slow]["status"] == "down" and "no answer within 1 s" in by_name[slow]["error"]
    assert by_name["ops"]["status"] == "down" and "ConnectError" in by_name["ops"]["error"]
    assert by_name["audit"] == {"service": "audit", "status": "disabled", "healthy": False, "upstream_status": None,
                                "error": "disabled in the registry"}
    # Probed concurrently: one timeout (1 s) bounds the whole answer, not the sum of the two (2 s).
    assert 1.0 <= elapsed < 1.9


def test_health_is_healthy_when_every_enabled_service_is_up(upstreams):
    services = [{"name": "web", "base_url": upstreams["up"]},
                {"name": "ops", "base_url": upstreams["closed"], "enabled": False}]
    with TestClient(gateway_app.create_app(reg.config({reg.GLOBAL_VAR: json.dumps(services)}))) as client:
        body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert body["summary"] == {"services_total": 2, "services_enabled": 1, "services_healthy": 1}


def test_health_of_an_empty_registry_is_healthy():
    with TestClient(gateway_app.create_app(reg.config({reg.GLOBAL_VAR: "[]"}))) as client:
        body = client.get("/health").json()
    assert (body["status"], body["summary"], body["services"]) == (
        "healthy", {"services_total": 0, "services_enabled": 0, "services_healthy": 0}, [])


def test_one_service_health_and_404_for_an_unknown_name(gateway):
    assert gateway.get("/services/web/health").json()["status"] == "up"
    assert gateway.get("/services/audit/health").json()["status"] == "disabled"
    unknown = gateway.get("/services/nope/health")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert unknown.json()["error"]["details"]["services"] == ["web", "mobile", "segments", "search", "ops", "audit"]


def test_services_lists_the_registry_disabled_ones_included(gateway, upstreams):
    body = gateway.get("/services").json()
    assert (body["environment"], body["count"]) == ("dev", 6)
    assert body["services"][5] == {"name": "audit", "base_url": upstreams["up"], "health_path": "/health",
                                   "enabled": False}


def test_environment_names_the_source_and_which_variables_are_set(upstreams):
    env = {"PLATFORM_ENV": "staging", reg.BY_ENV_VAR: json.dumps({"staging": []}),
           "PLATFORM_PRODUCT_SERVICES_STAGING_JSON": json.dumps([{"name": "web", "base_url": upstreams["up"]}])}
    with TestClient(gateway_app.create_app(reg.config(env))) as client:
        assert client.get("/environment").json() == {
            "environment": "staging", "supported": ["dev", "staging", "prod"], "source": "env_specific",
            "overrides": {"global": False, "env_map": True, "env_specific": True}}


def test_the_proxy_forwards_method_path_query_body_and_only_the_allowed_headers(gateway):
    answer = gateway.post("/api/web/echo/kpis/daily?start=2024-05-01&channel=a%20b", content=b'{"r": 1}',
                          headers={"content-type": "application/json", "accept": "application/json",
                                   "authorization": "Bearer k1", "x-api-key": "k2", "x-request-id": "req-1",
                                   "x-purpose": "analytics", "cookie": "session=secret",
                                   "x-forwarded-for": "10.0.0.1", "x-custom": "dropped"})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "req-1"
    seen = answer.json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == (
        "POST", "kpis/daily", "start=2024-05-01&channel=a%20b", '{"r": 1}')
    forwarded = {k: v for k, v in seen["headers"].items()
                 if k not in ("host", "content-length", "accept-encoding", "connection", "user-agent")}
    assert forwarded == {"content-type": "application/json", "accept": "application/json",
                         "authorization": "Bearer k1", "x-api-key": "k2", "x-request-id": "req-1",
                         "x-purpose": "analytics"}


def test_the_proxy_gives_a_request_id_to_a_request_without_one(gateway):
    answer = gateway.get("/api/web/echo/x")
    assert answer.json()["headers"]["x-request-id"] == answer.headers["x-request-id"]
    assert len(answer.headers["x-request-id"]) == 32


def test_the_proxy_returns_the_upstream_status_body_and_content_type(gateway):
    teapot = gateway.get("/api/web/text")
    assert (teapot.status_code, teapot.text, teapot.headers["content-type"]) == (
        418, "short and stout", "text/plain; charset=utf-8")
    missing = gateway.get("/api/web/echo/x?status=404")
    assert missing.status_code == 404 and missing.json()["path"] == "x"  # the upstream's 404, not the gateway's
    assert gateway.get("/api/web/empty").status_code == 204


def test_the_proxy_answers_404_for_an_unknown_or_disabled_service(gateway):
    for name, why in (("nope", "is not in the registry"), ("audit", "is disabled in the registry")):
        answer = gateway.get(f"/api/{name}/echo/x")
        assert answer.status_code == 404
        assert answer.json()["error"]["message"] == f"service {name!r} {why}"


def test_a_connection_failure_is_retried_then_answered_502(gateway):
    started = time.perf_counter()
    answer = gateway.get("/api/ops/echo/x")
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "bad_gateway"
    assert answer.json()["error"]["details"]["attempts"] == 2
    assert gateway.transport_counter.sent == 2  # the first attempt and one retry (MAX_RETRIES=1)
    assert time.perf_counter() - started >= 0.1  # the back-off before the retry


@pytest.mark.parametrize("retries, attempts, backoff_s", [(0, 1, 0.0), (3, 4, 0.1 + 0.2 + 0.3)])
def test_retries_follow_max_retries_with_a_growing_back_off(upstreams, retries, attempts, backoff_s):
    transport = CountingTransport()
    app = gateway_app.create_app(reg.config(environ(upstreams, retries=retries)), transport=transport)
    with TestClient(app) as client:
        started = time.perf_counter()
        answer = client.get("/api/ops/echo/x")
        elapsed = time.perf_counter() - started
    assert (answer.status_code, transport.sent) == (502, attempts)
    assert backoff_s <= elapsed < backoff_s + 1.0


def test_a_read_timeout_is_504_and_not_retried(gateway, upstreams):
    answer = gateway.get("/api/web/slow?seconds=3")
    assert answer.status_code == 504
    assert answer.json()["error"] == {"code": "gateway_timeout", "message": "web did not answer within 1 s",
                                      "details": {"timeout_s": 1.0}}
    assert gateway.transport_counter.sent == 1


def test_an_upstream_error_status_is_passed_through_not_retried(gateway, upstreams):
    before = upstreams["up_app"].state.calls
    answer = gateway.put("/api/web/echo/x?status=503")
    assert answer.status_code == 503
    assert upstreams["up_app"].state.calls == before + 1


def test_one_slow_upstream_does_not_stall_other_requests(upstreams):
    app = gateway_app.create_app(reg.config(environ(upstreams) | {reg.TIMEOUT_VAR: "5"}))

    async def both(base: str) -> tuple[float, float]:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            started = time.perf_counter()

            async def timed(path: str) -> float:
                assert (await client.get(path)).status_code == 200
                return time.perf_counter() - started
            return tuple(await asyncio.gather(timed("/api/web/slow?seconds=1.5"), timed("/api/web/echo/fast")))

    with serving(app) as base:
        slow_s, fast_s = asyncio.run(both(base))
    assert slow_s >= 1.5
    assert fast_s < 1.0  # not after the slow one


def test_every_gateway_request_is_logged_as_the_gateway_service(upstreams):
    sinks = Sinks.memory()
    context = ApiContext(service="platform-api-gateway", product="platform", params={}, keys=KeyStore(),
                         sinks=sinks)
    with TestClient(gateway_app.create_app(reg.config(environ(upstreams)), context=context)) as client:
        client.get("/api/web/echo/x?status=201")
        client.get("/api/nope/x")
    assert [(r["service"], r["endpoint"], r["method"], r["status_code"]) for r in sinks.requests] == [
        ("platform-api-gateway", "/api/{service}/{path:path}", "GET", 201),
        ("platform-api-gateway", "/api/{service}/{path:path}", "GET", 404)]
    assert all(r["latency_ms"] > 0 for r in sinks.requests)
