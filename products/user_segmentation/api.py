"""The user-segmentation API: segment profiles and movement, cluster profiles, the customers of a
segment, one customer's history and the at-risk list (personal data), and ``POST /classify``, which scores R, F and
M values against the latest snapshot's quintile boundaries."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, Field

from products.user_segmentation.segment_grid import SEGMENT_NAMES, segment_of
from shared_lib import products
from shared_lib.api import app as api_app
from shared_lib.api import auth, gold, privacy
from shared_lib.api.envelope import Envelope
from shared_lib.api.errors import not_found
from shared_lib.api.pagination import PageParam

PRODUCT = "user-segmentation"
Snapshot = Annotated[dt.date | None, Query(description="Snapshot date (YYYY-MM-DD); default: the latest")]
CUSTOMER_COLUMNS = ("snapshot_date", "user_id", "recency_days", "frequency", "monetary", "r", "f", "m", "rfm", "segment")
AT_RISK_COLUMNS = ("snapshot_date", "user_id", "segment", "churn_risk", "churn_risk_level", "lifecycle_stage",
                   "value_tier", "recency_days", "frequency", "monetary")


def _table(name: str) -> products.Table:
    return products.get(PRODUCT).table(name)


class RfmValues(BaseModel):
    recency_days: int = Field(ge=0, le=100_000, description="Days since the last order")
    frequency: int = Field(ge=0, le=10_000_000, description="Orders")
    monetary: float = Field(ge=0, le=1e12, description="Revenue of those orders")


class Boundaries(BaseModel):
    recency_days: list[float] = Field(description="Largest recency_days of quintiles 1-5 (ascending)")
    frequency: list[float] = Field(description="Largest frequency of quintiles 1-5")
    monetary: list[float] = Field(description="Largest monetary of quintiles 1-5")


class Classification(BaseModel):
    snapshot_date: dt.date = Field(description="The snapshot whose boundaries scored the values")
    r: int
    f: int
    m: int
    rfm: str
    segment: str
    boundaries: Boundaries


def quintile(value: float, upper_bounds: list[float]) -> int:
    """The first quintile (1-5) whose largest value is at least ``value``; 5 above them all. A
    value on a boundary shared by two quintiles (ties) takes the lower one."""
    for q, bound in enumerate(upper_bounds, 1):
        if value <= bound:
            return q
    return len(upper_bounds)


def boundaries(segments) -> dict[str, list[float]]:
    """Per metric, the largest value of each quintile in a snapshot's ``customer_segments``:
    R is 6 - the recency quintile, F and M the quintiles themselves (rfm.py)."""
    recency = segments.assign(q=6 - segments["r"]).groupby("q")["recency_days"].max()
    return {"recency_days": [float(v) for v in recency.sort_index()],
            "frequency": [float(v) for v in segments.groupby("f")["frequency"].max().sort_index()],
            "monetary": [float(v) for v in segments.groupby("m")["monetary"].max().sort_index()]}


def classify(values: RfmValues, bounds: dict[str, list[float]]) -> dict:
    r = 6 - quintile(values.recency_days, bounds["recency_days"])
    f = quintile(values.frequency, bounds["frequency"])
    m = quintile(values.monetary, bounds["monetary"])
    return {"r": r, "f": f, "m": m, "rfm": f"{r}{f}{m}", "segment": segment_of(r, f)}


def router(cache: gold.TableCache) -> APIRouter:
    api = APIRouter(tags=["segmentation"])

    def snapshot(table: str, requested: dt.date | None, column: str = "snapshot_date") -> dt.date:
        dates = cache.dates(_table(table), column)
        if not dates:
            raise not_found(f"{table} has no snapshot yet: run user-segmentation (`dp run --product {PRODUCT}`)")
        if requested is None:
            return dates[-1]
        if requested not in dates:
            raise not_found(f"{table} has no snapshot {requested}; the latest is {dates[-1]}")
        return requested

    def of_snapshot(request: Request, table: str, requested: dt.date | None, sort: list[str]) -> Response:
        def compute() -> tuple[list[dict], None]:
            day = snapshot(table, requested)
            frame = cache.frame(_table(table))
            return gold.records(frame[frame["snapshot_date"] == day].sort_values(sort)), None

        return api_app.cached(request, cache, [_table(table)], compute)

    @api.get("/segments", summary="Segment profiles of a snapshot", **auth.secured("viewer"),
             response_model=Envelope[list[gold.row_model(_table("segment_profiles"))]])  # type: ignore[misc]
    async def segments(request: Request, snapshot_date: Snapshot = None) -> Response:
        return of_snapshot(request, "segment_profiles", snapshot_date, ["segment_order"])

    @api.get("/segments/movement", summary="Customers moving between segments into a snapshot",
             **auth.secured("viewer"),
             response_model=Envelope[list[gold.row_model(_table("segment_movement"))]])  # type: ignore[misc]
    async def movement(request: Request, to_snapshot: Snapshot = None) -> Response:
        def compute() -> tuple[list[dict], None]:
            day = snapshot("segment_movement", to_snapshot, "to_snapshot")
            frame = cache.frame(_table("segment_movement"))
            rows = frame[frame["to_snapshot"] == day].sort_values(["from_segment", "to_segment"], na_position="first")
            return gold.records(rows), None

        return api_app.cached(request, cache, [_table("segment_movement")], compute)

    @api.get("/clusters", summary="Cluster profiles of a snapshot", **auth.secured("viewer"),
             response_model=Envelope[list[gold.row_model(_table("cluster_profiles"))]])  # type: ignore[misc]
    async def clusters(request: Request, snapshot_date: Snapshot = None) -> Response:
        return of_snapshot(request, "cluster_profiles", snapshot_date, ["cluster"])

    @api.get("/segments/{segment}/customers", summary="The customers of a segment (personal data)",
             **auth.secured("viewer"),
             response_model=Envelope[list[gold.row_model(_table("customer_segments"), CUSTOMER_COLUMNS, "Customer")]])  # type: ignore[misc]
    async def customers(request: Request, page: PageParam,
                        segment: Annotated[str, Path(description=f"One of: {', '.join(SEGMENT_NAMES)}")],
                        snapshot_date: Snapshot = None, x_purpose: privacy.PurposeHeader = None) -> dict:
        if segment not in SEGMENT_NAMES:
            raise not_found(f"no segment {segment!r}: expected one of {', '.join(SEGMENT_NAMES)}")
        day = snapshot("customer_segments", snapshot_date)
        frame = cache.filtered(_table("customer_segments"), [("snapshot_date", "=", day), ("segment", "=", segment)])
        frame = frame.sort_values(["monetary", "user_id"], ascending=[False, True])
        rows, info = page.slice(gold.records(frame, CUSTOMER_COLUMNS))
        [rows] = privacy.disclose(request, [(_table("customer_segments"), CUSTOMER_COLUMNS, rows)])
        return api_app.ok(request, rows, info)

    @api.get("/customers/{user_id}", summary="One customer's scores and segment per snapshot, newest first "
                                             "(personal data)", **auth.secured("analyst", auditor=True),
             response_model=Envelope[list[gold.row_model(_table("customer_segments"), CUSTOMER_COLUMNS, "Customer")]])  # type: ignore[misc]
    async def customer(request: Request, user_id: Annotated[str, Path(min_length=1, max_length=256)],
                       x_purpose: privacy.PurposeHeader = None) -> dict:
        frame = cache.filtered(_table("customer_segments"), [("user_id", "=", user_id)])
        rows = gold.records(frame.sort_values("snapshot_date", ascending=False), CUSTOMER_COLUMNS)
        [rows] = privacy.disclose(request, [(_table("customer_segments"), CUSTOMER_COLUMNS, rows)], subject_id=user_id)
        if not rows:
            raise not_found(f"no customer {user_id!r} in any snapshot")
        return api_app.ok(request, rows)

    @api.get("/at-risk", summary="Customers by churn risk, riskiest first: the at-risk list (personal data)",
             **auth.secured("analyst", auditor=True),
             response_model=Envelope[list[gold.row_model(_table("customer_behaviour"), AT_RISK_COLUMNS, "AtRisk")]])  # type: ignore[misc]
    async def at_risk(request: Request, page: PageParam, snapshot_date: Snapshot = None,
                      level: Annotated[Literal["High", "Medium", "Low"], Query(
                          description="Churn-risk level (High: the at-risk list)")] = "High",
                      x_purpose: privacy.PurposeHeader = None) -> dict:
        day = snapshot("customer_behaviour", snapshot_date)
        frame = cache.filtered(_table("customer_behaviour"), [("snapshot_date", "=", day), ("churn_risk_level", "=", level)])
        frame = frame.sort_values(["churn_risk", "user_id"], ascending=[False, True])
        rows, info = page.slice(gold.records(frame, AT_RISK_COLUMNS))
        [rows] = privacy.disclose(request, [(_table("customer_behaviour"), AT_RISK_COLUMNS, rows)])
        return api_app.ok(request, rows, info)

    @api.post("/classify", summary="Score R, F, M values against the latest snapshot's quintiles",
              **auth.secured("viewer"), response_model=Envelope[Classification])
    async def classify_values(request: Request, values: RfmValues) -> dict:
        day = snapshot("customer_segments", None)
        scored = cache.filtered(_table("customer_segments"), [("snapshot_date", "=", day)])
        bounds = boundaries(scored)
        if any(len(b) != 5 for b in bounds.values()):
            raise not_found(f"snapshot {day} has fewer than five customers: no quintiles to score against")
        return api_app.ok(request, {"snapshot_date": day, **classify(values, bounds), "boundaries": bounds})

    return api


def create_app(params: dict | None = None, **options: Any) -> FastAPI:
    """The user-segmentation API (``options``: ``shared_lib.api.app.create_app``'s)."""
    return api_app.create_product_app(PRODUCT, "user-segmentation API",
                                      "RFM segments and profiles, clusters, customers and classification, read from "
                                      "the product's Delta tables. Every endpoint but /health needs an API key.",
                                      router, params=params, **options)
