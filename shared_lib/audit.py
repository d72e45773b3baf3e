"""The platform's own actions on personal data, as ``compliance.audit`` events (events.md).

``record`` sends one audit event, built by the pure ``event``, to the compliance audit topic and
waits for the broker's acknowledgement. Every command or service that reads, exports or deletes
personal data calls it (today `dp run`, through ``runs_read``; DSAR, retention and the APIs
later). If the event cannot be written: a read is logged as a warning and the caller goes on (the
data was already read; refusing the answer would not undo it), anything else (an export, a
delete) raises ``AuditError``, so the command fails loudly instead of acting unrecorded.
"""
from __future__ import annotations

import atexit
import datetime as dt
import getpass
import json
import logging
import os
import uuid
from typing import Any, Iterable, Mapping, Sequence

from shared_lib import kafka as kafka_lib
from shared_lib.errors import UserError

logger = logging.getLogger(__name__)

PRODUCT = "compliance-auditing"  # whose `topic.audit` parameter names the topic
SYSTEM_ACTOR, SYSTEM_ROLE = "svc-dp-runner", "service"
DEFAULT_ROLE = "operator"
ACK_TIMEOUT_S = 10.0
# Reads only warn when the event cannot be written; every other action fails the command.
WARN_ONLY = ("read",)

_producers: dict[str, Any] = {}  # bootstrap address -> the one producer of this process
_topics_checked: set[tuple[str, str]] = set()


class AuditError(UserError, RuntimeError):
    """An action on personal data could not be recorded in the audit topic."""


def actor_from_env() -> tuple[str, str]:
    """(actor, role) of a person's command: ``DP_ACTOR`` or the OS user, ``DP_ROLE`` or operator."""
    return (os.environ.get("DP_ACTOR") or getpass.getuser(), os.environ.get("DP_ROLE") or DEFAULT_ROLE)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(actor: str, action: str, resource: str, result: str, columns: Sequence[str] | None = None,
          purpose: str | None = None, subject_id: str | None = None, role: str | None = None,
          event_id: str | None = None, event_ts: str | None = None, subject_hash: str | None = None) -> dict:
    """One ``compliance.audit`` event; fields left as None are absent from it. ``subject_hash``
    (the keyed hash, ``shared_lib.subject_hash``) instead of ``subject_id`` keeps the raw id out
    of the topic."""
    out = {"event_id": event_id or str(uuid.uuid4()), "event_ts": event_ts or utc_now(), "actor": actor,
           "actor_role": role, "action": action, "resource": resource,
           "columns": list(columns) if columns is not None else None, "purpose": purpose, "result": result,
           "subject_id": subject_id, "subject_hash": subject_hash}
    return {k: v for k, v in out.items() if v is not None}


def topic(params: dict) -> str:
    return kafka_lib.topics_of(params, PRODUCT)["audit"]


def _producer(params: dict):
    address = kafka_lib.bootstrap(params)
    if address not in _producers:
        # Fail in seconds, not kafka-python's default minute, when the broker is down.
        ms = int(ACK_TIMEOUT_S * 1000)
        _producers[address] = kafka_lib.producer(params, max_block_ms=ms, bootstrap_timeout_ms=ms,
                                                 client_id="dp-audit", linger_ms=0)
    return _producers[address]


@atexit.register
def close() -> None:
    """Flush and close this process's audit producers."""
    while _producers:
        _, prod = _producers.popitem()
        prod.close(timeout=ACK_TIMEOUT_S)


def send(params: dict, events: Iterable[dict], sent: list | None = None) -> int:
    """Write audit events and wait for every acknowledgement; raises on any failure. ``sent``, when
    given, receives the (topic, partition, offset) of each message written."""
    name = topic(params)
    prod = _producer(params)  # first: with no broker it fails in ACK_TIMEOUT_S, the admin client in more
    key = (kafka_lib.bootstrap(params), name)
    if key not in _topics_checked:
        kafka_lib.ensure_topics(params, [name])
        _topics_checked.add(key)
    futures = [prod.send(name, value=value, key=k) for k, value in kafka_lib.encode_events(events, "subject_id")]
    for f in futures:
        meta = f.get(timeout=ACK_TIMEOUT_S)
        if sent is not None:
            sent.append((meta.topic, meta.partition, meta.offset))
    return len(futures)


def deliver(params: dict, events: list[dict], sent: list | None = None) -> int:
    """``send`` under the failure policy of this module: 0 and a warning when only reads could
    not be recorded; ``AuditError`` when any other action could not."""
    try:
        return send(params, events, sent)
    except Exception as exc:  # the broker's errors have many types; the message names them
        what = ", ".join(sorted({f"{e['action']} {e['resource']}" for e in events}))
        text = (f"could not record {what} in audit topic {topic(params)} at {kafka_lib.bootstrap(params)}: "
                f"{type(exc).__name__}: {exc}")
        if all(e["action"] in WARN_ONLY for e in events):
            logger.warning("%s (the read happened; start Kafka with `dp up` so the next ones are recorded)", text)
            return 0
        raise AuditError(f"{text}; the command stops here: start Kafka (`dp up`) and run it again") from exc


def record(params: dict, actor: str | None, action: str, resource: str, result: str,
           columns: Sequence[str] | None = None, purpose: str | None = None, subject_id: str | None = None,
           role: str | None = None, subject_hash: str | None = None) -> dict | None:
    """Record one action in ``compliance.audit``; ``actor`` None: the person running the command
    (``actor_from_env``). Returns the event sent, or None when a read could not be recorded."""
    if actor is None:
        actor, env_role = actor_from_env()
        role = role or env_role
    ev = event(actor, action, resource, result, columns, purpose, subject_id, role, subject_hash=subject_hash)
    return ev if deliver(params, [ev]) else None


def runs_read(records: Sequence[Mapping], personal: Mapping[str, Sequence[str]], purpose: str = "analytics",
              skip: Iterable[str] = (PRODUCT,)) -> list[dict]:
    """The audit events of one `dp run` from its run records: one ``read`` by the runner's system
    actor per product and personal-data table its notebooks read (never per row), naming the
    table's personal columns; ``failure`` when a notebook that read it failed. ``personal``:
    {table: its personal columns}. Products in ``skip`` are not recorded: compliance-auditing
    reading its own trail would give every run new audit events, so no run would be quiet."""
    found: dict[tuple[str, str], str] = {}
    for rec in records:
        if rec.get("status") not in ("succeeded", "failed") or rec["product"] in skip:
            continue
        for table in json.loads(rec.get("tables_read") or "{}"):
            if table in personal:
                pair = (rec["product"], table)
                found[pair] = "failure" if rec["status"] == "failed" or found.get(pair) == "failure" else "success"
    return [event(SYSTEM_ACTOR, "read", table, result, personal[table], purpose, role=SYSTEM_ROLE)
            for (_, table), result in found.items()]
