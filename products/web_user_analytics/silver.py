"""The silver step of web-user-analytics: the shared step of ``shared_lib.silver`` with what is
web's own (contract, enrichment, GeoIP and IP minimization, visitor key, session summary)."""
from __future__ import annotations

from pyspark.sql import DataFrame

from products.web_user_analytics import geoip, transform
from products.web_user_analytics import sessions as web_sessions
from products.web_user_analytics.contract import WEB_CONTRACT
from shared_lib import silver


def enrich(events: DataFrame) -> DataFrame:
    """Clean contract rows -> silver web events: ``transform.enrich``, then the raw ``ip`` turned
    into its network and a missing country looked up (``geoip.locate``)."""
    return geoip.locate(transform.enrich(events))


SPEC = silver.SilverSpec(
    contract=WEB_CONTRACT,
    enrich=enrich,
    visitor=web_sessions.VISITOR,
    subjects=("anonymous_id", "user_id"),
    summarize=web_sessions.summarize,
    batch_fields=(("geoip_data_version", "string", geoip.DATA_VERSION),),
    quarantine_value=geoip.redact,
)


def run(ctx) -> dict:
    """Process every new bronze row; returns the batch's counts (all zero when nothing was new)."""
    return silver.run(ctx, SPEC)
