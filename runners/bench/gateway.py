"""The gateway's added latency: 50 concurrent clients without pause (``runners.bench.load``, one
httpx connection pool) call a trivial upstream directly, then the same upstream through the
gateway (``/api/bench/...``), as
``dp serve`` runs both: each its own process under uvicorn. Reported: p50, p95, p99 and requests
per second of each, and what the gateway adds at p50 and p99.

Client, gateway and upstream share the machine's cores, so the latencies include their contention
(as on a developer's machine); the CPU time each server process spent per request is reported
too, steadier than wall-clock time on a shared machine. The gateway's request logs go to the
bench workspace's Kafka topic when the broker runs, and are dropped (off the request path) when
it does not.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
from fastapi import FastAPI

from runners import services
from runners.bench import load as load_lib
from runners.bench.load import Load
from runners.bench.report import figure
from runners.bench.servers import cpu_s, stop, wait_until_answers
from runners.bench.workspace import Setup
from runners.gateway.app import KEEP_ALIVE_S, skip_sniffio_lookups
from shared_lib import paths

CLIENTS = 50
WARM_UP_REQUESTS = 200
MAX_REQUESTS = 5_000  # of each side: `--api-requests` is sized for the product APIs' benchmark
REQUEST_TIMEOUT_S = 30.0
SERVICE = "bench"
PATH = "/kpis/daily?start=2024-05-01&end=2024-05-07"


def upstream_app() -> FastAPI:
    """A trivial upstream (``uvicorn --factory``): a small JSON answer, no work behind it."""
    app = FastAPI()

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/kpis/daily")
    async def kpis(start: str, end: str) -> dict:
        return {"data": [{"date": start, "sessions": 120, "conversion_rate": 0.031},
                         {"date": end, "sessions": 98, "conversion_rate": 0.027}]}

    return app


def load(url: str, total: int) -> Load:
    """``total`` requests from ``CLIENTS`` concurrent clients without pause (``runners.bench.load``)."""
    skip_sniffio_lookups()  # the clients' httpx costs less CPU, as the gateway's does
    return load_lib.run([url], {}, CLIENTS, total, timeout_s=REQUEST_TIMEOUT_S)


def percentiles_ms(result: Load) -> dict[str, float]:
    return {f"p{p}": result.percentile(p) for p in (50, 95, 99)}


@contextmanager
def _server(name: str, cmd: list[str], ready_url: str, env: dict[str, str]) -> Iterator[psutil.Process]:
    paths.logs_dir().mkdir(parents=True, exist_ok=True)
    log_path = paths.logs_dir() / f"bench-{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=paths.PROJECT_ROOT)
    try:
        wait_until_answers(ready_url, proc, f"the bench's {name} server", log_path)
        yield psutil.Process(proc.pid)
    finally:
        stop(proc, timeout_s=10)


def _child_env(upstream: str) -> dict[str, str]:
    """This environment without the user's gateway variables, the bench's registry instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    env["PLATFORM_PRODUCT_SERVICES_JSON"] = json.dumps([{"name": SERVICE, "base_url": upstream}])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class Cpu:
    """CPU seconds of each server process during one load."""
    upstream_s: float
    gateway_s: float


def measured(url: str, total: int, upstream: psutil.Process, gateway: psutil.Process) -> tuple[Load, Cpu]:
    before = cpu_s(upstream), cpu_s(gateway)
    result = load(url, total)
    return result, Cpu(cpu_s(upstream) - before[0], cpu_s(gateway) - before[1])


def figures(direct: Load, through: Load, requests: int, cpu: Cpu | None = None) -> list[dict]:
    d, g = percentiles_ms(direct), percentiles_ms(through)
    how = f"{CLIENTS} concurrent clients, {requests} requests"
    out = []
    for label, q in (("direct", d), ("through the gateway", g)):
        for p in ("p50", "p95", "p99"):
            out.append(figure(f"trivial upstream {label}, {p}", q[p], "ms", notes=how))
    out += [figure("trivial upstream direct, requests/s", direct.per_second, "req/s", notes=how),
            figure("trivial upstream through the gateway, requests/s", through.per_second, "req/s", notes=how),
            figure("gateway added latency, p50", g["p50"] - d["p50"], "ms", notes="through the gateway - direct"),
            figure("gateway added latency, p99", g["p99"] - d["p99"], "ms", notes="through the gateway - direct"),
            figure("failed requests, direct", direct.errors, "requests", at_most=0),
            figure("failed requests, through the gateway", through.errors, "requests", at_most=0)]
    if cpu is not None:
        out += [figure("upstream CPU per request", cpu.upstream_s / requests * 1000, "ms",
                       notes="the trivial upstream's process, through the gateway"),
                figure("gateway CPU per request", cpu.gateway_s / requests * 1000, "ms",
                       notes="the gateway's process: what it costs besides the upstream")]
    return out


def bench(setup: Setup) -> list[dict]:
    total = min(setup.sizes.api_requests, MAX_REQUESTS)
    upstream_port, gateway_port = services.free_ports(2)
    upstream = f"http://127.0.0.1:{upstream_port}"
    gateway = f"http://127.0.0.1:{gateway_port}"
    env = _child_env(upstream)
    upstream_cmd = [sys.executable, "-m", "uvicorn", "runners.bench.gateway:upstream_app", "--factory",
                    "--host", "127.0.0.1", "--port", str(upstream_port), "--log-level", "warning", "--no-access-log",
                    "--timeout-keep-alive", str(KEEP_ALIVE_S)]
    gateway_cmd = [sys.executable, "-m", "runners.gateway", "--host", "127.0.0.1", "--port", str(gateway_port)]
    setup.log(f"  upstream {upstream}, gateway {gateway}; {total} requests from {CLIENTS} clients, each side ...")
    with _server("upstream", upstream_cmd, f"{upstream}/health", env) as upstream_proc, \
            _server("gateway", gateway_cmd, f"{gateway}/services/{SERVICE}/health", env) as gateway_proc:
        direct_url, through_url = upstream + PATH, f"{gateway}/api/{SERVICE}{PATH}"
        for url in (direct_url, through_url):  # connections opened, code paths warm
            load(url, WARM_UP_REQUESTS)
        direct, _ = measured(direct_url, total, upstream_proc, gateway_proc)
        setup.log(f"  direct: {direct.per_second:.0f} req/s, {percentiles_ms(direct)}")
        through, cpu = measured(through_url, total, upstream_proc, gateway_proc)
        setup.log(f"  through the gateway: {through.per_second:.0f} req/s, {percentiles_ms(through)}")
    return figures(direct, through, total, cpu)
