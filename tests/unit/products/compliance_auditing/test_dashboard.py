"""The compliance dashboard's numbers, from a small hand-computed KPI frame and audit trail."""

import pandas as pd

from products.compliance_auditing import dashboard as board
from shared_lib import dashboard as ui
from shared_lib import products
from shared_lib.dashboard import Period
from tests.compliance_data import AUDIT, CURRENT, KPIS, D


def test_cards_sum_the_days_counts_and_take_coverage_at_the_end_of_the_period():
    assert board.card_values(KPIS, CURRENT) == {"audit_events": 24.0, "denied_accesses": 6.0,
                                                "reads_without_purpose": 2.0, "consent_coverage": 0.5,
                                                "rows_past_retention": None}  # no retention check yet
    assert board.card_values(KPIS, CURRENT.previous()) == {"audit_events": 16.0, "denied_accesses": 2.0,
                                                           "reads_without_purpose": 1.0,
                                                           "consent_coverage": 5 / 6, "rows_past_retention": None}


def test_cards_read_against_the_previous_period():
    current, previous = board.card_values(KPIS, CURRENT), board.card_values(KPIS, CURRENT.previous())
    changes = {k.key: ui.kpi_change(k, current[k.key], previous[k.key]) for k in board.KPIS}
    assert changes == {"audit_events": ("+50.0%", "good"), "denied_accesses": ("+200.0%", "bad"),
                       "reads_without_purpose": ("+100.0%", "bad"), "consent_coverage": ("−33.3 pp", "bad"),
                       "rows_past_retention": ("–", "flat")}


def test_without_consent_rows_coverage_is_missing_and_counts_are_zero():
    gold = KPIS[KPIS["kpi"] == "audit_events"]
    assert board.card_values(gold, Period(D(2024, 2, 1), D(2024, 2, 2))) == {
        "audit_events": 0.0, "denied_accesses": 0.0, "reads_without_purpose": 0.0, "consent_coverage": None,
        "rows_past_retention": None}


def test_rows_past_retention_is_the_latest_checks_total_up_to_the_end_of_the_period():
    # Checks on 03-01 (9 rows past retention) and 03-03 (4); none on 03-04.
    checks = pd.DataFrame([
        {"date": D(2024, 3, 1), "kpi": "rows_past_retention", "dimension": "all", "dimension_value": "all", "value": 9.0},
        {"date": D(2024, 3, 1), "kpi": "rows_past_retention", "dimension": "table", "dimension_value": "t", "value": 9.0},
        {"date": D(2024, 3, 3), "kpi": "rows_past_retention", "dimension": "all", "dimension_value": "all", "value": 4.0}])
    gold = pd.concat([KPIS, checks], ignore_index=True)
    assert board.card_values(gold, CURRENT)["rows_past_retention"] == 4.0  # 03-03, the latest up to 03-04
    assert board.card_values(gold, CURRENT.previous())["rows_past_retention"] == 9.0  # 03-01, not 9 + 9
    assert board.card_values(gold, CURRENT)["audit_events"] == 24.0  # retention rows do not count as audit


def test_consent_by_day_has_coverage_grants_and_withdrawals_per_purpose():
    days = board.consent_by_day(KPIS)
    assert days.values.tolist() == [[D(2024, 3, 1), "analytics", 0.75, 3.0, 1.0],
                                    [D(2024, 3, 1), "marketing", 1.0, 2.0, 0.0],
                                    [D(2024, 3, 3), "analytics", 0.6, 1.0, 1.0],
                                    [D(2024, 3, 3), "marketing", 1 / 3, 1.0, 2.0]]


def test_audit_events_per_action_and_result_most_first():
    assert board.by_action(KPIS, CURRENT).values.tolist() == [["read/success", 16.0], ["read/denied", 5.0],
                                                              ["export/success", 2.0], ["delete/denied", 1.0]]


def test_the_explorer_filters_on_every_field_and_the_period_newest_first():
    everything = {name: board.ALL for name, _, _ in board.AUDIT_FILTERS}
    assert board.audit_in(AUDIT, CURRENT, everything)["event_id"].tolist() == ["e5", "e4", "e3", "e2"]
    ana_without_purpose = {**everything, "actor": "ana", "purpose": board.NO_PURPOSE}
    assert board.audit_in(AUDIT, CURRENT, ana_without_purpose)["event_id"].tolist() == ["e3", "e2"]
    assert board.audit_in(AUDIT, CURRENT, {**everything, "role": "service"})["event_id"].tolist() == ["e5"]
    shown = board.explorer_rows(board.audit_in(AUDIT, CURRENT, ana_without_purpose))
    assert shown[["purpose", "subject"]].values.tolist() == [["(none)", ""], ["(none)", "abababababab"]]


def test_denied_accesses_are_grouped_per_actor_and_resource_most_first():
    rows = board.denied(AUDIT)
    assert rows[["actor", "actor_role", "action", "resource", "denied"]].values.tolist() == [
        ["ana", "analyst", "read", "web.silver.events", 2], ["bob", "", "export", "web.silver.events", 1]]
    assert rows["last"].tolist() == [pd.Timestamp(2024, 3, 3, 10), pd.Timestamp(2024, 3, 4, 8)]


def test_the_inventory_lists_every_column_tagged_as_personal_data_with_owner_and_retention():
    inventory = board.inventory()
    audit = inventory[inventory["table"] == "compliance-auditing.silver.audit_trail"]
    assert audit.values.tolist() == [
        ["compliance-auditing.silver.audit_trail", "actor", "string", "personal", "compliance-team", 2555],
        ["compliance-auditing.silver.audit_trail", "source_ip", "string", "personal", "compliance-team", 2555]]
    tagged = sum(c.pii != "none" for p in products.all_products().values() for t in p.tables for c in t.columns)
    assert len(inventory) == tagged


def test_dsar_by_day_lists_the_days_with_requests_newest_first():
    rows = [(D(2024, 3, 1), "dsar_opened", "all", "all", 2.0), (D(2024, 3, 1), "dsar_opened", "kind", "erase", 2.0),
            (D(2024, 3, 1), "dsar_completed", "all", "all", 1.0), (D(2024, 3, 1), "dsar_overdue", "all", "all", 0.0),
            (D(2024, 3, 1), "dsar_median_completion_days", "all", "all", 0.25),
            # a quiet day: all zero, not listed
            (D(2024, 3, 2), "dsar_opened", "all", "all", 0.0), (D(2024, 3, 2), "dsar_completed", "all", "all", 0.0),
            (D(2024, 3, 2), "dsar_overdue", "all", "all", 0.0),
            (D(2024, 4, 5), "dsar_opened", "all", "all", 0.0), (D(2024, 4, 5), "dsar_completed", "all", "all", 0.0),
            (D(2024, 4, 5), "dsar_overdue", "all", "all", 1.0),
            (D(2024, 4, 5), "audit_events", "all", "all", 9.0)]
    kpis = pd.DataFrame(rows, columns=["date", "kpi", "dimension", "dimension_value", "value"])
    out = board.dsar_by_day(kpis)
    assert out["date"].tolist() == [D(2024, 4, 5), D(2024, 3, 1)]
    assert out[["opened", "completed", "overdue"]].values.tolist() == [[0, 0, 1], [2, 1, 0]]
    assert out["median_completion_days"].tolist()[1] == 0.25 and pd.isna(out["median_completion_days"][0])
    assert board.dsar_by_day(kpis[kpis["kpi"] == "audit_events"]).empty
