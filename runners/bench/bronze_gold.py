"""Bronze -> gold of a product's events through the runner, with a same-work DuckDB floor (the
product's module in ``floors``: contract and quarantine, duplicates, sessions, silver and every
gold table written as Parquet) over the events' JSON lines, and every gold table cross-checked
against the floor's, row by row (``crosscheck``).

One function, ``bench``, for every product; what differs between products is a ``Spec``
(``SPECS``): the product, its generator, the id fields that make a copy of an event new, and its
floor module."""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runners.bench import crosscheck, kafka_bronze, reads, steps
from runners.bench.measure import (
    Message,
    ServerWatch,
    progress,
    spark_server,
    timed,
    warm_up,
    warm_up_messages,
    whole_stack,
    with_prefix,
    write_jsonl,
)
from runners.bench.report import figure, notebook_figures, server_rss_figure
from runners.bench.workspace import BenchError, Setup
from shared_lib import kafka as kafka_lib

TARGET_S = 90.0
RATIO_TARGET = 10.0  # the pipeline against its same-work floor, measured in the same run
SEED = 42


@dataclass(frozen=True)
class Spec:
    """What a product's bronze -> gold benchmark needs to know about the product."""
    product: str
    label: str  # in figure names: "web", "mobile"
    generator: str  # the module with generate(n, seed) and KEY_FIELD
    size: str  # the field of ``Sizes`` with the event count
    seed: int
    # The id fields of a generated event, as the compact JSON of ``kafka.encode_events`` spells
    # them: a prefix there makes a copy of an event a new event of a new visitor or device.
    id_fields: tuple[bytes, ...]
    floor: str  # the module of ``runners.bench.floors`` with run(path, out, params), GOLD_KEYS, TOLERANCES
    # Generate a block this big and repeat it with fresh ids (``None``: generate every event).
    block_events: int | None = None
    # Events an earlier benchmark left in the topic and bronze: the floor must read them too.
    earlier: Callable[[Setup], list[Message]] = lambda setup: []
    generate_options: tuple[tuple[str, object], ...] = ()  # given to the generator's generate
    topic_role: str = ""  # which of the product's topics (``kafka.topics_of``) the events go to

    def floor_module(self):
        return importlib.import_module(f"runners.bench.floors.{self.floor}")


WEB = Spec(
    product="web-user-analytics", label="web", generator="products.web_user_analytics.generator",
    size="web_events", seed=SEED + 1,
    id_fields=(b'"event_id":"', b'"anonymous_id":"', b'"user_id":"', b'"order_id":"'),
    floor="web",
    # The generator (pure Python, ~70 us an event) would otherwise take minutes of a 1M-event run.
    block_events=100_000,
    earlier=kafka_bronze.already_produced)

MOBILE = Spec(
    product="mobile-user-analytics", label="mobile", generator="products.mobile_user_analytics.generator",
    size="mobile_events", seed=SEED + 2,
    # Its event ids are a counter: the same in every generated set.
    id_fields=(b'"event_id":"', b'"device_id":"', b'"user_id":"'),
    floor="mobile")


COMPLIANCE = Spec(
    product="compliance-auditing", label="compliance", generator="products.compliance_auditing.generator",
    size="compliance_events", seed=SEED + 4, id_fields=(b'"event_id":"',),
    floor="compliance", block_events=100_000, generate_options=(("consent_share", 0.0),), topic_role="audit")

SPECS = {"web bronze -> gold": WEB, "mobile bronze -> gold": MOBILE, "compliance bronze -> gold": COMPLIANCE}


def _generate(spec: Spec):
    """The spec's generate(n, seed) with its options."""
    return functools.partial(importlib.import_module(spec.generator).generate, **dict(spec.generate_options))


def messages(spec: Spec, n: int) -> list[Message]:
    """``n`` events of the spec's generator, bad ones included (its default share). With
    ``block_events``, copies of one block, each with ids of its own (``wb<copy>-``), so that
    copies are new visitors, sessions and orders, not duplicates."""
    generator, generate = importlib.import_module(spec.generator), _generate(spec)
    if spec.block_events is None:
        return list(kafka_lib.encode_events(generate(n, spec.seed), generator.KEY_FIELD))
    block = list(kafka_lib.encode_events(generate(min(n, spec.block_events), spec.seed),
                                         generator.KEY_FIELD))
    result: list[Message] = []
    for copy in range(-(-n // len(block))):
        prefix = f"wb{copy}-".encode()
        result += [with_prefix(m, prefix, spec.id_fields) for m in block[:n - len(result)]]
    return result


def bench(spec: Spec, setup: Setup) -> list[dict]:
    n, log, label = getattr(setup.sizes, spec.size), setup.log, spec.label
    topic = kafka_lib.topics_of(setup.params, spec.product)[spec.topic_role]
    log(f"  generating {n:,} {label} events (with the default share of bad ones) ...")
    generate_s, measured = timed(lambda: messages(spec, n))
    log(f"  generated in {generate_s:.1f} s")
    generator = importlib.import_module(spec.generator)
    warm = warm_up_messages(setup.sizes.warm_up_events, _generate(spec), generator.KEY_FIELD,
                            spec.id_fields, SEED + 3)
    # DuckDB reads everything the pipeline will: earlier benchmarks' events and the warm-up's too.
    jsonl = setup.workspace / "bench" / f"{label}-events.jsonl"
    write_jsonl(jsonl, spec.earlier(setup), warm, measured)
    warm_up_figures = warm_up(setup, spec.product, label, warm, topic)
    bronze_before = reads.bronze_rows(spec.product)
    log(f"  producing {n:,} events into {topic} ...")
    produce_s, _ = timed(lambda: kafka_lib.produce(setup.params, topic, measured, progress=progress(log, n)))
    log(f"  produced in {produce_s:.1f} s")
    server, stack = spark_server(), whole_stack()
    log("  running bronze, then silver and gold, through the runner ...")
    with server, stack:
        ingest_s, pipeline_s, records = steps.run_pipeline(setup, spec.product)
    ingested = reads.bronze_rows(spec.product) - bronze_before
    if ingested != n:
        raise BenchError(f"{spec.product} bronze gained {ingested} rows, expected the {n} produced")
    log("  DuckDB: the same work (contract, duplicates, sessions, silver and gold as Parquet) from the JSON lines ...")
    floor_module = spec.floor_module()
    duckdb_s, floor = timed(lambda: floor_module.run(jsonl, setup.workspace / "bench" / f"{label}-floor", setup.params))
    keys = floor_module.GOLD_KEYS
    diffs = crosscheck.compare_tables({t: reads.table_rows(spec.product, t) for t in keys}, floor, keys,
                                      floor_module.TOLERANCES)
    log(f"  Spark {pipeline_s:.1f} s, DuckDB {duckdb_s:.2f} s; gold vs DuckDB: {crosscheck.summary(diffs)}")
    return warm_up_figures + _figures(
        spec, n, ingest_s, pipeline_s, server, stack, records, duckdb_s, jsonl, diffs,
        notes=f"{bronze_before:,} bronze rows already processed (earlier benchmark, warm-up)",
        warm=bool(warm))


def _figures(spec: Spec, n: int, ingest_s: float, pipeline_s: float, server: ServerWatch, stack: ServerWatch,
             records: list[dict], duckdb_s: float, jsonl: Path, diffs: dict[str, list[str]], notes: str,
             warm: bool) -> list[dict]:
    label = spec.label
    server_state = "server warmed up by the run above" if warm else "first run since the server started"
    return [
        figure(f"bronze -> gold, {n:,} {label} events", pipeline_s, "s", at_most=TARGET_S,
               notes=f"dp run of the silver and gold notebooks (kernels included) over bronze loaded "
                     f"just before ({ingest_s:.1f} s from Kafka); {server_state}; {notes}; Spark server CPU "
                     f"{server.cpu_s:.1f} s with bronze"),
        figure(f"Kafka -> bronze -> gold, {n:,} {label} events", ingest_s + pipeline_s, "s",
               notes="the same run with the bronze notebook's time added"),
        *notebook_figures(records, label),
        server_rss_figure(f"Spark server peak RSS, {label} bronze -> gold", server.peak_bytes),
        figure(f"whole stack peak RSS, {label} bronze -> gold", stack.peak_bytes / 2**20, "MiB",
               notes="sum over the bench process and every process under it: kernels, Kafka, the Spark "
                     "Connect server (in mode cluster also the master, workers and executors)"),
        figure(f"machine peak used memory, {label} bronze -> gold", server.machine_peak_bytes / 2**20, "MiB",
               notes="psutil used memory of the whole (shared) machine"),
        figure(f"DuckDB same-work floor from JSON lines ({label})", duckdb_s, "s",
               notes=f"single-node floor ({spec.floor_module().__name__}): contract and quarantine, duplicates, "
                     f"silver and {len(diffs)} gold table(s) written as Parquet; {jsonl.stat().st_size / 2**20:,.0f} MiB file, "
                     f"same events"),
        figure(f"Spark {label} pipeline / DuckDB", pipeline_s / duckdb_s, "x", at_most=RATIO_TARGET,
               notes="how many times the same-work floor's time the pipeline takes (issue 21: at most 10x)"),
        *[figure(f"gold {table} vs DuckDB ({label}): differences", len(found), "", at_most=0,
                 notes="every row and column match" if not found else "; ".join(found[:crosscheck.MAX_SHOWN]))
          for table, found in diffs.items()],
    ]
