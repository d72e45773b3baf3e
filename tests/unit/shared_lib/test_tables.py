"""The table writer's DDL comes from the declaration: types, NOT NULL, comments, partitioning and
CHECK constraints (as Delta table properties, set at creation)."""
from pathlib import Path

import pytest

from shared_lib import tables
from shared_lib.products import Column, Table


def test_create_ddl_from_declaration(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = Table(product="shop", name="daily", layer="gold", description="Daily KPIs, one row a day",
                  columns=(Column("date", "date", "UTC day", nullable=False),
                           Column("rate", "double", "it's a share"),
                           Column("ip", "string", pii="personal")),
                  owner="o", retention_days=30, partitioned_by=("date",),
                  checks=(("rate_is_share", "rate BETWEEN 0 AND 1"),))
    path = Path(tmp_path) / "lake" / "shop" / "gold" / "daily"
    assert tables.create_ddl(table) == (
        f"CREATE TABLE IF NOT EXISTS delta.`{path}` (\n"
        "  `date` date NOT NULL COMMENT 'UTC day',\n"
        "  `rate` double COMMENT 'it\\'s a share',\n"
        "  `ip` string\n"
        ") USING delta\n"
        "PARTITIONED BY (`date`)\n"
        "COMMENT 'Daily KPIs, one row a day'\n"
        "TBLPROPERTIES ('delta.constraints.rate_is_share' = 'rate BETWEEN 0 AND 1')")


def test_declared_properties_are_set_at_creation_beside_the_checks(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = Table(product="shop", name="trail", layer="silver", description="", owner="o", retention_days=1,
                  columns=(Column("id", "string"),), checks=(("id_set", "id IS NOT NULL"),),
                  properties=(("delta.appendOnly", "true"),))
    assert tables.create_ddl(table).endswith(
        "TBLPROPERTIES ('delta.constraints.id_set' = 'id IS NOT NULL', 'delta.appendOnly' = 'true')")


def test_lineage_record_shape():
    lineage = tables.Lineage()
    lineage.tables_read["a.bronze.t"] = 3
    lineage.rows_written += 5
    assert lineage.as_record() == {"tables_read": {"a.bronze.t": 3}, "tables_written": {}, "rows_written": 5}


def test_write_all_runs_side_by_side_returns_in_order_and_raises_a_failure():
    import threading

    writer = tables.Writer(spark=None, run_id="r")
    both_started = threading.Barrier(2, timeout=5)  # breaks (fails the test) unless two run at once

    def write(rows):
        def run():
            both_started.wait()
            return rows
        return run

    assert writer.write_all([write(3), write(5)]) == [3, 5]

    def broken():
        raise ValueError("disk full")

    done = []
    with pytest.raises(ValueError, match="disk full"):
        writer.write_all([broken, lambda: done.append("other write") or 1])
    assert done == ["other write"]  # the other write still ran to its end


def test_stats_columns_become_the_delta_property(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = Table(product="shop", name="events", layer="silver", description="",
                  columns=(Column("id", "string"), Column("ts", "timestamp"), Column("url", "string")),
                  owner="o", retention_days=30, stats_columns=("id", "ts"))
    assert tables.create_ddl(table).endswith("\nTBLPROPERTIES ('delta.dataSkippingStatsColumns' = 'id,ts')")


@pytest.mark.parametrize("stats, message", [
    ("[id, tss]", r"tables\[0\]: stats_columns names no column 'tss'"),
    ("[day]", r"tables\[0\]: stats_columns: 'day' is a partition column"),
    ("[flag]", r"tables\[0\]: stats_columns: Delta keeps no statistics for 'flag' of type boolean"),
])
def test_stats_columns_are_refused_where_delta_keeps_no_statistics(tmp_path, stats, message):
    from shared_lib import products
    path = tmp_path / "product.yaml"
    path.write_text("name: shop\nowner: o\ntables:\n  - name: events\n    layer: silver\n"
                    f"    retention_days: 30\n    partitioned_by: [day]\n    stats_columns: {stats}\n"
                    "    columns:\n      - {name: id, type: string}\n      - {name: day, type: date}\n"
                    "      - {name: flag, type: boolean}\n")
    with pytest.raises(products.DeclarationError, match=message):
        products.parse(path)


class _RecordingSpark:
    def __init__(self):
        self.statements: list[str] = []

    def sql(self, statement):
        self.statements.append(statement)


def test_columns_declared_after_creation_are_added_to_the_existing_table(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = Table(product="shop", name="batches", layer="silver", description="", owner="o", retention_days=1,
                  columns=(Column("run_id", "string", nullable=False),
                           Column("withdrawn_rows", "bigint", "removed later"),
                           Column("events_version", "bigint")))
    spark = _RecordingSpark()
    tables._add_columns(spark, table, {"run_id"})
    path = Path(tmp_path) / "lake" / "shop" / "silver" / "batches"
    assert spark.statements == [f"ALTER TABLE delta.`{path}` ADD COLUMNS "
                                "(`withdrawn_rows` bigint COMMENT 'removed later', `events_version` bigint)"]
    spark.statements.clear()
    tables._add_columns(spark, table, {"run_id", "withdrawn_rows", "events_version"})  # up to date: nothing
    assert spark.statements == []


def test_a_not_null_column_cannot_be_added_to_rows_that_have_none(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = Table(product="shop", name="batches", layer="silver", description="", owner="o", retention_days=1,
                  columns=(Column("run_id", "string"), Column("count", "bigint", nullable=False)))
    with pytest.raises(tables.UserError, match=r"count.*NOT NULL.*products/shop/product.yaml.*nullable"):
        tables._add_columns(_RecordingSpark(), table, {"run_id"})
