"""Kafka -> bronze against the real broker and Spark Connect server: every message exactly once,
after reruns and after the ingest is killed mid-run."""
import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from products.web_user_analytics import generator
from runners import run as run_lib
from runners import services
from shared_lib import kafka as kafka_lib
from shared_lib import lake, products
from shared_lib import spark as spark_lib

pytestmark = pytest.mark.integration
PRODUCT = "web-user-analytics"
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)  # the generator's clock


def bronze():
    return products.get(PRODUCT).table("events_raw")


def bronze_rows() -> tuple[int, int, list[str]]:
    """(rows, distinct (partition, offset) pairs, values) of the bronze table."""
    table = bronze()
    if not lake.exists(table):
        return 0, 0, []
    df = lake.delta_table(table).to_pandas(columns=["partition", "offset", "value"])
    return len(df), len(df.drop_duplicates(["partition", "offset"])), list(df["value"])


def topic_total(params) -> int:
    return sum(kafka_lib.end_offsets(params, kafka_lib.topic_of(params, PRODUCT)).values())


def produce(params, events) -> int:
    return kafka_lib.produce(params, kafka_lib.topic_of(params, PRODUCT),
                             kafka_lib.encode_events(events, generator.KEY_FIELD))


def run_bronze(**kwargs):
    summary = run_lib.run(products=[PRODUCT], layer="bronze", **kwargs)
    assert summary.ok, summary.records
    return summary.records[0]


def test_exactly_n_bronze_rows_after_two_runs(params):
    events = list(generator.generate(400, seed=11, bad_share=0.03, now=NOW))
    malformed = [e for e in events if isinstance(e, str)]
    assert len(malformed) == 12
    before_rows, _, _ = bronze_rows()
    before_topic = topic_total(params)
    assert before_rows == before_topic  # whatever earlier tests left is fully ingested or empty
    assert produce(params, events) == 400
    first = run_bronze()
    second = run_bronze()
    rows, distinct, values = bronze_rows()
    assert rows == before_rows + 400 == topic_total(params)
    assert distinct == rows
    assert first["rows_written"] == 400 and second["rows_written"] == 0
    for raw in malformed:  # bad input reaches bronze as it was sent, once
        assert values.count(raw) == 1


def test_crash_mid_ingest_then_rerun_is_exactly_n(params):
    """Kill the Spark server (where the streaming query runs) and the runner while bronze is
    half-way through small micro-batches; after a restart, a rerun ends with every message once."""
    produce(params, generator.generate(6000, seed=5, bad_share=0, now=NOW + dt.timedelta(days=1)))
    total = topic_total(params)
    start_rows, _, _ = bronze_rows()
    start_version = _version()
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    runner = subprocess.Popen([sys.executable, "-m", "runners.cli", "run", "--product", PRODUCT, "--layer",
                               "bronze", "-p", f"{PRODUCT}.bronze.max_offsets_per_trigger=400"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.time() + 180
        while (_version() or -1) < (start_version or -1) + 3:  # a few micro-batches committed
            assert runner.poll() is None, "the run ended before it could be interrupted"
            assert time.time() < deadline, "bronze made no progress"
            time.sleep(0.2)
        server = services.our_process("spark")
        server.kill()  # the ingest dies mid-run: SIGKILL, no clean-up
        server.wait(30)
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait(30)
        rows_at_crash, _, _ = bronze_rows()
        assert start_rows < rows_at_crash < total, "the crash must interrupt a partial ingest"
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
        spark_lib.stop_all()  # the old server's sessions are gone with it
        services.up(params, ["spark"])
    run_bronze()
    rows, distinct, _ = bronze_rows()
    assert rows == total == distinct


def _version():
    return lake.version(bronze())
