"""The role matrix of the five product APIs: every role (and no key) against every endpoint.

The expectations are written out here, endpoint by endpoint, not derived from the code; the
test also checks that each API documents exactly these roles (``x-roles``) and that no endpoint
of an OpenAPI document is missing from the table.
"""
from __future__ import annotations

import functools
import sys

import pytest

from runners import apis
from shared_lib.api import roles
from tests import api_client, api_data

LADDER = {"viewer", "analyst", "operator", "admin"}
FROM_ANALYST = {"analyst", "operator", "admin"}
FROM_OPERATOR = {"operator", "admin"}
AUDITOR_ADMIN = {"auditor", "admin"}

# (product, method, path template, a concrete request, body) -> the roles it admits
MATRIX = [
    ("web-user-analytics", "get", "/kpis/daily", "/kpis/daily", None, LADDER),
    ("web-user-analytics", "get", "/kpis/daily/by-channel", "/kpis/daily/by-channel", None, LADDER),
    ("web-user-analytics", "get", "/kpis/daily/by-device", "/kpis/daily/by-device", None, LADDER),
    ("web-user-analytics", "get", "/kpis/daily/by-country", "/kpis/daily/by-country", None, LADDER),
    ("web-user-analytics", "get", "/pages", "/pages", None, LADDER),
    ("web-user-analytics", "get", "/funnel", "/funnel", None, LADDER),
    ("web-user-analytics", "get", "/funnel/daily", "/funnel/daily", None, LADDER),
    ("web-user-analytics", "get", "/visitors/{subject_id}/journey", "/visitors/v1/journey", None,
     FROM_ANALYST | {"auditor"}),
    ("mobile-user-analytics", "get", "/active-users", "/active-users", None, LADDER),
    ("mobile-user-analytics", "get", "/kpis/daily", "/kpis/daily", None, LADDER),
    ("mobile-user-analytics", "get", "/retention", "/retention", None, LADDER),
    ("mobile-user-analytics", "get", "/crash-free", "/crash-free", None, LADDER),
    ("mobile-user-analytics", "get", "/versions/adoption", "/versions/adoption", None, LADDER),
    ("user-segmentation", "get", "/segments", "/segments", None, LADDER),
    ("user-segmentation", "get", "/segments/movement", "/segments/movement", None, LADDER),
    ("user-segmentation", "get", "/clusters", "/clusters", None, LADDER),
    ("user-segmentation", "get", "/segments/{segment}/customers", "/segments/Champions/customers", None, LADDER),
    ("user-segmentation", "get", "/customers/{user_id}", "/customers/u1", None, FROM_ANALYST | {"auditor"}),
    ("user-segmentation", "get", "/at-risk", "/at-risk", None, FROM_ANALYST | {"auditor"}),
    ("user-segmentation", "post", "/classify", "/classify", {"recency_days": 1, "frequency": 1, "monetary": 1.0},
     LADDER),
    ("operational-metrics", "get", "/sla", "/sla", None, LADDER),
    ("operational-metrics", "get", "/sla/history", "/sla/history", None, LADDER),
    ("operational-metrics", "get", "/sla/evaluations", "/sla/evaluations", None, LADDER),
    ("operational-metrics", "get", "/runs", "/runs", None, FROM_OPERATOR),
    ("operational-metrics", "get", "/freshness", "/freshness", None, LADDER),
    ("operational-metrics", "get", "/consumer-lag", "/consumer-lag", None, LADDER),
    ("operational-metrics", "get", "/alerts", "/alerts", None, FROM_OPERATOR),
    ("operational-metrics", "get", "/requests/hourly", "/requests/hourly", None, LADDER),
    ("compliance-auditing", "get", "/audit", "/audit", None, AUDITOR_ADMIN),
    ("compliance-auditing", "get", "/subjects/{subject_id}/consent", "/subjects/v1/consent", None,
     FROM_ANALYST | {"auditor"}),
    ("compliance-auditing", "get", "/kpis/daily", "/kpis/daily", None, FROM_OPERATOR | {"auditor"}),
    ("compliance-auditing", "get", "/retention", "/retention", None, FROM_OPERATOR | {"auditor"}),
    ("compliance-auditing", "post", "/dsar", "/dsar", {"subject_id": "v1", "kind": "access"}, AUDITOR_ADMIN),
    ("compliance-auditing", "get", "/dsar/{request_id}", "/dsar/dsar-unknown", None, AUDITOR_ADMIN),
]
WRITERS = {"web-user-analytics": api_data.write_web, "mobile-user-analytics": api_data.write_mobile,
           "user-segmentation": api_data.write_segmentation, "operational-metrics": api_data.write_ops,
           "compliance-auditing": api_data.write_compliance}

# POST /dsar starts a process: here one that reads the subject and does nothing (no dp dsar at work).
STAND_INS = {"compliance-auditing": {"dsar_command": lambda request_id, kind: [
    sys.executable, "-c", "import sys; sys.stdin.read()"]}}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Every product's API over one workspace holding every product's test tables."""
    mp = pytest.MonkeyPatch()
    workspace = tmp_path_factory.mktemp("ws")
    clients = {product: api_client.api(functools.partial(apis.create_app, product, **STAND_INS.get(product, {})),
                                       workspace / product, mp)
               for product in apis.PRODUCTS}
    mp.setenv("DP_HOME", str(workspace))
    for write in WRITERS.values():
        write()
    yield clients
    mp.undo()


def _call(api, method, url, body, role):
    # A purpose always: the matrix is about roles; purposes have their own tests.
    if method == "post":
        return api.post(url, body, role, purpose="compliance")
    return api.get(url, role, purpose="compliance")


@pytest.mark.parametrize("role", [*roles.ROLES, None])
@pytest.mark.parametrize("product,method,template,url,body,admitted", MATRIX,
                         ids=[f"{m[0]} {m[1].upper()} {m[2]}" for m in MATRIX])
def test_each_role_against_each_endpoint(served, product, method, template, url, body, admitted, role):
    api = served[product]
    before = len(api.sinks.audits)
    resp = _call(api, method, url, body, role)
    if role is None:
        assert resp.status_code == 401
    elif role in admitted:
        # admitted: answered (a request id that does not exist is a 404; a DSAR is accepted, 202)
        assert resp.status_code == (404 if url.endswith("unknown") else 202 if url == "/dsar" else 200), resp.json()
    else:
        assert resp.status_code == 403
    if resp.status_code in (401, 403):  # every refusal is in the audit trail
        [denied] = api.sinks.audits[before:]
        assert denied["result"] == "denied" and denied["resource"] == f"{product}-api:{template}"
        assert denied.get("actor_role") == role


@pytest.mark.parametrize("product", apis.PRODUCTS)
def test_each_api_documents_the_roles_of_the_matrix_and_nothing_is_left_out(served, product):
    schema = served[product].client.get("/openapi.json").json()
    documented = {(method, path): op.get("x-roles") for path, ops in schema["paths"].items()
                  for method, op in ops.items() if path != "/health"}
    expected = {(m, t): [r for r in roles.ROLES if r in admitted]
                for p, m, t, _, _, admitted in MATRIX if p == product}
    assert documented == expected


def test_a_revoked_key_is_refused_by_every_api_while_another_key_of_its_role_still_works(served):
    for product, api in served.items():
        spare, _ = api.store.create("admin", f"spare-{product}")
        api.store.revoke(f"spare-{product}")
        assert api.get("/health").status_code == 200
        url = next(u for p, m, _, u, _, _ in MATRIX if p == product and m == "get")
        assert api.client.get(url, headers={"X-API-Key": spare, "X-Purpose": "compliance"}).status_code == 401
        assert api.get(url, "admin", purpose="compliance").status_code in (200, 404)
