"""Erasure of one data subject over the web and mobile bench data (`dp dsar erase`, purge
included): the web user with the most events, erased from every table of every layer, then the
history purged. Runs over what the web and mobile bronze -> gold benchmarks left; alone
(`--only erasure`), it loads their sizes of events first."""
from __future__ import annotations

from runners.bench import bronze_gold, steps
from runners.bench.measure import timed
from runners.bench.report import figure
from runners.bench.workspace import BenchError, Setup
from shared_lib import kafka as kafka_lib
from shared_lib import lake, products

TARGET_S = 120.0
WEB, MOBILE = bronze_gold.WEB, bronze_gold.MOBILE


def _events(product: str) -> int:
    table = products.get(product).table("events")
    return lake.count_rows(table)


def _load(setup: Setup) -> None:
    """The web and mobile events of the bench's sizes through bronze, silver and gold."""
    for spec, n in ((WEB, setup.sizes.web_events), (MOBILE, setup.sizes.mobile_events)):
        setup.log(f"  loading {n:,} {spec.label} events ...")
        topic = kafka_lib.topics_of(setup.params, spec.product)[spec.topic_role]
        kafka_lib.produce(setup.params, topic, bronze_gold.messages(spec, n))
        steps.run(setup, spec.product)


def busiest_user() -> str:
    """The web user id with the most silver events (ties: the smallest id)."""
    import pyarrow.compute as pc

    users = lake.delta_table(products.get(WEB.product).table("events")).to_pyarrow_dataset().to_table(
        columns=["user_id"], filter=pc.field("user_id").is_valid()).column(0)
    if len(users) == 0:
        raise BenchError("web silver events hold no user id to erase")
    counts = pc.value_counts(users).to_pylist()
    return min(counts, key=lambda c: (-c["counts"], c["values"]))["values"]


def bench(setup: Setup) -> list[dict]:
    from shared_lib.dsar import erase, identity, rows
    from shared_lib.dsar.scope import all_scopes

    if not lake.exists(products.get(WEB.product).table("events")) or not lake.exists(
            products.get(MOBILE.product).table("events")):
        _load(setup)
    web, mobile = _events(WEB.product), _events(MOBILE.product)
    subject = busiest_user()
    setup.log(f"  erasing {subject} over {web:,} web and {mobile:,} mobile silver events ...")
    elapsed, result = timed(lambda: erase.erase(setup.params, subject, reason="bench", log=setup.log))
    who, _ = identity.resolve(subject, {i: [] for i in result.ids if i != subject})
    left = {s.table.qualified_name: n for s in all_scopes() if s.erasable
            for n in [rows.find(s, who, hashes=False, columns=rows.key_columns(s)).num_rows] if n}
    if left or not result.rows_removed:
        raise BenchError(f"erasure of {subject} left rows {left} (removed {result.rows_removed})")
    removed = sum(result.rows_removed.values())
    return [figure(f"erasure of one subject, {web:,} web + {mobile:,} mobile events", elapsed, "s",
                   at_most=TARGET_S,
                   notes=f"dp dsar erase with delta-rs: {len(result.ids)} id(s), {removed} rows from "
                         f"{len(result.rows_removed)} tables, then vacuum (0 h), checkpoint and log cut on every "
                         f"table with personal data ({result.files_removed} files removed), reports and "
                         f"workspace scrubbed; verified: no row left"), *split_figures(result)]


def split_figures(result) -> list[dict]:
    """Where the erasure's time went: one figure per phase, the three slowest tables in its notes."""
    out = []
    for phase, seconds in result.seconds.items():
        slowest = sorted(((t[phase], name) for name, t in result.table_seconds.items() if phase in t), reverse=True)[:3]
        notes = ", ".join(f"{name} {s:.1f} s" for s, name in slowest if s >= 0.05)
        out.append(figure(f"erasure: {phase}", seconds, "s", notes=f"slowest: {notes}" if notes else ""))
    return out
