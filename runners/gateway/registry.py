"""The gateway's configuration from environment variables, as pure functions: an environment
mapping in, a ``GatewayConfig`` out, or a ``GatewayConfigError`` naming the variable and what is
wrong with it. Nothing falls back silently: a variable that is set is used or refused.

The registry comes from the first of four sources that gives one (gateway.md):

1. ``PLATFORM_PRODUCT_SERVICES_JSON``: a JSON list, whatever the environment (``[]``: empty);
2. ``PLATFORM_PRODUCT_SERVICES_BY_ENV_JSON``: ``{env: list}``; a missing key or ``[]`` falls through;
3. ``PLATFORM_PRODUCT_SERVICES_<ENV>_JSON``: a JSON list for the active environment (``[]``: empty);
4. the built-in defaults: the five products on consecutive ports from the API port.

Every registry variable that is set is checked, also one that a higher source shadows or one of
another environment: a malformed one stops start-up rather than waiting to bite on the next switch.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from shared_lib.errors import UserError

ENVIRONMENTS = ("dev", "staging", "prod")
DEFAULT_ENVIRONMENT = "dev"
ENV_VAR = "PLATFORM_ENV"
GLOBAL_VAR = "PLATFORM_PRODUCT_SERVICES_JSON"
BY_ENV_VAR = "PLATFORM_PRODUCT_SERVICES_BY_ENV_JSON"
TIMEOUT_VAR = "PLATFORM_GATEWAY_TIMEOUT_SECONDS"
RETRIES_VAR = "PLATFORM_GATEWAY_MAX_RETRIES"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 1
DEFAULT_API_PORT = 8002

# The product APIs in port order: DP_API_PORT + 0 .. + 4 (gateway.md).
PRODUCTS = ("web-user-analytics", "mobile-user-analytics", "user-segmentation", "operational-metrics",
            "compliance-auditing")
SERVICE_KEYS = ("name", "base_url", "health_path", "enabled")
DEFAULT_HEALTH_PATH = "/health"

# What /environment calls each source.
SOURCE_GLOBAL, SOURCE_ENV_MAP, SOURCE_ENV_SPECIFIC, SOURCE_DEFAULTS = "global", "env_map", "env_specific", "defaults"


class GatewayConfigError(UserError, ValueError):
    """A gateway variable that is set but cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Service:
    name: str
    base_url: str  # without a trailing slash
    health_path: str = DEFAULT_HEALTH_PATH
    enabled: bool = True

    def url(self, path: str) -> str:
        """``base_url`` joined with ``path`` (with or without its leading slash)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Registry:
    environment: str
    source: str  # global | env_map | env_specific | defaults
    overrides: dict[str, bool]  # which registry variables are set: global, env_map, env_specific
    services: tuple[Service, ...]

    def get(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    @property
    def enabled(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.enabled)


@dataclass(frozen=True)
class Transport:
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES


@dataclass(frozen=True)
class GatewayConfig:
    registry: Registry
    transport: Transport


def env_specific_var(environment: str) -> str:
    return f"PLATFORM_PRODUCT_SERVICES_{environment.upper()}_JSON"


def environment(environ: Mapping[str, str]) -> str:
    """``PLATFORM_ENV`` trimmed and lower-cased; unset means dev; anything else is refused."""
    if ENV_VAR not in environ:
        return DEFAULT_ENVIRONMENT
    value = environ[ENV_VAR].strip().lower()
    if value not in ENVIRONMENTS:
        raise GatewayConfigError(f"{ENV_VAR}={environ[ENV_VAR]!r} is not an environment: expected one of "
                                 f"{', '.join(ENVIRONMENTS)} (or unset it for {DEFAULT_ENVIRONMENT})")
    return value


def default_services(env: str, api_port: int = DEFAULT_API_PORT) -> tuple[Service, ...]:
    """The five products: ``http://127.0.0.1:<port>`` in dev, ``http://<name>.<env>:<port>`` elsewhere."""
    return tuple(Service(name, f"http://{'127.0.0.1' if env == 'dev' else f'{name}.{env}'}:{api_port + i}")
                 for i, name in enumerate(PRODUCTS))


def _json(var: str, raw: str):
    if not raw.strip():
        raise GatewayConfigError(f"{var} is set but empty: give a JSON value, or unset it to use the next source")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise GatewayConfigError(f"{var} is not valid JSON: {exc}") from None


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _service(where: str, i: int, item) -> Service:
    at = f"{where}: item {i + 1}"
    if not isinstance(item, dict):
        raise GatewayConfigError(f"{at} is {_kind(item)}, expected an object {{name, base_url, health_path?, enabled?}}")
    unknown = sorted(set(item) - set(SERVICE_KEYS))
    if unknown:
        raise GatewayConfigError(f"{at}: unknown key(s) {', '.join(map(repr, unknown))}: expected "
                                 f"{', '.join(SERVICE_KEYS)}")
    for key in ("name", "base_url"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise GatewayConfigError(f"{at}: {key!r} is missing or empty (a non-empty string is required)")
    name, base_url = item["name"].strip(), item["base_url"].strip().rstrip("/")
    at = f"{where}: service {name!r}"
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GatewayConfigError(f"{at}: base_url {item['base_url']!r} is not an http(s) URL "
                                 "(e.g. http://127.0.0.1:8002)")
    health_path = item.get("health_path", DEFAULT_HEALTH_PATH)
    if not isinstance(health_path, str) or not health_path.startswith("/"):
        raise GatewayConfigError(f"{at}: health_path {health_path!r} must be a path starting with '/'")
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise GatewayConfigError(f"{at}: enabled is {json.dumps(enabled)}, expected the JSON boolean true or false")
    return Service(name, base_url, health_path, enabled)


def service_list(where: str, value) -> tuple[Service, ...]:
    """A JSON list of service objects, checked item by item; ``where`` names the variable (and key)."""
    if not isinstance(value, list):
        raise GatewayConfigError(f"{where} is {_kind(value)}, expected a JSON list of services")
    services = tuple(_service(where, i, item) for i, item in enumerate(value))
    seen: set[str] = set()
    for service in services:
        if service.name in seen:
            raise GatewayConfigError(f"{where}: service name {service.name!r} appears more than once")
        seen.add(service.name)
    return services


def _env_map(value) -> dict[str, tuple[Service, ...]]:
    if not isinstance(value, dict):
        raise GatewayConfigError(f"{BY_ENV_VAR} is {_kind(value)}, expected a JSON object {{environment: list}}")
    unknown = sorted(set(value) - set(ENVIRONMENTS))
    if unknown:
        raise GatewayConfigError(f"{BY_ENV_VAR}: unknown environment key(s) {', '.join(map(repr, unknown))}: "
                                 f"expected {', '.join(ENVIRONMENTS)}")
    return {env: service_list(f"{BY_ENV_VAR}[{env!r}]", services) for env, services in value.items()}


def registry(environ: Mapping[str, str], api_port: int = DEFAULT_API_PORT) -> Registry:
    """The registry of the active environment from the first source that gives one."""
    env = environment(environ)
    specific_var = env_specific_var(env)
    # Every set variable is parsed (and so checked) before the first match is taken.
    global_list = service_list(GLOBAL_VAR, _json(GLOBAL_VAR, environ[GLOBAL_VAR])) if GLOBAL_VAR in environ else None
    env_map = _env_map(_json(BY_ENV_VAR, environ[BY_ENV_VAR])) if BY_ENV_VAR in environ else None
    specific = {e: service_list(env_specific_var(e), _json(env_specific_var(e), environ[env_specific_var(e)]))
                for e in ENVIRONMENTS if env_specific_var(e) in environ}
    overrides = {SOURCE_GLOBAL: global_list is not None, SOURCE_ENV_MAP: env_map is not None,
                 SOURCE_ENV_SPECIFIC: specific_var in environ}
    if global_list is not None:
        source, services = SOURCE_GLOBAL, global_list
    elif env_map and env_map.get(env):
        source, services = SOURCE_ENV_MAP, env_map[env]
    elif env in specific:
        source, services = SOURCE_ENV_SPECIFIC, specific[env]
    else:
        source, services = SOURCE_DEFAULTS, default_services(env, api_port)
    return Registry(env, source, overrides, services)


def transport(environ: Mapping[str, str]) -> Transport:
    """Timeout (a float > 0) and retries (an int >= 0), each from its variable when set."""
    timeout_s, retries = DEFAULT_TIMEOUT_S, DEFAULT_MAX_RETRIES
    if TIMEOUT_VAR in environ:
        raw = environ[TIMEOUT_VAR]
        try:
            timeout_s = float(raw)
        except ValueError:
            timeout_s = math.nan
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise GatewayConfigError(f"{TIMEOUT_VAR}={raw!r} must be a number of seconds > 0 (e.g. 10 or 2.5)")
    if RETRIES_VAR in environ:
        raw = environ[RETRIES_VAR]
        if not raw.strip().isdigit():
            raise GatewayConfigError(f"{RETRIES_VAR}={raw!r} must be a whole number >= 0 (e.g. 1)")
        retries = int(raw)
    return Transport(timeout_s, retries)


def config(environ: Mapping[str, str], api_port: int = DEFAULT_API_PORT) -> GatewayConfig:
    return GatewayConfig(registry(environ, api_port), transport(environ))
