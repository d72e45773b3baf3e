"""What the product declarations say about personal data: the columns tagged `pii` in each
product.yaml, the ones the audit trail names and data-subject requests look in."""
from __future__ import annotations

from shared_lib import products

EVENTS = "web-user-analytics.silver.events"


def test_personal_columns_come_from_the_catalogs_tags():
    found = products.personal_columns_of(products.all_products().values())
    assert found[EVENTS][:2] == ["anonymous_id", "user_id"]
    assert "ip_network" in found[EVENTS] and "page_path" not in found[EVENTS]
    assert "web-user-analytics.gold.daily_kpis" not in found


def test_dsar_kpis_count_requests_opened_completed_overdue_and_the_median_completion_time():
    import datetime as dt

    from products.compliance_auditing.kpis import dsar_kpis

    def at(day, hour):
        return dt.datetime(2026, *day, hour, tzinfo=dt.timezone.utc)

    def request(kind, received, completed=None):
        return {"kind": kind, "received_at": received, "due_at": received + dt.timedelta(days=30),
                "completed_at": completed}

    reqs = [request("access", at((11, 1), 9), at((11, 1), 21)),       # half a day
            request("erase", at((11, 1), 10), at((11, 3), 10)),       # two days
            request("erase", at((10, 2), 12)),                        # due 11-01 12:00, never done
            # A naive time (as Spark returns it) is UTC.
            {**request("access", dt.datetime(2026, 11, 3, 8), dt.datetime(2026, 11, 3, 20))}]
    rows = {(d.isoformat(), kpi, value): v for d, kpi, _, value, v in dsar_kpis(reqs, dt.date(2026, 11, 3))}
    assert rows[("2026-11-01", "dsar_opened", "access")] == 1 and rows[("2026-11-01", "dsar_opened", "all")] == 2
    assert rows[("2026-11-01", "dsar_completed", "all")] == 1 and rows[("2026-11-01", "dsar_completed", "erase")] == 0
    assert rows[("2026-10-31", "dsar_overdue", "all")] == 0  # due the next day at noon
    assert rows[("2026-11-01", "dsar_overdue", "all")] == 1
    assert rows[("2026-11-01", "dsar_median_completion_days", "all")] == 0.5
    assert rows[("2026-11-03", "dsar_median_completion_days", "all")] == 1.25  # median of 2 and 0.5 days
    assert rows[("2026-11-03", "dsar_completed", "all")] == 2
    assert ("2026-11-02", "dsar_median_completion_days", "all") not in rows  # nothing completed that day
    # 33 days from 10-02 to 11-03, 7 rows a day (opened and completed per kind and all, overdue),
    # and a median on the two days with completions.
    assert len(rows) == 33 * 7 + 2
    assert dsar_kpis([], dt.date(2026, 11, 3)) == []
