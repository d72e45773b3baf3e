"""Writer.append_collected / replace_collected against the real Spark server and real Delta tables:
rows computed by Spark, collected as Arrow and committed by delta-rs, with the declaration's NOT
NULL and CHECK constraints, only the partitions of ``where`` rewritten, nothing committed on a
refused write, rows counted in the lineage, and Spark reading the result."""
import datetime as dt
import re
import uuid

import pytest

from shared_lib import lake, tables
from shared_lib.products import Column, Table

pytestmark = pytest.mark.integration

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
SCHEMA = "date date, service string, requests bigint, error_rate double"


def declared() -> Table:
    """A fresh gold table: partitioned by date, two NOT NULL columns, one CHECK constraint."""
    return Table(product="collected-test", name=f"daily_{uuid.uuid4().hex[:8]}", layer="gold",
                 description="Requests per service and day", owner="test", retention_days=30,
                 columns=(Column("date", "date", "UTC day", nullable=False),
                          Column("service", "string", "Service name", nullable=False),
                          Column("requests", "bigint", "Requests that day"),
                          Column("error_rate", "double", "Share of 5xx")),
                 partitioned_by=("date",), checks=(("error_rate_is_share", "error_rate BETWEEN 0 AND 1"),))


def rows_spark(spark, table: Table) -> list[tuple]:
    return sorted(tuple(r) for r in spark.read.format("delta").load(str(table.path)).collect())


def rows_delta_rs(table: Table) -> list[tuple]:
    return sorted(tuple(r.values()) for r in lake.delta_table(table).to_pyarrow_table(
        columns=["date", "service", "requests", "error_rate"]).to_pylist())


FIRST = [(D1, "api", 10, 0.1), (D1, "web", 20, 0.0), (D2, "api", 30, 0.2), (D2, "web", 40, 0.5),
         (D3, "api", 50, 1.0), (D3, "web", 60, 0.25)]


@pytest.fixture(scope="module")
def filled(spark) -> Table:
    """A table holding FIRST, which the refused writes below must leave as it is."""
    table = declared()
    assert tables.Writer(spark, run_id="collected-fill").append_collected(spark.createDataFrame(FIRST, SCHEMA),
                                                                          table) == 6
    return table


def test_replace_rewrites_only_the_partitions_of_where_and_counts_rows(spark):
    table = declared()
    writer = tables.Writer(spark, run_id="collected-1")
    assert writer.append_collected(spark.createDataFrame(FIRST, SCHEMA), table) == 6
    appended = lake.version(table)

    new = [(D2, "api", 31, 0.3), (D3, "api", 51, 0.0), (D3, "web", 61, 0.5), (D3, "auth", None, 0.75)]
    where = tables.in_predicate("date", [D2, D3])
    assert writer.replace_collected(spark.createDataFrame(new, SCHEMA), table, where) == 4

    expected = sorted([FIRST[0], FIRST[1]] + new)  # D1 as it was, D2 and D3 exactly the new rows
    assert rows_spark(spark, table) == expected
    assert rows_delta_rs(table) == expected
    assert lake.version(table) == appended + 1  # one commit for the replace
    assert writer.lineage.rows_written == 6 + 4
    assert writer.lineage.tables_written == {table.qualified_name: appended + 1}
    assert tables.rows_in_versions(table, appended, appended + 1) == 4  # delta-rs's num_added_rows

    # Rerunning the same replace leaves the same content.
    assert writer.replace_collected(spark.createDataFrame(new, SCHEMA), table, where) == 4
    assert rows_delta_rs(table) == expected


@pytest.mark.parametrize("bad_row, shown", [
    ((D2, "api", 1, 1.5), "| 1.5 "),  # breaks the CHECK constraint
    ((D2, None, 1, 0.5), "service"),  # NULL in a NOT NULL column
    ((D2, "api", 1, None), "failed validation"),  # a CHECK on NULL fails, as in Spark's Delta
])
def test_a_row_breaking_the_declaration_fails_and_commits_nothing(spark, filled, bad_row, shown):
    writer = tables.Writer(spark, run_id="collected-2")
    before = lake.version(filled)
    good_then_bad = spark.createDataFrame([(D2, "web", 41, 0.4), bad_row], SCHEMA)
    with pytest.raises(ValueError, match=re.escape(f"cannot write {filled.qualified_name}: ")) as failure:
        writer.replace_collected(good_then_bad, filled, tables.in_predicate("date", [D2]))
    message = str(failure.value)
    assert shown in message  # delta-rs shows the offending row or names the column
    assert message.endswith("(every row must satisfy: where `date` IN (DATE '2026-11-02'); "
                            "error_rate_is_share CHECK (error_rate BETWEEN 0 AND 1); date NOT NULL; service NOT NULL)")
    with pytest.raises(ValueError, match=re.escape(f"cannot write {filled.qualified_name}: ")):
        writer.append_collected(good_then_bad, filled)

    assert lake.version(filled) == before  # nothing committed
    assert rows_delta_rs(filled) == sorted(FIRST)
    assert writer.lineage.rows_written == 0 and writer.lineage.tables_written == {}


def test_a_row_outside_where_is_rejected(spark, filled):
    writer = tables.Writer(spark, run_id="collected-3")
    before = lake.version(filled)
    stray = spark.createDataFrame([(D2, "api", 32, 0.1), (D1, "api", 11, 0.1)], SCHEMA)
    with pytest.raises(ValueError, match=re.escape(f"cannot write {filled.qualified_name}: ")) as failure:
        writer.replace_collected(stray, filled, tables.in_predicate("date", [D2]))
    assert "| 2026-11-01 |" in str(failure.value)  # the stray row, shown by delta-rs
    assert "where `date` IN (DATE '2026-11-02')" in str(failure.value)
    assert lake.version(filled) == before
    assert rows_spark(spark, filled) == sorted(FIRST)  # and Spark still reads it


def test_ensure_brings_an_existing_table_to_its_declared_statistics_columns(spark):
    """A table created before its declaration named ``stats_columns`` gets them at the next
    ``ensure`` (one commit), and new files carry min/max for those columns only."""
    import dataclasses

    table = declared()
    tables.ensure(spark, table)
    assert tables.STATS_COLUMNS not in lake.delta_table(table).metadata().configuration
    narrowed = dataclasses.replace(table, stats_columns=("service", "requests"))
    tables.ensure(spark, narrowed)
    after = lake.version(table)
    assert lake.delta_table(table).metadata().configuration[tables.STATS_COLUMNS] == "service,requests"
    tables.ensure(spark, narrowed)
    assert lake.version(table) == after  # already as declared: nothing committed

    tables.Writer(spark, run_id="stats-1").append(spark.createDataFrame(FIRST, SCHEMA), narrowed)
    import pyarrow as pa
    actions = pa.table(lake.delta_table(table).get_add_actions(flatten=False)).to_pylist()
    assert actions and all(set(a["min"]) == {"service", "requests"} for a in actions)
