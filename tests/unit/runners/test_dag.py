"""DAG validation before any kernel starts: unknown notebook, cycle, unknown parameter, missing file;
selection keeps DAG order."""
import pytest

from runners import dag as dag_lib
from runners.dag import DagError
from tests import factories


def declare(tmp_path, name, notebooks):
    """``notebooks`` = [(name, depends_on, extra parameters)]."""
    return factories.declare(tmp_path, name, [(n, deps, (), extra) for n, deps, extra in notebooks])


def test_order_respects_dependencies_across_products(tmp_path):
    a = declare(tmp_path, "a", [("gold", ["silver"], None), ("silver", ["bronze"], None), ("bronze", [], None)])
    b = declare(tmp_path, "b", [("report", ["a:gold"], None)])
    dag = dag_lib.build({"a": a, "b": b})
    assert dag.order == ["a:bronze", "a:silver", "a:gold", "b:report"]
    assert dag.upstream("b:report") == {"a:bronze", "a:silver", "a:gold"}
    assert dag_lib.select(dag, products=["a"], layer="bronze") == ["a:bronze", "a:silver", "a:gold"]
    assert dag_lib.select(dag, notebook="report") == ["b:report"]
    assert dag_lib.select(dag, notebook="a:silver") == ["a:silver"]


def test_unknown_dependency_names_file_and_notebook(tmp_path):
    a = declare(tmp_path, "a", [("silver", ["bronze"], None)])
    with pytest.raises(DagError, match=r"a/product.yaml: notebook 'silver' depends on unknown notebook 'a:bronze'"):
        dag_lib.build({"a": a})


def test_a_cycle_is_named_in_its_order_from_its_first_declared_notebook(tmp_path):
    a = declare(tmp_path, "a", [("x", ["z"], None), ("y", ["x"], None), ("z", ["y"], None), ("ok", [], None)])
    with pytest.raises(DagError, match=r"has a cycle: a:x -> a:y -> a:z -> a:x \(each runs before the next; "
                                       r"see depends_on and runs_after in .*a/product.yaml\)"):
        dag_lib.build({"a": a})


def test_a_cycle_names_only_its_members_not_what_waits_on_it(tmp_path):
    a = declare(tmp_path, "a", [("after", ["y"], None), ("y", ["x"], None), ("z", ["y"], None), ("x", ["z"], None)])
    with pytest.raises(DagError, match=r"has a cycle: a:y -> a:z -> a:x -> a:y \("):
        dag_lib.build({"a": a})


def test_unknown_parameter_is_rejected_before_running(tmp_path):
    a = declare(tmp_path, "a", [("bronze", [], {"batch_size": 10})])
    with pytest.raises(DagError, match=r"notebook 'bronze' \(bronze.ipynb\) has no parameter batch_size"):
        dag_lib.build({"a": a})


@pytest.mark.parametrize("parameters,tagged,message", [
    ('env = "dev"', True, r"has no parameter overrides, run_id"),
    (factories.PARAMETERS, False, r"no cell tagged 'parameters'"),
])
def test_parameters_cell_must_accept_what_the_runner_injects(tmp_path, parameters, tagged, message):
    (tmp_path / "a").mkdir()
    factories.write_notebook(tmp_path / "a" / "bronze.ipynb", parameters=parameters, tagged=tagged)
    with pytest.raises(DagError, match=message):
        dag_lib.build({"a": declare(tmp_path, "a", [("bronze", [], None)])})


def test_missing_notebook_file(tmp_path):
    a = factories.declare(tmp_path, "a", [("nope", [], (), None)], write=False)
    with pytest.raises(DagError, match=r"file .*nope.ipynb does not exist"):
        dag_lib.build({"a": a})


def test_selection_that_matches_nothing(tmp_path):
    a = declare(tmp_path, "a", [("bronze", [], None)])
    with pytest.raises(DagError, match=r"no declared notebook matches layer=gold; declared: a:bronze"):
        dag_lib.select(dag_lib.build({"a": a}), layer="gold")


def test_the_project_dag_is_valid():
    dag = dag_lib.build()
    assert dag.order.index("web-user-analytics:bronze") < dag.order.index("web-user-analytics:silver")
    # the health check comes after every other product's notebooks
    health = dag.order.index("operational-metrics:health")
    assert all(dag.order.index(n) < health for n, nb in dag.nodes.items() if nb.product != "operational-metrics")
    assert all(nb.path.exists() for nb in dag.nodes.values())


def test_runs_after_orders_without_depending(tmp_path):
    a = declare(tmp_path, "a", [("bronze", [], None), ("gold", ["bronze"], None)])
    b = declare(tmp_path, "b", [("load", [], None)])
    watch = factories.declare(tmp_path, "watch", [("health", [], (), None), ("report", ["health"], (), None)],
                              runs_after={"health": ["*"], "report": ["b:load"]})
    dag = dag_lib.build({"watch": watch, "a": a, "b": b})
    assert dag.order.index("watch:health") > max(dag.order.index(n) for n in ("a:bronze", "a:gold", "b:load"))
    # order only: a failure of a or b never makes the health check skip
    assert dag.upstream("watch:health") == set()
    assert dag.upstream("watch:report") == {"watch:health"}
    assert dag.after["watch:health"] == ("a:bronze", "a:gold", "b:load")


def test_runs_after_unknown_notebook_and_cycle(tmp_path):
    a = factories.declare(tmp_path, "a", [("x", [], (), None)], runs_after={"x": ["b:nope"]})
    with pytest.raises(DagError, match=r"notebook 'x' runs after unknown notebook 'b:nope'"):
        dag_lib.build({"a": a})
    c = factories.declare(tmp_path, "c", [("x", [], (), None), ("y", ["x"], (), None)], runs_after={"x": ["y"]})
    with pytest.raises(DagError, match=r"has a cycle: c:x -> c:y -> c:x \("):
        dag_lib.build({"c": c})


def test_a_scheduled_only_notebook_runs_only_when_named():
    dag = dag_lib.build(check_parameters=False)
    everything = dag_lib.select(dag)
    assert "compliance-auditing:retention" not in everything and "compliance-auditing:maintenance" not in everything
    assert "compliance-auditing:retention" not in dag_lib.select(dag, products=["compliance-auditing"])
    assert dag_lib.select(dag, notebook="compliance-auditing:retention") == ["compliance-auditing:retention"]
    assert dag_lib.select(dag, notebook="maintenance") == ["compliance-auditing:maintenance"]


def test_retention_and_maintenance_have_daily_schedules_of_their_own():
    from shared_lib import params as params_lib
    schedules = params_lib.load("dev")["platform"]["schedules"]
    assert {n: (s["every_minutes"], s["notebook"]) for n, s in schedules.items()} == {
        "all-hourly": (60, ""), "retention-daily": (1440, "compliance-auditing:retention"),
        "maintenance-daily": (1440, "compliance-auditing:maintenance")}


def test_waits_for_keeps_orders_through_notebooks_not_chosen(tmp_path):
    a = declare(tmp_path, "a", [("bronze", [], None), ("silver", ["bronze"], None), ("gold", ["silver"], None)])
    b = declare(tmp_path, "b", [("load", [], None)])
    watch = factories.declare(tmp_path, "watch", [("health", [], (), None)], runs_after={"health": ["*"]})
    dag = dag_lib.build({"a": a, "b": b, "watch": watch})
    # a:silver is not chosen: a:gold still waits for a:bronze through it; b:load waits for nothing
    assert dag.waits_for(["a:bronze", "a:gold", "b:load", "watch:health"]) == {
        "a:bronze": set(), "a:gold": {"a:bronze"}, "b:load": set(),
        "watch:health": {"a:bronze", "a:gold", "b:load"}}
