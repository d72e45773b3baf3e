"""Up to date or not: a notebook's last success against now (runners.freshness), with table
versions and topic offsets given by hand."""
import json

import pytest

from runners import freshness
from shared_lib import products

FINGERPRINT = {"source": "s1", "parameters": "p1", "code": "c1"}


def success(read=None, written=None, offsets=None, absent=()):
    return {"run_id": "r1", "fingerprint": json.dumps({**FINGERPRINT, "absent": list(absent)}),
            "tables_read": json.dumps(read or {}), "tables_written": json.dumps(written or {}),
            "topic_offsets": json.dumps(offsets or {})}


def versions(**current):
    return lambda names: {n: current.get(n.replace(".", "_").replace("-", "_")) for n in names}


def test_same_fingerprint_same_versions_same_offsets_is_up_to_date():
    last = success(read={"p.silver.events": 3}, offsets={"t": {"0": 5, "1": 7}})
    decision = freshness.decide(last, FINGERPRINT, {"t": {"0": 5, "1": 7}}, versions(p_silver_events=3), own={})
    assert decision == freshness.Decision(True, "up to date")


def test_never_succeeded_runs():
    assert freshness.decide(None, FINGERPRINT, {}) == freshness.Decision(False, "no earlier success")


@pytest.mark.parametrize("key,reason", [("source", "its notebook changed"), ("parameters", "its parameters changed"),
                                        ("code", "its code changed")])
def test_a_changed_source_parameter_or_code_runs(key, reason):
    assert freshness.decide(success(), {**FINGERPRINT, key: "other"}, {}, versions(), own={}).reason == reason


def test_a_newer_input_version_runs():
    decision = freshness.decide(success(read={"p.silver.events": 3}), FINGERPRINT, {}, versions(p_silver_events=4), own={})
    assert decision == freshness.Decision(False, "p.silver.events changed (version 3 -> 4)")


def test_a_table_read_and_then_written_counts_at_the_version_written():
    # silver reads its own table at v3 and merges into it (v4): v4 now is not a change
    last = success(read={"p.silver.events": 3}, written={"p.silver.events": 4})
    assert freshness.decide(last, FINGERPRINT, {}, versions(p_silver_events=4), own={}).up_to_date


def test_the_platforms_run_records_are_no_input():
    # the runner appends to platform.pipeline_runs on every run, even one that skips all
    last = success(read={"platform.pipeline_runs": 10})
    assert freshness.decide(last, FINGERPRINT, {}, versions(platform_pipeline_runs=11), own={}).up_to_date


def test_a_table_found_absent_that_exists_now_runs():
    last = success(absent=["p.gold.x"])
    assert freshness.decide(last, FINGERPRINT, {}, versions(p_gold_x=0), own={}).reason == "p.gold.x exists now"


def test_new_messages_in_a_topic_run_the_bronze_notebook():
    last = success(offsets={"t": {"0": 5, "1": 7}})
    decision = freshness.decide(last, FINGERPRINT, {"t": {"0": 5, "1": 8}}, versions(), own={})
    assert decision == freshness.Decision(False, "topic t has 1 new message(s)")


def test_messages_dp_wrote_itself_are_not_new():
    # partition 1 grew by 3 (offsets 7, 8, 9), all three written by dp (the run's audit events)
    last = success(offsets={"compliance.audit": {"0": 5, "1": 7}})
    now = {"compliance.audit": {"0": 5, "1": 10}}
    own = {"compliance.audit": {"1": [2, 7, 8, 9]}}
    assert freshness.decide(last, FINGERPRINT, now, versions(), own=own).up_to_date
    # one more message from a producer: 4 new, 3 of them dp's own -> 1 new
    now = {"compliance.audit": {"0": 5, "1": 11}}
    assert freshness.decide(last, FINGERPRINT, now, versions(), own=own).reason == \
        "topic compliance.audit has 1 new message(s)"


def test_remembered_own_messages_are_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    freshness.remember_own([("a", 0, 4), ("a", 0, 5)])
    freshness.remember_own([("a", 0, 5), ("a", 2, 1)])
    assert freshness.own_messages() == {"a": {"0": [4, 5], "2": [1]}}


def test_parameters_are_the_products_shared_ones_and_the_notebooks_own_section():
    nb = products.get("user-segmentation").notebook("clusters")
    params = {"user-segmentation": {"snapshot_date": "", "clusters": {"k": 4}, "movement": {"from_snapshot": ""},
                                    "generate": {"events": 10}}}
    siblings = ["features", "rfm", "clusters", "movement"]
    assert freshness.notebook_parameters(nb, params, siblings, {"env": "dev", "run_id": "r", "overrides": {}}) == {
        "injected": {"env": "dev"}, "product": {"snapshot_date": "", "clusters": {"k": 4}}}


def test_source_hash_ignores_outputs(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, tmp_path / "a.ipynb")
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1")]
    nb.cells[0].execution_count = 3
    nbformat.write(nb, tmp_path / "b.ipynb")
    assert freshness.source_hash(tmp_path / "a.ipynb") == freshness.source_hash(tmp_path / "b.ipynb")
    nb.cells[0].source = "x = 2"
    nbformat.write(nb, tmp_path / "c.ipynb")
    assert freshness.source_hash(tmp_path / "c.ipynb") != freshness.source_hash(tmp_path / "a.ipynb")


def test_the_last_success_per_notebook_and_records_older_than_the_fingerprint():
    import pandas as pd

    runs = pd.DataFrame([
        {"run_id": "old", "env": "dev", "product": "p", "notebook": "a", "status": "succeeded",
         "ended_at": pd.Timestamp("2026-01-01", tz="UTC"), "fingerprint": None, "topic_offsets": None},
        {"run_id": "new", "env": "dev", "product": "p", "notebook": "a", "status": "failed",
         "ended_at": pd.Timestamp("2026-01-03", tz="UTC"), "fingerprint": "{}", "topic_offsets": "{}"},
        {"run_id": "b1", "env": "dev", "product": "p", "notebook": "b", "status": "up_to_date",
         "ended_at": pd.Timestamp("2026-01-02", tz="UTC"), "fingerprint": "{}", "topic_offsets": "{}"},
        {"run_id": "b0", "env": "prod", "product": "p", "notebook": "b", "status": "succeeded",
         "ended_at": pd.Timestamp("2026-01-05", tz="UTC"), "fingerprint": "{}", "topic_offsets": "{}"},
    ])
    last = freshness.last_successes(runs, "dev")
    # a failure is no success; another environment's success does not count
    assert {k: v["run_id"] for k, v in last.items()} == {"p:a": "old", "p:b": "b1"}
    # a record written before the fingerprint existed reads as None, and such a notebook runs
    assert last["p:a"]["fingerprint"] is None
    assert freshness.decide(last["p:a"], FINGERPRINT, {}, versions(), own={}).reason == "its notebook changed"


def test_a_written_table_that_is_gone_runs_again():
    # bronze reads no table: its lost output is what says it must run (disaster recovery)
    last = success(written={"p.bronze.events_raw": 7})
    assert freshness.decide(last, FINGERPRINT, {}, versions(), own={}).reason == \
        "p.bronze.events_raw is gone or older than written (version 7 -> None)"


def test_a_written_table_re_created_below_the_version_written_runs_again():
    last = success(written={"p.bronze.events_raw": 7})
    assert not freshness.decide(last, FINGERPRINT, {}, versions(p_bronze_events_raw=2), own={}).up_to_date


def test_a_written_table_written_again_since_is_still_up_to_date():
    # retention or an erasure commits to it later: no reason to run the notebook
    last = success(written={"p.bronze.events_raw": 7})
    assert freshness.decide(last, FINGERPRINT, {}, versions(p_bronze_events_raw=9), own={}).up_to_date
