"""The session factory's modes: which URL a client of mode server, cluster or remote uses, and
that a wrong mode or URL is refused with the parameter to fix."""
from __future__ import annotations

import pytest

from shared_lib import params as params_lib
from shared_lib import spark


def _params(**spark_overrides):
    return params_lib.load("dev", {f"platform.services.spark.{k}": v for k, v in spark_overrides.items()},
                           environ={})


def test_server_and_cluster_clients_use_the_connect_server_of_dp_up():
    for mode in ("server", "cluster"):
        p = _params(mode=mode, host="127.0.0.1", port=15002)
        assert spark.connect_url(p) == "sc://127.0.0.1:15002"
        assert spark.remote_address(p) == ("127.0.0.1", 15002)


def test_remote_uses_the_url_given_and_its_port_or_spark_connects_default():
    p = _params(mode="remote", **{"remote.url": "sc://spark.example.com:443/;use_ssl=true"})
    assert spark.connect_url(p) == "sc://spark.example.com:443/;use_ssl=true"
    assert spark.remote_address(p) == ("spark.example.com", 443)
    assert spark.remote_address(_params(mode="remote", **{"remote.url": "sc://spark.example.com"})) == \
        ("spark.example.com", 15002)


def test_the_token_is_added_as_a_url_parameter():
    assert spark.with_token("sc://h:443/;use_ssl=true", "s3cr3t") == "sc://h:443/;use_ssl=true;token=s3cr3t"
    assert spark.with_token("sc://h:443", "s3cr3t") == "sc://h:443/;token=s3cr3t"
    assert spark.with_token("sc://h:443", None) == "sc://h:443"


def test_remote_without_an_sc_url_names_the_parameter():
    with pytest.raises(spark.SparkUnavailable, match=r"services\.spark\.remote\.url is ''.*sc://"):
        spark.connect_url(_params(mode="remote"))


def test_an_unknown_mode_lists_the_modes():
    with pytest.raises(spark.SparkUnavailable, match="unknown services.spark.mode 'connect': expected one of "
                                                     "server, cluster, remote, local"):
        spark.get_spark(_params(mode="connect"))
