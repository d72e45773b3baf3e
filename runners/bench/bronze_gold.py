"""Bronze -> gold of a product's events through the runner, with a DuckDB floor computing the
same daily figures straight from the events' JSON lines, cross-checked against gold.

One function, ``bench``, for every product; what differs between products is a ``Spec``
(``SPECS``): the product, its generator, the id fields that make a copy of an event new, the
DuckDB floor and the gold columns it must match."""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runners.bench import duckdb_floor, kafka_bronze, reads, steps
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
    floor: Callable[[Path, dict], list[dict]]  # (JSON lines, parameters) -> one row per date
    floor_what: str  # what the floor computes, in figure names and logs
    exact: tuple[str, ...]  # gold columns the floor must equal, date by date
    tolerances: dict[str, float] = field(default_factory=dict)  # float columns: equal up to this
    gold_table: str = "daily_kpis"
    # Generate a block this big and repeat it with fresh ids (``None``: generate every event).
    block_events: int | None = None
    # Events an earlier benchmark left in the topic and bronze: the floor must read them too.
    earlier: Callable[[Setup], list[Message]] = lambda setup: []
    generate_options: tuple[tuple[str, object], ...] = ()  # given to the generator's generate
    topic_role: str = ""  # which of the product's topics (``kafka.topics_of``) the events go to
    gold: Callable[[str, str], dict] = reads.rows_by  # (product, gold table) -> {date: row}


def _web_floor(path: Path, params: dict) -> list[dict]:
    return duckdb_floor.daily_kpis(path, params["web-user-analytics"]["silver"]["session_timeout_minutes"])


def _mobile_floor(path: Path, params: dict) -> list[dict]:
    return duckdb_floor.mobile_active_devices(path)


WEB = Spec(
    product="web-user-analytics", label="web", generator="products.web_user_analytics.generator",
    size="web_events", seed=SEED + 1,
    id_fields=(b'"event_id":"', b'"anonymous_id":"', b'"user_id":"', b'"order_id":"'),
    floor=_web_floor, floor_what="daily KPIs",
    exact=("sessions", "visitors", "page_views", "engaged_sessions", "users", "purchases", "bot_events"),
    # Sums of doubles: the two engines add in different orders.
    tolerances={"revenue": 0.005, "avg_session_duration_s": 1e-6},
    # The generator (pure Python, ~70 us an event) would otherwise take minutes of a 1M-event run.
    block_events=100_000,
    earlier=kafka_bronze.already_produced)

MOBILE = Spec(
    product="mobile-user-analytics", label="mobile", generator="products.mobile_user_analytics.generator",
    size="mobile_events", seed=SEED + 2,
    # Its event ids are a counter: the same in every generated set.
    id_fields=(b'"event_id":"', b'"device_id":"', b'"user_id":"'),
    floor=_mobile_floor, floor_what="daily DAU/WAU/MAU", exact=("dau", "wau", "mau"))


def _compliance_floor(path: Path, params: dict) -> list[dict]:
    from shared_lib import products

    return duckdb_floor.compliance_kpis(path, products.personal_columns_of(products.all_products().values()))


COMPLIANCE = Spec(
    product="compliance-auditing", label="compliance", generator="products.compliance_auditing.generator",
    size="compliance_events", seed=SEED + 4, id_fields=(b'"event_id":"',),
    floor=_compliance_floor, floor_what="daily audit KPIs",
    exact=("audit_events", "denied_accesses", "reads_without_purpose"),
    gold_table="daily_compliance_kpis", gold=reads.totals_by_date,
    block_events=100_000, generate_options=(("consent_share", 0.0),), topic_role="audit")

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


def compare(gold: dict, floor: list[dict], exact=(), tolerances: dict[str, float] | None = None) -> list[str]:
    """The differences between gold rows (by date) and the floor's rows, as short texts (none:
    they match): ``exact`` columns must be equal, ``tolerances`` ones within their tolerance."""
    diffs = []
    for row in floor:
        theirs = gold.get(row["date"])
        if theirs is None:
            diffs.append(f"{row['date']}: not in gold")
            continue
        diffs += [f"{row['date']} {k}: gold {theirs[k]} vs DuckDB {row[k]}" for k in exact if theirs[k] != row[k]]
        diffs += [f"{row['date']} {k}: gold {theirs[k]} vs DuckDB {row[k]}"
                  for k, tolerance in (tolerances or {}).items() if abs(theirs[k] - row[k]) > tolerance]
    diffs += [f"{d}: only in gold" for d in sorted(set(gold) - {r["date"] for r in floor})]
    return diffs


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
    log(f"  DuckDB: the same {spec.floor_what} from the JSON lines ...")
    duckdb_s, floor = timed(lambda: spec.floor(jsonl, setup.params))
    gold = spec.gold(spec.product, spec.gold_table)
    diffs = compare(gold, floor, spec.exact, spec.tolerances)
    log(f"  Spark {pipeline_s:.1f} s, DuckDB {duckdb_s:.2f} s; gold vs DuckDB: "
        + ("match" if not diffs else f"{len(diffs)} difference(s): " + "; ".join(diffs[:5])))
    return warm_up_figures + _figures(
        spec, n, ingest_s, pipeline_s, server, stack, records, duckdb_s, jsonl, diffs,
        notes=f"{bronze_before:,} bronze rows already processed (earlier benchmark, warm-up); "
              f"{len(gold)} days in gold",
        warm=bool(warm))


def _figures(spec: Spec, n: int, ingest_s: float, pipeline_s: float, server: ServerWatch, stack: ServerWatch,
             records: list[dict], duckdb_s: float, jsonl: Path, diffs: list[str], notes: str,
             warm: bool) -> list[dict]:
    label, compared = spec.label, [*spec.exact, *spec.tolerances]
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
        figure(f"DuckDB {spec.floor_what} from JSON lines ({label})", duckdb_s, "s",
               notes=f"single-node floor, {jsonl.stat().st_size / 2**20:,.0f} MiB file, same events"),
        figure(f"Spark {label} pipeline / DuckDB", pipeline_s / duckdb_s, "x",
               notes="how many times the floor's time the pipeline takes"),
        figure(f"gold {spec.gold_table} vs DuckDB ({label}): differences", len(diffs), "", at_most=0,
               notes=("match on " + ", ".join(compared)) if not diffs else "; ".join(diffs[:10])),
    ]
