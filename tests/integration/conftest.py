"""Fixtures of the dashboards' browser tests: a workspace of the test's own (``DP_HOME``, so its
tables never meet the pipeline's), the dashboards served by ``runners.serve`` on a free port, and
headless Debian Chromium (``make browser`` installs it)."""
from __future__ import annotations

import pytest

from runners import serve
from shared_lib import params as params_lib
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import _free_port


@pytest.fixture
def dashboard_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path / "workspace"))
    monkeypatch.setenv("DP_SERVE_PORT", str(_free_port()))
    return tmp_path / "workspace"


@pytest.fixture
def dashboard_urls(dashboard_workspace) -> dict[str, str]:
    """Voila serving the dashboards of ``dashboard_workspace``: {dashboard name: its address}."""
    params = params_lib.load("dev")
    serve.start(params, serve.DASHBOARDS, progress=lambda _: None)
    try:
        yield {url.rsplit("/", 1)[-1].removesuffix(".ipynb"): url for url in serve.dashboard_addresses(params)}
    finally:
        serve.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium with `make browser`")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
