"""The operational-metrics API: SLA states now and over time, pipeline runs, table freshness,
consumer lag, alerts, and the hourly request metrics of the services (the APIs' own included)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response

from shared_lib import paths, products
from shared_lib.api import app as api_app
from shared_lib.api import auth, gold, query
from shared_lib.api.envelope import Envelope
from shared_lib.api.pagination import PageParam

PRODUCT = "operational-metrics"
ProductName = Annotated[str | None, Query(max_length=64, description="Only this product, e.g. web-user-analytics")]
State = Literal["HEALTHY", "WARNING", "DEGRADED", "CRITICAL"]
RUN_COLUMNS = ("run_id", "env", "product", "notebook", "layer", "status", "attempts", "started_at", "ended_at",
               "duration_s", "failing_cell", "error", "rows_written", "output_notebook")


def _table(name: str) -> products.Table:
    if name == "pipeline_runs":
        return products.get(paths.PLATFORM).table(name)
    return products.get(PRODUCT).table(name)


def _model(table: str, columns=None, name=None):
    return gold.row_model(_table(table), columns, name)


def _where(frame, **equal: Any):
    for column, value in equal.items():
        if value is not None:
            frame = frame[frame[column] == value]
    return frame


def latest(frame, time_column: str, per: str | None = None):
    """The rows of the latest ``time_column`` (per value of ``per``, when given)."""
    if frame.empty:
        return frame
    if per is None:
        return frame[frame[time_column] == frame[time_column].max()]
    newest = frame.groupby(per)[time_column].transform("max")
    return frame[frame[time_column] == newest]


def router(cache: gold.TableCache) -> APIRouter:
    api = APIRouter(tags=["operations"])

    def newest_first(request: Request, table: str, time_column: str, date_column: str, start, end, page,
                     **equal) -> Response:
        def compute(frame) -> tuple[list[dict], dict]:
            frame = query.date_range(frame, date_column, start, end)
            frame = _where(frame, **equal).sort_values(time_column, ascending=False)
            return page.slice(gold.records(frame))

        return api_app.cached_frame(request, cache, _table(table), compute)

    def answer(request: Request, table: str, compute) -> Response:
        return api_app.cached_frame(request, cache, _table(table), lambda frame: (compute(frame), None))

    @api.get("/sla", summary="Each product's SLA state at its latest evaluation", **auth.secured("viewer"),
             response_model=Envelope[list[_model("sla_status")]])  # type: ignore[misc]
    async def sla(request: Request, product: ProductName = None) -> Response:
        return answer(request, "sla_status", lambda frame: gold.records(
            latest(_where(frame, product=product), "evaluated_at", "product").sort_values("product")))

    @api.get("/sla/history", summary="SLA states over time, newest first", **auth.secured("viewer"),
             response_model=Envelope[list[_model("sla_status")]])  # type: ignore[misc]
    async def sla_history(request: Request, page: PageParam, start: query.Start = None, end: query.End = None,
                          product: ProductName = None, state: State | None = None) -> Response:
        return newest_first(request, "sla_status", "evaluated_at", "date", start, end, page, product=product,
                            state=state)

    @api.get("/sla/evaluations", summary="Every SLA metric's value and state, newest first", **auth.secured("viewer"),
             response_model=Envelope[list[_model("sla_evaluations")]])  # type: ignore[misc]
    async def evaluations(request: Request, page: PageParam, start: query.Start = None, end: query.End = None,
                          product: ProductName = None,
                          metric: Annotated[str | None, Query(max_length=64, description="e.g. api_p99_latency_ms")] = None
                          ) -> Response:
        return newest_first(request, "sla_evaluations", "evaluated_at", "date", start, end, page, product=product,
                            metric=metric)

    @api.get("/runs", summary="Pipeline runs (one row per notebook run), newest first", **auth.secured("operator"),
             response_model=Envelope[list[_model("pipeline_runs", RUN_COLUMNS, "Run")]])  # type: ignore[misc]
    async def runs(request: Request, page: PageParam, product: ProductName = None,
                   status: Literal["succeeded", "failed", "skipped"] | None = None,
                   run_id: Annotated[str | None, Query(max_length=128)] = None) -> Response:
        def compute(frame) -> tuple[list[dict], dict]:
            frame = _where(frame, product=product, status=status, run_id=run_id)
            frame = frame.sort_values(["started_at", "product", "notebook"], ascending=[False, True, True],
                                      na_position="last")
            return page.slice(gold.records(frame, RUN_COLUMNS))

        return api_app.cached_frame(request, cache, _table("pipeline_runs"), compute)

    @api.get("/freshness", summary="Each table's freshness at the latest health check", **auth.secured("viewer"),
             response_model=Envelope[list[_model("table_freshness")]])  # type: ignore[misc]
    async def freshness(request: Request, product: ProductName = None) -> Response:
        return answer(request, "table_freshness", lambda frame: gold.records(
            _where(latest(frame, "evaluated_at"), product=product).sort_values("table_name")))

    @api.get("/consumer-lag", summary="Each topic's consumer lag at the latest health check", **auth.secured("viewer"),
             response_model=Envelope[list[_model("consumer_lag")]])  # type: ignore[misc]
    async def consumer_lag(request: Request, product: ProductName = None) -> Response:
        return answer(request, "consumer_lag", lambda frame: gold.records(
            _where(latest(frame, "evaluated_at"), product=product).sort_values("topic")))

    @api.get("/alerts", summary="Alerts fired and resolved, newest first", **auth.secured("operator"),
             response_model=Envelope[list[_model("alerts")]])  # type: ignore[misc]
    async def alerts(request: Request, page: PageParam, start: query.Start = None, end: query.End = None,
                     product: ProductName = None, event: Literal["fired", "resolved"] | None = None,
                     severity: Annotated[str | None, Query(max_length=32)] = None) -> Response:
        return newest_first(request, "alerts", "at", "date", start, end, page, product=product, event=event,
                            severity=severity)

    @api.get("/requests/hourly", summary="Requests, error rate and latency percentiles per service and hour",
             **auth.secured("viewer"), response_model=Envelope[list[_model("service_hourly")]])  # type: ignore[misc]
    async def requests_hourly(request: Request, start: query.Start = None, end: query.End = None,
                              service: Annotated[str | None, Query(max_length=128)] = None) -> Response:
        return answer(request, "service_hourly", lambda frame: gold.records(
            _where(query.date_range(frame, "date", start, end), service=service).sort_values(["hour", "service"])))

    return api


def create_app(params: dict | None = None, **options: Any) -> FastAPI:
    """The operational-metrics API (``options``: ``shared_lib.api.app.create_app``'s)."""
    return api_app.create_product_app(PRODUCT, "operational-metrics API",
                                      "SLA states, pipeline runs, freshness, consumer lag, alerts and request metrics, "
                                      "read from Delta. Every endpoint but /health needs an API key.",
                                      router, params=params, **options)
