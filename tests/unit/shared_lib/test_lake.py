"""The lake reader: one meaning of "the table exists" (its first commit), declared tables read
with delta-rs into pandas, the latest snapshot of a snapshot table, versions and row counts; and
it loads no widget or chart library."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from shared_lib import lake, products
from tests.browser import write_table

PRODUCT = "operational-metrics"
DAY1, DAY2 = dt.date(2024, 5, 1), dt.date(2024, 5, 2)


def lag_row(at: dt.datetime, topic: str, lag_messages: int) -> dict:
    return {"evaluated_at": at, "date": at.date(), "topic": topic, "product": "web", "end_offset": 10,
            "ingested_offset": 10 - lag_messages, "lag_messages": lag_messages, "lag_seconds": 1.0}


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("module", ["shared_lib.lake", "products.operational_metrics.exporter"])
def test_importing_the_reader_or_the_exporter_loads_no_widget_chart_or_ipython_library(module):
    code = (f"import sys; import {module}; "
            "print(sorted(m for m in ('ipywidgets', 'plotly', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_table_exists_from_its_first_commit_not_from_an_empty_log(home):
    table = products.get(PRODUCT).table("consumer_lag")
    assert not lake.exists(table) and lake.version(table) is None and lake.count_rows(table) == 0
    (table.path / "_delta_log").mkdir(parents=True)  # a creation cut short
    assert not lake.exists(table)
    assert lake.read_table(PRODUCT, "consumer_lag").empty
    write_table(PRODUCT, "consumer_lag", [lag_row(at(DAY1, 9), "a", 1), lag_row(at(DAY1, 9), "b", 2)])
    assert lake.exists(table) and lake.version(table) == 0 and lake.count_rows(table) == 2


def test_a_table_never_written_reads_as_an_empty_frame_with_the_declared_columns(home):
    rows = lake.read_table(PRODUCT, "consumer_lag")
    assert rows.empty
    assert list(rows.columns) == ["evaluated_at", "date", "topic", "product", "end_offset", "ingested_offset",
                                  "lag_messages", "lag_seconds"]


def test_read_table_applies_the_filters(home):
    write_table(PRODUCT, "consumer_lag", [lag_row(at(DAY1, 9), "a", 1), lag_row(at(DAY1, 9), "b", 2)])
    rows = lake.read_table(PRODUCT, "consumer_lag", filters=[("topic", "=", "b")])
    assert rows[["topic", "lag_messages"]].values.tolist() == [["b", 2]]


def test_read_latest_gives_the_rows_of_the_latest_time_of_the_newest_partition(home):
    write_table(PRODUCT, "consumer_lag", [
        lag_row(at(DAY1, 23), "a", 9),
        lag_row(at(DAY2, 8), "a", 5), lag_row(at(DAY2, 8), "b", 6),
        lag_row(at(DAY2, 9), "a", 1), lag_row(at(DAY2, 9), "b", 2)])
    rows = lake.read_latest(PRODUCT, "consumer_lag", "evaluated_at").sort_values("topic")
    assert rows[["topic", "lag_messages"]].values.tolist() == [["a", 1], ["b", 2]]
    assert set(rows["evaluated_at"]) == {at(DAY2, 9)}


def test_read_latest_of_a_table_never_written_is_empty(home):
    assert lake.read_latest(PRODUCT, "consumer_lag", "evaluated_at").empty


def _record(run_id: str) -> None:
    """A run record of ``run_id`` ending now (the runner's writer appends it)."""
    import time

    from runners import runlog
    now = time.time()
    runlog.append([{"run_id": run_id, "env": "dev", "product": "p", "notebook": "n", "status": "succeeded",
                    "started_at": now, "ended_at": now}])


def test_as_of_a_run_every_table_reads_as_it_was_when_the_run_ended(home):
    import time

    from shared_lib.dashboard import _widgets
    table = products.get(PRODUCT).table("consumer_lag")
    write_table(PRODUCT, "consumer_lag", [lag_row(at(DAY1, 1), "web.events", 5)])
    time.sleep(0.02)
    _record("r1")
    time.sleep(0.02)
    write_table(PRODUCT, "consumer_lag", [lag_row(at(DAY2, 1), "web.events", 7)])  # after r1 ended
    try:
        run_id, moment = _widgets.as_of_request("as_of=r1&x=1")
        assert run_id == "r1" and moment.tzinfo is not None
        assert lake.read(table)["lag_messages"].tolist() == [5]
        assert lake.version(table) == 0
    finally:
        lake.as_of_run(None)
    assert lake.read(table)["lag_messages"].tolist() == [7]  # and now, as it is


def test_as_of_a_run_a_table_created_later_does_not_exist(home):
    _record("early")
    write_table(PRODUCT, "consumer_lag", [lag_row(at(DAY1, 1), "web.events", 5)])
    try:
        lake.as_of_run("early")
        assert not lake.exists(products.get(PRODUCT).table("consumer_lag"))
        assert lake.read_table(PRODUCT, "consumer_lag").empty
    finally:
        lake.as_of_run(None)


def test_as_of_an_unknown_run_is_a_clear_error(home):
    from shared_lib.errors import UnknownName
    _record("r1")
    with pytest.raises(UnknownName, match="no run 'nope' in platform.pipeline_runs"):
        lake.as_of_run("nope")


def test_the_platforms_own_appends_keep_a_checkpoint_every_ten_versions_and_few_small_files(home):
    table = products.get(PRODUCT).table("consumer_lag")
    for i in range(12):  # twelve runs, each appending its one row
        lake.append_rows(table, [lag_row(at(DAY1, 9), f"t{i}", i)])
    log = table.path / "_delta_log"
    # Version 10 has its checkpoint; 12 appends of one file each are below compaction's 16.
    assert sorted(p.name for p in log.glob("*.checkpoint.parquet")) == ["00000000000000000010.checkpoint.parquet"]
    assert lake.version(table) == 11 and lake.count_rows(table) == 12
    for i in range(12, 16):  # the 16th small file of the day's partition: compacted into one
        lake.append_rows(table, [lag_row(at(DAY1, 9), f"t{i}", i)])
    assert lake.version(table) == 16  # 16 appends (0-15), then the compaction's commit
    assert len(lake.delta_table(table).file_uris()) == 1
    assert sorted(lake.read_table(PRODUCT, "consumer_lag")["lag_messages"]) == list(range(16))
