"""schemathesis over the gateway's OpenAPI as `dp serve` serves it (the gateway and the platform
API), served for real: no answer is a 5xx and every answer matches its documented schema. The
registry has an upstream that answers and a disabled one (a service that is down would rightly
answer 502, which is not what this test is about); requests carry an admin key, and a run that
POST /platform/runs starts is a stand-in that exits at once."""
import json
import sys

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from runners.gateway import app as gateway_app
from runners.gateway import platform_api
from runners.gateway import registry as reg
from shared_lib.api.context import ApiContext
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks
from tests.local_server import serving, upstream_app


def quick_run(run_id, request, env):
    return [sys.executable, "-c", "import sys; sys.exit(1)"]


def gateway(upstream: str, keys: KeyStore | None = None):
    services = [{"name": "web", "base_url": upstream}, {"name": "audit", "base_url": upstream, "enabled": False}]
    context = ApiContext(service="platform-api-gateway", product="platform", params={"env": "dev"},
                         keys=keys or KeyStore(), sinks=Sinks.memory())
    return gateway_app.create_app(reg.config({reg.GLOBAL_VAR: json.dumps(services)}), context=context,
                                  routers=(platform_api.platform_router(quick_run),))


# The document does not depend on the registry or the keys: read it from an app never served.
schema = schemathesis.openapi.from_dict(gateway("http://127.0.0.1:9").openapi())


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory):
    keys = KeyStore(tmp_path_factory.mktemp("keys") / "keys.json")
    admin_key, _ = keys.create("admin")
    with serving(upstream_app()) as upstream, serving(gateway(upstream, keys)) as base:
        yield base, {"Authorization": f"Bearer {admin_key}"}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_gateway_never_answers_5xx_and_matches_its_schema(case, gateway_url):
    base, headers = gateway_url
    case.call_and_validate(base_url=base, headers=headers, checks=[not_a_server_error, response_schema_conformance])
