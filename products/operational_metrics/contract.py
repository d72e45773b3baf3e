"""The request-log contract of events.md (topic ``ops.requests``), as field specs for
``shared_lib.contract``. The order of the fields is the order in which they are checked."""
from __future__ import annotations

from shared_lib.contract import Contract, Field, upper_trimmed

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")

REQUEST_CONTRACT = Contract(fields=(
    Field("event_id", required=True, max_length=128),
    Field("event_ts", kind="timestamp", required=True),
    Field("service", required=True, max_length=128),
    Field("endpoint", required=True, max_length=512),
    # Optional: an unknown method is nulled rather than losing the request's latency.
    Field("method", normalize=upper_trimmed, values=METHODS, on_bad_value="null"),
    Field("status_code", kind="integer", required=True, minimum=100, maximum=599),
    Field("latency_ms", kind="number", required=True, minimum=0),
))
