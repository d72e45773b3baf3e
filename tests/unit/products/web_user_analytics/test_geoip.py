"""GeoIP without Spark: known public addresses and their countries in iptocc's data, addresses
without one, the /24 and /48 networks, the data version recorded."""
import importlib.metadata

from products.web_user_analytics import geoip

# Public resolvers and registries whose country iptocc's data gives.
KNOWN = {"8.8.8.8": "US", "1.1.1.1": "AU", "81.2.69.160": "GB", "193.0.6.139": "NL", "133.1.1.1": "JP",
         "2001:4860:4860::8888": "US"}


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
