"""Every call the benchmarks make into the platform's code: the product steps, the runner and
its kernel pool. One place, so that a rename there is a one-line change here."""
from __future__ import annotations

import time
from pathlib import Path

from runners import execute, services
from runners import run as run_lib
from runners.bench.workspace import BenchError, Setup
from runners.kernels import KernelPool
from shared_lib import ingest, notebook
from shared_lib import params as params_lib
from shared_lib import spark as spark_lib


def load_params() -> dict:
    return params_lib.load()


def services_up(params: dict, log, workers: int | None = None) -> None:
    for line in services.up(params, progress=log, workers=workers):
        log(f"bench: {line}")


def services_down(log) -> None:
    """The bench's Spark sessions closed, then its services stopped."""
    spark_lib.stop_all()
    for line in services.down():
        log(f"bench: {line}")


def spark_server_pid() -> int:
    return int(services.pid_file("spark").read_text())


def kernel_pool(setup: Setup) -> KernelPool:
    return KernelPool(setup.params["platform"]["runner"]["kernel"])


def execute_notebook(setup: Setup, source: Path, output: Path, pool: KernelPool | None = None) -> None:
    """``source`` through the platform's runner (``execute.execute``, HTML included) as `dp run`
    does; with a ``pool``, its kernel was warmed ahead and the next one's warms meanwhile."""
    runner = setup.params["platform"]["runner"]
    outcome = execute.execute(source, output, {"env": setup.params["env"]}, kernel=runner["kernel"],
                              timeout_s=runner["timeout_s"], retries=0, html=runner["html"], log=setup.log,
                              lease=run_lib.lease(pool, source.parent, source.parent) if pool else None)
    if outcome.status != "succeeded":
        raise BenchError(f"{source.name} failed under the runner: {outcome.error} (see {output})")


def open_context(setup: Setup, product: str, layer: str, run_id: str):
    """The context a notebook of ``product`` and ``layer`` opens (``shared_lib.notebook``)."""
    return notebook.open_context(product, layer, setup.params["env"], run_id)


def bronze_step(ctx) -> int:
    """The bronze notebook's step: what the topic holds into bronze; the rows added."""
    return ingest.ingest(ctx)


def run(setup: Setup, product: str, layer: str | None = None, overrides=()):
    """``dp run`` of ``product`` (one ``layer``, or all); raises unless every notebook succeeded.
    Runs record no audit events here: they would add to the compliance benchmark's events; and
    run every notebook, up to date or not: the benchmark measures the work."""
    summary = run_lib.run(products=[product], layer=layer, log=setup.log,
                          overrides=("platform.audit.record_runs=false", "platform.runner.skip_up_to_date=false",
                                     *overrides))
    if not summary.ok:
        failed = ", ".join(f"{r['notebook']}: {(r['error'] or r['status']).splitlines()[0][:200]}"
                           for r in summary.records if r["status"] != "succeeded")
        raise BenchError(f"run {summary.run_id} did not succeed: {failed}")
    return summary


def run_layers(setup: Setup, product: str, layers: tuple[str, ...]) -> tuple[float, list[dict]]:
    """The product's notebooks of ``layers``, one layer after the other: seconds and run records."""
    started, records = time.perf_counter(), []
    for layer in layers:
        records += run(setup, product, layer).records
    return time.perf_counter() - started, records


def run_pipeline(setup: Setup, product: str) -> tuple[float, float, list[dict]]:
    """(seconds of Kafka -> bronze, seconds of bronze -> gold, the run records). The target is
    about bronze -> gold over bronze already loaded; Kafka -> bronze is measured apart."""
    ingest_s, bronze = run_layers(setup, product, ("bronze",))
    pipeline_s, records = run_layers(setup, product, ("silver", "gold"))
    return ingest_s, pipeline_s, bronze + records


def start_dashboards(setup: Setup) -> None:
    """The dashboards server, as `dp serve` starts it."""
    from runners import serve

    serve.start(setup.params, serve.DASHBOARDS, progress=setup.log)


def dashboard_address(setup: Setup, product: str) -> str:
    from runners import serve

    return next(u for u in serve.dashboard_addresses(setup.params) if u.endswith(f"/{product}.ipynb"))


def stop_dashboards() -> None:
    from runners import serve

    serve.stop()
