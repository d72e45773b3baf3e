"""The five product APIs in one process on consecutive ports."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from runners import apis
from shared_lib import paths


def test_the_apis_take_five_consecutive_ports_in_the_gateways_order():
    assert apis.ports(8002) == {"web-user-analytics": 8002, "mobile-user-analytics": 8003, "user-segmentation": 8004,
                                "operational-metrics": 8005, "compliance-auditing": 8006}


def test_the_first_port_comes_from_dp_api_port_then_the_parameters_then_8002(monkeypatch):
    monkeypatch.delenv("DP_API_PORT", raising=False)
    assert apis.first_port({}) == 8002
    assert apis.first_port({"platform": {"serve": {"api_port": 9100}}}) == 9100
    monkeypatch.setenv("DP_API_PORT", "9200")
    assert apis.first_port({"platform": {"serve": {"api_port": 9100}}}) == 9200


def test_dp_serve_prints_each_apis_docs():
    assert apis.addresses("http://127.0.0.1:8002")[::4] == ["web-user-analytics: http://127.0.0.1:8002/docs",
                                                            "compliance-auditing: http://127.0.0.1:8006/docs"]


def test_one_process_serves_all_five_and_stops_on_sigterm(tmp_path):
    first = apis.free_first_port()
    env = {**os.environ, "DP_HOME": str(tmp_path), "PYTHONPATH": str(paths.PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "runners.apis", "--host=127.0.0.1", f"--port={first}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        services = [_health(f"http://127.0.0.1:{first + i}/health") for i in range(5)]
        assert services == [f"{p}-api" for p in apis.PRODUCTS]
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def _health(url: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(url, timeout=2).json()["data"]["service"]
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
