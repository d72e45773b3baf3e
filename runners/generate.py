"""``dp generate`` and ``dp produce``: events into a product's topic.

Generators are found by convention: ``products.<package>.generator`` with ``generate(events, seed,
**product generate parameters)`` and ``KEY_FIELD``. A product without one cannot be generated
for, and says so. A product with several topics (its ``topic`` parameter a mapping {role: topic})
has a generator with ``topic_role(event)``, which names the role each event goes to.
"""
from __future__ import annotations

import importlib
import inspect
import json
import logging
from pathlib import Path

from runners import logs
from shared_lib import kafka as kafka_lib
from shared_lib import paths, products
from shared_lib.errors import UserError

logger = logging.getLogger(__name__)


class GenerateError(UserError, ValueError):
    """Bad input to generate or produce; the message says what to fix."""


def _generator(product: str):
    products.get(product)  # unknown product: a UserError listing the known ones
    try:
        return importlib.import_module(f"products.{paths.package_name(product)}.generator")
    except ModuleNotFoundError as exc:
        raise GenerateError(f"{product} has no event generator (products/{paths.package_name(product)}/"
                            f"generator.py)") from exc


def generate(params: dict, product: str, events: int | None = None, seed: int | None = None,
             log=logger.info) -> int:
    module = _generator(product)
    settings = dict(params[product]["generate"])
    events = settings.pop("events") if events is None else events
    seed = settings.pop("seed") if seed is None else seed
    settings.pop("events", None), settings.pop("seed", None)
    if events < 0:
        raise GenerateError(f"--events must be >= 0, got {events}")
    accepted = inspect.signature(module.generate).parameters
    stream = module.generate(events, seed, **{k: v for k, v in settings.items() if k in accepted})
    topics = kafka_lib.topics_of(params, product)
    if len(topics) > 1:
        return _generate_routed(params, product, module, stream, topics, log)
    topic = kafka_lib.topic_of(params, product)
    log(f"generating {events} {product} events (seed {seed}) into topic {topic} ...")
    sent = _produce(params, topic, kafka_lib.encode_events(stream, module.KEY_FIELD), events)
    log(f"sent {sent} events to {topic}")
    return sent


def _generate_routed(params: dict, product: str, module, stream, topics: dict[str, str], log) -> int:
    """Each event of ``stream`` to the topic of its role (``module.topic_role``), in stream order."""
    by_role: dict[str, list] = {role: [] for role in topics}
    for event in stream:
        by_role[module.topic_role(event)].append(event)
    sent = 0
    for role, events in by_role.items():
        n = _produce(params, topics[role], kafka_lib.encode_events(iter(events), module.KEY_FIELD), len(events))
        log(f"sent {n} {product} events to {topics[role]}")
        sent += n
    return sent


def _produce(params: dict, topic: str, pairs, total: int | None) -> int:
    """``kafka_lib.produce`` with progress: a bar on a terminal, a line per 100,000 elsewhere."""
    progress = logs.count_progress(f"sent to {topic}", total, logger)
    try:
        return kafka_lib.produce(params, topic, pairs, progress=progress.update)
    finally:
        progress.close()


def with_fresh_ids(events, prefix: str) -> list:
    """``events`` with ``prefix`` before each event id: a generator numbers its events from 0
    whatever the seed, so a second batch as generated would be all duplicates. Deliberately broken
    events (not a dict with an id) stay as they are."""
    return [dict(e, event_id=f"{prefix}{e['event_id']}") if isinstance(e, dict) and "event_id" in e else e
            for e in events]


def choose_topic(params: dict, product: str, topic: str | None) -> str:
    """The topic ``dp produce --topic`` names (a topic or its role), or the product's only one."""
    products.get(product)
    topics = kafka_lib.topics_of(params, product)
    if topic is None:
        if len(topics) > 1:
            raise GenerateError(f"{product} has several topics: name one with --topic "
                                f"({', '.join(topics.values())})")
        return next(iter(topics.values()))
    for role, name in topics.items():
        if topic in (role, name) and topic:
            return name
    raise GenerateError(f"{product} has no topic {topic!r}: expected one of {', '.join(topics.values())}")


def read_jsonl(path: Path):
    """Lines of a JSON-lines file, as they are: a malformed line is still an event for bronze
    (and is quarantined downstream), so nothing is dropped here. Blank lines are skipped."""
    with open(path, "rb") as fh:
        for raw in fh:
            line = raw.rstrip(b"\r\n")
            if line.strip():
                yield line


def message_key(line: bytes, key_field: str | None) -> bytes | None:
    """The Kafka key of a line: its ``key_field`` when it is a JSON object that has one, else None
    (any other line, however malformed, deeply nested or not UTF-8, is still sent, without a key)."""
    if not key_field:
        return None
    try:
        obj = json.loads(line)
        if isinstance(obj, dict) and obj.get(key_field) is not None:
            return str(obj[key_field]).encode("utf-8", errors="surrogatepass")
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than json recurses
        pass
    return None


def produce(params: dict, product: str, file: Path, log=logger.info, topic: str | None = None) -> int:
    products.get(product)
    topic = choose_topic(params, product, topic)
    if not file.is_file():
        raise GenerateError(f"no such file: {file}")
    key_field = getattr(_maybe_generator(product), "KEY_FIELD", None)

    pairs = ((message_key(line, key_field), line) for line in read_jsonl(file))
    sent = _produce(params, topic, pairs, None)
    log(f"sent {sent} events from {file} to {topic}")
    return sent


def _maybe_generator(product: str):
    try:
        return _generator(product)
    except GenerateError:
        return None
