"""Small typed results out of notebooks, with scrapbook.

``record(name, value)`` writes what ``scrapbook.glue(name, value, encoder="json")`` writes (a
display output of scrapbook's JSON scrap mimetype) but refuses non-JSON values by name, skips
None and imports no scrapbook in the kernel; ``read_records(notebook)`` reads every recorded name back
from an executed notebook with ``scrapbook.read_notebook`` (the runner does, for rows written
and table versions).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MIMETYPE = "application/scrapbook.scrap.json+json"


class RecordError(TypeError):
    """A value that cannot be recorded as JSON."""


def record(name: str, value: Any) -> None:
    """Record ``value`` under ``name``; None records nothing (a scrap cannot hold null), so it
    reads back as absent."""
    if value is None:
        return
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
    a name recorded twice keeps its last value; display-only scraps carry no value."""
    import scrapbook
    from scrapbook.models import Notebook

    nb = scrapbook.read_notebook(str(notebook)) if isinstance(notebook, (str, Path)) else Notebook(notebook)
    return {name: scrap.data for name, scrap in nb.scraps.items() if scrap.encoder != "display"}
