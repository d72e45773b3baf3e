"""`dp produce PRODUCT --file F [--topic T]`: the topic named (or its role), the only topic of a
one-topic product, and a clear error naming the topics when a product has several."""
import pytest

from runners import cli
from runners.generate import GenerateError, choose_topic, with_fresh_ids
from shared_lib import kafka as kafka_lib
from shared_lib import params as params_lib


@pytest.fixture(scope="module")
def params():
    return params_lib.load("dev")


def test_a_product_with_two_topics_maps_each_role_to_its_topic(params):
    assert kafka_lib.topics_of(params, "compliance-auditing") == {
        "audit": "compliance.audit", "consent": "compliance.consent"}
    assert kafka_lib.topics_of(params, "web-user-analytics") == {"": "web.events"}


def test_topic_is_named_by_itself_or_by_its_role(params):
    assert choose_topic(params, "compliance-auditing", "compliance.consent") == "compliance.consent"
    assert choose_topic(params, "compliance-auditing", "audit") == "compliance.audit"
    assert choose_topic(params, "web-user-analytics", None) == "web.events"
    assert choose_topic(params, "web-user-analytics", "web.events") == "web.events"


def test_topic_is_required_when_a_product_has_several(params):
    with pytest.raises(GenerateError, match=r"compliance-auditing has several topics: name one with --topic "
                                            r"\(compliance\.audit, compliance\.consent\)"):
        choose_topic(params, "compliance-auditing", None)
    with pytest.raises(GenerateError, match=r"web-user-analytics has no topic 'compliance.audit'"):
        choose_topic(params, "web-user-analytics", "compliance.audit")


def test_dp_produce_without_topic_fails_before_looking_for_kafka(tmp_path, capsys):
    events = tmp_path / "audit.jsonl"
    events.write_text('{"event_id": "a"}\n')
    assert cli.main(["produce", "compliance-auditing", "--file", str(events)]) == 2
    assert "has several topics: name one with --topic" in capsys.readouterr().err


def test_every_declared_topic_is_created_once(params):
    topics = kafka_lib.all_topics(params)
    assert {"compliance.audit", "compliance.consent", "web.events"} <= set(topics)
    assert len(topics) == len(set(topics))


def test_dp_generate_routes_each_event_to_the_topic_of_its_role(params, monkeypatch):
    from products.compliance_auditing import generator
    from runners import generate

    sent = {}

    def produce(_params, topic, messages, progress=None):
        sent[topic] = [value for _, value in messages]
        return len(sent[topic])

    monkeypatch.setattr(kafka_lib, "produce", produce)
    monkeypatch.setattr(generator, "demo_subjects", lambda now: ["anon-000001", "dev-00000000abcd"])
    assert generate.generate(params, "compliance-auditing", events=200, seed=1, log=lambda _: None) == 200
    assert set(sent) == {"compliance.audit", "compliance.consent"}
    assert all(b'"granted"' in v for v in sent["compliance.consent"])
    assert not any(b'"granted"' in v for v in sent["compliance.audit"])
    assert len(sent["compliance.consent"]) >= 0.2 * 190


def test_fresh_ids_prefix_every_event_id_and_leave_broken_events_as_they_are():
    events = [{"event_id": "0", "x": 1}, "not json", {"no_id": True}, b"\xff"]
    assert with_fresh_ids(events, "c3-") == [{"event_id": "c3-0", "x": 1}, "not json", {"no_id": True}, b"\xff"]
    assert events[0] == {"event_id": "0", "x": 1}  # the input is not changed
