"""Where the APIs' events go without slowing a request: a queue drained by one thread.

Two kinds leave an API: request logs (topic ``ops.requests``, the operational-metrics contract:
event_id, event_ts, service, endpoint, method, status_code, latency_ms) and audit events (topic
``compliance.audit``, through ``shared_lib.audit``). A request only puts its event on a queue;
the thread sends what has gathered in batches. When the broker is down the batch is dropped
with one warning per minute: request logs and read audits never fail the answer (the policy of
``shared_lib.audit`` for reads). A full queue drops new events and counts them.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from typing import Any, Callable

from shared_lib import audit
from shared_lib import kafka as kafka_lib

logger = logging.getLogger(__name__)

REQUESTS_PRODUCT = "operational-metrics"  # whose `topic` parameter names the request-log topic
BATCH, LINGER_S, QUEUE_MAX = 500, 0.2, 20_000
WARN_EVERY_S = 60.0
# The audit writer's last batch at shutdown waits for its acknowledgements (audit.send waits up to
# ACK_TIMEOUT_S); a request log may be cut after 3 s, an audit row should not be.
CLOSE_S, AUDIT_CLOSE_S = 3.0, 2 * audit.ACK_TIMEOUT_S + 1.0
# gzip: kafka-python checksums each batch with a pure-Python CRC32C (the C `crc32c` package is not
# installed), byte by byte; request logs compress about 7 times, so a logged request cost the API
# 50 us of batch building instead of 170 (measured on batches of 100 events).
REQUEST_LOG_COMPRESSION = "gzip"

Deliver = Callable[[list[dict]], Any]


class BackgroundWriter:
    """Collects events and hands them to ``deliver`` in batches on a daemon thread."""

    def __init__(self, name: str, deliver: Deliver):
        self.name, self.deliver = name, deliver
        self.dropped = 0
        self._queue: queue.Queue[dict | None] = queue.Queue(QUEUE_MAX)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_warning = 0.0

    def put(self, event: dict) -> None:
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"dp-{self.name}-writer", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + LINGER_S
            stop = False
            while len(batch) < BATCH and (left := deadline - time.monotonic()) > 0:
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._send(batch)
            if stop:
                return

    def _send(self, batch: list[dict]) -> None:
        try:
            self.deliver(batch)
        except Exception as exc:  # the broker's errors have many types; dropping is the policy
            self.dropped += len(batch)
            if time.monotonic() - self._last_warning > WARN_EVERY_S:
                self._last_warning = time.monotonic()
                logger.warning("%s: %d events not written (%s: %s); is Kafka running (`dp up`)?",
                               self.name, len(batch), type(exc).__name__, exc)

    def close(self, timeout: float = CLOSE_S) -> None:
        """Send what is queued (waiting at most ``timeout`` seconds), then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None


class KafkaEvents:
    """``deliver`` for a topic: one producer, sends without waiting for each acknowledgement."""

    def __init__(self, params: dict, topic: str, key_field: str | None, client_id: str):
        self.params, self.topic, self.key_field, self.client_id = params, topic, key_field, client_id
        self._producer: Any = None

    def __call__(self, events: list[dict]) -> int:
        if self._producer is None:
            # The producer first: without a broker it fails in max_block_ms, the admin client in 20 s.
            producer = kafka_lib.producer(self.params, client_id=self.client_id, acks=1, max_block_ms=5000,
                                          linger_ms=50, compression_type=REQUEST_LOG_COMPRESSION)
            kafka_lib.ensure_topics(self.params, [self.topic])
            self._producer = producer
        for key, value in kafka_lib.encode_events(events, self.key_field):
            self._producer.send(self.topic, key=key, value=value)
        self._producer.flush(timeout=10)
        return len(events)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None


def request_event(service: str, endpoint: str, method: str, status: int, latency_ms: float) -> dict:
    """One ``ops.requests`` event (events.md)."""
    return {"event_id": str(uuid.uuid4()), "event_ts": audit.utc_now(), "service": service,
            "endpoint": endpoint, "method": method, "status_code": int(status),
            "latency_ms": round(float(latency_ms), 3)}


def request_topic(params: dict) -> str:
    return kafka_lib.topic_of(params, REQUESTS_PRODUCT)


class Sinks:
    """The two writers of one API process; ``memory()`` gives lists for tests instead."""

    def __init__(self, requests: Callable[[dict], None], audit_events: Callable[[dict], None],
                 closers: tuple[Callable[[], None], ...] = ()):
        self.request, self.audit, self._closers = requests, audit_events, closers

    @classmethod
    def kafka(cls, params: dict) -> "Sinks":
        requests_out = KafkaEvents(params, request_topic(params), "service", "dp-api-requests")
        requests_writer = BackgroundWriter("request-log", requests_out)
        audit_writer = BackgroundWriter("audit", lambda events: audit.send(params, events))
        return cls(requests_writer.put, audit_writer.put,
                   (requests_writer.close, lambda: audit_writer.close(AUDIT_CLOSE_S), requests_out.close))

    @classmethod
    def memory(cls) -> "MemorySinks":
        return MemorySinks()

    def close(self) -> None:
        for close in self._closers:
            close()


class MemorySinks(Sinks):
    """Keeps every event in lists (tests, and an API run without a broker)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.audits: list[dict] = []
        super().__init__(self.requests.append, self.audits.append)
