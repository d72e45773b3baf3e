"""``dp alerts``: the incidents of the operational-metrics alert log, and acknowledging one
(``dp alerts ack ID [--by NAME]``). The acknowledgement is a row of
``operational-metrics.gold.alert_acks``, written with delta-rs: no service needs to run."""
from __future__ import annotations

import datetime as dt
import getpass

import pyarrow as pa

from products.operational_metrics import incidents
from runners import runlog
from shared_lib import lake, products
from shared_lib.errors import UserError

PRODUCT = "operational-metrics"


def _table(name: str) -> products.Table:
    return products.get(PRODUCT).table(name)


def _records(name: str) -> list[dict]:
    return lake.read(_table(name)).to_dict("records")


def current() -> list[dict]:
    """Every incident, the newest first (``incidents.incidents``)."""
    return incidents.incidents(_records("alerts"), _records("alert_acks"))


def ack(alert_id: str, by: str | None = None, now: dt.datetime | None = None) -> dict:
    """Record that ``by`` (default: the OS user) acknowledged the fired alert ``alert_id``;
    returns the row written."""

    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        row = incidents.acknowledgement(_records("alerts"), _records("alert_acks"), alert_id,
                                        getpass.getuser() if by is None else by, now)
    except incidents.AckRefused as exc:
        raise UserError(f"ack: {exc}") from None
    table = _table("alert_acks")
    schema = runlog.arrow_schema(table)
    lake.append(table, pa.Table.from_pylist([row], schema=schema), description=table.description, name=table.name)
    return row


def format_incidents(rows: list[dict]) -> str:
    if not rows:
        return "no alert has fired yet"
    lines = []
    for r in rows:
        since = f"{r['fired_at']:%Y-%m-%d %H:%M}"
        who = f" by {r['acknowledged_by']}" if r["acknowledged_by"] else ""
        lines.append(f"{r['state']:<12} {since}  {r['alert_id']}{who}\n    {r['message']}")
    return "\n".join(lines)
