"""Pre-heated dashboards: which dashboards `dp serve` still waits for (the files that waiting
kernels leave), and that the wait is a no-op outside a pre-heated Voila kernel."""
import os
import subprocess

from runners import serve
from shared_lib import dashboard as ui
from shared_lib import paths

DASHBOARDS = ["compliance-auditing.ipynb", "mobile-user-analytics.ipynb", "operational-metrics.ipynb", "user-segmentation.ipynb",
              "web-user-analytics.ipynb"]


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
                                                "operational-metrics.ipynb", "user-segmentation.ipynb"]


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
