"""``dp run``: validate everything, then execute the selected notebooks in DAG order.

Before any kernel starts: parameters load for the environment (overrides included), the DAG is
valid, and the services answer. Then each notebook runs through papermill; a failure keeps its
output notebook, names notebook and cell, and every notebook downstream of it is skipped (unless
``force``). Every notebook, run or skipped, gets a run record.
"""
from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from runners import dag as dag_lib
from runners import execute, runlog, services
from runners.kernels import KernelPool
from shared_lib import params as params_lib
from shared_lib import paths, products as products_lib


class RunError(RuntimeError):
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
        return not self.failed and all(r["status"] == "succeeded" for r in self.records)


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


def plan(products: list[str] | None = None, layer: str | None = None, notebook: str | None = None,
         env: str | None = None, overrides=(), declared: dict | None = None
         ) -> tuple[dict, dag_lib.Dag, list[str], dict]:
    """Everything that is checked before a kernel starts; raises with a clear message.
    ``declared`` replaces the products' declarations (tests run made-up DAGs this way)."""
    overrides = dict(params_lib.parse_overrides(overrides))
    params = params_lib.load(env, overrides)
    declared = products_lib.all_products() if declared is None else declared
    for p in products or []:
        if p not in declared:
            raise RunError(f"unknown product {p!r}: expected one of {', '.join(sorted(declared))}")
    if layer and layer not in paths.LAYERS:
        raise RunError(f"unknown layer {layer!r}: expected one of {', '.join(paths.LAYERS)}")
    dag = dag_lib.build(declared)
    chosen = dag_lib.select(dag, products, layer, notebook)
    return params, dag, chosen, overrides


def run(products: list[str] | None = None, layer: str | None = None, notebook: str | None = None,
        env: str | None = None, overrides=(), force: bool = False, run_id: str | None = None,
        declared: dict | None = None, log=print) -> RunSummary:
    params, dag, chosen, overrides = plan(products, layer, notebook, env, overrides, declared)
    needed = ["kafka"] + (["spark"] if params["platform"]["services"]["spark"]["mode"] == "connect" else [])
    services.require_running(params, needed)
    # Kernels must be this environment's Python, whatever PATH the caller had.
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    summary = RunSummary(run_id or new_run_id())
    out_dir = paths.run_reports_dir(summary.run_id)
    log(f"run {summary.run_id} (env {params['env']}): {len(chosen)} notebook(s); reports in {out_dir}")
    pool = KernelPool(params["platform"]["runner"]["kernel"])
    pool.prefetch(dag.nodes[chosen[0]].path.parent)
    status: dict[str, str] = {}
    try:
        for i, node_id in enumerate(chosen):
            prefix = f"[{i + 1}/{len(chosen)}] {node_id}"
            following = dag.nodes[chosen[i + 1]].path.parent if i + 1 < len(chosen) else None
            record = _run_node(dag, node_id, params, overrides, force, status, summary.run_id,
                               out_dir, pool, following, prefix, log)
            status[node_id] = record["status"]
            summary.records.append(record)
            runlog.append([record])
    finally:
        pool.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "run.json").write_text(json.dumps(summary.records, indent=2, default=str))
    counts = {s: sum(r["status"] == s for r in summary.records) for s in ("succeeded", "failed", "skipped")}
    log(f"run {summary.run_id}: {counts['succeeded']} succeeded, {counts['failed']} failed, "
        f"{counts['skipped']} skipped")
    return summary


def _run_node(dag, node_id, params, overrides, force, status, run_id, out_dir, pool, following,
              prefix, log) -> dict:
    """Run (or skip) one notebook; returns its run record."""
    nb = dag.nodes[node_id]
    runner = params["platform"]["runner"]
    injected = {**nb.parameters, "env": params["env"], "run_id": run_id, "overrides": overrides}
    record = {"run_id": run_id, "env": params["env"], "product": nb.product, "notebook": nb.name,
              "layer": nb.layer, "parameters": json.dumps(injected, default=str)}
    bad_upstream = sorted(d for d in dag.upstream(node_id) if status.get(d) in ("failed", "skipped"))
    if bad_upstream and not force:
        now = time.time()
        record.update(status="skipped", attempts=0, started_at=now, ended_at=now, duration_s=0.0,
                      error=f"skipped: upstream {', '.join(bad_upstream)} did not succeed")
        log(f"{prefix}: skipped (upstream {', '.join(bad_upstream)} did not succeed)")
        return record
    shown = nb.path.relative_to(paths.PROJECT_ROOT) if nb.path.is_relative_to(paths.PROJECT_ROOT) else nb.path
    log(f"{prefix}: running {shown} ...")
    output = out_dir / nb.product / nb.path.name
    outcome = execute.execute(nb.path, output, injected, kernel=runner["kernel"],
                              timeout_s=runner["timeout_s"], retries=runner["retries"],
                              retry_delay_s=runner["retry_delay_s"], html=runner["html"], log=log,
                              pool=pool, prefetch=following)
    lineage = outcome.records.get("dp.lineage", {})
    record.update(status=outcome.status, attempts=outcome.attempts, started_at=outcome.started_at,
                  ended_at=outcome.ended_at, duration_s=round(outcome.duration_s, 3),
                  failing_cell=outcome.failing_cell, error=outcome.error,
                  rows_written=lineage.get("rows_written"),
                  tables_read=json.dumps(lineage.get("tables_read", {})),
                  tables_written=json.dumps(lineage.get("tables_written", {})),
                  output_notebook=str(output))
    if outcome.status == "succeeded":
        rows = lineage.get("rows_written")
        log(f"{prefix}: succeeded in {outcome.duration_s:.1f} s" + (f", {rows} rows written" if rows is not None else ""))
    else:
        first_line = (outcome.error or "").splitlines()[0][:300]
        log(f"{prefix}: FAILED in cell {outcome.failing_cell} after {outcome.duration_s:.1f} s "
            f"({outcome.attempts} attempt(s)): {first_line}\n    output notebook: {output}")
    return record
