"""Alert rules over the evaluation history: consecutive breaches, cooldown, resolution; rules
from the parameters; the notifier with a local HTTP receiver."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

from products.operational_metrics import alerts, notify
from shared_lib import paths
from tests import factories

T0 = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.timezone.utc)
SLOW = alerts.Rule("slow-api", "api_p99_latency_ms", ">", 1500.0, "warning", consecutive=3, cooldown_minutes=60)


def replay(rule, values, every_minutes=10):
    """Evaluate ``values`` one evaluation at a time, as the sla notebook does; returns
    [(index, event)] of the alert events, keeping the alert log between evaluations."""
    log, seen, out = [], [], []
    for i, value in enumerate(values):
        now = T0 + dt.timedelta(minutes=every_minutes * i)
        seen.append(value)
        events = alerts.evaluate([rule], {("ops", rule.metric): list(seen)}, alerts.states_from_log(log),
                                 {("ops", rule.metric)}, now)
        log += events
        out += [(i, e["event"]) for e in events]
    return out


def test_three_consecutive_breaches_fire_on_the_third_not_before():
    assert replay(SLOW, [2000, 2000]) == []
    assert replay(SLOW, [2000, 2000, 2000]) == [(2, "fired")]
    # exactly the threshold is no breach of ">": the streak starts again
    assert replay(SLOW, [2000, 2000, 1500, 2000, 2000]) == []
    assert replay(SLOW, [2000, 2000, 1500, 2000, 2000, 1600]) == [(5, "fired")]


def test_open_alert_fires_once_and_resolves_at_the_first_good_value():
    assert replay(SLOW, [2000, 2000, 2000, 2500, 3000, 900, 900]) == [(2, "fired"), (5, "resolved")]


def test_cooldown_holds_back_a_new_fire_until_it_has_passed():
    # fired at 20 min, resolved at 30, breaching again from 40: the streak is complete at 60 min,
    # but the cooldown (60 min after 20) ends at 80 min: fires there, not at 60 or 70.
    values = [2000, 2000, 2000, 100, 2000, 2000, 2000, 2000, 2000, 2000]
    assert replay(SLOW, values) == [(2, "fired"), (3, "resolved"), (8, "fired")]
    no_cooldown = alerts.Rule("slow-api", "api_p99_latency_ms", ">", 1500.0, "warning", 3, 0)
    assert replay(no_cooldown, values) == [(2, "fired"), (3, "resolved"), (6, "fired")]


def test_higher_is_better_rule_and_products_filter():
    rule = alerts.Rule("failures", "pipeline_success_rate", "<", 0.99, "critical", consecutive=1,
                       cooldown_minutes=0, products=("web",))
    history = {("web", rule.metric): [0.98], ("ops", rule.metric): [0.5]}
    events = alerts.evaluate([rule], history, {}, set(history), T0)
    assert [(e["product"], e["event"], e["value"], e["alert_id"]) for e in events] == [
        ("web", "fired", 0.98, "failures:web:20240502T120000Z")]
    assert events[0]["message"] == ("[critical] web: pipeline_success_rate = 0.98 < 0.99 at 1 consecutive "
                                    "evaluation(s) (rule failures)")
    assert alerts.evaluate([rule], {("web", rule.metric): [0.99]}, {}, {("web", rule.metric)}, T0) == []


def test_not_evaluated_now_neither_fires_nor_resolves():
    state = {("slow-api", "ops"): alerts.AlertState(open_id="x", last_fired_at=T0)}
    assert alerts.evaluate([SLOW], {("ops", SLOW.metric): [2000, 100]}, state, set(), T0) == []


def test_rules_of_the_parameters_are_valid():
    base = yaml.safe_load((paths.PARAMETERS_DIR / "base" / "operational-metrics.yaml").read_text())
    rules = alerts.rules(base["alerts"]["rules"])
    assert {r.name: (r.metric, r.consecutive) for r in rules}["slow-api"] == ("api_p99_latency_ms", 3)
    with pytest.raises(ValueError, match="rules.bad: comparison must be one of"):
        alerts.rules({"bad": {"metric": "api_p99_latency_ms", "comparison": "~", "threshold": 1, "severity": "warning",
                              "consecutive": 1, "cooldown_minutes": 0}})


def test_open_alerts_from_the_log():
    log = [{"at": T0, "alert_id": "a", "event": "fired", "rule": "r", "product": "p"},
           {"at": T0 + dt.timedelta(hours=1), "alert_id": "a", "event": "resolved", "rule": "r", "product": "p"},
           {"at": T0 + dt.timedelta(hours=2), "alert_id": "b", "event": "fired", "rule": "r", "product": "p"},
           {"at": T0, "alert_id": "c", "event": "fired", "rule": "r", "product": "q"}]
    assert [r["alert_id"] for r in alerts.open_alerts(log)] == ["b", "c"]


def test_a_log_read_through_spark_has_naive_utc_times_and_the_cooldown_still_counts():
    # Spark's toPandas gives naive timestamps (UTC session); the notebook's `now` is aware.
    import pandas as pd
    log = [{"at": pd.Timestamp("2024-05-02 11:30:00"), "alert_id": "a", "event": "fired", "rule": "slow-api",
            "product": "ops"},
           {"at": pd.Timestamp("2024-05-02 11:40:00"), "alert_id": "a", "event": "resolved", "rule": "slow-api",
            "product": "ops"}]
    states = alerts.states_from_log(log)
    assert states[("slow-api", "ops")].last_fired_at == T0 - dt.timedelta(minutes=30)
    # Fired 30 minutes ago, cooldown 60: three breaches do not fire again yet; at 12:30 they do.
    assert alerts.decide(SLOW, [2000, 2000, 2000], states[("slow-api", "ops")], T0) is None
    assert alerts.decide(SLOW, [2000, 2000, 2000], states[("slow-api", "ops")],
                         T0 + dt.timedelta(minutes=30)) == alerts.FIRED


@pytest.fixture
def receiver():
    with factories.http_receiver() as found:
        yield found


def test_notifier_logs_always_and_posts_json_to_the_webhook(receiver):
    url, received = receiver
    events = alerts.evaluate([SLOW], {("ops", SLOW.metric): [2000, 2000, 2000]}, {}, {("ops", SLOW.metric)}, T0)
    lines = []
    assert notify.notify(events, url, 5.0, log=lines.append) == ["log+webhook"]
    assert lines == [f"alert fired: {events[0]['message']}"]
    assert received == [{**{k: v for k, v in events[0].items() if k not in ("at", "date")},
                         "at": "2024-05-02T12:00:00+00:00", "date": "2024-05-02"}]
    # no URL: the log only; a dead URL: noted, never raised
    assert notify.notify(events, "", log=lines.append) == ["log"]
    [failed] = notify.notify(events, "http://127.0.0.1:9/nothing", 1.0, log=lines.append)
    assert failed.startswith("log; webhook failed:")
