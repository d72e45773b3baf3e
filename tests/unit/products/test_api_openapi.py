"""schemathesis over the OpenAPI of each product API, on the hand-written tables of every
product: no answer is a 5xx, every status is documented and every body matches its schema.

Calls carry an admin key and a purpose, so that generated parameters reach the endpoints' own
validation and queries (the role matrix covers keys and roles)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from runners import apis
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks
from tests import api_data

# Inside the session's workspace (tests/conftest.py), so it goes when the session ends.
WORKSPACE = Path(tempfile.mkdtemp(prefix="api-openapi-", dir=os.environ.get("DP_HOME")))
KEYS = KeyStore(WORKSPACE / "keys.json")
ADMIN, _ = KEYS.create("admin", "schemathesis")
HEADERS = {"X-API-Key": ADMIN, "X-Purpose": "compliance"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
APPS = {product: apis.create_app(product, params={}, sinks=Sinks.memory(), keys=KEYS) for product in apis.PRODUCTS}
SCHEMAS = {product: schemathesis.openapi.from_asgi("/openapi.json", app) for product, app in APPS.items()}


@pytest.fixture(scope="module", autouse=True)
def workspace():
    """Every product's test tables in this module's workspace."""
    before = os.environ.get("DP_HOME")
    os.environ["DP_HOME"] = str(WORKSPACE)
    for write in (api_data.write_web, api_data.write_mobile, api_data.write_segmentation, api_data.write_ops,
                  api_data.write_compliance):
        write()
    yield
    if before is None:
        os.environ.pop("DP_HOME", None)
    else:
        os.environ["DP_HOME"] = before


def _check(case) -> None:
    case.call_and_validate(headers=HEADERS, checks=CHECKS)


EXAMPLES = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))


@SCHEMAS["web-user-analytics"].parametrize()
@EXAMPLES
def test_web_api_matches_its_openapi(case):
    _check(case)


@SCHEMAS["mobile-user-analytics"].parametrize()
@EXAMPLES
def test_mobile_api_matches_its_openapi(case):
    _check(case)


@SCHEMAS["user-segmentation"].parametrize()
@EXAMPLES
def test_segmentation_api_matches_its_openapi(case):
    _check(case)


@SCHEMAS["operational-metrics"].parametrize()
@EXAMPLES
def test_operational_metrics_api_matches_its_openapi(case):
    _check(case)


@SCHEMAS["compliance-auditing"].parametrize()
@EXAMPLES
def test_compliance_api_matches_its_openapi(case):
    _check(case)
