"""Kafka -> bronze throughput: web events produced into the topic, then the bronze step timed
over them, cold (first stream since the server started) and warm."""
from __future__ import annotations

import functools

from runners.bench import reads, steps
from runners.bench.measure import Message, spark_server, timed
from runners.bench.report import figure, server_rss_figure
from runners.bench.workspace import BenchError, Setup
from shared_lib import kafka as kafka_lib

TARGET_EPS = 25_000
PRODUCT = "web-user-analytics"
SEED = 42


@functools.lru_cache(maxsize=1)  # the web floor's JSON lines need them again
def messages(events: int) -> list[Message]:
    """``events`` contract-conforming web events as Kafka (key, value) pairs, built before the clock
    starts so that production is timed alone."""
    from products.web_user_analytics import generator

    return list(kafka_lib.encode_events(generator.generate(events, SEED, bad_share=0), generator.KEY_FIELD))


def already_produced(setup: Setup) -> list[Message]:
    """What this benchmark left in the web topic and bronze (nothing if it did not run)."""
    return messages(setup.sizes.events) if reads.bronze_rows(PRODUCT) else []


def _ingest(setup: Setup, run_id: str, expected_rows: int) -> tuple[float, float]:
    """Seconds the bronze step takes for what the topic holds, and the part of them spent
    creating the table (first pass only). Checks the table ends with ``expected_rows`` rows,
    else the throughput would be meaningless."""
    ctx = steps.open_context(setup, PRODUCT, "bronze", run_id)
    # The step would create the table itself; doing it first only separates the one-off cost.
    create_s, _ = timed(lambda: ctx.writer.ensure(ctx.table("events_raw")))
    stream_s, added = timed(lambda: steps.bronze_step(ctx))
    rows = reads.bronze_rows(PRODUCT)
    if rows != expected_rows:
        raise BenchError(f"bronze holds {rows} rows after {run_id}, expected {expected_rows} "
                         f"({added} reported added)")
    return create_s + stream_s, create_s


def bench(setup: Setup) -> list[dict]:
    n, log = setup.sizes.events, setup.log
    topic = kafka_lib.topic_of(setup.params, PRODUCT)
    log(f"  generating {n} web events ...")
    generate_s, produced = timed(lambda: messages(n))
    figures = []
    server = spark_server()
    # Twice: the first stream after the server starts pays class loading and JIT warm-up, the
    # second is what every later `dp run` sees.
    for i, label in enumerate(("cold", "warm"), 1):
        log(f"  producing {n} events into {topic} ({label} pass) ...")
        produce_s, _ = timed(lambda: kafka_lib.produce(setup.params, topic, produced))
        log(f"  ingesting into bronze ({label}) ...")
        with server:
            ingest_s, create_s = _ingest(setup, f"bench_{label}", expected_rows=i * n)
        log(f"  {label}: produced at {n / produce_s:,.0f} events/s, ingested at {n / ingest_s:,.0f} events/s")
        figures += [
            figure(f"Kafka -> bronze, {label} ({n:,} events)", n / ingest_s, "events/s",
                   at_least=TARGET_EPS,
                   notes=f"{ingest_s:.2f} s, of which {create_s:.2f} s checking/creating the table; "
                         f"Spark server CPU {server.cpu_s:.1f} s; bronze row count verified"
                         + ("; first stream since the server started" if label == "cold" else "")),
            figure(f"Kafka production, {label} pass", n / produce_s, "events/s",
                   notes=f"{produce_s:.2f} s, kafka-python, acks=all"),
        ]
    figures += [
        figure("event generation", n / generate_s, "events/s", notes=f"{generate_s:.2f} s, web generator"),
        server_rss_figure("Spark server peak RSS during ingest", server.peak_bytes),
    ]
    return figures
