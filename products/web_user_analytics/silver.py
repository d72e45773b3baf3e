"""The silver step of web-user-analytics: the shared step of ``shared_lib.silver`` with what is
web's own (contract, enrichment, visitor key, session summary)."""
from __future__ import annotations

from products.web_user_analytics import sessions as web_sessions
from products.web_user_analytics import transform
from products.web_user_analytics.contract import WEB_CONTRACT
from shared_lib import silver

SPEC = silver.SilverSpec(
    contract=WEB_CONTRACT,
    enrich=transform.enrich,
    visitor=web_sessions.VISITOR,
    subjects=("anonymous_id", "user_id"),
    summarize=web_sessions.summarize,
)


def run(ctx) -> dict:
    """Process every new bronze row; returns the batch's counts (all zero when nothing was new)."""
    return silver.run(ctx, SPEC)
