"""Data-subject requests received through the API, until ``dp dsar`` acts on them.

The API records the request (who asked, for which subject, access or erase, received and due
dates: received + 30 days, metrics.md) and answers its id at once; ``dp dsar access|erase``
carries it out. The intake is one JSON line per request in ``<workspace>/compliance/
dsar_intake.jsonl`` (mode 0600: it holds the subject's id, which the request must name).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import threading
from pathlib import Path

from shared_lib import paths

DUE_DAYS = 30
KINDS = ("access", "erase")
_lock = threading.Lock()


def intake_path() -> Path:
    return paths.workspace() / "compliance" / "dsar_intake.jsonl"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def create(subject_id: str, kind: str, requested_by: str, reason: str | None = None,
           now: dt.datetime | None = None) -> dict:
    """Record a new request; returns it (status ``received``)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    request = {"request_id": f"dsar-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}", "kind": kind,
               "subject_id": subject_id, "received_at": _iso(now), "due_at": _iso(now + dt.timedelta(days=DUE_DAYS)),
               "status": "received", "requested_by": requested_by, "reason": reason}
    path = intake_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as out:
            out.write(json.dumps(request) + "\n")
    return request


def find(request_id: str) -> dict | None:
    """The recorded request ``request_id``, or None."""
    try:
        lines = intake_path().read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        if line.strip():
            request = json.loads(line)
            if request["request_id"] == request_id:
                return request
    return None
