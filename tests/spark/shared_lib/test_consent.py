"""Late consent withdrawals (shared_lib.consent.withdrawals and withdrawn): which events already
in silver a withdrawal that arrived after them takes out, on a hand-built case."""
from __future__ import annotations

import datetime as dt

from shared_lib import consent

T0 = dt.datetime(2024, 3, 1, 12, 0)
EVENTS = "event_id string, event_ts timestamp, anonymous_id string, user_id string"
CONSENTS = "subject_id string, event_ts timestamp, purpose string, granted boolean"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_withdrawals_are_the_earliest_analytics_refusal_per_subject(spark):
    arrived = spark.createDataFrame([
        ("s", at(30), "analytics", False), ("s", at(10), "analytics", False), ("s", at(5), "analytics", True),
        ("t", at(0), "marketing", False),  # another purpose
        ("u", at(0), "analytics", True),  # a grant withdraws nothing
    ], CONSENTS)
    assert [tuple(r) for r in consent.withdrawals(arrived).collect()] == [("s", at(10))]


def test_a_late_withdrawal_takes_out_the_events_from_it_to_the_next_grant(spark):
    events = spark.createDataFrame([
        ("s-before", at(0), "s", None),  # before the withdrawal: stays
        ("s-at", at(10), "s", None),  # at exactly the withdrawal's time: the refusal is in force
        ("s-after", at(20), "s", None),  # between the withdrawal and the re-grant
        ("s-regranted", at(40), "s", None),  # after the re-grant at 30: stays
        ("t-same-time", at(20), "t", None),  # another subject: untouched
        ("s-as-user", at(25), "x", "s"),  # s logged in on another device: its user_id withdrew
    ], EVENTS)
    every_consent = spark.createDataFrame([
        ("s", at(-10), "analytics", True),  # known when the events arrived
        ("s", at(10), "analytics", False), ("s", at(30), "analytics", True),  # arrived late
        ("t", at(0), "marketing", False),  # another purpose
    ], CONSENTS)
    arrived = every_consent.where(f"event_ts >= '{at(10)}'")
    removed = consent.withdrawn(events, consent.withdrawals(arrived), every_consent, ["anonymous_id", "user_id"])
    assert sorted(r["event_id"] for r in removed.collect()) == ["s-after", "s-as-user", "s-at"]


def test_a_withdrawal_with_no_later_grant_takes_out_everything_after_it(spark):
    events = spark.createDataFrame([("s1", at(0), "s", None), ("s2", at(60), "s", None),
                                    ("s3", at(600), "s", "u")], EVENTS)
    every_consent = spark.createDataFrame([("s", at(30), "analytics", False)], CONSENTS)
    removed = consent.withdrawn(events, consent.withdrawals(every_consent), every_consent, ["anonymous_id", "user_id"])
    # s3 once only, though both of its subject columns are looked up
    assert sorted(r["event_id"] for r in removed.collect()) == ["s2", "s3"]
