"""The silver step of operational-metrics: request logs through the shared sessions-free step of
``shared_lib.silver`` (no sessions, no data subjects)."""
from __future__ import annotations

from products.operational_metrics import requests
from products.operational_metrics.contract import REQUEST_CONTRACT
from shared_lib import silver


def run(ctx) -> dict:
    """Process every new bronze row; returns the batch's counts (all zero when nothing was new)."""
    return silver.run_events(ctx, REQUEST_CONTRACT, requests.enrich)
