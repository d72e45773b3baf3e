"""Bronze's filter of erased subjects on the real server: a message is dropped when its key or a
token of its text (a malformed line too) has a keyed hash in the erasure log; an id that merely
starts like an erased one is kept; with no erasure nothing is filtered."""
from __future__ import annotations

from shared_lib import subject_hash
from shared_lib.dsar import replay

KEY = b"replay-test-key"
ERASED = [subject_hash.hash_id(i, KEY) for i in ("user-00042", "anon-000042")]


def test_messages_naming_an_erased_id_in_their_key_or_text_are_dropped(spark):
    rows = [("anon-000042", '{"anonymous_id": "anon-000042"}'),                  # key and field
            (None, '{"event_id": "w-9", "user_id": "user-00042", "event_ty'),    # malformed, no key
            ("anon-000042", "not json at all"),                                   # the key alone
            ("anon-000420", '{"anonymous_id": "anon-000420", "user_id": "user-000420"}'),  # prefix trap
            (None, None),                                                         # an empty message
            ("anon-000999", '{"anonymous_id": "anon-000999"}')]
    df = spark.createDataFrame(rows, "key string, value string")
    kept = replay.without_erased(df, ERASED, KEY).collect()
    assert sorted((r["key"] or "", r["value"] or "") for r in kept) == [
        ("", ""), ("anon-000420", '{"anonymous_id": "anon-000420", "user_id": "user-000420"}'),
        ("anon-000999", '{"anonymous_id": "anon-000999"}')]
    assert replay.without_erased(df, [], KEY) is df
