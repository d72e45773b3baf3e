"""The runner on made-up DAGs: each executed notebook emits OpenLineage START and COMPLETE/FAIL
events that validate against the specification's schema; a second run skips what is up to date,
a changed notebook parameter reruns that notebook only; a repair reruns exactly the failed and
skipped notebooks of a run, under a new run id linked to it."""
import pytest

from runners import lineage
from runners import run as run_lib
from tests import factories
from tests.openlineage_schema import validate

pytestmark = pytest.mark.integration

SKIP = {"platform.runner.skip_up_to_date": True}  # the test session turns skipping off


def statuses(summary) -> dict[str, str]:
    return {r["notebook"]: r["status"] for r in summary.records}


def declare_pair(tmp_path, name, mode):
    """``first`` takes a notebook parameter ``mode``; ``second`` depends on it."""
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    factories.write_notebook(folder / "first.ipynb", "print(mode)", parameters=factories.PARAMETERS + "\nmode = 'a'")
    return {name: factories.declare(tmp_path, name, [("first", [], [], {"mode": mode}),
                                                     ("second", ["first"], ["x = 1"], None)])}


def test_events_of_every_executed_notebook_validate_and_up_to_date_ones_are_skipped(tmp_path):
    declared = declare_pair(tmp_path, "lineage-a", "a")
    before = len(lineage.read_events())
    first = run_lib.run(declared=declared, overrides=SKIP, run_id="test-lineage-1")
    assert statuses(first) == {"first": "succeeded", "second": "succeeded"}
    events = lineage.read_events()[before:]
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("lineage-a.first", "START"), ("lineage-a.first", "COMPLETE"),
        ("lineage-a.second", "START"), ("lineage-a.second", "COMPLETE")]
    for event in events:
        validate(event)

    again = run_lib.run(declared=declared, overrides=SKIP, run_id="test-lineage-2")
    assert statuses(again) == {"first": "up_to_date", "second": "up_to_date"}
    assert again.ok
    assert len(lineage.read_events()) == before + 4  # nothing ran, nothing emitted

    # the notebook parameter of `first` changes: first reruns; second read no table, so it stays
    changed = run_lib.run(declared=declare_pair(tmp_path, "lineage-a", "b"), overrides=SKIP, run_id="test-lineage-3")
    assert statuses(changed) == {"first": "succeeded", "second": "up_to_date"}

    forced = run_lib.run(declared=declared, overrides=SKIP, force=True, run_id="test-lineage-4")
    assert statuses(forced) == {"first": "succeeded", "second": "succeeded"}


def test_a_failure_emits_fail_with_its_error(tmp_path):
    declared = {"lineage-f": factories.declare(tmp_path, "lineage-f", [("boom", [], ["raise ValueError('no')"], None)])}
    before = len(lineage.read_events())
    run_lib.run(declared=declared, run_id="test-lineage-fail")
    start, fail = lineage.read_events()[before:]
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert fail["run"]["facets"]["errorMessage"]["message"] == "ValueError: no"
    assert start["run"]["runId"] == fail["run"]["runId"]
    validate(fail)


# Fails while the parameter platform.runner.retry_delay_s is 100 or more (a bad override).
CHECK_DELAY = ("from shared_lib import params as P\n"
               "assert P.load(env, overrides)['platform']['runner']['retry_delay_s'] < 100, 'retry delay too long'")


def test_repair_reruns_exactly_the_failed_and_skipped_notebooks(tmp_path):
    declared = {"repairs": factories.declare(tmp_path, "repairs", [
        ("ok", [], ["pass"], None),
        ("picky", ["ok"], [CHECK_DELAY], None),
        ("after", ["picky"], ["pass"], None),
        ("independent", [], ["pass"], None),
    ])}
    broken = run_lib.run(declared=declared, overrides={"platform.runner.retry_delay_s": 1000}, run_id="test-broken")
    assert statuses(broken) == {"ok": "succeeded", "picky": "failed", "after": "skipped", "independent": "succeeded"}

    # the cause removed: the repair keeps the first run's overrides unless told otherwise
    repaired = run_lib.run(declared=declared, repair="test-broken", overrides={"platform.runner.retry_delay_s": 3},
                           run_id="test-repaired")
    assert statuses(repaired) == {"picky": "succeeded", "after": "succeeded"}
    assert {r["repair_of"] for r in repaired.records} == {"test-broken"}


def test_repair_of_a_run_without_failures_is_refused(tmp_path):
    declared = {"clean": factories.declare(tmp_path, "clean", [("ok", [], ["pass"], None)])}
    run_lib.run(declared=declared, run_id="test-clean")
    with pytest.raises(run_lib.RunError, match="run test-clean has no failed or skipped notebook"):
        run_lib.run(declared=declared, repair="test-clean")
