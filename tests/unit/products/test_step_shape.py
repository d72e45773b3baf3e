"""Every notebook a product declares has one shape - title, parameters, then open the context, run
the step, finish - and calls ``run(ctx)`` of ``products/<package>/<step>.py``, so that a new
product cannot drift from the others."""
import importlib

import nbformat
import pytest

from shared_lib import paths, products

DECLARED = [(product, nb) for product in products.all_products().values() for nb in product.notebooks]


def expected_code(product: str, step: str) -> list[str]:
    package = paths.package_name(product)
    return [f"from products.{package} import {step}\nfrom shared_lib import notebook\n\n"
            f'ctx = notebook.open_context("{product}", "{step}", env, run_id, overrides)',
            f"result = {step}.run(ctx)",
            "ctx.finish(**result)"]


def test_every_event_product_declares_notebooks():
    assert {p.name for p, _ in DECLARED} >= {"web-user-analytics", "mobile-user-analytics",
                                             "operational-metrics", "user-segmentation"}


@pytest.mark.parametrize("product, nb", DECLARED, ids=[nb.id for _, nb in DECLARED])
def test_notebook_has_the_one_shape(product, nb):
    cells = nbformat.read(str(nb.path), as_version=4).cells
    assert [c.cell_type for c in cells] == ["markdown", "code", "code", "code", "code"], nb.path
    assert cells[0].source.startswith(f"# {product.name} · "), "a markdown title cell first"
    assert "parameters" in cells[1].metadata.get("tags", []), "then the parameters cell"
    assert [c.source.strip() for c in cells[2:]] == expected_code(product.name, nb.name)


@pytest.mark.parametrize("product, nb", DECLARED, ids=[nb.id for _, nb in DECLARED])
def test_step_module_defines_run(product, nb):
    module = importlib.import_module(f"products.{paths.package_name(product.name)}.{nb.name}")
    assert callable(getattr(module, "run", None)), f"{module.__file__} must define run(ctx) -> dict"
