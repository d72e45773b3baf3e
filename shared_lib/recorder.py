"""Small typed results out of notebooks, in scrapbook's format.

``record(name, value)`` writes a display output of scrapbook's JSON scrap mimetype into the
executing notebook; ``read_records(notebook)`` reads every recorded name back from an executed
notebook (the runner does, for rows written and table versions). Same shape as scrapbook's
``glue``/``read_notebook``, so ``scrapbook.read_notebook(path).scraps`` reads our notebooks too,
without depending on scrapbook (unmaintained).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MIMETYPE = "application/scrapbook.scrap.json+json"


class RecordError(TypeError):
    """A value that cannot be recorded as JSON."""


def record(name: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"cannot record {name!r}: {exc} (record plain numbers, strings, "
                          f"booleans, lists and dicts)") from exc
    from IPython.display import display

    payload = {"name": name, "data": value, "encoder": "json", "version": 1}
    display({MIMETYPE: payload}, raw=True,
            metadata={"scrapbook": {"name": name, "data": True, "display": False}})


def read_records(notebook) -> dict[str, Any]:
    """``{name: value}`` of every record in an executed notebook (a path or a NotebookNode);
    a name recorded twice keeps its last value."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(MIMETYPE)
            if payload:
                found[payload["name"]] = payload["data"]
    return found
