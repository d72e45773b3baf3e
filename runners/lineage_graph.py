"""``dp lineage TABLE [--upstream|--downstream] [--json]``: the part of the lineage graph around one
table, topic, notebook or dashboard, as text or JSON. The graph itself is built in
``shared_lib.lineage_graph`` (the platform console draws the same one)."""
from __future__ import annotations

import json

from shared_lib import lineage_graph


def show(name: str, direction: str = "both", as_json: bool = False, events: list[dict] | None = None) -> str:
    """The graph ``direction`` (upstream, downstream or both) of ``name``, from the workspace's
    events unless ``events`` are given; an unknown name raises ``UnknownName`` with a hint."""
    graph = lineage_graph.build(events)
    sub = graph.around(lineage_graph.resolve(graph, name), direction)
    return json.dumps(sub.as_json(), indent=2) if as_json else sub.as_text()
