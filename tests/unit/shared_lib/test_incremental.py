"""The batches row of a silver run that applied late consent withdrawals (shared_lib.incremental)."""
import datetime as dt

from shared_lib import incremental


def test_a_batch_row_of_late_withdrawals_only_reads_no_bronze_row():
    consent_range = {"topic": "compliance.consent", "partition": 0, "from_offset": 4, "to_offset": 9}
    late = incremental.LateConsent(3, [dt.date(2024, 3, 2), dt.date(2024, 3, 1)], [consent_range])
    row = incremental.batch_row("r2", 7, [], [], late, events_version=12)
    assert {k: v for k, v in row.items() if k != "processed_at"} == {
        "run_id": "r2", "bronze_version": 7, "offsets": [], "bronze_rows": 0, "clean_rows": 0,
        "quarantined_rows": 0, "duplicate_rows": 0, "consent_excluded_rows": 0,
        "affected_dates": [dt.date(2024, 3, 1), dt.date(2024, 3, 2)],
        "consent_offsets": [consent_range], "consent_withdrawn_rows": 3, "events_version": 12}

