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
    "DP_SERVE_PORT": "platform.serve.port",
    "DP_METRICS_PORT": "platform.metrics.port",
    "DP_GATEWAY_PORT": "platform.serve.gateway_port",
    "DP_API_PORT": "platform.serve.api_port",  # the first of five consecutive ports
    # false: `dp run` runs every selected notebook (the test session sets it; see runners.freshness)
    "DP_SKIP_UP_TO_DATE": "platform.runner.skip_up_to_date",
}


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
        _set(params, key, value, source="command line")
    params["env"] = env
    return params


def get(params: Mapping, dotted: str) -> Any:
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ParameterError(f"unknown parameter {dotted!r}")
        node = node[part]
    return node


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
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
    """``value`` if it has the type that base declared for ``dotted`` (null in base: any type)."""
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
