"""Helpers of the fault-injection and recovery tests: a workspace of the test's own on the
session's services, a topic of its own, faults fired as a chosen cell of a chosen notebook starts,
the session's services stopped and restarted from a process of their own, and the tables of a
product as comparable rows (run ids and processing times left out)."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from runners import logs
from runners import run as run_lib
from runners.kernels import KernelPool
from shared_lib import lake, paths, products

PRODUCT = "web-user-analytics"
TOPIC = "faults.web"
# Each run: the test's topic, no audit events into the session's shared compliance topic, one
# retry after 1 s (2 s, 4 s ... with more retries).
OVERRIDES = [f"{PRODUCT}.topic={TOPIC}", "platform.audit.record_runs=false",
             "platform.runner.retries=1", "platform.runner.retry_delay_s=1"]
# What differs between two runs of the same input by design: who wrote a row and when.
PROCESSING_COLUMNS = {"run_id", "ingested_at", "ingest_date", "processed_at", "refreshed_at"}
BOOKKEEPING_TABLES = {"batches", "refreshes"}  # one row per batch or refresh: their number depends on the runs


def use_workspace(monkeypatch, home: Path) -> Path:
    """Point DP_HOME and DP_REPORTS at ``home`` (the services stay the session's)."""
    monkeypatch.setenv("DP_HOME", str(home))
    monkeypatch.setenv("DP_REPORTS", str(home / "reports"))
    return home


def run(log=None, **kwargs) -> run_lib.RunSummary:
    kwargs.setdefault("overrides", OVERRIDES)
    if not kwargs.get("repair"):
        kwargs.setdefault("products", [PRODUCT])
    return run_lib.run(log=log or (lambda _: None), **kwargs)


def record(summary: run_lib.RunSummary, notebook: str) -> dict:
    return next(r for r in summary.records if r["notebook"] == notebook)


def snapshot(product: str = PRODUCT) -> dict[str, list[str]]:
    """{table: its rows as sorted JSON lines}, every declared table that exists but the bookkeeping,
    without the processing columns."""
    tables = {}
    for table in products.get(product).tables:
        if table.name in BOOKKEEPING_TABLES or not lake.exists(table):
            continue
        df = lake.read(table)
        df = df.drop(columns=[c for c in df.columns if c in PROCESSING_COLUMNS])
        tables[table.name] = sorted(json.dumps(row, default=str, sort_keys=True) for row in df.to_dict("records"))
    return tables


class SessionServices:
    """The session's broker and Spark server (conftest), driven from a process of its own with the
    session's DP_HOME: this process's DP_HOME names the test's workspace while its kernels start."""

    def __init__(self, home: str, reports: str):
        self.env = {**os.environ, "DP_HOME": home, "DP_REPORTS": reports}
        self.home = Path(home)

    def call(self, code: str) -> None:
        prelude = ("from runners import services; from shared_lib import params; "
                   "from tests.conftest import TEST_OVERRIDES; P = params.load('dev', TEST_OVERRIDES); ")
        subprocess.run([sys.executable, "-c", prelude + code], env=self.env, cwd=paths.PROJECT_ROOT, check=True,
                       stdout=subprocess.DEVNULL, timeout=400)

    def start(self, name: str) -> None:
        self.call(f"services.up(P, [{name!r}])")

    def _pid_file(self, name: str) -> Path:
        return self.home / paths.pids_dir().relative_to(paths.workspace()) / f"{name}.pid"

    def stop(self, name: str) -> None:
        """Stop a service as `dp down` does (SIGTERM, SIGKILL after 60 s), from this process: the
        session started the services, so only this process can reap them."""
        proc = psutil.Process(int(self._pid_file(name).read_text()))
        proc.terminate()
        try:
            proc.wait(60)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(30)
        self._pid_file(name).unlink()

    def kill_spark(self) -> int:
        """SIGKILL the Spark Connect server, no clean-up (its pid file stays: it died)."""
        proc = psutil.Process(int(self._pid_file("spark").read_text()))
        proc.kill()
        proc.wait(30)
        return proc.pid


def leased_kernels(monkeypatch) -> list:
    """The kernels the runner's pool hands out from now on, in order (the last runs the notebook)."""
    taken: list = []
    real = KernelPool.take

    def take(self, cwd):
        taken.append(real(self, cwd))
        return taken[-1]
    monkeypatch.setattr(KernelPool, "take", take)
    return taken


def kill_kernel(km) -> int:
    """SIGKILL a kernel's process, as the OOM killer would."""
    pid = km.provisioner.pid
    os.kill(pid, signal.SIGKILL)
    return pid


@contextlib.contextmanager
def at_cell(monkeypatch, notebook: str, cell: int, fault, delay_s: float = 0.0):
    """Fire ``fault()`` once, ``delay_s`` after cell ``cell`` (counted as in JupyterLab) of
    ``PRODUCT:notebook`` starts: at once in the runner's thread, or later from a thread of its own
    (the cell is then running). Yields the list that holds what ``fault`` returned."""
    fired: list = []
    armed: list = []
    real = logs.notebook_progress

    def fire() -> None:
        fired.append(fault())

    def progress(label: str, logger, stream=None):
        inner = real(label, logger, stream)
        if not label.endswith(f"{PRODUCT}:{notebook}"):
            return inner
        original = inner.cell

        def cell_started(index: int, total: int) -> None:
            original(index, total)
            if index == cell and not armed:
                armed.append(index)
                if delay_s:
                    threading.Timer(delay_s, fire).start()
                else:
                    fire()
        inner.cell = cell_started
        return inner

    monkeypatch.setattr(logs, "notebook_progress", progress)
    try:
        yield fired
    finally:
        monkeypatch.setattr(logs, "notebook_progress", real)


def healing(on_retry) -> tuple[list[str], object]:
    """A run's log that calls ``on_retry()`` when the runner announces a retry (the service comes
    back before the next attempt), and the lines it kept."""
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if "transient failure" in line:
            on_retry()
    return lines, log


def require_root_mounts() -> None:
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
