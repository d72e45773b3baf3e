"""Kafka -> bronze throughput: web events produced into the topic, then the bronze step timed
over them, cold (first stream since the server started) and warm; and `dp produce`'s loading
against Kafka's own producer benchmark (``ProducerPerformance``) on the same broker and payloads."""
from __future__ import annotations

import functools
import re
import subprocess

from runners.bench import reads, steps
from runners.bench.measure import Message, spark_server, timed
from runners.bench.report import figure, server_rss_figure
from runners.bench.workspace import BenchError, Setup
from shared_lib import kafka as kafka_lib

TARGET_EPS = 25_000
PRODUCE_EPS, OF_PERF_TEST = 50_000, 1 / 3  # issue 21: loading at 50k events/s and 1/3 of Kafka's own
PERF_PAYLOADS = 20_000  # distinct payloads Kafka's benchmark draws from
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
            figure(f"Kafka production, {label} pass", n / produce_s, "events/s", at_least=PRODUCE_EPS,
                   notes=f"{produce_s:.2f} s, kafka-python, acks=all, "
                         f"{setup.params['platform']['services']['kafka']['producer_processes']} producer process(es)"),
        ]
    log(f"  Kafka's own producer benchmark, {n} events of the same payloads ...")
    perf_eps = perf_test(setup, produced, n)
    own_eps = n / produce_s  # the warm pass
    log(f"  ProducerPerformance: {perf_eps:,.0f} events/s; dp produce {own_eps:,.0f} ({own_eps / perf_eps:.2f} of it)")
    figures += [
        figure("Kafka ProducerPerformance", perf_eps, "events/s",
               notes="Kafka's own producer benchmark (kafka-tools), same broker, acks=all, linger 20 ms, "
                     "256 KiB batches, no compression, payloads drawn from the same events, no keys"),
        figure("dp produce / Kafka ProducerPerformance", own_eps / perf_eps, "x", at_least=OF_PERF_TEST,
               notes="warm pass against Kafka's own benchmark in the same run (issue 21: at least 1/3)"),
    ]
    figures += [
        figure("event generation", n / generate_s, "events/s", notes=f"{generate_s:.2f} s, web generator"),
        server_rss_figure("Spark server peak RSS during ingest", server.peak_bytes),
    ]
    return figures


def perf_test(setup: Setup, produced: list[Message], n: int) -> float:
    """Events per second of Kafka's ``ProducerPerformance`` sending ``n`` records drawn from the
    payloads of ``produced``, into a topic of its own with the platform's settings."""
    from runners import jars as fetching
    from shared_lib import jars

    fetching.fetch("kafka-tools", setup.log)  # not fetched by set-up: only this benchmark runs it
    folder = setup.workspace / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    payloads = folder / "perf-payloads.txt"
    payloads.write_bytes(b"\n".join(v for _, v in produced[:PERF_PAYLOADS] if b"\n" not in v))
    topic = "bench.perf-test"
    kafka_lib.ensure_topics(setup.params, [topic])
    kafka = setup.params["platform"]["services"]["kafka"]
    cmd = ["java", "-Xmx512m", "-cp", ":".join(str(j) for j in jars.jars("kafka-tools")),
           "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", str(n),
           "--payload-file", str(payloads), "--throughput", "-1", "--producer-props",
           f"bootstrap.servers={kafka_lib.bootstrap(setup.params)}", "acks=all", "linger.ms=20",
           "batch.size=262144", "compression.type=none", f"max.request.size={kafka['max_message_bytes']}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    found = re.findall(r"(\d+) records sent, ([\d.]+) records/sec", done.stdout)
    if done.returncode != 0 or not found:
        raise BenchError(f"Kafka's ProducerPerformance failed (exit {done.returncode}): "
                         f"{(done.stderr or done.stdout).strip()[-500:]}")
    return float(found[-1][1])
