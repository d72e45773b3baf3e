"""Who is calling: the API key of a request, and the dependency every endpoint declares its
role with.

``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key, an unknown key or a revoked key
answers 401; a key whose role the endpoint does not admit answers 403. Every refusal is written
to the audit trail (``result: denied``) with what was asked for.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from fastapi import Depends, Request

from shared_lib import audit
from shared_lib.api import context, roles
from shared_lib.api.errors import ApiError

ANONYMOUS = "anonymous"  # the actor of a request without a usable key


@dataclass(frozen=True)
class Principal:
    actor: str  # the key's name
    role: str
    key_id: str


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key", "").strip() or None


def action_of(request: Request) -> str:
    return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"


def resource_of(request: Request) -> str:
    """The API path asked for, as its route template (no subject id inside the resource)."""
    route = request.scope.get("route")
    return f"{context.of(request).service}:{getattr(route, 'path', request.url.path)}"


def record(request: Request, actor: str, role: str | None, result: str, columns: list[str] | None = None,
           purpose: str | None = None, subject_id: str | None = None, action: str | None = None) -> dict:
    """Put one audit event for this request on the audit writer; returns it."""
    ev = audit.event(actor, action or action_of(request), resource_of(request), result, columns, purpose,
                     subject_id, role)
    if request.client:
        ev["source_ip"] = request.client.host
    context.of(request).sinks.audit(ev)
    return ev


def deny(request: Request, status: int, message: str, actor: str = ANONYMOUS, role: str | None = None,
         **audit_fields: Any) -> ApiError:
    """The refusal to raise, after recording it in the audit trail."""
    record(request, actor, role, "denied", **audit_fields)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return ApiError(status, message, headers=headers)


def authenticate(request: Request) -> Principal:
    key = presented_key(request)
    if key is None:
        raise deny(request, 401, "an API key is required: send `Authorization: Bearer <key>` or "
                                 "`X-API-Key: <key>` (create one with `dp keys create --role ROLE`)")
    stored = context.of(request).keys.lookup(key)
    if stored is None:
        raise deny(request, 401, "unknown API key")
    if not stored.active:
        raise deny(request, 401, f"API key {stored.name!r} was revoked", actor=stored.name, role=stored.role)
    return Principal(actor=stored.name, role=stored.role, key_id=stored.id)


def require(minimum: str, auditor: bool = False) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: the caller, when its role is admitted (``roles.allowed``)."""
    admitted = roles.allowed(minimum, auditor)

    async def dependency(request: Request) -> Principal:
        who = authenticate(request)
        if who.role not in admitted:
            raise deny(request, 403, f"role {who.role!r} may not use this endpoint; it needs one of "
                                     f"{', '.join(r for r in roles.ROLES if r in admitted)}",
                       actor=who.actor, role=who.role)
        request.state.principal = who
        request.state.admitted = admitted  # what a recorded answer of this endpoint admits (repeats.py)
        return who

    dependency.admitted = admitted  # type: ignore[attr-defined]
    return dependency


def principal(request: Request) -> Principal:
    """The caller of an endpoint declared with ``require`` (set by its dependency)."""
    return request.state.principal


def secured(minimum: str, auditor: bool = False) -> dict[str, Any]:
    """Route keyword arguments that declare an endpoint's role: the dependency, and the roles in
    its OpenAPI operation (``x-roles``) and responses."""
    admitted = roles.allowed(minimum, auditor)
    return {"dependencies": [Depends(require(minimum, auditor))],
            "openapi_extra": {"x-roles": [r for r in roles.ROLES if r in admitted],
                              "security": [{"bearer": []}, {"apiKey": []}]}}
