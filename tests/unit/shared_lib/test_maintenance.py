"""Table maintenance (shared_lib.maintenance): the table writer compacts a partition once it holds
``compact_min_files`` small files, so 100 small incremental appends leave a bounded number of
files; the scheduled maintenance compacts and vacuums, recording files and bytes before and after.
Delta tables written with delta-rs in a throw-away workspace (no Spark)."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from shared_lib import lake, maintenance, tables
from shared_lib.products import Column, Table

DAY1, DAY2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


@pytest.fixture
def table(tmp_path, monkeypatch) -> Table:
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    return Table(product="shop", name="orders", layer="bronze", description="", owner="o", retention_days=90,
                 columns=(Column("day", "date", nullable=False), Column("n", "bigint")), partitioned_by=("day",),
                 event_time="day")


def append(table: Table, day: dt.date, n: int) -> None:
    """One small incremental write: one row, one new file in the partition of ``day``."""
    from deltalake import write_deltalake

    data = pa.Table.from_pylist([{"day": day, "n": n}], schema=lake.arrow_schema(table))
    # A checkpoint every 10 commits, as Spark's Delta makes by default (delta-rs: every 100),
    # so that opening the table does not replay a hundred commits (4x faster here).
    config = None if lake.exists(table) else {"delta.checkpointInterval": "10"}
    write_deltalake(str(table.path), data, mode="append", partition_by=["day"], configuration=config)


def files_of(table: Table, day: dt.date) -> int:
    actions = pa.table(lake.delta_table(table).get_add_actions(flatten=True)).to_pylist()
    return sum(1 for a in actions if a["partition.day"] == day)


def test_after_100_small_appends_through_the_writer_a_partition_holds_at_most_15_files(table):
    # Default settings: compaction once a partition holds 16 small files. Each append adds one;
    # at 16 they become 1, so the count runs 1..15, 1 (after compacting at 16), 2..15, ...
    # Compactions at appends 16, 31, 46, 61, 76 and 91; after append 100: 1 + 9 = 10 files.
    writer = tables.Writer(spark=None, run_id="incremental")
    assert writer.compaction == maintenance.Settings(compact_min_files=16, small_file_mb=32, target_file_mb=128,
                                                     vacuum_retain_hours=168)
    counts = []
    for n in range(100):
        before = lake.version(table)
        append(table, DAY1, n)
        assert writer._written(table, before) == 1  # what every write of the writer ends with
        counts.append(files_of(table, DAY1))
    assert max(counts) == 15
    assert [i + 1 for i, c in enumerate(counts) if c == 1] == [1, 16, 31, 46, 61, 76, 91]
    assert counts[-1] == 10
    assert sorted(lake.read(table)["n"]) == list(range(100))  # compaction loses and repeats nothing
    assert writer.lineage.rows_written == 100


def test_each_partition_is_compacted_on_its_own_count(table):
    settings = maintenance.Settings(compact_min_files=3)
    for n in range(5):
        append(table, DAY1, n)
    for n in range(2):
        append(table, DAY2, n)
    assert maintenance.crowded_partitions(table, settings) == [{"day": DAY1}]  # DAY2 holds 2 < 3
    assert maintenance.compact_if_needed(table, settings) == 5
    assert (files_of(table, DAY1), files_of(table, DAY2)) == (1, 2)


def test_a_writer_without_compaction_leaves_the_files_as_written(table):
    writer = tables.Writer(spark=None, run_id="r", compaction=None)
    for n in range(20):
        before = lake.version(table)
        append(table, DAY1, n)
        writer._written(table, before)
    assert files_of(table, DAY1) == 20


def test_scheduled_maintenance_compacts_vacuums_and_records_files_and_bytes_before_and_after(table):
    for n in range(4):
        append(table, DAY1, n)
    before = maintenance.files(table)
    assert (before.files, before.small_files) == (4, 4)
    settings = maintenance.Settings(compact_min_files=4, vacuum_retain_hours=0)
    [record] = maintenance.maintain([table], settings)
    after = maintenance.files(table)
    assert record["table"] == "shop.bronze.orders" and record["error"] is None
    assert (record["files_before"], record["bytes_before"]) == (4, before.bytes)
    assert (record["files_after"], record["bytes_after"]) == (1, after.bytes)
    assert (record["files_compacted"], record["files_vacuumed"]) == (4, 4)  # the 4 small files, off disk too
    assert len(list(table.path.rglob("*.parquet"))) == 1
    assert maintenance.totals([record])["files_after"] == 1
    # A table not created yet is left out.
    missing = Table(product="shop", name="nothing", layer="gold", description="", owner="o", retention_days=1,
                    columns=(Column("x", "int"),))
    assert maintenance.maintain([missing], settings) == []
