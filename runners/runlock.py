"""One ``dp run`` at a time per workspace: a lock file with the run's id, pid and the start time
of that pid's process.

``dp run`` and each run of ``dp schedule`` take the lock before their first notebook and give it
back at the end; a second one meanwhile waits for it (``wait``, re-checking every second) or, with
``dp run --no-wait``, refuses at once. The platform API never waits: it takes the lock before it
starts a run in the background (409 while another run holds it) and hands it to that run's
process, so two requests cannot start two runs. A lock whose process is gone (a run killed with
SIGKILL, a machine that rebooted) or whose pid now belongs to another program (its start time
differs from the one recorded) is stale: it is taken over, with a log line saying so.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import psutil

from shared_lib import paths
from shared_lib.errors import UserError

logger = logging.getLogger(__name__)

POLL_S = 1.0  # how often a waiting run re-checks the lock
PROGRESS_EVERY_S = 30.0  # how often it says it is still waiting
SAME_PROCESS_S = 1.0  # create times within this are one process (psutil rounds them)


class RunLocked(UserError, RuntimeError):
    """Another run holds the workspace's run lock."""

    def __init__(self, holder: Holder):
        self.holder = holder
        super().__init__(f"run {holder.run_id} (pid {holder.pid}, since {holder.since}) is still running in "
                         f"workspace {paths.workspace()}: wait for it to finish, or stop it (kill {holder.pid})")


@dataclass(frozen=True)
class Holder:
    run_id: str
    pid: int
    since: str  # UTC, ISO-8601
    pid_started: float | None = None  # the pid's process create time; None in locks of older versions

    @property
    def alive(self) -> bool:
        """Its process still runs: the pid exists, is no zombie, and (when recorded) started when
        the lock says, so a pid reused by another program after a reboot or a kill is no holder."""
        try:
            proc = psutil.Process(self.pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            return self.pid_started is None or abs(proc.create_time() - self.pid_started) < SAME_PROCESS_S
        except psutil.Error:
            return False

    def __str__(self) -> str:
        return f"run {self.run_id} (pid {self.pid}, since {self.since})"


def lock_file() -> Path:
    return paths.pids_dir() / "run.lock"


def process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _recorded() -> Holder | None:
    """What the lock file says, alive or not; None when there is none or it is unreadable."""
    try:
        data = json.loads(lock_file().read_text())
        started = data.get("pid_started")
        return Holder(str(data["run_id"]), int(data["pid"]), str(data["since"]),
                      None if started is None else float(started))
    except (FileNotFoundError, ValueError, KeyError, TypeError, AttributeError):
        return None


def holder() -> Holder | None:
    """Who holds the lock now; None when nobody does or its holder is gone."""
    found = _recorded()
    return found if found is not None and found.alive else None


@contextlib.contextmanager
def _guard() -> Iterator[None]:
    """Serialises check-and-replace of the lock file across processes (two that find the same
    stale lock must not both take it). An flock: the kernel drops it when its process dies."""
    lock_file().parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file().with_suffix(".guard"), "a") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def _write(holder: Holder) -> None:
    """Replace the lock file in one step (a reader never sees half a lock)."""
    tmp = lock_file().with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(holder)))
    os.replace(tmp, lock_file())


def try_acquire(run_id: str, pid: int | None = None) -> Holder:
    """Take the lock for ``run_id`` (held by ``pid``, default this process) or raise ``RunLocked``
    at once. A lock already held for the same run id is taken over (the process the platform API
    started for it); a stale one is replaced, with a warning naming the run that left it."""
    pid = pid or os.getpid()
    mine = Holder(run_id, pid, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), process_started(pid))
    with _guard():
        current = _recorded()
        if current is not None and current.run_id != run_id:
            if current.alive:
                raise RunLocked(current)
            logger.warning("run lock: %s left it and its process is gone (dead, or its pid now another "
                           "program's): taken over by run %s", current, run_id)
        _write(mine)
    return mine


def acquire(run_id: str, pid: int | None = None, wait: bool = False, log: Callable[[str], None] | None = None,
            poll_s: float = POLL_S, progress_every_s: float = PROGRESS_EVERY_S) -> Holder:
    """``try_acquire``; with ``wait``, while another live run holds the lock, wait for it (saying
    so, re-checking every ``poll_s``, and every ``progress_every_s`` how long so far)."""
    say = log or logger.info
    waited_for: Holder | None = None
    began = last_said = time.monotonic()
    while True:
        try:
            return try_acquire(run_id, pid)
        except RunLocked as exc:
            if not wait:
                raise
            now = time.monotonic()
            if exc.holder != waited_for:  # first time, or another waiter got it first
                say(f"waiting for {exc.holder} to finish (re-checking every {poll_s:g} s; "
                    "dp run --no-wait refuses instead) ...")
                waited_for, last_said = exc.holder, now
            elif now - last_said >= progress_every_s:
                say(f"still waiting for {exc.holder}: {now - began:.0f} s so far ...")
                last_said = now
        time.sleep(poll_s)


def hand_over(run_id: str, pid: int) -> None:
    """Give the lock of ``run_id`` to the process ``pid`` that runs it."""
    with _guard():
        current = _recorded()
        if current and current.run_id == run_id:
            _write(Holder(run_id, pid, current.since, process_started(pid)))


def release(run_id: str) -> None:
    """Give the lock back, if ``run_id`` still holds it."""
    with _guard():
        current = _recorded()
        if current and current.run_id == run_id:
            with contextlib.suppress(FileNotFoundError):
                lock_file().unlink()


@contextlib.contextmanager
def held(run_id: str, wait: bool = False, log: Callable[[str], None] | None = None):
    acquire(run_id, wait=wait, log=log)
    try:
        yield
    finally:
        release(run_id)
