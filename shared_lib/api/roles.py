"""Who may do what: the roles of gateway.md and the endpoints' declarations.

``viewer`` < ``analyst`` < ``operator`` < ``admin`` is one ladder: an endpoint that requires
``analyst`` admits every role above it. ``auditor`` stands beside the ladder: it reads what an
endpoint declares for it (compliance and audit reads) and nothing else. ``admin`` passes every
check. Personal data is a separate grant (``PERSONAL_DATA``): roles without it see personal
columns masked.
"""
from __future__ import annotations

LADDER = ("viewer", "analyst", "operator", "admin")
AUDITOR = "auditor"
ROLES = LADDER + (AUDITOR,)
# Who sees personal-data columns unmasked (with an X-Purpose): analysts look at one journey or
# one customer, auditors at one subject; viewers see aggregates, and operators run the platform
# and need no personal data to do so.
PERSONAL_DATA = frozenset({"analyst", "admin", AUDITOR})


def check_role(role: str) -> str:
    """``role`` when it is one of ``ROLES``; ValueError naming the allowed ones otherwise."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def allowed(minimum: str, auditor: bool = False) -> frozenset[str]:
    """The roles an endpoint admits: ``minimum`` and the ladder above it (``minimum`` may be
    ``auditor``: then the auditor and admin only); ``auditor=True`` admits the auditor too."""
    check_role(minimum)
    if minimum == AUDITOR:
        return frozenset({AUDITOR, "admin"})
    ladder = frozenset(LADDER[LADDER.index(minimum):])
    return ladder | {AUDITOR} if auditor else ladder


def sees_personal_data(role: str) -> bool:
    return role in PERSONAL_DATA
