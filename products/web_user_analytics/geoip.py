"""GeoIP and IP minimization of web events: the raw ``ip`` never leaves bronze.

Silver keeps only the address's network (IPv4 /24, IPv6 /48) in ``ip_network``, and an event
without a valid ``country`` gets the country of its address from the offline ``iptocc`` package
(it ships its own data; its version, ``DATA_VERSION``, is recorded in each ``batches`` row).
Each distinct address of a batch is looked up once, on the driver, and the small lookup table
is joined to the events: no Python UDF runs on the Spark server.
"""
from __future__ import annotations

import importlib.metadata
import ipaddress

import iptocc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

DATA_VERSION = f"iptocc {importlib.metadata.version('iptocc')}"
IPV4_PREFIX, IPV6_PREFIX = 24, 48
LOOKUP_SCHEMA = "_ip string, _ip_network string, _ip_country string"
# Country sources recorded per event.
FROM_EVENT, FROM_GEOIP = "event", "geoip"


def network(address: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of ``address`` in CIDR form; None if it is not an
    IP address. An IPv4-mapped IPv6 address counts as IPv4."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def country(address: str | None) -> str | None:
    """ISO-3166 alpha-2 country of a public address from iptocc's data; None if unknown."""
    if network(address) is None:
        return None
    found = iptocc.country_code(address.strip())  # type: ignore[union-attr]
    return found.upper() if found else None


def lookup(addresses: list[str]) -> list[tuple[str, str | None, str | None]]:
    """(address, network, country) of each address."""
    return [(a, network(a), country(a)) for a in addresses]


def locate(events: DataFrame, ip: str = "ip") -> DataFrame:
    """``events`` with ``ip`` replaced by ``ip_network``, a missing ``country`` filled from the
    address, and ``country_source`` (``event``, ``geoip`` or null when still unknown)."""
    addresses = [r[0] for r in events.where(F.col(ip).isNotNull()).select(ip).distinct().collect()]
    table = F.broadcast(events.sparkSession.createDataFrame(lookup(addresses) or [], LOOKUP_SCHEMA))
    joined = events.join(table, events[ip] == table["_ip"], "left")
    return (joined.withColumn("country_source", F.when(F.col("country").isNotNull(), F.lit(FROM_EVENT))
                              .when(F.col("_ip_country").isNotNull(), F.lit(FROM_GEOIP)))
            .withColumn("country", F.coalesce("country", "_ip_country"))
            .withColumn("ip_network", F.col("_ip_network"))
            .drop(ip, "_ip", "_ip_network", "_ip_country"))


# --- the raw messages that silver keeps (quarantine) ---------------------------------------

_JSON_IP = r'("ip"\s*:\s*)"(?:[^"\\]|\\.)*"'
_IPV4 = r"\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\b"


def redact(value: Column) -> Column:
    """A quarantined raw message without full addresses: the ``ip`` field's value replaced by
    ``"[removed]"``, and any other IPv4 address cut to its /24 network (``a.b.c.0/24``)."""
    without_field = F.regexp_replace(value, _JSON_IP, '$1"[removed]"')
    return F.regexp_replace(without_field, _IPV4, "$1.0/24")
