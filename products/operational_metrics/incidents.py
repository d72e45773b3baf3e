"""Incidents: each fired alert with what happened to it since - acknowledged by someone
(``dp alerts ack ID [--by NAME]``, rows of ``alert_acks``), resolved by the rules (the ``alerts``
log). Pure functions on plain rows.

An incident is **open** from the moment its alert fires, **acknowledged** once someone has
acknowledged it (the first acknowledgement counts), and **resolved** when its alert resolves,
acknowledged or not. Acknowledging changes nothing about firing or resolving.
"""
from __future__ import annotations

import datetime as dt

from products.operational_metrics.alerts import FIRED, RESOLVED

OPEN, ACKNOWLEDGED, CLOSED = "open", "acknowledged", "resolved"
STATES = (OPEN, ACKNOWLEDGED, CLOSED)
COLUMNS = ("alert_id", "state", "severity", "product", "rule", "message", "fired_at", "acknowledged_at",
           "acknowledged_by", "resolved_at", "minutes_to_acknowledge", "minutes_to_resolve")


class AckRefused(ValueError):
    """An acknowledgement that cannot be recorded; the message says why and what to do."""


def _minutes(later: dt.datetime | None, earlier: dt.datetime) -> float | None:
    return None if later is None else (later - earlier).total_seconds() / 60


def incidents(alert_log: list[dict], acks: list[dict]) -> list[dict]:
    """One row per fired alert (``COLUMNS``), the newest first."""
    resolved = {r["alert_id"]: r["at"] for r in alert_log if r["event"] == RESOLVED}
    first_ack: dict[str, dict] = {}
    for ack in sorted(acks, key=lambda a: a["acknowledged_at"]):
        first_ack.setdefault(ack["alert_id"], ack)
    out = []
    for row in (r for r in alert_log if r["event"] == FIRED):
        ack = first_ack.get(row["alert_id"], {})
        acked_at, resolved_at = ack.get("acknowledged_at"), resolved.get(row["alert_id"])
        state = CLOSED if resolved_at is not None else ACKNOWLEDGED if acked_at is not None else OPEN
        out.append({"alert_id": row["alert_id"], "state": state, "severity": row["severity"],
                    "product": row["product"], "rule": row["rule"], "message": row.get("message"),
                    "fired_at": row["at"], "acknowledged_at": acked_at, "acknowledged_by": ack.get("acknowledged_by"),
                    "resolved_at": resolved_at, "minutes_to_acknowledge": _minutes(acked_at, row["at"]),
                    "minutes_to_resolve": _minutes(resolved_at, row["at"])})
    return sorted(out, key=lambda r: r["fired_at"], reverse=True)


def counts(rows: list[dict]) -> dict[str, int]:
    """{state: incidents} for every state of ``STATES``."""
    return {s: sum(r["state"] == s for r in rows) for s in STATES}


def acknowledgement(alert_log: list[dict], acks: list[dict], alert_id: str, by: str, now: dt.datetime) -> dict:
    """The ``alert_acks`` row that acknowledges ``alert_id``; ``AckRefused`` when the id is not a
    fired alert, or the incident is acknowledged or resolved already."""
    by = by.strip()
    if not by:
        raise AckRefused("--by needs a name (who acknowledges the alert)")
    rows = {r["alert_id"]: r for r in incidents(alert_log, acks)}
    if alert_id not in rows:
        open_ids = [i for i, r in rows.items() if r["state"] == OPEN]
        hint = f"open alerts: {', '.join(open_ids)}" if open_ids else "no alert is open"
        raise AckRefused(f"no fired alert has the id {alert_id!r} ({hint}; ids are in the dashboard's "
                         f"Incidents section and the alerts table)")
    incident = rows[alert_id]
    if incident["state"] == CLOSED:
        raise AckRefused(f"alert {alert_id} was resolved at {incident['resolved_at']:%Y-%m-%d %H:%M} UTC: "
                         f"nothing to acknowledge")
    if incident["state"] == ACKNOWLEDGED:
        raise AckRefused(f"alert {alert_id} was acknowledged already by {incident['acknowledged_by']} at "
                         f"{incident['acknowledged_at']:%Y-%m-%d %H:%M} UTC")
    return {"alert_id": alert_id, "acknowledged_at": now, "acknowledged_by": by}
