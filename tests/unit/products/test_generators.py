"""Every product's generator (``dp generate``) stops at now: with a fixed end time, no message's
timestamp lies after it - except the deliberate ``future_timestamp`` bad inputs, which exist to be
quarantined - and the same seed and end time give the same messages."""
import datetime as dt
import importlib
import json

import pytest

from shared_lib import paths, products

END = dt.datetime(2026, 11, 21, 0, 20, tzinfo=dt.timezone.utc)  # just after midnight: today barely begun
WITH_GENERATOR = sorted(name for name in products.all_products()
                        if importlib.util.find_spec(f"products.{paths.package_name(name)}.generator"))


def timestamp(message) -> dt.datetime | None:
    """The event time of a message, when it carries one with a time zone."""
    try:
        event = message if isinstance(message, dict) else json.loads(message)
        ts = event["event_ts"]
        parsed = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")) if isinstance(ts, str) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def test_the_event_products_have_generators():
    assert WITH_GENERATOR == ["compliance-auditing", "mobile-user-analytics", "operational-metrics",
                              "web-user-analytics"]


@pytest.mark.parametrize("product", WITH_GENERATOR)
def test_no_message_lies_after_the_end_time(product):
    generator = importlib.import_module(f"products.{paths.package_name(product)}.generator")
    messages = list(generator.generate(3000, seed=11, days=2, now=END))
    assert messages == list(generator.generate(3000, seed=11, days=2, now=END))
    future = [m for m in messages if isinstance(m, str) and '"bad-future_timestamp-' in m]
    times = [timestamp(m) for m in messages if not any(m is f for f in future)]
    assert sum(t is not None for t in times) > 2900
    assert max(t for t in times if t is not None) <= END
    assert all(timestamp(m) > END + dt.timedelta(days=1) for m in future)  # quarantined downstream
