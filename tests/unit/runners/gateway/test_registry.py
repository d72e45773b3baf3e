"""The gateway's registry and transport from environment variables (gateway.md): every row of the
precedence table, and every malformed input refused with the variable named, never falling
through to the next source."""
import json

import pytest

from runners.gateway import registry as reg
from runners.gateway.registry import GatewayConfigError, Service

GLOBAL, BY_ENV = reg.GLOBAL_VAR, reg.BY_ENV_VAR
DEV, STAGING, PROD = "PLATFORM_PRODUCT_SERVICES_DEV_JSON", "PLATFORM_PRODUCT_SERVICES_STAGING_JSON", \
    "PLATFORM_PRODUCT_SERVICES_PROD_JSON"


def listed(*names: str) -> str:
    return json.dumps([{"name": n, "base_url": f"http://{n}.example:9000"} for n in names])


def names(registry: reg.Registry) -> list[str]:
    return [s.name for s in registry.services]


DEFAULT_NAMES = list(reg.PRODUCTS)

# (case, environment variables, active environment, source, service names, overrides set)
PRECEDENCE = [
    ("nothing set: the defaults", {}, "dev", "defaults", DEFAULT_NAMES, ()),
    ("global wins over everything", {GLOBAL: listed("g"), BY_ENV: json.dumps({"dev": json.loads(listed("m"))}),
                                     DEV: listed("s")}, "dev", "global", ["g"], ("global", "env_map", "env_specific")),
    ("global [] is an empty registry, not a fall-through", {GLOBAL: "[]", DEV: listed("s")}, "dev", "global", [],
     ("global", "env_specific")),
    ("global applies whatever the environment", {"PLATFORM_ENV": "prod", GLOBAL: listed("g")}, "prod", "global",
     ["g"], ("global",)),
    ("env map: the active environment's list", {"PLATFORM_ENV": "staging",
                                                BY_ENV: json.dumps({"dev": json.loads(listed("d")),
                                                                    "staging": json.loads(listed("st"))})},
     "staging", "env_map", ["st"], ("env_map",)),
    ("env map wins over the env-specific list", {BY_ENV: json.dumps({"dev": json.loads(listed("m"))}),
                                                 DEV: listed("s")}, "dev", "env_map", ["m"],
     ("env_map", "env_specific")),
    ("env map without the active key falls through to env-specific",
     {BY_ENV: json.dumps({"prod": json.loads(listed("p"))}), DEV: listed("s")}, "dev", "env_specific", ["s"],
     ("env_map", "env_specific")),
    ("env map with an empty list falls through to env-specific", {BY_ENV: json.dumps({"dev": []}), DEV: listed("s")},
     "dev", "env_specific", ["s"], ("env_map", "env_specific")),
    ("env map falling through with nothing else: the defaults", {BY_ENV: json.dumps({"dev": []})}, "dev",
     "defaults", DEFAULT_NAMES, ("env_map",)),
    ("env-specific list of the active environment", {"PLATFORM_ENV": "prod", PROD: listed("p1", "p2")}, "prod",
     "env_specific", ["p1", "p2"], ("env_specific",)),
    ("env-specific [] is an empty registry", {DEV: "[]"}, "dev", "env_specific", [], ("env_specific",)),
    ("another environment's list is not used", {"PLATFORM_ENV": "staging", DEV: listed("d")}, "staging",
     "defaults", DEFAULT_NAMES, ()),
    ("PLATFORM_ENV is trimmed and case-insensitive", {"PLATFORM_ENV": "  PrOd \n", PROD: listed("p")}, "prod",
     "env_specific", ["p"], ("env_specific",)),
]


@pytest.mark.parametrize("case, environ, env, source, expected, overrides", PRECEDENCE, ids=[r[0] for r in PRECEDENCE])
def test_the_first_source_that_gives_a_registry_wins(case, environ, env, source, expected, overrides):
    registry = reg.registry(environ)
    assert (registry.environment, registry.source, names(registry)) == (env, source, expected)
    assert registry.overrides == {k: k in overrides for k in ("global", "env_map", "env_specific")}


def test_the_defaults_are_the_five_products_on_consecutive_ports():
    assert reg.registry({}, api_port=8002).services == (
        Service("web-user-analytics", "http://127.0.0.1:8002"),
        Service("mobile-user-analytics", "http://127.0.0.1:8003"),
        Service("user-segmentation", "http://127.0.0.1:8004"),
        Service("operational-metrics", "http://127.0.0.1:8005"),
        Service("compliance-auditing", "http://127.0.0.1:8006"))


def test_the_defaults_move_with_the_api_port_and_use_host_names_outside_dev():
    assert reg.registry({}, api_port=9100).services[4].base_url == "http://127.0.0.1:9104"
    staging = reg.registry({"PLATFORM_ENV": "staging"}, api_port=8002).services
    assert [s.base_url for s in staging] == [
        "http://web-user-analytics.staging:8002", "http://mobile-user-analytics.staging:8003",
        "http://user-segmentation.staging:8004", "http://operational-metrics.staging:8005",
        "http://compliance-auditing.staging:8006"]


def test_a_service_keeps_its_health_path_and_enabled_flag_and_loses_a_trailing_slash():
    environ = {GLOBAL: json.dumps([{"name": " web ", "base_url": "https://web.example/v1/", "health_path": "/ping",
                                    "enabled": False}])}
    assert reg.registry(environ).services == (Service("web", "https://web.example/v1", "/ping", False),)
    assert reg.registry(environ).services[0].url("/kpis/daily") == "https://web.example/v1/kpis/daily"


def ok_item(**changes) -> dict:
    return {"name": "web", "base_url": "http://127.0.0.1:8002", **changes}


def one(item) -> str:
    return json.dumps([item])


# (case, environment variables, what the error must say besides the variable's name)
MALFORMED = [
    ("PLATFORM_ENV unknown", {"PLATFORM_ENV": "production"}, "PLATFORM_ENV", "dev, staging, prod"),
    ("PLATFORM_ENV empty", {"PLATFORM_ENV": " "}, "PLATFORM_ENV", "expected one of"),
    ("invalid JSON", {GLOBAL: "[{"}, GLOBAL, "not valid JSON"),
    ("empty value", {GLOBAL: ""}, GLOBAL, "set but empty"),
    ("an object where a list is expected", {GLOBAL: one(ok_item())[1:-1]}, GLOBAL, "is an object, expected a JSON list"),
    ("a list where an object is expected", {BY_ENV: "[]"}, BY_ENV, "is a list, expected a JSON object"),
    ("an env map's value that is not a list", {BY_ENV: json.dumps({"dev": ok_item()})}, BY_ENV,
     "is an object, expected a JSON list"),
    ("an env map key that is no environment", {BY_ENV: json.dumps({"production": []})}, BY_ENV,
     "unknown environment key(s) 'production'"),
    ("an item that is not an object", {DEV: json.dumps(["web"])}, DEV, "item 1 is a string, expected an object"),
    ("a missing name", {GLOBAL: one({"base_url": "http://a"})}, GLOBAL, "'name' is missing or empty"),
    ("an empty name", {GLOBAL: one(ok_item(name="  "))}, GLOBAL, "'name' is missing or empty"),
    ("a name that is not a string", {GLOBAL: one(ok_item(name=7))}, GLOBAL, "'name' is missing or empty"),
    ("a missing base_url", {GLOBAL: one({"name": "web"})}, GLOBAL, "'base_url' is missing or empty"),
    ("an empty base_url", {GLOBAL: one(ok_item(base_url=""))}, GLOBAL, "'base_url' is missing or empty"),
    ("a base_url that is not http(s)", {GLOBAL: one(ok_item(base_url="ftp://files"))}, GLOBAL,
     "base_url 'ftp://files' is not an http(s) URL"),
    ("a base_url without a host", {GLOBAL: one(ok_item(base_url="http://"))}, GLOBAL, "is not an http(s) URL"),
    ("a base_url without a scheme", {GLOBAL: one(ok_item(base_url="127.0.0.1:8002"))}, GLOBAL,
     "is not an http(s) URL"),
    ("a duplicate name", {GLOBAL: json.dumps([ok_item(), ok_item(base_url="http://other")])}, GLOBAL,
     "'web' appears more than once"),
    ("enabled as the string 'false'", {GLOBAL: one(ok_item(enabled="false"))}, GLOBAL,
     'enabled is "false", expected the JSON boolean'),
    ("enabled as a number", {GLOBAL: one(ok_item(enabled=0))}, GLOBAL, "enabled is 0, expected the JSON boolean"),
    ("an unknown key", {GLOBAL: one(ok_item(timeout=3))}, GLOBAL, "unknown key(s) 'timeout'"),
    ("a health_path without a leading slash", {GLOBAL: one(ok_item(health_path="health"))}, GLOBAL,
     "health_path 'health' must be a path"),
    # A malformed variable stops start-up even where a higher source would win: never skipped.
    ("a malformed env map under a valid global list", {GLOBAL: "[]", BY_ENV: "{"}, BY_ENV, "not valid JSON"),
    ("a malformed env-specific list under a valid env map", {BY_ENV: json.dumps({"dev": json.loads(listed("m"))}),
                                                             DEV: json.dumps({})}, DEV, "is an object"),
    ("a malformed list of another environment", {PROD: "nope"}, PROD, "not valid JSON"),
    ("an env map's bad item in another environment's list", {BY_ENV: json.dumps({"prod": [ok_item(enabled="yes")]})},
     "PLATFORM_PRODUCT_SERVICES_BY_ENV_JSON['prod']", "enabled"),
    ("timeout not a number", {reg.TIMEOUT_VAR: "ten"}, reg.TIMEOUT_VAR, "> 0"),
    ("timeout zero", {reg.TIMEOUT_VAR: "0"}, reg.TIMEOUT_VAR, "> 0"),
    ("timeout negative", {reg.TIMEOUT_VAR: "-1"}, reg.TIMEOUT_VAR, "> 0"),
    ("timeout infinite", {reg.TIMEOUT_VAR: "inf"}, reg.TIMEOUT_VAR, "> 0"),
    ("timeout NaN", {reg.TIMEOUT_VAR: "nan"}, reg.TIMEOUT_VAR, "> 0"),
    ("retries negative", {reg.RETRIES_VAR: "-1"}, reg.RETRIES_VAR, ">= 0"),
    ("retries a fraction", {reg.RETRIES_VAR: "1.5"}, reg.RETRIES_VAR, "whole number"),
    ("retries empty", {reg.RETRIES_VAR: ""}, reg.RETRIES_VAR, "whole number"),
]


@pytest.mark.parametrize("case, environ, variable, says", MALFORMED, ids=[r[0] for r in MALFORMED])
def test_a_malformed_variable_stops_start_up_naming_it(case, environ, variable, says):
    with pytest.raises(GatewayConfigError) as refused:
        reg.config(environ)
    assert variable in str(refused.value)
    assert says in str(refused.value)


def test_transport_defaults_and_values():
    assert reg.transport({}) == reg.Transport(timeout_s=10.0, max_retries=1)
    assert reg.transport({reg.TIMEOUT_VAR: "2.5", reg.RETRIES_VAR: " 0 "}) == reg.Transport(2.5, 0)
