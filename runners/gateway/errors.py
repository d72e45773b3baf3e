"""The gateway's answers other than success, in the platform's one error shape
``{error: {code, message, details}, meta: {request_id, timestamp}}``, and the request id that
every answer echoes as ``X-Request-ID``."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 422: "unprocessable", 429: "too_many_requests", 500: "internal_error",
         502: "bad_gateway", 503: "unavailable", 504: "gateway_timeout"}
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class Meta(BaseModel):
    request_id: str
    timestamp: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail
    meta: Meta


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "") or ""


def response(request: Request, status: int, message: str | None = None, details: Any = None,
             code: str | None = None) -> JSONResponse:
    body = {"error": {"code": code or CODES.get(status, f"http_{status}"),
                      "message": message or HTTPStatus(status).phrase, "details": details},
            "meta": {"request_id": request_id(request),
                     "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")}}
    return JSONResponse(body, status_code=status)


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def with_request_id(request: Request, call_next):
        given = request.headers.get("x-request-id", "")
        request.state.request_id = given if _ACCEPTED_ID.match(given) else uuid.uuid4().hex
        answer = await call_next(request)
        answer.headers["x-request-id"] = request.state.request_id
        return answer

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return response(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "request", "message": e.get("msg")}
                   for e in exc.errors()]
        return response(request, 400, f"invalid parameter {details[0]['field']}: {details[0]['message']}"
                        if details else None, details)
