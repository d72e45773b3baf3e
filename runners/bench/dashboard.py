"""Dashboard time to first render: the web dashboard in headless Chromium, cold and warm, against
Voila's own floor measured in the same run: a one-cell notebook served by a Voila as it ships (a
kernel started per request), with the same template and other options, timed the same way."""
from __future__ import annotations

import json
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from runners.bench import steps
from runners.bench.bronze_gold import WEB
from runners.bench.measure import timed
from runners.bench.report import figure, spread
from runners.bench.workspace import BenchError, Setup

TARGET_S = 4.0
FLOOR_RATIO, CHARTS_RATIO = 1.5, 2.5  # issue 21: cards within 1.5x Voila's floor, last chart 2.5x
# Voila's floor: its kernel start, one cell, the lab template; the cell shows what RENDERED waits for.
FLOOR_NOTEBOOK = {
    "cells": [{"cell_type": "code", "id": "floor", "metadata": {}, "execution_count": None, "outputs": [],
               "source": "from IPython.display import HTML\nHTML('<div class=\"dp-kpi\">floor</div>')"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5}
WARM_RENDERS = 3
PREHEATED_FLOOR_PAUSE_S = 3.0
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# What "rendered" means: the KPI cards, or the empty state when gold has no rows; on the
# platform console, its product cards (or its notice that the gateway is down).
RENDERED = ".dp-kpi, .dp-empty, .pc-product, .pc-gateway-down"
CONSOLE = "platform-console"
CHARTS = ".js-plotly-plot"
RENDER_TIMEOUT_MS = 120_000
# Marks, in the page, the first frame painted after the KPI cards (or the empty state) entered
# the page, and when the last chart of the page was drawn. Measured in the page: Playwright's own
# "visible" check runs in the page's main thread too, and while the charts are drawn it sees the
# cards up to seconds after the browser has shown them.
PAINT_MARKS = """
window.__dp = {};
new MutationObserver(() => {
  if (!window.__dp.inserted && document.querySelector(%r)) {
    window.__dp.inserted = performance.now();
    requestAnimationFrame(() => setTimeout(() => { window.__dp.painted = performance.now(); }, 0));
  }
  window.__dp.charts = document.querySelectorAll(%r).length;
  window.__dp.lastChart = performance.now();
}).observe(document, {childList: true, subtree: true});
""" % (RENDERED, CHARTS)


@dataclass
class Render:
    first_render_s: float  # navigation start -> first frame painted with the KPI cards
    charts_s: float | None  # navigation start -> the page's last chart drawn (None: no chart)
    with_data: bool  # the KPI cards (False: the empty state)


def _first_render(browser, url: str, charts: bool = True) -> Render:
    """A new page at ``url``: when it showed the KPI cards, and when its charts were all drawn
    (``charts`` False: a page without any)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.add_init_script(PAINT_MARKS)
        page.goto(url, timeout=RENDER_TIMEOUT_MS)
        page.wait_for_function("window.__dp && window.__dp.painted", timeout=RENDER_TIMEOUT_MS)
        with_data = page.locator(".dp-kpi, .pc-product").count() > 0
        charts_ms = None
        if with_data and charts:  # the charts come after the cards; done when their count stops growing
            page.wait_for_function(f"document.querySelectorAll({CHARTS!r}).length > 0 && "
                                   "performance.now() - window.__dp.lastChart > 1000", timeout=RENDER_TIMEOUT_MS,
                                   polling=250)
            charts_ms = page.evaluate("window.__dp.lastChart")
        return Render(page.evaluate("window.__dp.painted") / 1000,
                      charts_ms / 1000 if charts_ms is not None else None, with_data)
    finally:
        page.close()


def _renders(browser, url: str, setup: Setup, label: str, charts: bool = True,
             ready: Callable[[], None] = lambda: None) -> tuple[Render, list[Render]]:
    """A cold page, then WARM_RENDERS warm ones, each once ``ready()`` returns (with pre-heating:
    once the server has its next kernel waiting, as a visitor who is not the previous one finds it)."""
    cold = _first_render(browser, url, charts)
    setup.log(f"  {label} cold: {cold.first_render_s:.2f} s" + ("" if cold.with_data else " (empty state)"))
    warm = []
    for i in range(WARM_RENDERS):
        ready()
        warm.append(_first_render(browser, url, charts))
        setup.log(f"  {label} warm {i + 1}/{WARM_RENDERS}: {warm[-1].first_render_s:.2f} s")
    return cold, warm


def _other_pages() -> list[str]:
    """The pages besides web's, by product (the console among them), as `dp serve` lists them."""
    from runners import serve

    return [name.removesuffix(".ipynb") for name in serve.dashboards() if name != f"{WEB.product}.ipynb"]


def _preheated(page: str) -> Callable[[], None]:
    from runners import serve

    return lambda: serve.wait_until_preheated(f"{page}.ipynb")


def _voila_floor(setup: Setup, browser, preheat: bool = False) -> tuple[Render, list[Render]]:
    """Voila's own floor: the one-cell notebook, served on a free port by a Voila of its own started
    as dp serve starts the dashboards' (same template and options) but, unless ``preheat``, without
    pre-heated kernels: Voila as it ships starts a kernel per request. With ``preheat``, a figure
    for transparency only: Voila then serves the notebook already run, which no page that must
    read its tables at request time can do."""
    from runners import serve, services

    label = "Voila floor, pre-heated" if preheat else "Voila floor"
    folder = setup.workspace / "bench" / ("voila-floor-preheated" if preheat else "voila-floor")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "floor.ipynb").write_text(json.dumps(FLOOR_NOTEBOOK))
    [port] = services.free_ports(1)
    log = (folder / "voila.log").open("wb")
    proc = subprocess.Popen(serve.voila_cmd("127.0.0.1", port, folder, preheat=preheat), stdout=log,
                            stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)
    try:
        deadline = time.time() + serve.START_TIMEOUT_S
        while not services.port_open("127.0.0.1", port):
            if proc.poll() is not None or time.time() > deadline:
                raise BenchError(f"{label} did not start on port {port}: see {folder / 'voila.log'}")
            time.sleep(0.2)
        # Pre-heated: the next kernel has run the cell a few seconds after a page (no marker to wait for).
        return _renders(browser, f"http://127.0.0.1:{port}/voila/render/floor.ipynb", setup, label, charts=False,
                        ready=(lambda: time.sleep(PREHEATED_FLOOR_PAUSE_S)) if preheat else lambda: None)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def bench(setup: Setup) -> list[dict]:
    """The web dashboard in headless Chromium, served as `dp serve` serves it, on the gold tables
    the web benchmark left (its empty state if there are none), every other page (the platform
    console among them), then Voila's floor, and that floor with pre-heated kernels (logged only).
    Cold: the first page after the server started; warm: the next ones. Times from the page's navigation
    start (as the browser's own paint timings are), until the first frame painted with the KPI
    cards; the charts follow. Where a page's time goes: docs/performance.md."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise BenchError(f"{CHROMIUM} is missing: install Debian's chromium with `make browser`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            setup.log("  starting the dashboards server (as dp serve does) ...")
            start_s, _ = timed(lambda: steps.start_dashboards(setup))
            try:
                cold, warm = _renders(browser, steps.dashboard_address(setup, WEB.product), setup, "dashboard",
                                      ready=_preheated(WEB.product))
                others = {name: _renders(browser, steps.dashboard_address(setup, name), setup, name, charts=False,
                                         ready=_preheated(name))[1]
                          for name in _other_pages()}
            finally:
                steps.stop_dashboards()
            floor_cold, floor_warm = _voila_floor(setup, browser)
            _, preheated_warm = _voila_floor(setup, browser, preheat=True)
        finally:
            browser.close()
    shown = "KPI cards painted" if cold.with_data else "empty state painted (gold had no rows)"
    warm_s = [r.first_render_s for r in warm]
    floor_s = [r.first_render_s for r in floor_warm]
    preheated_s = [r.first_render_s for r in preheated_warm]
    warm_median, floor_median = statistics.median(warm_s), statistics.median(floor_s)
    figures = [
        figure("dashboard first render, cold", cold.first_render_s, "s", at_most=TARGET_S,
               notes=f"first page after the server started ({start_s:.1f} s to start); until the {shown}"),
        figure("dashboard first render, warm (median)", warm_median, "s",
               at_most=TARGET_S, notes=f"new page each time; {spread(warm_s)}", samples=warm_s),
        figure("Voila floor first render, warm (median)", floor_median, "s",
               notes=f"a one-cell notebook, Voila as it ships (a kernel per request), same template and options; "
                     f"cold {floor_cold.first_render_s:.2f} s; {spread(floor_s)}", samples=floor_s),
        figure("Voila floor with pre-heated kernels, warm (median)", statistics.median(preheated_s), "s",
               notes="for transparency, not a target's floor: the one cell already run before the request; "
                     + spread(preheated_s), samples=preheated_s),
        figure("dashboard first render / Voila floor (warm medians)", warm_median / floor_median, "x",
               at_most=FLOOR_RATIO, notes="issue 21: the KPI cards within 1.5x of Voila's own floor"),
    ]
    for name, renders in others.items():
        seconds = [r.first_render_s for r in renders]
        what = "product cards" if name == CONSOLE else "KPI cards" if renders[0].with_data else "empty state"
        figures.append(figure(f"{name} first render, warm (median)", statistics.median(seconds), "s",
                              at_most=TARGET_S, notes=f"until its {what} painted; {spread(seconds)}",
                              samples=seconds))
    charts = [r.charts_s for r in [cold, *warm] if r.charts_s is not None]
    if charts:
        figures.append(figure("dashboard charts drawn (median)", statistics.median(charts), "s",
                              notes="until the last chart is drawn; the charts follow the cards: "
                                    + spread(charts), samples=charts))
        warm_charts = [r.charts_s for r in warm if r.charts_s is not None]
        if warm_charts:
            figures.append(figure("dashboard last chart / Voila floor (warm medians)",
                                  statistics.median(warm_charts) / floor_median, "x", at_most=CHARTS_RATIO,
                                  notes="issue 21: the last chart within 2.5x of Voila's own floor"))
    return figures
