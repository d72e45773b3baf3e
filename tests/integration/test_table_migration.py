"""The table writer against a real Delta table whose declaration changed: a declared nullable
column the table lacks is added (older rows read null) and writes of both writers carry it; a
column the table holds but the declaration dropped stops the write with the fix."""
import dataclasses
import uuid

import pytest

from shared_lib import lake, tables
from shared_lib.errors import UserError
from shared_lib.products import Column, Table

pytestmark = pytest.mark.integration

V1 = (Column("id", "string", "Event id", nullable=False), Column("ip", "string", "Raw address"))


def declared(columns) -> Table:
    return Table(product="migration-test", name=f"events_{uuid.uuid4().hex[:8]}", layer="silver",
                 description="Events", owner="test", retention_days=30, columns=columns)


def test_a_new_nullable_column_is_added_and_a_dropped_one_refused(spark):
    v1 = declared(V1)
    writer = tables.Writer(spark, run_id="migration-1")
    writer.append(spark.createDataFrame([("e1", "8.8.8.8")], "id string, ip string"), v1)

    v2 = dataclasses.replace(v1, columns=(*V1, Column("ip_network", "string", "The /24")))
    writer.append_collected(spark.createDataFrame([("e2", None, "8.8.8.0/24")], "id string, ip string, ip_network string"),
                            v2)
    rows = sorted(tuple(r) for r in spark.read.format("delta").load(str(v2.path)).collect())
    assert rows == [("e1", "8.8.8.8", None), ("e2", None, "8.8.8.0/24")]
    assert [f.name for f in lake.delta_table(v2).schema().fields] == ["id", "ip", "ip_network"]

    v3 = dataclasses.replace(v1, columns=(V1[0], Column("ip_network", "string", "The /24")))
    before = lake.version(v3)
    with pytest.raises(UserError, match=r"holds column\(s\) ip no longer declared.*rebuild it"):
        writer.append(spark.createDataFrame([("e3", "1.1.1.0/24")], "id string, ip_network string"), v3)
    assert lake.version(v3) == before  # nothing written
