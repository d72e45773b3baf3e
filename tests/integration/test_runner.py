"""The runner on made-up DAGs: a failing notebook is named with its cell, its output kept, its
downstream skipped and recorded; transient failures are retried, assertions are not; a notebook
over its time limit is stopped."""
import json
from pathlib import Path

import nbformat
import pytest

from runners import run as run_lib
from runners import runlog
from tests import factories

pytestmark = pytest.mark.integration

def product(tmp_path, name, nodes):
    """``nodes`` = [(name, depends_on, cells)], as the runner's ``declared``."""
    return {name: factories.declare(tmp_path, name, [(n, deps, cells, None) for n, deps, cells in nodes])}


def test_failure_skips_downstream_and_everything_is_recorded(tmp_path):
    declared = product(tmp_path, "demo", [
        ("ok", [], ["from shared_lib import recorder\nrecorder.record('dp.lineage', {'rows_written': 7, "
                    "'tables_read': {}, 'tables_written': {'demo.bronze.t': 3}})"]),
        ("boom", ["ok"], ["x = 1", "assert 1 + 1 == 3, 'deliberate failure'", "y = 2"]),
        ("after", ["boom"], ["pass"]),
        ("independent", [], ["pass"]),
    ])
    summary = run_lib.run(declared=declared, run_id="test-failure")
    status = {r["notebook"]: r for r in summary.records}
    order = [r["notebook"] for r in summary.records]
    assert sorted(order) == ["after", "boom", "independent", "ok"]
    assert order.index("ok") < order.index("boom") < order.index("after")
    assert {n: r["status"] for n, r in status.items()} == {
        "ok": "succeeded", "boom": "failed", "after": "skipped", "independent": "succeeded"}
    assert not summary.ok
    boom = status["boom"]
    # counted in the source notebook, from 1: parameters, "x = 1", the assertion (papermill's
    # injected parameters, cell 2 of the executed notebook, are not counted)
    assert boom["failing_cell"] == 3
    assert boom["error"] == "AssertionError: deliberate failure"
    assert boom["attempts"] == 1  # a failing assertion is never retried
    assert status["after"]["error"] == "skipped: upstream demo:boom did not succeed"
    assert status["ok"]["rows_written"] == 7
    assert json.loads(status["ok"]["tables_written"]) == {"demo.bronze.t": 3}
    kept = Path(boom["output_notebook"])
    assert kept.exists() and kept.with_suffix(".html").exists()
    executed = nbformat.read(str(kept), as_version=4)
    assert executed.cells[4].get("execution_count") is None  # stopped at the failing cell
    recorded = runlog.read()
    mine = recorded[recorded.run_id == "test-failure"].set_index("notebook")
    assert mine["status"].to_dict() == {"ok": "succeeded", "boom": "failed", "after": "skipped",
                                        "independent": "succeeded"}
    assert mine.loc["boom", "failing_cell"] == 3


def test_force_runs_downstream_of_a_failure(tmp_path):
    declared = product(tmp_path, "forced", [("boom", [], ["raise ValueError('no')"]), ("after", ["boom"], ["pass"])])
    summary = run_lib.run(declared=declared, force=True, run_id="test-force")
    assert [r["status"] for r in summary.records] == ["failed", "succeeded"]


def test_transient_failure_is_retried_once(tmp_path):
    marker = tmp_path / "first-attempt-done"
    declared = product(tmp_path, "flaky", [("flaky", [], [
        "import pathlib\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.touch()\n"
        "    raise ConnectionRefusedError('service restarting')"])])
    summary = run_lib.run(declared=declared, overrides={"platform.runner.retry_delay_s": 0}, run_id="test-flaky")
    record = summary.records[0]
    assert (record["status"], record["attempts"]) == ("succeeded", 2)


def test_notebook_timeout(tmp_path):
    declared = product(tmp_path, "slow", [("slow", [], ["import time\ntime.sleep(120)"])])
    summary = run_lib.run(declared=declared, overrides={"platform.runner.timeout_s": 4}, run_id="test-slow")
    record = summary.records[0]
    assert record["status"] == "failed"
    assert record["error"].startswith("NotebookTimeout: still running after 4 s")
    assert record["failing_cell"] == 2  # parameters, then the sleep
    assert record["duration_s"] < 60


def test_unknown_product_is_refused_before_any_kernel(capsys):
    from runners.cli import main
    assert main(["run", "--product", "nope"]) == 2
    assert "unknown product 'nope': expected one of" in capsys.readouterr().err


def _checkpointed_rdds(params) -> set[int]:
    """Ids of the RDDs the Spark server holds for checkpoints (its UI's storage list)."""
    import urllib.request

    ui = f"http://127.0.0.1:{params['platform']['services']['spark']['ui_port']}/api/v1/applications"
    app = json.load(urllib.request.urlopen(ui))[0]["id"]
    return {r["id"] for r in json.load(urllib.request.urlopen(f"{ui}/{app}/storage/rdd"))
            if r["name"] == "MapPartitionsRDD" and r["numCachedPartitions"] > 0}


def _collect_server_garbage() -> None:
    """A full collection in the Spark server's JVM, after which Spark frees what nothing references."""
    import subprocess

    import psutil

    from runners import services

    server = psutil.Process(int(services.pid_file("spark").read_text()))
    java = next(p for p in [server, *server.children(recursive=True)] if p.name() == "java")
    subprocess.run(["jcmd", str(java.pid), "GC.run"], check=True, capture_output=True)


def test_a_notebooks_spark_session_is_released_when_its_kernel_ends(tmp_path, params):
    """A notebook's checkpoint leaves the server's memory once the run is over: the runner
    releases the kernel's Spark Connect session before shutting the kernel down (a killed
    kernel's session kept its checkpoints for the server's idle timeout)."""
    import time

    declared = product(tmp_path, "release", [("hold", [], [
        "from shared_lib import params, spark\n"
        "held = spark.get_spark(params.load()).range(54321).localCheckpoint(eager=True)"])])
    before = _checkpointed_rdds(params)
    summary = run_lib.run(declared=declared, run_id="test-release")
    assert summary.ok
    deadline = time.time() + 30  # Spark's cleaner unpersists asynchronously after the collection
    while True:
        _collect_server_garbage()
        left = _checkpointed_rdds(params) - before
        if not left or time.time() > deadline:
            break
        time.sleep(1)
    assert left == set()


def test_checkpoints_are_computed_at_once_and_released_when_the_block_ends(spark, params):
    import time

    from shared_lib import spark as spark_lib

    before = _checkpointed_rdds(params)

    def use(keep):  # the block's DataFrames live in a function, as ``checkpoints`` asks
        small, other = keep(spark.range(10)), keep(spark.range(20).selectExpr("id * 2 AS x"))
        held = _checkpointed_rdds(params) - before  # computed by keep, before any action
        assert small.count() + other.count() == 30
        return held

    with spark_lib.checkpoints() as keep:
        assert len(use(keep)) == 2
    deadline = time.time() + 30  # Spark's cleaner frees them asynchronously after a collection
    while (left := _checkpointed_rdds(params) - before) and time.time() < deadline:
        _collect_server_garbage()
        time.sleep(1)
    assert left == set()


def test_side_by_side_two_chains_overlap_a_failure_still_skips_its_downstream(tmp_path):
    """platform.runner.parallel=2: the two chains run at the same time (each notebook sleeps 3 s
    and writes when it started and ended), the failure's downstream is skipped, every notebook
    has its record, and the two that overlapped record no Spark CPU as their own."""
    stamp = ("import json, pathlib, time\nt0 = time.time()\ntime.sleep(3)\n"
             f"pathlib.Path({str(tmp_path)!r}, NAME).write_text(json.dumps([t0, time.time()]))")
    declared = product(tmp_path, "lanes", [
        ("a1", [], [stamp.replace("NAME", "'a1'")]),
        ("a2", ["a1"], [stamp.replace("NAME", "'a2'")]),
        ("b1", [], [stamp.replace("NAME", "'b1'"), "raise ValueError('b1 fails')"]),
        ("b2", ["b1"], ["pass"]),
    ])
    summary = run_lib.run(declared=declared, overrides={"platform.runner.parallel": 2}, run_id="test-lanes")
    status = {r["notebook"]: r["status"] for r in summary.records}
    assert status == {"a1": "succeeded", "a2": "succeeded", "b1": "failed", "b2": "skipped"}
    spans = {n: json.loads((tmp_path / n).read_text()) for n in ("a1", "a2", "b1")}
    assert spans["a1"][0] < spans["b1"][1] and spans["b1"][0] < spans["a1"][1]  # side by side
    assert spans["a2"][0] >= spans["a1"][1]  # a2 after what it depends on
    cpu = {r["notebook"]: r.get("spark_cpu_s") for r in summary.records}
    assert cpu["a1"] is None and cpu["b1"] is None  # they overlapped; a2 may have run alone
    recorded = runlog.read()
    assert sorted(recorded[recorded.run_id == "test-lanes"]["notebook"]) == ["a1", "a2", "b1", "b2"]
