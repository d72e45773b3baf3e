"""The cross-check of gold tables against a floor's: keys, tolerances, one-sided rows and columns."""
import datetime as dt

from runners.bench import crosscheck

D1, D2 = dt.date(2026, 4, 1), dt.date(2026, 4, 2)


def test_equal_tables_have_no_difference_whatever_the_row_order():
    rows = [{"date": D1, "sessions": 3, "revenue": 10.0}, {"date": D2, "sessions": 1, "revenue": 0.0}]
    assert crosscheck.compare_table(rows, list(reversed(rows)), ["date"]) == []


def test_a_float_within_the_tolerance_matches_and_one_beyond_it_is_reported():
    gold = [{"date": D1, "revenue": 10.0}]
    assert crosscheck.compare_table(gold, [{"date": D1, "revenue": 10.0000005}], ["date"]) == []
    assert crosscheck.compare_table(gold, [{"date": D1, "revenue": 10.01}], ["date"]) == [
        "2026-04-01 revenue: pipeline 10.0 vs floor 10.01"]
    assert crosscheck.compare_table(gold, [{"date": D1, "revenue": 10.004}], ["date"], {"revenue": 0.005}) == []


def test_counts_compare_exactly_and_null_only_equals_null():
    gold = [{"date": D1, "sessions": 3, "rate": None}]
    assert crosscheck.compare_table(gold, [{"date": D1, "sessions": 4, "rate": 0.0}], ["date"]) == [
        "2026-04-01 rate: pipeline None vs floor 0.0", "2026-04-01 sessions: pipeline 3 vs floor 4"]


def test_rows_on_one_side_are_named_with_their_key_and_a_null_key_matches_itself():
    gold = [{"date": D1, "country": None, "n": 1}, {"date": D1, "country": "DE", "n": 2}]
    floor = [{"date": D1, "country": None, "n": 1}, {"date": D2, "country": "FR", "n": 5}]
    assert crosscheck.compare_table(gold, floor, ["date", "country"]) == [
        "2026-04-01/DE: only in the pipeline", "2026-04-02/FR: only in the floor"]


def test_lists_compare_element_by_element_and_a_tuple_equals_a_list():
    gold = [{"id": "a", "countries": ["DE", "FR"]}]
    assert crosscheck.compare_table(gold, [{"id": "a", "countries": ("DE", "FR")}], ["id"]) == []
    assert crosscheck.compare_table(gold, [{"id": "a", "countries": ["DE"]}], ["id"]) == [
        "a countries: pipeline ['DE', 'FR'] vs floor ['DE']"]


def test_a_naive_timestamp_is_utc_and_run_ids_are_not_compared():
    naive = dt.datetime(2026, 4, 1, 12, 0)
    aware = naive.replace(tzinfo=dt.timezone.utc)
    assert crosscheck.compare_table([{"id": "a", "seen": naive, "run_id": "r1"}],
                                    [{"id": "a", "seen": aware, "run_id": "floor"}], ["id"]) == []


def test_a_column_on_one_side_is_one_difference_and_a_key_twice_is_reported():
    gold = [{"date": D1, "n": 1, "extra": 1}, {"date": D2, "n": 1, "extra": 2}]
    floor = [{"date": D1, "n": 1}, {"date": D2, "n": 1}, {"date": D2, "n": 1}]
    assert crosscheck.compare_table(gold, floor, ["date"]) == [
        "2026-04-02: twice in floor", "column extra: only in the pipeline"]


def test_every_table_is_compared_and_one_the_floor_lacks_is_a_difference():
    gold = {"daily_kpis": [{"date": D1, "n": 1}], "funnel": [{"date": D1, "step": 1, "n": 2}]}
    floor = {"daily_kpis": [{"date": D1, "n": 1}]}
    diffs = crosscheck.compare_tables(gold, floor, {"daily_kpis": ["date"], "funnel": ["date", "step"]})
    assert diffs == {"daily_kpis": [], "funnel": ["not computed by the floor"]}
    assert crosscheck.summary(diffs) == "1/2 tables match; funnel: 1 difference(s): not computed by the floor"
