"""Incidents from the alert log and the acknowledgements: open, acknowledged, resolved, with
their times; what `dp alerts ack` accepts and refuses."""
from __future__ import annotations

import datetime as dt

import pytest

from products.operational_metrics import incidents

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.timezone.utc)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def alert(alert_id, event, minutes):
    return {"alert_id": alert_id, "event": event, "at": at(minutes), "severity": "warning", "product": "web",
            "rule": alert_id.split(":")[0], "message": f"{alert_id} {event}"}


def ack(alert_id, minutes, by):
    return {"alert_id": alert_id, "acknowledged_at": at(minutes), "acknowledged_by": by}


LOG = [alert("stale:web:a", "fired", 0), alert("stale:web:a", "resolved", 60),
       alert("lag:web:b", "fired", 30), alert("slow:web:c", "fired", 120)]
ACKS = [ack("stale:web:a", 15, "ann"), ack("lag:web:b", 50, "carl"), ack("lag:web:b", 40, "bob")]


def test_each_fired_alert_is_an_incident_with_its_state_and_times():
    rows = {r["alert_id"]: r for r in incidents.incidents(LOG, ACKS)}
    # Acknowledged at 15 min, resolved at 60: resolved wins.
    a = rows["stale:web:a"]
    assert (a["state"], a["acknowledged_by"], a["minutes_to_acknowledge"], a["minutes_to_resolve"]) == \
        ("resolved", "ann", 15.0, 60.0)
    # Two acknowledgements: the first (bob at 40, not carl at 50) counts.
    b = rows["lag:web:b"]
    assert (b["state"], b["acknowledged_by"], b["acknowledged_at"], b["resolved_at"]) == \
        ("acknowledged", "bob", at(40), None)
    assert b["minutes_to_acknowledge"] == 10.0
    c = rows["slow:web:c"]
    assert (c["state"], c["acknowledged_at"], c["minutes_to_acknowledge"]) == ("open", None, None)
    assert [r["alert_id"] for r in incidents.incidents(LOG, ACKS)] == ["slow:web:c", "lag:web:b", "stale:web:a"]
    assert incidents.counts(list(rows.values())) == {"open": 1, "acknowledged": 1, "resolved": 1}


def test_an_open_alert_can_be_acknowledged_once():
    row = incidents.acknowledgement(LOG, ACKS, "slow:web:c", " dana ", at(130))
    assert row == {"alert_id": "slow:web:c", "acknowledged_at": at(130), "acknowledged_by": "dana"}
    states = {r["alert_id"]: r["state"] for r in incidents.incidents(LOG, ACKS + [row])}
    assert states["slow:web:c"] == "acknowledged"
    with pytest.raises(incidents.AckRefused, match="acknowledged already by dana"):
        incidents.acknowledgement(LOG, ACKS + [row], "slow:web:c", "erin", at(131))


@pytest.mark.parametrize("alert_id, by, message", [
    ("stale:web:a", "x", "resolved at 2026-11-02 11:00 UTC: nothing to acknowledge"),
    ("lag:web:b", "x", "acknowledged already by bob at 2026-11-02 10:40 UTC"),
    ("nope", "x", "no fired alert has the id 'nope' \\(open alerts: slow:web:c;"),
    ("slow:web:c", "  ", "--by needs a name"),
])
def test_acknowledging_what_cannot_be_says_why(alert_id, by, message):
    with pytest.raises(incidents.AckRefused, match=message):
        incidents.acknowledgement(LOG, ACKS, alert_id, by, at(200))
