"""The bench's own workspace: a temp ``DP_HOME`` and free ports, so that a developer's ``dp up``
services and tables are never touched, and what every benchmark gets (``Setup``)."""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runners import services
from runners.bench.sizes import Sizes
from shared_lib import paths


class BenchError(RuntimeError):
    """A benchmark could not measure what it should (a failed notebook, a wrong row count)."""


@dataclass
class Setup:
    """What every benchmark gets: the bench workspace's parameters, the sizes, a logger."""
    params: dict
    workspace: Path
    sizes: Sizes
    log: Callable[[str], None] = print


@contextlib.contextmanager
def isolated_workspace():
    """A temp ``DP_HOME`` and free service ports in ``os.environ`` (kernels inherit them), restored
    and deleted on the way out."""
    home = Path(tempfile.mkdtemp(prefix="dp-bench-"))
    wanted = {"DP_HOME": str(home), **services.free_port_environment(),
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
