"""``dp run``: validate everything, then execute the selected notebooks in DAG order.

Before any kernel starts: parameters load for the environment (overrides included), the DAG is
valid, and the services answer (``plan`` returns a ``Plan``). Then each notebook runs through
papermill (``runners.execute``) in a kernel of the run's pool: taken warm, while the next
notebook's kernel warms up. A failure keeps its output notebook, names notebook and cell (counted
in the source notebook), and every notebook downstream of it is skipped (unless ``force``).
A notebook whose source, parameters, code and inputs equal those of its last success is not run
but recorded ``up_to_date`` (``runners.freshness``; ``force`` runs it anyway). Every notebook,
run or skipped, gets a run record, and each one executed emits OpenLineage START and COMPLETE or
FAIL events (``runners.lineage``). ``repair`` reruns a run's failed and skipped notebooks.
With ``platform.runner.parallel`` N > 1, up to N notebooks run side by side, each once those it
depends on or runs after have ended (``runners.lanes``); their Spark CPU is then not recorded
(``spark_cpu_s`` null: the server's CPU is not split between notebooks). One run at a time per
workspace (``runners.runlock``): a second ``dp run`` meanwhile waits for
the first before it starts (``wait=False``: refuses at once, naming the first).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager

import psutil

from runners import dag as dag_lib
from runners import execute, freshness, lanes, lineage, logs, runlock, runlog, services
from runners.kernels import KernelPool
from shared_lib import params as params_lib
from shared_lib import paths, storage
from shared_lib import products as products_lib
from shared_lib.errors import UserError

logger = logging.getLogger(__name__)


class RunError(UserError, RuntimeError):
    """The run cannot start; nothing was executed."""


@dataclass
class RunSummary:
    run_id: str
    records: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and all(r["status"] in ("succeeded", "up_to_date") for r in self.records)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records)


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


@dataclass(frozen=True)
class Plan:
    """What a run will do, checked before any kernel starts."""
    params: dict
    dag: dag_lib.Dag
    chosen: list[str]  # node ids, in DAG order
    overrides: dict

    @property
    def env(self) -> str:
        return self.params["env"]

    @property
    def runner(self) -> dict:
        return self.params["platform"]["runner"]

    def folder(self, i: int) -> Path:
        """Working directory of the i-th chosen notebook (where its kernel starts)."""
        return self.dag.nodes[self.chosen[i]].path.parent


@dataclass
class _Run:
    """One run in progress: its plan, where it writes, its kernels and each notebook's status."""
    plan: Plan
    run_id: str
    out_dir: Path
    force: bool
    pool: KernelPool
    log: Callable[[str], None]
    status: dict[str, str] = field(default_factory=dict)
    skip_up_to_date: bool = True
    last_success: dict[str, dict] = field(default_factory=dict)
    emitter: lineage.Emitter | None = None
    repair_of: str | None = None
    # Notebooks running now, and those that ran beside another (their Spark CPU is not their own).
    running: set[str] = field(default_factory=set)
    overlapped: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def lease(self, i: int) -> Callable[[], ContextManager]:
        following = self.plan.folder(i + 1) if i + 1 < len(self.plan.chosen) else None
        return lease(self.pool, self.plan.folder(i), following)

    @contextlib.contextmanager
    def metering(self, node_id: str):
        """Marks the notebook running; yields a function giving the Spark CPU seconds used since,
        or None when another notebook ran meanwhile (``platform.runner.parallel``)."""
        with self.lock:
            if self.running:
                self.overlapped |= self.running | {node_id}
            self.running.add(node_id)
        before = _spark_cpu_seconds()
        try:
            yield lambda: None if node_id in self.overlapped else _cpu_used(before, _spark_cpu_seconds())
        finally:
            with self.lock:
                self.running.discard(node_id)


def lease(pool: KernelPool, cwd: Path, following: Path | None = None) -> Callable[[], ContextManager]:
    """Kernels for one notebook's attempts: the pool's warm one first (in ``cwd``); while it runs,
    the next notebook's kernel warms up (in ``following``). Each kernel goes back to the pool,
    which shuts it down."""
    @contextlib.contextmanager
    def kernel():
        km = pool.take(cwd)
        if following:
            pool.prefetch(following)
        try:
            yield km
        finally:
            pool.release(km)
    return kernel


def plan(products: list[str] | None = None, layer: str | None = None, notebook: str | None = None,
         env: str | None = None, overrides=(), declared: dict | None = None) -> Plan:
    """Everything that is checked before a kernel starts; raises with a clear message.
    ``declared`` replaces the products' declarations (tests run made-up DAGs this way)."""
    overrides = dict(params_lib.parse_overrides(overrides))
    params = params_lib.load(env, overrides)
    storage.configure(params)  # the run records go to the lake the notebooks write
    declared = products_lib.all_products() if declared is None else declared
    for p in products or []:
        if p not in declared:
            raise RunError(f"unknown product {p!r}: expected one of {', '.join(sorted(declared))}")
    if layer and layer not in paths.LAYERS:
        raise RunError(f"unknown layer {layer!r}: expected one of {', '.join(paths.LAYERS)}")
    dag = dag_lib.build(declared)
    return Plan(params, dag, dag_lib.select(dag, products, layer, notebook), overrides)


def repair_plan(run_id: str, env: str | None = None, overrides=(), declared: dict | None = None) -> Plan:
    """The failed and skipped notebooks of run ``run_id`` and everything downstream of them among
    that run's notebooks, with that run's environment and overrides (``overrides`` win)."""
    records = runlog.of_run(run_id)
    first = json.loads(records[0].get("parameters") or "{}")
    again = {f"{r['product']}:{r['notebook']}" for r in records if r["status"] in ("failed", "skipped")}
    if not again:
        raise RunError(f"run {run_id} has no failed or skipped notebook: nothing to repair")
    merged = {**(first.get("overrides") or {}), **dict(params_lib.parse_overrides(overrides))}
    full = plan(env=env or records[0]["env"], overrides=merged, declared=declared)
    in_run = {f"{r['product']}:{r['notebook']}" for r in records}
    chosen = [n for n in full.dag.order if n in in_run and (n in again or full.dag.upstream(n) & again)]
    return Plan(full.params, full.dag, chosen, full.overrides)


def run(products: list[str] | None = None, layer: str | None = None, notebook: str | None = None,
        env: str | None = None, overrides=(), force: bool = False, run_id: str | None = None,
        declared: dict | None = None, log: Callable[[str], None] | None = None,
        repair: str | None = None, wait: bool = True) -> RunSummary:
    """Run the selected notebooks (or, with ``repair``, what run ``repair`` left undone);
    ``force`` runs every selected notebook, even downstream of a failure or up to date. While
    another run holds the workspace's run lock it waits (``wait``) or raises ``RunLocked``."""
    planned = repair_plan(repair, env, overrides, declared) if repair else plan(
        products, layer, notebook, env, overrides, declared)
    services.require_running(planned.params, ["kafka", "spark"])
    # Kernels must be this environment's Python, whatever PATH the caller had.
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    summary, log = RunSummary(run_id or new_run_id()), log or logger.info
    with runlock.held(summary.run_id, wait=wait, log=log):  # one run at a time per workspace
        return _run(planned, summary, force, log, repair)


def _run(planned: Plan, summary: RunSummary, force: bool, log: Callable[[str], None],
         repair: str | None = None) -> RunSummary:
    out_dir = paths.run_reports_dir(summary.run_id)
    log(f"run {summary.run_id} (env {planned.env}): {len(planned.chosen)} notebook(s); reports in {out_dir}"
        + (f"; repairs run {repair}" if repair else ""))
    # A repair reruns what it names, up to date or not: the user asked for exactly those.
    skip = planned.runner.get("skip_up_to_date", True) and not force and not repair
    width = max(1, int(planned.runner.get("parallel", 1)))
    state = _Run(planned, summary.run_id, out_dir, force, KernelPool(planned.runner["kernel"], spares=width), log,
                 skip_up_to_date=skip, emitter=lineage.Emitter(planned.params), repair_of=repair)
    if skip:
        state.last_success = freshness.last_successes(runlog.read(), planned.env)
    state.pool.prefetch(planned.folder(0))

    def ended(node_id: str, record: dict) -> None:
        state.status[node_id] = record["status"]
        summary.records.append(record)
        runlog.append([record])

    index = {node_id: i for i, node_id in enumerate(planned.chosen)}
    try:
        if width == 1:
            for node_id in planned.chosen:
                ended(node_id, _run_node(state, index[node_id]))
        else:
            lanes.run(planned.chosen, planned.dag.waits_for(planned.chosen), width,
                      lambda node_id: _run_node(state, index[node_id]), ended, state.pool.interrupt_leased)
    finally:
        state.pool.close()
    _record_reads(planned.params, summary.records, log)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "run.json").write_text(json.dumps(summary.records, indent=2, default=str))
    log(f"run {summary.run_id}: {summary.count('succeeded')} succeeded, {summary.count('failed')} failed, "
        f"{summary.count('skipped')} skipped, {summary.count('up_to_date')} up to date")
    return summary


def _record_reads(params: dict, records: list[dict], log: Callable[[str], None]) -> None:
    """The run's reads of personal data, in compliance.audit (``shared_lib.audit.runs_read``);
    ``platform.audit.record_runs: false`` turns this off (the benchmarks do)."""
    from shared_lib import audit

    if not params["platform"]["audit"]["record_runs"]:
        return
    events = audit.runs_read(records, products_lib.personal_columns_of(products_lib.all_products().values()))
    sent: list = []
    if events and audit.deliver(params, events, sent):
        freshness.remember_own(sent)  # dp's own messages are no new input (runners.freshness)
        log(f"recorded {len(events)} personal-data read(s) in {audit.topic(params)}")


def _results(records: dict) -> str | None:
    """The step's own results (what ``ctx.finish`` recorded beside the lineage) as JSON."""
    own = {k: v for k, v in records.items() if k != "dp.lineage"}
    return json.dumps(own, default=str) if own else None


def _spark_cpu_seconds() -> float | None:
    """CPU seconds (user + system) the workspace's Spark server, and in mode cluster the executors
    of its local workers, have used so far; None without a local server. The difference around a
    notebook is its own when no other ran meanwhile (``_Run.metering``)."""
    from runners import spark_cluster
    proc = services.our_process("spark")
    if proc is None:
        return None
    try:
        return sum(sum(p.cpu_times()[:2]) for p in [proc, *spark_cluster.executors()])
    except psutil.Error:
        return None


def _cpu_used(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None or after < before else round(after - before, 3)


def _run_node(run: _Run, i: int) -> dict:
    """Run (or skip) the i-th chosen notebook; returns its run record."""
    plan, node_id, log = run.plan, run.plan.chosen[i], run.log
    nb = plan.dag.nodes[node_id]
    prefix = f"[{i + 1}/{len(plan.chosen)}] {node_id}"
    injected = {**nb.parameters, "env": plan.env, "run_id": run.run_id, "overrides": plan.overrides}
    record: dict[str, Any] = {"run_id": run.run_id, "env": plan.env, "product": nb.product, "notebook": nb.name,
              "layer": nb.layer, "parameters": json.dumps(injected, default=str), "repair_of": run.repair_of}
    bad_upstream = sorted(d for d in plan.dag.upstream(node_id) if run.status.get(d) in ("failed", "skipped"))
    if bad_upstream and not run.force:
        now = time.time()
        record.update(status="skipped", attempts=0, started_at=now, ended_at=now, duration_s=0.0,
                      error=f"skipped: upstream {', '.join(bad_upstream)} did not succeed")
        log(f"{prefix}: skipped (upstream {', '.join(bad_upstream)} did not succeed)")
        return record
    siblings = [n.name for n in plan.dag.nodes.values() if n.product == nb.product]
    fingerprint = freshness.fingerprint(nb, plan.params, siblings, injected)
    offsets = freshness.topic_offsets(nb, plan.params)
    record.update(topic_offsets=json.dumps(offsets))
    if run.skip_up_to_date:
        last = run.last_success.get(node_id)
        decision = freshness.decide(last, fingerprint, offsets)
        if decision.up_to_date and last is not None:
            now = time.time()
            # What it read and wrote is what its last success did: kept, so `dp rerun` of this run works.
            record.update(status="up_to_date", attempts=0, started_at=now, ended_at=now, duration_s=0.0,
                          rows_written=0, fingerprint=last.get("fingerprint"), topic_offsets=last.get("topic_offsets"),
                          tables_read=last.get("tables_read"), tables_written=last.get("tables_written"),
                          error=f"up to date: as run {last['run_id']}")
            log(f"{prefix}: up to date (as run {last['run_id']})")
            return record
        log(f"{prefix}: {decision.reason}")
    shown = nb.path.relative_to(paths.PROJECT_ROOT) if nb.path.is_relative_to(paths.PROJECT_ROOT) else nb.path
    log(f"{prefix}: running {shown} ...")
    output = run.out_dir / nb.product / nb.path.name
    progress = logs.notebook_progress(prefix, logger)
    with run.metering(node_id) as spark_cpu_s:
        record["started_at"] = time.time()
        if run.emitter:
            run.emitter.emit("START", record, injected)
        try:
            outcome = execute.execute(nb.path, output, injected, kernel=plan.runner["kernel"],
                                      timeout_s=plan.runner["timeout_s"], retries=plan.runner["retries"],
                                      retry_delay_s=plan.runner["retry_delay_s"], html=plan.runner["html"],
                                      log=log, lease=run.lease(i), on_cell=progress.cell)
        finally:
            progress.close()
        cpu_s = spark_cpu_s()
    recorded = outcome.records.get("dp.lineage", {})
    error = outcome.error
    if outcome.status == "failed" and outcome.transient:  # name the service that is down, and the fix
        error = "\n".join(filter(None, [services.down_services(plan.params), error]))
    record.update(status=outcome.status, attempts=outcome.attempts, started_at=outcome.started_at,
                  ended_at=outcome.ended_at, duration_s=round(outcome.duration_s, 3),
                  failing_cell=outcome.failing_cell, error=error,
                  retried_errors="\n".join(outcome.retried) or None,
                  rows_written=recorded.get("rows_written"),
                  tables_read=json.dumps(recorded.get("tables_read", {})),
                  tables_written=json.dumps(recorded.get("tables_written", {})),
                  output_notebook=str(output), results=_results(outcome.records),
                  spark_cpu_s=cpu_s,
                  fingerprint=json.dumps({**fingerprint, "absent": recorded.get("tables_absent", [])}))
    if run.emitter:
        run.emitter.emit("COMPLETE" if outcome.status == "succeeded" else "FAIL", record, injected)
    if outcome.status == "succeeded":
        rows = recorded.get("rows_written")
        log(f"{prefix}: succeeded in {outcome.duration_s:.1f} s" + (f", {rows} rows written" if rows is not None else ""))
    else:
        where = f" in cell {outcome.failing_cell}" if outcome.failing_cell else ""
        log(f"{prefix}: FAILED{where} after {outcome.duration_s:.1f} s ({outcome.attempts} attempt(s)): "
            f"{execute.first_line(error)[:300]}\n    output notebook: {output}")
    return record
