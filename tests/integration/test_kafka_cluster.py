"""`dp up --brokers 3` against real brokers: a three-broker KRaft cluster whose topics have three
replicas and min.insync.replicas 2; one broker killed (SIGKILL) while bronze ingests in small
micro-batches, and more events produced while it is down: bronze ends with every message once.

The cluster lives in a workspace of its own (its own DP_HOME and ports) beside the session's
single broker; the session's Spark Connect server runs the notebooks of both."""
import datetime as dt
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from products.web_user_analytics import generator
from runners import run as run_lib
from runners import services
from shared_lib import kafka as kafka_lib
from shared_lib import lake, products
from shared_lib import params as params_lib
from tests.conftest import TEST_OVERRIDES

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # minutes: three brokers started and one killed
PRODUCT = "web-user-analytics"
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)  # the generator's clock


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """Parameters of a new workspace whose `dp up --brokers 3` cluster runs; stopped afterwards."""
    first = services.free_port_run(6)  # 3 brokers x (broker, controller), interleaved
    monkeypatch.setenv("DP_HOME", str(tmp_path / "workspace"))
    monkeypatch.setenv("DP_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("DP_KAFKA_PORT", str(first))
    monkeypatch.setenv("DP_KAFKA_CONTROLLER_PORT", str(first + 1))
    params = params_lib.load("dev", TEST_OVERRIDES)
    try:
        lines = services.up(params, ["kafka"], progress=print, brokers=3)
        assert lines[0].startswith(f"kafka: 3 brokers running on 127.0.0.1:{first},127.0.0.1:{first + 2},"
                                   f"127.0.0.1:{first + 4} ")
        yield params
    finally:
        services.down(["kafka"])


def topic_layout(params, topic: str) -> tuple[list[int], str | None]:
    """(replica count of each partition, the topic's min.insync.replicas). A broker answers from
    its copy of the metadata, which may lag the topic's creation by a moment: asked again then."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_lib.bootstrap(params), client_id="dp-test")
    try:
        deadline = time.monotonic() + 30
        while True:
            [described] = admin.describe_topics([topic])
            found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])["topic"]
            min_isr = (found.get(topic, {}).get("min.insync.replicas") or {}).get("value")
            if (min_isr is not None and described["partitions"]) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        admin.close()
    replicas = [len(p["replica_nodes"]) for p in sorted(described["partitions"], key=lambda p: p["partition_index"])]
    return replicas, min_isr


def bronze_rows() -> tuple[int, int, Counter]:
    """(rows, distinct (partition, offset) pairs, how often each value is there) of web's bronze."""
    table = products.get(PRODUCT).table("events_raw")
    if not lake.exists(table):
        return 0, 0, Counter()
    df = lake.delta_table(table).to_pandas(columns=["partition", "offset", "value"])
    return len(df), len(df.drop_duplicates(["partition", "offset"])), Counter(df["value"])


SENT: Counter = Counter()  # every value produced, as often as it was sent (the generator repeats some events)


def produce(params, count: int, seed: int, day: int) -> int:
    events = generator.generate(count, seed=seed, bad_share=0, now=NOW + dt.timedelta(days=day))
    messages = list(kafka_lib.encode_events(events, generator.KEY_FIELD))
    SENT.update(value.decode() for _, value in messages)
    return kafka_lib.produce(params, kafka_lib.topic_of(params, PRODUCT), messages)


def test_a_broker_killed_during_an_ingest_loses_nothing_and_duplicates_nothing(cluster):
    params = cluster
    topic = kafka_lib.topic_of(params, PRODUCT)
    assert kafka_lib.cluster_brokers(params) == [1, 2, 3]
    assert topic_layout(params, topic) == ([3, 3, 3], "2")
    assert produce(params, 6000, seed=5, day=0) == 6000

    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    runner = subprocess.Popen([sys.executable, "-m", "runners.cli", "run", "--product", PRODUCT, "--layer",
                               "bronze", "-p", f"{PRODUCT}.bronze.max_offsets_per_trigger=300"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 240
        while bronze_rows()[0] < 600:  # a few micro-batches committed
            assert runner.poll() is None, "the run ended before a broker could be killed"
            assert time.time() < deadline, "bronze made no progress"
            time.sleep(0.2)
        services.our_process("kafka-2").kill()  # SIGKILL: no controlled shutdown
        killed_at = bronze_rows()[0]
        assert killed_at < 6000, "the broker must die during the ingest"
        # acks=all with min.insync.replicas 2: the two brokers left still take writes.
        assert produce(params, 1500, seed=6, day=1) == 1500
        assert runner.wait(600) == 0, "the ingest must survive one broker of three"
    finally:
        if runner.poll() is None:
            runner.kill()
    assert services.our_process("kafka-2") is None
    second = run_lib.run(products=[PRODUCT], layer="bronze")  # whatever came after the first run's end
    assert second.ok, second.records

    total = sum(kafka_lib.end_offsets(params, topic).values())
    assert total == 7500
    rows, distinct, values = bronze_rows()
    assert (rows, distinct) == (7500, 7500)
    assert values == SENT  # each message sent is in bronze exactly as often as it was sent
