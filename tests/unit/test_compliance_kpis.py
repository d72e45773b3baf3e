"""The daily compliance KPIs of metrics.md on a hand-built audit trail and consent history, with
values worked out by hand: audit events by action and result, denied accesses, personal-data
reads without a purpose, consent coverage with a withdrawal and a re-grant."""
from __future__ import annotations

import datetime as dt

import pytest

from products.compliance_auditing import kpis
from shared_lib import products

D1, D2 = dt.date(2024, 3, 10), dt.date(2024, 3, 11)
EVENTS = "web-user-analytics.silver.events"
PERSONAL = {EVENTS: ["anonymous_id", "ip"]}
H = "0" * 64  # a subject hash
AUDIT_SCHEMA = ("event_date date, action string, result string, purpose string, resource string, "
                "columns array<string>, subject_hash string")
AUDIT = [
    (D1, "read", "success", "analytics", "/users/{id}", None, H),  # personal, with a purpose
    (D1, "read", "success", None, "/users/{id}", None, H),  # personal (names a subject), no purpose
    (D1, "read", "success", None, EVENTS, ["page_path"], None),  # no tagged column: not personal
    (D1, "read", "success", None, EVENTS, ["page_path", "ip"], None),  # a tagged column, no purpose
    (D1, "read", "denied", None, "/users/{id}", None, H),  # denied: nothing was read
    (D1, "export", "success", None, EVENTS, None, H),  # an export, not a read
    (D1, "login", "failure", None, "/login", None, None),
    (D2, "read", "success", None, EVENTS, None, None),  # the whole table, no purpose
    (D2, "delete", "denied", "legal", EVENTS, None, H),
]
T1, T2 = dt.datetime(2024, 3, 10), dt.datetime(2024, 3, 11)
CONSENT = [  # event_id, subject, ts, purpose, granted
    ("c1", "s1", T1 + dt.timedelta(hours=10), "analytics", True),
    ("c2", "s1", T1 + dt.timedelta(hours=12), "analytics", False),  # withdrawal
    ("c3", "s2", T1 + dt.timedelta(hours=11), "analytics", False),
    ("c4", "s1", T2 + dt.timedelta(hours=9), "analytics", True),  # re-grant the next day
    ("c5", "s1", T2 + dt.timedelta(hours=8), "marketing", True),
]


def as_dict(df):
    return {(r["date"], r["kpi"], r["dimension"], r["dimension_value"]): r["value"] for r in df.collect()}


@pytest.mark.integration
def test_audit_kpis_by_hand(spark):
    got = as_dict(kpis.audit_kpis(spark.createDataFrame(AUDIT, AUDIT_SCHEMA), PERSONAL))
    assert got == {
        (D1, "audit_events", "action/result", "read/success"): 4.0,
        (D1, "audit_events", "action/result", "read/denied"): 1.0,
        (D1, "audit_events", "action/result", "export/success"): 1.0,
        (D1, "audit_events", "action/result", "login/failure"): 1.0,
        (D1, "audit_events", "all", "all"): 7.0,
        (D1, "denied_accesses", "all", "all"): 1.0,
        (D1, "reads_without_purpose", "all", "all"): 2.0,
        (D2, "audit_events", "action/result", "read/success"): 1.0,
        (D2, "audit_events", "action/result", "delete/denied"): 1.0,
        (D2, "audit_events", "all", "all"): 2.0,
        (D2, "denied_accesses", "all", "all"): 1.0,
        (D2, "reads_without_purpose", "all", "all"): 1.0,
    }


@pytest.mark.integration
def test_consent_kpis_withdrawal_then_regrant(spark):
    history = spark.createDataFrame(
        [(e, s, ts, ts.date(), p, g) for e, s, ts, p, g in CONSENT],
        "event_id string, subject_id string, event_ts timestamp, event_date date, purpose string, granted boolean")
    got = as_dict(kpis.consent_kpis(history, [D2, D1]))
    expected = {}
    # D1: s1 withdrew after granting, s2 withdrew; no marketing decision yet (no rows)
    for kpi, value in (("consent_subjects", 2), ("consent_granted", 0), ("consent_coverage", 0),
                       ("consent_grants", 1), ("consent_withdrawals", 2)):
        expected[(D1, kpi, "purpose", "analytics")] = float(value)
    # D2: s1 granted again, s2 still withdrawn; s1 granted marketing
    for kpi, value in (("consent_subjects", 2), ("consent_granted", 1), ("consent_coverage", 0.5),
                       ("consent_grants", 1), ("consent_withdrawals", 0)):
        expected[(D2, kpi, "purpose", "analytics")] = float(value)
    for kpi, value in (("consent_subjects", 1), ("consent_granted", 1), ("consent_coverage", 1),
                       ("consent_grants", 1), ("consent_withdrawals", 0)):
        expected[(D2, kpi, "purpose", "marketing")] = float(value)
    assert got == expected


def test_personal_columns_come_from_the_catalogs_tags():
    found = products.personal_columns_of(products.all_products().values())
    assert found[EVENTS][:2] == ["anonymous_id", "user_id"]
    assert "ip" in found[EVENTS] and "page_path" not in found[EVENTS]
    assert "web-user-analytics.gold.daily_kpis" not in found
