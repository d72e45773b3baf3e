"""The compliance report kept as evidence: one static HTML file per run with its run id, the
versions it read and the sha256 of its body; an index of every report, newest first."""
import datetime as dt
import hashlib
import re

from products.compliance_auditing import dashboard as board
from products.compliance_auditing import report
from tests.compliance_data import AUDIT, KPIS

AT = dt.datetime(2024, 3, 5, 6, 7, 8, tzinfo=dt.timezone.utc)
VERSIONS = {"compliance-auditing.gold.daily_compliance_kpis": 7, "compliance-auditing.silver.audit_trail": 12}


def data(kpis=KPIS) -> board.Compliance:
    return board.Compliance(kpis, AUDIT, board.inventory())


def rendered(run_id="20240305T060708Z-ab12", kpis=KPIS, at=AT) -> str:
    return report.document(report.body_html(data(kpis), run_id, VERSIONS, at), run_id, at)


def test_the_report_names_its_run_and_the_versions_it_read():
    body = report.body_of(rendered())
    assert "<b class='dp-run-id'>20240305T060708Z-ab12</b>" in body
    assert "<td class='dp-text'>compliance-auditing.gold.daily_compliance_kpis</td><td class='dp-text'>7</td>" in body
    assert "<td class='dp-text'>compliance-auditing.silver.audit_trail</td><td class='dp-text'>12</td>" in body


def test_the_hash_shown_is_the_sha256_of_the_body():
    doc = rendered()
    digest = hashlib.sha256(report.body_of(doc).encode("utf-8")).hexdigest()
    assert f'<meta name="dp-sha256" content="{digest}">' in doc
    assert f"<span class='dp-hash'>{digest}</span></footer>" in doc
    assert report.body_of(doc) == report.body_html(data(), "20240305T060708Z-ab12", VERSIONS, AT)


def test_the_report_shows_the_cards_of_the_last_days_against_the_previous_period():
    # Default period: the last 7 days of gold, 02-27 .. 03-04 (all four days); previous: nothing.
    body = report.body_of(rendered())
    assert ("<div class='dp-kpi' data-kpi='audit_events'><div class='dp-kpi-label'>Audit events</div>"
            "<div class='dp-kpi-value'>40</div>") in body
    assert ("data-kpi='consent_coverage'><div class='dp-kpi-label'>Consent coverage</div>"
            "<div class='dp-kpi-value'>50.0%") in body
    assert "<td class='dp-text'>ana</td><td class='dp-text'>analyst</td>" in body  # denied accesses


def test_the_report_is_self_contained():
    doc = rendered()
    assert not re.search(r"<script|<link|https?://|src=", doc)


def test_without_gold_the_report_says_so():
    assert "No compliance data yet" in report.body_of(rendered(kpis=KPIS.iloc[0:0]))


def test_the_index_lists_every_report_newest_first(tmp_path):
    for run_id, hour in (("run-b", 9), ("run-a", 11), ("run-c", 10)):
        report.write(tmp_path, run_id, rendered(run_id, at=AT.replace(hour=hour)))
    index = (tmp_path / "index.html").read_text()
    assert re.findall(r"<a href='(run-.\.html)'>(run-.)</a>", index) == [
        ("run-a.html", "run-a"), ("run-c.html", "run-c"), ("run-b.html", "run-b")]
    digest_b = hashlib.sha256(report.body_of((tmp_path / "run-b.html").read_text()).encode()).hexdigest()
    assert f"<td class='dp-text dp-hash'>{digest_b}</td>" in index
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "run-a.html", "run-b.html", "run-c.html"]


def test_a_run_id_becomes_a_safe_file_name():
    assert report.file_name("interactive") == "interactive.html"
    assert report.file_name("a/b c") == "a_b_c.html"


def test_the_report_shows_each_tables_latest_retention_check_or_that_there_is_none():
    import pandas as pd

    from products.compliance_auditing import retention_kpis
    assert board.NO_RETENTION_CHECK in report.body_of(rendered())
    status = pd.DataFrame([{"check_id": "c1", "checked_at": pd.Timestamp("2024-03-05T01:00", tz="UTC"),
                            "table_name": "web-user-analytics.silver.events", "retention_days": 365,
                            "event_time": "event_date", "rows_past_retention": 7, "rows_held": 2, "rows_deleted": 5,
                            "status": "deleted"}])
    with_check = board.Compliance(KPIS, AUDIT, board.inventory(), retention_kpis.latest_by_table(status))
    body = report.body_html(with_check, "r", VERSIONS, AT)
    assert board.NO_RETENTION_CHECK not in body
    assert "<td class='dp-text'>web-user-analytics.silver.events</td><td>365</td>" in body


def test_the_report_lists_the_days_with_data_subject_requests():
    import pandas as pd
    dsar = pd.DataFrame([(dt.date(2024, 3, 3), "dsar_opened", "all", "all", 2.0),
                         (dt.date(2024, 3, 3), "dsar_completed", "all", "all", 1.0),
                         (dt.date(2024, 3, 3), "dsar_overdue", "all", "all", 0.0),
                         (dt.date(2024, 3, 3), "dsar_median_completion_days", "all", "all", 0.5)],
                        columns=KPIS.columns)
    body = report.body_of(rendered(kpis=pd.concat([KPIS, dsar], ignore_index=True)))
    section = body.split("<h2>Data-subject requests per day</h2>", 1)[1].split("</section>", 1)[0]
    assert re.findall(r"<td[^>]*>([^<]*)</td>", section) == ["03 Mar 2024", "2", "1", "0", "0.50"]
    assert "No data-subject requests" in report.body_of(rendered())
