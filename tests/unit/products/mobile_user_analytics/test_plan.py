"""Which dates and cohorts a mobile gold refresh recomputes (``gold.plan``), on hand-picked
dates: rolling windows reach 27 days forward, the data's span growing, a device whose first day
moves earlier, and the parameter's retention days. Pure date arithmetic, no Spark."""
import datetime as dt

import pytest

from products.mobile_user_analytics import gold


def D(day: int) -> dt.date:
    return dt.date(2024, 3, 1) + dt.timedelta(days=day - 1)


def days(lo: int, hi: int) -> list[dt.date]:
    return [D(i) for i in range(lo, hi + 1)]


def test_first_refresh_covers_every_date_and_cohort():
    todo = gold.plan([D(1), D(3)], moved=[D(1), D(3)], previous=None, retention_days=[1, 7, 30])
    assert (todo.first, todo.last) == (D(1), D(3))
    assert todo.kpi_dates == days(1, 3)  # D2 has no events but its WAU and MAU are not zero
    assert todo.cohort_dates == days(1, 3)


def test_a_late_event_refreshes_the_next_27_days_and_the_cohorts_it_retains():
    todo = gold.plan([D(10)], moved=[], previous=(D(1), D(60)), retention_days=[1, 7, 30])
    assert (todo.first, todo.last) == (D(1), D(60))
    assert todo.kpi_dates == days(10, 37)  # D10 + 27 is the last MAU window holding D10
    assert todo.cohort_dates == [D(3), D(9), D(10)]  # D10 - 30 is before the data


def test_windows_stop_at_the_last_day_with_data():
    todo = gold.plan([D(10)], moved=[], previous=(D(1), D(20)), retention_days=[1, 7, 30])
    assert todo.kpi_dates == days(10, 20)


def test_a_new_last_day_refreshes_the_skipped_days_and_the_cohorts_that_became_due():
    todo = gold.plan([D(22)], moved=[], previous=(D(1), D(20)), retention_days=[1, 7])
    assert (todo.first, todo.last) == (D(1), D(22))
    assert todo.kpi_dates == [D(21), D(22)]  # D21 has no events: its row is new all the same
    # D21 - 1, D21 - 7 became due (no longer null), D22 - 1, D22 - 7 too, and cohort D22 is new.
    assert todo.cohort_dates == [D(14), D(15), D(20), D(21), D(22)]


def test_a_device_whose_first_day_moves_earlier_refreshes_both_cohorts():
    todo = gold.plan([D(2)], moved=[D(2), D(8)], previous=(D(3), D(20)), retention_days=[1])
    assert (todo.first, todo.last) == (D(2), D(20))
    assert todo.kpi_dates == days(2, 20)  # D8 lost a new device; D2..D20 hold D2 in their MAU
    assert todo.cohort_dates == [D(2), D(8)]


def test_changed_retention_days_refresh_every_cohort():
    todo = gold.plan([], moved=[], previous=(D(1), D(5)), retention_days=[1, 14], all_cohorts=True)
    assert todo.kpi_dates == [] and todo.cohort_dates == days(1, 5)


def test_nothing_to_do():
    assert gold.plan([], moved=[], previous=None, retention_days=[1]) is None


@pytest.mark.parametrize("bad", [[], [0], [1, -7], ["7"], [True], [1.5]])
def test_retention_days_must_be_whole_days(bad):
    with pytest.raises(ValueError, match="retention_days"):
        gold.retention_days_of({"gold": {"retention_days": bad}})


def test_retention_days_sorted_without_repeats():
    assert gold.retention_days_of({"gold": {"retention_days": [30, 1, 7, 7]}}) == [1, 7, 30]
