"""What a notebook records is a scrapbook scrap: after a run of the whole DAG on a little
generated data (a workspace of its own), ``scrapbook.read_notebook`` reads, from every executed
notebook of the run, the values the runner recorded for it."""
from __future__ import annotations

import json

import pytest
import scrapbook

from runners import generate
from runners import run as run_lib
from shared_lib import products, recorder

# A run of every notebook: longer than one product's test on a busy machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

GENERATED = {"web-user-analytics": 400, "mobile-user-analytics": 400, "operational-metrics": 400}


@pytest.fixture(scope="module")
def whole_run(params, tmp_path_factory):
    home = tmp_path_factory.mktemp("recorded")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DP_HOME", str(home / "workspace"))
        mp.setenv("DP_REPORTS", str(home / "reports"))
        for product, events in GENERATED.items():
            generate.generate(params, product, events=events, seed=5, log=lambda _: None)
        summary = run_lib.run(overrides=["user-segmentation.clusters.k=2"], run_id="test-recorded",
                              log=lambda _: None)
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]
    return summary


def test_every_notebook_of_every_product_ran(whole_run):
    ran = {(r["product"], r["notebook"]) for r in whole_run.records}
    declared = {(p.name, nb.name) for p in products.all_products().values() for nb in p.notebooks
                if p.name != "platform"}
    assert declared <= ran


def test_scrapbook_reads_every_recorded_value(whole_run):
    for r in whole_run.records:
        executed = r["output_notebook"]
        records = recorder.read_records(executed)
        assert records.get("dp.lineage"), f"{executed} recorded no lineage"
        scraps = scrapbook.read_notebook(str(executed)).scraps
        assert {name: scraps[name].data for name in records} == records, executed
        assert scraps["dp.lineage"].data["tables_written"] == json.loads(r["tables_written"]), executed
