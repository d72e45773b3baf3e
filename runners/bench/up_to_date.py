"""The whole DAG on demo-sized data: cold, then the no-op rerun (every notebook up to date), then a
rerun after 1 % new events in the single-topic products (only their chains run again).

Runs as ``make demo`` does: every product, the runner's own audit events on (they must not make
the no-op rerun run anything, see ``runners.freshness``)."""
from __future__ import annotations

from runners import generate
from runners import run as run_lib
from runners.bench.measure import timed
from runners.bench.report import figure
from runners.bench.workspace import BenchError, Setup
from shared_lib import kafka as kafka_lib

NOOP_TARGET_S = 10.0
SHARE_TARGET = 0.25  # the 1 % rerun takes at most this share of the cold run
NEW_DATA_SHARE = 0.01
NEW_DATA_DAYS = 1  # new events are today's: newly arriving data, not a back-fill of every day
SKIP = ("platform.runner.skip_up_to_date=true",)


def _whole_dag(setup: Setup, label: str) -> tuple[float, run_lib.RunSummary]:
    elapsed, summary = timed(lambda: run_lib.run(overrides=SKIP, log=setup.log))
    if not summary.ok:
        failed = [f"{r['product']}:{r['notebook']}" for r in summary.records if r["status"] in ("failed", "skipped")]
        raise BenchError(f"{label} run {summary.run_id} did not succeed: {', '.join(failed)}")
    setup.log(f"  {label}: {elapsed:.1f} s, {summary.count('succeeded')} ran, {summary.count('up_to_date')} up to date")
    return elapsed, summary


def _split(records: list[dict], label: str) -> list[dict]:
    """One figure per notebook of a whole-DAG run (product-qualified: every product has a 01_bronze),
    so a rerun that does not shrink shows which notebooks keep their cold time."""
    return [figure(f"{r['product']}/{r['notebook']} ({label})", r["duration_s"] or 0.0, "s",
                   notes=r["status"] + (f", {r['rows_written']} rows written" if r.get("rows_written") is not None else ""))
            for r in records]


def _new_events(setup: Setup, product: str, count: int) -> int:
    """``count`` generated events of ``product`` of today, as a scheduled run finds them (the cold
    data spans the generator's days up to now), with ids of their own (a generator numbers its
    events from 0 whatever the seed: as they are they would all be duplicates)."""
    module = generate._generator(product)
    events = generate.with_fresh_ids(module.generate(count, 99, days=NEW_DATA_DAYS), "new-")
    return kafka_lib.produce(setup.params, kafka_lib.topic_of(setup.params, product),
                             kafka_lib.encode_events(events, module.KEY_FIELD))


SINGLE_TOPIC = ("web-user-analytics", "mobile-user-analytics", "operational-metrics")


def bench(setup: Setup) -> list[dict]:
    events = setup.sizes.dag_events
    for product in (*SINGLE_TOPIC, "compliance-auditing"):
        generate.generate(setup.params, product, events=events, seed=42, log=setup.log)
    cold, first = _whole_dag(setup, "cold")
    noop, second = _whole_dag(setup, "no-op rerun")
    new = max(1, int(events * NEW_DATA_SHARE))
    for product in SINGLE_TOPIC:
        _new_events(setup, product, new)
    again, third = _whole_dag(setup, "1 % new data")
    return [
        figure("whole DAG, cold", cold, "s",
               notes=f"{len(first.records)} notebooks over {events:,} events per product (the demo's size)"),
        figure("no-op rerun (all up to date)", noop, "s", at_most=NOOP_TARGET_S,
               notes=f"{second.count('up_to_date')} of {len(second.records)} notebooks up to date"),
        figure("rerun with 1 % new data", again, "s", at_most=round(cold * SHARE_TARGET, 1),
               notes=f"{new} new events of today in each of {', '.join(SINGLE_TOPIC)}; {third.count('succeeded')} notebooks "
                     f"ran, {third.count('up_to_date')} up to date; target 25 % of the cold run"),
        figure("1 % rerun / cold", again / cold, "x", at_most=SHARE_TARGET),
        *_split(first.records, "cold"),
        *_split(third.records, "1 % new data"),
    ]
