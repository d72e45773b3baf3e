"""Segmentation of many customers: synthetic purchases and sessions appended to web silver, then
features -> rfm -> clusters through the runner."""
from __future__ import annotations

from runners.bench import crosscheck, reads, steps
from runners.bench.measure import spark_server, timed
from runners.bench.report import figure, notebook_figures, server_rss_figure
from runners.bench.workspace import BenchError, Setup

PRODUCT = "user-segmentation"


def _write_input(setup: Setup) -> tuple[int, int]:
    """Synthetic purchases and sessions of ``setup.sizes.customers`` users appended to web silver."""
    from products.user_segmentation import bench_data

    ctx = steps.open_context(setup, bench_data.WEB, "silver", "bench_segmentation_input")
    rows = []
    for name, make in (("events", bench_data.purchases), ("sessions", bench_data.sessions)):
        table = ctx.table(name)
        rows.append(ctx.writer.append(make(ctx.spark, setup.sizes.customers, table), table))
    return rows[0], rows[1]


def _customers(snapshot) -> int:
    import pyarrow.compute as pc

    return reads.count_rows(PRODUCT, "customer_features", filter=pc.field("snapshot_date") == snapshot)


def bench(setup: Setup) -> list[dict]:
    from products.user_segmentation import bench_data

    n = setup.sizes.customers
    setup.log(f"  writing purchases and sessions of {n:,} customers into web silver ...")
    write_s, (purchases, sessions) = timed(lambda: _write_input(setup))
    server = spark_server()
    overrides = [f"{PRODUCT}.snapshot_date={bench_data.SNAPSHOT.isoformat()}"]
    setup.log(f"  running features -> rfm -> clusters through the runner (snapshot {bench_data.SNAPSHOT}) ...")
    with server:
        elapsed, summary = timed(lambda: steps.run(setup, PRODUCT, overrides=overrides))
    customers = _customers(bench_data.SNAPSHOT)
    if customers != n:
        raise BenchError(f"customer_features holds {customers} customers for {bench_data.SNAPSHOT}, expected {n}")
    k = setup.params[PRODUCT]["clusters"]["k"]
    from runners.bench.floors import segmentation as floor

    setup.log("  DuckDB + scikit-learn: features, RFM and k-means over the same silver ...")
    floor_s, floor_rows = timed(lambda: floor.run(setup.workspace / "bench" / "segmentation-floor", setup.params,
                                                  bench_data.SNAPSHOT))
    diffs = crosscheck.compare_tables({t: reads.table_rows(PRODUCT, t) for t in floor.GOLD_KEYS}, floor_rows,
                                      floor.GOLD_KEYS, floor.TOLERANCES)
    setup.log(f"  Spark {elapsed:.1f} s, floor {floor_s:.2f} s; gold vs floor: {crosscheck.summary(diffs)}")
    return [
        figure(f"segmentation, {n:,} customers", elapsed, "s",
               notes=f"dp run of features, rfm, clusters (k = {k}; kernels included) over {purchases:,} purchase "
                     f"events and {sessions:,} sessions; customer count verified; Spark server CPU {server.cpu_s:.1f} s"),
        *notebook_figures(summary.records, "segmentation"),
        server_rss_figure("Spark server peak RSS, segmentation", server.peak_bytes),
        figure("synthetic silver input written", write_s, "s", notes="set-up, not part of the segmentation time"),
        figure("DuckDB + scikit-learn segmentation floor", floor_s, "s",
               notes="features and RFM in DuckDB SQL, k-means in scikit-learn, over the same silver, written as Parquet; "
                     "behaviour, churn and tag counts not in the floor"),
        figure("segmentation / floor", elapsed / floor_s, "x", at_most=10,
               notes="how many times the floor's time the pipeline takes"),
        *[figure(f"gold {table} vs floor (segmentation): differences", len(found), "", at_most=0,
                 notes="every row and column match" if not found else "; ".join(found[:crosscheck.MAX_SHOWN]))
          for table, found in diffs.items()],
    ]
