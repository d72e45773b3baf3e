"""``dp generate`` and ``dp produce``: events into a product's topic.

Generators are found by convention: ``products.<package>.generator`` with ``generate(events, seed,
**product generate parameters)`` and ``KEY_FIELD``. A product without one cannot be generated
for, and says so.
"""
from __future__ import annotations

import importlib
import inspect
import json
import logging
from pathlib import Path

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
    topic = kafka_lib.topic_of(params, product)
    log(f"generating {events} {product} events (seed {seed}) into topic {topic} ...")
    sent = kafka_lib.produce(params, topic, kafka_lib.encode_events(stream, module.KEY_FIELD),
                             progress=lambda n: log(f"  {n}/{events} sent") if n % 50000 == 0 else None)
    log(f"sent {sent} events to {topic}")
    return sent


def read_jsonl(path: Path):
    """Lines of a JSON-lines file, as they are: a malformed line is still an event for bronze
    (and is quarantined downstream), so nothing is dropped here. Blank lines are skipped."""
    with open(path, "rb") as fh:
        for raw in fh:
            line = raw.rstrip(b"\r\n")
            if line.strip():
                yield line


def produce(params: dict, product: str, file: Path, log=logger.info) -> int:
    products.get(product)
    if not file.is_file():
        raise GenerateError(f"no such file: {file}")
    topic = kafka_lib.topic_of(params, product)
    key_field = getattr(_maybe_generator(product), "KEY_FIELD", None)

    def pairs():
        for line in read_jsonl(file):
            key = None
            if key_field:
                try:
                    obj = json.loads(line)
                    if isinstance(obj, dict) and obj.get(key_field) is not None:
                        key = str(obj[key_field]).encode()
                except ValueError:
                    pass
            yield key, line

    sent = kafka_lib.produce(params, topic, pairs())
    log(f"sent {sent} events from {file} to {topic}")
    return sent


def _maybe_generator(product: str):
    try:
        return _generator(product)
    except GenerateError:
        return None
