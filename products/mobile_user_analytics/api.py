"""The mobile-user-analytics API: active users (DAU/WAU/MAU), daily KPIs, retention cohorts,
crash-free rates by app version, and version adoption. Aggregates only: no personal data."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response

from shared_lib import products
from shared_lib.api import app as api_app
from shared_lib.api import auth, gold, query
from shared_lib.api.envelope import Envelope

PRODUCT = "mobile-user-analytics"
Platform = Literal["ios", "android"]
AppVersion = Annotated[str | None, Query(max_length=64, description="Only this app version, e.g. 3.2.0")]
ACTIVE_COLUMNS = ("date", "dau", "wau", "mau", "stickiness", "new_devices")
CRASH_COLUMNS = ("date", "platform", "app_version", "active_devices", "crashed_devices", "crash_free_users",
                 "sessions", "crashed_sessions", "crash_free_sessions")
ADOPTION_COLUMNS = ("date", "platform", "app_version", "adopted_devices", "version_adoption")


def _table(name: str) -> products.Table:
    return products.get(PRODUCT).table(name)


def _model(table: str, columns=None, name=None):
    return gold.row_model(_table(table), columns, name)


def router(cache: gold.TableCache) -> APIRouter:
    api = APIRouter(tags=["mobile"])

    def by_version(frame, start, end, platform, app_version, sort) -> Any:
        frame = query.date_range(frame, "date", start, end)
        if platform is not None:
            frame = frame[frame["platform"] == platform]
        if app_version is not None:
            frame = frame[frame["app_version"] == app_version]
        return frame.sort_values(sort[0], ascending=sort[1])

    @api.get("/active-users", summary="Daily, weekly and monthly active devices", **auth.secured("viewer"),
             response_model=Envelope[list[_model("daily_kpis", ACTIVE_COLUMNS, "ActiveUsers")]])  # type: ignore[misc]
    async def active_users(request: Request, start: query.Start = None, end: query.End = None) -> Response:
        def compute(frame) -> tuple[list[dict], None]:
            frame = query.date_range(frame, "date", start, end)
            return gold.records(frame.sort_values("date"), ACTIVE_COLUMNS), None

        return api_app.cached_frame(request, cache, _table("daily_kpis"), compute)

    @api.get("/kpis/daily", summary="Every daily mobile KPI", **auth.secured("viewer"),
             response_model=Envelope[list[_model("daily_kpis")]])  # type: ignore[misc]
    async def daily(request: Request, start: query.Start = None, end: query.End = None) -> Response:
        def compute(frame) -> tuple[list[dict], None]:
            frame = query.date_range(frame, "date", start, end)
            return gold.records(frame.sort_values("date")), None

        return api_app.cached_frame(request, cache, _table("daily_kpis"), compute)

    @api.get("/retention", summary="Retention of the cohorts that started in a date range", **auth.secured("viewer"),
             response_model=Envelope[list[_model("retention")]])  # type: ignore[misc]
    async def retention(request: Request, start: query.Start = None, end: query.End = None,
                        day_n: Annotated[int | None, Query(ge=0, le=3650, description="Only day N")] = None) -> Response:
        def compute(frame) -> tuple[list[dict], None]:
            frame = query.date_range(frame, "cohort_date", start, end)
            if day_n is not None:
                frame = frame[frame["day_n"] == day_n]
            return gold.records(frame.sort_values(["cohort_date", "day_n"])), None

        return api_app.cached_frame(request, cache, _table("retention"), compute)

    @api.get("/crash-free", summary="Crash-free users and sessions per date and app version",
             **auth.secured("viewer"), response_model=Envelope[list[_model("daily_by_version", CRASH_COLUMNS, "CrashFree")]])  # type: ignore[misc]
    async def crash_free(request: Request, start: query.Start = None, end: query.End = None,
                         platform: Platform | None = None, app_version: AppVersion = None) -> Response:
        def compute(frame) -> tuple[list[dict], None]:
            frame = by_version(frame, start, end, platform, app_version, (["date", "platform", "app_version"], True))
            return gold.records(frame, CRASH_COLUMNS), None

        return api_app.cached_frame(request, cache, _table("daily_by_version"), compute)

    @api.get("/versions/adoption", summary="Share of each day's active devices per app version",
             **auth.secured("viewer"), response_model=Envelope[list[_model("daily_by_version", ADOPTION_COLUMNS, "Adoption")]])  # type: ignore[misc]
    async def adoption(request: Request, start: query.Start = None, end: query.End = None,
                       platform: Platform | None = None) -> Response:
        def compute(frame) -> tuple[list[dict], None]:
            order = (["date", "version_adoption", "app_version"], [True, False, True])
            return gold.records(by_version(frame, start, end, platform, None, order), ADOPTION_COLUMNS), None

        return api_app.cached_frame(request, cache, _table("daily_by_version"), compute)

    return api


def create_app(params: dict | None = None, **options: Any) -> FastAPI:
    """The mobile-user-analytics API (``options``: ``shared_lib.api.app.create_app``'s)."""
    return api_app.create_product_app(PRODUCT, "mobile-user-analytics API",
                                      "Active devices, retention cohorts, crash-free rates and version adoption, read "
                                      "from the product's Delta tables. Every endpoint but /health needs an API key.",
                                      router, params=params, **options)
