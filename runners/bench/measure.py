"""Measurement helpers: a timer, the Spark server's memory and CPU sampler, the warm-up run before
a bronze -> gold measurement, and the Kafka messages and JSON lines the benchmarks feed in."""
from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil

from runners.bench import steps
from runners.bench.report import figure
from runners.bench.workspace import Setup
from shared_lib import kafka as kafka_lib

Message = tuple[bytes | None, bytes]  # a Kafka (key, value)
T = TypeVar("T")


def timed(func: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


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
        if self._thread is not None:
            self._thread.join()
        self.cpu_s = self._cpu() - self._cpu_start


def spark_server() -> ServerWatch:
    """A watch on the bench workspace's Spark Connect server."""
    return ServerWatch(steps.spark_server_pid())


def whole_stack() -> ServerWatch:
    """A watch on this process and every process under it: the kernels, and the services the
    bench started (Kafka, the Connect server, a cluster's master, workers and their executors)."""
    return ServerWatch(os.getpid())


def with_prefix(message: Message, prefix: bytes, id_fields: tuple[bytes, ...]) -> Message:
    """A Kafka message with ``prefix`` before its ids (the ``id_fields``, as the compact JSON of
    ``kafka.encode_events`` spells them) and its key. Deliberately bad messages are raw text in
    another spelling and stay as they are: they are quarantined however often they come."""
    key, value = message
    for field in id_fields:
        value = value.replace(field, field + prefix)
    return (None if key is None else prefix + key), value


def progress(log, total: int, every: int = 200_000) -> Callable[[int], None]:
    """A ``kafka.produce`` progress callback that logs every ``every`` messages."""
    step = [every]

    def report(sent: int) -> None:
        if sent >= step[0] or sent == total:
            log(f"    {sent:,}/{total:,} sent")
            step[0] = (sent // every + 1) * every
    return report


def write_jsonl(path: Path, *message_lists: list[Message]) -> None:
    """The raw message values, one a line: what DuckDB reads is byte for byte what Kafka got
    (oversized ones too: the floor quarantines them as silver does)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for messages in message_lists:
            for _, value in messages:
                out.write(value + b"\n")


def warm_up_messages(n: int, generate: Callable, key_field: str, id_fields: tuple[bytes, ...],
                     seed: int) -> list[Message]:
    """``n`` generated events with ids of their own (``wu-``): new visitors or devices and
    events, never duplicates of the measured ones."""
    if n <= 0:
        return []
    return [with_prefix(m, b"wu-", id_fields) for m in kafka_lib.encode_events(generate(n, seed), key_field)]


def warm_up(setup: Setup, product: str, label: str, messages: list[Message], topic: str | None = None) -> list[dict]:
    """A first bronze -> gold run of ``messages`` on the server just started, as a long-lived
    server has done long before any scheduled run (it compiles the code Spark generates; see
    docs/performance.md). Its events stay, so the measured run is incremental, as in production."""
    if not messages:
        return []
    setup.log(f"  warm-up: {len(messages):,} {label} events through bronze, silver and gold ...")
    kafka_lib.produce(setup.params, topic or kafka_lib.topic_of(setup.params, product), messages)
    ingest_s, pipeline_s, _ = steps.run_pipeline(setup, product)
    setup.log(f"  warm-up: bronze -> gold {pipeline_s:.1f} s (bronze {ingest_s:.1f} s)")
    return [figure(f"warm-up: first bronze -> gold since the server started, {len(messages):,} {label} events",
                   pipeline_s, "s", notes="pays the server's JIT warm-up; the measured run below comes after it "
                                          "(`--warm-up-events 0`: no warm-up, the measured run is the first)")]
