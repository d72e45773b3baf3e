"""The silver step of mobile-user-analytics: the shared step of ``shared_lib.silver`` with what is
mobile's own (contract, enrichment, device key, session summary)."""
from __future__ import annotations

from products.mobile_user_analytics import sessions as mobile_sessions
from products.mobile_user_analytics.contract import MOBILE_CONTRACT
from shared_lib import silver

SPEC = silver.SilverSpec(
    contract=MOBILE_CONTRACT,
    enrich=mobile_sessions.enrich,
    visitor=mobile_sessions.VISITOR,
    subjects=("device_id", "user_id"),
    summarize=mobile_sessions.summarize,
)


def run(ctx) -> dict:
    """Process every new bronze row; returns the batch's counts (all zero when nothing was new)."""
    return silver.run(ctx, SPEC)
