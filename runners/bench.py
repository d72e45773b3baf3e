"""``dp bench``: the platform's benchmarks, written to ``reports/bench/bench.json`` and ``bench.md``.

The benchmarks run against their own services in a throw-away workspace (a temp ``DP_HOME`` and
free ports), so a developer's ``dp up`` services and tables are never touched; the services are
stopped and the workspace deleted at the end, whatever happened.

``BENCHMARKS`` is the registry: each entry is a function of the ``Setup`` that returns a list of
figures (``figure(...)``: name, value, unit, target, met, notes). ``main`` runs them in order; a
benchmark that crashes is reported as such and the others still run. A missed target is a result,
not a crash: the exit code is 0 unless a benchmark could not measure.

Timings on a shared 2-core machine are noisy; medians and the machine's load are recorded with them.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

from runners import bench_duckdb, execute, jars, services
from runners.kernels import KernelPool
from shared_lib import ingest, notebook, paths, products
from shared_lib import kafka as kafka_lib
from shared_lib import params as params_lib
from shared_lib import spark as spark_lib

DEFAULT_EVENTS = 200_000  # the default of `dp bench --events`
QUICK_EVENTS = 20_000
DEFAULT_WEB_EVENTS = 1_000_000  # the default of `dp bench --web-events`
QUICK_WEB_EVENTS = 50_000
DEFAULT_MOBILE_EVENTS = 1_000_000  # the default of `dp bench --mobile-events`
QUICK_MOBILE_EVENTS = 50_000
# Events of the warm-up run before a bronze -> gold measurement (`dp bench --warm-up-events`).
DEFAULT_WARM_UP_EVENTS = 50_000
QUICK_WARM_UP_EVENTS = 5_000
BRONZE_TO_GOLD_TARGET_S = 90.0
OVERHEAD_TARGET_S = 2.0
INGEST_TARGET_EPS = 25_000
PRODUCT = "web-user-analytics"
SEED = 42
EMPTY_NOTEBOOK = Path(__file__).parent / "bench_notebooks" / "empty.ipynb"
PORT_VARS = ("DP_KAFKA_PORT", "DP_KAFKA_CONTROLLER_PORT", "DP_SPARK_PORT", "DP_SPARK_UI_PORT", "DP_SERVE_PORT")


class BenchError(RuntimeError):
    """A benchmark could not measure what it should (a failed notebook, a wrong row count)."""


@dataclass
class Setup:
    """What every benchmark gets: the bench workspace's parameters, the sizes, a logger."""
    params: dict
    workspace: Path
    quick: bool
    events: int
    web_events: int = DEFAULT_WEB_EVENTS
    log: Callable[[str], None] = print
    customers: int = 100_000  # DEFAULT_CUSTOMERS
    mobile_events: int = DEFAULT_MOBILE_EVENTS
    warm_up_events: int = DEFAULT_WARM_UP_EVENTS

    @property
    def ours_runs(self) -> int:
        return 2 if self.quick else 5

    @property
    def baseline_runs(self) -> int:
        return 1 if self.quick else 3


def figure(name: str, value: float, unit: str, at_most: float | None = None,
           at_least: float | None = None, notes: str = "", samples: list[float] | None = None) -> dict:
    """One measured figure; ``met`` is None for a figure without a target."""
    if at_most is not None:
        target, met = f"<= {at_most:g} {unit}", value <= at_most
    elif at_least is not None:
        target, met = f">= {at_least:g} {unit}", value >= at_least
    else:
        target, met = None, None
    result = {"name": name, "value": round(value, 3), "unit": unit, "target": target, "met": met,
              "notes": notes}
    if samples is not None:
        result["samples"] = [round(s, 3) for s in samples]
    return result


def _timed(func: Callable) -> tuple[float, object]:
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def _spread(seconds: list[float]) -> str:
    return f"min {min(seconds):.2f} s, max {max(seconds):.2f} s over {len(seconds)} run(s)"


# --- runner overhead: an empty notebook, ours against papermill + a fresh local SparkSession ----

def _run_ours(setup: Setup, tag: int | str, pool: KernelPool | None = None) -> float:
    """One run through the platform's runner against the bench's Spark Connect server. With a
    ``pool``, as in `dp run`: this notebook's kernel was warmed while the previous one ran, and
    the next one's warms while this one runs."""
    runner = setup.params["platform"]["runner"]
    output = setup.workspace / "bench" / f"ours-{tag}.ipynb"
    elapsed, outcome = _timed(lambda: execute.execute(
        EMPTY_NOTEBOOK, output, {"env": setup.params["env"]}, kernel=runner["kernel"],
        timeout_s=runner["timeout_s"], retries=0, html=runner["html"], log=setup.log,
        pool=pool, prefetch=EMPTY_NOTEBOOK.parent if pool else None))
    if outcome.status != "succeeded":
        raise BenchError(f"the empty notebook failed under the runner: {outcome.error} (see {output})")
    return elapsed


def _run_baseline(setup: Setup, i: int) -> float:
    """One run of plain papermill with a fresh in-process SparkSession (the same jars and confs)."""
    import papermill

    output = setup.workspace / "bench" / f"baseline-{i}.ipynb"
    # Its own UI port: the bench's Connect server holds the configured one.
    overrides = {"platform.services.spark.mode": "local",
                 "platform.services.spark.ui_port": _free_ports(1)[0]}
    elapsed, _ = _timed(lambda: papermill.execute_notebook(
        str(EMPTY_NOTEBOOK), str(output), parameters={"env": setup.params["env"], "overrides": overrides},
        kernel_name=setup.params["platform"]["runner"]["kernel"], progress_bar=False, log_output=False,
        cwd=str(EMPTY_NOTEBOOK.parent)))
    return elapsed


def _time_runs(setup: Setup, label: str, run: Callable[[Setup, int], float], count: int) -> list[float]:
    samples = []
    for i in range(count):
        samples.append(run(setup, i))
        setup.log(f"  {label} {i + 1}/{count}: {samples[-1]:.2f} s")
    return samples


def bench_runner_overhead(setup: Setup) -> list[dict]:
    # The server's first session pays its warm-up once after `dp up`: reported apart from the
    # steady state that the target is about.
    first = _run_ours(setup, "first")
    setup.log(f"  runner (Spark Connect), first notebook since the server started: {first:.2f} s")
    pool = KernelPool(setup.params["platform"]["runner"]["kernel"])
    try:
        pool.prefetch(EMPTY_NOTEBOOK.parent)
        ours = _time_runs(setup, "runner (Spark Connect)", lambda s, i: _run_ours(s, i, pool), setup.ours_runs)
    finally:
        pool.close()
    baseline = _time_runs(setup, "papermill + local SparkSession", _run_baseline, setup.baseline_runs)
    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    return [
        figure("runner, empty notebook (median)", ours_median, "s", at_most=OVERHEAD_TARGET_S,
               notes="execute.execute incl. HTML, warm kernels as in dp run, Connect server up; " + _spread(ours),
               samples=ours),
        figure("runner, first notebook since the server started", first, "s",
               notes="one-off warm-up of the Connect server, not in the median"),
        figure("papermill + fresh local SparkSession (median)", baseline_median, "s",
               notes="baseline, same jars and confs; " + _spread(baseline), samples=baseline),
        figure("baseline / runner", baseline_median / ours_median, "x",
               notes="how many times faster the runner starts a notebook"),
    ]


# --- Kafka -> bronze throughput --------------------------------------------------------------

class ServerWatch:
    """Peak resident memory of a process and its children, sampled in a background thread while
    inside ``with`` (the peak is kept over several entries), and the CPU seconds the process used
    in the last ``with``: on a shared machine that is steadier than wall-clock time."""

    def __init__(self, pid: int, interval_s: float = 0.2):
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.machine_peak_bytes = 0  # used memory of the whole machine: kernels and Kafka too
        self.cpu_s = 0.0
        self._cpu_start = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _total(self, measure: Callable[[psutil.Process], float]) -> float:
        """``measure`` summed over the process and its children (spark-submit may leave a wrapper)."""
        total = 0.0
        for proc in [self.process] + self.process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += measure(proc)
        return total

    def _rss(self) -> int:
        return int(self._total(lambda proc: proc.memory_info().rss))

    def _cpu(self) -> float:
        return self._total(lambda proc: sum(proc.cpu_times()[:2]))  # user + system

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._rss())
            self.machine_peak_bytes = max(self.machine_peak_bytes, psutil.virtual_memory().used)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> ServerWatch:
        self._cpu_start = self._cpu()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="bench-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_s = self._cpu() - self._cpu_start


@functools.lru_cache(maxsize=1)  # the DuckDB floor's file needs them again
def _web_messages(events: int) -> list[tuple[bytes | None, bytes]]:
    """``events`` contract-conforming web events as Kafka (key, value) pairs, built before the clock
    starts so that production is timed alone."""
    from products.web_user_analytics import generator

    return list(kafka_lib.encode_events(generator.generate(events, SEED, bad_share=0), generator.KEY_FIELD))


def _bronze_rows() -> int:
    from deltalake import DeltaTable

    table = products.get(PRODUCT).table("events_raw")
    return DeltaTable(str(table.path)).to_pyarrow_dataset().count_rows()


def _ingest(setup: Setup, run_id: str, expected_rows: int) -> tuple[float, float]:
    """Seconds the bronze logic takes for what the topic holds, and the part of them spent
    creating the table (first pass only). Checks the table ends with ``expected_rows`` rows,
    else the throughput would be meaningless."""
    ctx = notebook.open_context(PRODUCT, "bronze", setup.params["env"], run_id)
    # ingest would create the table itself; doing it first only separates the one-off cost.
    create_s, _ = _timed(lambda: ctx.writer.ensure(ctx.table("events_raw")))
    stream_s, added = _timed(lambda: ingest.ingest(ctx))
    rows = _bronze_rows()
    if rows != expected_rows:
        raise BenchError(f"bronze holds {rows} rows after {run_id}, expected {expected_rows} "
                         f"({added} reported added)")
    return create_s + stream_s, create_s


def bench_kafka_to_bronze(setup: Setup) -> list[dict]:
    n, log = setup.events, setup.log
    topic = kafka_lib.topic_of(setup.params, PRODUCT)
    log(f"  generating {n} web events ...")
    generate_s, messages = _timed(lambda: _web_messages(n))
    figures = []
    server = ServerWatch(int(services.pid_file("spark").read_text()))
    # Twice: the first stream after the server starts pays class loading and JIT warm-up, the
    # second is what every later `dp run` sees.
    for i, label in enumerate(("cold", "warm"), 1):
        log(f"  producing {n} events into {topic} ({label} pass) ...")
        produce_s, _ = _timed(lambda: kafka_lib.produce(setup.params, topic, messages))
        log(f"  ingesting into bronze ({label}) ...")
        with server:
            ingest_s, create_s = _ingest(setup, f"bench_{label}", expected_rows=i * n)
        log(f"  {label}: produced at {n / produce_s:,.0f} events/s, ingested at {n / ingest_s:,.0f} events/s")
        figures += [
            figure(f"Kafka -> bronze, {label} ({n:,} events)", n / ingest_s, "events/s",
                   at_least=INGEST_TARGET_EPS,
                   notes=f"{ingest_s:.2f} s, of which {create_s:.2f} s checking/creating the table; "
                         f"Spark server CPU {server.cpu_s:.1f} s; bronze row count verified"
                         + ("; first stream since the server started" if label == "cold" else "")),
            figure(f"Kafka production, {label} pass", n / produce_s, "events/s",
                   notes=f"{produce_s:.2f} s, kafka-python, acks=all"),
        ]
    figures += [
        figure("event generation", n / generate_s, "events/s", notes=f"{generate_s:.2f} s, web generator"),
        figure("Spark server peak RSS during ingest", server.peak_bytes / 2**20, "MiB",
               notes="Spark Connect server process and children, sampled every 0.2 s"),
    ]
    return figures


# --- bronze -> gold for web events, and DuckDB as the single-node floor -----------------------

# Fields the gold daily_kpis table and the DuckDB floor must agree on, date by date.
COMPARED_KPIS = ("sessions", "visitors", "page_views", "engaged_sessions", "users", "purchases",
                 "bot_events")
# Sums of doubles: the two engines add in different orders, so equal up to rounding.
COMPARED_FLOAT_KPIS = {"revenue": 0.005, "avg_session_duration_s": 1e-6}


# The web benchmark's input is one generated block of events repeated with fresh ids: the
# generator (pure Python, ~70 us an event) would otherwise take minutes of a 1M-event run.
WEB_BLOCK_EVENTS = 100_000
# The id fields of a generated event, as the compact JSON of ``kafka.encode_events`` spells them.
_ID_FIELDS = (b'"event_id":"', b'"anonymous_id":"', b'"user_id":"', b'"order_id":"')


def _with_prefix(message: tuple[bytes | None, bytes], prefix: bytes,
                 id_fields: tuple[bytes, ...] = _ID_FIELDS) -> tuple[bytes | None, bytes]:
    """A Kafka message with ``prefix`` before its ids (web: event, visitor, user and order ids) and
    its key (the visitor or device id). Deliberately bad messages are raw text in another spelling
    and stay as they are: they are quarantined however often they come."""
    key, value = message
    for field in id_fields:
        value = value.replace(field, field + prefix)
    return (None if key is None else prefix + key), value


def _web_bench_messages(setup: Setup) -> list[tuple[bytes | None, bytes]]:
    """``setup.web_events`` web events, bad ones included (the generator's default share): blocks
    of ``WEB_BLOCK_EVENTS`` generated events, each copy with ids of its own (``wb<copy>-``), so
    that copies are new visitors, sessions and orders, not duplicates. The prefix also keeps them
    apart from the kafka -> bronze benchmark's events, still in the topic and bronze."""
    from products.web_user_analytics import generator

    n = setup.web_events
    block = list(kafka_lib.encode_events(generator.generate(min(n, WEB_BLOCK_EVENTS), SEED + 1),
                                         generator.KEY_FIELD))
    messages: list[tuple[bytes | None, bytes]] = []
    for copy in range(-(-n // len(block))):
        prefix = f"wb{copy}-".encode()
        messages += [_with_prefix(m, prefix) for m in block[:n - len(messages)]]
    return messages


def _progress(log, total: int, every: int = 200_000) -> Callable[[int], None]:
    """A ``kafka.produce`` progress callback that logs every ``every`` messages."""
    step = [every]

    def report(sent: int) -> None:
        if sent >= step[0] or sent == total:
            log(f"    {sent:,}/{total:,} sent")
            step[0] = (sent // every + 1) * every
    return report


def _write_jsonl(path: Path, *message_lists) -> None:
    """The raw message values, one a line: what DuckDB reads is byte for byte what Kafka got,
    except messages over the contract's size limit. Silver quarantines those (too_large) before
    parsing them, while DuckDB's ``maximum_object_size`` is only a bound on its read buffer: it
    read the generator's oversized event as a good one (one extra session in the floor)."""
    from shared_lib.contract import MAX_MESSAGE_BYTES

    with path.open("wb") as out:
        for messages in message_lists:
            for _, value in messages:
                if len(value) <= MAX_MESSAGE_BYTES:
                    out.write(value + b"\n")


def _run_layers(setup: Setup, product: str, layers: tuple[str, ...]) -> tuple[float, list[dict]]:
    """The product's notebooks of ``layers``, one layer after the other, through the real runner;
    raises unless every notebook succeeded."""
    from runners import run as run_lib

    started, records = time.perf_counter(), []
    for layer in layers:
        summary = run_lib.run(products=[product], layer=layer, log=setup.log)
        records += summary.records
        if not summary.ok:
            failed = ", ".join(f"{r['notebook']}: {(r['error'] or r['status']).splitlines()[0][:200]}"
                               for r in summary.records if r["status"] != "succeeded")
            raise BenchError(f"run {summary.run_id} did not succeed: {failed}")
    return time.perf_counter() - started, records


def _run_pipeline(setup: Setup, product: str = PRODUCT) -> tuple[float, float, list[dict]]:
    """(seconds of Kafka -> bronze, seconds of bronze -> gold, the run records). What the target
    is about is bronze -> gold, the silver and gold notebooks over bronze already loaded; taking
    the messages from Kafka into bronze is measured apart, and by the kafka -> bronze benchmark."""
    ingest_s, bronze = _run_layers(setup, product, ("bronze",))
    pipeline_s, records = _run_layers(setup, product, ("silver", "gold"))
    return ingest_s, pipeline_s, bronze + records


def _warm_up(setup: Setup, product: str, label: str, messages: list) -> list[dict]:
    """A first bronze -> gold run of ``messages`` on the server just started, as a long-lived server
    (``dp up``) has done long before any scheduled run; its figure says what that first run cost.

    Why: a fresh server spends about a third of its CPU in HotSpot compiling the classes Spark
    generates for each query. One small run compiles part of them, not all: the server keeps
    getting faster over several runs (web gold over the same data: 31, 27, 24, 23, 21 s), so the
    measured run is still slower than on a long-lived server. The warm-up's events stay in the
    tables, so the measured run is incremental, as production runs are."""
    if not messages:
        return []
    setup.log(f"  warm-up: {len(messages):,} {label} events through bronze, silver and gold ...")
    kafka_lib.produce(setup.params, kafka_lib.topic_of(setup.params, product), messages)
    ingest_s, pipeline_s, _ = _run_pipeline(setup, product)
    setup.log(f"  warm-up: bronze -> gold {pipeline_s:.1f} s (bronze {ingest_s:.1f} s)")
    return [figure(f"warm-up: first bronze -> gold since the server started, {len(messages):,} {label} events",
                   pipeline_s, "s", notes="pays the server's JIT warm-up; the measured run below comes after it "
                                          "(`--warm-up-events 0`: no warm-up, the measured run is the first)")]


def _warm_up_messages(setup: Setup, generate: Callable, key_field: str, id_fields: tuple[bytes, ...],
                      seed: int) -> list[tuple[bytes | None, bytes]]:
    """``setup.warm_up_events`` generated events with ids of their own (``wu-``): new visitors or
    devices and events, never duplicates of the measured ones."""
    n = setup.warm_up_events
    if n <= 0:
        return []
    return [_with_prefix(m, b"wu-", id_fields)
            for m in kafka_lib.encode_events(generate(n, seed), key_field)]


def _bronze_rows_if_any() -> int:
    """Bronze rows so far; 0 when the kafka -> bronze benchmark did not get to create the table."""
    try:
        return _bronze_rows()
    except Exception:  # deltalake's TableNotFoundError, whatever its module in this version
        return 0


def _gold_daily_kpis() -> dict:
    from deltalake import DeltaTable

    path = products.get(PRODUCT).table("daily_kpis").path
    return {row["date"]: row for row in DeltaTable(str(path)).to_pyarrow_table().to_pylist()}


def _compare(gold: dict, floor: list[dict]) -> list[str]:
    """The differences between gold and the DuckDB floor, as short texts (none: they match)."""
    diffs = []
    for row in floor:
        theirs = gold.get(row["date"])
        if theirs is None:
            diffs.append(f"{row['date']}: not in gold")
            continue
        diffs += [f"{row['date']} {k}: gold {theirs[k]} vs DuckDB {row[k]}"
                  for k in COMPARED_KPIS if theirs[k] != row[k]]
        diffs += [f"{row['date']} {k}: gold {theirs[k]} vs DuckDB {row[k]}"
                  for k, tolerance in COMPARED_FLOAT_KPIS.items() if abs(theirs[k] - row[k]) > tolerance]
    diffs += [f"{d}: only in gold" for d in sorted(set(gold) - {r["date"] for r in floor})]
    return diffs


def _notebook_figures(records: list[dict], product: str = "web") -> list[dict]:
    return [figure(f"{r['notebook']} notebook ({product})", r["duration_s"], "s",
                   notes=f"{r['rows_written']} rows written" if r.get("rows_written") is not None else "")
            for r in records]


def bench_web_bronze_to_gold(setup: Setup) -> list[dict]:
    n, log = setup.web_events, setup.log
    topic = kafka_lib.topic_of(setup.params, PRODUCT)
    log(f"  generating {n:,} web events (with the default share of bad ones) ...")
    generate_s, messages = _timed(lambda: _web_bench_messages(setup))
    log(f"  generated in {generate_s:.1f} s")
    from products.web_user_analytics import generator

    warm_up = _warm_up_messages(setup, generator.generate, generator.KEY_FIELD, _ID_FIELDS, SEED + 3)
    # DuckDB reads everything the pipeline will: the kafka -> bronze benchmark's events and the
    # warm-up's too.
    jsonl = setup.workspace / "bench" / "web-events.jsonl"
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    _write_jsonl(jsonl, _web_messages(setup.events) if _bronze_rows_if_any() else [], warm_up, messages)
    warm_up_figures = _warm_up(setup, PRODUCT, "web", warm_up)
    bronze_before = _bronze_rows_if_any()
    log(f"  producing {n:,} events into {topic} ...")
    produce_s, _ = _timed(lambda: kafka_lib.produce(setup.params, topic, messages, progress=_progress(log, n)))
    log(f"  produced in {produce_s:.1f} s")
    server = ServerWatch(int(services.pid_file("spark").read_text()))
    log("  running bronze, then silver and gold, through the runner ...")
    with server:
        ingest_s, pipeline_s, records = _run_pipeline(setup)
    ingested = _bronze_rows() - bronze_before
    if ingested != n:
        raise BenchError(f"bronze gained {ingested} rows, expected the {n} produced")
    timeout = setup.params[PRODUCT]["silver"]["session_timeout_minutes"]
    log("  DuckDB: the same daily KPIs from the JSON lines ...")
    duckdb_s, floor = _timed(lambda: bench_duckdb.daily_kpis(jsonl, timeout))
    diffs = _compare(_gold_daily_kpis(), floor)
    log(f"  Spark {pipeline_s:.1f} s, DuckDB {duckdb_s:.2f} s; gold vs DuckDB: "
        + ("match" if not diffs else f"{len(diffs)} difference(s): " + "; ".join(diffs[:5])))
    return warm_up_figures + _pipeline_figures(
        "web", n, ingest_s, pipeline_s, server, records, duckdb_s, jsonl, diffs,
        compared=[*COMPARED_KPIS, *COMPARED_FLOAT_KPIS], floor_what="daily KPIs",
        notes=f"{bronze_before:,} bronze rows already processed (earlier benchmark, warm-up)",
        warm=bool(warm_up))


def _pipeline_figures(label: str, n: int, ingest_s: float, pipeline_s: float, server: ServerWatch,
                      records: list[dict], duckdb_s: float, jsonl: Path, diffs: list[str],
                      compared: list[str], floor_what: str, notes: str, warm: bool) -> list[dict]:
    """The figures of a bronze -> gold benchmark of ``label`` events with its DuckDB floor."""
    server_state = "server warmed up by the run above" if warm else "first run since the server started"
    return [
        figure(f"bronze -> gold, {n:,} {label} events", pipeline_s, "s", at_most=BRONZE_TO_GOLD_TARGET_S,
               notes=f"dp run of the silver and gold notebooks (kernels included) over bronze loaded "
                     f"just before ({ingest_s:.1f} s from Kafka); {server_state}; {notes}; Spark server CPU "
                     f"{server.cpu_s:.1f} s with bronze"),
        figure(f"Kafka -> bronze -> gold, {n:,} {label} events", ingest_s + pipeline_s, "s",
               notes="the same run with the bronze notebook's time added"),
        *_notebook_figures(records, label),
        figure(f"Spark server peak RSS, {label} bronze -> gold", server.peak_bytes / 2**20, "MiB",
               notes="Spark Connect server process and children, sampled every 0.2 s"),
        figure(f"machine peak used memory, {label} bronze -> gold", server.machine_peak_bytes / 2**20, "MiB",
               notes="psutil used memory of the whole (shared) machine"),
        figure(f"DuckDB {floor_what} from JSON lines ({label})", duckdb_s, "s",
               notes=f"single-node floor, {jsonl.stat().st_size / 2**20:,.0f} MiB file, same events"),
        figure(f"Spark {label} pipeline / DuckDB", pipeline_s / duckdb_s, "x",
               notes="how many times the floor's time the pipeline takes"),
        figure(f"gold daily_kpis vs DuckDB ({label}): differences", len(diffs), "", at_most=0,
               notes=("match on " + ", ".join(compared)) if not diffs else "; ".join(diffs[:10])),
    ]


# --- bronze -> gold for mobile events, and DuckDB's DAU/WAU/MAU beside it ----------------------

MOBILE = "mobile-user-analytics"
MOBILE_COMPARED = ("dau", "wau", "mau")
# The id fields of a generated mobile event (its event ids are a counter: the same in every set).
_MOBILE_ID_FIELDS = (b'"event_id":"', b'"device_id":"', b'"user_id":"')


def _mobile_messages(setup: Setup) -> list[tuple[bytes | None, bytes]]:
    """``setup.mobile_events`` mobile events over the generator's six weeks, bad ones included."""
    from products.mobile_user_analytics import generator

    return list(kafka_lib.encode_events(generator.generate(setup.mobile_events, SEED + 2), generator.KEY_FIELD))


def _gold_rows(product: str, table: str, key: str = "date") -> dict:
    from deltalake import DeltaTable

    path = products.get(product).table(table).path
    return {row[key]: row for row in DeltaTable(str(path)).to_pyarrow_table().to_pylist()}


def bench_mobile_bronze_to_gold(setup: Setup) -> list[dict]:
    n, log = setup.mobile_events, setup.log
    topic = kafka_lib.topic_of(setup.params, MOBILE)
    log(f"  generating {n:,} mobile events (with the default share of bad ones) ...")
    from products.mobile_user_analytics import generator

    messages = _mobile_messages(setup)
    warm_up = _warm_up_messages(setup, generator.generate, generator.KEY_FIELD, _MOBILE_ID_FIELDS, SEED + 3)
    jsonl = setup.workspace / "bench" / "mobile-events.jsonl"
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    _write_jsonl(jsonl, warm_up, messages)
    warm_up_figures = _warm_up(setup, MOBILE, "mobile", warm_up)
    log(f"  producing {n:,} events into {topic} ...")
    kafka_lib.produce(setup.params, topic, messages)
    server = ServerWatch(int(services.pid_file("spark").read_text()))
    log("  running bronze, then silver and gold, through the runner ...")
    with server:
        ingest_s, pipeline_s, records = _run_pipeline(setup, MOBILE)
    log("  DuckDB: the same daily DAU, WAU and MAU from the JSON lines ...")
    duckdb_s, floor = _timed(lambda: bench_duckdb.mobile_active_devices(jsonl))
    gold = _gold_rows(MOBILE, "daily_kpis")
    diffs = [f"{row['date']} {k}: gold {gold[row['date']][k]} vs DuckDB {row[k]}"
             for row in floor if row["date"] in gold for k in MOBILE_COMPARED if gold[row["date"]][k] != row[k]]
    diffs += [f"{d}: not in gold" for d in sorted({r["date"] for r in floor} - set(gold))]
    diffs += [f"{d}: only in gold" for d in sorted(set(gold) - {r["date"] for r in floor})]
    log(f"  Spark {pipeline_s:.1f} s, DuckDB {duckdb_s:.2f} s; gold vs DuckDB: "
        + ("match" if not diffs else f"{len(diffs)} difference(s): " + "; ".join(diffs[:5])))
    return warm_up_figures + _pipeline_figures(
        "mobile", n, ingest_s, pipeline_s, server, records, duckdb_s, jsonl, diffs,
        compared=list(MOBILE_COMPARED), floor_what="daily DAU/WAU/MAU",
        notes=f"{len(gold)} days" + (f"; {len(warm_up):,} warm-up events already processed" if warm_up else ""),
        warm=bool(warm_up))


# --- user-segmentation for many customers ---------------------------------------------------

DEFAULT_CUSTOMERS = 100_000  # the default of `dp bench --customers`
QUICK_CUSTOMERS = 10_000
SEGMENTATION = "user-segmentation"


def _segmentation_input(setup: Setup) -> tuple[int, int]:
    """Synthetic purchases and sessions of ``setup.customers`` users appended to web silver."""
    from products.user_segmentation import bench_data

    ctx = notebook.open_context(bench_data.WEB, "silver", setup.params["env"], "bench_segmentation_input")
    rows = []
    for name, make in (("events", bench_data.purchases), ("sessions", bench_data.sessions)):
        table = ctx.table(name)
        rows.append(ctx.writer.append(make(ctx.spark, setup.customers, table), table))
    return rows[0], rows[1]


def _segmentation_customers(snapshot) -> int:
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    path = products.get(SEGMENTATION).table("customer_features").path
    return DeltaTable(str(path)).to_pyarrow_dataset().count_rows(filter=pc.field("snapshot_date") == snapshot)


def bench_segmentation(setup: Setup) -> list[dict]:
    from products.user_segmentation import bench_data
    from runners import run as run_lib

    n = setup.customers
    setup.log(f"  writing purchases and sessions of {n:,} customers into web silver ...")
    write_s, (purchases, sessions) = _timed(lambda: _segmentation_input(setup))
    server = ServerWatch(int(services.pid_file("spark").read_text()))
    overrides = [f"{SEGMENTATION}.snapshot_date={bench_data.SNAPSHOT.isoformat()}"]
    setup.log(f"  running features -> rfm -> clusters through the runner (snapshot {bench_data.SNAPSHOT}) ...")
    with server:
        elapsed, summary = _timed(lambda: run_lib.run(products=[SEGMENTATION], overrides=overrides, log=setup.log))
    if not summary.ok:
        raise BenchError(f"run {summary.run_id} did not succeed: "
                         + ", ".join(f"{r['notebook']}: {r['status']}" for r in summary.records))
    customers = _segmentation_customers(bench_data.SNAPSHOT)
    if customers != n:
        raise BenchError(f"customer_features holds {customers} customers for {bench_data.SNAPSHOT}, expected {n}")
    k = setup.params[SEGMENTATION]["clusters"]["k"]
    return [
        figure(f"segmentation, {n:,} customers", elapsed, "s",
               notes=f"dp run of features, rfm, clusters (k = {k}; kernels included) over {purchases:,} purchase "
                     f"events and {sessions:,} sessions; customer count verified; Spark server CPU {server.cpu_s:.1f} s"),
        *_notebook_figures(summary.records, "segmentation"),
        figure("Spark server peak RSS, segmentation", server.peak_bytes / 2**20, "MiB",
               notes="Spark Connect server process and children, sampled every 0.2 s"),
        figure("synthetic silver input written", write_s, "s", notes="set-up, not part of the segmentation time"),
    ]


# --- dashboard time to first render ---------------------------------------------------------

FIRST_RENDER_TARGET_S = 4.0
WARM_RENDERS = 3
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# What "rendered" means: the KPI cards, or the empty state when gold has no rows.
RENDERED = ".dp-kpi, .dp-empty"
CHARTS = ".js-plotly-plot"
RENDER_TIMEOUT_MS = 120_000
# Marks, in the page, the first frame painted after the KPI cards (or the empty state) entered
# the page, and when the last chart of the page was drawn. Measured in the page: Playwright's own
# "visible" check runs in the page's main thread too, and while the charts are drawn it sees the
# cards up to seconds after the browser has shown them.
PAINT_MARKS = """
window.__dp = {};
new MutationObserver(() => {
  if (!window.__dp.inserted && document.querySelector(%r)) {
    window.__dp.inserted = performance.now();
    requestAnimationFrame(() => setTimeout(() => { window.__dp.painted = performance.now(); }, 0));
  }
  window.__dp.charts = document.querySelectorAll(%r).length;
  window.__dp.lastChart = performance.now();
}).observe(document, {childList: true, subtree: true});
""" % (RENDERED, CHARTS)


@dataclass
class Render:
    first_render_s: float  # navigation start -> first frame painted with the KPI cards
    charts_s: float | None  # navigation start -> the page's last chart drawn (None: no chart)
    with_data: bool  # the KPI cards (False: the empty state)


def _first_render(browser, url: str) -> Render:
    """A new page at ``url``: when it showed the KPI cards, and when its charts were all drawn."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.add_init_script(PAINT_MARKS)
        page.goto(url, timeout=RENDER_TIMEOUT_MS)
        page.wait_for_function("window.__dp && window.__dp.painted", timeout=RENDER_TIMEOUT_MS)
        with_data = page.locator(".dp-kpi").count() > 0
        charts_ms = None
        if with_data:  # the charts come after the cards; done when their count stops growing
            page.wait_for_function(f"document.querySelectorAll({CHARTS!r}).length > 0 && "
                                   "performance.now() - window.__dp.lastChart > 1000", timeout=RENDER_TIMEOUT_MS,
                                   polling=250)
            charts_ms = page.evaluate("window.__dp.lastChart")
        return Render(page.evaluate("window.__dp.painted") / 1000,
                      charts_ms / 1000 if charts_ms is not None else None, with_data)
    finally:
        page.close()


def bench_dashboard(setup: Setup) -> list[dict]:
    """The web dashboard in headless Chromium, served as `dp serve` serves it, on the gold tables
    the web benchmark left (its empty state if there are none). Cold: the first page after the
    server started; warm: the next ones. Times from the page's navigation start (as the browser's
    own paint timings are), until the first frame painted with the KPI cards; the charts follow.

    Where the time goes (1M events, about 2.5 s warm): 1.5 s on the server (a new kernel
    0.55 s, imports 0.45 s, gold read 0.15 s, the page built 0.35 s), then about 1 s in the
    browser (Voila's and the widgets' JavaScript, then the widgets). The charts follow, about 2 s
    later. Pre-heated kernels would take most of the server's part off, but they are off: see
    ``runners.serve.PREHEAT``."""
    from playwright.sync_api import sync_playwright

    from runners import serve

    if not CHROMIUM.exists():
        raise BenchError(f"{CHROMIUM} is missing: install Debian's chromium with `make browser`")
    params = setup.params
    setup.log("  starting the dashboards server (as dp serve does) ...")
    start_s, _ = _timed(lambda: serve.start(params, serve.DASHBOARDS, progress=setup.log))
    try:
        url = next(u for u in serve.dashboard_addresses(params) if u.endswith(f"/{PRODUCT}.ipynb"))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                cold = _first_render(browser, url)
                setup.log(f"  cold: {cold.first_render_s:.2f} s" + ("" if cold.with_data else " (empty state)"))
                warm = []
                for i in range(WARM_RENDERS):
                    warm.append(_first_render(browser, url))
                    setup.log(f"  warm {i + 1}/{WARM_RENDERS}: {warm[-1].first_render_s:.2f} s")
            finally:
                browser.close()
    finally:
        serve.stop()
    shown = "KPI cards painted" if cold.with_data else "empty state painted (gold had no rows)"
    warm_s = [r.first_render_s for r in warm]
    figures = [
        figure("dashboard first render, cold", cold.first_render_s, "s", at_most=FIRST_RENDER_TARGET_S,
               notes=f"first page after the server started ({start_s:.1f} s to start); until the {shown}"),
        figure("dashboard first render, warm (median)", statistics.median(warm_s), "s",
               at_most=FIRST_RENDER_TARGET_S, notes=f"new page each time; {_spread(warm_s)}", samples=warm_s),
    ]
    charts = [r.charts_s for r in [cold, *warm] if r.charts_s is not None]
    if charts:
        figures.append(figure("dashboard charts drawn (median)", statistics.median(charts), "s",
                              notes="until the last chart is drawn; the charts follow the cards: "
                                    + _spread(charts), samples=charts))
    return figures


BENCHMARKS: list[tuple[str, Callable[[Setup], list[dict]]]] = [
    ("runner overhead", bench_runner_overhead),
    ("kafka -> bronze", bench_kafka_to_bronze),
    ("web bronze -> gold", bench_web_bronze_to_gold),
    ("mobile bronze -> gold", bench_mobile_bronze_to_gold),
    ("segmentation", bench_segmentation),
    ("dashboard first render", bench_dashboard),
]


# --- isolation, running, reports -------------------------------------------------------------

def _free_ports(count: int) -> list[int]:
    # All sockets stay bound until every port is picked, so the ports differ.
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


@contextlib.contextmanager
def isolated_workspace():
    """A temp ``DP_HOME`` and free service ports in ``os.environ`` (kernels inherit them), restored
    and deleted on the way out."""
    home = Path(tempfile.mkdtemp(prefix="dp-bench-"))
    wanted = {"DP_HOME": str(home), **dict(zip(PORT_VARS, map(str, _free_ports(len(PORT_VARS))))),
              # Kernels must be this environment's Python, whatever PATH the caller had (as in run.py).
              "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
              # The bench's own `dp run` notebooks go beside its report, not among the user's runs.
              "DP_REPORTS": str(paths.reports_dir() / "bench")}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(home, ignore_errors=True)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def machine_info() -> dict:
    import pyspark

    memory = psutil.virtual_memory()
    return {"timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "memory_gib": round(memory.total / 2**30, 1),
            "memory_available_gib": round(memory.available / 2**30, 1),
            "load_avg_1m": _load(), "python": platform.python_version(),
            "java": jars.java_major(), "pyspark": pyspark.__version__, "delta_jar": jars.DELTA[2]}


def run_benchmarks(setup: Setup, only: list[str] | None = None) -> list[dict]:
    """Every benchmark of ``BENCHMARKS``, or those named in ``only``, in registry order."""
    results = []
    for name, bench in BENCHMARKS:
        if only and name not in only:
            continue
        setup.log(f"bench: {name} ...")
        started = time.perf_counter()
        try:
            results.append({"benchmark": name, "figures": bench(setup), "error": None})
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            setup.log(f"bench: {name} FAILED: {type(exc).__name__}: {exc}")
            results.append({"benchmark": name, "figures": [], "error": f"{type(exc).__name__}: {exc}"})
        results[-1]["duration_s"] = round(time.perf_counter() - started, 1)
    return results


def _run_isolated(setup_args: dict, only: list[str] | None, log) -> list[dict]:
    with isolated_workspace() as home:
        params = params_lib.load()
        log(f"bench: starting services in {home} ...")
        try:
            for line in services.up(params, progress=log):
                log(f"bench: {line}")
            return run_benchmarks(Setup(params, home, log=log, **setup_args), only)
        finally:
            spark_lib.stop_all()
            for line in services.down():
                log(f"bench: {line}")


def missed(results: list[dict]) -> list[str]:
    return [f["name"] for r in results for f in r["figures"] if f["met"] is False]


def crashed(results: list[dict]) -> list[str]:
    return [r["benchmark"] for r in results if r["error"]]


def to_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# dp bench ({'quick' if report['quick'] else 'full'})", "",
             f"{m['timestamp']} · {m['cpu_count']} CPUs, {m['memory_gib']} GiB "
             f"({m['memory_available_gib']} GiB free), load {m['load_avg_1m']} at start, "
             f"{report['load_avg_1m_end']} at end · Python {m['python']}, "
             f"Java {m['java']}, Spark {m['pyspark']}, Delta {m['delta_jar']} · {m['platform']}", "",
             "| benchmark | figure | value | target | met | notes |", "|---|---|---:|---|---|---|"]
    for result in report["results"]:
        if result["error"]:
            first_line = result["error"].splitlines()[0][:300]  # the JSON keeps all of it
            lines.append(f"| {result['benchmark']} | **crashed** | | | | {first_line} |")
        for f in result["figures"]:
            met = {True: "yes", False: "**no**", None: "–"}[f["met"]]
            lines.append(f"| {result['benchmark']} | {f['name']} | {f['value']:,.2f} {f['unit']} | "
                         f"{f['target'] or '–'} | {met} | {f['notes']} |")
    misses, broken = missed(report["results"]), crashed(report["results"])
    lines.append("")
    if misses:
        lines.append(f"Targets missed: {', '.join(misses)}.")
    if broken:
        lines.append(f"Could not measure: {', '.join(broken)}.")
    if not misses and not broken:
        lines.append("All targets met.")
    return "\n".join(lines) + "\n"


def write_reports(report: dict) -> Path:
    out = paths.reports_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2))
    (out / "bench.md").write_text(to_markdown(report))
    return out


def main(quick: bool = False, events: int | None = None, web_events: int | None = None,
         customers: int | None = None, only: list[str] | None = None, log=print,
         mobile_events: int | None = None, warm_up_events: int | None = None) -> int:
    # `--quick` shrinks the default sizes; an explicit size (--events, --web-events, ...) always wins.
    if events is None:
        events = QUICK_EVENTS if quick else DEFAULT_EVENTS
    if web_events is None:
        web_events = QUICK_WEB_EVENTS if quick else DEFAULT_WEB_EVENTS
    if customers is None:
        customers = QUICK_CUSTOMERS if quick else DEFAULT_CUSTOMERS
    if mobile_events is None:
        mobile_events = QUICK_MOBILE_EVENTS if quick else DEFAULT_MOBILE_EVENTS
    if warm_up_events is None:
        warm_up_events = QUICK_WARM_UP_EVENTS if quick else DEFAULT_WARM_UP_EVENTS
    if warm_up_events < 0:
        print(f"dp bench: --warm-up-events must be >= 0, got {warm_up_events}", file=sys.stderr)
        return 2
    unknown = sorted(set(only or ()) - {name for name, _ in BENCHMARKS})
    if unknown:
        print(f"dp bench: unknown benchmark(s) {', '.join(unknown)}: expected "
              f"{', '.join(name for name, _ in BENCHMARKS)}", file=sys.stderr)
        return 2
    for flag, value in (("--events", events), ("--web-events", web_events), ("--customers", customers),
                        ("--mobile-events", mobile_events)):
        if value <= 0:
            print(f"dp bench: {flag} must be > 0, got {value}", file=sys.stderr)
            return 2
    machine = machine_info()
    results = _run_isolated({"quick": quick, "events": events, "web_events": web_events,
                             "customers": customers, "mobile_events": mobile_events,
                             "warm_up_events": warm_up_events}, only, log)
    # Other work on the machine skews every timing: the load on both sides of the run says how much.
    report = {"machine": machine, "load_avg_1m_end": _load(), "quick": quick, "events": events,
              "web_events": web_events, "customers": customers, "mobile_events": mobile_events,
              "warm_up_events": warm_up_events, "only": only or None, "results": results}
    out = write_reports(report)
    log("\n" + to_markdown(report))
    log(f"bench: reports in {out / 'bench.json'} and {out / 'bench.md'}")
    if crashed(results):
        return 1
    if missed(results):
        log("bench: ran to the end; some targets were missed (see above)")
    return 0
