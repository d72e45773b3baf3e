"""The retention KPIs (rows past retention at check time, held, deleted) from hand-made
``platform.retention_status`` rows: a day's last check gives the state, every check of the day
its deletions."""
import datetime as dt

import pandas as pd

from products.compliance_auditing import retention_kpis

D1, D2 = dt.date(2026, 12, 1), dt.date(2026, 12, 2)
EVENTS, BRONZE = "web-user-analytics.silver.events", "web-user-analytics.bronze.events_raw"


def check(check_id, at, table, past, held, deleted, days=365):
    return {"check_id": check_id, "checked_at": pd.Timestamp(at, tz="UTC"), "table_name": table,
            "retention_days": days, "event_time": "event_date", "rows_past_retention": past, "rows_held": held,
            "rows_deleted": deleted, "status": "deleted" if deleted else "nothing_expired"}


STATUS = pd.DataFrame([
    # D1, first check: 7 past (2 held), 5 deleted; then a later check finds 1 more, deletes it.
    check("c1", "2026-12-01T01:00", EVENTS, 7, 2, 5), check("c1", "2026-12-01T01:00", BRONZE, 0, 0, 0, 90),
    check("c2", "2026-12-01T23:30", EVENTS, 3, 2, 1), check("c2", "2026-12-01T23:30", BRONZE, 0, 0, 0, 90),
    # D2: only held rows are left past retention.
    check("c3", "2026-12-02T01:00", EVENTS, 2, 2, 0), check("c3", "2026-12-02T01:00", BRONZE, 4, 0, 4, 90),
])


def test_a_days_kpis_are_its_last_check_and_all_its_deletions():
    got = retention_kpis.retention_kpis(STATUS, [D1, D2, dt.date(2026, 11, 30)])  # 11-30: no check, no rows
    assert got.values.tolist() == [
        [D1, "rows_past_retention", "all", "all", 3.0],  # the last check of D1 (c2), not 7 + 3
        [D1, "rows_past_retention", "table", EVENTS, 3.0],  # bronze had none: no row
        [D1, "retention_rows_held", "all", "all", 2.0],
        [D1, "retention_rows_deleted", "all", "all", 6.0],  # 5 + 1 over both checks
        [D2, "rows_past_retention", "all", "all", 6.0],
        [D2, "rows_past_retention", "table", BRONZE, 4.0],
        [D2, "rows_past_retention", "table", EVENTS, 2.0],
        [D2, "retention_rows_held", "all", "all", 2.0],
        [D2, "retention_rows_deleted", "all", "all", 4.0],
    ]


def test_check_dates_and_no_checks():
    assert retention_kpis.check_dates(STATUS) == [D1, D2]
    empty = STATUS.iloc[0:0]
    assert retention_kpis.check_dates(empty) == [] and retention_kpis.retention_kpis(empty, [D1]).empty


def test_the_latest_check_per_table_puts_the_tables_with_rows_past_retention_first():
    got = retention_kpis.latest_by_table(STATUS)
    assert got[["table_name", "rows_past_retention", "rows_held", "rows_deleted"]].values.tolist() == [
        [BRONZE, 4, 0, 4], [EVENTS, 2, 2, 0]]
