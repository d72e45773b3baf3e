"""Execute one notebook with papermill: injected parameters, a whole-notebook timeout, retries
for transient failures only, and the executed notebook plus its HTML kept.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from runners.kernels import KernelPool
from shared_lib import recorder

# Failures worth another attempt: the kernel died or a service was momentarily unreachable.
# A failing assertion or a bug in a cell is never retried: it would fail the same way.
TRANSIENT_ERRORS = {"DeadKernelError", "KernelStartError", "SparkUnavailable", "NoBrokersAvailable", "KafkaTimeoutError",
                    "ConnectionRefusedError", "ConnectionResetError", "BrokenPipeError"}
TRANSIENT_TEXT = re.compile(r"StatusCode\.UNAVAILABLE|Connection refused|Kernel died|Socket closed")


@dataclass
class Outcome:
    status: str  # succeeded | failed
    attempts: int
    started_at: float
    ended_at: float
    output: Path
    html: Path | None = None
    failing_cell: int | None = None
    error: str | None = None
    transient: bool = False
    records: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at


def is_transient(ename: str | None, evalue: str | None) -> bool:
    if ename in TRANSIENT_ERRORS:
        return True
    return ename in ("SparkConnectGrpcException", "RuntimeError", None) and bool(
        TRANSIENT_TEXT.search(evalue or ""))


def _attempt(source: Path, output: Path, parameters: dict, kernel: str, timeout_s: float,
             cwd: Path, pool: KernelPool, prefetch: Path | None) -> tuple[str | None, str | None, int | None]:
    """Run once; returns (error name, message, failing cell index) or Nones on success."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    deadline = time.time() + timeout_s
    current: dict = {}

    def time_left(cell) -> int:
        # nbclient asks before each cell: answering with what is left of the notebook's budget
        # makes its per-cell timeout a whole-notebook timeout, and tells us which cell runs.
        current["id"] = cell.get("id")
        return max(1, int(deadline - time.time()))

    try:
        km = pool.take(cwd)
    except Exception as exc:  # no kernel at all: transient, the retry policy decides
        return "KernelStartError", f"KernelStartError: {exc}", None
    if prefetch:
        pool.prefetch(prefetch)  # the next notebook's kernel warms up while this one runs
    try:
        papermill.execute_notebook(
            str(source), str(output), parameters=parameters, kernel_name=kernel,
            progress_bar=False, log_output=False, cwd=str(cwd), timeout_func=time_left, km=km)
        return None, None, None
    except PapermillExecutionError as exc:
        return exc.ename, f"{exc.ename}: {exc.evalue}", exc.cell_index
    except Exception as exc:  # kernel death, timeout, ...: the notebook as far as it got is kept
        name = type(exc).__name__
        cell = _cell_index(output, current.get("id"))
        if name in ("CellTimeoutError", "TimeoutError"):
            return "NotebookTimeout", f"NotebookTimeout: still running after {timeout_s:.0f} s", cell
        return name, f"{name}: {exc}", cell
    finally:
        pool.release(km)


def _cell_index(output: Path, cell_id: str | None) -> int | None:
    """Index in the executed notebook of the cell with ``cell_id``."""
    try:
        import nbformat
        cells = nbformat.read(str(output), as_version=4).cells
    except Exception:
        return None
    return next((i for i, cell in enumerate(cells) if cell_id and cell.get("id") == cell_id), None)


def to_html(notebook: Path) -> Path:
    import warnings

    from nbconvert import HTMLExporter
    with warnings.catch_warnings():
        # recorded results have no visual form; nbconvert warns about each one
        warnings.filterwarnings("ignore", message="Your element with mimetype")
        body, _ = HTMLExporter().from_filename(str(notebook))
    html = notebook.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def execute(source: Path, output: Path, parameters: dict, kernel: str = "python3", timeout_s: float = 1800,
            retries: int = 0, retry_delay_s: float = 3, html: bool = True, log=print,
            pool: KernelPool | None = None, prefetch: Path | None = None) -> Outcome:
    """Run ``source`` into ``output``. With a ``pool``, its warm kernel is used and a kernel for
    the next notebook (working directory ``prefetch``) starts warming up meanwhile."""
    output.parent.mkdir(parents=True, exist_ok=True)
    own_pool = pool is None
    pool = pool or KernelPool(kernel)
    started = time.time()
    attempts = 0
    while True:
        attempts += 1
        ename, error, cell = _attempt(source, output, parameters, kernel, timeout_s, source.parent,
                                      pool, prefetch)
        transient = ename is not None and is_transient(ename, error)
        if ename is None or not transient or attempts > retries:
            break
        log(f"    transient failure ({error.splitlines()[0][:200]}); retrying in {retry_delay_s:g} s "
            f"(attempt {attempts + 1} of {retries + 1})")
        time.sleep(retry_delay_s)
    if own_pool:
        pool.close()
    outcome = Outcome(status="succeeded" if ename is None else "failed", attempts=attempts,
                      started_at=started, ended_at=time.time(), output=output, failing_cell=cell,
                      error=error, transient=transient)
    if output.exists():
        try:
            outcome.records = recorder.read_records(output)
        except Exception:
            outcome.records = {}
        if html:
            outcome.html = to_html(output)
    return outcome
