"""Kafka helpers on kafka-python: the bootstrap address, topics, a producer, end offsets.

Everything takes the loaded parameters, so the ports of the workspace in use are the ones used.
"""
from __future__ import annotations

import contextlib
import json
import socket
import time
from typing import Iterable, Iterator

from shared_lib import paths, products
from shared_lib.errors import UserError

TOPIC_KEYS = ("partitions", "replication_factor", "min_insync_replicas")


def brokers_file():
    """Where ``dp up`` records how many brokers this workspace's cluster was formatted with."""
    return paths.service_dir("kafka") / "brokers"


def broker_count(params: dict) -> int:
    """Brokers of this workspace's local cluster: the count it was first started with, else
    ``platform.services.kafka.brokers``."""
    try:
        return int(brokers_file().read_text().strip())
    except (FileNotFoundError, ValueError):
        return int(params["platform"]["services"]["kafka"].get("brokers", 1))


def local_brokers(params: dict, count: int | None = None) -> list[tuple[int, int, int]]:
    """(node id, port, controller port) of each local broker: broker i (from 1) on port + 2(i-1)
    and controller_port + 2(i-1), so that the defaults 19092/19093 interleave."""
    kafka = params["platform"]["services"]["kafka"]
    n = broker_count(params) if count is None else count
    return [(i, kafka["port"] + 2 * (i - 1), kafka["controller_port"] + 2 * (i - 1)) for i in range(1, n + 1)]


def external(params: dict) -> bool:
    """True when ``platform.services.kafka.bootstrap`` names a cluster that ``dp up`` does not start."""
    return bool(params["platform"]["services"]["kafka"].get("bootstrap", "").strip())


def bootstrap(params: dict) -> str:
    """The bootstrap list: ``platform.services.kafka.bootstrap`` when set, else every local broker."""
    kafka = params["platform"]["services"]["kafka"]
    if external(params):
        return kafka["bootstrap"].strip()
    return ",".join(f"{kafka['host']}:{kafka['port'] + 2 * i}" for i in range(broker_count(params)))


def bootstrap_addresses(params: dict) -> list[tuple[str, int]]:
    """The bootstrap list as (host, port) pairs."""
    pairs = [entry.strip().rsplit(":", 1) for entry in bootstrap(params).split(",") if entry.strip()]
    return [(host, int(port)) for host, port in pairs]


def topic_settings(params: dict, topic: str) -> dict[str, int]:
    """{partitions, replication_factor, min_insync_replicas} of ``topic``: its entry in
    ``platform.services.kafka.topics`` over the defaults; replication 0 means as many replicas as
    brokers (at most 3), min.insync.replicas 0 one less than the replicas (at least 1)."""
    kafka = params["platform"]["services"]["kafka"]
    own = (kafka.get("topics") or {}).get(topic) or {}
    key = f"platform.services.kafka.topics.{topic}"
    if not isinstance(own, dict) or set(own) - set(TOPIC_KEYS) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in own.values()):
        raise UserError(f"parameters (platform.yaml): {key!r} must map some of {', '.join(TOPIC_KEYS)} "
                        f"to whole numbers >= 0, got {own!r}")
    settings = {k: int(own.get(k, kafka[k])) for k in TOPIC_KEYS}
    if not settings["replication_factor"]:
        settings["replication_factor"] = 3 if external(params) else min(3, broker_count(params))
    if not settings["min_insync_replicas"]:
        settings["min_insync_replicas"] = max(1, settings["replication_factor"] - 1)
    if settings["min_insync_replicas"] > settings["replication_factor"]:
        raise UserError(f"parameters (platform.yaml): {key!r}: min_insync_replicas "
                        f"{settings['min_insync_replicas']} exceeds replication_factor "
                        f"{settings['replication_factor']}: lower it or add replicas")
    return settings


class KafkaUnavailable(RuntimeError):
    """The broker does not answer; the message names its address and the fix (a transient failure:
    the runner retries)."""


def require_broker(params: dict, topics: str) -> None:
    """Raise ``KafkaUnavailable`` at once when nothing answers on the broker's port: Spark's Kafka
    source would otherwise retry its offset requests for minutes before failing."""
    kafka = params["platform"]["services"]["kafka"]
    with socket.socket() as sock:
        sock.settimeout(2.0)
        if sock.connect_ex((kafka["host"], kafka["port"])) == 0:
            return
    raise KafkaUnavailable(f"the Kafka broker at {bootstrap(params)} does not answer, so {topics} cannot be read: "
                           f"start it with `dp up` (nothing was ingested; the next run resumes where the last stopped)")


def topic_of(params: dict, product: str) -> str:
    return params[product]["topic"]


def topics_of(params: dict, product: str) -> dict[str, str]:
    """{role: topic} of a product: its ``topic`` parameter is one topic (role ``""``) or, for a
    product with several topics, a mapping such as ``{audit: compliance.audit, ...}``."""
    topic = params[product]["topic"]
    return dict(topic) if isinstance(topic, dict) else {"": topic}


@contextlib.contextmanager
def _admin(params: dict):
    """An admin client of the broker, closed afterwards."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap(params), client_id="dp-admin",
                             request_timeout_ms=20000)
    try:
        yield admin
    finally:
        admin.close()


def ensure_topics(params: dict, topics: Iterable[str], attempts: int = 3) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created. A connection cut on the
    way (a broker of a cluster dying just then) is retried with a new client: creating is
    idempotent."""
    from kafka.errors import KafkaConnectionError

    wanted = list(topics)
    for attempt in range(1, attempts + 1):
        try:
            return _ensure_topics_once(params, wanted)
        except KafkaConnectionError:
            if attempt == attempts:
                raise
            time.sleep(1)
    return []


def _ensure_topics_once(params: dict, topics: list[str]) -> list[str]:
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    kafka = params["platform"]["services"]["kafka"]
    with _admin(params) as admin:
        existing = set(admin.list_topics())
        created = []
        for topic in [t for t in dict.fromkeys(topics) if t not in existing]:
            settings = topic_settings(params, topic)
            configs = {"max.message.bytes": str(kafka["max_message_bytes"]),
                       "min.insync.replicas": str(settings["min_insync_replicas"])}
            try:
                admin.create_topics([NewTopic(topic, num_partitions=settings["partitions"],
                                              replication_factor=settings["replication_factor"],
                                              topic_configs=configs)])
                created.append(topic)
            except TopicAlreadyExistsError:
                pass
        return created


def cluster_brokers(params: dict) -> list[int]:
    """The ids of the brokers the cluster has now (fenced ones left out); raises while it cannot
    answer yet."""
    with _admin(params) as admin:
        return sorted(b["broker_id"] for b in admin.describe_cluster()["brokers"] if not b.get("is_fenced"))


def existing_topics(params: dict) -> set[str]:
    """The topics on the broker; raises while it cannot answer yet."""
    with _admin(params) as admin:
        return set(admin.list_topics())


def all_topics(params: dict) -> list[str]:
    """Every declared product's topics: its product.yaml ``topics`` and the ``topic`` its
    parameters give bronze and ``dp generate`` (an override names a topic of its own)."""
    topics: list[str] = []
    for name, product in products.all_products().items():
        topics += product.topics
        if (params.get(name) or {}).get("topic"):
            topics += topics_of(params, name).values()
    return list(dict.fromkeys(topics))


def producer(params: dict, **options):
    """A producer of the workspace's broker; ``options`` (kafka-python's) replace the defaults."""
    from kafka import KafkaProducer

    kafka = params["platform"]["services"]["kafka"]
    settings = dict(acks="all", linger_ms=20, batch_size=256 * 1024, compression_type=None,
                    max_request_size=kafka["max_message_bytes"], client_id="dp-producer")
    return KafkaProducer(bootstrap_servers=bootstrap(params), **{**settings, **options})


def produce(params: dict, topic: str, messages: Iterable[tuple[bytes | None, bytes]],
            progress=None) -> int:
    """Send ``(key, value)`` byte pairs; waits for every acknowledgement. Returns the count sent;
    ``progress(n)`` as acknowledgements come in. A large load is sent by several producer
    processes (``services.kafka.producer_processes``; ``shared_lib.kafka_produce``). The topic is
    created first if missing (with the platform's partitions and message size): the broker does
    not create topics on first use, and a send would wait a minute, then fail."""
    from shared_lib import kafka_produce

    ensure_topics(params, [topic])
    processes = params["platform"]["services"]["kafka"]["producer_processes"]
    return kafka_produce.in_processes(params, topic, messages, processes, progress)


def encode_events(events: Iterable[dict | str | bytes], key_field: str | None = None
                  ) -> Iterator[tuple[bytes | None, bytes]]:
    """Events as Kafka (key, value) pairs. Strings and bytes pass through untouched, so that a
    deliberately malformed line reaches bronze as it was."""
    for event in events:
        if isinstance(event, dict):
            key = event.get(key_field) if key_field else None
            yield (str(key).encode() if key is not None else None,
                   json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode())
        elif isinstance(event, str):
            yield None, event.encode("utf-8", errors="surrogateescape")
        else:
            yield None, bytes(event)


def end_offsets(params: dict, topic: str) -> dict[int, int]:
    """Latest offset per partition of ``topic`` (the offset the next message will get)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap(params), client_id="dp-offsets",
                             enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()} if tps else {}
    finally:
        consumer.close()


def beginning_offsets(params: dict, topic: str) -> dict[int, int]:
    """Earliest offset still on the broker per partition of ``topic`` (retention moves it up)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap(params), client_id="dp-offsets",
                             enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        return {tp.partition: off for tp, off in consumer.beginning_offsets(tps).items()} if tps else {}
    finally:
        consumer.close()


def timestamps_at(params: dict, topic: str, offsets: dict[int, int], timeout_s: float = 10.0) -> dict[int, int]:
    """Kafka timestamp (epoch ms) of the message at ``offsets[partition]``, per partition; a
    partition whose message could not be read in ``timeout_s`` is left out."""
    from kafka import KafkaConsumer, TopicPartition

    if not offsets:
        return {}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap(params), client_id="dp-offsets",
                             enable_auto_commit=False, max_poll_records=len(offsets) * 50)
    found: dict[int, int] = {}
    try:
        tps = {p: TopicPartition(topic, p) for p in offsets}
        consumer.assign(list(tps.values()))
        for p, tp in tps.items():
            consumer.seek(tp, offsets[p])
        deadline = time.monotonic() + timeout_s
        while len(found) < len(offsets) and time.monotonic() < deadline:
            for tp, messages in consumer.poll(timeout_ms=500).items():
                first = next((m for m in messages if m.offset >= offsets[tp.partition]), None)
                if first is not None and tp.partition not in found:
                    found[tp.partition] = first.timestamp
                    consumer.pause(tp)  # one message per partition is all we need
        return found
    finally:
        consumer.close()


def topic_retention_ms(params: dict, topics: Iterable[str]) -> dict[str, int | None]:
    """{topic: its ``retention.ms`` on the broker} (None: no such topic)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    names = list(dict.fromkeys(topics))
    out: dict[str, int | None] = {t: None for t in names}
    with _admin(params) as admin:
        existing = set(admin.list_topics())
        wanted = [ConfigResource(ConfigResourceType.TOPIC, t) for t in names if t in existing]
        if not wanted:
            return out
        # {resource type: {name: {config key: {"value": ...}}}}; "all": defaults included.
        found = admin.describe_configs(wanted, config_filter="all").get("topic", {})
    for name, configs in found.items():
        value = (configs.get("retention.ms") or {}).get("value")
        out[name] = int(value) if value is not None else None
    return out
