"""The server.properties of a local Kafka cluster: every broker a voter of one quorum, internal
topics replicated like the products' topics, and a workspace that keeps its broker count."""

import pytest

from runners import kafka_cluster, services
from shared_lib import kafka as kafka_lib


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_the_second_of_three_brokers_is_a_voter_with_its_own_ports_and_folder(kafka_params, tmp_path):
    second = props(kafka_cluster.properties(kafka_params, 2, 3))
    assert second["node.id"] == "2"
    assert second["controller.quorum.voters"] == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    assert second["listeners"] == "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    assert second["log.dirs"] == str(tmp_path / "services" / "kafka" / "broker-2" / "data")
    assert (second["default.replication.factor"], second["min.insync.replicas"]) == ("3", "2")
    assert (second["offsets.topic.replication.factor"], second["transaction.state.log.min.isr"]) == ("3", "2")


def test_a_single_broker_keeps_its_old_folder_and_one_replica(kafka_params, tmp_path):
    single = props(kafka_cluster.properties(kafka_params, 1, 1))
    assert single["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert single["log.dirs"] == str(tmp_path / "services" / "kafka" / "data")
    assert (single["offsets.topic.replication.factor"], single["min.insync.replicas"]) == ("1", "1")
    assert kafka_cluster.process_name(1) == "kafka" and kafka_cluster.process_name(3) == "kafka-3"


def test_a_workspace_started_with_one_broker_refuses_three(kafka_params):
    (kafka_cluster.broker_home(1) / "data").mkdir(parents=True)
    (kafka_cluster.broker_home(1) / "data" / "meta.properties").write_text("cluster.id=x\n")
    with pytest.raises(services.ServiceError, match="has 1 broker.*cannot change to 3"):
        kafka_cluster.start(kafka_params, brokers=3)
    kafka_lib.brokers_file().write_text("3\n")
    assert kafka_cluster.names(kafka_params) == ["kafka", "kafka-2", "kafka-3"]


def test_an_external_cluster_is_shown_as_its_bootstrap_list_and_checked_on_its_first_broker(kafka_params, monkeypatch):
    kafka_params["platform"]["services"]["kafka"]["bootstrap"] = "b1.example.com:9092, b2.example.com:9094"
    monkeypatch.setattr(kafka_cluster, "_cluster_ready", lambda params, count: False)
    [row] = kafka_cluster.statuses(kafka_params)
    assert (row.state, row.address, row.host, row.port) == (
        "stopped", "b1.example.com:9092, b2.example.com:9094", "b1.example.com", 9092)
