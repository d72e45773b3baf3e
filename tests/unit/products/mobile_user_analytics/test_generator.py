"""The mobile generator: exactly the events asked for, deterministic by seed, every bad kind
present, and the shape the dashboard needs (two platforms, several versions, crashes mostly in
one version, installs spread over the window, retention that decays), none after now."""
import collections
import datetime as dt
import re

from products.mobile_user_analytics import generator

NOW = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.timezone.utc)
END = NOW.date()


def test_count_determinism_and_bad_kinds():
    first = list(generator.generate(2000, seed=7, now=NOW))
    assert first == list(generator.generate(2000, seed=7, now=NOW))
    assert first != list(generator.generate(2000, seed=8, now=NOW))
    assert len(first) == 2000
    bad = [e for e in first if isinstance(e, str)]
    assert len(bad) == 20  # 1 % of 2000
    assert {re.search(r"bad-([a-z_]+)-\d+", raw).group(1) for raw in bad} == set(generator.BAD_KINDS)
    ids = [e["event_id"] for e in first if isinstance(e, dict)]
    assert len(ids) - len(set(ids)) == 4  # 2000 // 500 duplicates delivered twice


def test_platforms_versions_crashes_and_decay():
    good = [e for e in generator.generate(20000, seed=3, now=NOW) if isinstance(e, dict)]
    newest = max(dt.datetime.fromisoformat(e["event_ts"]) for e in good)
    assert NOW - dt.timedelta(hours=1) < newest <= NOW  # used up to now, never later
    assert {e["platform"] for e in good} == {"ios", "android"}
    assert {e["app_version"] for e in good} == {v for v, _ in generator.RELEASES}
    crashes = collections.Counter((e["platform"], e["app_version"]) for e in good if e["event_type"] == "crash")
    assert crashes.most_common(1)[0][0] == generator.CRASHY
    first_day = END - dt.timedelta(days=41)
    dates = {e["event_ts"][:10] for e in good}
    assert min(dates) == first_day.isoformat() and max(dates) == END.isoformat()
    # Devices come back less and less: more of them on their day 1 than on their day 7 or 30.
    active = collections.defaultdict(set)
    for e in good:
        active[e["device_id"]].add(dt.date.fromisoformat(e["event_ts"][:10]))
    back = collections.Counter(n for days in active.values() for n in (1, 7, 30) if min(days) + dt.timedelta(n) in days)
    assert back[1] > back[7] > back[30] > 0
    # A device updated during a day: two versions among one day's events.
    versions = collections.defaultdict(set)
    for e in good:
        versions[(e["device_id"], e["event_ts"][:10])].add(e["app_version"])
    assert any(len(v) > 1 for v in versions.values())


def test_no_event_after_now_just_after_midnight():
    """Today has barely begun: sessions started before now keep their events so far, none later."""
    now = dt.datetime(2026, 11, 21, 0, 5, tzinfo=dt.timezone.utc)
    good = [e for e in generator.generate(3000, seed=5, days=14, now=now) if isinstance(e, dict)]
    assert max(e["event_ts"] for e in good) <= "2026-11-21T00:05:00.000Z"
    assert min(e["event_ts"] for e in good)[:10] == "2026-11-08"  # 14 UTC days ending today
