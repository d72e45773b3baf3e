"""The notification seam: every alert event goes to the log; when ``alerts.webhook_url`` is set,
also as a JSON POST (one per event). A webhook that fails is logged and noted on the alert row,
never a failed run: the alert is in the table either way."""
from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request

LOG = logging.getLogger("dp.alerts")


def payload(event: dict) -> dict:
    """The JSON body of one alert event (timestamps as ISO-8601)."""
    return {k: (v.isoformat() if isinstance(v, (dt.datetime, dt.date)) else v) for k, v in event.items()}


def post(url: str, body: dict, timeout_s: float) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        if response.status >= 300:
            raise OSError(f"HTTP {response.status}")


def notify(events: list[dict], webhook_url: str = "", timeout_s: float = 5.0, log=None) -> list[str]:
    """Send each event; returns, per event, where it went (``log``, ``log+webhook`` or
    ``log; webhook failed: ...``)."""
    log = log or LOG.warning
    done = []
    for event in events:
        log(f"alert {event['event']}: {event['message']}")
        where = "log"
        if webhook_url:
            try:
                post(webhook_url, payload(event), timeout_s)
                where = "log+webhook"
            except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
                # the URL is a secret (it often carries a token): never in a log or a table
                log(f"alert webhook failed: {str(exc).replace(webhook_url, '<webhook>')}")
                where = f"log; webhook failed: {str(exc).replace(webhook_url, '<webhook>')}"[:500]
        done.append(where)
    return done
