"""What the dashboards' browser tests share: small tables written with delta-rs, the page opened
in headless Debian Chromium, and the check that Voila showed no error. The fixtures (a workspace
of the test's own, the served dashboards, the browser) are in ``tests/integration/conftest.py``."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pyarrow as pa

from shared_lib import lake, products
from shared_lib.lake import arrow_schema

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOAD_TIMEOUT_MS = 60_000


def write_table(product: str, name: str, rows: list[dict]) -> None:
    """``rows`` into the declared table ``name`` of ``product``; columns left out are null."""
    table = products.get(product).table(name)
    data = pa.Table.from_pylist([{c.name: row.get(c.name) for c in table.columns} for row in rows],
                                schema=arrow_schema(table))
    lake.write(table, data, mode="overwrite", partition_by=list(table.partitioned_by) or None)


def wait_until_preheated(product: str, timeout_s: float = 90) -> None:
    """Until a pre-heated kernel of ``product``'s dashboard waits for its next page."""
    from runners import serve

    serve.wait_until_preheated(f"{product}.ipynb", timeout_s)


def preheated_pages(product: str) -> int:
    """How many pages of ``product`` Voila has served from a pre-heated kernel so far (its log)."""
    from runners import services

    log = services.log_file("dashboards").read_text(errors="replace")
    return sum(1 for line in log.splitlines()
               if "Using pre-heated kernel" in line and line.endswith(f" for {product}.ipynb"))


def open_page(browser, url: str, selector: str):
    """The page at ``url`` once ``selector`` is visible, and the seconds that took."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.monotonic()
    page.goto(url, timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector(selector, state="visible", timeout=LOAD_TIMEOUT_MS)
    return page, time.monotonic() - started


def assert_cards(page, expected: dict) -> None:
    """The KPI cards ``{key: (value, change)}`` show those texts (waiting for a redraw)."""
    from playwright.sync_api import expect

    for key, (value, change) in expected.items():
        card = page.locator(f".dp-kpi[data-kpi='{key}']")
        expect(card.locator(".dp-kpi-value")).to_have_text(value)
        expect(card.locator(".dp-kpi-change b")).to_have_text(change)


def assert_no_error(page) -> None:
    # Voila hides tracebacks; a failing cell says "There was an error when executing cell ...".
    text = page.inner_text("body")
    assert not re.search("traceback|error", text, re.IGNORECASE), text[:2000]
