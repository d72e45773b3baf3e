"""Helpers of the end-to-end product tests (test_*_pipeline.py): events into the product's
topic, a run through the runner, tables read back with delta-rs, the accounting and rerun checks,
the step reports of the executed notebooks' HTML."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from runners import run as run_lib
from shared_lib import kafka as kafka_lib
from shared_lib import lake, products


def produce(params, product: str, messages, key_field: str) -> int:
    return kafka_lib.produce(params, params[product]["topic"], kafka_lib.encode_events(messages, key_field))


def run_pipeline(product: str):
    summary = run_lib.run(products=[product])
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]
    return summary


def table(product: str, name: str):
    return lake.read_table(product, name)


def approx(*values):
    return tuple(pytest.approx(v) if isinstance(v, float) else v for v in values)


def assert_accounting_balances(product: str) -> None:
    """bronze = silver events + quarantine + duplicates (+ consent-excluded, + removed by late
    consent withdrawals), over the whole tables; per batch, without the late removals (they
    are events of earlier batches)."""
    batches = table(product, "batches")
    withdrawn = batches["consent_withdrawn_rows"].fillna(0).sum() if "consent_withdrawn_rows" in batches else 0
    silver = len(table(product, "events")) + len(table(product, "quarantine")) \
        + batches["duplicate_rows"].sum() + batches["consent_excluded_rows"].sum() + withdrawn
    assert len(table(product, "events_raw")) == silver
    assert (batches["bronze_rows"] == batches["clean_rows"] + batches["quarantined_rows"]
            + batches["duplicate_rows"] + batches["consent_excluded_rows"]).all()


def assert_rerun_changes_nothing(product: str) -> None:
    """A run without new data leaves every declared table at its version and content, and creates
    none of those it does not write (e.g. the DSAR tables, which only `dp dsar` writes)."""
    declared = products.get(product).tables
    absent = [t.name for t in declared if not lake.exists(t)]
    present = [t for t in declared if t.name not in absent]
    before = {t.name: (lake.version(t), lake.delta_table(t).to_pyarrow_table()) for t in present}
    run_pipeline(product)
    assert [t.name for t in declared if not lake.exists(t)] == absent
    for t in present:
        version, content = before[t.name]
        assert lake.version(t) == version, t.name
        assert lake.delta_table(t).to_pyarrow_table().equals(content), t.name


class _ReportTables(HTMLParser):
    """The step report's tables of an HTML page: {heading: [row cells as text]}."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._heading = self._cell = None
        self._in_h4 = False

    def handle_starttag(self, tag, attrs):
        if tag == "h4":
            self._in_h4, self._heading = True, ""
        elif tag == "tr" and self._heading is not None:
            self.tables.setdefault(self._heading, []).append([])
        elif tag in ("td", "th") and self._heading is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "h4":
            self._in_h4 = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._heading][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._in_h4:
            self._heading += data
        elif self._cell is not None:
            self._cell += data


def step_report(summary, notebook: str) -> dict[str, list[list[str]]]:
    """The step report in the HTML of ``notebook``'s executed copy under reports/runs/<id>/: each
    section's rows (header row first) by heading."""
    record = next(r for r in summary.records if r["notebook"] == notebook)
    page = Path(record["output_notebook"]).with_suffix(".html")
    parser = _ReportTables()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tables
