"""The web event contract (events.md) through ``shared_lib.contract.validate``: every quarantine
reason, the nulling rules, type coercions and timestamp forms, on one tiny bronze DataFrame
validated once."""


from __future__ import annotations

import datetime as dt
import json

import pytest

from products.web_user_analytics.contract import WEB_CONTRACT
from shared_lib import contract

UTC = dt.timezone.utc


INGESTED = dt.datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


GOOD = {"event_id": "e", "event_type": "page_view", "event_ts": "2024-03-10T10:00:00Z",
        "anonymous_id": "a1", "page_url": "https://shop.example.com/"}


PURCHASE = {**GOOD, "event_type": "purchase", "order_id": "o1", "revenue": 10}


def ev(**changes):
    """GOOD with ``changes`` applied; a value of ``...`` removes the field."""
    event = {**GOOD, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not ...}, ensure_ascii=False)


def purchase(**changes):
    event = {**PURCHASE, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not ...})


# (case name, raw message value, expected reason or None)
CASES = [
    ("good", ev(), None),
    ("good_offset_ts", ev(event_ts="2024-03-10T12:00:00.123+02:00"), None),
    ("good_epoch_ms", ev(event_ts=1710064800000), None),
    ("good_epoch_ms_string", ev(event_ts="1710064800000"), None),
    ("good_no_seconds", ev(event_ts="2024-03-10T10:00Z"), None),
    ("good_normalized", ev(country=" de ", device_type="Mobile", page_load_ms="1500", currency="eur",
                           referrer="", user_id="", properties={"scroll_depth": 50}, extra_field=[1, 2]), None),
    ("good_out_of_domain_nulled", ev(country="ZZ", device_type="phone", page_load_ms=300001), None),
    ("good_load_negative_nulled", ev(page_load_ms=-1, country="usa"), None),
    ("good_load_max", ev(page_load_ms=300000, page_title="Café ☕"), None),
    ("good_click_without_url", ev(event_type="click", page_url=...), None),
    ("good_purchase_numeric_string", purchase(revenue="12.50"), None),
    ("good_future_boundary", ev(event_ts="2024-03-11T12:00:00Z"), None),
    ("malformed", '{"event_id": "x", "event_type": ', "malformed_json"),
    ("not_object", json.dumps(["e", "page_view"]), "malformed_json"),
    ("json_string", '"hello"', "malformed_json"),
    ("duplicate_keys", '{"event_id": "a", "event_id": "b"}', "malformed_json"),
    ("empty", "", "malformed_json"),
    ("too_large", ev(properties={"blob": "x" * (1024 * 1024)}), "too_large"),
    ("missing_event_id", ev(event_id=...), "missing_field:event_id"),
    ("blank_event_id", ev(event_id="  "), "missing_field:event_id"),
    ("null_event_id", ev(event_id=None), "missing_field:event_id"),
    ("long_event_id", ev(event_id="x" * 129), "bad_value:event_id"),
    ("numeric_event_id", ev(event_id=123), "bad_type:event_id"),
    ("first_check_wins", ev(event_id=..., event_type="teleport"), "missing_field:event_id"),
    ("missing_event_type", ev(event_type=...), "missing_field:event_type"),
    ("unknown_event_type", ev(event_type="teleport"), "bad_value:event_type"),
    ("missing_ts", ev(event_ts=...), "missing_field:event_ts"),
    ("ts_without_zone", ev(event_ts="2024-03-10T10:00:00"), "bad_timestamp"),
    ("ts_words", ev(event_ts="yesterday"), "bad_timestamp"),
    ("ts_impossible_date", ev(event_ts="2024-02-30T10:00:00Z"), "bad_timestamp"),
    ("ts_fractional_epoch", ev(event_ts=1710064800000.5), "bad_timestamp"),
    ("ts_boolean", ev(event_ts=True), "bad_timestamp"),
    ("ts_future", ev(event_ts="2024-03-11T12:00:00.001Z"), "future_timestamp"),
    ("missing_visitor", ev(anonymous_id=...), "missing_field:anonymous_id"),
    ("numeric_user_id", ev(user_id=42), "bad_type:user_id"),
    ("page_view_without_url", ev(page_url=...), "missing_field:page_url"),
    ("relative_url", ev(page_url="/product"), "bad_value:page_url"),
    ("ftp_url", ev(page_url="ftp://shop.example.com/x"), "bad_value:page_url"),
    ("bad_referrer", ev(referrer="somewhere"), "bad_value:referrer"),
    ("country_number", ev(country=49), "bad_type:country"),
    ("load_not_number", ev(page_load_ms="fast"), "bad_type:page_load_ms"),
    ("load_fraction", ev(page_load_ms=12.5), "bad_type:page_load_ms"),
    ("load_boolean", ev(page_load_ms=True), "bad_type:page_load_ms"),
    ("purchase_without_order", purchase(order_id=...), "missing_field:order_id"),
    ("purchase_without_revenue", purchase(revenue=...), "missing_field:revenue"),
    ("negative_revenue", purchase(revenue=-0.01), "bad_value:revenue"),
    ("revenue_text", purchase(revenue="ten"), "bad_type:revenue"),
    ("revenue_nan_text", purchase(revenue="NaN"), "bad_type:revenue"),
    ("unknown_currency", purchase(currency="XYZ"), "bad_value:currency"),
    ("properties_not_object", ev(properties="scroll"), "bad_type:properties"),
]


@pytest.fixture(scope="module")
def validated(spark):
    rows = [("web.events", 0, i, INGESTED, INGESTED, INGESTED.date(), value) for i, (_, value, _) in enumerate(CASES)]
    bronze = spark.createDataFrame(rows, "topic string, partition int, offset bigint, kafka_ts timestamp, "
                                         "ingested_at timestamp, ingest_date date, value string")
    out = contract.validate(bronze, WEB_CONTRACT)
    quarantine = contract.quarantined(out, WEB_CONTRACT, max_value_chars=20)
    by_offset = {r["offset"]: r for r in out.collect()}
    return ({name: by_offset[i] for i, (name, _, _) in enumerate(CASES)},
            {r["offset"]: r for r in quarantine.collect()})


@pytest.mark.integration
def test_every_message_gets_its_reason(validated):
    rows, _ = validated
    got = {name: rows[name]["reason"] for name, _, _ in CASES}
    assert got == {name: reason for name, _, reason in CASES}


@pytest.mark.integration
def test_timestamps_are_utc_from_every_accepted_form(validated):
    rows, _ = validated
    ten = dt.datetime(2024, 3, 10, 10, 0)
    assert rows["good"]["event_ts"] == ten
    assert rows["good_offset_ts"]["event_ts"] == dt.datetime(2024, 3, 10, 10, 0, 0, 123000)
    assert rows["good_epoch_ms"]["event_ts"] == ten
    assert rows["good_epoch_ms_string"]["event_ts"] == ten
    assert rows["good_no_seconds"]["event_ts"] == ten


@pytest.mark.integration
def test_values_are_typed_normalized_or_nulled(validated):
    rows, _ = validated
    n = rows["good_normalized"]
    assert (n["country"], n["device_type"], n["page_load_ms"], n["currency"]) == ("DE", "mobile", 1500, "EUR")
    assert (n["referrer"], n["user_id"]) == (None, None)  # empty strings count as absent
    assert json.loads(n["properties"]) == {"scroll_depth": 50}
    assert "extra_field" not in n.asDict()  # unknown fields are ignored
    nulled = rows["good_out_of_domain_nulled"]
    assert (nulled["country"], nulled["device_type"], nulled["page_load_ms"]) == (None, None, None)
    negative = rows["good_load_negative_nulled"]
    assert (negative["page_load_ms"], negative["country"]) == (None, None)
    assert rows["good_load_max"]["page_load_ms"] == 300000
    assert rows["good_load_max"]["page_title"] == "Café ☕"
    assert rows["good"]["currency"] == "USD"  # the default
    assert rows["good_purchase_numeric_string"]["revenue"] == 12.5
    assert rows["good_purchase_numeric_string"]["order_id"] == "o1"


@pytest.mark.integration
def test_quarantined_rows_carry_no_typed_values(validated):
    rows, _ = validated
    bad = rows["unknown_event_type"]
    assert bad["event_id"] is None and bad["event_ts"] is None


@pytest.mark.integration
def test_quarantine_rows_keep_coordinates_event_id_and_cut_value(validated):
    _, quarantine = validated
    assert len(quarantine) == sum(1 for _, _, reason in CASES if reason)
    offset = next(i for i, (name, _, _) in enumerate(CASES) if name == "unknown_event_type")
    row = quarantine[offset]
    assert (row["topic"], row["partition"], row["reason"], row["event_id"]) == (
        "web.events", 0, "bad_value:event_type", "e")
    assert len(row["value"]) == 20 and row["value_bytes"] == len(ev(event_type="teleport").encode())
    large = quarantine[next(i for i, (name, _, _) in enumerate(CASES) if name == "too_large")]
    assert large["event_id"] is None and large["value_bytes"] > 1024 * 1024
