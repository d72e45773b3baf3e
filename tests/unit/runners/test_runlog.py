"""Run records in platform.pipeline_runs: a table created before the ``results`` column was
declared gains it on the next append, and older rows read it as null."""
import json

import pyarrow as pa
from deltalake import write_deltalake

from runners import run, runlog
from shared_lib import lake


def test_an_older_runs_table_gains_the_results_column(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    table = runlog.runs_table()
    old = pa.schema([f for f in lake.arrow_schema(table) if f.name != "results"])
    table.path.parent.mkdir(parents=True)
    write_deltalake(str(table.path), pa.Table.from_pylist([{"run_id": "r0", "env": "dev", "product": "p",
                                                            "notebook": "n", "status": "succeeded"}], schema=old))
    runlog.append([{"run_id": "r1", "env": "dev", "product": "p", "notebook": "maintenance", "status": "succeeded",
                    "results": run._results({"dp.lineage": {"rows_written": 0}, "files_after": 3})}])
    rows = runlog.read().set_index("run_id")
    assert json.loads(rows.loc["r1", "results"]) == {"files_after": 3}  # the lineage has columns of its own
    assert rows.loc["r0", "results"] is None
    assert run._results({"dp.lineage": {}}) is None
