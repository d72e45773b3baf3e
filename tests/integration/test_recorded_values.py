"""What a notebook records is a scrapbook scrap: ``scrapbook.read_notebook`` reads, from every
executed notebook, the values the runner recorded for it. The notebooks are those the session's
pipeline tests executed through the runner (this file runs after them); a declared notebook that
none of them ran - or this file run alone - gets a run of the whole DAG on a little generated data
in a workspace of its own."""
from __future__ import annotations

import json

import pytest
import scrapbook

from runners import generate
from runners import run as run_lib
from shared_lib import paths, products, recorder

# A run of every notebook, when needed: longer than one product's test on a busy machine.
pytestmark = [pytest.mark.integration, pytest.mark.after_pipelines, pytest.mark.timeout(1800)]

GENERATED = {"web-user-analytics": 400, "mobile-user-analytics": 400, "operational-metrics": 400,
             "compliance-auditing": 400}


def _declared() -> set[tuple[str, str]]:
    return {(p.name, nb.name) for p in products.all_products().values() for nb in p.notebooks
            if p.name != "platform"}


def _executed_so_far() -> list[dict]:
    """A record of each notebook that the session's runs executed: their ``run.json`` files."""
    found = []
    for run_json in sorted(paths.reports_dir().glob("runs/*/run.json")):
        found += json.loads(run_json.read_text())
    declared = _declared()  # not the runner tests' own throw-away notebooks
    return [r for r in found if r.get("status") == "succeeded" and (r["product"], r["notebook"]) in declared]


@pytest.fixture(scope="module")
def executed(params, tmp_path_factory) -> list[dict]:
    records = _executed_so_far()
    if _declared() <= {(r["product"], r["notebook"]) for r in records}:
        return records
    home = tmp_path_factory.mktemp("recorded")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DP_HOME", str(home / "workspace"))
        mp.setenv("DP_REPORTS", str(home / "reports"))
        for product, events in GENERATED.items():
            generate.generate(params, product, events=events, seed=5, log=lambda _: None)
        summary = run_lib.run(overrides=["user-segmentation.clusters.k=2"], run_id="test-recorded",
                              log=lambda _: None)
        # Notebooks that run only when named (retention, maintenance) are not part of a whole run.
        named = [run_lib.run(notebook=f"{p.name}:{nb.name}", run_id=f"test-recorded-{nb.name}", log=lambda _: None)
                 for p in products.all_products().values() for nb in p.notebooks if nb.scheduled_only]
    records = summary.records + [r for s in named for r in s.records]
    assert all(s.ok for s in [summary, *named]), [(r["notebook"], r["status"], r.get("error")) for r in records]
    return records


def test_every_declared_notebook_was_executed(executed):
    assert _declared() <= {(r["product"], r["notebook"]) for r in executed}


def test_scrapbook_reads_every_recorded_value(executed):
    for r in executed:
        path = r["output_notebook"]
        records = recorder.read_records(path)
        assert records.get("dp.lineage"), f"{path} recorded no lineage"
        scraps = scrapbook.read_notebook(str(path)).scraps
        assert {name: scraps[name].data for name in records} == records, path
        assert scraps["dp.lineage"].data["tables_written"] == json.loads(r["tables_written"]), path
