"""GeoIP on DataFrames: the address replaced by its network, a missing country looked up, the
country sent winning over the lookup, and quarantined messages without full addresses."""
from __future__ import annotations

import re

import pytest
from pyspark.sql import functions as F

from products.web_user_analytics import geoip

FULL_IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.(?!0/24)\d{1,3}\b")


@pytest.mark.integration
def test_locate_fills_missing_countries_and_drops_the_address(spark):
    events = spark.createDataFrame([
        ("e1", "8.8.8.8", None),        # no country sent: looked up
        ("e2", "81.2.69.160", "DE"),    # a country sent wins over the address's
        ("e3", "203.0.113.9", None),    # documentation range: unknown
        ("e4", None, None),             # no address at all
        ("e5", "2001:4860:4860::8888", None),
        ("e6", "garbage", "FR"),
    ], "event_id string, ip string, country string")
    got = {r["event_id"]: (r["ip_network"], r["country"], r["country_source"])
           for r in geoip.locate(events).collect()}
    assert got == {"e1": ("8.8.8.0/24", "US", "geoip"), "e2": ("81.2.69.0/24", "DE", "event"),
                   "e3": ("203.0.113.0/24", None, None), "e4": (None, None, None),
                   "e5": ("2001:4860:4860::/48", "US", "geoip"), "e6": (None, "FR", "event")}
    assert "ip" not in geoip.locate(events).columns


@pytest.mark.integration
def test_quarantined_messages_keep_no_full_address(spark):
    raw = spark.createDataFrame([
        ('{"event_id": "q1", "ip": "8.8.8.8", "event_ts": "x"}',),
        ('{"ip":"2001:4860:4860::8888","referrer":"http://81.2.69.160/a"}',),
        ('not json 193.0.6.139',),
    ], "value string")
    got = [r[0] for r in raw.select(geoip.redact(F.col("value"))).collect()]
    assert got == ['{"event_id": "q1", "ip": "[removed]", "event_ts": "x"}',
                   '{"ip":"[removed]","referrer":"http://81.2.69.0/24/a"}',
                   'not json 193.0.6.0/24']
    assert not any(FULL_IPV4.search(v) for v in got)
