"""The bench's own workspace: a temp ``DP_HOME`` and free ports, so that a developer's ``dp up``
services and tables are never touched, and what every benchmark gets (``Setup``)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runners.bench.sizes import Sizes
from shared_lib import paths

PORT_VARS = ("DP_KAFKA_PORT", "DP_KAFKA_CONTROLLER_PORT", "DP_SPARK_PORT", "DP_SPARK_UI_PORT", "DP_SERVE_PORT")


class BenchError(RuntimeError):
    """A benchmark could not measure what it should (a failed notebook, a wrong row count)."""


@dataclass
class Setup:
    """What every benchmark gets: the bench workspace's parameters, the sizes, a logger."""
    params: dict
    workspace: Path
    sizes: Sizes
    log: Callable[[str], None] = print


def free_ports(count: int) -> list[int]:
    # All sockets stay bound until every port is picked, so the ports differ.
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


@contextlib.contextmanager
def isolated_workspace():
    """A temp ``DP_HOME`` and free service ports in ``os.environ`` (kernels inherit them), restored
    and deleted on the way out."""
    home = Path(tempfile.mkdtemp(prefix="dp-bench-"))
    wanted = {"DP_HOME": str(home), **dict(zip(PORT_VARS, map(str, free_ports(len(PORT_VARS))))),
              # Kernels must be this environment's Python, whatever PATH the caller had (as in run.py).
              "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
              # The bench's own `dp run` notebooks go beside its report, not among the user's runs.
              "DP_REPORTS": str(paths.reports_dir() / "bench")}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(home, ignore_errors=True)
