"""Pre-heated pages: a dashboard kernel that runs its notebook before anyone asks for the page,
then waits for the request (``runners.serve.PREHEAT``; what it saves, and how it was checked, in
docs/performance.md, Dashboards)."""
from __future__ import annotations

import datetime as dt
import json
import os

import pandas as pd

from shared_lib import lineage_graph, paths, products
from shared_lib.dashboard._charts import (
    COLORS,
    area_chart,
    bar_chart,
    funnel_chart,
    heatmap,
    layered_graph,
    line_chart,
    timeline_chart,
)

CONSOLE = "platform-console"  # the page that also draws the lineage graph of the dashboards' code


def wait_for_request(product: str) -> None:
    """The first call of every dashboard's page, before it reads any table, so that the numbers
    are never older than the request.

    In a pre-heated kernel (``VOILA_PREHEAT``) it warms up, leaves a file ``<product>.<pid>`` in
    ``paths.preheated_dashboards_dir()`` (`dp serve` reports ready when every dashboard has one)
    and waits until a browser requests the page. Anywhere else (a page Voila renders on demand,
    JupyterLab, nbval, papermill) it returns at once."""
    if os.environ.get("VOILA_PREHEAT") != "True":
        return
    _warm_up(product)
    marker = paths.preheated_dashboards_dir() / f"{product}.{os.getpid()}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    try:
        _wait_for_voila()
    finally:
        marker.unlink(missing_ok=True)


def _wait_for_voila() -> None:
    """What ``voila.utils.wait_for_request`` does (Voila 0.5, pinned in requirements.lock), without
    importing voila's server packages into the kernel: a websocket to Voila's request-info
    handler for this kernel, whose one message is the request, as environment variables, sent
    when a browser asks for the page (at once if it already has)."""
    from websockets.sync.client import connect

    env = os.environ
    base = env.get("VOILA_WS_BASE_URL", env.get("VOILA_SERVER_URL", "/"))
    url = (f"{env.get('VOILA_WS_PROTOCOL', 'ws')}://{env.get('VOILA_APP_IP', '127.0.0.1')}:"
           f"{env.get('VOILA_APP_PORT', '8866')}{base}voila/query/{env['VOILA_KERNEL_ID']}")
    # No timeout on the wait itself: a pre-heated kernel may wait for hours. A failure raises,
    # and the page shows an error rather than numbers read before it was requested. Opening may
    # take long on a loaded machine (Voila's one thread also starts kernels and renders pages).
    with connect(url, open_timeout=60) as socket:
        env.update(json.loads(socket.recv()))


def _warm_up(page: str) -> None:
    """What a kernel's first page would otherwise pay: parsing the product declarations and
    importing plotly's classes of each trace type; for the console, parsing the dashboards' code
    (what each reads, kept per file version) and the lineage drawing's classes."""
    products.all_products()  # every declaration: the platform console reads them all
    rows = pd.DataFrame({"date": [dt.date(2024, 1, 1)], "n": [1], "kind": ["a"]})
    figures = [line_chart(rows, "date", {"n": "n"}, ""), bar_chart(rows, "kind", "n", ""),
               funnel_chart(rows, "kind", "n", ""), heatmap(pd.DataFrame([[1]]), "", "", ""),
               area_chart(rows, "date", "kind", "n", ""),
               timeline_chart(rows, "date", "kind", "kind", {"a": (COLORS[0], 4)}, "")]
    if page == CONSOLE:
        import httpx

        httpx.Client(verify=False).close()  # the first client imports and sets up 0.2 s of httpx
        graph = lineage_graph.build(events=[])
        figures.append(layered_graph(lineage_graph.layout(graph), graph.edges,
                                     {"table": (COLORS[0], "table"), "dashboard": (COLORS[1], "dashboard")}, ""))
    for fig in figures:
        fig.to_json()
