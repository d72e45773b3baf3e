"""Timestamps as aware UTC datetimes: Spark hands back naive ones (in the session's UTC time
zone), delta-rs and ``datetime.now(timezone.utc)`` aware ones, and the two cannot be compared."""
from __future__ import annotations

import datetime as dt


def as_utc(value) -> dt.datetime | None:
    """``value`` (a datetime, a pandas Timestamp or None) as an aware UTC datetime; naive is UTC."""
    if value is None or value != value:  # None, NaT
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
