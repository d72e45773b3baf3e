"""The one response envelope and the one error shape of every API (gateway.md).

Success: ``{data, meta: {request_id, timestamp, page?}}``. Error, for every status:
``{error: {code, message, details}, meta}``. The request id is also the ``X-Request-ID`` header
(``shared_lib.api.middleware`` sets both).
"""
from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

# Error codes by status: stable strings a client can branch on.
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 422: "unprocessable", 429: "too_many_requests",
         500: "internal_error", 502: "bad_gateway", 503: "unavailable", 504: "gateway_timeout"}


class PageInfo(BaseModel):
    limit: int = Field(description="Rows asked for")
    offset: int = Field(description="Rows skipped")
    total: int = Field(description="Rows matching the query")
    next_offset: int | None = Field(description="Offset of the next page; null on the last one")


class Meta(BaseModel):
    request_id: str
    timestamp: str = Field(description="When the answer was made (UTC, ISO-8601)")
    page: PageInfo | None = None


class Envelope(BaseModel, Generic[T]):
    data: T
    meta: Meta


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code, e.g. bad_request, unauthorized, forbidden")
    message: str
    details: Any = Field(default=None, description="What exactly was wrong, e.g. [{field, message}]")


class ErrorBody(BaseModel):
    error: ErrorDetail
    meta: Meta


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def meta(request_id: str, page: dict | None = None) -> dict:
    out: dict[str, Any] = {"request_id": request_id, "timestamp": now()}
    if page is not None:
        out["page"] = page
    return out


def error_body(status: int, request_id: str, message: str | None = None, details: Any = None,
               code: str | None = None) -> dict:
    text = message or HTTPStatus(status).phrase
    return {"error": {"code": code or CODES.get(status, f"http_{status}"), "message": text, "details": details},
            "meta": meta(request_id)}


# Documented on every route: the statuses any endpoint may answer with the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 500)}
