"""What every product's event generator (``products/<package>/generator.py``) shares: timestamps
as producers write them, the bad inputs of the event contract (events.md), and delivery as a real
at-least-once producer does it - mostly in time order, some late, a few twice, some broken.

A generator builds its good events with its own ``random.Random`` and hands them to ``deliver``
with the same generator, so the whole stream stays deterministic by seed.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from typing import Callable

# Each kind appears at least once when a stream has 100 events or more.
BAD_KINDS = ("malformed_json", "not_object", "missing_field", "bad_type", "bad_value",
             "bad_timestamp", "future_timestamp", "too_large")
LATE_SHARE = 1 / 50  # events swapped out of time order
DUPLICATE_EVERY = 500  # one event in this many is delivered twice


def clock(now: dt.datetime | None) -> dt.datetime:
    """The generator's "now", in UTC: the one given (tests pass a fixed one, so a seed and a now
    always give the same events) or the current time. No good event is later than it: an event
    in the future would show as negative freshness downstream."""
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        raise ValueError(f"now must carry a time zone (UTC), got {now!r}")
    return now.astimezone(dt.timezone.utc)


def first_midnight(now: dt.datetime, days: int) -> dt.datetime:
    """00:00 UTC of the first of ``days`` UTC dates ending with ``now``'s: the window is whole days,
    but for today, which ends at ``now``."""
    return dt.datetime.combine(now.date() - dt.timedelta(days=days - 1), dt.time(), dt.timezone.utc)


def iso(ts: dt.datetime) -> str:
    """ISO-8601 in UTC with milliseconds and ``Z``, as mobile and web SDKs send it."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def split(events: int, bad_share: float) -> tuple[int, int, int]:
    """How many of ``events`` messages are good, duplicates and bad."""
    n_bad = int(events * bad_share) if bad_share > 0 else 0
    if bad_share > 0 and events >= 100:
        n_bad = max(n_bad, len(BAD_KINDS))
    n_dup = max(1, events // DUPLICATE_EVERY) if events >= 100 else 0
    return events - n_bad - n_dup, n_dup, n_bad


def bad_message(kind: str, good: dict, future: dt.datetime, i: int, *, drop: str,
                wrong_type: tuple[str, object], out_of_domain: tuple[str, object]) -> str:
    """A raw message breaking the contract as ``kind`` says, made from the ``good`` event:
    ``drop`` is the required field left out, ``wrong_type`` and ``out_of_domain`` a (field,
    value) that breaks the field's type or domain; ``future`` a time more than 24 h ahead."""
    event = dict(good, event_id=f"bad-{kind}-{i}")
    if kind == "malformed_json":
        return json.dumps(event)[:-7]
    if kind == "not_object":
        return json.dumps([event["event_id"], event["event_type"]])
    if kind == "missing_field":
        event.pop(drop)
    elif kind == "bad_type":
        event[wrong_type[0]] = wrong_type[1]
    elif kind == "bad_value":
        event[out_of_domain[0]] = out_of_domain[1]
    elif kind == "bad_timestamp":
        event["event_ts"] = event["event_ts"].rstrip("Z")  # no zone: ambiguous
    elif kind == "future_timestamp":
        event["event_ts"] = iso(future)
    elif kind == "too_large":
        event["properties"] = {"blob": "x" * (1024 * 1024 + 10)}
    return json.dumps(event)


def deliver(rng: random.Random, produced: list[dict], n_dup: int, n_bad: int,
            make_bad: Callable[[str, dict, int], str]) -> list[dict | str]:
    """The good events ``produced`` as a producer delivers them: sorted by time with some late
    arrivals swapped in, ``n_dup`` of them twice, and ``n_bad`` broken messages
    (``make_bad(kind, good event, i)``) among them. ``produced`` is sorted in place."""
    produced.sort(key=lambda e: e["event_ts"])
    for _ in range(int(len(produced) * LATE_SHARE)):
        i, j = rng.randrange(len(produced)), rng.randrange(len(produced))
        produced[i], produced[j] = produced[j], produced[i]
    out: list[dict | str] = list(produced)
    for _ in range(n_dup):
        out.insert(rng.randrange(len(out) + 1), dict(rng.choice(produced)))
    for i in range(n_bad):
        kind = BAD_KINDS[i % len(BAD_KINDS)] if i < len(BAD_KINDS) else rng.choice(BAD_KINDS[:-1])
        out.insert(rng.randrange(len(out) + 1), make_bad(kind, rng.choice(produced), i))
    return out
