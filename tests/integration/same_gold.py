"""Web gold of two runs over the same events, compared row by row: the tests that run the same
notebooks elsewhere (mode cluster, a lake on S3) against the session's server and local lake."""
from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from products.web_user_analytics import generator
from runners import run as run_lib
from shared_lib import kafka as kafka_lib
from shared_lib import lake, products

PRODUCT = "web-user-analytics"
EVENTS = 3000
# Run metadata (ids, times of the refresh), not results.
NOT_RESULTS = {"run_id", "silver_run_id", "refreshed_at"}


def gold_tables() -> list[str]:
    return [t.name for t in products.get(PRODUCT).tables if t.layer == "gold" and t.name != "refreshes"]


def run_and_read_gold(overrides: dict) -> dict[str, pd.DataFrame]:
    summary = run_lib.run(products=[PRODUCT], overrides=overrides)
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]
    gold = {}
    for name in gold_tables():
        frame = lake.read_table(PRODUCT, name)
        gold[name] = comparable(frame.drop(columns=[c for c in frame.columns if c in NOT_RESULTS]))
    return gold


def assert_same_rows(theirs: pd.DataFrame, ours: pd.DataFrame, name: str) -> None:
    assert (list(theirs.columns), len(theirs)) == (list(ours.columns), len(ours)), name
    for col in ours.columns:
        if ours[col].dtype == object:  # text, lists, structs: equal as Python values
            assert theirs[col].tolist() == ours[col].tolist(), f"{name}.{col}"
        else:  # sums of doubles may differ in their last bits: partial sums meet in another order
            pd.testing.assert_series_equal(theirs[col], ours[col], check_exact=False, rtol=1e-12, obj=f"{name}.{col}")


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with array cells as lists, its rows in the order of all its columns (arrays and
    structs by their text), so that two tables with the same rows compare equal."""
    frame = frame.apply(lambda col: col.map(lambda v: v.tolist() if isinstance(v, np.ndarray) else v)
                        if col.dtype == object else col)
    keys = frame.apply(lambda col: col.map(repr) if col.dtype == object else col)
    return frame.loc[keys.sort_values(list(keys.columns)).index].reset_index(drop=True)


@pytest.fixture
def web_topic(params):
    """A topic of the test's own with EVENTS web events (the session's web topic stays untouched)."""
    topic = f"itc-web-{uuid.uuid4().hex[:8]}"
    kafka_lib.ensure_topics(params, [topic])
    sent = kafka_lib.produce(params, topic, kafka_lib.encode_events(generator.generate(EVENTS, seed=20),
                                                                     generator.KEY_FIELD))
    assert sent == EVENTS
    return topic
