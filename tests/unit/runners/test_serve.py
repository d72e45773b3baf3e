"""`dp serve`: which dashboards it still waits for (the files that pre-heated kernels leave), that
the wait is a no-op outside a pre-heated Voila kernel; the product APIs and the gateway on their
ports, and a malformed gateway variable refused before anything starts."""
import os
import socket
import subprocess

import pytest

from runners import serve, services
from runners.gateway.registry import GatewayConfigError
from shared_lib import dashboard as ui
from shared_lib import params as params_lib
from shared_lib import paths

DASHBOARDS = ["compliance-auditing.ipynb", "mobile-user-analytics.ipynb", "operational-metrics.ipynb",
              "platform-console.ipynb", "user-segmentation.ipynb", "web-user-analytics.ipynb"]


def test_a_dashboard_is_preheated_while_a_live_kernel_waits_for_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.setattr(serve, "PREHEAT", True)
    assert serve.dashboards() == DASHBOARDS
    assert serve.dashboards_not_preheated() == DASHBOARDS  # no directory yet
    waiting = paths.preheated_dashboards_dir()
    waiting.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (waiting / f"web-user-analytics.{os.getpid()}").touch()
    (waiting / f"operational-metrics.{dead.pid}").touch()  # its kernel is gone: not waiting
    (waiting / "user-segmentation.not-a-pid").touch()
    assert serve.dashboards_not_preheated() == ["compliance-auditing.ipynb", "mobile-user-analytics.ipynb",
                                                "operational-metrics.ipynb", "platform-console.ipynb",
                                                "user-segmentation.ipynb"]


def test_outside_a_preheated_kernel_the_page_does_not_wait(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    assert ui.wait_for_request("web-user-analytics") is None  # JupyterLab, nbval, papermill
    monkeypatch.setenv("VOILA_PREHEAT", "False")  # a page Voila renders in a kernel of its own
    assert ui.wait_for_request("web-user-analytics") is None
    assert not paths.preheated_dashboards_dir().exists()


def test_without_preheating_dp_serve_waits_for_no_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.setattr(serve, "PREHEAT", False)
    assert serve.dashboards_not_preheated() == []


def test_dp_serve_starts_the_product_apis_and_the_gateway_on_their_ports():
    params = params_lib.load("dev", environ={})
    assert [s.name for s in serve.SERVERS] == ["dashboards", "metrics", "apis", "gateway"]
    assert serve.address(params, serve.GATEWAY) == ("127.0.0.1", 8000)
    assert serve.address(params, serve.APIS) == ("127.0.0.1", 8002)
    assert serve.api_bases("http://127.0.0.1:8002") == [f"http://127.0.0.1:{p}" for p in range(8002, 8007)]
    moved = params_lib.load("dev", environ={"DP_GATEWAY_PORT": "9000", "DP_API_PORT": "9102"})
    assert (serve.address(moved, serve.GATEWAY)[1], serve.address(moved, serve.APIS)[1]) == (9000, 9102)
    assert serve.GATEWAY.command("127.0.0.1", 9000)[-3:] == ["runners.gateway", "--host=127.0.0.1", "--port=9000"]


def test_a_malformed_gateway_variable_stops_dp_serve_before_any_server_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.setenv("PLATFORM_ENV", "production")
    started = []
    monkeypatch.setattr(serve, "start", lambda params, server, progress: started.append(server.name) or [])
    with pytest.raises(GatewayConfigError, match="PLATFORM_ENV='production'"):
        serve.serve(params_lib.load("dev"), background=True)
    assert started == []


def test_free_ports_for_a_test_workspace_give_the_apis_five_in_a_row():
    ports = services.free_port_environment()
    first = int(ports["DP_API_PORT"])
    others = {int(v) for k, v in ports.items() if k != "DP_API_PORT"}
    assert not others & set(range(first, first + 5))
    for port in range(first, first + 5):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # free
