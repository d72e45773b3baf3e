"""The bronze step of web-user-analytics: every message of its topic lands once in ``events_raw``,
unparsed (the shared Kafka -> bronze ingest of ``shared_lib.ingest``)."""
from __future__ import annotations

from shared_lib import ingest


def run(ctx) -> dict:
    """Ingest what the topic holds now; returns the new messages."""
    return {"new_messages": ingest.ingest(ctx)}
