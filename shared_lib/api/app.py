"""The app factory every API is built with: envelope, error shape, request id, request logs,
keys, ``/health``, ``/openapi.json`` and ``/docs``."""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterable, Sequence

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

from shared_lib import params as params_lib
from shared_lib import storage
from shared_lib.api import context, envelope, errors, gold, repeats
from shared_lib.api.context import ApiContext
from shared_lib.api.gold import TableCache
from shared_lib.api.keys import KeyStore
from shared_lib.api.middleware import RequestContext
from shared_lib.api.sinks import Sinks, request_event
from shared_lib.products import Table

if TYPE_CHECKING:
    import pandas as pd


def ok(request: Request, data: Any, page: dict | None = None) -> dict:
    """The success envelope of ``data`` for this request."""
    return {"data": data, "meta": envelope.meta(errors.request_id(request), page)}


def cached(request: Request, cache: TableCache, tables: Sequence[Table],
           compute: Callable[[], tuple[Any, dict | None]]) -> Response:
    """The answer of ``compute`` (data, page) from ``cache`` while ``tables`` keep their versions:
    a repeated query costs a dictionary lookup instead of a pandas filter and serialisation.
    For answers without personal data only (nothing is masked or audited here). The answer is
    also recorded for ``repeats.RepeatAnswers``, which serves the same request again before FastAPI."""
    route = request.scope.get("route")
    key = (getattr(route, "path", request.url.path), tuple(sorted(request.query_params.multi_items())))
    versions = tuple(gold.version(t) for t in tables)
    data, page = cache.answer(key, tables, compute)
    admitted = getattr(request.state, "admitted", None)
    if admitted is not None and request.method == "GET":
        context.of(request).answers.record(
            request.scope["path"], request.scope.get("query_string", b""),
            repeats.Answer(route, frozenset(admitted), tuple(gold.log_folder(t) for t in tables), versions, data, page))
    answer = repeats.Answer(route, frozenset(), (), versions, data, page)
    return Response(repeats.body(answer, errors.request_id(request)), media_type="application/json")


def cached_frame(request: Request, cache: TableCache, table: Table,
                 compute: Callable[[pd.DataFrame], tuple[Any, dict | None]]) -> Response:
    """``cached`` for an answer computed from one table's whole frame (``compute(frame)``): the
    table is named once, so the answer is kept by the version of the table it was read from."""
    return cached(request, cache, [table], lambda: compute(cache.frame(table)))


def create_app(product: str, title: str, description: str, routers: Iterable[APIRouter],
               params: dict | None = None, sinks: Sinks | None = None, keys: KeyStore | None = None,
               service: str | None = None, version: str = "1") -> FastAPI:
    """One API: ``routers`` mounted at the root beside ``/health``. ``params`` default to the
    environment's (``DP_ENV``); ``sinks`` to Kafka (request logs and audit events); ``keys`` to
    the workspace's key store."""
    params = params if params is not None else params_lib.load()
    storage.configure(params)  # the API reads its tables at the lake of its parameters
    sinks = sinks if sinks is not None else Sinks.kafka(params)
    service = service or f"{product}-api"

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        sinks.close()  # sends the events still queued

    app = FastAPI(title=title, description=description, version=version,
                  responses=envelope.ERROR_RESPONSES, lifespan=lifespan)
    app.state.api = ApiContext(service=service, product=product, params=params,
                               keys=keys or KeyStore(), sinks=sinks)
    errors.install(app)

    @app.get("/health", tags=["health"], summary="Is the API up (no key needed)",
             response_model=envelope.Envelope[dict[str, str]])
    async def health(request: Request) -> dict:
        return ok(request, {"status": "ok", "service": service, "product": product})

    for router in routers:
        app.include_router(router)

    def log_request(endpoint: str, method: str, status: int, latency_ms: float) -> None:
        sinks.request(request_event(service, endpoint, method, status, latency_ms))

    # Added first, so it runs inside RequestContext (request id and request log as for any request).
    app.add_middleware(repeats.RepeatAnswers, answers=app.state.api.answers, keys=lambda: app.state.api.keys)
    app.add_middleware(RequestContext, on_request=log_request)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def create_product_app(product: str, title: str, description: str, router: Callable[[TableCache], APIRouter],
                       params: dict | None = None, **options: Any) -> FastAPI:
    """A product's API over its gold tables: ``router(cache)`` reads through one ``TableCache``
    (kept as ``app.state.cache``); ``options`` are ``create_app``'s."""
    cache = TableCache()
    app = create_app(product, title, description, [router(cache)], params=params, **options)
    app.state.cache = cache
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's schema, with validation errors documented as the 400 they are (not 422) and
    the two ways of sending a key."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
            if operation.get("tags") == ["health"]:
                for status in ("401", "403"):
                    operation["responses"].pop(status, None)
    components = schema.setdefault("components", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(unused, None)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "`dp keys create --role ROLE`"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
    app.openapi_schema = schema
    return schema
