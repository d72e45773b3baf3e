"""Synthetic request logs for ``dp generate operational-metrics``: five services with their own
traffic share, latency and error level, a diurnal load (quiet at night, busiest mid-afternoon
UTC), and one incident - ``web-api`` slow (latency x8) and failing (a quarter 5xx) for 90 minutes
- plus a small share of the contract's bad inputs and some duplicate deliveries.

The window is the ``days`` x 24 h up to ``now``, no request after it, and the incident lies in its
past (it starts 70 % into the window and lasts 90 minutes: over 5 h before ``now`` at one day).

Deterministic: the same ``seed``, ``events``, ``days`` and ``now`` give the same messages.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass
from typing import Iterator

from shared_lib import synthetic


@dataclass(frozen=True)
class Service:
    name: str
    share: float  # of all requests
    median_ms: float  # of the lognormal latency
    sigma: float
    error_share: float  # 5xx outside the incident
    endpoints: tuple[str, ...]


SERVICES = (
    Service("api-gateway", 0.35, 35.0, 0.5, 0.002, ("/health", "/v1/products/{product}/query", "/v1/tables")),
    Service("web-api", 0.25, 120.0, 0.6, 0.004, ("/pages/{path}", "/cart", "/checkout", "/orders/{id}")),
    Service("mobile-api", 0.20, 150.0, 0.6, 0.004, ("/sessions", "/devices/{id}", "/events")),
    Service("segment-api", 0.10, 280.0, 0.7, 0.003, ("/segments", "/segments/{id}/members")),
    Service("auth-service", 0.10, 20.0, 0.4, 0.001, ("/login", "/token", "/logout")),
)
INCIDENT_SERVICE = "web-api"
INCIDENT_MINUTES = 90
INCIDENT_LATENCY_FACTOR = 8.0
INCIDENT_ERROR_SHARE = 0.25
METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE", "get")  # lower case is normalized in silver
OK_CODES = (200, 200, 200, 200, 201, 204, 304, 400, 401, 404)  # 4xx are the client's, not errors
ERROR_CODES = (500, 502, 503, 504)
BAD_KINDS = ("malformed_json", "missing_field", "bad_type", "bad_value", "bad_timestamp")
KEY_FIELD = "service"  # a service's logs share a partition


def incident_window(end: dt.datetime, days: int) -> tuple[dt.datetime, dt.datetime]:
    """The incident: it starts 70 % into the window, on the hour, and lasts INCIDENT_MINUTES."""
    start = end - dt.timedelta(days=days) + dt.timedelta(seconds=days * 86400 * 0.7)
    start = start.replace(minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(minutes=INCIDENT_MINUTES)


def load(ts: dt.datetime) -> float:
    """Relative load at ``ts``, 0.3 at 03:00 UTC to 1.7 at 15:00 UTC."""
    hour = ts.hour + ts.minute / 60
    return 1 + 0.7 * math.sin(2 * math.pi * (hour - 9) / 24)


def _request(rng: random.Random, i: int, ts: dt.datetime, in_incident: bool) -> dict:
    svc = rng.choices(SERVICES, [s.share for s in SERVICES])[0]
    hit = in_incident and svc.name == INCIDENT_SERVICE
    latency = rng.lognormvariate(math.log(svc.median_ms), svc.sigma) * (INCIDENT_LATENCY_FACTOR if hit else 1)
    failed = rng.random() < (INCIDENT_ERROR_SHARE if hit else svc.error_share)
    return {"event_id": f"r-{i:09d}", "event_ts": synthetic.iso(ts), "service": svc.name,
            "endpoint": rng.choice(svc.endpoints), "method": rng.choice(METHODS),
            "status_code": rng.choice(ERROR_CODES if failed else OK_CODES), "latency_ms": round(latency, 2)}


def _bad(kind: str, good: dict, i: int) -> str:
    event = dict(good, event_id=f"bad-{kind}-{i}")
    if kind == "malformed_json":
        return json.dumps(event)[:-5]
    if kind == "missing_field":
        event.pop("service")
    elif kind == "bad_type":
        event["latency_ms"] = "slow"
    elif kind == "bad_value":
        event["status_code"] = 700
    elif kind == "bad_timestamp":
        event["event_ts"] = event["event_ts"].rstrip("Z")  # no zone: ambiguous
    return json.dumps(event)


def generate(events: int, seed: int, days: int = 2, bad_share: float = 0.005,
             now: dt.datetime | None = None) -> Iterator[dict | str]:
    """``events`` messages in time order: dicts for good requests, raw strings for bad ones."""
    rng = random.Random(seed)
    end = synthetic.clock(now)
    start = end - dt.timedelta(days=days)
    incident = incident_window(end, days)
    n_bad = max(len(BAD_KINDS), int(events * bad_share)) if bad_share > 0 and events >= 100 else 0
    n_dup = events // 1000
    n_good = events - n_bad - n_dup
    span = (end - start).total_seconds()
    times = []
    while len(times) < n_good:  # the diurnal load by rejection sampling
        ts = start + dt.timedelta(seconds=rng.uniform(0, span))
        if rng.random() * 1.7 < load(ts):
            times.append(ts)
    times.sort()
    out: list[dict | str] = [_request(rng, i + 1, ts, incident[0] <= ts < incident[1]) for i, ts in enumerate(times)]
    good = [e for e in out if isinstance(e, dict)]
    for _ in range(n_dup):  # an at-least-once producer sends some twice
        out.insert(rng.randrange(len(out) + 1), dict(rng.choice(good)))
    for i in range(n_bad):
        out.insert(rng.randrange(len(out) + 1), _bad(BAD_KINDS[i % len(BAD_KINDS)], rng.choice(good), i))
    return iter(out)
