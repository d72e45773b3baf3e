"""A lake on S3-compatible storage end to end: S3Proxy and a Spark Connect server with hadoop-aws
started by `dp up` in a workspace of their own (free ports, lake_uri s3a://lake/it), and
web-user-analytics bronze -> gold run there. Its gold tables, read back by the dashboards' reader
(delta-rs, ``lake.read_table``) and by the web API, equal those of the same run on a local lake
over the same events; nothing lands in a local lake folder.

The events go to a topic of this test's own and the runs record no audit reads, as in
test_spark_cluster."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from products.web_user_analytics import api as web_api
from runners import services
from shared_lib import lake, paths, storage
from shared_lib import params as params_lib
from shared_lib import spark as spark_lib
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import Sinks
from tests.integration.test_spark_cluster import PRODUCT, _run_and_read_gold, assert_same_rows, web_topic  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(2400)]

BUCKET, PREFIX = "lake", "it"


def test_web_gold_on_s3proxy_equals_a_local_lakes_and_the_reader_and_the_api_read_it(
        params, web_topic, tmp_path, monkeypatch):  # noqa: F811 (web_topic: the imported fixture)
    monkeypatch.setattr(storage, "_current", None)  # restored after the test: the session's lake is local
    overrides = {f"{PRODUCT}.topic": web_topic, "platform.audit.record_runs": False}
    monkeypatch.setenv("DP_HOME", str(tmp_path / "local"))
    on_local = _run_and_read_gold(overrides)
    assert sum(map(len, on_local.values())) > 100  # the comparison below compares something

    monkeypatch.setenv("DP_HOME", str(tmp_path / "s3"))
    spark_port, ui_port, s3_port = services.free_ports(3)
    for var, value in {"DP_SPARK_PORT": spark_port, "DP_SPARK_UI_PORT": ui_port, "DP_S3PROXY_PORT": s3_port,
                       "DP_LAKE_URI": f"s3a://{BUCKET}/{PREFIX}", "AWS_ACCESS_KEY_ID": "it-identity",
                       "AWS_SECRET_ACCESS_KEY": "it-credential"}.items():
        monkeypatch.setenv(var, str(value))
    s3_overrides = {**overrides, "platform.services.s3proxy.enabled": True,
                    "platform.storage.s3.endpoint": f"http://127.0.0.1:{s3_port}",
                    "platform.services.spark.driver_memory": "1g"}
    s3_params = params_lib.load("dev", s3_overrides)
    try:
        services.up(s3_params, ["s3proxy", "spark"], progress=print)
        on_s3 = _run_and_read_gold(s3_overrides)
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
