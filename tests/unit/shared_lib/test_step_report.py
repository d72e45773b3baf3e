"""The summary a pipeline notebook's last cell shows: tables written with rows and versions,
tables read, quarantine by reason when there is any, key figures as readable text."""
from shared_lib import step_report

LINEAGE = {"tables_read": {"web-user-analytics.bronze.events_raw": 3},
           "tables_written": {"web-user-analytics.silver.events": 4, "web-user-analytics.silver.batches": 2},
           "rows_written": 1235}
ROWS = {"web-user-analytics.silver.events": 1234, "web-user-analytics.silver.batches": 1}
RESULT = {"clean_rows": 1234, "affected_dates": ["2024-03-01", "2024-03-02"],
          "quarantine_by_reason": {"malformed_json": 3, "missing_field:anonymous_id": 2}}


def report(result=RESULT, lineage=LINEAGE, rows=ROWS):
    return step_report.build("web-user-analytics · silver · run r1", lineage, rows, result)


def test_report_holds_written_read_quarantine_and_figures():
    got = report()
    assert got.written == [("web-user-analytics.silver.batches", 1, 2), ("web-user-analytics.silver.events", 1234, 4)]
    assert got.read == [("web-user-analytics.bronze.events_raw", 3)]
    assert got.quarantine == [("malformed_json", 3), ("missing_field:anonymous_id", 2)]
    assert got.figures == [("clean_rows", 1234), ("affected_dates", "2024-03-01, 2024-03-02")]


def test_text_form_is_aligned_tables():
    assert repr(report()) == "\n".join([
        "web-user-analytics · silver · run r1",
        "",
        "Tables written",
        "  table                              rows written  Delta version",
        "  web-user-analytics.silver.batches             1              2",
        "  web-user-analytics.silver.events          1,234              4",
        "",
        "Tables read",
        "  table                                 version read",
        "  web-user-analytics.bronze.events_raw             3",
        "",
        "Quarantine by reason",
        "  reason                      rows",
        "  malformed_json                 3",
        "  missing_field:anonymous_id     2",
        "",
        "Key figures",
        "  figure          value",
        "  clean_rows      1,234",
        "  affected_dates  2024-03-01, 2024-03-02",
    ])


def test_html_form_has_the_marker_heading_and_escapes():
    html = report({"note": "<b>x</b>"})._repr_html_()
    assert "<h4>Tables written</h4>" in html
    assert '<td>web-user-analytics.silver.events</td><td style="text-align: right">1,234</td>' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "Quarantine by reason" not in html  # nothing quarantined: no section


def test_nothing_written_says_so():
    text = repr(report({"new_messages": 0}, {"tables_read": {}, "tables_written": {}, "rows_written": 0}, {}))
    assert "Tables written\n  (nothing written)" in text
    assert "Tables read\n  (nothing read)" in text


def test_figure_text_of_lists_dicts_and_none():
    assert step_report.figure_text(None) == "—"
    assert step_report.figure_text([]) == "none"
    assert step_report.figure_text({"web": "HEALTHY", "ops": "WARNING"}) == "web: HEALTHY, ops: WARNING"
    assert step_report.figure_text([f"d{i}" for i in range(1, 10)]) == "d1, d2 … d8, d9 (9)"
    assert step_report.figure_text(0.5) == "0.5"
