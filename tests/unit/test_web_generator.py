"""The web generator: exactly the events asked for, deterministic by seed, every bad kind present."""
import datetime as dt
import re

from products.web_user_analytics import generator


def test_count_determinism_and_bad_kinds():
    end = dt.date(2026, 11, 20)
    first = list(generator.generate(1000, seed=7, end_date=end))
    again = list(generator.generate(1000, seed=7, end_date=end))
    other = list(generator.generate(1000, seed=8, end_date=end))
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


def test_no_bad_input_when_share_is_zero():
    events = list(generator.generate(300, seed=1, bad_share=0, end_date=dt.date(2026, 1, 1)))
    assert len(events) == 300 and all(isinstance(e, dict) for e in events)
