"""The compliance contracts of events.md (topics ``compliance.audit`` and ``compliance.consent``),
as field specs for ``shared_lib.contract``. The order of the fields is the order in which they
are checked; quarantine reasons come from the closed list of ``shared_lib.contract``."""
from __future__ import annotations

from shared_lib.contract import Contract, Field, lower_trimmed

ACTIONS = ("read", "write", "delete", "export", "grant", "revoke", "login")
PURPOSES = ("analytics", "marketing", "operations", "compliance", "legal", "support")
RESULTS = ("success", "denied", "failure")

AUDIT_CONTRACT = Contract(fields=(
    Field("event_id", required=True, max_length=128),
    Field("event_ts", kind="timestamp", required=True),
    Field("actor", required=True),
    Field("actor_role"),
    Field("action", required=True, normalize=lower_trimmed, values=ACTIONS),
    Field("resource", required=True),
    Field("columns", kind="string_array"),
    Field("purpose", normalize=lower_trimmed, values=PURPOSES),
    Field("result", required=True, normalize=lower_trimmed, values=RESULTS),
    Field("subject_id"),
    # A producer that must not send the raw id (dp dsar: an erased subject's id must not travel
    # again) sends its keyed hash instead; used when subject_id is absent.
    Field("subject_hash", normalize=lower_trimmed, pattern="^[0-9a-f]{64}$"),
    Field("source_ip"),
))

CONSENT_CONTRACT = Contract(fields=(
    Field("event_id", required=True, max_length=128),
    Field("event_ts", kind="timestamp", required=True),
    Field("subject_id", required=True),
    Field("purpose", required=True, normalize=lower_trimmed, values=PURPOSES),
    Field("granted", kind="boolean", required=True),
))


def reasons(contract: Contract) -> tuple[str, ...]:
    """Every reason ``contract`` can quarantine a message with, for the README and tests."""
    out = ["too_large", "malformed_json", "bad_timestamp", "future_timestamp"]
    for fld in contract.fields:
        if fld.required or fld.required_if:
            out.append(f"missing_field:{fld.name}")
        if fld.name != contract.ts_field:  # any other JSON type than the field's kind
            out.append(f"bad_type:{fld.name}")
        if (fld.values or fld.max_length or fld.minimum is not None) and fld.on_bad_value == "quarantine":
            out.append(f"bad_value:{fld.name}")
    return tuple(out)
