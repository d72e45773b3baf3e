"""A small hand-computed compliance data set - gold KPI rows and an audit trail - shared by the
compliance dashboard, report and browser tests."""
import datetime as dt

import pandas as pd

from shared_lib.dashboard import Period

D = dt.date


def kpi_rows(day, audit, denied, no_purpose, consent=(), **by_pair) -> list[dict]:
    """A day of gold: its totals, audit events per action/result (``read_success=15``) and
    ``consent``: (purpose, subjects, granted, grants, withdrawals)."""
    rows = [{"date": day, "kpi": kpi, "dimension": "all", "dimension_value": "all", "value": float(v)}
            for kpi, v in (("audit_events", audit), ("denied_accesses", denied),
                           ("reads_without_purpose", no_purpose))]
    rows += [{"date": day, "kpi": "audit_events", "dimension": "action/result",
              "dimension_value": pair.replace("_", "/"), "value": float(v)} for pair, v in by_pair.items()]
    for purpose, subjects, granted, grants, withdrawals in consent:
        for kpi, v in (("consent_subjects", subjects), ("consent_granted", granted),
                       ("consent_coverage", granted / subjects), ("consent_grants", grants),
                       ("consent_withdrawals", withdrawals)):
            rows.append({"date": day, "kpi": kpi, "dimension": "purpose", "dimension_value": purpose, "value": float(v)})
    return rows


# Previous period 03-01..03-02, current 03-03..03-04. Counts: 24 against 16, 6 against 2, 2 against 1.
# Coverage at the end: 03-04 has no consent rows, so 03-03: (3 + 1) / (5 + 3) = 50 %;
# before: 03-02 has none, so 03-01: (3 + 2) / (4 + 2) = 83.3 %.
KPIS = pd.DataFrame(
    kpi_rows(D(2024, 3, 1), 10, 2, 1, [("analytics", 4, 3, 3, 1), ("marketing", 2, 2, 2, 0)])
    + kpi_rows(D(2024, 3, 2), 6, 0, 0)
    + kpi_rows(D(2024, 3, 3), 20, 5, 2, [("analytics", 5, 3, 1, 1), ("marketing", 3, 1, 1, 2)],
               read_success=13, read_denied=5, export_success=2)
    + kpi_rows(D(2024, 3, 4), 4, 1, 0, read_success=3, delete_denied=1))
CURRENT = Period(D(2024, 3, 3), D(2024, 3, 4))


def audit_row(event_id, day, hour, actor, role, action, resource, purpose, result, subject_hash=None) -> dict:
    return {"event_id": event_id, "event_ts": pd.Timestamp(2024, 3, day, hour), "event_date": D(2024, 3, day),
            "actor": actor, "actor_role": role, "action": action, "resource": resource, "purpose": purpose,
            "result": result, "subject_hash": subject_hash}


AUDIT = pd.DataFrame([
    audit_row("e1", 2, 9, "ana", "analyst", "read", "web.gold.daily_kpis", "analytics", "success"),
    audit_row("e2", 3, 9, "ana", "analyst", "read", "web.silver.events", None, "denied", "ab" * 32),
    audit_row("e3", 3, 10, "ana", "analyst", "read", "web.silver.events", None, "denied"),
    audit_row("e4", 4, 8, "bob", None, "export", "web.silver.events", "support", "denied"),
    audit_row("e5", 4, 11, "etl", "service", "write", "web.silver.events", "operations", "success"),
])
