"""When a schedule is due: its interval since the last start, boundary included."""
from runners.schedule import due, seconds_until_next

SCHEDULES = {"hourly": {"every_minutes": 60}, "daily": {"every_minutes": 1440}}


def test_never_started_is_due():
    assert due(SCHEDULES, {}, now=1000.0) == ["daily", "hourly"]


def test_interval_boundary():
    last = {"hourly": 0.0, "daily": 0.0}
    assert due(SCHEDULES, last, now=3599.0) == []
    assert due(SCHEDULES, last, now=3600.0) == ["hourly"]
    assert due(SCHEDULES, last, now=86400.0) == ["daily", "hourly"]


def test_seconds_until_next():
    assert seconds_until_next(SCHEDULES, {"hourly": 0.0, "daily": 0.0}, now=600.0) == 3000.0
    assert seconds_until_next(SCHEDULES, {"hourly": 0.0, "daily": 0.0}, now=99999.0) == 0.0
