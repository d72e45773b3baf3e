"""The web generator: exactly the events asked for, deterministic by seed and now, every bad kind
present, none of the good ones after now."""
import datetime as dt
import re

import pytest

from products.web_user_analytics import generator

NOW = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.timezone.utc)


def test_count_determinism_and_bad_kinds():
    end = NOW.date()
    first = list(generator.generate(1000, seed=7, now=NOW))
    again = list(generator.generate(1000, seed=7, now=NOW))
    other = list(generator.generate(1000, seed=8, now=NOW))
    assert first != list(generator.generate(1000, seed=7, now=NOW - dt.timedelta(hours=1)))
    assert len(first) == 1000
    assert first == again and first != other
    bad = [e for e in first if isinstance(e, str)]
    assert len(bad) == 10  # 1 % of 1000
    kinds = {re.search(r"bad-([a-z_]+)-\d+", raw).group(1) for raw in bad}
    assert kinds == set(generator.BAD_KINDS)
    good = [e for e in first if isinstance(e, dict)]
    ids = [e["event_id"] for e in good]
    assert len(ids) - len(set(ids)) == 2  # 1000 // 500 duplicates delivered twice
    assert all(e["event_ts"].endswith("Z") for e in good)
    days = {e["event_ts"][:10] for e in good}
    assert days <= {(end - dt.timedelta(days=d)).isoformat() for d in range(7)}
    assert min(days) == "2026-11-14" and max(days) == "2026-11-20"


def test_no_event_after_now_and_traffic_up_to_it():
    """Sessions go on until now (fresh data), none of their events later: a session still going on
    at now has only the events it has had so far. Just after midnight too."""
    for now in (NOW, dt.datetime(2026, 11, 21, 0, 10, tzinfo=dt.timezone.utc)):
        for days in (7, 1):
            good = [e for e in generator.generate(2000, seed=3, days=days, now=now) if isinstance(e, dict)]
            newest = max(dt.datetime.fromisoformat(e["event_ts"]) for e in good)
            assert now - dt.timedelta(hours=2) < newest <= now, (now, days, newest)


def test_now_needs_a_time_zone():
    with pytest.raises(ValueError, match="time zone"):
        generator.generate(10, seed=1, now=dt.datetime(2026, 11, 20, 12))


def test_no_bad_input_when_share_is_zero():
    events = list(generator.generate(300, seed=1, bad_share=0, now=dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone.utc)))
    assert len(events) == 300 and all(isinstance(e, dict) for e in events)
