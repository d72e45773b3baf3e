"""Synthetic compliance events for ``dp generate compliance-auditing``: both topics in one stream,
routed by ``topic_role``.

- ``compliance.audit``: analysts, engineers, support agents, a DPO and services reading, writing,
  exporting and deleting the platform's tables and APIs, with purposes that fit their role;
  some denied accesses, some failures, and some personal-data reads without a purpose.
- ``compliance.consent``: grants, withdrawals and re-grants of consent for subjects of the web
  and mobile demo data: their generators' own ids at the demo's size and seed (``make demo``),
  so that consent changes the demo's web and mobile numbers.

Events lie over ``days`` UTC days ending now, none later; a small share of audit messages breaks
the contract (each kind at least once from 100 events). Deterministic by seed, events and now.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from typing import Iterator

from shared_lib import synthetic

KEY_FIELD = "subject_id"  # a subject's consent events share a partition, so they stay in order
BAD_KINDS = synthetic.BAD_KINDS

# (actor, role, purposes that fit the role): a service acts under its own id
ACTORS = [
    ("alice@corp.example", "analyst", ["analytics", "marketing"]),
    ("bob@corp.example", "analyst", ["analytics"]),
    ("chen@corp.example", "data-engineer", ["operations"]),
    ("dana@corp.example", "support-agent", ["support"]),
    ("erik@corp.example", "support-agent", ["support"]),
    ("fatima@corp.example", "dpo", ["compliance", "legal"]),
    ("svc-etl", "service", ["operations"]),
    ("svc-api-gateway", "service", ["support", "analytics"]),
    ("svc-dashboards", "service", ["analytics"]),
]
ACTOR_WEIGHTS = [14, 10, 8, 8, 6, 3, 20, 18, 13]
# (resource, columns read from it); API paths name a data subject
RESOURCES = [
    ("web-user-analytics.silver.events", ["event_id", "page_path", "anonymous_id", "ip_network"]),
    ("web-user-analytics.silver.sessions", ["session_id", "anonymous_id", "duration_s"]),
    ("web-user-analytics.gold.daily_kpis", ["date", "visitors", "sessions"]),
    ("mobile-user-analytics.silver.events", ["event_id", "device_id", "screen_name"]),
    ("mobile-user-analytics.gold.daily_kpis", ["date", "dau"]),
    ("user-segmentation.gold.customer_segments", ["customer_id", "segment"]),
    ("/api/v1/users/{id}", None),
    ("/api/v1/users/{id}/events", None),
]
ACTIONS = {"read": 62, "write": 12, "export": 5, "delete": 3, "login": 12, "grant": 3, "revoke": 3}
PURPOSE_MISSING = 0.08  # share of audit events that name no purpose
DENIED, FAILED = 0.06, 0.02
CONSENT_PURPOSES = {"analytics": 70, "marketing": 30}
DEMO_EVENTS, DEMO_SEED = 20000, 42  # the size and seed of `make demo`'s web and mobile events


def demo_subjects(now: dt.datetime, events: int = DEMO_EVENTS, seed: int = DEMO_SEED) -> list[str]:
    """The data subjects of the web and mobile demo data (visitors, devices, users), in order of
    first appearance. Read from their generators: the ids are theirs to define."""
    from products.mobile_user_analytics import generator as mobile
    from products.web_user_analytics import generator as web

    found: dict[str, None] = {}
    for stream, fields in ((web.generate(events, seed, now=now), ("anonymous_id", "user_id")),
                           (mobile.generate(events, seed, now=now), ("device_id", "user_id"))):
        for event in stream:
            if isinstance(event, dict):
                found.update({event[f]: None for f in fields if event.get(f)})
    return list(found)


def _audit(rng: random.Random, i: int, ts: dt.datetime, subjects: list[str]) -> dict:
    actor, role, purposes = rng.choices(ACTORS, ACTOR_WEIGHTS)[0]
    action = rng.choices(list(ACTIONS), list(ACTIONS.values()))[0]
    event = {"event_id": f"aud-{i:09d}", "event_ts": synthetic.iso(ts), "actor": actor, "actor_role": role,
             "action": action, "source_ip": f"10.20.{rng.randint(0, 15)}.{rng.randint(1, 254)}"}
    if action == "login":
        event["resource"] = "/login"
    else:
        resource, columns = rng.choice(RESOURCES)
        event["resource"] = resource
        if columns and action in ("read", "export"):
            event["columns"] = rng.sample(columns, rng.randint(1, len(columns)))
        if resource.startswith("/api/") or (action in ("export", "delete") and rng.random() < 0.6):
            event["subject_id"] = rng.choice(subjects)
        if rng.random() >= PURPOSE_MISSING:
            event["purpose"] = rng.choice(purposes)
    roll = rng.random()
    event["result"] = "denied" if roll < DENIED else "failure" if roll < DENIED + FAILED else "success"
    return event


def _consent_story(rng: random.Random, subject: str, start: dt.datetime, now: dt.datetime,
                   counter: list[int]) -> list[dict]:
    """A subject grants consent for a purpose, maybe withdraws it later, maybe grants it again."""
    purpose = rng.choices(list(CONSENT_PURPOSES), list(CONSENT_PURPOSES.values()))[0]
    decisions = [True] if rng.random() < 0.6 else [False]
    if decisions[0] and rng.random() < 0.45:
        decisions.append(False)
        if rng.random() < 0.3:
            decisions.append(True)
    out, ts = [], start
    for granted in decisions:
        if ts > now:
            break
        counter[0] += 1
        out.append({"event_id": f"con-{counter[0]:09d}", "event_ts": synthetic.iso(ts), "subject_id": subject,
                    "purpose": purpose, "granted": granted})
        ts += dt.timedelta(hours=rng.uniform(2, 60))
    return out


def _bad(kind: str, good: dict, future: dt.datetime, i: int) -> str:
    if "granted" in good:  # broken messages are audit messages, made from a template at the same time
        good = {"event_id": "x", "event_ts": good["event_ts"], "actor": "svc-etl", "action": "read",
                "resource": "/login", "result": "success"}
    if kind == "not_object":
        return json.dumps([f"bad-{kind}-{i}", good["action"]])
    return synthetic.bad_message(kind, good, future, i, drop="actor", wrong_type=("columns", "ip"),
                                 out_of_domain=("action", "peek"))


def generate(events: int, seed: int, days: int = 7, bad_share: float = 0.01, consent_share: float = 0.2,
             now: dt.datetime | None = None, subjects: list[str] | None = None) -> Iterator[dict | str]:
    """``events`` messages: dicts for good events, raw strings for the deliberately bad ones
    (audit messages). ``subjects``: the data subjects to use (default: the demo's)."""
    rng = random.Random(seed)
    now = synthetic.clock(now)
    first_day = synthetic.first_midnight(now, days)
    span_s = (now - first_day).total_seconds()
    future = now + dt.timedelta(days=2)  # more than 24 h ahead (bad input)
    subjects = subjects if subjects is not None else demo_subjects(now)
    if not subjects:
        raise ValueError("no data subjects to generate consent and audit events for")
    n_good, n_dup, n_bad = synthetic.split(events, bad_share)
    n_consent = int(n_good * consent_share)
    consents: list[dict] = []
    counter = [0]
    while len(consents) < n_consent:
        start = first_day + dt.timedelta(seconds=rng.uniform(0, span_s))
        consents.extend(_consent_story(rng, rng.choice(subjects), start, now, counter))
    produced = consents[:n_consent]
    for i in range(n_good - len(produced)):
        produced.append(_audit(rng, i + 1, first_day + dt.timedelta(seconds=rng.uniform(0, span_s)), subjects))
    return iter(synthetic.deliver(rng, produced, n_dup, n_bad, lambda kind, good, i: _bad(kind, good, future, i)))


def topic_role(event: dict | str) -> str:
    """Which of the product's topics (``topic`` parameter roles) an event goes to."""
    return "consent" if isinstance(event, dict) and "granted" in event else "audit"
