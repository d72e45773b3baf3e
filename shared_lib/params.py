"""The layered parameters loader: ``parameters/base`` + ``parameters/<env>`` + environment
variables for ports + command-line overrides, later layers winning.

``base`` declares every parameter that exists and its type; an environment file or an override
may only change a value, never invent a key. Anything that does not fit is a ``ParameterError``
naming the file (or variable, or ``command line``) and the dotted key: nothing falls back
silently. The result is a plain nested dict keyed by file name: ``params["platform"]["services"]``.
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from shared_lib import paths
from shared_lib.errors import UserError

DEFAULT_ENV = "dev"

# Environment variables that override ports, so two workspaces can run side by side.
ENV_VAR_OVERRIDES = {
    "DP_KAFKA_PORT": "platform.services.kafka.port",
    "DP_KAFKA_CONTROLLER_PORT": "platform.services.kafka.controller_port",
    "DP_SPARK_PORT": "platform.services.spark.port",
    "DP_SPARK_UI_PORT": "platform.services.spark.ui_port",
    "DP_SPARK_MASTER_PORT": "platform.services.spark.cluster.master_port",
    "DP_SPARK_MASTER_UI_PORT": "platform.services.spark.cluster.master_ui_port",
    "DP_SERVE_PORT": "platform.serve.port",
    "DP_METRICS_PORT": "platform.metrics.port",
    "DP_GATEWAY_PORT": "platform.serve.gateway_port",
    "DP_API_PORT": "platform.serve.api_port",  # the first of five consecutive ports
    "DP_S3PROXY_PORT": "platform.services.s3proxy.port",
    # The lake's root (a test's or a deployment's bucket): every process of `dp` inherits it.
    "DP_LAKE_URI": "platform.storage.lake_uri",
    # false: `dp run` runs every selected notebook (the test session sets it; see runners.freshness)
    "DP_SKIP_UP_TO_DATE": "platform.runner.skip_up_to_date",
}

# Secret parameters: set only from these environment variables, never in a parameters file or on
# the command line, so that they never reach run.json, a run record or an executed notebook
# (overrides are recorded and injected; the environment is not). The workspace's hash key
# (DP_HASH_KEY, shared_lib.subject_hash) and the API keys (shared_lib.api.keys) are secrets too,
# kept outside the parameters altogether.
SECRET_PARAMS = {
    "operational-metrics.alerts.webhook_url": "DP_ALERT_WEBHOOK_URL",
}

# Keys whose values name something (a product, layer, notebook, kernel, table): names only,
# never code, a path or shell text.
NAME_KEYS = frozenset({"layer", "notebook", "kernel", "products", "tables", "name", "product"})
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]*$")
# Keys whose values are file-system paths: relative to the workspace and inside it.
PATH_KEY_SUFFIXES = ("_dir", "_file", "_path")
# URL paths of a web site (the funnel's page_path), not files.
URL_PATH_KEYS = frozenset({"page_path"})
MAX_TEXT = 4096


class ParameterError(UserError, ValueError):
    """A parameter file, key or value that cannot be used; the message names file and key."""


def environments(root: Path | None = None) -> list[str]:
    root = root or paths.PARAMETERS_DIR
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "base")


def resolve_env(env: str | None) -> str:
    return env or os.environ.get("DP_ENV") or DEFAULT_ENV


def load(env: str | None = None, overrides: Iterable[str] | Mapping[str, Any] = (),
         root: Path | None = None, environ: Mapping[str, str] | None = None) -> dict:
    """Load the parameter set of ``env``.

    ``overrides`` are ``"file.key.sub=value"`` strings (values parsed as YAML scalars) or a
    mapping of dotted keys to values.
    """
    root = root or paths.PARAMETERS_DIR
    environ = os.environ if environ is None else environ
    env = resolve_env(env)
    known = environments(root)
    if env not in known:
        raise ParameterError(f"unknown environment {env!r}: expected one of {', '.join(known)} "
                             f"(folders of {root})")
    params: dict[str, Any] = {p.stem: _read(p) for p in sorted((root / "base").glob("*.yaml"))}
    for path in sorted((root / env).glob("*.yaml")):
        if path.stem not in params:
            raise ParameterError(f"{path}: no parameters/base/{path.name} declares these parameters")
        _merge(params[path.stem], _read(path), source=str(path), prefix=path.stem)
    for var, key in ENV_VAR_OVERRIDES.items():
        if environ.get(var):
            _set(params, key, _parse_scalar(environ[var]), source=f"environment variable {var}")
    for key, value in parse_overrides(overrides):
        if key in SECRET_PARAMS:
            raise ParameterError(f"command line: {key!r} is secret: set it with the environment variable "
                                 f"{SECRET_PARAMS[key]} instead (overrides are recorded in run.json)")
        _set(params, key, value, source="command line")
    for key, var in SECRET_PARAMS.items():
        if key.split(".")[0] not in params:  # a parameter set without that file (tests)
            continue
        if get(params, key) != get_declared(root, key):
            raise ParameterError(f"parameters/{env}/{key.split('.')[0]}.yaml: {key!r} is secret: leave it "
                                 f"empty and set the environment variable {var} instead")
        if environ.get(var):
            _set(params, key, environ[var], source=f"environment variable {var}")
    params["env"] = env
    return params


def get_declared(root: Path, dotted: str) -> Any:
    """The value that parameters/base declares for ``dotted``."""
    name, _, rest = dotted.partition(".")
    return get(_read(root / "base" / f"{name}.yaml"), rest)


def secret_values(params: Mapping) -> list[str]:
    """The secret parameters' values that are set (to keep out of anything written)."""
    values = (get(params, key) for key in SECRET_PARAMS if key.split(".")[0] in params)
    return [v for v in values if isinstance(v, str) and v]


def check_plain(value: Any, source: str, dotted: str) -> None:
    """Refuse a value that is not plain data, could leave the workspace or is code where a name
    is expected. Raises ParameterError naming ``source`` and ``dotted``."""
    key = dotted.rsplit(".", 1)[-1]
    if isinstance(value, dict):
        for k, v in value.items():
            check_plain(v, source, f"{dotted}.{k}")
        return
    if isinstance(value, list):
        for item in value:
            check_plain(item, source, f"{dotted}[]" if key in NAME_KEYS else dotted)
        return
    if value is None or isinstance(value, (bool, int, float)):
        return
    if not isinstance(value, str):
        raise ParameterError(f"{source}: parameter {dotted!r} must be plain text, a number or a boolean, "
                             f"got {type(value).__name__}")
    if len(value) > MAX_TEXT or any(ord(c) < 32 and c not in "\t" for c in value):
        raise ParameterError(f"{source}: parameter {dotted!r} must be one line of at most {MAX_TEXT} "
                             f"characters without control characters")
    if key.rstrip("[]") in NAME_KEYS and value and (not NAME.match(value) or ".." in value):
        raise ParameterError(f"{source}: parameter {dotted!r} must be a name (letters, digits, _ . : -), "
                             f"got {value!r}")
    if key.endswith(PATH_KEY_SUFFIXES) and key not in URL_PATH_KEYS:
        _check_path(value, source, dotted)


def _check_path(value: str, source: str, dotted: str) -> None:
    """A path parameter stays inside the workspace: relative without ``..``, or absolute under it."""
    path = Path(value)
    inside = not path.is_absolute() or path.resolve().is_relative_to(paths.workspace().resolve())
    if ".." in path.parts or not inside:
        raise ParameterError(f"{source}: parameter {dotted!r} must be a path inside the workspace "
                             f"({paths.workspace()}), relative to it and without '..', got {value!r}")


def get(params: Mapping, dotted: str) -> Any:
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ParameterError(f"unknown parameter {dotted!r}")
        node = node[part]
    return node


# libyaml's parser when installed (the same safe constructor): ten times faster, and every page of
# a dashboard reads the parameters (0.5 s of the console's page with the Python parser).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(), Loader=_LOADER) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of parameters at the top level")
    return data


def parse_overrides(overrides) -> list[tuple[str, Any]]:
    """Overrides as (dotted key, value) pairs: ``"a.b=1"`` strings parsed as YAML scalars, or a mapping."""
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    items = []
    for text in overrides:
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"command line: override {text!r} is not of the form file.key=value")
        items.append((key.strip(), _parse_scalar(raw)))
    return items


def _parse_scalar(raw: str) -> Any:
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        return raw
    # A date stays text: YAML would make 2024-05-01 a date, which neither matches a parameter
    # declared as text nor survives the JSON that carries overrides into notebooks.
    return raw.strip() if isinstance(value, (dt.date, dt.datetime)) else value


def _merge(base: dict, layer: dict, source: str, prefix: str) -> None:
    for key, value in layer.items():
        dotted = f"{prefix}.{key}"
        if key not in base:
            raise ParameterError(f"{source}: unknown parameter {dotted!r} (not declared in parameters/base)")
        if isinstance(base[key], dict) and isinstance(value, dict):
            _merge(base[key], value, source, dotted)
        else:
            base[key] = _checked(base[key], value, source, dotted)


def _set(params: dict, dotted: str, value: Any, source: str) -> None:
    parts = dotted.split(".")
    node = params
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            raise ParameterError(f"{source}: unknown parameter {'.'.join(parts[:i + 1])!r}")
        if i == len(parts) - 1:
            node[part] = _checked(node[part], value, source, dotted)
        else:
            node = node[part]


def _checked(declared: Any, value: Any, source: str, dotted: str) -> Any:
    """``value`` if it has the type that base declared for ``dotted`` (null in base: any type)
    and is plain (``check_plain``)."""
    check_plain(value, source, dotted)
    if declared is None:
        return copy.deepcopy(value)
    expected = type(declared)
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if isinstance(declared, dict) and isinstance(value, dict):
        merged = copy.deepcopy(declared)
        _merge(merged, value, source, dotted)
        return merged
    if not ok:
        raise ParameterError(f"{source}: parameter {dotted!r} must be {expected.__name__} "
                             f"(as in parameters/base), got {value!r}")
    return copy.deepcopy(value)
