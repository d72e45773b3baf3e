"""SLA evaluation (metrics.md): each product's metrics against its target, warning and critical
thresholds, four states, a product's state = its worst metric's. Pure functions on plain values
and small pandas frames; the ``sla`` notebook's step (``sla.run``) reads and writes.

A value *meets* a threshold when it is <= it (lower is better) or >= it (higher is better):
meets target -> HEALTHY; else meets warning -> WARNING; else meets critical -> DEGRADED; else
CRITICAL. A metric without a value (no runs in the window, no event table...) is not evaluated.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

STATES = ("HEALTHY", "WARNING", "DEGRADED", "CRITICAL")  # best to worst
METRICS = ("data_freshness_minutes", "api_p99_latency_ms", "pipeline_success_rate", "data_quality_score",
           "kafka_consumer_lag_seconds", "disk_free_gb")


@dataclass(frozen=True)
class Threshold:
    target: float
    warning: float
    critical: float
    better: str  # "lower" or "higher"

    def __post_init__(self):
        if self.better not in ("lower", "higher"):
            raise ValueError(f"better must be 'lower' or 'higher', got {self.better!r}")
        ordered = (self.target <= self.warning <= self.critical if self.better == "lower"
                   else self.target >= self.warning >= self.critical)
        if not ordered:
            raise ValueError(f"thresholds out of order for better={self.better}: target {self.target}, "
                             f"warning {self.warning}, critical {self.critical}")

    def meets(self, value: float, limit: float) -> bool:
        return value <= limit if self.better == "lower" else value >= limit


@dataclass(frozen=True)
class MetricValue:
    product: str
    metric: str
    value: float
    detail: str = ""


def thresholds(sla_params: dict, product: str) -> dict[str, Threshold]:
    """The product's thresholds: the defaults, with the metrics its entry names replaced."""
    merged = {**sla_params["defaults"], **((sla_params.get("products") or {}).get(product) or {})}
    unknown = sorted(set(merged) - set(METRICS))
    if unknown:
        raise ValueError(f"operational-metrics.sla: unknown metric(s) {unknown} for {product}; expected {METRICS}")
    return {m: Threshold(float(t["target"]), float(t["warning"]), float(t["critical"]), t["better"])
            for m, t in merged.items()}


def state(value: float, t: Threshold) -> str:
    for name, limit in zip(STATES, (t.target, t.warning, t.critical)):
        if t.meets(value, limit):
            return name
    return STATES[-1]


def worst(states) -> str:
    return max(states, key=STATES.index)


def evaluate(values: list[MetricValue], sla_params: dict, now: dt.datetime) -> list[dict]:
    """One ``sla_evaluations`` row per metric value."""
    rows = []
    for v in sorted(values, key=lambda v: (v.product, METRICS.index(v.metric))):
        t = thresholds(sla_params, v.product)[v.metric]
        rows.append({"evaluated_at": now, "date": now.date(), "product": v.product, "metric": v.metric,
                     "value": float(v.value), "target": t.target, "warning": t.warning, "critical": t.critical,
                     "better": t.better, "state": state(v.value, t), "detail": v.detail})
    return rows


def product_status(evaluations: list[dict], previous: dict[str, str], now: dt.datetime) -> list[dict]:
    """One ``sla_status`` row per product evaluated: its worst metric's state (the first such
    metric in METRICS order names it) and its state at the previous evaluation."""
    by_product: dict[str, list[dict]] = {}
    for row in evaluations:
        by_product.setdefault(row["product"], []).append(row)
    out = []
    for product, rows in sorted(by_product.items()):
        worst_state = worst(r["state"] for r in rows)
        culprit = next(r["metric"] for r in rows if r["state"] == worst_state)
        out.append({"evaluated_at": now, "date": now.date(), "product": product, "state": worst_state,
                    "previous_state": previous.get(product), "worst_metric": culprit,
                    "metrics_evaluated": len(rows)})
    return out


def transitions(status: pd.DataFrame) -> pd.DataFrame:
    """The ``sla_status`` rows where a product's state changed (its first evaluation included)."""
    changed = status["previous_state"].isna() | (status["state"] != status["previous_state"])
    return status[changed].sort_values(["evaluated_at", "product"], ignore_index=True)


# --- metric values from the health tables (pure, on small pandas frames) --------------------

def success_rates(runs: pd.DataFrame, since: dt.datetime) -> list[MetricValue]:
    """Per product: succeeded / notebook runs (skipped ones included) started since ``since``;
    notebooks found up to date were not run and do not count."""
    recent = runs[(pd.to_datetime(runs["started_at"], utc=True) >= pd.Timestamp(since))
                  & (runs["status"] != "up_to_date")]
    out = []
    for product, group in recent.groupby("product"):
        ok, total = int((group["status"] == "succeeded").sum()), len(group)
        out.append(MetricValue(product, "pipeline_success_rate", ok / total,
                               f"{ok} of {total} notebook runs succeeded"))
    return out


def freshness_minutes(freshness: pd.DataFrame) -> list[MetricValue]:
    """Per product: minutes since its gold data last changed (the newest commit among its gold tables)."""
    gold = freshness[(freshness["layer"] == "gold") & freshness["freshness_s"].notna()]
    out = []
    for product, group in gold.groupby("product"):
        newest = group.loc[group["freshness_s"].idxmin()]
        out.append(MetricValue(product, "data_freshness_minutes", float(newest["freshness_s"]) / 60,
                               f"{newest['table_name']} last written"))
    return out


def quality_scores(quality: pd.DataFrame, since: dt.datetime) -> list[MetricValue]:
    """Per product: valid rows / rows checked over its silver batches processed since ``since``."""
    recent = quality[pd.to_datetime(quality["processed_at"], utc=True) >= pd.Timestamp(since)]
    out = []
    for product, group in recent.groupby("product"):
        checked, valid = int(group["rows_checked"].sum()), int(group["valid_rows"].sum())
        if checked:
            out.append(MetricValue(product, "data_quality_score", valid / checked,
                                   f"{valid} of {checked} rows valid in {len(group)} batch(es)"))
    return out


def lag_seconds(lag: pd.DataFrame) -> list[MetricValue]:
    """Per product: the largest consumer lag (seconds) of its topics."""
    out = []
    for product, group in lag.groupby("product"):
        top = group.loc[group["lag_seconds"].idxmax()]
        out.append(MetricValue(product, "kafka_consumer_lag_seconds", float(top["lag_seconds"]),
                               f"{top['topic']}: {int(top['lag_messages'])} unread"))
    return out


def disk_free(disk: pd.DataFrame, product: str) -> list[MetricValue]:
    """For ``product`` (the platform's watcher): GB (10^9 bytes) free on the workspace's file
    system at the latest health check (``disk_usage`` rows of kind ``disk_free``)."""
    free = disk[disk["kind"] == "disk_free"] if not disk.empty else disk
    if free.empty:
        return []
    row = free.loc[pd.to_datetime(free["sampled_at"], utc=True).idxmax()]
    return [MetricValue(product, "disk_free_gb", float(row["bytes"]) / 1e9, f"free on {row['name']}")]


def api_latency(hourly: pd.DataFrame, product: str) -> list[MetricValue]:
    """For ``product`` (the one that owns the request logs): the highest p99 latency of any
    service in the latest hour with requests."""
    if hourly.empty:
        return []
    last = hourly[hourly["hour"] == hourly["hour"].max()]
    top = last.loc[last["latency_p99_ms"].idxmax()]
    hour = pd.Timestamp(top["hour"]).strftime("%Y-%m-%d %H:00")
    return [MetricValue(product, "api_p99_latency_ms", float(top["latency_p99_ms"]),
                        f"{top['service']}, hour {hour} UTC")]
