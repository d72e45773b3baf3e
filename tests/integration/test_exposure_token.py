"""Dashboards bound beyond loopback ask for a token (``DP_DASHBOARD_TOKEN``), and refuse to start
without one. A module of its own: no other dashboards server of this workspace may be running."""
import pytest

from runners import serve, services
from shared_lib import params as params_lib
from tests.integration.test_exposure import get

pytestmark = pytest.mark.integration


def test_dashboards_bound_beyond_loopback_need_the_token(monkeypatch):
    # 127.0.0.2 is loopback to the kernel but not to dp serve: it stands for any other address
    # without opening a port to the network during the test.
    monkeypatch.setenv("DP_SERVE_PORT", str(services.free_ports(1)[0]))
    params = params_lib.load("dev", ["platform.serve.host=127.0.0.2"])
    monkeypatch.delenv(serve.TOKEN_VAR, raising=False)
    with pytest.raises(serve.UserError, match="DP_DASHBOARD_TOKEN"):
        serve.start(params, serve.DASHBOARDS, progress=lambda _: None)
    token = "t0ken-for-the-exposure-test-81c2"
    monkeypatch.setenv(serve.TOKEN_VAR, token)
    try:
        serve.start(params, serve.DASHBOARDS, progress=lambda _: None)
        page = serve.base_url(params, serve.DASHBOARDS) + "/voila/render/web-user-analytics.ipynb"
        status, body = get(page)
        assert status in (401, 403) or "login" in body.lower(), status
        assert "web-user-analytics" not in body or "login" in body.lower()
        assert get(page + f"?token={token}")[0] == 200
        assert token not in " ".join(services.our_process("dashboards").cmdline())
    finally:
        serve.stop()
