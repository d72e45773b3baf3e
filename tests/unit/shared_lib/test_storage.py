"""The lake's root as a URI: the workspace's folder by default, a file: folder or an s3a:// bucket;
each table's address under it, delta-rs's options and Spark's S3A settings for a bucket, and the
credentials taken from the environment, never from the parameters."""
from __future__ import annotations

from pathlib import Path

import pytest

from runners import s3proxy
from shared_lib import params as params_lib
from shared_lib import products, spark, storage
from shared_lib.storage import StorageError

ENV = {"AWS_ACCESS_KEY_ID": "id-1", "AWS_SECRET_ACCESS_KEY": "secret-1"}


def loaded(**overrides) -> dict:
    return params_lib.load("dev", {f"platform.storage.{k}": v for k, v in overrides.items()}, environ={})


@pytest.fixture
def lake_at(monkeypatch, tmp_path):
    """Use the storage of these overrides for the test, then the parameters' again."""
    monkeypatch.setenv("DP_HOME", str(tmp_path / "ws"))
    monkeypatch.setattr(storage, "_current", None)

    def use(**overrides) -> storage.Storage:
        return storage.configure(loaded(**overrides))
    return use


def test_by_default_a_table_lies_in_the_workspaces_lake_folder(lake_at, tmp_path):
    lake_at()
    table = products.get("web-user-analytics").table("daily_kpis")
    assert table.uri == str(tmp_path / "ws" / "lake" / "web-user-analytics" / "gold" / "daily_kpis")
    assert table.path == Path(table.uri)
    assert storage.delta_rs_options() is None
    assert storage.spark_confs(storage.current()) == {}


def test_a_file_uri_moves_the_lake_to_that_folder(lake_at, tmp_path):
    lake_at(lake_uri=f"file://{tmp_path}/elsewhere")
    assert products.get("platform").table("pipeline_runs").uri == f"{tmp_path}/elsewhere/platform/pipeline_runs"


def test_a_bucket_gives_s3a_uris_and_a_local_path_is_refused_naming_the_parameter(lake_at):
    lake_at(lake_uri="s3a://lake-bucket/team/")
    table = products.get("web-user-analytics").table("daily_kpis")
    assert table.uri == "s3a://lake-bucket/team/web-user-analytics/gold/daily_kpis"
    assert storage.delta_rs_uri(table.uri) == "s3://lake-bucket/team/web-user-analytics/gold/daily_kpis"
    assert storage.current().bucket() == "lake-bucket"
    with pytest.raises(StorageError, match=r"platform\.storage\.lake_uri is 's3a://lake-bucket/team/'"):
        _ = table.path


@pytest.mark.parametrize("uri", ["s3a://", "relative/lake", "gs://bucket/x", "file:relative"])
def test_an_unusable_lake_uri_is_refused_when_the_parameters_are_read(uri):
    with pytest.raises(StorageError, match="platform.storage.lake_uri"):
        storage.from_params(loaded(lake_uri=uri))


def test_delta_rs_options_name_the_endpoint_the_region_path_style_and_the_credentials():
    lake = storage.from_params(loaded(lake_uri="s3a://b/p", **{"s3.endpoint": "http://127.0.0.1:19000"}))
    assert storage.delta_rs_options(lake, environ=ENV) == {
        "AWS_ACCESS_KEY_ID": "id-1", "AWS_SECRET_ACCESS_KEY": "secret-1", "AWS_REGION": "us-east-1",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false", "AWS_ENDPOINT_URL": "http://127.0.0.1:19000",
        "AWS_ALLOW_HTTP": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}


def test_conditional_puts_replace_the_unlocked_commits_and_aws_needs_no_endpoint():
    lake = storage.from_params(loaded(lake_uri="s3a://b", **{"s3.conditional_put": "etag", "s3.region": "eu-west-1",
                                                             "s3.path_style": False}))
    assert storage.delta_rs_options(lake, environ=ENV) == {
        "AWS_ACCESS_KEY_ID": "id-1", "AWS_SECRET_ACCESS_KEY": "secret-1", "AWS_REGION": "eu-west-1",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "true", "aws_conditional_put": "etag"}


def test_credentials_come_from_the_variables_the_parameters_name_and_missing_ones_are_named():
    lake = storage.from_params(loaded(lake_uri="s3a://b", **{"s3.access_key_env": "LAKE_KEY",
                                                             "s3.secret_key_env": "LAKE_SECRET"}))
    assert storage.spark_environment(lake, environ={"LAKE_KEY": "k", "LAKE_SECRET": "s"}) == {
        "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    with pytest.raises(StorageError, match=r"LAKE_SECRET \(platform\.storage\.s3\.access_key_env / secret_key_env\)"):
        storage.credentials(lake.s3, environ={"LAKE_KEY": "k"})


def test_spark_gets_s3a_settings_without_credentials(monkeypatch):
    params = loaded(lake_uri="s3a://b/p", **{"s3.endpoint": "http://127.0.0.1:19000"})
    s3a = {k: v for k, v in spark.spark_confs(params).items() if "s3a" in k}
    assert s3a == {"spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                   "spark.hadoop.fs.s3a.path.style.access": "true",
                   "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
                   "spark.hadoop.fs.s3a.aws.credentials.provider":
                       "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
                   "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:19000",
                   "spark.hadoop.fs.s3a.connection.ssl.enabled": "false"}


def test_the_lake_uri_can_come_from_the_environment():
    params = params_lib.load("dev", environ={"DP_LAKE_URI": "s3a://from-env/x"})
    assert storage.from_params(params).root() == "s3a://from-env/x"


def test_an_enabled_s3proxy_is_the_endpoint_when_none_is_given():
    params = params_lib.load("dev", {"platform.services.s3proxy.enabled": True,
                                     "platform.storage.lake_uri": "s3a://b"}, environ={"DP_S3PROXY_PORT": "19555"})
    assert storage.from_params(params).s3["endpoint"] == "http://127.0.0.1:19555"
    assert s3proxy.check_lake(params).bucket() == "b"


def test_s3proxy_refuses_an_endpoint_that_is_not_its_own():
    params = params_lib.load("dev", {"platform.services.s3proxy.enabled": True,
                                     "platform.storage.lake_uri": "s3a://b",
                                     "platform.storage.s3.endpoint": "http://127.0.0.1:1"}, environ={})
    with pytest.raises(s3proxy.services.ServiceError, match="set the endpoint to http://127.0.0.1:19000"):
        s3proxy.check_lake(params)


def test_s3proxy_properties_keep_its_files_in_the_workspace(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    text = s3proxy.properties(params_lib.load("dev", environ={}), "id-1", "secret-1")
    assert text.splitlines() == [
        "s3proxy.endpoint=http://127.0.0.1:19000", "s3proxy.authorization=aws-v2-or-v4",
        "s3proxy.identity=id-1", "s3proxy.credential=secret-1", "jclouds.provider=filesystem",
        "jclouds.identity=id-1", "jclouds.credential=secret-1",
        f"jclouds.filesystem.basedir={tmp_path}/services/s3proxy/data"]
