"""Personal data in answers: masked for roles without the grant; otherwise disclosed only with a
purpose (``X-Purpose``), and every disclosure or refusal written to the audit trail.

Which columns are personal comes from the table declarations (a ``pii`` tag other than
``none``), never from the endpoint.
"""
from __future__ import annotations

from typing import Annotated, Sequence

from fastapi import Header, Request

from shared_lib.api import auth, roles
from shared_lib.products import Table

# The purposes of events.md (compliance.audit); anything else is refused.
PURPOSES = ("analytics", "marketing", "operations", "compliance", "legal", "support")
MASK = "***"
HEADER = "X-Purpose"

# Declares the header on an endpoint that may answer personal data (its OpenAPI documents it;
# the value is checked by ``disclose``, so that a refusal is audited).
PurposeHeader = Annotated[str | None, Header(alias=HEADER, description=f"Why personal data is read: one of "
                                                                      f"{', '.join(PURPOSES)}. Required for "
                                                                      f"roles that see it unmasked "
                                                                      f"({', '.join(sorted(roles.PERSONAL_DATA))})")]


def personal_columns(table: Table, columns: Sequence[str]) -> list[str]:
    """The columns of ``columns`` that ``table`` declares as personal data."""
    tagged = {c.name for c in table.columns if c.pii != "none"}
    return [c for c in columns if c in tagged]


def mask(rows: list[dict], columns: Sequence[str]) -> list[dict]:
    """``rows`` with every non-null value of ``columns`` replaced by ``MASK``."""
    return [{k: (MASK if k in columns and v is not None else v) for k, v in row.items()} for row in rows]


Part = tuple[Table, Sequence[str], list[dict]]  # a table, the columns answered from it, the rows


def disclose(request: Request, parts: Sequence[Part], subject_id: str | None = None) -> list[list[dict]]:
    """The rows of each part as the caller may see them.

    Without personal columns: as they are. A role without the grant: personal values masked.
    A role with it: a valid ``X-Purpose`` is required (else a 400, audited as denied), and the
    read is audited with its columns, purpose and subject, even when no row matched (asking
    whether a subject has data is a read of personal data too)."""
    who = auth.principal(request)
    personal = [personal_columns(table, columns) for table, columns, _ in parts]
    every = sorted({c for cols in personal for c in cols})
    if not every:
        return [rows for _, _, rows in parts]
    if not roles.sees_personal_data(who.role):
        return [mask(rows, cols) for (_, _, rows), cols in zip(parts, personal)]
    purpose = (request.headers.get(HEADER) or "").strip().lower()
    if purpose not in PURPOSES:
        error = auth.deny(request, 400, f"personal data ({', '.join(every)}) needs a purpose: send the "
                                        f"{HEADER} header with one of {', '.join(PURPOSES)}",
                          actor=who.actor, role=who.role, columns=every, subject_id=subject_id)
        error.code = "purpose_required"
        error.details = [{"field": HEADER, "message": "missing or not one of the purposes", "allowed": list(PURPOSES)}]
        raise error
    auth.record(request, who.actor, who.role, "success", columns=every, purpose=purpose, subject_id=subject_id)
    return [rows for _, _, rows in parts]
