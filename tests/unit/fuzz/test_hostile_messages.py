"""Fuzz (issue 19 item 2), the pure Python side: every function that reads a raw Kafka message in
Python takes any bytes without raising (the Spark side: tests/spark/shared_lib/test_contract_fuzz.py,
end to end: tests/integration/test_fuzz_pipeline.py). Hypothesis is derandomized: the same cases
every run; CASES of each test."""
from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from products.compliance_auditing.contract import AUDIT_CONTRACT
from products.web_user_analytics.contract import WEB_CONTRACT
from runners import generate
from shared_lib import kafka as kafka_lib
from shared_lib.dsar import match

CASES, BATCHES = 500, 100  # examples of a one-message test, of a test of a list of messages
fuzz = settings(max_examples=CASES, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
fuzz_batches = settings(fuzz, max_examples=BATCHES)
WEB_FIELDS = [f.name for f in WEB_CONTRACT.fields]
SUBJECT = {"anon-000001"}

from tests.fuzz import JSON, messages  # noqa: E402  (after the settings it is used with)

WEB_MESSAGES = messages(WEB_CONTRACT)


@fuzz
@given(WEB_MESSAGES)
def test_a_dsar_finds_no_named_field_in_a_message_that_names_none(value):
    text = value.decode("utf-8", errors="replace")  # as bronze's value column holds it
    assert match.fields_naming(text, SUBJECT, WEB_FIELDS) == []
    assert match.matched_by(text, SUBJECT, WEB_FIELDS) == "text"


@fuzz
@given(WEB_MESSAGES)
def test_a_dsar_finds_the_subject_field_whatever_else_the_object_holds(value):
    text = value.decode("utf-8", errors="replace")
    if not text.lstrip().startswith("{") or not text.rstrip().endswith("}") or text.strip() == "{}":
        text = "{}"
    tail = text.strip()[1:]
    message = '{"anonymous_id": "anon-000001"' + ("" if tail == "}" else ", ") + tail
    named = match.fields_naming(message, SUBJECT, WEB_FIELDS)
    # A later duplicate key, or a message that is no valid JSON, does not name it; else it does.
    assert named in ([], ["anonymous_id"])


@fuzz
@given(st.binary(max_size=200) | WEB_MESSAGES.filter(lambda v: len(v) < 4096))
def test_redaction_leaves_no_token_of_the_subject_in_any_bytes(data):
    planted = data + b" anon-000001 " + data
    redacted, count = match.redact(planted, SUBJECT)
    assert count >= 1
    assert match.redact(redacted, SUBJECT)[1] == 0


@fuzz_batches
@given(st.lists(WEB_MESSAGES.filter(lambda v: len(v) < 4096), max_size=20))
def test_the_text_mask_answers_every_row_of_any_texts(values):
    texts = pa.array([v.decode("utf-8", errors="replace") for v in values] + [None], pa.string())
    mask = match.text_mask(texts, SUBJECT)
    assert len(mask) == len(values) + 1 and mask.null_count == 0
    assert mask.to_pylist()[-1] is False


@fuzz_batches
@given(st.lists(JSON.filter(lambda v: isinstance(v, dict)) | st.text() | st.binary(), max_size=10),
       st.sampled_from([None, "anonymous_id", "event_id"]))
def test_every_event_a_producer_is_given_becomes_one_kafka_message(events, key_field):
    pairs = list(kafka_lib.encode_events(events, key_field))
    assert len(pairs) == len(events)
    assert all(isinstance(value, bytes) and (key is None or isinstance(key, bytes)) for key, value in pairs)


@fuzz
@given(messages(AUDIT_CONTRACT), st.sampled_from(["anonymous_id", "device_id", "event_id"]))
def test_dp_produce_keys_any_line_or_sends_it_without_a_key(line, key_field):
    key = generate.message_key(line, key_field)
    assert key is None or isinstance(key, bytes)
