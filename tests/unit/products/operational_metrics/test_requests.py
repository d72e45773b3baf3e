"""Request logs: the contract, the hourly gold metrics (continuous percentiles and 5xx error
rates, hand-computed) and the pipeline-health row builders, on tiny DataFrames."""


from __future__ import annotations

import datetime as dt

from products.operational_metrics import generator, health

UTC = dt.timezone.utc


def test_lag_row_counts_unread_messages_and_their_age():
    now = dt.datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    end, begin = {0: 10, 1: 5, 2: 7}, {0: 0, 1: 0, 2: 3}
    ingested = {0: 9, 1: 1}  # partition 2 never read: it starts at the broker's earliest offset, 3
    first_unread = {1: int((now.timestamp() - 120) * 1000), 2: int((now.timestamp() - 30) * 1000)}
    row = health.lag_row("t", "p", end, begin, ingested, first_unread, now)
    assert (row["end_offset"], row["ingested_offset"], row["lag_messages"], row["lag_seconds"]) == (22, 15, 7, 120.0)
    caught_up = health.lag_row("t", "p", {0: 10}, {0: 0}, {0: 9}, {}, now)
    assert (caught_up["lag_messages"], caught_up["lag_seconds"]) == (0, 0.0)


def test_freshness_row():
    now = dt.datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    entry = {"name": "p.silver.events", "product": "p", "layer": "silver", "version": 3,
             "last_commit": "2024-05-02T11:55:00+00:00"}
    row = health.freshness_row(entry, dt.datetime(2024, 5, 2, 11, 0, tzinfo=UTC), now)
    assert (row["freshness_s"], row["event_freshness_s"]) == (300.0, 3600.0)
    assert health.freshness_row({**entry, "last_commit": None}, None, now)["freshness_s"] is None


def test_generator_is_deterministic_with_diurnal_load_and_an_incident():
    end = dt.datetime(2024, 5, 3, 0, 0, tzinfo=UTC)
    events = list(generator.generate(20000, 7, days=2, now=end))
    assert events == list(generator.generate(20000, 7, days=2, now=end))
    good = [e for e in events if isinstance(e, dict)]
    newest = max(dt.datetime.fromisoformat(e["event_ts"]) for e in good)
    assert end - dt.timedelta(minutes=10) < newest <= end  # requests up to now, none later
    bad = [e for e in events if isinstance(e, str)]
    assert len(events) == 20000 and len(bad) == 100 and len(good) == 19900
    assert len({e["event_id"] for e in good}) == 19900 - 20  # 20 duplicate deliveries
    assert all(kind in " ".join(bad) for kind in generator.BAD_KINDS)
    by_hour = [sum(1 for e in good if int(e["event_ts"][11:13]) == h) for h in range(24)]
    assert min(by_hour[2:5]) * 3 < max(by_hour[13:17])  # night against mid-afternoon
    start, stop = generator.incident_window(end, 2)
    assert (start, stop) == (dt.datetime(2024, 5, 2, 9, 0, tzinfo=UTC),  # 70 % of 48 h in: 09:36, on the hour
                             dt.datetime(2024, 5, 2, 10, 30, tzinfo=UTC))
    assert stop < end  # the incident is over: it lies in the past
    def web_api(inside: bool):
        rows = [e for e in good if e["service"] == "web-api"
                and (start <= dt.datetime.fromisoformat(e["event_ts"]) < stop) == inside]
        return sum(e["status_code"] >= 500 for e in rows) / len(rows), sorted(e["latency_ms"] for e in rows)

    error_in, latency_in = web_api(True)
    error_out, latency_out = web_api(False)
    assert error_in > 0.1 > 0.02 > error_out
    assert latency_in[len(latency_in) // 2] > 4 * latency_out[len(latency_out) // 2]


def test_generator_ends_at_now_and_the_incident_is_past_even_at_one_day():
    now = dt.datetime(2024, 5, 2, 0, 20, 30, 123456, tzinfo=UTC)
    good = [e for e in generator.generate(3000, 1, days=1, now=now) if isinstance(e, dict)]
    assert max(e["event_ts"] for e in good) <= "2024-05-02T00:20:30.123Z"
    assert min(e["event_ts"] for e in good) >= "2024-05-01T00:20:30.123Z"
    start, stop = generator.incident_window(now, 1)  # 70 % of 24 h after 2024-05-01 00:20:30: 17:08
    assert (start, stop) == (dt.datetime(2024, 5, 1, 17, 0, tzinfo=UTC), dt.datetime(2024, 5, 1, 18, 30, tzinfo=UTC))
