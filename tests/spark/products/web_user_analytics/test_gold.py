"""Gold metrics (daily KPIs, breakdowns, page metrics, funnel) on a hand-built two-day event set
whose every expected value is worked out by hand below. Silver's pure steps build the sessions."""


from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from products.web_user_analytics import funnel, kpis
from products.web_user_analytics import sessions as web_sessions
from shared_lib import aggregates, sessions

D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


SCHEMA = ("event_id string, event_type string, event_ts timestamp, anonymous_id string, user_id string, "
          "page_path string, page_load_ms int, order_id string, revenue double, channel string, "
          "device_type string, country string, is_bot boolean")


def e(event_id, visitor, when, event_type="page_view", path=None, load=None, order=None, revenue=None,
      user=None, channel="direct", device="desktop", country=None, bot=False):
    return (event_id, event_type, dt.datetime.fromisoformat(when), visitor, user, path, load, order, revenue,
            channel, device, country, bot)


EVENTS = [
    # A: paid session through the whole funnel (u1, DE, desktop); a later bounce on D1.
    e("a1", "A", "2024-03-01 10:00:00", path="/", load=100, user="u1", channel="paid", country="DE"),
    e("a2", "A", "2024-03-01 10:00:20", path="/product", load=300, user="u1", country="DE"),
    e("a3", "A", "2024-03-01 10:01:00", path="/cart", user="u1", country="DE"),
    e("a4", "A", "2024-03-01 10:02:00", path="/checkout", load=200, user="u1", country="DE"),
    e("a5", "A", "2024-03-01 10:03:00", "purchase", order="o1", revenue=50.0, user="u1", country="DE"),
    e("a6", "A", "2024-03-01 18:00:00", path="/", user="u1", country="DE"),
    # B: product before home - the closed funnel counts home only (mobile, no country).
    e("b1", "B", "2024-03-01 11:00:00", path="/product", load=400, device="mobile"),
    e("b2", "B", "2024-03-01 11:00:05", path="/", load=500, device="mobile"),
    # C: a session across midnight (belongs to D1), then a bounce on D2.
    e("c1", "C", "2024-03-01 23:59:00", path="/", load=100, user="u2", channel="organic", device="mobile",
      country="DE"),
    e("c2", "C", "2024-03-02 00:00:30", path="/product", user="u2", device="mobile", country="DE"),
    e("c3", "C", "2024-03-02 02:00:00", path="/", user="u2", device="mobile", country="DE"),
    # D: two orders, one sent twice (the first event's revenue counts); no funnel step 1.
    e("d1", "D", "2024-03-01 12:00:00", path="/checkout", device="tablet", country="FR"),
    e("d2", "D", "2024-03-01 12:00:01", "purchase", order="o2", revenue=10.0, device="tablet", country="FR"),
    e("d3", "D", "2024-03-01 12:00:02", "purchase", order="o2", revenue=30.0, device="tablet", country="FR"),
    e("d4", "D", "2024-03-01 12:00:03", "purchase", order="o3", revenue=5.0, device="tablet", country="FR"),
    # E: two page views at the same instant; /product counts as reached at the time of home.
    e("e0", "E", "2024-03-02 05:00:00", path="/product", channel="social"),
    e("e1", "E", "2024-03-02 05:00:00", path="/", channel="social"),
    # Bots: counted in bot_events by their own date, channel, device and country, nowhere else.
    e("x1", "BOT", "2024-03-01 10:00:00", path="/", device="unknown", country="US", bot=True),
    e("x2", "BOT", "2024-03-02 01:00:00", path="/", channel="referral", device="unknown", bot=True),
]


KPI = ("visitors", "users", "sessions", "page_views", "engaged_sessions", "engagement_rate", "bounce_rate",
       "avg_session_duration_s", "pages_per_session", "purchases", "revenue", "conversion_rate", "bot_events")


@pytest.fixture(scope="module")
def silver(spark):
    events = spark.createDataFrame(EVENTS, SCHEMA).withColumn("event_date", F.to_date("event_ts"))
    for absent in ("utm_source", "utm_medium", "utm_campaign", "referrer_host", "user_agent"):
        events = events.withColumn(absent, F.lit(None).cast("string"))
    sessionized = sessions.assign(events.where(~F.col("is_bot")), "anonymous_id", 30)
    session_rows = web_sessions.summarize(sessionized, "test").persist()
    in_sessions = kpis.session_events(session_rows, events).persist()
    return session_rows, in_sessions, events.where("is_bot")


def kpi_rows(df, keys):
    return {tuple(r[k] for k in keys): tuple(r[c] for c in KPI) for r in df.collect()}


@pytest.mark.integration
def test_daily_kpis(silver):
    got = kpi_rows(kpis.daily_kpis(*silver), ["date"])
    assert got == {
        # sessions SA(180 s, 4 pv, order o1), SA2(0 s), SB(5 s, 2 pv), SC(90 s, 2 pv), SD(3 s, o2 + o3)
        (D1,): (4, 2, 5, 10, 4, 0.8, pytest.approx(0.2), 55.6, 2.0, 3, 65.0, 0.4, 1),
        # sessions SC2 (0 s, 1 pv) and SE (0 s, 2 pv)
        (D2,): (2, 1, 2, 3, 1, 0.5, 0.5, 0.0, 1.5, 0, 0.0, 0.0, 1),
    }


@pytest.mark.integration
def test_daily_kpis_by_channel_device_country(silver):
    by_channel = kpi_rows(kpis.daily_kpis(*silver, ["channel"]), ["date", "channel"])
    assert by_channel == {
        (D1, "paid"): (1, 1, 1, 4, 1, 1.0, 0.0, 180.0, 4.0, 1, 50.0, 1.0, 0),
        (D1, "direct"): (3, 1, 3, 4, 2, pytest.approx(2 / 3), pytest.approx(1 / 3), pytest.approx(8 / 3),
                         pytest.approx(4 / 3), 2, 15.0, pytest.approx(1 / 3), 1),
        (D1, "organic"): (1, 1, 1, 2, 1, 1.0, 0.0, 90.0, 2.0, 0, 0.0, 0.0, 0),
        (D2, "direct"): (1, 1, 1, 1, 0, 0.0, 1.0, 0.0, 1.0, 0, 0.0, 0.0, 0),
        (D2, "social"): (1, 0, 1, 2, 1, 1.0, 0.0, 0.0, 2.0, 0, 0.0, 0.0, 0),
        # Only a bot on this date and channel: no sessions, so no rates.
        (D2, "referral"): (0, 0, 0, 0, 0, None, None, None, None, 0, 0.0, None, 1),
    }
    by_country = kpi_rows(kpis.daily_kpis(*silver, ["country"]), ["date", "country"])
    assert {k: v[:5] + v[-1:] for k, v in by_country.items()} == {
        (D1, "DE"): (2, 2, 3, 7, 2, 0), (D1, None): (1, 0, 1, 2, 1, 0), (D1, "FR"): (1, 0, 1, 1, 1, 0),
        (D1, "US"): (0, 0, 0, 0, 0, 1), (D2, "DE"): (1, 1, 1, 1, 0, 0), (D2, None): (1, 0, 1, 2, 1, 1)}
    by_device = kpi_rows(kpis.daily_kpis(*silver, ["device_type"]), ["date", "device_type"])
    assert {k: v[2] for k, v in by_device.items()} == {
        (D1, "desktop"): 2, (D1, "mobile"): 2, (D1, "tablet"): 1, (D1, "unknown"): 0,
        (D2, "mobile"): 1, (D2, "desktop"): 1, (D2, "unknown"): 0}


@pytest.mark.integration
def test_page_metrics(silver):
    sessions_df, in_sessions, _ = silver
    got = {(r["date"], r["page_path"]): tuple(r)[2:] for r in kpis.page_metrics(sessions_df, in_sessions).collect()}
    # (page_views, unique_visitors, entrances, exits, exit_rate, load_ms_p50, load_ms_p95)
    assert got == {
        (D1, "/"): (4, 3, 3, 2, 0.5, 100.0, pytest.approx(460.0)),  # loads 100, 100, 500 (a6 none)
        (D1, "/product"): (3, 3, 1, 1, pytest.approx(1 / 3), 350.0, pytest.approx(395.0)),  # c2 is in a D1 session
        (D1, "/cart"): (1, 1, 0, 0, 0.0, None, None),
        (D1, "/checkout"): (2, 2, 1, 2, 1.0, 200.0, 200.0),
        (D2, "/"): (2, 2, 1, 2, 1.0, None, None),
        (D2, "/product"): (1, 1, 1, 0, 0.0, None, None),
    }


@pytest.mark.integration
def test_closed_funnel(silver, params):
    steps = funnel.steps_from_params(params["web-user-analytics"]["gold"]["funnel_steps"])
    sessions_df, in_sessions, _ = silver
    rows = funnel.funnel(sessions_df, in_sessions, steps).collect()
    got = {(r["date"], r["step"]): (r["step_name"], r["sessions_reached"], r["conversion_from_start"],
                                    r["step_conversion"]) for r in rows}
    assert got == {
        (D1, 1): ("home", 4, 1.0, None), (D1, 2): ("product", 2, 0.5, 0.5), (D1, 3): ("cart", 1, 0.25, 0.5),
        (D1, 4): ("checkout", 1, 0.25, 1.0), (D1, 5): ("purchase", 1, 0.25, 1.0),
        (D2, 1): ("home", 2, 1.0, None), (D2, 2): ("product", 1, 0.5, 0.5), (D2, 3): ("cart", 0, 0.0, 0.0),
        (D2, 4): ("checkout", 0, 0.0, None), (D2, 5): ("purchase", 0, 0.0, None),
    }


@pytest.mark.integration
def test_sums_are_exact_so_a_recomputed_date_gives_the_same_value(spark):
    df = spark.createDataFrame([(0.1,), (0.2,)], "x double")
    # Added as doubles, 0.1 + 0.2 is 0.30000000000000004.
    assert df.agg(aggregates.exact_sum("x").alias("s")).first()["s"] == 0.3
