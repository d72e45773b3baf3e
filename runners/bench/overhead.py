"""Runner overhead: an empty notebook through the platform's runner (warm kernels, the Spark
Connect server up), against plain papermill with a fresh local SparkSession."""
from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from runners import services
from runners.bench import steps
from runners.bench.measure import timed
from runners.bench.report import figure, spread
from runners.bench.workspace import Setup

TARGET_S = 2.0
EMPTY_NOTEBOOK = Path(__file__).parent / "notebooks" / "empty.ipynb"


def _run_ours(setup: Setup, tag: int | str, pool=None) -> float:
    output = setup.workspace / "bench" / f"ours-{tag}.ipynb"
    elapsed, _ = timed(lambda: steps.execute_notebook(setup, EMPTY_NOTEBOOK, output, pool))
    return elapsed


def _run_baseline(setup: Setup, i: int) -> float:
    """One run of plain papermill with a fresh in-process SparkSession (the same jars and confs)."""
    import papermill

    output = setup.workspace / "bench" / f"baseline-{i}.ipynb"
    # Its own UI port: the bench's Connect server holds the configured one.
    overrides = {"platform.services.spark.mode": "local",
                 "platform.services.spark.ui_port": services.free_ports(1)[0]}
    elapsed, _ = timed(lambda: papermill.execute_notebook(
        str(EMPTY_NOTEBOOK), str(output), parameters={"env": setup.params["env"], "overrides": overrides},
        kernel_name=setup.params["platform"]["runner"]["kernel"], progress_bar=False, log_output=False,
        cwd=str(EMPTY_NOTEBOOK.parent)))
    return elapsed


def _time_runs(setup: Setup, label: str, run: Callable[[Setup, int], float], count: int) -> list[float]:
    samples = []
    for i in range(count):
        samples.append(run(setup, i))
        setup.log(f"  {label} {i + 1}/{count}: {samples[-1]:.2f} s")
    return samples


def bench(setup: Setup) -> list[dict]:
    # The server's first session pays its warm-up once after `dp up`: reported apart from the
    # steady state that the target is about.
    first = _run_ours(setup, "first")
    setup.log(f"  runner (Spark Connect), first notebook since the server started: {first:.2f} s")
    pool = steps.kernel_pool(setup)
    try:
        pool.prefetch(EMPTY_NOTEBOOK.parent)
        ours = _time_runs(setup, "runner (Spark Connect)", lambda s, i: _run_ours(s, i, pool),
                          setup.sizes.ours_runs)
    finally:
        pool.close()
    baseline = _time_runs(setup, "papermill + local SparkSession", _run_baseline, setup.sizes.baseline_runs)
    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    return [
        figure("runner, empty notebook (median)", ours_median, "s", at_most=TARGET_S,
               notes="execute.execute incl. HTML, warm kernels as in dp run, Connect server up; " + spread(ours),
               samples=ours),
        figure("runner, first notebook since the server started", first, "s",
               notes="one-off warm-up of the Connect server, not in the median"),
        figure("papermill + fresh local SparkSession (median)", baseline_median, "s",
               notes="baseline, same jars and confs; " + spread(baseline), samples=baseline),
        figure("baseline / runner", baseline_median / ours_median, "x",
               notes="how many times faster the runner starts a notebook"),
    ]
