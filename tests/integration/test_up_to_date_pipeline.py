"""Skipping and re-running as of a run's versions on the real web and mobile pipelines:
- a second run with nothing new runs nothing;
- new events in one topic rerun only that product's chain;
- a changed parameter reruns the notebook that uses it, not its upstream;
- `dp rerun` of the first run's web gold, after more data arrived, gives the first run's numbers
  in a scratch workspace and leaves the live tables as they are."""
import pytest

from products.web_user_analytics import generator as web_generator
from runners import generate, rerun
from runners import run as run_lib
from shared_lib import lake, products
from tests.integration import pipeline

# Four runs of two products, then a rerun: slow on a loaded machine; the default timeout is per test.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

WEB, MOBILE = "web-user-analytics", "mobile-user-analytics"
SKIP = {"platform.runner.skip_up_to_date": True}  # the test session turns skipping off


def statuses(summary) -> dict[str, str]:
    return {f"{r['product'].split('-')[0]}:{r['notebook']}": r["status"] for r in summary.records}


def new_web_events(params, count: int) -> int:
    """``count`` generated web events with ids of their own (``generate.with_fresh_ids``)."""
    events = generate.with_fresh_ids(web_generator.generate(count, seed=12), "later-")
    return pipeline.produce(params, WEB, events, web_generator.KEY_FIELD)


def run(**overrides):
    summary = run_lib.run(products=[WEB, MOBILE], overrides={**SKIP, **overrides})
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]
    return summary


@pytest.fixture(scope="module")
def runs(params):
    """Run A on fresh events of both products, B with nothing new, C after 30 new web events,
    D with a changed web silver parameter; the versions of web daily_kpis after A and after C."""
    kpis = products.get(WEB).table("daily_kpis")
    generate.generate(params, WEB, events=150, seed=11)
    generate.generate(params, MOBILE, events=150, seed=11)
    a = run()
    kpis_after_a = lake.version(kpis)
    b = run()
    new_web_events(params, 30)
    c = run()
    d = run(**{f"{WEB}.silver.session_timeout_minutes": 45})
    return {"a": a, "b": b, "c": c, "d": d, "kpis_a": kpis_after_a, "kpis_c": lake.version(kpis)}


def test_a_second_run_with_nothing_new_runs_nothing(runs):
    assert set(statuses(runs["b"]).values()) == {"up_to_date"}
    assert len(runs["b"].records) == 6  # bronze, silver, gold of each product


def test_new_events_in_one_topic_rerun_only_that_products_chain(runs):
    assert statuses(runs["c"]) == {
        "web:bronze": "succeeded", "web:silver": "succeeded", "web:gold": "succeeded",
        "mobile:bronze": "up_to_date", "mobile:silver": "up_to_date", "mobile:gold": "up_to_date"}


def test_a_changed_parameter_reruns_the_notebook_that_uses_it(runs):
    found = statuses(runs["d"])
    assert found["web:silver"] == "succeeded"  # its own section changed
    # web bronze does not read silver's section; nothing of mobile changed
    assert {k: v for k, v in found.items() if k != "web:silver" and k != "web:gold"} == {
        "web:bronze": "up_to_date", "mobile:bronze": "up_to_date", "mobile:silver": "up_to_date",
        "mobile:gold": "up_to_date"}
    # silver found no new bronze rows, so wrote nothing: gold's inputs did not change
    assert found["web:gold"] == "up_to_date"


def test_rerun_of_the_first_run_gives_its_numbers(runs):
    kpis = products.get(WEB).table("daily_kpis")
    assert runs["kpis_c"] > runs["kpis_a"], runs["c"].records  # run C changed the KPIs
    live_before = lake.version(kpis)
    [result] = rerun.rerun(runs["a"].run_id, notebook=f"{WEB}:gold", log=lambda _: None)
    assert result.status == "succeeded", result.error
    assert result.differences == []  # recorded values and written tables equal run A's
    assert result.pinned[f"{WEB}.silver.events"] < lake.version(products.get(WEB).table("events"))
    assert lake.version(kpis) == live_before  # the live table was not written
