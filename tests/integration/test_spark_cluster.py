"""Mode cluster end to end: a Spark standalone master with two workers started as `dp up
--workers 2` does, a second Connect server on it (free ports, a workspace of its own), and
web-user-analytics bronze -> gold run on it; its gold tables equal, row by row, those of the
same run in mode server (the session's Connect server) over the same events.

The events go to a topic of this test's own, so the session's web topic and tables are never
touched; the runs record no audit reads (they would land in the session's audit topic)."""
from __future__ import annotations

import pytest

from runners import services, spark_cluster
from shared_lib import params as params_lib
from shared_lib import spark as spark_lib
from tests.integration.same_gold import PRODUCT, assert_same_rows, run_and_read_gold

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(2400)]

WORKERS = 2


def test_web_gold_on_a_two_worker_cluster_equals_server_mode(params, web_topic, tmp_path, monkeypatch):
    overrides = {f"{PRODUCT}.topic": web_topic, "platform.audit.record_runs": False}
    monkeypatch.setenv("DP_HOME", str(tmp_path / "server"))
    on_server = run_and_read_gold(overrides)
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
        on_cluster = run_and_read_gold(cluster_overrides)
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
