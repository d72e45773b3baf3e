"""``dp serve``: what the platform serves over HTTP on 127.0.0.1: the Voila dashboards of
``notebooks/dashboards/``, the Prometheus exporter of operational-metrics, the five product APIs
(one process, ``runners.apis``) and the API gateway with the platform API (``runners.gateway``):
one entry of ``SERVERS`` each, with its own parameters, port and addresses.

Every server runs the way ``dp up`` runs a service (``runners.services``): a process with a pid
file and a log in the workspace and the workspace marker on its command line, started only when
its port is free and ready when its HTTP address answers and nothing of it is still warming up
(the dashboards, when ``PREHEAT`` is on: until each has a pre-heated kernel waiting). ``dp serve``
stays in the foreground and stops its servers on Ctrl-C; ``dp serve --background`` leaves them
running until ``dp serve --stop``.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

from runners import services
from shared_lib import params as params_lib
from shared_lib import paths
from shared_lib.errors import UserError

logger = logging.getLogger(__name__)

# Pre-heating four dashboard kernels at once takes 10-30 s on 2 busy cores.
START_TIMEOUT_S = 120

# Pre-heated kernels (Voila's --preheat_kernel): each dashboard has a kernel that has run its
# notebook up to shared_lib.dashboard.wait_for_request (imports, warm-up) before the page is asked
# for, reads gold only when it is, and is replaced at once (fill_delay=0); a page's server part
# drops from about 1.5 s to 0.5 s. Off for a while: on 2026-11-26 about one page in 25 never
# finished loading (4 of 96) with the same Voila 0.5.13, nbclient 0.11 and ipykernel 7.4.0. That
# could not be reproduced on 2026-12-03, with gold in every dashboard and second requests
# arriving while the spare kernel started: 0 of 126 pages fetched, 0 of 370 in Chromium (128 of
# them with November's code), at load 8 to 100 (runners/bench/preheat_stress.py; docs/
# performance.md, Dashboards, says what was read and ruled out). Run that stress again after any
# upgrade of Voila, nbclient or ipykernel, and on a quiet machine.
PREHEAT = True
DASHBOARD_KERNEL_IDLE_S = 300
PREHEAT_ARGS = ("--preheat_kernel=True", "--pool_size=1", "--VoilaKernelManager.fill_delay=0")

# Runs ``python -m MODULE ARGS`` as ``python -c STUB MARKER MODULE ARGS``: the workspace marker
# sits on the command line (where services looks for it) but never reaches the module's own
# argument parser.
_MODULE_STUB = ("import runpy, sys; sys.argv = sys.argv[2:]; "
                "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)")


@dataclass(frozen=True)
class Server:
    name: str  # also the name of its pid file and log
    param: str  # dotted key of its {host, port} parameters
    port_var: str  # environment variable that moves its port
    command: Callable[[str, int], list[str]]  # (host, port) -> argv
    addresses: Callable[[str], list[str]]  # base URL -> what to print, one address per line
    warming: Callable[[str], list[str]] = lambda base: []  # base URL -> what is not ready yet although the port answers
    port_key: str = "port"  # its port's key under ``param``
    check: Callable[[dict], None] = lambda params: None  # before it starts: raises a UserError saying what is wrong
    env: Callable[[str], dict] = lambda host: {}  # host -> extra environment variables of its process


def python_module_cmd(module: str, *args: str) -> list[str]:
    return [sys.executable, "-c", _MODULE_STUB, services.marker(), module, *args]


def voila_cmd(host: str, port: int, folder: Path = paths.DASHBOARDS_DIR, preheat: bool | None = None) -> list[str]:
    """Voila serving ``folder`` (the dashboards; the bench's floor serves a folder of its own),
    with pre-heated kernels if ``preheat`` (default: ``PREHEAT``)."""
    return python_module_cmd(
        "voila", str(folder), "--no-browser", f"--Voila.ip={host}", f"--port={port}",
        # Fail on a taken port instead of silently moving to the next one.
        "--Voila.port_retries=0",
        # Dashboards show results only: never a cell's code, never a traceback (both are
        # Voila's defaults today; stated so that a changed default cannot expose code).
        "--strip_sources=True", "--show_tracebacks=False",
        # Beyond loopback: the token of JUPYTER_TOKEN (dashboards_env) is required.
        *(() if host in LOOPBACK else ("--Voila.auto_token=True",)),
        # A page's kernel lives while a browser holds its page. One whose page was fetched by
        # a program, or whose browser went without saying so, would live forever: the soak
        # found a kernel left per such page. Culled once idle and unconnected for a while.
        f"--MappingKernelManager.cull_idle_timeout={DASHBOARD_KERNEL_IDLE_S}",
        "--MappingKernelManager.cull_interval=60", "--MappingKernelManager.cull_connected=False",
        *(PREHEAT_ARGS if (PREHEAT if preheat is None else preheat) else ()), "--template=lab", "--theme=light")


# Bound to anything but the loopback interface, the dashboards ask for this token (a page's
# ?token=... or Voila's login form). Given through the environment (Jupyter's JUPYTER_TOKEN),
# never on the command line, where any local user could read it.
TOKEN_VAR = "DP_DASHBOARD_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def dashboards_env(host: str) -> dict:
    """The dashboards' environment: the token beyond loopback, and the address a pre-heated kernel
    reaches Voila at for its request (Voila tells its kernels the port, not the address, and they
    assume 127.0.0.1: bound elsewhere, every pre-heated page failed to connect)."""
    reach = "127.0.0.1" if host in ("", "0.0.0.0", "::", "localhost") else host
    token = {} if host in LOOPBACK else {"JUPYTER_TOKEN": os.environ.get(TOKEN_VAR, "")}
    return {"VOILA_APP_IP": reach, **token}


def check_dashboards(params: dict) -> None:
    """Dashboards bound beyond this machine need a token."""
    host, _ = address(params, DASHBOARDS)
    if host not in LOOPBACK and len(os.environ.get(TOKEN_VAR, "")) < 16:
        raise UserError(f"parameters platform.serve.host is {host!r}: dashboards reachable from other machines "
                        f"need a token; set {TOKEN_VAR} (16 characters or more) or bind 127.0.0.1")


def dashboards() -> list[str]:
    """Notebook file names of the dashboards, in the order they are listed."""
    return sorted(p.name for p in paths.DASHBOARDS_DIR.glob("*.ipynb"))


def dashboard_urls(base: str) -> list[str]:
    return [f"{base}/voila/render/{name}" for name in dashboards()]


def dashboards_not_preheated() -> list[str]:
    """Dashboards without a kernel waiting for their next page (each waiting kernel leaves
    ``<product>.<pid>`` in ``paths.preheated_dashboards_dir()``; one of a dead kernel is ignored).
    None without pre-heating."""
    if not PREHEAT:
        return []
    waiting = set()
    for marker in paths.preheated_dashboards_dir().glob("*.*"):
        name, _, pid = marker.name.rpartition(".")
        if pid.isdigit() and psutil.pid_exists(int(pid)):
            waiting.add(name)
    return [name for name in dashboards() if name.removesuffix(".ipynb") not in waiting]


def wait_until_preheated(dashboard: str, timeout_s: float = START_TIMEOUT_S) -> None:
    """Until a pre-heated kernel of ``dashboard`` (a notebook's file name) waits for its next page:
    after a page the next kernel starts at once and takes seconds to get there. At once without
    pre-heating."""
    deadline = time.monotonic() + timeout_s
    while dashboard in dashboards_not_preheated():
        if time.monotonic() > deadline:
            raise services.ServiceError(f"no pre-heated kernel of {dashboard} after {timeout_s:.0f} s")
        time.sleep(0.1)


def exporter_cmd(host: str, port: int) -> list[str]:
    return python_module_cmd("products.operational_metrics.exporter", f"--host={host}", f"--port={port}")


def apis_cmd(host: str, port: int) -> list[str]:
    from runners import apis
    return apis.command(host, port)


def api_bases(base: str) -> list[str]:
    """The five product APIs' base URLs, from the first one's."""
    from runners import apis
    head, _, port = base.rpartition(":")
    return [f"{head}:{p}" for p in apis.ports(int(port)).values()]


def apis_not_answering(base: str) -> list[str]:
    """The product APIs whose port does not answer yet (the first answering is not enough)."""
    return [url for url in api_bases(base) if not answers(f"{url}/health")]


def check_api_ports(params: dict) -> None:
    """All five ports free, not only the first (uvicorn would stop the process on a taken one)."""
    host, first = address(params, APIS)
    for port in range(first + 1, first + len(api_bases(f"http://{host}:{first}"))):
        services.check_port_free("apis", host, port, "DP_API_PORT (the first of five consecutive ports)")


def api_addresses(base: str) -> list[str]:
    from runners import apis
    return apis.addresses(base)


def gateway_cmd(host: str, port: int) -> list[str]:
    return python_module_cmd("runners.gateway", f"--host={host}", f"--port={port}")


def gateway_addresses(base: str) -> list[str]:
    return [f"{base}/health", f"{base}/services", f"{base}/api/<service>/<path>",
            f"{base}/platform/status", f"{base}/docs"]


def check_gateway(params: dict) -> None:
    """The gateway's variables (PLATFORM_ENV, the registry, the transport), refused here in one
    line rather than in the gateway's log."""
    from runners.gateway import server
    server.check(os.environ, params)


DASHBOARDS = Server("dashboards", "platform.serve", "DP_SERVE_PORT", voila_cmd, dashboard_urls,
                    lambda base: dashboards_not_preheated(), check=check_dashboards, env=dashboards_env)
METRICS = Server("metrics", "platform.metrics", "DP_METRICS_PORT", exporter_cmd,
                 lambda base: [f"{base}/metrics"])
# The five product APIs (runners.apis: products/<package>/api.py create_app) in one process, on
# consecutive ports from DP_API_PORT; the gateway after them, so its first /health finds them up.
APIS = Server("apis", "platform.serve", "DP_API_PORT", apis_cmd, api_addresses, apis_not_answering,
              port_key="api_port", check=check_api_ports)
GATEWAY = Server("gateway", "platform.serve", "DP_GATEWAY_PORT", gateway_cmd, gateway_addresses,
                 port_key="gateway_port", check=check_gateway)
SERVERS = (DASHBOARDS, METRICS, APIS, GATEWAY)


def address(params: dict, server: Server) -> tuple[str, int]:
    node = params_lib.get(params, server.param)
    return node["host"], node[server.port_key]


def base_url(params: dict, server: Server) -> str:
    host, port = address(params, server)
    return f"http://{host}:{port}"


def dashboard_addresses(params: dict) -> list[str]:
    return dashboard_urls(base_url(params, DASHBOARDS))


def answers(url: str, timeout_s: float = 2.0) -> bool:
    """The HTTP server at ``url`` answers (any status below 500)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def ready(url: str, server: Server) -> bool:
    return answers(url) and not server.warming(url)


def start(params: dict, server: Server, progress=logger.info) -> list[str]:
    """Start ``server`` unless it already runs for this workspace; returns the lines to print."""
    url = base_url(params, server)
    proc = services.our_process(server.name)
    if proc:
        return [f"{server.name}: already running (pid {proc.pid}, log {services.log_file(server.name)})",
                *(f"  {line}" for line in server.addresses(url))]
    host, port = address(params, server)
    server.check(params)
    services.check_port_free(server.name, host, port, server.port_var)
    # The servers read the parameters of the environment dp serve was given (--env).
    proc = services.spawn(server.name, server.command(host, port), env={"DP_ENV": params["env"], **server.env(host)})
    try:
        services.wait_ready(server.name, proc, lambda: ready(url, server), START_TIMEOUT_S, progress)
    except services.ServiceError as exc:
        services.stop(server.name)
        warming = server.warming(url)
        raise services.ServiceError(f"{exc}\nstill warming up: {', '.join(warming)}" if warming else str(exc)) \
            from None
    except BaseException:  # Ctrl-C meanwhile: leave nothing running
        services.stop(server.name)
        raise
    return [f"{server.name}: {url} (pid {proc.pid}, log {services.log_file(server.name)})",
            *(f"  {line}" for line in server.addresses(url))]


def status(params: dict) -> list[services.Status]:
    """The servers of ``dp serve``, as ``dp status`` shows them beside the services."""
    rows = []
    for server in SERVERS:
        host, port = address(params, server)
        proc = services.our_process(server.name)
        if proc:
            url = base_url(params, server)
            up, warming = answers(url), server.warming(url)
            note = ("process up, not answering yet" if not up else
                    f"warming up (slower first page): {', '.join(warming)}" if warming else "")
            rows.append(services.Status.on_port(server.name, "running" if up else "starting", proc.pid, host, port,
                                                services.log_file(server.name), note))
        else:
            rows.append(services.Status.on_port(server.name, "stopped", None, host, port,
                                                services.log_file(server.name), "start with: dp serve --background"))
    return rows


def stop() -> list[str]:
    return [services.stop(server.name) for server in reversed(SERVERS)]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(params: dict, background: bool = False, progress=logger.info) -> int:
    """Start every server and print its addresses. In the foreground, wait until Ctrl-C (or until
    a server dies), then stop the servers this call started; one that was already running in the
    background is left alone."""
    started, all_up = [], False
    for server in SERVERS:  # a mistake the user can fix stops dp serve before anything starts
        if services.our_process(server.name) is None:
            server.check(params)
    try:
        for server in SERVERS:
            was_running = services.our_process(server.name) is not None
            for line in start(params, server, progress):
                progress(line)
            if not was_running:
                started.append(server.name)
        all_up = True
        if background:
            progress("running in the background; stop with: dp serve --stop")
            return 0
        if not started:
            progress("already running in the background; stop with: dp serve --stop")
            return 0
        # A closed terminal or a plain `kill` stops the servers too, not only Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGHUP, _interrupt)
        progress("serving; Ctrl-C stops")
        while all(services.our_process(name) for name in started):
            time.sleep(1)
        died = [name for name in started if not services.our_process(name)]
        progress(f"{', '.join(died)} stopped unexpectedly; see {services.log_file(died[0])}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # In the background, only the servers of a start that failed half-way are stopped.
        if not (background and all_up):
            for name in reversed(started):
                progress(services.stop(name))
