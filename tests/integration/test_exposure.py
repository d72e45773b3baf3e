"""Nothing exposed: the real Voila server of ``dp serve`` serves the dashboards' pages and
nothing else (no source, no other notebook, no contents API, no file, no ``..`` path); and
every service of the workspace (broker, Spark Connect
and its UI, dashboards, Prometheus exporter) listens on 127.0.0.1 only by default."""
import urllib.error
import urllib.request

import psutil
import pytest

from runners import serve, services
from shared_lib import params as params_lib

pytestmark = pytest.mark.integration


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@pytest.fixture(scope="module")
def dashboards():
    """The dashboards and the exporter of ``dp serve`` on free ports: (base URL, parameters)."""
    with pytest.MonkeyPatch.context() as mp:
        for var, port in zip(("DP_SERVE_PORT", "DP_METRICS_PORT"), services.free_ports(2)):
            mp.setenv(var, str(port))
        params = params_lib.load("dev")
        try:
            serve.start(params, serve.DASHBOARDS, progress=lambda _: None)
            serve.start(params, serve.METRICS, progress=lambda _: None)
            yield serve.base_url(params, serve.DASHBOARDS), params
        finally:
            serve.stop()


@pytest.mark.parametrize("path", [
    "/api/contents", "/api/contents/web-user-analytics.ipynb", "/tree", "/files/web-user-analytics.ipynb",
    "/api/kernels", "/api/sessions", "/notebooks/web-user-analytics.ipynb", "/lab",
    # another notebook, the project's source, a file outside the folder: by a raw or an encoded ..
    "/voila/render/%2e%2e/notebooks/web_user_analytics/01_bronze.ipynb",
    "/voila/render/..%2f..%2frunners%2fcli.py",
    "/voila/files/web-user-analytics.ipynb", "/voila/files/..%2f..%2fREADME.md",
    "/voila/files/%2e%2e/%2e%2e/parameters/base/platform.yaml",
    "/voila/tree/%2e%2e", "/voila/api/contents/%2e%2e", "/voila/static/..%2f..%2f..%2fetc%2fpasswd",
])
def test_nothing_but_the_dashboards_is_served(dashboards, path):
    base, _ = dashboards
    status, body = get(base + path)
    assert status in (403, 404), f"{path}: {status}"
    assert "Traceback" not in body and "import " not in body


def test_the_contents_listing_names_the_dashboards_only_without_their_source(dashboards):
    # Voila's own listing behind its tree page: the dashboards' names, never their content.
    base, _ = dashboards
    status, body = get(base + "/voila/api/contents")
    assert status == 200
    import json
    listing = json.loads(body)
    assert sorted(item["name"] for item in listing["content"]) == serve.dashboards()
    assert all(item["content"] is None for item in listing["content"])
    status, body = get(base + "/voila/api/contents/web-user-analytics.ipynb")
    assert json.loads(body)["content"] is None


def test_a_dashboard_page_shows_no_code(dashboards):
    base, _ = dashboards
    status, page = get(base + "/voila/render/web-user-analytics.ipynb")
    assert status == 200
    # the notebook's one cell: `from products.web_user_analytics import dashboard` ...
    assert "products.web_user_analytics" not in page and "dashboard.page()" not in page


def listening(name: str) -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket of the service and its children."""
    proc = services.our_process(name)
    assert proc is not None, f"{name} is not running"
    procs = [proc, *proc.children(recursive=True)]
    found = set()
    for p in procs:
        try:
            # a JVM's sockets show IPv4 as IPv4-mapped IPv6 (::ffff:127.0.0.1)
            found |= {(c.laddr.ip.removeprefix("::ffff:"), c.laddr.port) for c in p.net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            pass
    return found


def test_every_service_listens_on_loopback_only(dashboards, params):
    _, served = dashboards
    for name in ("kafka", "spark", "dashboards", "metrics"):
        sockets = listening(name)
        assert sockets, name
        assert {ip for ip, _ in sockets} == {"127.0.0.1"}, f"{name}: {sorted(sockets)}"
    spark = params["platform"]["services"]["spark"]
    assert ("127.0.0.1", spark["ui_port"]) in listening("spark")  # the Spark UI
    assert ("127.0.0.1", served["platform"]["metrics"]["port"]) in listening("metrics")


def test_the_pages_kernel_runs_no_code_sent_to_it(dashboards):
    # A page keeps its kernel's websocket open (widgets); Voila lets only comm messages through,
    # so an execute_request sent there is dropped: no reply, no result within 5 s.
    import asyncio
    import json
    import re
    import uuid

    from tornado.websocket import websocket_connect

    base, _ = dashboards
    _, page = get(base + "/voila/render/web-user-analytics.ipynb")
    kernel_id = re.search(r'kernelId": *"([a-f0-9-]+)', page).group(1)
    request = {"header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "probe",
                          "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
               "parent_header": {}, "metadata": {}, "channel": "shell",
               "content": {"code": "open('/tmp/voila-probe-ran', 'w')", "silent": False, "store_history": False,
                           "user_expressions": {}, "allow_stdin": False}}

    async def replies() -> list[str]:
        ws = await websocket_connect(f"{base.replace('http', 'ws')}/api/kernels/{kernel_id}/channels")
        await ws.write_message(json.dumps(request))
        seen = []
        try:
            while True:
                message = await asyncio.wait_for(ws.read_message(), 5)
                if message is None:
                    break
                if isinstance(message, str):
                    seen.append(json.loads(message)["header"]["msg_type"])
        except asyncio.TimeoutError:
            pass
        ws.close()
        return seen

    seen = asyncio.run(replies())
    assert not {"execute_reply", "execute_result", "error", "stream"} & set(seen), seen


def test_a_failing_dashboard_shows_no_traceback_nor_a_path(dashboards):
    # A gold table whose Delta log is garbage: reading it raises inside the page's kernel.
    from shared_lib import paths
    log = paths.table_path("web-user-analytics", "gold", "daily_kpis") / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / "00000000000000000000.json").write_text("{not json\n")
    try:
        base, _ = dashboards
        status, page = get(base + "/voila/render/web-user-analytics.ipynb")
        # the cell did fail (else this test would prove nothing), and only Voila's note says so
        assert "There was an error when executing cell" in page
        assert "Traceback" not in page and "File \"" not in page
        assert str(paths.PROJECT_ROOT) not in page and str(paths.workspace()) not in page
    finally:
        import shutil
        shutil.rmtree(paths.table_path("web-user-analytics", "gold", "daily_kpis"), ignore_errors=True)
