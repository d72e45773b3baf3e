"""Helpers of the end-to-end product tests (test_*_pipeline.py): events into the product's
topic, a run through the runner, tables read back with delta-rs, the accounting and rerun checks."""
from __future__ import annotations

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
    """bronze = silver events + quarantine + duplicates (+ consent-excluded), over the whole
    tables and per batch."""
    batches = table(product, "batches")
    silver = len(table(product, "events")) + len(table(product, "quarantine")) \
        + batches["duplicate_rows"].sum() + batches["consent_excluded_rows"].sum()
    assert len(table(product, "events_raw")) == silver
    assert (batches["bronze_rows"] == batches["clean_rows"] + batches["quarantined_rows"]
            + batches["duplicate_rows"] + batches["consent_excluded_rows"]).all()


def assert_rerun_changes_nothing(product: str) -> None:
    """A run without new data leaves every declared table at its version and content."""
    declared = products.get(product).tables
    before = {t.name: (lake.version(t), lake.delta_table(t).to_pyarrow_table()) for t in declared}
    run_pipeline(product)
    for t in declared:
        version, content = before[t.name]
        assert lake.version(t) == version, t.name
        assert lake.delta_table(t).to_pyarrow_table().equals(content), t.name
