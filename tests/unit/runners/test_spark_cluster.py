"""The standalone cluster of mode cluster: where its master is, what the Connect server asks of
the workers, and that `dp up` starts no Spark for modes remote and local."""
from __future__ import annotations

from runners import services, spark_cluster
from shared_lib import params as params_lib


def _params(**spark_overrides):
    return params_lib.load("dev", {f"platform.services.spark.{k}": v for k, v in spark_overrides.items()},
                           environ={})


def test_the_master_of_dp_up_is_on_the_spark_host_at_master_port():
    p = _params(mode="cluster", host="127.0.0.1", **{"cluster.master_port": 17077})
    assert spark_cluster.starts_master(p)
    assert spark_cluster.master_url(p) == "spark://127.0.0.1:17077"


def test_a_master_elsewhere_is_used_not_started():
    p = _params(mode="cluster", **{"cluster.master_url": "spark://10.0.0.5:7077"})
    assert not spark_cluster.starts_master(p)
    assert spark_cluster.master_url(p) == "spark://10.0.0.5:7077"


def test_one_executor_per_worker_with_its_cores_and_memory():
    p = _params(mode="cluster", host="127.0.0.1", **{"cluster.worker_cores": 2, "cluster.worker_memory": "3g"})
    confs = spark_cluster.executor_confs(p)
    assert (confs["spark.executor.cores"], confs["spark.executor.memory"], confs["spark.driver.host"]) == \
        ("2", "3g", "127.0.0.1")
    assert confs["spark.scheduler.minRegisteredResourcesRatio"] == "1.0"


def test_remote_and_local_modes_start_no_spark(monkeypatch):
    def refuse(*_):
        raise AssertionError("a Spark server was started")
    monkeypatch.setattr(services, "start_spark", refuse)
    for mode in ("remote", "local"):
        assert services._start("spark", _params(mode=mode), print, None, None) == [f"spark: mode {mode}, no server to start"]


def test_workers_are_listed_in_number_order(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    from shared_lib import paths
    paths.pids_dir().mkdir(parents=True)
    for n in (10, 2, 1):
        services.pid_file(spark_cluster.worker_name(n)).write_text("1")
    assert spark_cluster.running_workers() == ["spark-worker-1", "spark-worker-2", "spark-worker-10"]


def test_the_bench_report_says_how_spark_ran():
    from runners.bench import registry
    p = _params(master="local[2]", **{"cluster.worker_cores": 1, "cluster.worker_memory": "1g"})
    assert registry.spark_setting(p, None) == "mode server, master local[2]"
    assert registry.spark_setting(p, 2) == "mode cluster, 2 workers x 1 core(s), 1g"


def test_a_master_that_died_is_checked_on_its_port_and_a_worker_on_none(tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    from shared_lib import paths
    paths.pids_dir().mkdir(parents=True)
    for name in (spark_cluster.MASTER, spark_cluster.worker_name(1)):
        services.pid_file(name).write_text("1")  # pid 1 has no workspace marker: the process died
    p = _params(mode="cluster", host="127.0.0.1", **{"cluster.master_port": 17077})
    rows = spark_cluster.status(p)
    assert [(r.name, r.state, r.address, r.host, r.port) for r in rows] == [
        ("spark-master", "died", "spark://127.0.0.1:17077", "127.0.0.1", 17077),
        ("spark-worker-1", "died", "127.0.0.1 -> spark://127.0.0.1:17077", None, None)]
