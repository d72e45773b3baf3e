"""Notebooks side by side (runners.lanes): never more than the width at once, a node only after
those it waits for, ends handled in the calling thread, running ones interrupted on an error."""
import threading
import time

import pytest

from runners import lanes

ORDER = ["a1", "b1", "a2", "b2", "c"]
WAITS = {"a1": set(), "b1": set(), "a2": {"a1"}, "b2": {"b1"}, "c": {"a2", "b2"}}


def test_two_lanes_run_chains_side_by_side_and_a_join_after_both():
    log, lock, now = [], threading.Lock(), {"n": 0, "max": 0}
    caller = threading.get_ident()

    def start(node):
        with lock:
            now["n"] += 1
            now["max"] = max(now["max"], now["n"])
            log.append(("start", node))
        time.sleep({"a1": 0.3, "b1": 0.05, "a2": 0.05, "b2": 0.05, "c": 0.01}[node])
        with lock:
            now["n"] -= 1
        return {"node": node, "thread": threading.get_ident()}

    ended = []
    lanes.run(ORDER, WAITS, 2, start, lambda node, rec: ended.append((node, threading.get_ident())), lambda: None)
    starts = [n for kind, n in log if kind == "start"]
    assert now["max"] == 2
    # b's chain goes on while a1 runs; c starts only after a2 and b2 ended
    assert starts == ["a1", "b1", "b2", "a2", "c"]
    assert [n for n, _ in ended] == ["b1", "b2", "a1", "a2", "c"]
    assert {t for _, t in ended} == {caller}


def test_width_one_is_the_given_order():
    starts = []
    lanes.run(ORDER, WAITS, 1, lambda n: starts.append(n) or {}, lambda n, r: None, lambda: None)
    assert starts == ORDER


def test_an_error_interrupts_the_running_nodes_keeps_their_ends_and_is_raised():
    release, ended, interrupted = threading.Event(), [], []

    def start(node):
        if node == "b1":
            raise RuntimeError("b1 broke")
        release.wait(5)  # a1 runs until interrupted
        return {"status": "failed" if interrupted else "succeeded"}

    with pytest.raises(RuntimeError, match="b1 broke"):
        lanes.run(ORDER, WAITS, 2, start, lambda n, r: ended.append((n, r["status"])),
                  lambda: (interrupted.append(1), release.set()))
    assert interrupted == [1] and ended == [("a1", "failed")]


def test_a_node_waiting_for_one_never_run_is_an_error():
    with pytest.raises(ValueError, match="x wait for nodes that are not run"):
        lanes.run(["x"], {"x": {"y"}}, 2, lambda n: {}, lambda n, r: None, lambda: None)
