"""The gateway's HTTP app: the registry's health (probed concurrently), the registry itself, the
active environment, and the proxy ``/api/{service}/{path}`` to the product APIs.

Upstreams are called with one shared async httpx client, so a slow upstream never stalls other
requests. Only connection failures (nothing was sent) are retried, ``max_retries`` times with a
back-off of 0.1 s x attempt, then answered 502; a response that does not come within the timeout
is answered 504 and not retried (the upstream may have acted on it).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import sys
from typing import Any, Literal

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from runners.gateway.registry import ENVIRONMENTS, GatewayConfig, Service
from shared_lib.api import app as api_app
from shared_lib.api import errors
from shared_lib.api.context import ApiContext
from shared_lib.api.envelope import ErrorBody
from shared_lib.api.keys import KeyStore
from shared_lib.api.middleware import RequestContext
from shared_lib.api.sinks import Sinks, request_event

GATEWAY_NAME = "platform-api-gateway"
# Request headers passed on to an upstream; every other header stays at the gateway.
FORWARDED_HEADERS = ("content-type", "accept", "authorization", "x-api-key", "x-request-id", "x-purpose")
PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
BACKOFF_S = 0.1
# Upstream calls go through POOL_SHARDS clients in turn, each with its own connection pool:
# httpcore scans its pool's connections several times per request (quadratic in their number),
# which at 50 connections in one pool cost the gateway more CPU than all else together. Enough
# connections in all for 50 concurrent clients to each upstream without reconnecting. An idle
# connection is dropped before uvicorn's 5 s keep-alive ends on the other side: reusing one the
# upstream is closing at that very moment fails the request.
POOL_SHARDS = 4
LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=25, keepalive_expiry=4.0)
# The gateway's own keep-alive: longer than its clients' pools keep idle connections (httpx: 5 s).
KEEP_ALIVE_S = 15
UPSTREAM_BODY_SHOWN = 2000  # characters of a non-JSON health answer kept in /health


class ServiceHealth(BaseModel):
    service: str
    status: Literal["up", "down", "disabled"]
    healthy: bool
    upstream_status: int | None = None
    upstream_response: Any = None
    error: str | None = None


class HealthSummary(BaseModel):
    services_total: int
    services_enabled: int
    services_healthy: int


class Health(BaseModel):
    gateway: str
    environment: str
    status: Literal["healthy", "degraded"]
    timestamp: str
    summary: HealthSummary
    services: list[ServiceHealth]


class ServiceEntry(BaseModel):
    name: str
    base_url: str
    health_path: str
    enabled: bool


class Services(BaseModel):
    environment: str
    count: int
    services: list[ServiceEntry]


class Overrides(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    global_: bool = Field(alias="global")
    env_map: bool
    env_specific: bool


class Environment(BaseModel):
    environment: str
    supported: list[str]
    source: Literal["global", "env_map", "env_specific", "defaults"]
    overrides: Overrides


def skip_sniffio_lookups() -> None:
    """httpcore runs ``import sniffio`` for every request and connection; without the package
    installed, each failing import searches sys.path again (measured: about a fifth of the
    gateway's CPU per proxied request). Marked absent once, the miss is immediate; httpcore then
    assumes asyncio, as it did. A no-op once sniffio is installed."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def probe(client: httpx.AsyncClient, service: Service) -> ServiceHealth:
    """One service's health: GET its health path once (no retry), within the client's timeout."""
    if not service.enabled:
        return ServiceHealth(service=service.name, status="disabled", healthy=False,
                             error="disabled in the registry")
    try:
        answer = await client.get(service.url(service.health_path))
    except httpx.TimeoutException:
        return ServiceHealth(service=service.name, status="down", healthy=False,
                             error=f"no answer within {client.timeout.read:g} s from {service.url(service.health_path)}")
    except httpx.HTTPError as exc:
        return ServiceHealth(service=service.name, status="down", healthy=False,
                             error=f"{type(exc).__name__}: {exc or 'cannot connect'} ({service.url(service.health_path)})")
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text[:UPSTREAM_BODY_SHOWN]
    up = answer.is_success
    return ServiceHealth(service=service.name, status="up" if up else "down", healthy=up,
                         upstream_status=answer.status_code, upstream_response=body)


def _shown(health: ServiceHealth) -> dict:
    """One service as /health lists it: ``upstream_response`` or ``error``, not both."""
    return health.model_dump(exclude={"error"} if health.error is None else {"upstream_response"})


async def send(client: httpx.AsyncClient, request: httpx.Request, max_retries: int) -> httpx.Response:
    """Send, retrying connection failures only (the request never left); raises the last one."""
    attempt = 0
    while True:
        try:
            return await client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            attempt += 1
            if attempt > max_retries:
                raise
            await asyncio.sleep(BACKOFF_S * attempt)


def client_of(request: Request) -> httpx.AsyncClient:
    """The next of the gateway's upstream clients (see ``POOL_SHARDS``)."""
    return next(request.app.state.clients)


def forwarded_headers(request: Request) -> dict[str, str]:
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    headers["x-request-id"] = errors.request_id(request)
    return headers


def gateway_router() -> APIRouter:
    router = APIRouter()

    @router.get("/health", response_model=Health, response_model_exclude_unset=True, tags=["gateway"],
                summary="Health of the gateway and of every registered service (always 200)")
    async def health(request: Request) -> dict:
        cfg: GatewayConfig = request.app.state.config
        checks = await asyncio.gather(*(probe(client_of(request), s) for s in cfg.registry.services))
        enabled = [c for c in checks if c.status != "disabled"]
        healthy = sum(c.healthy for c in enabled)
        return {"gateway": GATEWAY_NAME, "environment": cfg.registry.environment,
                "status": "healthy" if healthy == len(enabled) else "degraded", "timestamp": now_iso(),
                "summary": {"services_total": len(checks), "services_enabled": len(enabled),
                            "services_healthy": healthy},
                "services": [_shown(c) for c in checks]}

    @router.get("/services", response_model=Services, tags=["gateway"],
                summary="The registry of the active environment, disabled services included")
    async def services(request: Request) -> dict:
        registry = request.app.state.config.registry
        return {"environment": registry.environment, "count": len(registry.services),
                "services": [s.as_dict() for s in registry.services]}

    @router.get("/environment", response_model=Environment, tags=["gateway"],
                summary="The active environment and which registry source and variables are in use")
    async def environment(request: Request) -> dict:
        registry = request.app.state.config.registry
        return {"environment": registry.environment, "supported": list(ENVIRONMENTS), "source": registry.source,
                "overrides": {"global": registry.overrides["global"], "env_map": registry.overrides["env_map"],
                              "env_specific": registry.overrides["env_specific"]}}

    @router.get("/services/{name}/health", response_model=ServiceHealth, response_model_exclude_unset=True,
                tags=["gateway"], responses={404: {"model": ErrorBody}},
                summary="Health of one registered service")
    async def service_health(name: str, request: Request):
        service = request.app.state.config.registry.get(name)
        if service is None:
            return errors.response(request, 404, f"no service {name!r} in the registry",
                                   {"services": [s.name for s in request.app.state.config.registry.services]})
        return _shown(await probe(client_of(request), service))

    async def proxy(service: str, path: str, request: Request) -> Response:
        cfg: GatewayConfig = request.app.state.config
        target = cfg.registry.get(service)
        if target is None or not target.enabled:
            why = "is disabled in the registry" if target else "is not in the registry"
            return errors.response(request, 404, f"service {service!r} {why}",
                                   {"services": [s.name for s in cfg.registry.enabled]})
        client = client_of(request)
        query = request.url.query  # as sent: not decoded and encoded again
        upstream = client.build_request(request.method, target.url(path) + (f"?{query}" if query else ""),
                                        headers=forwarded_headers(request), content=await request.body())
        try:
            answer = await send(client, upstream, cfg.transport.max_retries)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return errors.response(request, 502, f"cannot connect to {service} at {target.base_url}",
                                   {"attempts": cfg.transport.max_retries + 1, "reason": str(exc) or type(exc).__name__})
        except httpx.TimeoutException:
            return errors.response(request, 504, f"{service} did not answer within {cfg.transport.timeout_s:g} s",
                                   {"timeout_s": cfg.transport.timeout_s})
        except httpx.HTTPError as exc:  # the upstream broke off: not retried, it may have acted
            return errors.response(request, 502, f"{service} broke off its answer",
                                   {"reason": f"{type(exc).__name__}: {exc}"})
        headers = {"content-type": answer.headers["content-type"]} if "content-type" in answer.headers else {}
        return Response(answer.content, status_code=answer.status_code, headers=headers)

    for method in PROXY_METHODS:  # one route per method: each its own OpenAPI operation id
        router.add_api_route("/api/{service}/{path:path}", proxy, methods=[method], tags=["proxy"],
                             operation_id=f"proxy_{method.lower()}",
                             responses={200: {"description": "The upstream's answer: its status, body and content type"},
                                        404: {"model": ErrorBody}, 502: {"model": ErrorBody},
                                        504: {"model": ErrorBody}},
                             summary=f"{method}: forward to a registered service's base_url/path")
    return router


def create_app(config: GatewayConfig, transport: httpx.AsyncBaseTransport | None = None,
               routers: tuple[APIRouter, ...] = (), context: ApiContext | None = None) -> FastAPI:
    """The gateway for ``config``. ``transport`` replaces the network (tests); ``routers`` are
    mounted beside the gateway's own (the platform API); ``context`` gives the parameters, keys
    and event sinks (default: none, the workspace's keys, events kept in memory)."""
    skip_sniffio_lookups()
    context = context or ApiContext(service=GATEWAY_NAME, product="platform", params={}, keys=KeyStore(),
                                    sinks=Sinks.memory())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(
                httpx.AsyncClient(timeout=config.transport.timeout_s, limits=LIMITS, transport=transport))
                for _ in range(POOL_SHARDS)]
            app.state.clients = itertools.cycle(clients)
            yield
        context.sinks.close()  # sends the request logs still queued

    app = FastAPI(title="Platform API gateway", version="1.0",
                  description="The product APIs' registry by environment, their health, and a proxy to them; "
                              "the platform API under /platform/.", lifespan=lifespan)
    app.state.config = config
    app.state.api = context
    errors.install(app)
    app.include_router(gateway_router())
    for router in routers:
        app.include_router(router)

    def log_request(endpoint: str, method: str, status: int, latency_ms: float) -> None:
        context.sinks.request(request_event(context.service, endpoint, method, status, latency_ms))

    app.add_middleware(RequestContext, on_request=log_request)
    # The platform's OpenAPI conventions: validation errors are the 400 they are, keys documented.
    app.openapi = lambda: api_app._openapi(app)  # type: ignore[method-assign]
    return app
