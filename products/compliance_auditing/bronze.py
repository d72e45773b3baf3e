"""The bronze step of compliance-auditing: both topics into ``events_raw`` by the shared ingest."""
from __future__ import annotations

from shared_lib import ingest


def run(ctx) -> dict:
    """Everything the topics hold now, once; returns the messages added."""
    return {"new_messages": ingest.ingest(ctx)}
