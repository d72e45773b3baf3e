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


def test_overrides_change_the_schedules_and_reach_every_run(tmp_path, monkeypatch):
    from runners import run, schedule

    monkeypatch.setenv("DP_HOME", str(tmp_path))
    started = []
    # run.run needs the services: what it is given is what this test is about
    monkeypatch.setattr(run, "run", lambda **kw: started.append(kw) or type("S", (), {"ok": True})())
    schedule.write_state({"all-hourly": 0.0, "retention-daily": 0.0, "maintenance-daily": 0.0})
    overrides = ["platform.schedules.all-hourly.every_minutes=1",
                 "platform.schedules.all-hourly.products=[web-user-analytics]"]
    assert schedule.run_due("dev", log=lambda _: None, now=61.0, overrides=overrides) == [("all-hourly", True)]
    assert [(kw["products"], kw["overrides"]) for kw in started] == [(["web-user-analytics"], overrides)]
    # A minute later: due again with the overrides, not without (hourly)
    assert schedule.run_due("dev", log=lambda _: None, now=121.0) == []
    assert schedule.run_due("dev", log=lambda _: None, now=121.0, overrides=overrides) == [("all-hourly", True)]
