"""The registry of benchmarks and ``main``, what `dp bench` calls.

``BENCHMARKS`` maps each name (`dp bench --only NAME`) to a function of the ``Setup`` that
returns a list of figures (``report.figure``); a new benchmark is one module and one entry here.
``main`` runs the chosen ones in registry order in a workspace of their own; a benchmark that
crashes is reported as such and the others still run. A missed target is a result, not a crash:
the exit code is 0 unless a benchmark could not measure.
"""
from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

from runners.bench import (
    api_latency,
    bronze_gold,
    dashboard,
    erasure,
    kafka_bronze,
    overhead,
    report,
    segmentation,
    steps,
    up_to_date,
)
from runners.bench import gateway as gateway_bench
from runners.bench.sizes import Sizes
from runners.bench.workspace import Setup, isolated_workspace

Benchmark = Callable[[Setup], list[dict]]

BENCHMARKS: dict[str, Benchmark] = {
    "runner overhead": overhead.bench,
    "kafka -> bronze": kafka_bronze.bench,
    **{name: functools.partial(bronze_gold.bench, spec) for name, spec in bronze_gold.SPECS.items()},
    "segmentation": segmentation.bench,
    "dashboard first render": dashboard.bench,
    "api latency": api_latency.bench,
    "gateway latency": gateway_bench.bench,
    "whole DAG reruns": up_to_date.bench,
    # Last: its audit event must not add to the compliance benchmark's counts.
    "erasure": erasure.bench,
}
# Benchmarks that need neither Kafka nor Spark: run alone, they start no services.
WITHOUT_SERVICES = {"gateway latency"}


class UnknownBenchmark(ValueError):
    """`--only` named a benchmark that the registry does not have."""


def select(only: list[str] | None, names=BENCHMARKS) -> list[str]:
    """The names of ``only`` in registry order (every name when ``only`` is empty); an unknown
    name raises ``UnknownBenchmark`` listing the known ones."""
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise UnknownBenchmark(f"unknown benchmark(s) {', '.join(unknown)}: expected {', '.join(names)}")
    return [name for name in names if not only or name in only]


def run_benchmarks(setup: Setup, chosen: list[str]) -> list[dict]:
    """The ``chosen`` benchmarks, one after the other; one that crashes does not stop the others."""
    results: list[dict[str, Any]] = []
    for name in chosen:
        setup.log(f"bench: {name} ...")
        started = time.perf_counter()
        try:
            results.append({"benchmark": name, "figures": BENCHMARKS[name](setup), "error": None})
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            setup.log(f"bench: {name} FAILED: {type(exc).__name__}: {exc}")
            results.append({"benchmark": name, "figures": [], "error": f"{type(exc).__name__}: {exc}"})
        results[-1]["duration_s"] = round(time.perf_counter() - started, 1)
    return results


def spark_setting(params: dict, workers: int | None) -> str:
    """How the bench runs Spark, for the report: the Connect server's own ``master``, or a
    standalone cluster of ``workers`` workers (`dp bench --workers N`)."""
    s = params["platform"]["services"]["spark"]
    if not workers:
        return f"mode server, master {s['master']}"
    c = s["cluster"]
    return f"mode cluster, {workers} workers x {c['worker_cores']} core(s), {c['worker_memory']}"


def _run_isolated(sizes: Sizes, chosen: list[str], log, workers: int | None = None) -> list[dict]:
    with isolated_workspace() as home:
        params = steps.load_params()
        if workers:  # the Connect server's executors on a standalone cluster of the bench's own
            params["platform"]["services"]["spark"]["mode"] = "cluster"
        if set(chosen) <= WITHOUT_SERVICES:
            return run_benchmarks(Setup(params, home, sizes, log=log), chosen)
        log(f"bench: starting services in {home} ({spark_setting(params, workers)}) ...")
        try:
            steps.services_up(params, log, workers)
            return run_benchmarks(Setup(params, home, sizes, log=log), chosen)
        finally:
            steps.services_down(log)


def main(quick: bool = False, events: int | None = None, web_events: int | None = None,
         customers: int | None = None, only: list[str] | None = None, log=print,
         mobile_events: int | None = None, warm_up_events: int | None = None,
         compliance_events: int | None = None, api_requests: int | None = None,
         dag_events: int | None = None, workers: int | None = None) -> int:
    try:
        sizes = Sizes.of(quick, events=events, web_events=web_events, customers=customers,
                         mobile_events=mobile_events, warm_up_events=warm_up_events,
                         compliance_events=compliance_events, api_requests=api_requests,
                         dag_events=dag_events)
        chosen = select(only)
        if workers is not None and workers < 1:
            raise ValueError(f"--workers must be at least 1, got {workers}")
    except ValueError as exc:
        print(f"dp bench: {exc}", file=sys.stderr)
        return 2
    machine = report.machine_info()
    results = _run_isolated(sizes, chosen, log, workers)
    # Other work on the machine skews every timing: the load on both sides of the run says how much.
    full = {"machine": machine, "load_avg_1m_end": report.load(), "quick": quick, "events": sizes.events,
            "web_events": sizes.web_events, "customers": sizes.customers, "mobile_events": sizes.mobile_events,
            "compliance_events": sizes.compliance_events, "api_requests": sizes.api_requests,
            "warm_up_events": sizes.warm_up_events, "dag_events": sizes.dag_events, "only": only or None,
            "spark": spark_setting(steps.load_params(), workers),
            "results": results}
    out = report.write_reports(full)
    log("\n" + report.to_markdown(full))
    log(f"bench: reports in {out / 'bench.json'} and {out / 'bench.md'}")
    if report.crashed(results):
        return 1
    if report.missed(results):
        log("bench: ran to the end; some targets were missed (see above)")
    return 0
