"""The Prometheus exporter: the platform's current health in Prometheus' text format, read from
the tables at every scrape (``current.load``, delta-rs, no JVM). ``dp serve`` runs it on
127.0.0.1 (``platform.metrics``, ``DP_METRICS_PORT``); any path answers, ``/metrics`` included.

Metrics (all prefixed ``dp_``):

| metric | type | labels | value |
|---|---|---|---|
| dp_sla_state | gauge | product | state of the latest evaluation: 0 HEALTHY, 1 WARNING, 2 DEGRADED, 3 CRITICAL |
| dp_sla_value | gauge | product, metric | the metric's value at the latest evaluation |
| dp_sla_metric_state | gauge | product, metric | its state, coded as dp_sla_state |
| dp_sla_evaluated_timestamp_seconds | gauge | | when the latest evaluation ran (Unix time) |
| dp_table_freshness_seconds | gauge | table, product, layer | time since the table's last commit, at the latest health check |
| dp_event_freshness_seconds | gauge | table, product | time since the newest event_ts |
| dp_consumer_lag_messages | gauge | topic, product | messages on the broker not yet in bronze |
| dp_consumer_lag_seconds | gauge | topic, product | age of the oldest of them |
| dp_pipeline_runs_total | counter | product, status | notebook runs recorded |
| dp_pipeline_run_duration_seconds | summary | product | count and sum of the durations of the runs that executed |
| dp_alerts_open | gauge | product, rule, severity | open alerts |
| dp_incidents | gauge | state | fired alerts by state: open, acknowledged, resolved |
| dp_process_cpu_percent, dp_process_resident_memory_bytes | gauge | service | each service process at the latest health check |
| dp_process_threads, dp_process_open_files, dp_process_connections | gauge | service | the same |
| dp_disk_used_bytes | gauge | kind, name, product | bytes on disk of each table, topic and the workspace |
| dp_disk_free_bytes | gauge | path | free bytes of the workspace's file system |
| dp_cost_usd | gauge | product, part | cost of the latest day with costs: compute, storage, broker, total |
| dp_cost_per_1k_records_usd | gauge | product | cost per 1,000 records processed that day |
"""
from __future__ import annotations

import argparse
import math
import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from products.operational_metrics import current as current_lib
from products.operational_metrics import incidents
from products.operational_metrics.service_levels import STATES


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _gauge(name: str, doc: str, labels: list[str], rows) -> GaugeMetricFamily:
    """A gauge of ``rows`` = [(label values, value)]; rows without a value are left out."""
    family = GaugeMetricFamily(name, doc, labels=labels)
    for label_values, value in rows:
        if _number(value) is not None:
            family.add_metric([str(v) for v in label_values], _number(value))
    return family


def families(now: current_lib.Current) -> list:
    """Every metric family of the exporter, from the current health (pure)."""
    status, evals, fresh, lag, runs = now.status, now.evaluations, now.freshness, now.lag, now.runs
    out = [
        _gauge("dp_sla_state", "SLA state of the latest evaluation: 0 HEALTHY, 1 WARNING, 2 DEGRADED, 3 CRITICAL",
               ["product"], [((r.product,), STATES.index(r.state)) for r in status.itertuples()]),
        _gauge("dp_sla_value", "Value of each SLA metric at the latest evaluation", ["product", "metric"],
               [((r.product, r.metric), r.value) for r in evals.itertuples()]),
        _gauge("dp_sla_metric_state", "State of each SLA metric at the latest evaluation (coded as dp_sla_state)",
               ["product", "metric"], [((r.product, r.metric), STATES.index(r.state)) for r in evals.itertuples()]),
        _gauge("dp_sla_evaluated_timestamp_seconds", "When the latest SLA evaluation ran (Unix time)", [],
               [((), status["evaluated_at"].max().timestamp())] if not status.empty else []),
        _gauge("dp_table_freshness_seconds", "Seconds since the table's last commit, at the latest health check",
               ["table", "product", "layer"],
               [((r.table_name, r.product, r.layer), r.freshness_s) for r in fresh.itertuples()]),
        _gauge("dp_event_freshness_seconds", "Seconds since the table's newest event_ts, at the latest health check",
               ["table", "product"], [((r.table_name, r.product), r.event_freshness_s) for r in fresh.itertuples()]),
        _gauge("dp_consumer_lag_messages", "Messages on the broker not yet ingested into bronze", ["topic", "product"],
               [((r.topic, r.product), r.lag_messages) for r in lag.itertuples()]),
        _gauge("dp_consumer_lag_seconds", "Age in seconds of the oldest message not yet ingested into bronze",
               ["topic", "product"], [((r.topic, r.product), r.lag_seconds) for r in lag.itertuples()]),
    ]
    counts = CounterMetricFamily("dp_pipeline_runs", "Notebook runs recorded by the runner", labels=["product", "status"])
    durations = SummaryMetricFamily("dp_pipeline_run_duration_seconds", "Durations of the notebook runs that executed",
                                    labels=["product"])
    if not runs.empty:
        for (product, state), n in runs.groupby(["product", "status"]).size().items():
            counts.add_metric([product, state], float(n))
        executed = runs[runs["status"].isin(["succeeded", "failed"])]  # skipped and up_to_date took no time
        for product, group in executed.groupby("product"):
            durations.add_metric([product], count_value=len(group), sum_value=float(group["duration_s"].fillna(0).sum()))
    open_alerts = now.open_alerts()
    out += [*_infrastructure(now), *_costs(now), _incidents(now)]
    out += [counts, durations, _gauge(
        "dp_alerts_open", "Open alerts (fired, not resolved yet)", ["product", "rule", "severity"],
        [((k[0], k[1], k[2]), n) for k, n in open_alerts.groupby(["product", "rule", "severity"]).size().items()]
        if not open_alerts.empty else [])]
    return out


PROCESS_GAUGES = (("cpu_percent", "dp_process_cpu_percent",
                   "CPU of the service process over the sampling interval, % of one core"),
                  ("rss_bytes", "dp_process_resident_memory_bytes", "Resident memory of the service process"),
                  ("threads", "dp_process_threads", "Threads of the service process"),
                  ("open_files", "dp_process_open_files", "Regular files the service process has open"),
                  ("connections", "dp_process_connections", "Internet sockets the service process has open"))


def _rows(df, columns: list[str]):
    """itertuples of ``df`` when it has rows (an empty frame may lack the columns)."""
    return [] if df.empty else df[columns].itertuples(index=False)


def _infrastructure(now: current_lib.Current) -> list:
    """Per service process and disk use, at the latest health check."""
    out = [_gauge(name, doc, ["service"], [((r.service,), getattr(r, column))
                                           for r in _rows(now.processes, ["service", column])])
           for column, name, doc in PROCESS_GAUGES]
    disk = now.disk
    used = disk[disk["kind"] != "disk_free"] if not disk.empty else disk
    free = disk[disk["kind"] == "disk_free"] if not disk.empty else disk
    out.append(_gauge("dp_disk_used_bytes", "Bytes on disk of a table, a topic or the whole workspace",
                      ["kind", "name", "product"],
                      [((r.kind, r.name, r.product or ""), r.bytes) for r in _rows(used, ["kind", "name", "product", "bytes"])]))
    out.append(_gauge("dp_disk_free_bytes", "Free bytes of the workspace's file system", ["path"],
                      [((r.name,), r.bytes) for r in _rows(free, ["name", "bytes"])]))
    return out


def _costs(now: current_lib.Current) -> list:
    """Cost per product of the latest day with costs."""
    costs = now.costs
    latest = costs[costs["date"] == costs["date"].max()] if not costs.empty else costs
    parts = [(p, r) for r in _rows(latest, ["product", "compute_usd", "storage_usd", "broker_usd", "total_usd"])
             for p in ("compute", "storage", "broker", "total")]
    return [_gauge("dp_cost_usd", "Cost of the latest day with costs, per product and part (compute, storage, "
                                  "broker, total), in USD", ["product", "part"],
                   [((r.product, part), getattr(r, f"{part}_usd")) for part, r in parts]),
            _gauge("dp_cost_per_1k_records_usd", "Cost per 1,000 records processed on the latest day with costs",
                   ["product"], [((r.product,), r.usd_per_1k_records)
                                 for r in _rows(latest, ["product", "usd_per_1k_records"])])]


def _incidents(now: current_lib.Current) -> GaugeMetricFamily:
    got = incidents.counts(now.incidents().to_dict("records"))
    return _gauge("dp_incidents", "Fired alerts by state: open, acknowledged (dp alerts ack) or resolved", ["state"],
                  [((state,), n) for state, n in got.items()])


class Collector:
    """Reads the tables at every scrape."""

    def __init__(self, load=current_lib.load):
        self.load = load

    def collect(self):
        yield from families(self.load())


def registry(load=current_lib.load) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(Collector(load))
    return reg


def render(load=current_lib.load) -> str:
    return generate_latest(registry(load)).decode()


def main(argv: list[str] | None = None) -> int:
    from prometheus_client import start_http_server

    parser = argparse.ArgumentParser(description="the platform's Prometheus exporter")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server, thread = start_http_server(args.port, addr=args.host, registry=registry())
    print(f"metrics exporter on http://{args.host}:{args.port}/metrics", flush=True)
    try:
        while thread.is_alive():
            time.sleep(1)
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
