"""`dp up` against the real broker: every declared product's topic exists afterwards, also when
Kafka was already running and the product was added since; a second `dp up` creates nothing."""
import time
import uuid

import pytest

from runners import services
from shared_lib import kafka as kafka_lib
from shared_lib import paths

pytestmark = pytest.mark.integration


@pytest.fixture
def added_product(tmp_path, monkeypatch) -> str:
    """The real products plus one declared after the services came up; its topic's name."""
    root = tmp_path / "products"
    root.mkdir()
    for declaration in paths.PRODUCTS_DIR.glob("*/product.yaml"):
        (root / declaration.parent.name).symlink_to(declaration.parent)
    topic = f"added.events-{uuid.uuid4().hex[:8]}"
    (root / "added_product").mkdir()
    (root / "added_product" / "product.yaml").write_text(
        f"name: added-product\nowner: test\ntopics:\n  - {topic}\n")
    monkeypatch.setattr(paths, "PRODUCTS_DIR", root)
    return topic


def _delete(params, topic: str) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_lib.bootstrap(params), client_id="dp-test")
    try:
        admin.delete_topics([topic])
    finally:
        admin.close()
    deadline = time.monotonic() + 30
    while topic in kafka_lib.existing_topics(params):  # deletion completes asynchronously
        assert time.monotonic() < deadline, f"{topic} still listed 30 s after its deletion"
        time.sleep(0.2)


def test_up_creates_a_missing_topic_once(params, added_product):
    topic = added_product
    assert topic not in kafka_lib.existing_topics(params)
    assert services.our_process("kafka"), "the session's broker runs: this is `dp up` over running services"

    lines = services.up(params, ["kafka"])
    assert lines[-1] == f"kafka: created topic {topic}"
    existing = kafka_lib.existing_topics(params)
    assert topic in existing
    assert {"web.events", "mobile.events", "ops.requests"} <= existing

    assert services.up(params, ["kafka"])[-1] == "kafka: every product's topic exists"
    assert kafka_lib.existing_topics(params) == existing

    _delete(params, topic)  # a topic deleted by hand comes back with the next `dp up`
    assert services.up(params, ["kafka"])[-1] == f"kafka: created topic {topic}"
    deadline = time.monotonic() + 30
    while topic not in kafka_lib.existing_topics(params):  # a re-created name can lag its deletion's end
        assert time.monotonic() < deadline, f"{topic} not listed 30 s after dp up created it again"
        time.sleep(0.2)
    _delete(params, topic)


def test_a_parameters_override_names_a_topic_up_creates(params):
    topic = f"web.events.override-{uuid.uuid4().hex[:8]}"
    overridden = {**params, "web-user-analytics": {**params["web-user-analytics"], "topic": topic}}
    assert topic in kafka_lib.all_topics(overridden) and "web.events" in kafka_lib.all_topics(overridden)
    assert services.ensure_topics(overridden) == f"kafka: created topic {topic}"
    assert services.ensure_topics(overridden) == "kafka: every product's topic exists"
    _delete(params, topic)


def test_producing_to_a_missing_topic_creates_it_with_the_platforms_partitions(params):
    from kafka import KafkaConsumer, TopicPartition

    topic = f"produced.events-{uuid.uuid4().hex[:8]}"
    assert topic not in kafka_lib.existing_topics(params)
    assert kafka_lib.produce(params, topic, [(b"k1", b"{}"), (None, b"{}"), (b"k3", b"{}")]) == 3
    consumer = KafkaConsumer(bootstrap_servers=kafka_lib.bootstrap(params), client_id="dp-test")
    try:
        partitions = consumer.partitions_for_topic(topic)
        assert partitions == set(range(params["platform"]["services"]["kafka"]["partitions"]))
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        assert sum(ends.values()) == 3
    finally:
        consumer.close()
    _delete(params, topic)
