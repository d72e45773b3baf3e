"""Mode cluster end to end: a Spark standalone master with two workers started as `dp up
--workers 2` does, a second Connect server on it (free ports, a workspace of its own), and
web-user-analytics bronze -> gold run on it; its gold tables equal, row by row, those of the
same run in mode server (the session's Connect server) over the same events.

The events go to a topic of this test's own, so the session's web topic and tables are never
touched; the runs record no audit reads (they would land in the session's audit topic)."""
from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from products.web_user_analytics import generator
from runners import run as run_lib
from runners import services, spark_cluster
from shared_lib import kafka as kafka_lib
from shared_lib import lake, products
from shared_lib import params as params_lib
from shared_lib import spark as spark_lib

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(2400)]

PRODUCT = "web-user-analytics"
EVENTS = 3000
# Run metadata (ids, times of the refresh), not results.
NOT_RESULTS = {"run_id", "silver_run_id", "refreshed_at"}
WORKERS = 2


def _gold_tables() -> list[str]:
    return [t.name for t in products.get(PRODUCT).tables if t.layer == "gold" and t.name != "refreshes"]


def _run_and_read_gold(overrides: dict) -> dict[str, pd.DataFrame]:
    summary = run_lib.run(products=[PRODUCT], overrides=overrides)
    assert summary.ok, [(r["notebook"], r["status"], r.get("error")) for r in summary.records]
    gold = {}
    for name in _gold_tables():
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
    topic = f"itc-web-{uuid.uuid4().hex[:8]}"
    kafka_lib.ensure_topics(params, [topic])
    sent = kafka_lib.produce(params, topic, kafka_lib.encode_events(generator.generate(EVENTS, seed=20),
                                                                     generator.KEY_FIELD))
    assert sent == EVENTS
    return topic


def test_web_gold_on_a_two_worker_cluster_equals_server_mode(params, web_topic, tmp_path, monkeypatch):
    overrides = {f"{PRODUCT}.topic": web_topic, "platform.audit.record_runs": False}
    monkeypatch.setenv("DP_HOME", str(tmp_path / "server"))
    on_server = _run_and_read_gold(overrides)
    assert sum(map(len, on_server.values())) > 100  # the comparison below compares something

    # A workspace of its own: the cluster's master, workers and Connect server on free ports.
    monkeypatch.setenv("DP_HOME", str(tmp_path / "cluster"))
    for var, port in zip(("DP_SPARK_PORT", "DP_SPARK_UI_PORT", "DP_SPARK_MASTER_PORT", "DP_SPARK_MASTER_UI_PORT"),
                         services.free_ports(4)):
        monkeypatch.setenv(var, str(port))
    cluster_overrides = {**overrides, "platform.services.spark.mode": "cluster",
                         "platform.services.spark.driver_memory": "1g",
                         "platform.services.spark.cluster.worker_memory": "768m"}
    cluster_params = params_lib.load("dev", cluster_overrides)
    try:
        services.up(cluster_params, ["spark"], progress=print, workers=WORKERS)
        assert [s.state for s in spark_cluster.status(cluster_params)] == ["running"] * (1 + WORKERS)
        on_cluster = _run_and_read_gold(cluster_overrides)
        executors = list((tmp_path / "cluster" / "services").glob("spark-worker-*/work/app-*/*"))
    finally:
        spark_lib.stop_all()
        services.down(["spark"])

    assert len(executors) == WORKERS  # one executor ran on each worker
    assert set(on_cluster) == set(on_server)
    for name, frame in on_server.items():
        assert_same_rows(on_cluster[name], frame, name)


def test_mode_remote_reaches_any_connect_url(params):
    # The session's server stands in for a managed endpoint: mode remote needs only its sc:// URL.
    remote = params_lib.load("dev", {"platform.services.spark.mode": "remote",
                                     "platform.services.spark.remote.url": spark_lib.connect_url(params),
                                     "platform.services.spark.remote.token_env": ""})
    assert spark_lib.get_spark(remote).range(7).count() == 7
