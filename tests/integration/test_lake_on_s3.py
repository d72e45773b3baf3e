"""A lake on S3-compatible storage: first the JVM-free reader on tables that delta-rs writes into
S3Proxy; then, end to end (slow): S3Proxy and a Spark Connect server with hadoop-aws
started by `dp up` in a workspace of their own (free ports, lake_uri s3a://lake/it), and
web-user-analytics bronze -> gold run there. Its gold tables, read back by the dashboards' reader
(delta-rs, ``lake.read_table``) and by the web API, equal those of the same run on a local lake
over the same events; nothing lands in a local lake folder.

The events go to a topic of this test's own and the runs record no audit reads, as in
test_spark_cluster."""
from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from products.web_user_analytics import api as web_api
from runners import s3proxy, services
from shared_lib import lake, maintenance, paths, products, storage
from shared_lib import params as params_lib
from shared_lib import spark as spark_lib
from shared_lib.api import gold
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks
from tests.browser import write_table
from tests.integration.same_gold import PRODUCT, assert_same_rows, run_and_read_gold

pytestmark = pytest.mark.integration

BUCKET, PREFIX = "lake", "it"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "it-identity", "AWS_SECRET_ACCESS_KEY": "it-credential"}
OPS = "operational-metrics"


def lag_row(hour: int, topic: str, lag: int, day: dt.date = dt.date(2024, 5, 2)) -> dict:
    at = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc)
    return {"evaluated_at": at, "date": day, "topic": topic, "product": "web", "end_offset": 10,
            "ingested_offset": 10 - lag, "lag_messages": lag, "lag_seconds": 1.0}


@pytest.fixture
def s3_lake(tmp_path, monkeypatch):
    """S3Proxy started as `dp up` does, in a workspace of the test's own; the lake in its bucket."""
    monkeypatch.setattr(storage, "_current", None)  # restored after the test: the session's lake is local
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    for var, value in {"DP_S3PROXY_PORT": str(services.free_ports(1)[0]),
                       "DP_LAKE_URI": f"s3a://{BUCKET}/{PREFIX}", **CREDENTIALS}.items():
        monkeypatch.setenv(var, value)
    params = params_lib.load("dev", {"platform.services.s3proxy.enabled": True})
    try:
        services.up(params, ["s3proxy"], progress=print)
        storage.configure(params)
        yield params
    finally:
        services.down(["s3proxy"])


def test_s3proxy_runs_as_a_service_of_the_workspace_with_the_lakes_bucket(s3_lake, tmp_path):
    assert [(s.name, s.state) for s in s3proxy.status(s3_lake)] == [("s3proxy", "running")]
    assert (tmp_path / "services" / "s3proxy" / "data" / BUCKET).is_dir()
    assert storage.current().s3["endpoint"] == s3proxy.endpoint(s3_lake)


def test_the_reader_sees_tables_on_s3_from_their_first_commit(s3_lake, tmp_path):
    table = products.get(OPS).table("consumer_lag")
    assert table.uri == f"s3a://{BUCKET}/{PREFIX}/{OPS}/gold/consumer_lag"
    assert not lake.exists(table) and lake.version(table) is None and lake.read(table).empty
    write_table(OPS, "consumer_lag", [lag_row(8, "a", 5), lag_row(8, "b", 6)])
    write_table(OPS, "consumer_lag", [lag_row(8, "a", 5), lag_row(9, "a", 1), lag_row(9, "b", 2)])
    assert lake.exists(table) and lake.version(table) == 1 and lake.count_rows(table) == 3
    assert lake.read_table(OPS, "consumer_lag", filters=[("topic", "=", "b")])["lag_messages"].tolist() == [2]
    latest = lake.read_latest(OPS, "consumer_lag", "evaluated_at").sort_values("topic")
    assert latest[["topic", "lag_messages"]].values.tolist() == [["a", 1], ["b", 2]]
    # The APIs' version check lists the log on S3 (no folder time to watch).
    assert gold.version(table) == 1
    assert maintenance.files(table).files == 1  # the overwrite's one file
    assert not (tmp_path / "lake").exists()
    with pytest.raises(storage.StorageError, match="platform.storage.lake_uri"):
        _ = table.path


def test_a_wrong_secret_is_refused_by_s3proxy(s3_lake, monkeypatch):
    write_table(OPS, "consumer_lag", [lag_row(8, "a", 5)])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-credential")
    with pytest.raises(Exception, match="(?i)403|forbidden|signature|access denied"):
        lake.read_table(OPS, "consumer_lag")


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_web_gold_on_s3proxy_equals_a_local_lakes_and_the_reader_and_the_api_read_it(
        params, web_topic, tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "_current", None)  # restored after the test: the session's lake is local
    overrides = {f"{PRODUCT}.topic": web_topic, "platform.audit.record_runs": False}
    monkeypatch.setenv("DP_HOME", str(tmp_path / "local"))
    on_local = run_and_read_gold(overrides)
    assert sum(map(len, on_local.values())) > 100  # the comparison below compares something

    monkeypatch.setenv("DP_HOME", str(tmp_path / "s3"))
    spark_port, ui_port, s3_port = services.free_ports(3)
    for var, value in {"DP_SPARK_PORT": spark_port, "DP_SPARK_UI_PORT": ui_port, "DP_S3PROXY_PORT": s3_port,
                       "DP_LAKE_URI": f"s3a://{BUCKET}/{PREFIX}", **CREDENTIALS}.items():
        monkeypatch.setenv(var, str(value))
    s3_overrides = {**overrides, "platform.services.s3proxy.enabled": True,
                    "platform.storage.s3.endpoint": f"http://127.0.0.1:{s3_port}",
                    "platform.services.spark.driver_memory": "1g"}
    s3_params = params_lib.load("dev", s3_overrides)
    try:
        services.up(s3_params, ["s3proxy", "spark"], progress=print)
        on_s3 = run_and_read_gold(s3_overrides)
        kpis = lake.read_table(PRODUCT, "daily_kpis")
        runs = lake.read_table(paths.PLATFORM, "pipeline_runs")
        store = KeyStore(tmp_path / "keys.json")
        viewer, _ = store.create("viewer", "it-s3-viewer")
        app = web_api.create_app(params=s3_params, sinks=Sinks.memory(), keys=store)
        with TestClient(app) as client:
            answer = client.get("/kpis/daily", params={"limit": 1000}, headers={"X-API-Key": viewer})
    finally:
        spark_lib.stop_all()
        services.down(["spark", "s3proxy"])

    assert set(on_s3) == set(on_local)
    for name, frame in on_local.items():
        assert_same_rows(on_s3[name], frame, name)
    # The tables are objects of the bucket (S3Proxy's files), none in a local lake folder.
    bucket = tmp_path / "s3" / "services" / "s3proxy" / "data" / BUCKET / PREFIX
    assert (bucket / PRODUCT / "gold" / "daily_kpis" / "_delta_log").is_dir()
    assert (bucket / "platform" / "pipeline_runs" / "_delta_log").is_dir()
    assert not (tmp_path / "s3" / "lake").exists()
    # The run records went to the S3 lake too (delta-rs writes), one per notebook of the product.
    assert sorted(runs["status"].unique()) == ["succeeded"]
    assert answer.status_code == 200, answer.text
    served = [(r["date"], r["sessions"], r["page_views"]) for r in answer.json()["data"]]
    assert served == [(d.isoformat(), s, p) for d, s, p in
                      kpis.sort_values("date")[["date", "sessions", "page_views"]].itertuples(index=False)]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_in_mode_cluster_the_executors_write_the_lake_on_s3(s3_lake, tmp_path, monkeypatch):
    # The executors run in the workers' processes: they need the s3 jars and the credentials too,
    # here in variables of other names (the AWS_* ones are gone), which `dp up` hands on as AWS_*.
    for var, port in zip(("DP_SPARK_PORT", "DP_SPARK_UI_PORT", "DP_SPARK_MASTER_PORT", "DP_SPARK_MASTER_UI_PORT"),
                         services.free_ports(4)):
        monkeypatch.setenv(var, str(port))
    for var, value in CREDENTIALS.items():
        monkeypatch.delenv(var)
        monkeypatch.setenv(f"IT_{var}", value)
    cluster = params_lib.load("dev", {"platform.services.s3proxy.enabled": True,
                                      "platform.storage.s3.access_key_env": "IT_AWS_ACCESS_KEY_ID",
                                      "platform.storage.s3.secret_key_env": "IT_AWS_SECRET_ACCESS_KEY",
                                      "platform.services.spark.mode": "cluster",
                                      "platform.services.spark.driver_memory": "1g",
                                      "platform.services.spark.cluster.worker_memory": "768m"})
    storage.configure(cluster)
    uri = f"{storage.current().root()}/scratch/numbers"
    try:
        services.up(cluster, ["spark"], progress=print, workers=1)
        spark = spark_lib.get_spark(cluster)
        spark.range(0, 1000, 1, 4).selectExpr("id", "id % 7 AS bucket").write.format("delta").save(uri)
        executors = list((tmp_path / "services").glob("spark-worker-*/work/app-*/*"))
    finally:
        spark_lib.stop_all()
        services.down(["spark"])
    assert len(executors) == 1
    numbers = lake.open_uri(uri).to_pandas()
    assert (len(numbers), int(numbers["id"].sum()), int((numbers["bucket"] == 0).sum())) == (1000, 499500, 143)
    assert (tmp_path / "services" / "s3proxy" / "data" / BUCKET / PREFIX / "scratch" / "numbers" / "_delta_log").is_dir()
