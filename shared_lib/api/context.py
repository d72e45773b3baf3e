"""What every request of one API process shares: its service name, parameters, key store and
event sinks (``app.state.api``)."""
from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from shared_lib.api.keys import KeyStore
from shared_lib.api.repeats import Answers
from shared_lib.api.sinks import Sinks


@dataclass
class ApiContext:
    service: str  # the name in request logs, e.g. web-user-analytics-api
    product: str
    params: dict
    keys: KeyStore
    sinks: Sinks
    answers: Answers = field(default_factory=Answers)  # served again before FastAPI (repeats.py)


def of(request: Request) -> ApiContext:
    return request.app.state.api
