"""The ``sla`` notebook's step: the metric values of every product from the health tables,
their SLA states (``service_levels``), each product's state with the one before it, and the
alerts that fire or resolve (``alerts``), notified (``notify``). Everything is appended, so the
tables keep the whole history: when a product went from HEALTHY to CRITICAL and back, and why.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from pyspark.sql import functions as F

from products.operational_metrics import alerts, notify, service_levels
from shared_lib import lake, products, tables
from shared_lib.paths import PLATFORM

EVALUATION_SCHEMA = ("evaluated_at timestamp, date date, product string, metric string, value double, "
                     "target double, warning double, critical double, better string, state string, detail string")
STATUS_SCHEMA = ("evaluated_at timestamp, date date, product string, state string, previous_state string, "
                 "worst_metric string, metrics_evaluated int")
HISTORY_DAYS = 30
ALERT_SCHEMA = ("at timestamp, date date, alert_id string, event string, rule string, product string, "
                "metric string, severity string, comparison string, threshold double, value double, "
                "message string, notified string")


def _latest(df):
    """The rows of the latest evaluation of a health snapshot table, as pandas."""
    last = df.agg(F.max("evaluated_at")).first()[0]
    return df.where(F.col("evaluated_at") == F.lit(last)).toPandas() if last is not None else df.limit(0).toPandas()


def metric_values(ctx, now: dt.datetime) -> list[service_levels.MetricValue]:
    since = now - dt.timedelta(hours=ctx.own["health"]["window_hours"])
    values = []
    if tables.exists(products.get(PLATFORM).table("pipeline_runs")):
        runs = ctx.read("pipeline_runs", PLATFORM).where(F.col("started_at") >= F.lit(since))
        values += service_levels.success_rates(runs.select("product", "status", "started_at").toPandas(), since)
    values += service_levels.freshness_minutes(_latest(ctx.read("table_freshness")))
    values += service_levels.lag_seconds(_latest(ctx.read("consumer_lag")))
    quality = ctx.read("quality").where(F.col("processed_at") >= F.lit(since))
    values += service_levels.quality_scores(quality.toPandas(), since)
    hourly = ctx.read("service_hourly")
    last_date = hourly.agg(F.max("date")).first()[0]
    if last_date is not None:
        latest = hourly.where(F.col("date") == F.lit(last_date)).toPandas()
        values += service_levels.api_latency(latest, ctx.product.name)
    disk = ctx.read("disk_usage").where(F.col("kind") == "disk_free")
    last_sample = disk.agg(F.max("sampled_at")).first()[0]
    if last_sample is not None:
        values += service_levels.disk_free(disk.where(F.col("sampled_at") == F.lit(last_sample)).toPandas(),
                                           ctx.product.name)
    return values


READS = ("sla_evaluations", "sla_status", "alerts", "service_hourly", "table_freshness", "consumer_lag", "quality",
         "disk_usage")


def run(ctx, now: dt.datetime | None = None, log=None) -> dict:
    """Evaluate every product's SLA at ``now`` and fire or resolve alerts; returns a summary."""
    now = now or dt.datetime.now(dt.timezone.utc)
    writer = ctx.writer
    for name in READS:
        writer.ensure(ctx.table(name))
    # What it reads is the product's own records and the run records: interpreted while they are few.
    runs = products.get(PLATFORM).table("pipeline_runs")
    with ctx.evaluated_for(sum(lake.count_rows(t) for t in (runs, *map(ctx.table, READS)))):
        return _evaluated(ctx, now, log)


def _evaluated(ctx, now: dt.datetime, log) -> dict:
    writer = ctx.writer
    rules = alerts.rules(ctx.own["alerts"]["rules"])  # a bad rule fails before anything is written
    evaluations = service_levels.evaluate(metric_values(ctx, now), ctx.own["sla"], now)
    # A streak of breaches older than this cannot matter to a rule (dates prune the partitions).
    recent = F.col("date") >= F.lit(now.date() - dt.timedelta(days=HISTORY_DAYS))
    history = (ctx.read("sla_evaluations").where(recent)
               .select("evaluated_at", "product", "metric", "value").toPandas())
    previous = _previous_states(ctx.read("sla_status").select("evaluated_at", "product", "state").toPandas())
    status = service_levels.product_status(evaluations, previous, now)
    if evaluations:
        writer.append_collected(ctx.spark.createDataFrame(evaluations, EVALUATION_SCHEMA), ctx.table("sla_evaluations"))
        writer.append_collected(ctx.spark.createDataFrame(status, STATUS_SCHEMA), ctx.table("sla_status"))
    log_rows = ctx.read("alerts").select("at", "alert_id", "event", "rule", "product").toPandas().to_dict("records")
    events = alerts.evaluate(rules, _series(history, evaluations), alerts.states_from_log(log_rows),
                             {(e["product"], e["metric"]) for e in evaluations}, now)
    cfg = ctx.own["alerts"]
    for event, where in zip(events, notify.notify(events, cfg["webhook_url"], cfg["webhook_timeout_s"], log)):
        event["notified"] = where
    if events:
        writer.append_collected(ctx.spark.createDataFrame(events, ALERT_SCHEMA), ctx.table("alerts"))
    return {"evaluated_at": now.isoformat(), "states": {s["product"]: s["state"] for s in status},
            "alerts_fired": sum(e["event"] == alerts.FIRED for e in events),
            "alerts_resolved": sum(e["event"] == alerts.RESOLVED for e in events)}


def _previous_states(status: pd.DataFrame) -> dict[str, str]:
    if status.empty:
        return {}
    last = status.sort_values("evaluated_at").groupby("product").tail(1)
    return dict(zip(last["product"], last["state"]))


def _series(history: pd.DataFrame, evaluations: list[dict]) -> dict[tuple[str, str], list[float]]:
    """(product, metric) -> values at every evaluation, oldest first, ending with this one's."""
    out: dict[tuple[str, str], list[float]] = {}
    for row in history.sort_values("evaluated_at").itertuples():
        out.setdefault((row.product, row.metric), []).append(row.value)
    for row in evaluations:
        out.setdefault((row["product"], row["metric"]), []).append(row["value"])
    return out
