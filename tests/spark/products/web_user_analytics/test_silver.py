"""Silver bookkeeping of shared_lib.incremental (rows not processed yet, duplicates, accounting)
and the consent seam of shared_lib.consent, on tiny hand-built DataFrames."""


from __future__ import annotations

import datetime as dt

import pytest

from shared_lib import consent, incremental

T0 = dt.datetime(2024, 3, 1, 12, 0)


BRONZE = "topic string, partition int, offset bigint, kafka_ts timestamp"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.mark.integration
def test_unprocessed_is_everything_past_the_last_offset_per_partition(spark):
    bronze = spark.createDataFrame([("web.events", p, o, T0) for p in (0, 1, 2) for o in range(4)], BRONZE)
    batches = spark.createDataFrame([
        {"offsets": [{"topic": "web.events", "partition": 0, "from_offset": 0, "to_offset": 1}]},
        {"offsets": [{"topic": "web.events", "partition": 0, "from_offset": 2, "to_offset": 2},
                     {"topic": "web.events", "partition": 1, "from_offset": 0, "to_offset": 3}]},
    ], "offsets array<struct<topic:string, partition:int, from_offset:bigint, to_offset:bigint>>")
    marks = incremental.high_water_marks(batches)
    assert marks == {("web.events", 0): 2, ("web.events", 1): 3}
    got = sorted((r["partition"], r["offset"]) for r in incremental.unprocessed(bronze, marks).collect())
    assert got == [(0, 3), (2, 0), (2, 1), (2, 2), (2, 3)]
    assert incremental.unprocessed(bronze, {}) is bronze


@pytest.mark.integration
def test_classify_duplicates_within_the_batch_against_silver_and_after_a_crash(spark):
    schema = "event_id string, " + BRONZE
    existing = spark.createDataFrame([("z", "web.events", 0, 1, T0), ("w", "web.events", 0, 0, T0)], schema)
    batch = spark.createDataFrame([
        ("x", "web.events", 0, 4, at(1)),
        ("y", "web.events", 0, 5, at(2)),  # the same id arrived earlier on partition 1: duplicate
        ("y", "web.events", 1, 3, at(1)),
        ("z", "web.events", 0, 1, T0),     # this very message is in silver: a crashed run wrote it
        ("w", "web.events", 0, 6, at(3)),  # id already in silver from another message: duplicate
        ("v", "web.events", 0, 7, at(2)),  # three times in the batch: the earliest Kafka time wins,
        ("v", "web.events", 2, 9, at(1)),  # and between equal times the lower partition
        ("v", "web.events", 1, 9, at(1)),
    ], schema)
    got = {(r["event_id"], r["partition"], r["offset"]): (r["outcome"], r["already_written"])
           for r in incremental.classify(batch, existing).collect()}
    assert got == {("x", 0, 4): ("clean", False), ("y", 0, 5): ("duplicate", False),
                   ("y", 1, 3): ("clean", False), ("z", 0, 1): ("clean", True), ("w", 0, 6): ("duplicate", False),
                   ("v", 0, 7): ("duplicate", False), ("v", 2, 9): ("duplicate", False), ("v", 1, 9): ("clean", False)}


@pytest.mark.integration
def test_tally_counts_every_bronze_row_once_per_partition(spark):
    coordinates = [(0, 3), (0, 4), (0, 5), (1, 7), (1, 8)]
    batch = spark.createDataFrame([("web.events", p, o, T0) for p, o in coordinates], BRONZE)
    pick = lambda *coords: batch.where(" OR ".join(f"(partition = {p} AND offset = {o})" for p, o in coords))
    partitions = incremental.tally(batch, {"clean": pick((0, 3), (1, 7)), "quarantined": pick((0, 4)),
                                           "duplicate": pick((0, 5), (1, 8))})
    assert partitions == [
        {"topic": "web.events", "partition": 0, "from_offset": 3, "to_offset": 5, "bronze_rows": 3,
         "clean": 1, "quarantined": 1, "duplicate": 1, "consent_excluded": 0},
        {"topic": "web.events", "partition": 1, "from_offset": 7, "to_offset": 8, "bronze_rows": 2,
         "clean": 1, "quarantined": 0, "duplicate": 1, "consent_excluded": 0}]
    row = incremental.batch_row("r1", 7, partitions, [dt.date(2024, 3, 2), dt.date(2024, 3, 1), dt.date(2024, 3, 2)])
    assert {k: v for k, v in row.items() if k != "processed_at"} == {
        "run_id": "r1", "bronze_version": 7, "bronze_rows": 5, "clean_rows": 2, "quarantined_rows": 1,
        "duplicate_rows": 2, "consent_excluded_rows": 0,
        "offsets": [{"topic": "web.events", "partition": 0, "from_offset": 3, "to_offset": 5},
                    {"topic": "web.events", "partition": 1, "from_offset": 7, "to_offset": 8}],
        "affected_dates": [dt.date(2024, 3, 1), dt.date(2024, 3, 2)],
        "consent_offsets": [], "consent_withdrawn_rows": 0, "events_version": None}
    assert incremental.summary(row, {"malformed_json": 1}) == {
        "bronze_rows": 5, "clean_rows": 2, "quarantined_rows": 1, "duplicate_rows": 2, "consent_excluded_rows": 0,
        "consent_withdrawn_rows": 0,
        "affected_dates": ["2024-03-01", "2024-03-02"], "quarantine_by_reason": {"malformed_json": 1}}
    assert incremental.summary(None)["bronze_rows"] == 0


@pytest.mark.integration
def test_consent_passes_everything_until_compliance_supplies_consent(spark):
    events = spark.createDataFrame([("e1", T0, "a", None)], "event_id string, event_ts timestamp, "
                                                            "anonymous_id string, user_id string")
    kept, excluded = consent.split(events, None, ["anonymous_id", "user_id"])
    assert kept is events and excluded is None


@pytest.mark.integration
def test_consent_latest_decision_at_or_before_the_event_wins(spark):
    events = spark.createDataFrame([
        ("before_any", at(0), "a", None), ("refused", at(2), "a", None), ("at_refusal", at(1), "a", None),
        ("granted_again", at(4), "a", None), ("user_refused", at(4), "a", "u"), ("other", at(2), "b", None),
    ], "event_id string, event_ts timestamp, anonymous_id string, user_id string")
    consents = spark.createDataFrame([
        ("a", at(1), "analytics", False), ("a", at(3), "analytics", True),
        ("u", at(0), "analytics", False), ("b", at(0), "marketing", False),  # another purpose: ignored
    ], "subject_id string, event_ts timestamp, purpose string, granted boolean")
    kept, excluded = consent.split(events, consents, ["anonymous_id", "user_id"])
    assert sorted(r["event_id"] for r in kept.collect()) == ["before_any", "granted_again", "other"]
    assert sorted(r["event_id"] for r in excluded.collect()) == ["at_refusal", "refused", "user_refused"]
    kept, _ = consent.split(events, consents.limit(0), ["anonymous_id", "user_id"], default_granted=False)
    assert kept.count() == 0


@pytest.mark.integration
def test_reason_counts_are_most_frequent_first_then_by_name(spark):
    quarantined = spark.createDataFrame([(r,) for r in ("bad_type:revenue", "malformed_json", "malformed_json",
                                                        "bad_timestamp", "too_large", "too_large")], "reason string")
    assert list(incremental.reason_counts(quarantined).items()) == [
        ("malformed_json", 2), ("too_large", 2), ("bad_timestamp", 1), ("bad_type:revenue", 1)]
