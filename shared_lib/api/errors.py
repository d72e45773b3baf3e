"""Errors as the one error shape: ``ApiError`` for an endpoint's own refusals and the handlers
that turn FastAPI's and Starlette's exceptions into it (validation errors become 400s naming the
field)."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared_lib.api import envelope


class ApiError(Exception):
    """An answer other than success: status, message for people, details for programs."""

    def __init__(self, status: int, message: str, details: Any = None, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.code = status, message, details, code
        self.headers = headers


def bad_parameter(field: str, message: str) -> ApiError:
    return ApiError(400, f"invalid parameter {field}: {message}", [{"field": field, "message": message}])


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "") or ""


def response(request: Request, status: int, message: str | None = None, details: Any = None,
             code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(envelope.error_body(status, request_id(request), message, details, code),
                        status_code=status, headers=headers)


def field_name(loc: tuple | list) -> str:
    """``("query", "start")`` -> ``start``; a body field keeps its path: ``body.r``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "request"


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return response(request, exc.status, exc.message, exc.details, exc.code, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else None
    return response(request, exc.status_code, message, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"field": field_name(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
    fields = ", ".join(dict.fromkeys(d["field"] for d in details))
    first = details[0]["message"] if details else "invalid"
    return response(request, 400, f"invalid parameter {fields}: {first}", details)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
