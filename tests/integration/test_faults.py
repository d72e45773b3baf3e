"""Faults injected into web-user-analytics runs on the real broker and Spark Connect server: the
broker stopped during bronze, the Spark server killed during silver and during gold, a notebook's
kernel killed, the lake read-only, the disk full; then recovery from nothing (checkpoints lost,
tables lost). Each test runs in a workspace of its own on the same input (a topic of the module's
own) and ends with the tables of an undisturbed run, row by row. The services killed are restarted
and left up for the next tests."""
import dataclasses
import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from products.web_user_analytics import generator
from shared_lib import kafka as kafka_lib
from shared_lib import paths, products
from shared_lib import spark as spark_lib
from tests.integration import faults
from tests.integration.faults import PRODUCT, TOPIC

# In make test: the Spark server these tests restart forgets the test process's Connect session, and
# get_spark (which the `spark` fixture asks in each module) replaces it, so the modules after these run.
pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)  # the generator's clock
EVENTS = 300
SKIPPING = [*faults.OVERRIDES, "platform.runner.skip_up_to_date=true"]  # what is up to date is not run
RUN_CELL = 4  # `result = <step>.run(ctx)`: title, parameters, open_context, run, finish


@pytest.fixture(scope="module")
def session_services():
    return faults.SessionServices(os.environ["DP_HOME"], os.environ["DP_REPORTS"])


@dataclasses.dataclass
class Undisturbed:
    tables: dict  # faults.snapshot() after the undisturbed run
    after_bronze: Path  # a copy of its workspace when bronze had run
    after_gold: Path  # its workspace at the end


@pytest.fixture(scope="module")
def undisturbed(params, tmp_path_factory):
    """The input (EVENTS events, 3 % of them malformed, in the module's topic) and an undisturbed
    run on it, in a workspace of its own: bronze, then silver and gold (bronze up to date)."""
    kafka_lib.ensure_topics(params, [TOPIC])
    events = generator.generate(EVENTS, seed=19, bad_share=0.03, now=NOW)
    assert kafka_lib.produce(params, TOPIC, kafka_lib.encode_events(events, generator.KEY_FIELD)) == EVENTS
    home = tmp_path_factory.mktemp("undisturbed") / "workspace"
    after_bronze = tmp_path_factory.mktemp("after_bronze") / "workspace"
    with pytest.MonkeyPatch.context() as mp:
        faults.use_workspace(mp, home)
        assert faults.run(layer="bronze").ok
        shutil.copytree(home, after_bronze)
        summary = faults.run(overrides=SKIPPING)
        assert summary.ok and [r["status"] for r in summary.records] == ["up_to_date", "succeeded", "succeeded"]
        tables = faults.snapshot()
    assert len(tables["events_raw"]) == EVENTS and tables["daily_kpis"]
    return Undisturbed(tables, after_bronze, home)


@pytest.fixture
def workspace(monkeypatch, tmp_path, undisturbed):
    """An empty workspace of the test's own."""
    return faults.use_workspace(monkeypatch, tmp_path / "workspace")


@pytest.fixture
def bronze_done(monkeypatch, tmp_path, undisturbed):
    """A workspace where bronze has run (a copy of the undisturbed one then): runs with SKIPPING
    start at silver."""
    shutil.copytree(undisturbed.after_bronze, tmp_path / "workspace")
    return faults.use_workspace(monkeypatch, tmp_path / "workspace")


def test_broker_stopped_during_bronze_is_retried_once_it_is_back(workspace, session_services, monkeypatch, params,
                                                                  undisturbed):
    lines, log = faults.healing(lambda: session_services.start("kafka"))
    with faults.at_cell(monkeypatch, "bronze", RUN_CELL, lambda: session_services.stop("kafka")) as fired:
        summary = faults.run(log=log, layer="bronze")
    bronze = faults.record(summary, "bronze")
    assert fired and summary.ok
    assert (bronze["status"], bronze["attempts"]) == ("succeeded", 2)
    assert bronze["retried_errors"].startswith(f"KafkaUnavailable: the Kafka broker at {kafka_lib.bootstrap(params)}"
                                               f" does not answer, so {TOPIC} cannot be read: start it with `dp up`")
    assert any("transient failure (KafkaUnavailable" in line and "retrying in 1 s" in line for line in lines)
    assert faults.snapshot()["events_raw"] == undisturbed.tables["events_raw"]


def test_spark_killed_during_silver_is_retried_once_it_is_back(bronze_done, session_services, monkeypatch,
                                                                undisturbed):
    lines, log = faults.healing(lambda: (spark_lib.stop_all(), session_services.start("spark")))
    with faults.at_cell(monkeypatch, "silver", RUN_CELL, session_services.kill_spark, delay_s=1) as fired:
        summary = faults.run(log=log, overrides=SKIPPING)
    silver = faults.record(summary, "silver")
    assert fired and summary.ok, summary.records
    assert (silver["status"], silver["attempts"]) == ("succeeded", 2)
    assert "StatusCode.UNAVAILABLE" in silver["retried_errors"]
    assert faults.snapshot() == undisturbed.tables


def test_spark_killed_during_gold_fails_the_run_naming_it_and_a_repair_completes_it(
        bronze_done, session_services, monkeypatch, undisturbed):
    try:
        with faults.at_cell(monkeypatch, "gold", RUN_CELL, session_services.kill_spark, delay_s=1) as fired:
            failed = faults.run(overrides=SKIPPING)  # the server stays down: both attempts fail
    finally:
        spark_lib.stop_all()
        session_services.start("spark")
    gold = faults.record(failed, "gold")
    assert fired and not failed.ok
    assert (gold["status"], gold["attempts"], gold["failing_cell"]) == ("failed", 2, RUN_CELL)
    first, *rest = gold["error"].splitlines()
    # the server is the session's, started from another workspace: here it is "stopped", not "died"
    assert first.startswith("spark is not running on 127.0.0.1:") and first.endswith("`dp up` starts it")
    assert rest[0].startswith("SparkUnavailable: no Spark Connect server at sc://127.0.0.1:")
    assert "StatusCode.UNAVAILABLE" in gold["retried_errors"]
    repaired = faults.run(repair=failed.run_id)
    assert repaired.ok and [(r["notebook"], r["repair_of"]) for r in repaired.records] == [("gold", failed.run_id)]
    assert faults.snapshot() == undisturbed.tables


def test_a_killed_kernel_is_retried_in_a_new_kernel(bronze_done, monkeypatch, undisturbed):
    leased = faults.leased_kernels(monkeypatch)
    with faults.at_cell(monkeypatch, "silver", RUN_CELL, lambda: faults.kill_kernel(leased[-1]), delay_s=1) as fired:
        summary = faults.run(overrides=SKIPPING)
    silver = faults.record(summary, "silver")
    assert fired and summary.ok, summary.records
    assert (silver["status"], silver["attempts"]) == ("succeeded", 2)
    assert silver["retried_errors"].startswith("DeadKernelError")
    assert faults.snapshot() == undisturbed.tables


def test_a_read_only_lake_fails_silver_naming_it_and_a_repair_completes_the_run(bronze_done, monkeypatch,
                                                                                undisturbed):
    faults.require_root_mounts()
    product_lake = products.get(PRODUCT).table("events").path.parent.parent
    assert product_lake.parent == paths.lake_dir()

    def read_only() -> None:
        subprocess.run(["mount", "--bind", str(product_lake), str(product_lake)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(product_lake)], check=True)
    try:
        with faults.at_cell(monkeypatch, "silver", RUN_CELL, read_only) as fired:
            failed = faults.run(overrides=SKIPPING)
    finally:
        subprocess.run(["umount", str(product_lake)], check=False)
    silver, gold = faults.record(failed, "silver"), faults.record(failed, "gold")
    assert fired and (silver["status"], silver["attempts"], silver["failing_cell"]) == ("failed", 1, RUN_CELL)
    assert "Read-only file system" in silver["error"] and silver["retried_errors"] is None  # not transient
    assert gold["status"] == "skipped"
    repaired = faults.run(repair=failed.run_id)
    assert repaired.ok and [r["notebook"] for r in repaired.records] == ["silver", "gold"]
    assert faults.snapshot() == undisturbed.tables



def test_a_full_disk_fails_silver_naming_it_and_a_repair_completes_the_run_once_there_is_room(
        bronze_done, monkeypatch, undisturbed):
    faults.require_root_mounts()
    silver_lake = products.get(PRODUCT).table("events").path.parent

    def full_disk() -> None:  # silver's folder on a file system with 16 KiB: full at its first files
        silver_lake.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(silver_lake)], check=True)
    try:
        with faults.at_cell(monkeypatch, "silver", RUN_CELL, full_disk) as fired:
            failed = faults.run(overrides=SKIPPING)
        silver = faults.record(failed, "silver")
        assert fired and (silver["status"], silver["attempts"], silver["failing_cell"]) == ("failed", 1, RUN_CELL)
        assert "No space left on device" in silver["error"] and silver["retried_errors"] is None
        subprocess.run(["mount", "-o", "remount,size=256m", str(silver_lake)], check=True)  # room again, files kept
        repaired = faults.run(repair=failed.run_id)
        assert repaired.ok and [r["notebook"] for r in repaired.records] == ["silver", "gold"]
        assert faults.snapshot() == undisturbed.tables
    finally:
        subprocess.run(["umount", str(silver_lake)], check=False)


# Recovery from nothing: the README's "Disaster recovery".

def test_deleted_checkpoints_resume_after_what_bronze_holds(bronze_done, undisturbed):
    shutil.rmtree(paths.workspace() / "checkpoints")
    again = faults.run(layer="bronze")
    assert again.ok and faults.record(again, "bronze")["rows_written"] == 0  # nothing ingested twice
    assert faults.snapshot()["events_raw"] == undisturbed.tables["events_raw"]


def test_a_lost_lake_is_rebuilt_from_kafka_by_the_next_run(monkeypatch, tmp_path, undisturbed):
    """The product's tables deleted, its checkpoints left: the next run, skipping what is up to
    date as a scheduled one does, rebuilds every table from the topic."""
    shutil.copytree(undisturbed.after_gold, tmp_path / "workspace")
    faults.use_workspace(monkeypatch, tmp_path / "workspace")
    shutil.rmtree(paths.lake_dir() / PRODUCT)
    rebuilt = faults.run(overrides=SKIPPING)
    assert rebuilt.ok and [r["status"] for r in rebuilt.records] == ["succeeded"] * 3
    assert faults.record(rebuilt, "bronze")["rows_written"] == EVENTS
    assert faults.snapshot() == undisturbed.tables
