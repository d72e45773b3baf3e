"""The compliance-auditing API: the audit trail (auditors), a subject's consent in force, the
daily compliance KPIs, retention status, and data-subject requests (create and status)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Iterable, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, Field

from products.compliance_auditing import dsar_jobs
from shared_lib import lake, products, retention, subject_hash
from shared_lib.api import app as api_app
from shared_lib.api import auth, gold, privacy, query
from shared_lib.api.envelope import ERROR_RESPONSES, Envelope
from shared_lib.api.errors import not_found
from shared_lib.api.pagination import PageParam

PRODUCT = "compliance-auditing"
AUDIT_COLUMNS = ("event_id", "event_ts", "actor", "actor_role", "action", "resource", "columns", "purpose",
                 "result", "subject_hash", "source_ip")
CONSENT_COLUMNS = ("subject_id", "purpose", "granted", "since", "events")
Action = Literal["read", "write", "delete", "export", "grant", "revoke", "login"]
Result = Literal["success", "denied", "failure"]
Purpose = Literal["analytics", "marketing", "operations", "compliance", "legal", "support"]
SubjectId = Annotated[str, Path(min_length=1, max_length=256, description="The data subject's id")]


def _table(name: str) -> products.Table:
    return products.get(PRODUCT).table(name)


class RetentionStatus(BaseModel):
    table: str = Field(description="Qualified table name")
    retention_kind: str = Field(description="The policy's kind of table (bronze, silver, audit ...)")
    retention_days: int = Field(description="Effective retention: the policy's, or the declared override")
    event_time: str | None = Field(description="The column whose age expires a row; null: a state table")
    checked_at: dt.datetime | None = Field(description="The latest retention check; null: never checked")
    cutoff: str | None = Field(default=None, description="At that check, older rows were past retention")
    rows_past_retention: int | None = Field(default=None, description="Rows past retention at check time")
    rows_held: int | None = Field(default=None, description="Of those, rows kept by a legal hold")
    rows_deleted: int | None = Field(default=None, description="Rows that check deleted")
    status: str | None = Field(default=None, description="What that check did (deleted, held, dry_run ...)")


class DsarCreate(BaseModel):
    subject_id: str = Field(min_length=1, max_length=256, description="The data subject's id")
    kind: Literal["access", "erase"]
    reason: str | None = Field(default=None, max_length=1000)


class DsarRequest(BaseModel):
    request_id: str
    kind: str
    status: Literal["received", "in_progress", "completed", "failed"] = Field(
        description="received (dp dsar is starting), in_progress, completed, or failed (see error)")
    received_at: dt.datetime
    due_at: dt.datetime = Field(description="received + 30 days")
    completed_at: dt.datetime | None = None
    error: str | None = Field(default=None, description="failed: the last line dp dsar wrote (e.g. a legal "
                                                        "hold's refusal)")


def router(cache: gold.TableCache, dsar_command: dsar_jobs.DsarCommand = dsar_jobs.dp_dsar_command) -> APIRouter:
    api = APIRouter(tags=["compliance"])

    @api.get("/audit", summary="The audit trail, newest first (auditors; personal data)",
             **auth.secured("auditor"),
             response_model=Envelope[list[gold.row_model(_table("audit_trail"), AUDIT_COLUMNS, "AuditEvent")]])  # type: ignore[misc]
    async def audit_query(request: Request, page: PageParam, start: query.Start = None, end: query.End = None,
                          actor: Annotated[str | None, Query(max_length=256)] = None, action: Action | None = None,
                          result: Result | None = None, purpose: Purpose | None = None,
                          resource: Annotated[str | None, Query(max_length=1024)] = None,
                          subject_id: Annotated[str | None, Query(max_length=256, description="Events about this "
                                                            "subject (matched by its keyed hash)")] = None,
                          x_purpose: privacy.PurposeHeader = None) -> dict:
        query.check_order(start, end)
        end = end or dt.datetime.now(dt.timezone.utc).date()
        start = start or end - dt.timedelta(days=query.DEFAULT_DAYS - 1)
        filters: list[tuple] = [("event_date", ">=", start), ("event_date", "<=", end)]
        for column, value in (("actor", actor), ("action", action), ("result", result), ("purpose", purpose),
                              ("resource", resource)):
            if value is not None:
                filters.append((column, "=", value))
        if subject_id is not None:
            filters.append(("subject_hash", "=", subject_hash.hash_id(subject_id, subject_hash.workspace_key())))
        frame = cache.filtered(_table("audit_trail"), filters)
        frame = frame.sort_values(["event_ts", "event_id"], ascending=[False, True])
        rows, info = page.slice(gold.records(frame, AUDIT_COLUMNS))
        [rows] = privacy.disclose(request, [(_table("audit_trail"), AUDIT_COLUMNS, rows)], subject_id=subject_id)
        return api_app.ok(request, rows, info)

    @api.get("/subjects/{subject_id}/consent", summary="A subject's consent in force, per purpose (personal data)",
             **auth.secured("analyst", auditor=True),
             response_model=Envelope[list[gold.row_model(_table("consent_state"), CONSENT_COLUMNS, "Consent")]])  # type: ignore[misc]
    async def consent(request: Request, subject_id: SubjectId, x_purpose: privacy.PurposeHeader = None) -> dict:
        frame = cache.filtered(_table("consent_state"), [("subject_id", "=", subject_id)])
        rows = gold.records(frame.sort_values("purpose"), CONSENT_COLUMNS)
        [rows] = privacy.disclose(request, [(_table("consent_state"), CONSENT_COLUMNS, rows)], subject_id=subject_id)
        return api_app.ok(request, rows)

    @api.get("/kpis/daily", summary="Daily compliance KPIs", **auth.secured("operator", auditor=True),
             response_model=Envelope[list[gold.row_model(_table("daily_compliance_kpis"))]])  # type: ignore[misc]
    async def kpis(request: Request, start: query.Start = None, end: query.End = None,
                   kpi: Annotated[str | None, Query(max_length=64, description="Only this KPI, e.g. denied_accesses")] = None
                   ) -> Response:
        def compute(frame) -> tuple[list[dict], None]:
            frame = query.date_range(frame, "date", start, end)
            if kpi is not None:
                frame = frame[frame["kpi"] == kpi]
            return gold.records(frame.sort_values(["date", "kpi", "dimension", "dimension_value"])), None

        return api_app.cached_frame(request, cache, _table("daily_compliance_kpis"), compute)

    @api.get("/retention", summary="Retention status of every declared table (the latest check of dp retention)",
             **auth.secured("operator", auditor=True), response_model=Envelope[list[RetentionStatus]])
    async def retention_endpoint(request: Request) -> dict:
        def compute() -> tuple[list[dict], None]:
            frame = cache.frame(retention.status_table()) if lake.exists(retention.status_table()) else None
            return retention_status(products.all_products().values(), frame), None

        return api_app.cached(request, cache, [retention.status_table()], compute)

    @api.post("/dsar", summary="Carry out a data-subject request (access or erase) in the background",
              status_code=202, **auth.secured("auditor"), response_model=Envelope[DsarRequest],
              responses={202: {"description": "Started: `dp dsar` carries it out; GET /dsar/{id} follows it"},
                         **ERROR_RESPONSES})
    def dsar_create(request: Request, body: DsarCreate) -> dict:
        who = auth.principal(request)
        created = dsar_jobs.start(body.subject_id, body.kind, who.actor, who.role, body.reason, dsar_command)
        # A data-subject request is the legal purpose of handling the subject's id here.
        auth.record(request, who.actor, who.role, "success", purpose="legal", subject_id=body.subject_id)
        return api_app.ok(request, _public(created))

    @api.get("/dsar/{request_id}", summary="A data-subject request's status", **auth.secured("auditor"),
             response_model=Envelope[DsarRequest])
    def dsar_status(request: Request, request_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")]) -> dict:
        found = dsar_jobs.state(request_id)
        if found is None:
            raise not_found(f"no data-subject request {request_id!r}")
        return api_app.ok(request, _public(found))

    return api


def _public(request: dict) -> dict:
    """A request as answered: never its subject."""
    return {k: request.get(k) for k in DsarRequest.model_fields}


def retention_status(declared: Iterable[products.Product], checks: Any) -> list[dict]:
    """Each declared table's retention policy beside its latest check (``checks``: the
    ``platform.retention_status`` rows as a pandas frame, or None before the first check; a dry
    run writes none)."""
    latest: dict[str, dict] = {}
    if checks is not None and len(checks):
        for row in gold.records(checks.sort_values("checked_at")):
            latest[row["table_name"]] = row
    out = []
    for product in declared:
        for table in product.tables:
            found = latest.get(table.qualified_name, {})
            out.append({"table": table.qualified_name, "retention_kind": table.retention_kind,
                        "retention_days": table.retention_days, "event_time": table.event_time,
                        "checked_at": found.get("checked_at"), "cutoff": found.get("cutoff"),
                        **{k: _int_or_none(found.get(k)) for k in ("rows_past_retention", "rows_held", "rows_deleted")},
                        "status": found.get("status")})
    return out


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def create_app(params: dict | None = None, dsar_command: dsar_jobs.DsarCommand = dsar_jobs.dp_dsar_command,
               **options: Any) -> FastAPI:
    """The compliance-auditing API (``dsar_command``: what carries out a data-subject request, a
    stand-in in tests; ``options``: ``shared_lib.api.app.create_app``'s)."""
    return api_app.create_product_app(PRODUCT, "compliance-auditing API",
                                      "The audit trail, consent in force, compliance KPIs, retention status and "
                                      "data-subject requests. Every endpoint but /health needs an API key.",
                                      lambda cache: router(cache, dsar_command), params=params, **options)
