"""One `dp run` at a time per workspace: the run lock's holder, a stale lock taken over, the
hand-over from the platform API to the run's process, and `dp run` refusing to start beside
another run."""
import json
import os
import subprocess

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


def test_dp_run_stops_before_any_notebook_while_another_run_holds_the_lock(monkeypatch):
    monkeypatch.setattr(services, "require_running", lambda *args, **kwargs: None)
    runlock.acquire("the-other-run")
    started = []
    monkeypatch.setattr(run, "_run", lambda *args: started.append(args))
    with pytest.raises(runlock.RunLocked, match="run the-other-run"):
        run.run(products=["web-user-analytics"], layer="bronze")
    assert started == []
