"""Imports run one way: runners -> products -> shared_lib. Neither the shared library nor a
product imports the runners (read from the source, so an import inside a function counts too)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(source: str) -> set[str]:
    """Every module a Python source imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def imports_of_runners(package: str) -> dict[str, list[str]]:
    bad = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = sorted(m for m in imported_modules(path.read_text()) if m.split(".")[0] == "runners")
        if names:
            bad[str(path.relative_to(ROOT))] = names
    return bad


def test_an_import_inside_a_function_is_found():
    source = "import os\n\ndef f():\n    from runners import jars\n    import runners.run as r\n"
    assert imported_modules(source) == {"os", "runners", "runners.run"}


@pytest.mark.parametrize("package", ["shared_lib", "products"])
def test_no_module_imports_the_runners(package):
    assert list((ROOT / package).rglob("*.py")), f"no modules found under {package}/"
    assert imports_of_runners(package) == {}
