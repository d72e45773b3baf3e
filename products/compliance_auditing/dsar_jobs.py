"""Data-subject requests received through the API and carried out in the background by ``dp dsar``.

``start`` picks the request's id, starts ``dp dsar access|erase - --request-id ID`` as a process
of its own (the same Python) and returns at once; the subject's id and the reason go to the
process on its stdin, never on its command line (which other users of the machine can read). The process opens
the request in the ``dsar_requests`` table under that id and completes it there. Beside it, the
API keeps ``<workspace>/compliance/dsar_jobs/<id>.json`` (kind, who asked, pid, exit code; no
subject) and ``<id>.log`` (the process's output, mode 0600: it names the subject).

``state`` joins both: received (the process has not opened the request yet), in_progress,
completed, or failed with the last line the process wrote (a refusal such as a legal hold, an
audit topic that is down ...).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from shared_lib import lake, paths
from shared_lib.api import gold
from shared_lib.dsar import requests

# (request id, kind) -> argv of the process that carries the request out.
DsarCommand = Callable[[str, str], list[str]]
_files_lock = threading.Lock()


def dp_dsar_command(request_id: str, kind: str) -> list[str]:
    return [sys.executable, "-m", "runners.cli", "dsar", kind, "-", "--request-id", request_id]


def jobs_dir() -> Path:
    return paths.workspace() / "compliance" / "dsar_jobs"


def job_file(request_id: str) -> Path:
    return jobs_dir() / f"{request_id}.json"


def log_file(request_id: str) -> Path:
    return jobs_dir() / f"{request_id}.log"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def read_job(request_id: str) -> dict | None:
    try:
        return json.loads(job_file(request_id).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _update_job(path: Path, **changes) -> None:
    with _files_lock:
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        tmp = path.with_name(path.name + ".tmp")  # replaced whole: a reader never sees half a file
        tmp.write_text(json.dumps({**data, **changes}, indent=1))
        tmp.replace(path)


def start(subject_id: str, kind: str, actor: str, role: str, reason: str | None,
          command: DsarCommand = dp_dsar_command, at: dt.datetime | None = None) -> dict:
    """Start carrying out the request; returns its job record (status ``received``)."""
    received = at or requests.now()
    request_id = requests.new_request_id(received)
    jobs_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    job: dict[str, Any] = {"request_id": request_id, "kind": kind, "requested_by": actor,
                           "received_at": _iso(received), "due_at": _iso(received + dt.timedelta(days=requests.DUE_DAYS)),
                           "pid": None, "exit_code": None, "ended_at": None}
    path = job_file(request_id)
    _update_job(path, **job)
    # The process's own audit events name the person who asked, not the API's OS user.
    env = {**os.environ, "DP_ACTOR": actor, "DP_ROLE": role,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    fd = os.open(log_file(request_id), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(command(request_id, kind), stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT, cwd=paths.PROJECT_ROOT, env=env, start_new_session=True)
    job["pid"] = proc.pid
    _update_job(path, pid=proc.pid)
    threading.Thread(target=_feed_and_wait, args=(request_id, proc, subject_id, reason, path),
                     name=f"dsar-{request_id}", daemon=True).start()
    return {**job, "status": "received", "completed_at": None, "error": None}


def _feed_and_wait(request_id: str, proc: subprocess.Popen, subject_id: str, reason: str | None,
                   path: Path) -> None:
    """Hand the subject (and the reason, on the next line) to the process, then record its exit code."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(subject_id.encode() + b"\n" + " ".join((reason or "").split()).encode() + b"\n")
        proc.stdin.close()
    except OSError:  # it died before reading: its exit code and log say why
        pass
    code = proc.wait()
    _update_job(path, exit_code=code, ended_at=_iso(requests.now()))


def _alive(pid: int | None) -> bool:
    try:
        return pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _log_lines(request_id: str) -> list[str]:
    try:
        return [ln for ln in log_file(request_id).read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return []


def _error_line(request_id: str, exit_code: int | None) -> str:
    lines = _log_lines(request_id)
    return lines[-1] if lines else f"dp dsar ended with exit code {exit_code} and wrote nothing"


def _not_opened(request_id: str) -> str:
    """Why a process that ended well opened no request under this id."""
    for line in _log_lines(request_id):
        resumed = re.search(r"resuming request (\S+)", line)
        if resumed:  # dp dsar erase finished the subject's interrupted erasure instead
            return f"carried out as the subject's interrupted request {resumed.group(1)}, which dp dsar erase " \
                   f"resumed: see GET /dsar/{resumed.group(1)}"
    return f"dp dsar opened no request {request_id}: {_error_line(request_id, 0)}"


def _table_row(request_id: str) -> dict | None:
    table = requests.requests_table()
    if not lake.exists(table):
        return None
    rows = gold.records(lake.read(table, filters=[("request_id", "=", request_id)]))
    return rows[0] if rows else None


def state(request_id: str) -> dict | None:
    """What is known of the request (None: never heard of): the ``dsar_requests`` row of ``dp dsar``
    (also for requests made on the command line) with the state of the API's process."""
    job, row = read_job(request_id), _table_row(request_id)
    if job is None and row is None:
        return None
    exit_code = job.get("exit_code") if job else None
    running = job is not None and exit_code is None and _alive(job.get("pid"))
    ended = job is not None and not running
    out = {"request_id": request_id, "kind": (row or job)["kind"],  # type: ignore[index]
           "received_at": row["received_at"] if row else job["received_at"],  # type: ignore[index]
           "due_at": row["due_at"] if row else job["due_at"],  # type: ignore[index]
           "completed_at": row.get("completed_at") if row else None, "error": None}
    if row is not None and row["status"] == "completed":
        status = "completed"
    elif ended and exit_code != 0:
        status, out["error"] = "failed", _error_line(request_id, exit_code)
    elif ended and row is None:
        status, out["error"] = "failed", _not_opened(request_id)
    elif row is not None:
        status = row["status"]  # in_progress; on the command line, or its process still at work
    else:
        status = "received"
    return {**out, "status": status}
