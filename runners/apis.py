"""The five product APIs in one process, on consecutive ports from ``DP_API_PORT`` /
``platform.serve.api_port`` (default 8002): web-user-analytics, mobile-user-analytics,
user-segmentation, operational-metrics, compliance-auditing (gateway.md).

``python -m runners.apis [--host H] [--port FIRST] [--env ENV]`` runs them until SIGINT/SIGTERM;
``dp serve`` starts it as one of its servers (``command`` and ``addresses`` below). One process:
the APIs share one Kafka producer for request logs and audit events, and a workspace's lake.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from typing import Any, Iterator

from runners.gateway import registry
from shared_lib import params as params_lib
from shared_lib import paths
from shared_lib.api.sinks import Sinks

logger = logging.getLogger(__name__)

# The product APIs in port order, and the first port, as the gateway's registry counts them.
PRODUCTS = registry.PRODUCTS
DEFAULT_PORT = registry.DEFAULT_API_PORT
PORT_VAR = "DP_API_PORT"
KEEP_ALIVE_S = 75


def first_port(params: dict) -> int:
    """``DP_API_PORT``, else ``platform.serve.api_port``, else 8002."""
    serve = params.get("platform", {}).get("serve", {})
    return int(os.environ.get(PORT_VAR) or serve.get("api_port") or DEFAULT_PORT)


def ports(first: int) -> dict[str, int]:
    """{product: its API's port}, in the order of ``PRODUCTS``."""
    return {product: first + i for i, product in enumerate(PRODUCTS)}


def free_first_port(host: str = "127.0.0.1", attempts: int = 50) -> int:
    """A first port whose next four are free too (the bench and tests run the APIs on these)."""
    import socket

    from runners.services import free_ports

    for _ in range(attempts):
        first = free_ports(1)[0]
        if first + len(PRODUCTS) > 65536:
            continue
        with contextlib.ExitStack() as stack:
            try:
                for port in range(first, first + len(PRODUCTS)):
                    stack.enter_context(socket.socket()).bind((host, port))
            except OSError:
                continue
        return first
    raise RuntimeError(f"no {len(PRODUCTS)} consecutive free ports found on {host}")


def create_app(product: str, params: dict | None = None, **options: Any):
    """The API of ``product`` (its ``products/<package>/api.py`` ``create_app``)."""
    module = importlib.import_module(f"products.{paths.package_name(product)}.api")
    return module.create_app(params=params, **options)


def command(host: str, port: int) -> list[str]:
    """``dp serve``'s command line for the APIs (``port``: the first of the five)."""
    from runners import serve
    return serve.python_module_cmd("runners.apis", f"--host={host}", f"--port={port}")


def addresses(base: str) -> list[str]:
    """What ``dp serve`` prints for a base URL of the first API: each API's docs."""
    scheme, _, rest = base.rpartition("://")
    host, _, port = rest.rpartition(":")
    return [f"{product}: {scheme}://{host}:{p}/docs" for product, p in ports(int(port)).items()]


class _Server:
    """uvicorn's server without its own signal handling: this module stops all five at once."""

    def __init__(self, app: Any, host: str, port: int):
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        # Request logs go to ops.requests; uvicorn's access log would only repeat them.
        # Keep-alive beyond uvicorn's 5 s: a client pool reusing a connection the server has just
        # closed loses that request (seen under load on a busy machine).
        self.server = Quiet(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="on", timeout_keep_alive=KEEP_ALIVE_S))


async def serve(host: str, first: int, params: dict) -> None:
    sinks = Sinks.kafka(params)
    servers = [_Server(create_app(product, params, sinks=sinks), host, port).server
               for product, port in ports(first).items()]

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await asyncio.gather(*(server.serve() for server in servers))
    finally:
        sinks.close()
    if not all(server.started for server in servers):  # a taken port: uvicorn logged which
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runners.apis", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=None, help="default: platform.serve.host")
    parser.add_argument("--port", type=int, default=None, help=f"the first port (default {PORT_VAR} or "
                                                               "platform.serve.api_port)")
    parser.add_argument("--env", default=None, help="parameter environment (default DP_ENV or dev)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Without a broker kafka-python logs every reconnection; the writers warn once a minute instead.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    params = params_lib.load(args.env)
    host = args.host or params["platform"]["serve"]["host"]
    first = args.port or first_port(params)
    for product, port in ports(first).items():
        logger.info("%s API on http://%s:%d", product, host, port)
    import uvloop  # uvicorn[standard]'s event loop: the five APIs share one process

    uvloop.run(serve(host, first, params))
    return 0


if __name__ == "__main__":
    sys.exit(main())
