"""Bronze keeps every Kafka message, but as valid UTF-8 text: bytes that are not UTF-8 become
U+FFFD, so that Arrow readers of the table (delta-rs, the APIs, a DSAR) can read every row."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from shared_lib import ingest

MESSAGES = [(b"\xffk", b'{"event_id": "\xc3\x28"}'), (None, b"\xed\xa0\x80"), (b"k", "café".encode())]


def test_bytes_that_are_not_utf8_become_the_replacement_character(spark):
    ts = dt.datetime(2019, 6, 15, 12)
    kafka = spark.createDataFrame([(k, v, "t", 0, i, ts) for i, (k, v) in enumerate(MESSAGES)],
                                  "key binary, value binary, topic string, partition int, offset bigint, timestamp timestamp")
    rows = ingest.to_bronze(kafka, "run").orderBy("offset").select("key", "value", "value_bytes").collect()
    assert [tuple(r) for r in rows] == [("\ufffdk", '{"event_id": "\ufffd("}', 18), (None, "\ufffd\ufffd\ufffd", 3),
                                        ("k", "café", 5)]
    # what failed before: Arrow refuses a string column that is not UTF-8
    assert pa.array([r["value"] for r in rows], pa.string()).validate(full=True) is None
