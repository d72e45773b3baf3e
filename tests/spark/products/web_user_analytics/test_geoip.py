"""GeoIP and IP minimization: known public addresses and their countries in iptocc's data, the
/24 and /48 networks, the country sent winning over the lookup, and quarantined messages without
full addresses."""
from __future__ import annotations

import importlib.metadata
import re

import pytest
from pyspark.sql import functions as F

from products.web_user_analytics import geoip

# Public resolvers and registries whose country iptocc's data gives.
KNOWN = {"8.8.8.8": "US", "1.1.1.1": "AU", "81.2.69.160": "GB", "193.0.6.139": "NL", "133.1.1.1": "JP",
         "2001:4860:4860::8888": "US"}
FULL_IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.(?!0/24)\d{1,3}\b")


def test_known_public_addresses_get_their_country():
    assert {ip: geoip.country(ip) for ip in KNOWN} == KNOWN


def test_private_documentation_and_malformed_addresses_have_no_country():
    for address in ("192.168.1.1", "10.0.0.7", "203.0.113.9", "not-an-ip", "", None, "999.1.1.1"):
        assert geoip.country(address) is None, address


def test_networks_keep_24_bits_of_ipv4_and_48_of_ipv6():
    assert geoip.network("8.8.8.8") == "8.8.8.0/24"
    assert geoip.network(" 81.2.69.160 ") == "81.2.69.0/24"
    assert geoip.network("2001:4860:4860::8888") == "2001:4860:4860::/48"
    assert geoip.network("2a00:1450:4001:82a::200e") == "2a00:1450:4001::/48"
    assert geoip.network("::ffff:8.8.4.4") == "8.8.4.0/24"  # IPv4-mapped: an IPv4 address
    assert geoip.network("8.8.8") is None and geoip.network(None) is None


def test_data_version_is_the_installed_package():
    assert geoip.DATA_VERSION == f"iptocc {importlib.metadata.version('iptocc')}"


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
