"""The web-user-analytics API: daily KPIs (overall and by channel, device, country), page
metrics, the funnel, and one visitor's journey (personal data). Read from Delta with delta-rs
through ``shared_lib.api``; ``create_app`` builds it, ``dp serve`` serves it."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, create_model

from shared_lib import products
from shared_lib.api import app as api_app
from shared_lib.api import auth, gold, privacy, query
from shared_lib.api.envelope import Envelope
from shared_lib.api.pagination import PageParam

PRODUCT = "web-user-analytics"
CHANNELS = Literal["paid", "email", "social", "organic", "direct", "referral"]
DEVICES = Literal["desktop", "mobile", "tablet", "unknown"]
Country = Annotated[str | None, Query(pattern="^[A-Z]{2}$", description="ISO-3166 alpha-2 code, e.g. DE")]

# The journey: which columns of the visitor's sessions and events are answered.
SESSION_COLUMNS = ("session_id", "anonymous_id", "user_id", "session_start", "session_end", "duration_s",
                   "events", "page_views", "engaged", "channel", "landing_page", "exit_page", "device_type",
                   "country", "purchases", "revenue")
EVENT_COLUMNS = ("event_id", "event_type", "event_ts", "anonymous_id", "user_id", "page_path", "page_url",
                 "referrer", "channel", "device_type", "country", "ip_network", "user_agent", "order_id", "revenue",
                 "currency", "is_bot")


def _table(name: str) -> products.Table:
    return products.get(PRODUCT).table(name)


def _model(name: str) -> type[BaseModel]:
    return gold.row_model(_table(name))


class FunnelStep(BaseModel):
    step: int
    step_name: str
    sessions_reached: int
    conversion_from_start: float | None
    step_conversion: float | None


JourneyModel = create_model(
    "Journey", subject_id=(str, ...), id_type=(str, ...),
    sessions=(list[gold.row_model(_table("sessions"), SESSION_COLUMNS, "JourneySession")], ...),  # type: ignore[valid-type]
    events=(list[gold.row_model(_table("events"), EVENT_COLUMNS, "JourneyEvent")], ...))  # type: ignore[valid-type]


def router(cache: gold.TableCache) -> APIRouter:
    api = APIRouter(tags=["web"])

    def funnel_totals(frame, start, end) -> list[dict]:
        frame = query.date_range(frame, "date", start, end)
        # A session counts on its start date only, so the range's totals are the daily sums.
        totals = (frame.groupby(["step", "step_name"], as_index=False)["sessions_reached"].sum()
                  .sort_values("step"))
        steps, first, previous = [], None, None
        for row in totals.itertuples():
            reached = int(row.sessions_reached)
            first = reached if first is None else first
            steps.append({"step": int(row.step), "step_name": row.step_name, "sessions_reached": reached,
                          "conversion_from_start": reached / first if first else None,
                          "step_conversion": reached / previous if previous else None})
            previous = reached
        return steps

    def kpis(request: Request, name: str, start, end, column: str | None = None, value: Any = None) -> Response:
        """The KPIs of table ``name`` in the date range (of one ``column`` ``value``, when given)."""
        def compute(frame) -> tuple[list[dict], None]:
            frame = query.date_range(frame, "date", start, end)
            if column and value is not None:
                frame = frame[frame[column] == value]
            sort = ["date"] + ([column] if column else [])
            return gold.records(frame.sort_values(sort, na_position="last")), None

        return api_app.cached_frame(request, cache, _table(name), compute)

    @api.get("/kpis/daily", summary="Daily KPIs for a date range", **auth.secured("viewer"),
             response_model=Envelope[list[_model("daily_kpis")]])  # type: ignore[misc]
    async def daily(request: Request, start: query.Start = None, end: query.End = None) -> Response:
        return kpis(request, "daily_kpis", start, end)

    @api.get("/kpis/daily/by-channel", summary="Daily KPIs by channel", **auth.secured("viewer"),
             response_model=Envelope[list[_model("daily_kpis_by_channel")]])  # type: ignore[misc]
    async def by_channel(request: Request, start: query.Start = None, end: query.End = None,
                         channel: CHANNELS | None = None) -> Response:
        return kpis(request, "daily_kpis_by_channel", start, end, "channel", channel)

    @api.get("/kpis/daily/by-device", summary="Daily KPIs by device type", **auth.secured("viewer"),
             response_model=Envelope[list[_model("daily_kpis_by_device")]])  # type: ignore[misc]
    async def by_device(request: Request, start: query.Start = None, end: query.End = None,
                        device_type: DEVICES | None = None) -> Response:
        return kpis(request, "daily_kpis_by_device", start, end, "device_type", device_type)

    @api.get("/kpis/daily/by-country", summary="Daily KPIs by country", **auth.secured("viewer"),
             response_model=Envelope[list[_model("daily_kpis_by_country")]])  # type: ignore[misc]
    async def by_country(request: Request, start: query.Start = None, end: query.End = None,
                         country: Country = None) -> Response:
        return kpis(request, "daily_kpis_by_country", start, end, "country", country)

    @api.get("/pages", summary="Page metrics per date and page, most viewed first", **auth.secured("viewer"),
             response_model=Envelope[list[_model("page_metrics")]])  # type: ignore[misc]
    async def pages(request: Request, page: PageParam, start: query.Start = None, end: query.End = None,
                    page_path: Annotated[str | None, Query(max_length=2048, description="Only this path")] = None) -> Response:
        def compute(frame) -> tuple[list[dict], dict]:
            frame = query.date_range(frame, "date", start, end)
            if page_path is not None:
                frame = frame[frame["page_path"] == page_path]
            frame = frame.sort_values(["date", "page_views", "page_path"], ascending=[False, False, True])
            return page.slice(gold.records(frame))

        return api_app.cached_frame(request, cache, _table("page_metrics"), compute)

    @api.get("/funnel", summary="The funnel over a date range: sessions reaching each step",
             **auth.secured("viewer"), response_model=Envelope[list[FunnelStep]])
    async def funnel(request: Request, start: query.Start = None, end: query.End = None) -> Response:
        return api_app.cached_frame(request, cache, _table("funnel"), lambda frame: (funnel_totals(frame, start, end), None))

    @api.get("/funnel/daily", summary="The funnel per date and step", **auth.secured("viewer"),
             response_model=Envelope[list[_model("funnel")]])  # type: ignore[misc]
    async def funnel_daily(request: Request, start: query.Start = None, end: query.End = None) -> Response:
        def compute(frame) -> tuple[list[dict], None]:
            frame = query.date_range(frame, "date", start, end)
            return gold.records(frame.sort_values(["date", "step"])), None

        return api_app.cached_frame(request, cache, _table("funnel"), compute)

    @api.get("/visitors/{subject_id}/journey", summary="One visitor's sessions and events (personal data)",
             **auth.secured("analyst", auditor=True), response_model=Envelope[JourneyModel])  # type: ignore[valid-type]
    async def journey(request: Request, page: PageParam,
                      subject_id: Annotated[str, Path(min_length=1, max_length=256, description="The visitor")],
                      id_type: Annotated[Literal["anonymous_id", "user_id"], Query(
                          description="What subject_id is: the cookie id or the logged-in user")] = "anonymous_id",
                      start: query.Start = None, end: query.End = None,
                      x_purpose: privacy.PurposeHeader = None) -> dict:
        query.check_order(start, end)
        sessions = _subject_rows(cache, "sessions", id_type, subject_id, "session_date", start, end)
        events = _subject_rows(cache, "events", id_type, subject_id, "event_date", start, end)
        session_rows = gold.records(sessions.sort_values("session_start"), SESSION_COLUMNS)
        event_rows, info = page.slice(gold.records(events.sort_values(["event_ts", "event_id"]), EVENT_COLUMNS))
        session_rows, event_rows = privacy.disclose(
            request, [(_table("sessions"), SESSION_COLUMNS, session_rows), (_table("events"), EVENT_COLUMNS, event_rows)],
            subject_id=subject_id)
        return api_app.ok(request, {"subject_id": subject_id, "id_type": id_type, "sessions": session_rows,
                                    "events": event_rows}, info)

    return api


def _subject_rows(cache: gold.TableCache, table: str, id_type: str, subject_id: str, date_column: str, start, end):
    filters: list[tuple] = [(id_type, "=", subject_id)]
    if start is not None:
        filters.append((date_column, ">=", start))
    if end is not None:
        filters.append((date_column, "<=", end))
    return cache.filtered(_table(table), filters)


def create_app(params: dict | None = None, **options: Any) -> FastAPI:
    """The web-user-analytics API (``options``: ``shared_lib.api.app.create_app``'s)."""
    return api_app.create_product_app(PRODUCT, "web-user-analytics API",
                                      "Daily web KPIs, page metrics, the funnel and visitor journeys, read from the "
                                      "product's Delta tables. Every endpoint but /health needs an API key.",
                                      router, params=params, **options)
