"""Retention and table maintenance against the real Spark server, through the runner:

- the table writer keeps a table's file count bounded under many small incremental writes, on
  files written by Spark (``Writer.append``) and by delta-rs (``Writer.append_collected``);
- the scheduled retention step (``dp run --notebook compliance-auditing:retention``) on a table
  written by Spark: a dry run changes nothing, a table hold keeps every row, after the release the
  expired rows go and the young ones stay; then compliance gold holds the check as KPIs, and the
  maintenance step records files and bytes before and after in the run record.

The check is limited (``platform.retention.tables``) to ``operational-metrics.gold.consumer_lag``:
the session's other tests write 2021 data into other tables, which a whole check would delete.
Their consumer-lag rows are dated today (the health check's time), so only this test's rows
(ids ``itr-``) are past the table's 365 days.
"""
from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from runners import cli
from runners import run as run_lib
from shared_lib import holds, lake, maintenance, products, retention, tables

pytestmark = pytest.mark.integration

LAG = products.find_table("operational-metrics.gold.consumer_lag")
KPIS = products.find_table("compliance-auditing.gold.daily_compliance_kpis")
OLD = dt.date(2020, 1, 6)  # years past the 365 days of consumer_lag
SCHEMA = ("evaluated_at timestamp, date date, topic string, product string, end_offset bigint, "
          "ingested_offset bigint, lag_messages bigint, lag_seconds double")
# Rows this file writes straight into a table carry no Kafka topic of the product, so the
# bronze accounting of later tests (bronze = silver + quarantine + ...) leaves them out.
DIRECT_WRITE = "itr-direct-write"
ONLY_LAG = {"platform.retention.tables": [LAG.qualified_name], "platform.retention.vacuum_retain_hours": 0}


def lag_rows(spark, day: dt.date, topics: list[str]):
    at = dt.datetime(day.year, day.month, day.day, 6, tzinfo=dt.timezone.utc)
    return spark.createDataFrame([(at, day, t, "itr", 10, 10, 0, 0.0) for t in topics], SCHEMA)


def itr_topics() -> list[str]:
    rows = lake.read(LAG)
    return sorted(t for t in rows["topic"] if t.startswith("itr-"))


def small_table(name: str):
    return products.Table(product="retention-test", name=name, layer="bronze", description="", owner="test",
                          retention_days=90, columns=(products.Column("day", "date", nullable=False),
                                                      products.Column("n", "bigint")),
                          partitioned_by=("day",), event_time="day")


def files_in(table) -> int:
    return len(pa.table(lake.delta_table(table).get_add_actions(flatten=True)))


def test_100_small_collected_appends_leave_at_most_15_files(spark):
    # Default settings: a partition is compacted once it holds 16 small files (see the unit test
    # for the count's cycle); after append 100: 10 files, never more than 15.
    table, writer = small_table("collected"), tables.Writer(spark, run_id="itr-collected")
    counts = []
    for n in range(100):
        writer.append_collected(spark.createDataFrame([(OLD, n)], "day date, n bigint"), table)
        counts.append(files_in(table))
    assert max(counts) == 15 and counts[-1] == 10
    assert sorted(r["n"] for r in spark.read.format("delta").load(str(table.path)).collect()) == list(range(100))


def test_spark_appends_are_compacted_too(spark):
    # Spark writes files of its own (one per task); at 4 small files the partition becomes one.
    table = small_table("spark")
    writer = tables.Writer(spark, run_id="itr-spark", compaction=maintenance.Settings(compact_min_files=4))
    counts = []
    for n in range(6):
        writer.append(spark.createDataFrame([(OLD, n)], "day date, n bigint").coalesce(1), table)
        counts.append(files_in(table))
    assert counts == [1, 2, 3, 1, 2, 3]
    assert sorted(r["n"] for r in spark.read.format("delta").load(str(table.path)).collect()) == list(range(6))


def test_the_retention_step_deletes_what_expired_keeps_what_is_held_and_gold_counts_it(spark, params, capsys):
    writer = tables.Writer(spark, run_id="itr-fill")
    writer.append(lag_rows(spark, OLD, ["itr-old-1", "itr-old-2", "itr-old-3"]), LAG)
    writer.append(lag_rows(spark, dt.datetime.now(dt.timezone.utc).date(), ["itr-young"]), LAG)

    # A dry run prints what would go and changes nothing.
    version = lake.version(LAG)
    assert cli.main(["retention", "--dry-run", "--table", LAG.qualified_name]) == 0
    assert f"{LAG.qualified_name}: 3 row(s) past 365 days" in capsys.readouterr().out
    assert lake.version(LAG) == version and len(itr_topics()) == 4

    # Under a table hold, the scheduled step keeps every row.
    hold = holds.place(params, "table", LAG.qualified_name, reason="itr case")
    first = run_lib.run(notebook="compliance-auditing:retention", overrides=ONLY_LAG)
    assert first.ok and lake.version(LAG) == version and len(itr_topics()) == 4

    # Released: the three expired rows go, the young one stays.
    holds.release(params, hold.hold_id)
    second = run_lib.run(notebook="compliance-auditing:retention", overrides=ONLY_LAG)
    assert second.ok and itr_topics() == ["itr-young"]
    results = json.loads(second.records[0]["results"])
    assert (results["rows_past_retention"], results["rows_held"], results["rows_deleted"]) == (3, 0, 3)
    status = lake.read(retention.status_table())
    mine = status[status["check_id"].isin(status.sort_values("checked_at")["check_id"].unique()[-2:])]
    assert sorted(zip(mine["status"], mine["rows_past_retention"], mine["rows_held"], mine["rows_deleted"])) == [
        ("deleted", 3, 0, 3), ("held", 3, 3, 0)]

    # Gold: today's retention KPIs are the last check's (3 past retention, none held) and the day's
    # deletions (3).
    run_lib.run(products=["compliance-auditing"])
    today = dt.datetime.now(dt.timezone.utc).date()
    gold = lake.read(KPIS, filters=[("date", "=", today)])
    got = {(r.kpi, r.dimension_value): r.value for r in gold.itertuples() if r.kpi in
           ("rows_past_retention", "retention_rows_held", "retention_rows_deleted")}
    assert got == {("rows_past_retention", "all"): 3.0, ("rows_past_retention", LAG.qualified_name): 3.0,
                   ("retention_rows_held", "all"): 0.0, ("retention_rows_deleted", "all"): 3.0}

    # Maintenance: every table's files and bytes before and after, in the run record.
    done = run_lib.run(notebook="compliance-auditing:maintenance")
    assert done.ok
    recorded = json.loads(done.records[0]["results"])
    lag = next(r for r in recorded["tables"] if r["table"] == LAG.qualified_name)
    assert set(lag) >= {"files_before", "bytes_before", "files_after", "bytes_after", "files_compacted",
                        "files_vacuumed"}
    assert lag["files_after"] == files_in(LAG) and recorded["tables_failed"] == []


def test_retention_deletes_from_the_spark_written_append_only_audit_trail_keeping_a_held_subjects_rows(spark, params):
    # The audit trail is append-only (Delta refuses DELETE); retention lifts the flag for its own
    # delete and sets it again. A held subject's old event is kept through its keyed hash.
    from shared_lib import subject_hash
    trail = products.find_table("compliance-auditing.silver.audit_trail")
    key = subject_hash.workspace_key()
    schema = ("event_id string, event_ts timestamp, event_date date, actor string, actor_role string, action string, "
              "resource string, columns array<string>, purpose string, result string, subject_hash string, "
              "source_ip string, topic string, partition int, offset bigint, kafka_ts timestamp, "
              "ingested_at timestamp, run_id string")
    old = dt.datetime(2018, 5, 1, 9, tzinfo=dt.timezone.utc)

    def row(event_id, subject):
        return (event_id, old, old.date(), "itr-actor", None, "read", "itr", None, None, "success",
                subject_hash.hash_id(subject, key), None, DIRECT_WRITE, 0, 0, None, old, "itr")
    tables.Writer(spark, run_id="itr-trail").append(
        spark.createDataFrame([row("itr-held", "itr-subject-held"), row("itr-gone", "itr-subject-2")], schema), trail)
    hold = holds.place(params, "subject", "itr-subject-held", reason="itr case")
    try:
        [check] = retention.run(params, tables=[trail], actor="itr-test")
    finally:
        holds.release(params, hold.hold_id)
    assert (check.rows_past_retention, check.rows_held, check.rows_deleted) == (2, 1, 1)
    ids = set(lake.read(trail)["event_id"])
    assert "itr-held" in ids and "itr-gone" not in ids
    assert lake.delta_table(trail).metadata().configuration[retention.APPEND_ONLY] == "true"
    with pytest.raises(Exception, match="(?i)append"):  # Spark still refuses a DELETE
        spark.sql(f"DELETE FROM {tables.ident(trail.path)} WHERE event_id = 'itr-held'").collect()
