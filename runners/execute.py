"""Execute one notebook with papermill: injected parameters, a whole-notebook timeout, retries
for transient failures only, and the executed notebook plus its HTML kept.
"""
from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from jupyter_client.manager import AsyncKernelManager

from runners import kernels
from shared_lib import recorder

logger = logging.getLogger(__name__)

# Failures worth another attempt: the kernel died or a service was momentarily unreachable.
# A failing assertion or a bug in a cell is never retried: it would fail the same way.
TRANSIENT_ERRORS = {"DeadKernelError", "KernelStartError", "SparkUnavailable", "NoBrokersAvailable", "KafkaTimeoutError",
                    "KafkaUnavailable", "ConnectionRefusedError", "ConnectionResetError", "BrokenPipeError"}
TRANSIENT_TEXT = re.compile(r"StatusCode\.UNAVAILABLE|Connection refused|Kernel died|Socket closed")


@dataclass
class Outcome:
    status: str  # succeeded | failed
    attempts: int
    started_at: float
    ended_at: float
    output: Path
    html: Path | None = None
    failing_cell: int | None = None  # i of the source notebook's cells, from 1
    error: str | None = None
    transient: bool = False
    retried: list[str] = field(default_factory=list)  # the errors of the attempts that were retried
    records: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at


def is_transient(ename: str | None, evalue: str | None) -> bool:
    if ename in TRANSIENT_ERRORS:
        return True
    return ename in ("SparkConnectGrpcException", "RuntimeError", None) and bool(
        TRANSIENT_TEXT.search(evalue or ""))


def backoff_s(first_delay_s: float, failed_attempts: int) -> float:
    """The wait before the next attempt: ``first_delay_s`` after the first failure, doubled after each further one."""
    return first_delay_s * 2 ** (failed_attempts - 1)


def one_line(error: str | None, limit: int = 300) -> str:
    """An error on one line, whitespace collapsed: a gRPC error's first line says nothing, its status is on the next."""
    return " ".join((error or "").split())[:limit]


def first_line(error: str | None) -> str:
    return (error or "").strip().splitlines()[0] if (error or "").strip() else ""


# Cells that papermill adds to the executed notebook; "cell N" counts the source notebook's cells.
ADDED_TAGS = frozenset({"injected-parameters", "papermill-error-cell-tag"})
KernelLease = Callable[[], ContextManager[AsyncKernelManager]]


def _added(cell) -> bool:
    return bool(ADDED_TAGS & set(cell.get("metadata", {}).get("tags", [])))


def source_position(cells, index: int) -> tuple[int, int] | None:
    """``(i, n)``: the executed notebook's cell ``index`` is cell i (from 1) of the n cells of the
    source notebook; None for a cell that papermill added."""
    if not 0 <= index < len(cells) or _added(cells[index]):
        return None
    return sum(not _added(c) for c in cells[:index]) + 1, sum(not _added(c) for c in cells)


@contextlib.contextmanager
def fresh_kernel(kernel: str, cwd: Path) -> Iterator[AsyncKernelManager]:
    """A kernel of its own for one attempt, shut down after it (no pool)."""
    km = kernels.start_kernel(kernel, cwd)
    try:
        yield km
    finally:
        kernels.shut_down(km)


def _attempt(source: Path, output: Path, parameters: dict, kernel: str, timeout_s: float,
             lease: KernelLease, on_cell: Callable[[int, int], None] | None
             ) -> tuple[str | None, str | None, int | None]:
    """Run once; returns (error name, message, failing cell: i of the source) or Nones on success."""
    deadline = time.time() + timeout_s
    state: dict = {"cells": [], "position": None}

    def time_left(cell) -> int:
        # nbclient asks before each cell: answering with what is left of the notebook's budget
        # makes its per-cell timeout a whole-notebook timeout.
        return max(1, int(deadline - time.time()))

    def notebook_started(notebook, **_) -> None:
        state["cells"] = notebook.cells

    def cell_started(cell, cell_index, **_) -> None:
        state["position"] = source_position(state["cells"], cell_index)
        if state["position"] and on_cell:
            on_cell(*state["position"])

    def failing_cell() -> int | None:
        return state["position"][0] if state["position"] else None

    with contextlib.ExitStack() as stack:
        try:
            km = stack.enter_context(lease())
        except Exception as exc:  # no kernel at all: transient, the retry policy decides
            return "KernelStartError", f"KernelStartError: {exc}", None
        return _papermill(source, output, parameters, kernel, km, timeout_s,
                          {"timeout_func": time_left, "on_notebook_start": notebook_started,
                           "on_cell_start": cell_started}, failing_cell)


def _papermill(source: Path, output: Path, parameters: dict, kernel: str, km, timeout_s: float,
               hooks: dict, failing_cell: Callable[[], int | None]) -> tuple[str | None, str | None, int | None]:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(source), str(output), parameters=parameters, kernel_name=kernel,
            progress_bar=False, log_output=False, cwd=str(source.parent), km=km, **hooks)
        return None, None, None
    except PapermillExecutionError as exc:  # the failing cell is the last one started
        return exc.ename, f"{exc.ename}: {exc.evalue}", failing_cell()
    except Exception as exc:  # kernel death, timeout, ...: the notebook as far as it got is kept
        name = type(exc).__name__
        if name in ("CellTimeoutError", "TimeoutError"):
            return "NotebookTimeout", f"NotebookTimeout: still running after {timeout_s:.0f} s", failing_cell()
        return name, f"{name}: {exc}", failing_cell()


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
            retries: int = 0, retry_delay_s: float = 3, html: bool = True, log: Callable[[str], None] | None = None,
            lease: KernelLease | None = None, on_cell: Callable[[int, int], None] | None = None) -> Outcome:
    """Run ``source`` into ``output``. Each attempt runs in a kernel from ``lease`` (the runner's
    pool: see ``runners.run``), by default a fresh one; ``on_cell(i, n)`` as cell i of the source's
    n cells starts. A transient failure is retried up to ``retries`` times after ``retry_delay_s``,
    doubled at each further attempt (a service restarting gets more time each round)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    log = log or logger.info
    lease = lease or (lambda: fresh_kernel(kernel, source.parent))
    started = time.time()
    attempts, retried = 0, []
    while True:
        attempts += 1
        ename, error, cell = _attempt(source, output, parameters, kernel, timeout_s, lease, on_cell)
        transient = ename is not None and is_transient(ename, error)
        if ename is None or not transient or attempts > retries:
            break
        delay = backoff_s(retry_delay_s, attempts)
        retried.append(one_line(error))
        log(f"    transient failure ({first_line(error)[:200]}); retrying in {delay:g} s "
            f"(attempt {attempts + 1} of {retries + 1})")
        time.sleep(delay)
    outcome = Outcome(status="succeeded" if ename is None else "failed", attempts=attempts,
                      started_at=started, ended_at=time.time(), output=output, failing_cell=cell,
                      error=error, transient=transient, retried=retried)
    if output.exists():
        try:
            outcome.records = recorder.read_records(output)
        except Exception:
            outcome.records = {}
        if html:
            outcome.html = to_html(output)
    return outcome
