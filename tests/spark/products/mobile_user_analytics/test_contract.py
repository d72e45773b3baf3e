"""The mobile event contract (events.md, topic mobile.events) through the shared validator: what
is mobile's own (device, platform, app version, screen views, crashes); the rules every product
shares are pinned by test_web_contract.py."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from products.mobile_user_analytics.contract import MOBILE_CONTRACT
from shared_lib import contract

pytestmark = pytest.mark.integration

UTC = dt.timezone.utc
INGESTED = dt.datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
GOOD = {"event_id": "e", "event_type": "app_open", "event_ts": "2024-03-10T10:00:00Z", "device_id": "d1",
        "platform": "ios", "app_version": "3.2.0"}


def ev(**changes):
    """GOOD with ``changes`` applied; a value of ``...`` removes the field."""
    return json.dumps({k: v for k, v in {**GOOD, **changes}.items() if v is not ...})


CASES = [
    ("good", ev(), None),
    ("good_normalized", ev(platform=" Android ", country="de", currency="eur", os_version="14",
                           user_id="u1", properties={"k": 1}), None),
    ("good_country_nulled", ev(country="ZZ"), None),
    ("good_screen_view", ev(event_type="screen_view", screen_name="cart"), None),
    ("good_crash", ev(event_type="crash", properties={"exception": "NPE"}), None),
    ("good_install", ev(event_type="app_install"), None),
    ("good_purchase", ev(event_type="purchase", order_id="o1", revenue="4.99"), None),
    ("unknown_event_type", ev(event_type="page_view"), "bad_value:event_type"),
    ("missing_device", ev(device_id=...), "missing_field:device_id"),
    ("blank_device", ev(device_id=" "), "missing_field:device_id"),
    ("missing_platform", ev(platform=...), "missing_field:platform"),
    ("unknown_platform", ev(platform="windows_phone"), "bad_value:platform"),
    ("missing_app_version", ev(app_version=...), "missing_field:app_version"),
    ("numeric_app_version", ev(app_version=3.2), "bad_type:app_version"),
    ("screen_view_without_screen", ev(event_type="screen_view"), "missing_field:screen_name"),
    ("purchase_without_order", ev(event_type="purchase", revenue=1), "missing_field:order_id"),
    ("purchase_negative", ev(event_type="purchase", order_id="o", revenue=-1), "bad_value:revenue"),
    ("ts_without_zone", ev(event_ts="2024-03-10T10:00:00"), "bad_timestamp"),
    ("malformed", '{"event_id": "x", ', "malformed_json"),
]


@pytest.fixture(scope="module")
def validated(spark):
    rows = [("mobile.events", 0, i, INGESTED, INGESTED, INGESTED.date(), value)
            for i, (_, value, _) in enumerate(CASES)]
    bronze = spark.createDataFrame(rows, "topic string, partition int, offset bigint, kafka_ts timestamp, "
                                         "ingested_at timestamp, ingest_date date, value string")
    by_offset = {r["offset"]: r for r in contract.validate(bronze, MOBILE_CONTRACT).collect()}
    return {name: by_offset[i] for i, (name, _, _) in enumerate(CASES)}


def test_every_message_gets_its_reason(validated):
    assert {name: row["reason"] for name, row in validated.items()} == {name: reason for name, _, reason in CASES}


def test_values_are_normalized_or_nulled(validated):
    row = validated["good_normalized"]
    assert (row["platform"], row["country"], row["currency"], row["os_version"]) == ("android", "DE", "EUR", "14")
    assert validated["good_country_nulled"]["country"] is None
    assert validated["good"]["currency"] == "USD"
    assert validated["good_purchase"]["revenue"] == 4.99
