"""Fuzz, the Spark side: every product's contract validates a derandomized hypothesis batch of
hostile messages (tests/fuzz.py) without failing, one output row per message, each clean with
its required fields or quarantined with a reason of the closed list (events.md)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from products.compliance_auditing.contract import AUDIT_CONTRACT, CONSENT_CONTRACT
from products.mobile_user_analytics.contract import MOBILE_CONTRACT
from products.operational_metrics.contract import REQUEST_CONTRACT
from products.web_user_analytics.contract import WEB_CONTRACT
from shared_lib import contract
from tests.fuzz import messages

CONTRACTS = {"web": WEB_CONTRACT, "mobile": MOBILE_CONTRACT, "ops": REQUEST_CONTRACT, "audit": AUDIT_CONTRACT,
             "consent": CONSENT_CONTRACT}
DRAWS, PER_DRAW = 20, 30  # 600 messages per contract
INGESTED = dt.datetime(2019, 6, 15, 12, tzinfo=dt.timezone.utc)
REASON = re.compile(r"^(too_large|malformed_json|bad_timestamp|future_timestamp|(missing_field|bad_type|bad_value):[a-z_]+)$")


def _batch(strategy) -> list[str]:
    drawn: list[str] = []

    @settings(max_examples=DRAWS, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(strategy, min_size=PER_DRAW, max_size=PER_DRAW))
    def collect(batch):
        drawn.extend(v.decode("utf-8", errors="replace") for v in batch)  # as bronze's CAST(value AS STRING)

    collect()
    return drawn


@pytest.mark.parametrize("name", CONTRACTS)
def test_every_hostile_message_is_clean_or_quarantined_with_a_known_reason(spark, name):
    event_contract = CONTRACTS[name]
    values = _batch(messages(event_contract))
    rows = [("fuzz", 0, i, INGESTED, INGESTED, INGESTED.date(), v) for i, v in enumerate(values)]
    bronze = spark.createDataFrame(rows, "topic string, partition int, offset bigint, kafka_ts timestamp, "
                                         "ingested_at timestamp, ingest_date date, value string")
    out = {r["offset"]: r for r in contract.validate(bronze, event_contract).collect()}
    assert sorted(out) == list(range(len(values)))
    bad_reasons = {r["reason"] for r in out.values() if r["reason"] is not None and not REASON.match(r["reason"])}
    assert bad_reasons == set()
    required = [f.name for f in event_contract.fields if f.required]
    incomplete = [i for i, r in out.items() if r["reason"] is None and any(r[f] is None for f in required)]
    assert incomplete == []
    # Over 1 MiB is too_large whatever it holds.
    assert all(out[i]["reason"] == contract.TOO_LARGE for i, v in enumerate(values)
               if len(v.encode("utf-8")) > contract.MAX_MESSAGE_BYTES)
