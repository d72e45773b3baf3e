"""One ``dp run`` at a time per workspace: a lock file with the run's id and pid.

``dp run`` takes the lock before its first notebook and gives it back at the end; the platform
API takes it before it starts a run in the background and hands it to that run's process, so two
requests cannot start two runs. A lock whose process is gone (a run killed with SIGKILL, a
machine that rebooted) is stale and taken over.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import psutil

from shared_lib import paths
from shared_lib.errors import UserError


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

    @property
    def alive(self) -> bool:
        try:
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


def lock_file() -> Path:
    return paths.pids_dir() / "run.lock"


def holder() -> Holder | None:
    """Who holds the lock now; None when nobody does or its holder is gone."""
    try:
        data = json.loads(lock_file().read_text())
        found = Holder(str(data["run_id"]), int(data["pid"]), str(data["since"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return found if found.alive else None


def _write_new(content: dict) -> bool:
    """Create the lock file with ``content``; False when it exists already."""
    lock_file().parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(lock_file(), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as out:
        json.dump(content, out)
    return True


def acquire(run_id: str, pid: int | None = None) -> Holder:
    """Take the lock for ``run_id`` (held by ``pid``, default this process). A lock already held
    for the same run id is taken over (the process the platform API started for it); a stale one
    is replaced; one held by another live run raises ``RunLocked``."""
    mine = Holder(run_id, pid or os.getpid(), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    for _ in range(5):
        if _write_new(mine.__dict__):
            return mine
        current = holder()
        if current is not None and current.run_id != run_id:
            raise RunLocked(current)
        # Stale, or handed to us: replace it. Two processes that both found it stale race to create
        # the file anew; the loser sees the winner's lock on its next pass.
        with contextlib.suppress(FileNotFoundError):
            lock_file().unlink()
    raise RunLocked(holder() or mine)


def hand_over(run_id: str, pid: int) -> None:
    """Give the lock of ``run_id`` to the process ``pid`` that runs it."""
    current = _read()
    if current and current.get("run_id") == run_id:
        lock_file().write_text(json.dumps({**current, "pid": pid}))


def release(run_id: str) -> None:
    """Give the lock back, if ``run_id`` still holds it."""
    current = _read()
    if current and current.get("run_id") == run_id:
        with contextlib.suppress(FileNotFoundError):
            lock_file().unlink()


def _read() -> dict | None:
    try:
        data = json.loads(lock_file().read_text())
        return data if isinstance(data, dict) else None
    except (FileNotFoundError, ValueError):
        return None


@contextlib.contextmanager
def held(run_id: str):
    acquire(run_id)
    try:
        yield
    finally:
        release(run_id)
