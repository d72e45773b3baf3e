"""Fixtures of the dashboards' browser tests: a workspace of their own (``DP_HOME``, so their
tables never meet the pipeline's), the dashboards served from it by ``runners.serve`` on a free
port, and headless Debian Chromium (``make browser`` installs it)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runners import serve, services
from shared_lib import lineage_graph, paths
from shared_lib import params as params_lib
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.integration.same_gold import web_topic  # noqa: F401 (a fixture of the tests that compare two runs' gold)


@pytest.fixture(scope="session")
def _dashboards_server(tmp_path_factory):
    """Voila serving the dashboards of a workspace of their own, started once for every browser
    test (starting pre-heats a kernel per dashboard: seconds). Pages read their tables when they
    are requested, so a test needs only an empty lake, not a new server."""
    # The console reads the gateway at DP_GATEWAY_PORT: a port of the tests' own, where a test
    # may start one, so that a gateway of `dp serve` elsewhere on the machine is never read.
    serve_port, gateway_port = services.free_ports(2)
    env = {"DP_HOME": str(tmp_path_factory.mktemp("dashboards") / "workspace"), "DP_SERVE_PORT": str(serve_port),
           "DP_GATEWAY_PORT": str(gateway_port)}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        params = params_lib.load("dev")
        serve.start(params, serve.DASHBOARDS, progress=lambda _: None)
        urls = {url.rsplit("/", 1)[-1].removesuffix(".ipynb"): url for url in serve.dashboard_addresses(params)}
    try:
        yield env, urls
    finally:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            serve.stop()


@pytest.fixture
def dashboard_workspace(_dashboards_server, monkeypatch) -> Path:
    """The served workspace, its lake and lineage events emptied: the test's tables never meet the
    pipeline's or another test's."""
    env, _ = _dashboards_server
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    shutil.rmtree(paths.lake_dir(), ignore_errors=True)
    shutil.rmtree(lineage_graph.events_path().parent, ignore_errors=True)
    return Path(env["DP_HOME"])


@pytest.fixture
def dashboard_urls(_dashboards_server, dashboard_workspace) -> dict[str, str]:
    """{dashboard name: its address} on the served workspace."""
    return _dashboards_server[1]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium with `make browser`")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
