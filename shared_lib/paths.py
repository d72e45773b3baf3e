"""The one module that knows where things live.

Everything the platform writes at run time (Delta tables, checkpoints, Kafka data, service logs
and pid files) lives under one workspace: ``$DP_HOME`` when set, else ``<checkout>/.dp``.
Executed notebooks and HTML go to ``reports/`` (or ``$DP_REPORTS``). Downloaded jars go to a
cache shared by every checkout on the machine (``$DP_CACHE`` or ``~/.cache/dataplatform``), so a
clean clone does not download them again.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DASHBOARDS_DIR = NOTEBOOKS_DIR / "dashboards"
PRODUCTS_DIR = PROJECT_ROOT / "products"
PARAMETERS_DIR = PROJECT_ROOT / "parameters"
LAYERS = ("bronze", "silver", "gold")
PLATFORM = "platform"  # pseudo-product that owns the platform's own tables (run records, ...)

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def workspace() -> Path:
    home = os.environ.get("DP_HOME")
    return Path(home).expanduser().resolve() if home else PROJECT_ROOT / ".dp"


def reports_dir() -> Path:
    custom = os.environ.get("DP_REPORTS")
    return Path(custom).expanduser().resolve() if custom else PROJECT_ROOT / "reports"


def compliance_reports_dir() -> Path:
    """Where each run that touches compliance keeps its compliance report, with an index."""
    return reports_dir() / "compliance"


def cache_dir() -> Path:
    custom = os.environ.get("DP_CACHE")
    return Path(custom).expanduser().resolve() if custom else Path.home() / ".cache" / "dataplatform"


def jars_dir(jar_set: str) -> Path:
    return cache_dir() / "jars" / jar_set


def lake_dir() -> Path:
    return workspace() / "lake"


def logs_dir() -> Path:
    return workspace() / "logs"


def pids_dir() -> Path:
    return workspace() / "run"


def service_dir(service: str) -> Path:
    return workspace() / "services" / service


def preheated_dashboards_dir() -> Path:
    """Where each pre-heated dashboard kernel leaves a file while it waits for a request
    (``shared_lib.dashboard.wait_for_request``); `dp serve` is ready when every dashboard has one."""
    return service_dir("dashboards") / "preheated"


def package_name(product: str) -> str:
    """``web-user-analytics`` -> ``web_user_analytics`` (its Python package and notebook folder)."""
    return product.replace("-", "_")


def product_dir(product: str) -> Path:
    return PRODUCTS_DIR / package_name(product)


def _check(kind: str, value: str) -> str:
    if not _NAME.match(value or ""):
        raise ValueError(f"invalid {kind} name {value!r}: use lower-case letters, digits, '-' or '_'")
    return value


def table_relative(product: str, layer: str, table: str) -> str:
    """Where ``product``/``layer``/``table`` lies under the lake's root (a folder or a bucket's
    prefix: ``shared_lib.storage``); platform tables use layer ``platform``."""
    _check("product", product)
    _check("table", table)
    if product == PLATFORM:
        return f"{PLATFORM}/{table}"
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}: expected one of {', '.join(LAYERS)}")
    return f"{product}/{layer}/{table}"


def table_path(product: str, layer: str, table: str) -> Path:
    """Delta location of ``product``/``layer``/``table`` in the workspace's own lake folder."""
    return lake_dir() / table_relative(product, layer, table)


def checkpoint_path(product: str, table: str) -> Path:
    """Streaming checkpoint of the query that writes ``table``; lives beside the lake, not in it."""
    return workspace() / "checkpoints" / _check("product", product) / _check("table", table)


def run_requests_dir() -> Path:
    """Runs started through the platform API: one JSON file and one log per run id."""
    return workspace() / "platform" / "runs"


def run_reports_dir(run_id: str) -> Path:
    return reports_dir() / "runs" / run_id
