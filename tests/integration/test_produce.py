"""Producing a large load with two producer processes against the real broker: every message
acknowledged and in the topic exactly once, one key's messages in the order they were given, and
a refused message raises instead of being lost."""
import uuid
from collections import defaultdict

import pytest

from shared_lib import kafka as kafka_lib
from shared_lib import kafka_produce

pytestmark = pytest.mark.integration

KEYS = 37
COUNT = 2 * kafka_produce.CHUNK + 1  # more than a chunk per process: the processes are used


@pytest.fixture
def two_processes(params):
    kafka = params["platform"]["services"]["kafka"]
    return {**params, "platform": {**params["platform"], "services": {
        **params["platform"]["services"], "kafka": {**kafka, "producer_processes": 2}}}}


def read_back(params, topic: str) -> dict[int, list[bytes]]:
    """Every message of ``topic``: {partition: values in offset order}."""
    from kafka import KafkaConsumer, TopicPartition

    ends = kafka_lib.end_offsets(params, topic)
    consumer = KafkaConsumer(bootstrap_servers=kafka_lib.bootstrap(params), client_id="dp-test",
                             enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in ends]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        values: dict[int, list[bytes]] = defaultdict(list)
        while sum(len(v) for v in values.values()) < sum(ends.values()):
            for tp, records in consumer.poll(timeout_ms=2000).items():
                values[tp.partition] += [r.value for r in records]
        return values
    finally:
        consumer.close()


def test_two_processes_send_every_message_once_keeping_each_keys_order(two_processes):
    topic = f"produce-{uuid.uuid4().hex[:8]}"
    messages = [(f"k{i % KEYS}".encode(), f"k{i % KEYS}:{i}".encode()) for i in range(COUNT)]
    acked = []
    assert kafka_lib.produce(two_processes, topic, iter(messages), progress=acked.append) == COUNT
    assert acked[-1] == COUNT and acked == sorted(acked)
    by_partition = read_back(two_processes, topic)
    values = [v for vs in by_partition.values() for v in vs]
    assert sorted(values) == sorted(v for _, v in messages)  # each once, none lost or doubled
    for vs in by_partition.values():  # a key lives in one partition: its sequence numbers rise
        seqs = defaultdict(list)
        for v in vs:
            key, seq = v.decode().split(":")
            seqs[key].append(int(seq))
        assert all(s == sorted(s) for s in seqs.values())


@pytest.mark.parametrize("count", [COUNT, 10])  # from two producer processes, and from this one
def test_a_refused_message_raises_naming_the_cause(two_processes, count):
    limit = two_processes["platform"]["services"]["kafka"]["max_message_bytes"]
    messages = [(None, b"x")] * count + [(None, b"y" * (limit + 1))]
    with pytest.raises(kafka_produce.ProduceError, match="MessageSizeTooLarge"):
        kafka_lib.produce(two_processes, f"produce-{uuid.uuid4().hex[:8]}", messages)
