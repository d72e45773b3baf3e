"""The platform API, served by the gateway under ``/platform/``: the products with their SLA state
and last run per notebook, the run records, and runs started in the background.

``POST /platform/runs`` (operator) checks the request as ``dp run`` would (products, layer,
notebook), takes the workspace's run lock (``runners.runlock``: 409 at once while another run holds it,
never waiting),
starts ``dp run --run-id ID`` as a process of its own and answers 202 with the run id at once.
The run's process takes the lock over; a thread of the gateway records its exit code and gives the
lock back, whatever happened to the run. Each run started here leaves ``<run id>.json`` and
``<run id>.log`` in ``paths.run_requests_dir()``; ``GET /platform/runs/{run_id}`` reads them with
the run's records, so it also answers for runs started by ``dp run`` or ``dp schedule``.

Tables are read with delta-rs (``shared_lib.lake``): no JVM in the gateway.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import psutil
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from runners import run as run_lib
from runners import runlock, runlog
from shared_lib import lake, paths
from shared_lib import products as products_lib
from shared_lib.api import app as api_app
from shared_lib.api import auth, context, pagination
from shared_lib.api.envelope import ERROR_RESPONSES, Envelope, ErrorBody
from shared_lib.api.errors import ApiError, bad_parameter, not_found
from shared_lib.errors import UserError

SLA_PRODUCT, SLA_TABLE = "operational-metrics", "sla_status"
LOG_LINES_SHOWN = 20
RunStatus = Literal["running", "succeeded", "failed"]
RUN_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"  # what names a file of paths.run_requests_dir()


class RunRequest(BaseModel):
    """What ``dp run`` is asked to run: every notebook when nothing is given."""
    model_config = ConfigDict(extra="forbid")

    products: list[str] = Field(default_factory=list, max_length=20,
                                description="Only these products (dp run --product); all when empty")
    layer: Literal["bronze", "silver", "gold"] | None = Field(default=None, description="Only this layer")
    notebook: str | None = Field(default=None, max_length=200, description="Only this notebook: NAME or PRODUCT:NAME")
    force: bool = Field(default=False, description="Run notebooks even when an upstream notebook failed")


class RunRecord(BaseModel):
    """One notebook's run record (``platform.pipeline_runs``)."""
    run_id: str
    env: str | None = None
    product: str
    notebook: str
    layer: str | None = None
    status: str
    attempts: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    failing_cell: int | None = None
    error: str | None = None
    rows_written: int | None = None
    parameters: str | None = None
    tables_read: str | None = None
    tables_written: str | None = None
    output_notebook: str | None = None


class SlaState(BaseModel):
    state: str
    previous_state: str | None = None
    worst_metric: str
    evaluated_at: str


class NotebookRun(BaseModel):
    notebook: str
    layer: str
    last_run: RunRecord | None = None


class ProductStatus(BaseModel):
    name: str
    owner: str
    description: str
    sla: SlaState | None = None
    notebooks: list[NotebookRun]


class LockHolder(BaseModel):
    run_id: str
    pid: int
    since: str


class PlatformStatus(BaseModel):
    environment: str
    products: list[ProductStatus]
    active_run: LockHolder | None = None


class RunStarted(BaseModel):
    run_id: str
    status: RunStatus
    pid: int
    request: RunRequest
    requested_by: str
    started_at: str
    links: dict[str, str]


class RunState(BaseModel):
    run_id: str
    status: RunStatus
    request: RunRequest | None = Field(default=None, description="What was asked for (runs started by this API)")
    requested_by: str | None = None
    pid: int | None = None
    exit_code: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    counts: dict[str, int]
    notebooks: list[RunRecord]
    error: str | None = Field(default=None, description="Why the run failed before or outside its notebooks")
    log: str | None = Field(default=None, description="The run's log file (runs started by this API)")


# (run id, request, parameter environment) -> argv of the run's process.
RunCommand = Callable[[str, RunRequest, str], list[str]]


def dp_run_command(run_id: str, request: RunRequest, env: str) -> list[str]:
    # --no-wait: the lock is handed to this process; should it be gone, the run fails, never queues.
    cmd = [sys.executable, "-m", "runners.cli", "run", "--run-id", run_id, "--env", env, "--no-wait"]
    for product in request.products:
        cmd += ["--product", product]
    if request.layer:
        cmd += ["--layer", request.layer]
    if request.notebook:
        cmd += ["--notebook", request.notebook]
    return cmd + (["--force"] if request.force else [])


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def records_of(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: timestamps in ISO-8601, missing values as None."""
    return json.loads(df.to_json(orient="records", date_format="iso")) if not df.empty else []


def request_file(run_id: str) -> Path:
    return paths.run_requests_dir() / f"{run_id}.json"


def log_file(run_id: str) -> Path:
    return paths.run_requests_dir() / f"{run_id}.log"


def read_request(run_id: str) -> dict | None:
    try:
        return json.loads(request_file(run_id).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _update_request(run_id: str, path: Path | None = None, **changes: Any) -> None:
    path = path or request_file(run_id)
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        data = {"run_id": run_id}
    path.write_text(json.dumps({**data, **changes}, indent=1))


def _tail(path: Path, lines: int = LOG_LINES_SHOWN) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def _alive(pid: int | None) -> bool:
    try:
        return pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def run_state(run_id: str) -> dict | None:
    """What is known of ``run_id``: running while its lock or process lives, else failed when a
    notebook failed (or was skipped) or the process failed, else succeeded. None: never heard of."""
    asked = read_request(run_id)
    records = records_of(lake.read(runlog.runs_table(), filters=[("run_id", "=", run_id)])
                         .sort_values("started_at", na_position="last")) if lake.exists(runlog.runs_table()) else []
    holder = runlock.holder()
    exit_code = asked.get("exit_code") if asked else None
    running = (holder is not None and holder.run_id == run_id) or \
        (asked is not None and exit_code is None and _alive(asked.get("pid")))
    if asked is None and not records and not running:
        return None
    counts = {s: sum(r["status"] == s for r in records) for s in ("succeeded", "failed", "skipped")}
    error = None
    if running:
        status = "running"
    elif counts["failed"] or counts["skipped"] or (exit_code not in (None, 0)):
        status = "failed"
        if not counts["failed"] and asked:  # it failed before or outside a notebook: the log says why
            error = _tail(log_file(run_id)) or f"the run's process ended with exit code {exit_code}"
    elif records or exit_code == 0:
        status = "succeeded"
    else:
        status, error = "failed", "the run's process ended without recording a notebook or an exit code"
    return {"run_id": run_id, "status": status,
            "request": asked.get("request") if asked else None,
            "requested_by": asked.get("requested_by") if asked else None,
            "pid": asked.get("pid") if asked else (holder.pid if running and holder else None),
            "exit_code": exit_code,
            "started_at": asked.get("started_at") if asked else (records[0]["started_at"] if records else None),
            "ended_at": asked.get("ended_at") if asked else (None if running or not records else records[-1]["ended_at"]),
            "counts": counts, "notebooks": records, "error": error,
            "log": str(log_file(run_id)) if asked else None}


def platform_status(env: str) -> dict:
    """Every product (its declaration), its latest SLA state, and the last run of each notebook."""
    sla = lake.read_latest(SLA_PRODUCT, SLA_TABLE, "evaluated_at")
    sla_by_product = {r["product"]: r for r in records_of(sla)}
    runs = runlog.read()  # newest first
    last = {(r["product"], r["notebook"]): r for r in reversed(records_of(runs))}  # the newest wins
    products = []
    for name, product in sorted(products_lib.all_products().items()):
        if name == paths.PLATFORM:
            continue
        state = sla_by_product.get(name)
        products.append({
            "name": name, "owner": product.owner, "description": product.description,
            "sla": {k: state[k] for k in ("state", "previous_state", "worst_metric", "evaluated_at")} if state else None,
            "notebooks": [{"notebook": nb.name, "layer": nb.layer, "last_run": last.get((name, nb.name))}
                          for nb in product.notebooks]})
    holder = runlock.holder()
    return {"environment": env, "products": products, "active_run": holder.__dict__ if holder else None}


def _check(request: RunRequest, env: str) -> None:
    """Refuse what ``dp run`` would refuse, before anything starts (400 naming the field)."""
    declared = products_lib.all_products()
    for product in request.products:
        if product not in declared or product == paths.PLATFORM:
            raise bad_parameter("products", f"unknown product {product!r}: expected one of "
                                f"{', '.join(p for p in sorted(declared) if p != paths.PLATFORM)}")
    try:
        run_lib.plan(request.products or None, request.layer, request.notebook, env)
    except UserError as exc:
        raise bad_parameter("notebook" if request.notebook else "request", str(exc)) from None


def platform_router(run_command: RunCommand = dp_run_command) -> APIRouter:
    router = APIRouter(prefix="/platform", tags=["platform"], responses=ERROR_RESPONSES)
    starting = threading.Lock()  # one start at a time in this process; the run lock across processes

    @router.get("/status", response_model=Envelope[PlatformStatus], **auth.secured("viewer"),
                summary="Every product with its SLA state and the last run of each notebook")
    def status(request: Request) -> dict:
        return api_app.ok(request, platform_status(context.of(request).params.get("env", "dev")))

    @router.get("/executions", response_model=Envelope[list[RunRecord]], **auth.secured("viewer"),
                summary="Run records, newest first (one per notebook run), paginated")
    def executions(request: Request, page: pagination.PageParam, product: str | None = None,
                   status: Literal["succeeded", "failed", "skipped"] | None = None,
                   run_id: str | None = None) -> dict:
        runs = runlog.read()
        for column, value in (("product", product), ("status", status), ("run_id", run_id)):
            if value is not None:
                runs = runs[runs[column] == value]
        shown = records_of(runs.iloc[page.offset:page.offset + page.limit])
        return api_app.ok(request, shown, page.info(len(runs)))

    @router.post("/runs", status_code=202, response_model=Envelope[RunStarted], **auth.secured("operator"),
                 responses={409: {"model": ErrorBody, "description": "A run holds the workspace's run lock"}},
                 summary="Start a dp run in the background; answers its run id at once")
    def start_run(request: Request, body: RunRequest | None = None) -> dict:
        body = body or RunRequest()
        env = context.of(request).params.get("env", "dev")
        _check(body, env)
        run_id = run_lib.new_run_id()
        with starting:
            try:
                runlock.acquire(run_id)
            except runlock.RunLocked as exc:
                raise ApiError(409, str(exc), {"run_id": exc.holder.run_id, "pid": exc.holder.pid,
                                               "since": exc.holder.since}) from None
            try:
                cmd = run_command(run_id, body, env)
                proc = _spawn(run_id, cmd)
            except BaseException:
                runlock.release(run_id)
                raise
            runlock.hand_over(run_id, proc.pid)
        who = auth.principal(request).actor
        started = now_iso()
        _update_request(run_id, request=body.model_dump(), requested_by=who, pid=proc.pid, started_at=started,
                        exit_code=None, ended_at=None, command=cmd)
        threading.Thread(target=_wait, args=(run_id, proc, request_file(run_id)), name=f"run-{run_id}", daemon=True).start()
        return api_app.ok(request, {"run_id": run_id, "status": "running", "pid": proc.pid, "request": body.model_dump(),
                                    "requested_by": who, "started_at": started,
                                    "links": {"self": f"/platform/runs/{run_id}"}})

    @router.get("/runs/{run_id}", response_model=Envelope[RunState], **auth.secured("viewer"),
                responses={404: {"model": ErrorBody}}, summary="A run's state and its notebooks' records")
    def get_run(request: Request, run_id: Annotated[str, PathParam(pattern=RUN_ID_PATTERN)]) -> dict:
        state = run_state(run_id)
        if state is None:
            raise not_found(f"no run {run_id!r}: see GET /platform/executions for the runs there are")
        return api_app.ok(request, state)

    return router


def _spawn(run_id: str, cmd: list[str]) -> subprocess.Popen:
    paths.run_requests_dir().mkdir(parents=True, exist_ok=True)
    _update_request(run_id)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.PROJECT_ROOT),
                                                                      os.environ.get("PYTHONPATH")]))}
    with open(log_file(run_id), "ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=paths.PROJECT_ROOT, env=env, start_new_session=True)


def _wait(run_id: str, proc: subprocess.Popen, path: Path) -> None:
    """Record the run's exit code and give its lock back (its process may have died without)."""
    code = proc.wait()
    _update_request(run_id, path, exit_code=code, ended_at=now_iso())
    runlock.release(run_id)
