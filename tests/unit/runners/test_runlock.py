"""One `dp run` at a time per workspace: the run lock's holder, a stale lock taken over (its
process killed, or its pid reused by another program), the hand-over from the platform API to the
run's process, a second run waiting for the first, and `dp run --no-wait` refusing at once.
Holders are real processes where that is cheap."""
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from runners import run, runlock, services


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_nobody_holds_a_fresh_workspace_and_a_taken_lock_names_its_run():
    assert runlock.holder() is None
    taken = runlock.acquire("run-1")
    assert runlock.holder() == taken
    assert (taken.run_id, taken.pid) == ("run-1", os.getpid())
    runlock.release("run-1")
    assert runlock.holder() is None and not runlock.lock_file().exists()


def test_a_second_run_is_refused_while_the_first_holds_the_lock():
    runlock.acquire("run-1")
    with pytest.raises(runlock.RunLocked) as refused:
        runlock.acquire("run-2")
    assert refused.value.holder.run_id == "run-1"
    assert "run run-1" in str(refused.value) and f"pid {os.getpid()}" in str(refused.value)


def test_a_lock_whose_process_is_gone_is_stale_and_taken_over():
    runlock.lock_file().parent.mkdir(parents=True)
    runlock.lock_file().write_text(json.dumps({"run_id": "killed", "pid": dead_pid(), "since": "2024-01-01T00:00:00"}))
    assert runlock.holder() is None
    assert runlock.acquire("run-2").run_id == "run-2"


def test_an_unreadable_lock_file_counts_as_stale():
    runlock.lock_file().parent.mkdir(parents=True)
    runlock.lock_file().write_text("{half")
    assert runlock.acquire("run-2").run_id == "run-2"


def test_the_lock_is_handed_over_to_the_runs_process_which_takes_it_over():
    runlock.acquire("run-1")  # the platform API, before it starts the run
    child = subprocess.Popen(["sleep", "30"])
    try:
        runlock.hand_over("run-1", child.pid)
        assert runlock.holder().pid == child.pid
        assert runlock.acquire("run-1").pid == os.getpid()  # the run's own process takes its lock
    finally:
        child.kill()
        child.wait()


def test_releasing_another_runs_lock_leaves_it_alone():
    runlock.acquire("run-1")
    runlock.release("run-2")
    assert runlock.holder().run_id == "run-1"


def test_dp_run_no_wait_stops_before_any_notebook_while_another_run_holds_the_lock(monkeypatch):
    monkeypatch.setattr(services, "require_running", lambda *args, **kwargs: None)
    runlock.acquire("the-other-run")
    started = []
    monkeypatch.setattr(run, "_run", lambda *args: started.append(args))
    with pytest.raises(runlock.RunLocked, match="run the-other-run"):
        run.run(products=["web-user-analytics"], layer="bronze", wait=False)
    assert started == []


HOLD = """
import sys, time
from runners import runlock
runlock.acquire(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
runlock.release(sys.argv[1])
"""


@pytest.fixture
def holder_process():
    """Starts a real process that takes the lock for a run id, holds it for some seconds, then
    gives it back; returns once the lock is held. Killed at the end if still alive."""
    started = []

    def start(run_id: str, seconds: float) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLD, run_id, str(seconds)], stdout=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": os.getcwd()}, text=True)
        started.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc
    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_a_lock_left_by_a_process_killed_with_sigkill_is_taken_over_with_a_log_line(holder_process, caplog):
    killed = holder_process("killed-run", 60)
    with pytest.raises(runlock.RunLocked):  # alive: it holds the lock
        runlock.try_acquire("next-run")
    killed.send_signal(signal.SIGKILL)
    killed.wait()  # reaped: its pid is gone
    with caplog.at_level(logging.WARNING, logger="runners.runlock"):
        assert runlock.acquire("next-run").run_id == "next-run"
    assert f"run killed-run (pid {killed.pid}" in caplog.text and "taken over by run next-run" in caplog.text


def test_a_lock_whose_pid_now_belongs_to_another_program_is_stale():
    # This very process as the recorded pid, but with a start time an hour before its own:
    # the pid was reused after the holder died.
    me = os.getpid()
    runlock.lock_file().parent.mkdir(parents=True)
    runlock.lock_file().write_text(json.dumps({"run_id": "long-gone", "pid": me, "since": "2024-01-01T00:00:00",
                                               "pid_started": runlock.process_started(me) - 3600}))
    assert runlock.holder() is None
    assert runlock.try_acquire("run-2").run_id == "run-2"


def test_a_lock_of_an_older_version_without_the_start_time_counts_its_live_pid_as_holder():
    runlock.lock_file().parent.mkdir(parents=True)
    runlock.lock_file().write_text(json.dumps({"run_id": "old", "pid": os.getpid(), "since": "2024-01-01T00:00:00"}))
    assert runlock.holder().run_id == "old"


def test_a_waiting_run_gets_the_lock_when_the_holder_gives_it_back(holder_process):
    first = holder_process("first-run", 2)
    held_by = runlock.holder()
    said = []
    began = time.monotonic()
    got = runlock.acquire("second-run", wait=True, log=said.append, poll_s=0.2)
    waited = time.monotonic() - began
    assert got.run_id == "second-run" and runlock.holder() == got
    assert first.wait(timeout=10) == 0  # the holder ended normally, having released its lock
    assert 0.5 < waited < 10
    # One line naming whom it waits for (not one a poll).
    assert said == [f"waiting for run first-run (pid {first.pid}, since {held_by.since}) to finish "
                    "(re-checking every 0.2 s; dp run --no-wait refuses instead) ..."]


def test_a_long_wait_says_how_long_so_far():
    runlock.acquire("first-run")  # held by this process: released by a thread after 1 s
    threading.Timer(1.0, runlock.release, args=("first-run",)).start()
    said = []
    runlock.acquire("second-run", wait=True, log=said.append, poll_s=0.1, progress_every_s=0.3)
    assert said[0].startswith("waiting for run first-run")
    assert len(said) >= 3 and all(line.startswith("still waiting for run first-run (pid ") for line in said[1:])


def test_dp_run_waits_by_default_and_runs_once_the_other_run_is_done(monkeypatch):
    monkeypatch.setattr(services, "require_running", lambda *args, **kwargs: None)
    runlock.acquire("the-other-run")
    threading.Timer(0.5, runlock.release, args=("the-other-run",)).start()
    started = []
    monkeypatch.setattr(run, "_run", lambda planned, summary, *rest: started.append(runlock.holder().run_id))
    run.run(products=["web-user-analytics"], layer="bronze", run_id="mine")
    assert started == ["mine"] and runlock.holder() is None


def test_dp_run_has_a_no_wait_flag_and_waits_without_it():
    from runners import cli
    parser = cli.build_parser()
    assert parser.parse_args(["run", "--no-wait"]).no_wait is True
    assert parser.parse_args(["run"]).no_wait is False


def test_each_scheduled_run_waits_for_the_lock(monkeypatch):
    from runners import schedule
    asked = []
    monkeypatch.setattr(run, "run", lambda **kwargs: asked.append(kwargs["wait"]) or run.RunSummary("x"))
    monkeypatch.setattr(schedule, "due", lambda *args: ["nightly"])
    monkeypatch.setattr(schedule.params_lib, "load", lambda env, overrides=(): {"platform": {"schedules": {
        "nightly": {"every_minutes": 60, "products": [], "layer": "", "notebook": ""}}}})
    assert schedule.run_due(None, log=lambda line: None, now=1000.0) == [("nightly", True)]
    assert asked == [True]
