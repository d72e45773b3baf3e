"""Sessionization (shared_lib.sessions) and web session rows (products.web_user_analytics.sessions)
on hand-built events, boundaries of metrics.md included, and incremental recomputation checked
against a full recomputation."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from products.web_user_analytics import sessions as web_sessions
from shared_lib import sessions

SCHEMA = ("event_id string, event_type string, event_ts timestamp, anonymous_id string, user_id string, "
          "page_path string, channel string, utm_source string, utm_medium string, utm_campaign string, "
          "referrer_host string, device_type string, country string, order_id string, revenue double, "
          "user_agent string")
DEFAULTS = dict(event_type="page_view", user_id=None, page_path="/", channel="direct", utm_source=None,
                utm_medium=None, utm_campaign=None, referrer_host=None, device_type="desktop", country=None,
                order_id=None, revenue=None, user_agent=None)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def events(spark, rows: list[dict]):
    full = [{**DEFAULTS, **r} for r in rows]
    names = [c.split()[0] for c in SCHEMA.split(", ")]
    return spark.createDataFrame([tuple(r[n] for n in names) for r in full], SCHEMA)


# Listed out of time order on purpose: sessionization goes by event time, not arrival.
BOUNDARY_EVENTS = [
    dict(event_id="g3", anonymous_id="gap", event_ts=ts("2024-03-01 11:00:01"), page_path="/cart"),
    dict(event_id="g1", anonymous_id="gap", event_ts=ts("2024-03-01 10:00:00"), user_id="u-gap", channel="paid"),
    dict(event_id="g2", anonymous_id="gap", event_ts=ts("2024-03-01 10:30:00"), page_path="/product", country="DE"),
    dict(event_id="m2", anonymous_id="night", event_ts=ts("2024-03-02 00:10:00"), event_type="click"),
    dict(event_id="m1", anonymous_id="night", event_ts=ts("2024-03-01 23:50:00")),
    dict(event_id="t1", anonymous_id="ten", event_ts=ts("2024-03-01 12:00:00")),
    dict(event_id="t2", anonymous_id="ten", event_ts=ts("2024-03-01 12:00:10"), event_type="scroll"),
    dict(event_id="h1", anonymous_id="tenhalf", event_ts=ts("2024-03-01 12:00:00")),
    dict(event_id="h2", anonymous_id="tenhalf", event_ts=ts("2024-03-01 12:00:10.500"), event_type="scroll"),
    dict(event_id="b1", anonymous_id="buyer", event_ts=ts("2024-03-01 14:00:00"), page_path="/checkout"),
    dict(event_id="b2", anonymous_id="buyer", event_ts=ts("2024-03-01 14:00:02"), event_type="purchase",
         order_id="o1", revenue=20.0),
    dict(event_id="b3", anonymous_id="buyer", event_ts=ts("2024-03-01 14:00:03"), event_type="purchase",
         order_id="o1", revenue=99.0),  # the same order again: its first event's revenue counts
    dict(event_id="b4", anonymous_id="buyer", event_ts=ts("2024-03-01 14:00:04"), event_type="purchase",
         order_id="o2", revenue=5.5),
    dict(event_id="f1", anonymous_id="form", event_ts=ts("2024-03-01 15:00:00")),
    dict(event_id="f2", anonymous_id="form", event_ts=ts("2024-03-01 15:00:01"), event_type="form_submit"),
    # A tie on event_ts is broken by event_id: "o-a" comes first.
    dict(event_id="o-b", anonymous_id="tie", event_ts=ts("2024-03-01 09:00:00"), page_path="/b", channel="paid"),
    dict(event_id="o-a", anonymous_id="tie", event_ts=ts("2024-03-01 09:00:00"), page_path="/a", channel="email"),
]

# (visitor, start) -> (date, end, duration_s, events, page_views, engaged, landing, exit, channel,
#                      user_id, country, purchases, revenue)
EXPECTED = {
    ("gap", ts("2024-03-01 10:00:00")): (dt.date(2024, 3, 1), ts("2024-03-01 10:30:00"), 1800.0, 2, 2, True,
                                         "/", "/product", "paid", "u-gap", "DE", 0, 0.0),
    ("gap", ts("2024-03-01 11:00:01")): (dt.date(2024, 3, 1), ts("2024-03-01 11:00:01"), 0.0, 1, 1, False,
                                         "/cart", "/cart", "direct", None, None, 0, 0.0),
    ("night", ts("2024-03-01 23:50:00")): (dt.date(2024, 3, 1), ts("2024-03-02 00:10:00"), 1200.0, 2, 1, True,
                                           "/", "/", "direct", None, None, 0, 0.0),
    ("ten", ts("2024-03-01 12:00:00")): (dt.date(2024, 3, 1), ts("2024-03-01 12:00:10"), 10.0, 2, 1, False,
                                         "/", "/", "direct", None, None, 0, 0.0),
    ("tenhalf", ts("2024-03-01 12:00:00")): (dt.date(2024, 3, 1), ts("2024-03-01 12:00:10.500"), 10.5, 2, 1, True,
                                             "/", "/", "direct", None, None, 0, 0.0),
    ("buyer", ts("2024-03-01 14:00:00")): (dt.date(2024, 3, 1), ts("2024-03-01 14:00:04"), 4.0, 4, 1, True,
                                           "/checkout", "/checkout", "direct", None, None, 2, 25.5),
    ("form", ts("2024-03-01 15:00:00")): (dt.date(2024, 3, 1), ts("2024-03-01 15:00:01"), 1.0, 2, 1, True,
                                          "/", "/", "direct", None, None, 0, 0.0),
    ("tie", ts("2024-03-01 09:00:00")): (dt.date(2024, 3, 1), ts("2024-03-01 09:00:00"), 0.0, 2, 2, True,
                                         "/a", "/b", "email", None, None, 0, 0.0),
}
COLUMNS = ("session_date", "session_end", "duration_s", "events", "page_views", "engaged", "landing_page",
           "exit_page", "channel", "user_id", "country", "purchases", "revenue")


def summarize(df, timeout=30):
    return web_sessions.summarize(sessions.assign(df, "anonymous_id", timeout), "test-run")


@pytest.mark.integration
def test_session_rows_on_hand_computed_boundaries(spark):
    rows = summarize(events(spark, BOUNDARY_EVENTS)).collect()
    got = {(r["anonymous_id"], r["session_start"]): tuple(r[c] for c in COLUMNS) for r in rows}
    assert got == EXPECTED
    gap_first = next(r for r in rows if r["anonymous_id"] == "gap" and r["events"] == 2)
    micros = int((ts("2024-03-01 10:00:00") - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
    # Deterministic: a hash of visitor, start and first event id, whatever the input order.
    assert gap_first["session_id"] == hashlib.sha256(f"gap|{micros}|g1".encode()).hexdigest()[:32]
    assert {r["browser"] for r in rows} == {"unknown"}  # no user agent sent


@pytest.mark.integration
def test_a_session_takes_its_first_events_browser(spark):
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
    rows = summarize(events(spark, [
        dict(event_id="b2", anonymous_id="b", event_ts=ts("2024-03-01 10:00:05"), user_agent="curl/8.5.0"),
        dict(event_id="b1", anonymous_id="b", event_ts=ts("2024-03-01 10:00:00"), user_agent=firefox)])).collect()
    assert [r["browser"] for r in rows] == ["Firefox"]


def ids(df) -> dict:
    return {(r["anonymous_id"], r["session_start"]): (r["session_id"], r["session_end"], r["events"])
            for r in df.collect()}


@pytest.mark.integration
def test_incremental_recompute_equals_full_recompute(spark):
    """New events: one between two sessions of v (merging them), one late event just before
    v's third session (extending it), one of a new visitor x. w's session is not touched."""
    old = [dict(event_id=f"v{i}", anonymous_id="v", event_ts=ts(t)) for i, t in enumerate(
        ["2024-03-01 10:00:00", "2024-03-01 10:10:00", "2024-03-01 10:50:00", "2024-03-01 11:00:00",
         "2024-03-01 13:00:00"])] + [dict(event_id="w0", anonymous_id="w", event_ts=ts("2024-03-01 10:20:00"))]
    new = [dict(event_id="n1", anonymous_id="v", event_ts=ts("2024-03-01 10:30:00")),
           dict(event_id="n2", anonymous_id="v", event_ts=ts("2024-03-01 12:30:00")),
           dict(event_id="n3", anonymous_id="x", event_ts=ts("2024-03-01 09:00:00"))]
    old_df, new_df, all_df = events(spark, old), events(spark, new), events(spark, old + new)
    before = summarize(old_df)
    stale = sessions.stale(before, new_df, "anonymous_id", 30)
    assert sorted((r["anonymous_id"], r["session_start"]) for r in stale.collect()) == [
        ("v", ts("2024-03-01 10:00:00")), ("v", ts("2024-03-01 10:50:00")), ("v", ts("2024-03-01 13:00:00"))]
    spans = sessions.intervals(stale, new_df, "anonymous_id")
    recompute = sessions.to_recompute(all_df, spans, "anonymous_id")
    assert sorted(r["event_id"] for r in recompute.collect()) == ["n1", "n2", "n3", "v0", "v1", "v2", "v3", "v4"]
    fresh = summarize(recompute)
    kept = before.join(stale.select("session_id"), "session_id", "left_anti")
    full = ids(summarize(all_df))
    assert ids(kept.unionByName(fresh)) == full
    assert {key: value[1:] for key, value in full.items()} == {
        ("v", ts("2024-03-01 10:00:00")): (ts("2024-03-01 11:00:00"), 5),  # merged by n1
        ("v", ts("2024-03-01 12:30:00")): (ts("2024-03-01 13:00:00"), 2),  # extended back by n2
        ("w", ts("2024-03-01 10:20:00")): (ts("2024-03-01 10:20:00"), 1),
        ("x", ts("2024-03-01 09:00:00")): (ts("2024-03-01 09:00:00"), 1),
    }


@pytest.mark.integration
def test_timeout_is_a_parameter(spark):
    df = events(spark, [dict(event_id="a", anonymous_id="p", event_ts=ts("2024-03-01 10:00:00")),
                        dict(event_id="b", anonymous_id="p", event_ts=ts("2024-03-01 10:45:00"))])
    assert summarize(df, timeout=30).count() == 2
    assert summarize(df, timeout=45).count() == 1
