"""Kafka's addresses and topic settings from the parameters: the bootstrap list of a local
cluster or an external one, replication and min.insync.replicas per topic."""

import pytest

from shared_lib import kafka as kafka_lib
from shared_lib.errors import UserError


def kafka(p):
    return p["platform"]["services"]["kafka"]


def test_one_broker_is_the_default_with_one_replica(kafka_params):
    assert kafka_lib.bootstrap(kafka_params) == "127.0.0.1:19092"
    assert kafka_lib.topic_settings(kafka_params, "web.events") == {
        "partitions": 3, "replication_factor": 1, "min_insync_replicas": 1}


def test_three_brokers_interleave_their_ports_and_replicate_three_times_with_two_in_sync(kafka_params):
    kafka(kafka_params)["brokers"] = 3
    assert kafka_lib.local_brokers(kafka_params) == [(1, 19092, 19093), (2, 19094, 19095), (3, 19096, 19097)]
    assert kafka_lib.bootstrap(kafka_params) == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert kafka_lib.bootstrap_addresses(kafka_params)[2] == ("127.0.0.1", 19096)
    assert kafka_lib.topic_settings(kafka_params, "web.events") == {
        "partitions": 3, "replication_factor": 3, "min_insync_replicas": 2}


def test_the_count_a_workspace_was_started_with_wins_over_the_parameter(kafka_params):
    kafka_lib.brokers_file().parent.mkdir(parents=True)
    kafka_lib.brokers_file().write_text("3\n")
    assert kafka(kafka_params)["brokers"] == 1
    assert kafka_lib.bootstrap(kafka_params).count(",") == 2


def test_a_topic_entry_overrides_only_what_it_names(kafka_params):
    kafka(kafka_params)["brokers"] = 3
    kafka(kafka_params)["topics"] = {"web.events": {"partitions": 6}, "ops.requests": {"replication_factor": 2}}
    assert kafka_lib.topic_settings(kafka_params, "web.events") == {
        "partitions": 6, "replication_factor": 3, "min_insync_replicas": 2}
    assert kafka_lib.topic_settings(kafka_params, "ops.requests") == {
        "partitions": 3, "replication_factor": 2, "min_insync_replicas": 1}


def test_an_external_cluster_is_used_as_given(kafka_params):
    kafka(kafka_params)["bootstrap"] = " k1.example:9092,k2.example:9092 "
    assert kafka_lib.external(kafka_params)
    assert kafka_lib.bootstrap(kafka_params) == "k1.example:9092,k2.example:9092"
    assert kafka_lib.topic_settings(kafka_params, "web.events")["replication_factor"] == 3


@pytest.mark.parametrize("entry", [{"partition": 6}, {"partitions": "six"}, {"replication_factor": 1,
                                                                             "min_insync_replicas": 2}])
def test_a_wrong_topic_entry_names_its_key(kafka_params, entry):
    kafka(kafka_params)["topics"] = {"web.events": entry}
    with pytest.raises(UserError, match="platform.services.kafka.topics.web.events"):
        kafka_lib.topic_settings(kafka_params, "web.events")
