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


class RecordingSpark:
    def __init__(self):
        self.statements = []

    def sql(self, text):
        self.statements.append(text)


def _declared(tmp_path, *columns):
    return Table(product="web-shop", name="events", layer="silver", description="", owner="o", retention_days=1,
                 columns=columns)


def test_migration_adds_declared_nullable_columns_an_older_table_lacks(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    spark = RecordingSpark()
    table = _declared(tmp_path, Column("id", "string", nullable=False), Column("net", "string", "its /24"),
                      Column("tags", "array<string>"))
    tables._migrate_columns(spark, table, ["id"])
    assert spark.statements == [f"ALTER TABLE {tables.ident(table.path)} ADD COLUMNS "
                                "(`net` string COMMENT 'its /24', `tags` array<string>)"]
    tables._migrate_columns(spark, table, ["id", "net", "tags"])  # up to date: nothing to do
    assert len(spark.statements) == 1


def test_migration_refuses_a_table_holding_a_column_no_longer_declared(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = _declared(tmp_path, Column("id", "string"), Column("ip_network", "string"))
    # Its old rows would keep the dropped column's data (here a raw IP): it must be rebuilt.
    with pytest.raises(tables.UserError, match=r"holds column\(s\) ip no longer declared.*products/web_shop/product.yaml"
                                               r".*rebuild it.*dp run --product web-shop"):
        tables._migrate_columns(RecordingSpark(), table, ["id", "ip"])
    with pytest.raises(tables.UserError, match=r"lacks NOT NULL column\(s\) id"):
        tables._migrate_columns(RecordingSpark(), _declared(tmp_path, Column("id", "string", nullable=False)), [])


def _half_created(table) -> Path:
    """A table folder as a creation cut short by a full disk left it (seen in test_faults): a
    ``_delta_log`` holding the commit's temporary file, Hadoop's checksum of it and an empty
    ``_staged_commits``, no commit."""
    log = table.path / "_delta_log"
    (log / "_staged_commits").mkdir(parents=True)
    (log / ".00000000000000000000.json.0b9f4c2e.tmp").write_text('{"commitInfo":')
    (log / "..00000000000000000000.json.0b9f4c2e.tmp.crc").write_bytes(b"crc")
    return log


def test_a_half_created_table_is_cleared_and_created_again(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = _declared(tmp_path, Column("id", "string"))
    log = _half_created(table)
    spark = RecordingSpark()
    tables.ensure(spark, table)
    assert not log.exists() and table.path.is_dir()
    # Delta's CREATE TABLE IF NOT EXISTS would have taken the non-empty folder for a table
    assert spark.statements == [tables.create_ddl(table)]
    assert caplog.messages == [f"table web-shop.silver.events at {table.path} was half-created (its _delta_log held "
                               "..00000000000000000000.json.0b9f4c2e.tmp.crc, .00000000000000000000.json.0b9f4c2e.tmp, "
                               "_staged_commits, no commit): cleared, creating it again"]


def test_a_table_with_a_commit_is_never_cleared(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = _declared(tmp_path, Column("id", "string"))
    log = _half_created(table)
    (log / "00000000000000000000.json").write_text("{}\n")
    assert tables.clear_failed_creation(table) is False
    assert sorted(p.name for p in log.iterdir()) == ["..00000000000000000000.json.0b9f4c2e.tmp.crc",
                                                     ".00000000000000000000.json.0b9f4c2e.tmp",
                                                     "00000000000000000000.json", "_staged_commits"]


def test_a_folder_without_a_table_is_left_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = _declared(tmp_path, Column("id", "string"))
    assert tables.clear_failed_creation(table) is False and not table.path.exists()
    table.path.mkdir(parents=True)
    assert tables.clear_failed_creation(table) is False and table.path.is_dir()


def test_a_folder_holding_files_but_no_commit_is_refused_not_deleted(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = _declared(tmp_path, Column("id", "string"))
    log = _half_created(table)
    (table.path / "part-00000.parquet").write_bytes(b"PAR1")
    with pytest.raises(tables.UserError, match=rf"table web-shop.silver.events at {table.path} has no Delta commit but "
                                               r"holds part-00000.parquet: .*move that folder away"):
        tables.ensure(RecordingSpark(), table)
    assert (table.path / "part-00000.parquet").exists() and log.is_dir()
