"""What the HTTP benchmarks do alike with the servers they start: wait until one answers, stop
it, and count the CPU seconds a process used."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import psutil

from runners.bench.workspace import BenchError

START_TIMEOUT_S = 60.0


def wait_until_answers(url: str, proc: subprocess.Popen, what: str, log_path: Path | None = None,
                       timeout_s: float = START_TIMEOUT_S) -> None:
    """Returns once ``url`` answers 200; ``what`` (the server ``proc`` runs) names it in the
    error when the process exits first or nothing answers within ``timeout_s``."""
    see = f"; see {log_path}" if log_path else ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} stopped at start-up (exit code {proc.returncode}){see}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:  # not listening yet
            pass
        time.sleep(0.2)
    raise BenchError(f"{what} did not answer {url} within {timeout_s:.0f} s{see}")


def stop(proc: subprocess.Popen, timeout_s: float) -> None:
    """Ends ``proc``: asked to stop, killed when still running after ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_s(process: psutil.Process) -> float:
    """User and system CPU seconds ``process`` has used so far."""
    times = process.cpu_times()
    return times.user + times.system
