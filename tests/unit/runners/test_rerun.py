"""dp rerun's scratch tables: a live Delta table as of an older version, its data files linked,
its writes kept out of the live table (runners.rerun), with delta-rs only."""
import time

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from runners import rerun


def live_table(path, batches):
    for rows in batches:
        write_deltalake(str(path), pa.table({"x": rows}), mode="append")
    return DeltaTable(str(path))


def test_a_materialized_table_is_the_live_one_as_of_the_version(tmp_path):
    live = tmp_path / "live"
    live_table(live, [[1, 2], [3], [4, 5]])  # versions 0, 1, 2
    rerun.materialize(live, 1, tmp_path / "scratch")
    past = DeltaTable(str(tmp_path / "scratch"))
    assert past.version() == 1
    assert sorted(past.to_pyarrow_table()["x"].to_pylist()) == [1, 2, 3]


def test_writes_to_the_scratch_table_leave_the_live_one_alone(tmp_path):
    live = tmp_path / "live"
    live_table(live, [[1], [2]])
    files_before = sorted(p.name for p in live.rglob("*"))
    rerun.materialize(live, 0, tmp_path / "scratch")
    write_deltalake(str(tmp_path / "scratch"), pa.table({"x": [9]}), mode="overwrite")
    assert DeltaTable(str(tmp_path / "scratch")).to_pyarrow_table()["x"].to_pylist() == [9]
    assert DeltaTable(str(live)).version() == 1
    assert sorted(p.name for p in live.rglob("*")) == files_before  # no file added to the live folder


def test_pinned_versions_are_the_versions_read_else_the_last_commit_before_the_run(tmp_path, monkeypatch):
    from shared_lib import products

    events = products.get("web-user-analytics").table("events")
    kpis = products.get("web-user-analytics").table("daily_kpis")
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    live_table(kpis.path, [[1], [2]])  # versions 0 and 1 before the run
    started = time.time()
    time.sleep(0.05)
    write_deltalake(str(kpis.path), pa.table({"x": [3]}), mode="append")  # version 2, written by the run
    record = {"started_at": started, "tables_read": '{"web-user-analytics.silver.events": 7}',
              "tables_written": '{"web-user-analytics.gold.daily_kpis": 2}'}
    declared = {events.qualified_name: events, kpis.qualified_name: kpis}
    assert rerun.pinned_versions(record, declared) == {"web-user-analytics.silver.events": 7,
                                                       "web-user-analytics.gold.daily_kpis": 1}


def test_rows_compare_as_values_in_any_order_without_run_id_and_times():
    import numpy as np
    import pandas as pd

    then = pd.DataFrame({"d": ["a", "b"], "v": [0.1 + 0.2, float("nan")], "dates": [np.array(["x"]), np.array([])],
                         "run_id": ["r1", "r1"]})
    now = pd.DataFrame({"d": ["b", "a"], "v": [float("nan"), 0.3], "dates": [np.array([]), np.array(["x"])],
                        "run_id": ["r2", "r2"]})
    assert rerun._rows(then, ["d", "v", "dates"]) == rerun._rows(now, ["d", "v", "dates"])
    assert rerun._rows(then, ["d", "v"]) != rerun._rows(now.assign(v=[None, 0.31]), ["d", "v"])
