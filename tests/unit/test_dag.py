"""DAG validation before any kernel starts: unknown notebook, cycle, unknown parameter, missing file;
selection keeps DAG order."""
import nbformat
import pytest

from runners import dag as dag_lib
from runners.dag import DagError
from shared_lib import products


def write_notebook(path, params_src='env = "dev"\nrun_id = "x"\noverrides = {}', tagged=True):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params_src)
    if tagged:
        cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("pass")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def declare(tmp_path, name, notebooks):
    """A product.yaml with ``notebooks`` = [(name, depends_on, extra parameters)], files created."""
    folder = tmp_path / name
    folder.mkdir()
    lines = [f"name: {name}", "owner: t", "notebooks:"]
    for nb_name, deps, extra in notebooks:
        path = folder / f"{nb_name}.ipynb"
        if not path.exists():
            write_notebook(path)
        lines += [f"  - name: {nb_name}", f"    path: {path}", "    layer: bronze",
                  f"    depends_on: {list(deps)}", f"    parameters: {extra or {}}"]
    (folder / "product.yaml").write_text("\n".join(lines) + "\n")
    return products.parse(folder / "product.yaml")


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


def test_cycle_is_reported_with_its_members(tmp_path):
    a = declare(tmp_path, "a", [("x", ["z"], None), ("y", ["x"], None), ("z", ["y"], None), ("ok", [], None)])
    with pytest.raises(DagError, match=r"cycle through a:x, a:y, a:z"):
        dag_lib.build({"a": a})


def test_unknown_parameter_is_rejected_before_running(tmp_path):
    a = declare(tmp_path, "a", [("bronze", [], {"batch_size": 10})])
    with pytest.raises(DagError, match=r"notebook 'bronze' \(bronze.ipynb\) has no parameter batch_size"):
        dag_lib.build({"a": a})


def test_notebook_without_injected_parameter(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    write_notebook(folder / "bronze.ipynb", params_src='env = "dev"')
    (folder / "product.yaml").write_text(
        f"name: a\nowner: t\nnotebooks:\n  - name: bronze\n    path: {folder / 'bronze.ipynb'}\n    layer: bronze\n")
    with pytest.raises(DagError, match=r"has no parameter overrides, run_id"):
        dag_lib.build({"a": products.parse(folder / "product.yaml")})


def test_notebook_without_parameters_cell(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    write_notebook(folder / "bronze.ipynb", tagged=False)
    (folder / "product.yaml").write_text(
        f"name: a\nowner: t\nnotebooks:\n  - name: bronze\n    path: {folder / 'bronze.ipynb'}\n    layer: bronze\n")
    with pytest.raises(DagError, match=r"no cell tagged 'parameters'"):
        dag_lib.build({"a": products.parse(folder / "product.yaml")})


def test_missing_notebook_file(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "product.yaml").write_text(
        f"name: a\nowner: t\nnotebooks:\n  - name: bronze\n    path: {folder / 'nope.ipynb'}\n    layer: bronze\n")
    with pytest.raises(DagError, match=r"file .*nope.ipynb does not exist"):
        dag_lib.build({"a": products.parse(folder / "product.yaml")})


def test_selection_that_matches_nothing(tmp_path):
    a = declare(tmp_path, "a", [("bronze", [], None)])
    with pytest.raises(DagError, match=r"no declared notebook matches layer=gold; declared: a:bronze"):
        dag_lib.select(dag_lib.build({"a": a}), layer="gold")


def test_the_project_dag_is_valid():
    dag = dag_lib.build()
    assert dag.order[0] == "web-user-analytics:bronze"
    assert all(nb.path.exists() for nb in dag.nodes.values())
