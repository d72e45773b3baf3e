"""Sending many messages fast. kafka-python spends tens of microseconds of Python per message
(partitioner, record-batch builder, future), all under one interpreter lock, so a large load is
split across producer processes (``services.kafka.producer_processes``). A message goes to the
process of its key's hash, so one key's messages keep their order (Kafka's partitioner sends a
key to one partition); keyless messages are dealt round robin. Loads smaller than one chunk per
process are sent from the calling process: starting processes costs more than it saves.

Every message is acknowledged before ``produce`` returns (acks as ``shared_lib.kafka.producer``
sets them); a refused message or a dead process raises, naming the cause.
"""
from __future__ import annotations

import itertools
import multiprocessing
import queue
import zlib
from collections.abc import Callable, Iterable, Iterator

from shared_lib.errors import UserError

CHUNK = 5000  # messages per hand-over to a producer process, and per acknowledgement check
ACK_TIMEOUT_S = 60
Message = tuple[bytes | None, bytes]


class ProduceError(UserError, RuntimeError):
    """A message was refused or a producer process died; the message says which and why."""


def send_all(prod, topic: str, messages: Iterable[Message], acked: Callable[[int], None]) -> int:
    """Send through ``prod`` and wait for every acknowledgement, a chunk behind the sends, so that
    the producer's buffer never runs dry; ``acked(n)`` after each acknowledged chunk."""
    sent = 0
    waiting: list = []
    iterator = iter(messages)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        futures = [prod.send(topic, key=key, value=value) for key, value in chunk]
        sent += len(futures)
        _wait(waiting, acked)
        waiting = futures
    prod.flush()
    _wait(waiting, acked)
    return sent


def _wait(futures: list, acked: Callable[[int], None]) -> None:
    for future in futures:
        future.get(timeout=ACK_TIMEOUT_S)  # raises on a refused message instead of losing it
    if futures:
        acked(len(futures))


def in_processes(params: dict, topic: str, messages: Iterable[Message], processes: int,
                 progress: Callable[[int], None] | None = None) -> int:
    """Send ``messages`` with ``processes`` producer processes (fewer messages than a chunk per
    process: from this one). Returns the count acknowledged."""
    from kafka.errors import KafkaError

    from shared_lib import kafka as kafka_lib

    iterator = iter(messages)
    head = list(itertools.islice(iterator, CHUNK * processes))
    if processes <= 1 or len(head) < CHUNK * processes:
        prod = kafka_lib.producer(params)
        try:
            done = [0]

            def acked(n: int) -> None:
                done[0] += n
                if progress:
                    progress(done[0])
            return send_all(prod, topic, itertools.chain(head, iterator), acked)
        except KafkaError as exc:  # as the producer processes report it
            raise ProduceError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            prod.close()
    return _Pool(params, topic, processes, progress).run(itertools.chain(head, iterator))


class _Pool:
    """The producer processes, an inbox each (bounded: the reader waits for slow producers) and
    one queue of their reports: ("acked", n), ("done", sent) or ("error", text)."""

    def __init__(self, params: dict, topic: str, processes: int, progress):
        context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads
        self.inboxes = [context.Queue(maxsize=4) for _ in range(processes)]
        self.reports = context.Queue()
        self.workers = [context.Process(target=_producer_process, args=(params, topic, inbox, self.reports),
                                        name=f"dp-producer-{i}", daemon=True)
                        for i, inbox in enumerate(self.inboxes)]
        self.progress, self.acked, self.finished = progress, 0, 0
        self.sent: list[int] = []

    def run(self, messages: Iterator[Message]) -> int:
        for worker in self.workers:
            worker.start()
        try:
            n = len(self.workers)
            pending: list[list[Message]] = [[] for _ in range(n)]
            for i, (key, value) in enumerate(messages):
                slot = (zlib.crc32(key) if key is not None else i) % n
                pending[slot].append((key, value))
                if len(pending[slot]) >= CHUNK:
                    self._hand_over(slot, pending[slot])
                    pending[slot] = []
            for slot in range(n):
                if pending[slot]:
                    self._hand_over(slot, pending[slot])
                self._hand_over(slot, None)
            while self.finished < n:
                self._report(block=True)
            return sum(self.sent)
        finally:
            for worker in self.workers:
                worker.join(timeout=10)
                if worker.is_alive():
                    worker.terminate()

    def _hand_over(self, slot: int, chunk: list[Message] | None) -> None:
        while True:
            self._drain()
            try:
                self.inboxes[slot].put(chunk, timeout=0.5)
                return
            except queue.Full:
                if not self.workers[slot].is_alive():
                    raise ProduceError(f"producer process {self.workers[slot].name} died "
                                       f"(exit code {self.workers[slot].exitcode})") from None

    def _drain(self) -> None:
        while self._report(block=False):
            pass

    def _report(self, block: bool) -> bool:
        try:
            kind, value = self.reports.get(timeout=1) if block else self.reports.get_nowait()
        except queue.Empty:
            dead = [w for w in self.workers if not w.is_alive() and w.exitcode not in (0, None)]
            if block and dead:
                raise ProduceError(f"producer process {dead[0].name} died (exit code {dead[0].exitcode})") from None
            return False
        if kind == "error":
            raise ProduceError(value)
        if kind == "acked":
            self.acked += value
            if self.progress:
                self.progress(self.acked)
        else:
            self.finished += 1
            self.sent.append(value)
        return True


def _producer_process(params: dict, topic: str, inbox, reports) -> None:
    from shared_lib import kafka as kafka_lib

    def chunks() -> Iterator[Message]:
        while (chunk := inbox.get()) is not None:
            yield from chunk

    try:
        prod = kafka_lib.producer(params)
        try:
            sent = send_all(prod, topic, chunks(), lambda n: reports.put(("acked", n)))
        finally:
            prod.close()
        reports.put(("done", sent))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        reports.put(("error", f"{type(exc).__name__}: {exc}"))
