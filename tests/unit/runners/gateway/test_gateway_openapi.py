"""schemathesis over the gateway's OpenAPI, served for real: no answer is a 5xx and every answer
matches its documented schema. The registry has an upstream that answers and a disabled one (a
service that is down would rightly answer 502, which is not what this test is about)."""
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from runners.gateway import app as gateway_app
from runners.gateway import registry as reg
from tests.local_server import serving, upstream_app


def gateway(upstream: str):
    services = [{"name": "web", "base_url": upstream}, {"name": "audit", "base_url": upstream, "enabled": False}]
    return gateway_app.create_app(reg.config({reg.GLOBAL_VAR: json.dumps(services)}))


# The document does not depend on the registry: read it from an app that is never served.
schema = schemathesis.openapi.from_dict(gateway("http://127.0.0.1:9").openapi())


@pytest.fixture(scope="module")
def gateway_url():
    with serving(upstream_app()) as upstream, serving(gateway(upstream)) as base:
        yield base


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_gateway_never_answers_5xx_and_matches_its_schema(case, gateway_url):
    case.call_and_validate(base_url=gateway_url, checks=[not_a_server_error, response_schema_conformance])
