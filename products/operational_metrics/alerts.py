"""Alert rules (parameters ``alerts.rules``) over the SLA evaluation history. Pure functions.

A rule watches one SLA metric of every product (or of the products it names). A value breaches
when ``value <comparison> threshold`` holds. At each evaluation, for each rule and product:

- an open alert resolves at the first evaluation whose value does not breach;
- otherwise an alert fires when the last ``consecutive`` evaluations all breached and no alert
  of the same rule and product fired within the last ``cooldown_minutes``;
- a product whose metric was not evaluated this time neither fires nor resolves.
"""
from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass

from products.operational_metrics.service_levels import METRICS
from shared_lib.utc import as_utc

COMPARISONS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
SEVERITIES = ("info", "warning", "critical")
FIRED, RESOLVED = "fired", "resolved"


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str
    comparison: str
    threshold: float
    severity: str
    consecutive: int = 1
    cooldown_minutes: float = 0.0
    products: tuple[str, ...] = ()  # empty: every product

    def __post_init__(self):
        where = f"operational-metrics.alerts.rules.{self.name}"
        if self.metric not in METRICS:
            raise ValueError(f"{where}: unknown metric {self.metric!r}; expected one of {', '.join(METRICS)}")
        if self.comparison not in COMPARISONS:
            raise ValueError(f"{where}: comparison must be one of {', '.join(COMPARISONS)}, got {self.comparison!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")
        if self.consecutive < 1 or self.cooldown_minutes < 0:
            raise ValueError(f"{where}: consecutive must be >= 1 and cooldown_minutes >= 0")

    def breaches(self, value: float | None) -> bool:
        return value is not None and COMPARISONS[self.comparison](value, self.threshold)

    def applies_to(self, product: str) -> bool:
        return not self.products or product in self.products


def rules(config: dict) -> list[Rule]:
    return [Rule(name, r["metric"], r["comparison"], float(r["threshold"]), r["severity"], int(r["consecutive"]),
                 float(r["cooldown_minutes"]), tuple(r.get("products") or ())) for name, r in config.items()]


@dataclass(frozen=True)
class AlertState:
    """What the alert log says about one rule and product."""
    open_id: str | None = None  # id of the open alert, if one is open
    last_fired_at: dt.datetime | None = None


def decide(rule: Rule, values: list[float], state: AlertState, now: dt.datetime) -> str | None:
    """``fired``, ``resolved`` or None, given the metric's values at the evaluations so far,
    oldest first, the last one being ``now``'s."""
    breached = [rule.breaches(v) for v in values]
    if state.open_id is not None:
        return RESOLVED if not breached[-1] else None
    streak = len(breached) - (max((i for i, b in enumerate(breached) if not b), default=-1) + 1)
    cooled = (state.last_fired_at is None
              or now - state.last_fired_at >= dt.timedelta(minutes=rule.cooldown_minutes))
    return FIRED if streak >= rule.consecutive and cooled else None


def alert_id(rule: Rule, product: str, fired_at: dt.datetime) -> str:
    return f"{rule.name}:{product}:{fired_at.strftime('%Y%m%dT%H%M%SZ')}"


def message(rule: Rule, product: str, event: str, value: float) -> str:
    if event == FIRED:
        return (f"[{rule.severity}] {product}: {rule.metric} = {value:g} {rule.comparison} {rule.threshold:g} "
                f"at {rule.consecutive} consecutive evaluation(s) (rule {rule.name})")
    return f"[resolved] {product}: {rule.metric} = {value:g} (rule {rule.name})"


def evaluate(all_rules: list[Rule], history: dict[tuple[str, str], list[float]],
             states: dict[tuple[str, str], AlertState], evaluated_now: set[tuple[str, str]],
             now: dt.datetime) -> list[dict]:
    """Alert events at ``now``. ``history`` maps (product, metric) to its values at every
    evaluation, oldest first, this one included; ``states`` maps (rule, product) to what the alert
    log says; ``evaluated_now`` holds the (product, metric) pairs evaluated at ``now``."""
    events = []
    for rule in all_rules:
        for product, metric in sorted(evaluated_now):
            if metric != rule.metric or not rule.applies_to(product):
                continue
            values = history[(product, metric)]
            state = states.get((rule.name, product), AlertState())
            event = decide(rule, values, state, now)
            if event is None:
                continue
            events.append({"at": now, "date": now.date(),
                           "alert_id": state.open_id if event == RESOLVED else alert_id(rule, product, now),
                           "event": event, "rule": rule.name, "product": product, "metric": metric,
                           "severity": rule.severity, "comparison": rule.comparison, "threshold": rule.threshold,
                           "value": values[-1], "message": message(rule, product, event, values[-1])})
    return events


def states_from_log(log: list[dict]) -> dict[tuple[str, str], AlertState]:
    """(rule, product) -> AlertState from the alert log's rows (any order)."""
    out: dict[tuple[str, str], AlertState] = {}
    for row in sorted(log, key=lambda r: (as_utc(r["at"]), r["event"] == RESOLVED)):
        key = (row["rule"], row["product"])
        prev = out.get(key, AlertState())
        if row["event"] == FIRED:
            out[key] = AlertState(open_id=row["alert_id"], last_fired_at=as_utc(row["at"]))
        else:
            out[key] = AlertState(open_id=None, last_fired_at=prev.last_fired_at)
    return out


def open_alerts(log: list[dict]) -> list[dict]:
    """The fired rows of the alerts still open."""
    open_ids = {s.open_id for s in states_from_log(log).values() if s.open_id}
    return sorted((r for r in log if r["event"] == FIRED and r["alert_id"] in open_ids),
                  key=lambda r: r["at"], reverse=True)
