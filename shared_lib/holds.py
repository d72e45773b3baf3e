"""Legal holds (`dp hold add|remove|list`): a hold on a data subject or on a table exempts its rows
from retention (``shared_lib.retention``) until it is released.

Holds live in the platform table ``legal_holds``, one row per action: ``place`` when a hold is
added, ``release`` when it is removed, so the table is also the holds' history. The holds in force
are those placed and not released. Written with delta-rs: no Spark. Each action is recorded in
the audit trail (``shared_lib.audit``) as a ``write`` of the table, naming the subject for a
subject hold (the trail keeps its keyed hash).

A subject hold keeps every row that names the subject: in a column tagged ``subject_id``, in the
raw text of a column tagged ``raw`` (bronze messages, quarantine) and, through the keyed hash,
in a ``subject_hash`` column (the audit trail).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from shared_lib import audit, lake, paths, products
from shared_lib.errors import UserError

TABLE = "legal_holds"
SCOPES = ("subject", "table")


class HoldError(UserError, ValueError):
    """A hold that cannot be placed or released; the message says why."""


@dataclass(frozen=True)
class Hold:
    hold_id: str
    scope: str  # subject or table
    target: str  # the subject id, or the table's qualified name
    reason: str | None
    placed_by: str
    placed_at: dt.datetime


@dataclass(frozen=True)
class InForce:
    """The holds in force, as retention needs them."""
    subjects: tuple[str, ...] = ()
    tables: frozenset[str] = frozenset()

    def holds_table(self, qualified_name: str) -> bool:
        return qualified_name in self.tables


def holds_table() -> products.Table:
    return products.get(paths.PLATFORM).table(TABLE)


def new_hold_id(now: dt.datetime) -> str:
    return f"hold-{now:%Y%m%d}-{secrets.token_hex(3)}"


def in_force_from(actions) -> list[Hold]:
    """The holds placed and not released, oldest first, from ``legal_holds`` rows (a pandas
    DataFrame). Pure, for tests."""
    if actions.empty:
        return []
    released = set(actions.loc[actions["action"] == "release", "hold_id"])
    placed = actions[(actions["action"] == "place") & ~actions["hold_id"].isin(released)]
    placed = placed.sort_values(["at", "hold_id"])
    return [Hold(r.hold_id, r.scope, r.subject_id if r.scope == "subject" else r.table_name,
                 None if r.reason is None or r.reason != r.reason else r.reason, r.actor, r.at.to_pydatetime())
            for r in placed.itertuples()]


def in_force() -> list[Hold]:
    return in_force_from(lake.read(holds_table()))


def current() -> InForce:
    holds = in_force()
    return InForce(subjects=tuple(sorted({h.target for h in holds if h.scope == "subject"})),
                   tables=frozenset(h.target for h in holds if h.scope == "table"))


def place(params: dict, scope: str, target: str, reason: str | None = None, actor: str | None = None,
          now: dt.datetime | None = None) -> Hold:
    """Place a hold on a subject (``target`` its id) or a table (``target`` a declared table's
    qualified name, or ``product.table``); recorded in the audit trail."""
    if scope not in SCOPES:
        raise HoldError(f"unknown hold scope {scope!r}: expected one of {', '.join(SCOPES)}")
    target = (target or "").strip()
    if not target:
        raise HoldError(f"name the {scope} to hold")
    if scope == "table":
        target = products.find_table(target).qualified_name  # an unknown table fails by name
    for hold in in_force():
        if (hold.scope, hold.target) == (scope, target):
            raise HoldError(f"{scope} {target!r} is already held by {hold.hold_id} "
                            f"(placed {hold.placed_at:%Y-%m-%d} by {hold.placed_by})")
    actor, role = (actor, audit.SYSTEM_ROLE) if actor else audit.actor_from_env()
    now = now or dt.datetime.now(dt.timezone.utc)
    hold = Hold(new_hold_id(now), scope, target, reason, actor, now)
    lake.append_rows(holds_table(), [_row(hold, "place", actor, now)])
    _record(params, hold, actor, role)
    return hold


def release(params: dict, hold_id: str, reason: str | None = None, actor: str | None = None,
            now: dt.datetime | None = None) -> Hold:
    """Release a hold in force; its rows fall under the retention policy again."""
    found = [h for h in in_force() if h.hold_id == hold_id]
    if not found:
        raise HoldError(f"no hold {hold_id!r} is in force (see `dp hold list`)")
    hold = found[0]
    actor, role = (actor, audit.SYSTEM_ROLE) if actor else audit.actor_from_env()
    now = now or dt.datetime.now(dt.timezone.utc)
    lake.append_rows(holds_table(), [{**_row(hold, "release", actor, now), "reason": reason}])
    _record(params, hold, actor, role)
    return hold


def _row(hold: Hold, action: str, actor: str, at: dt.datetime) -> dict:
    return {"hold_id": hold.hold_id, "action": action, "scope": hold.scope,
            "subject_id": hold.target if hold.scope == "subject" else None,
            "table_name": hold.target if hold.scope == "table" else None,
            "reason": hold.reason, "actor": actor, "at": at}


def _record(params: dict, hold: Hold, actor: str, role: str) -> None:
    audit.record(params, actor, "write", holds_table().qualified_name, "success", purpose="legal",
                 subject_id=hold.target if hold.scope == "subject" else None, role=role)


def format_text(holds: list[Hold]) -> str:
    if not holds:
        return "no legal hold in force"
    return "\n".join(f"{h.hold_id}  {h.scope:<7} {h.target}  placed {h.placed_at:%Y-%m-%d %H:%M} UTC by "
                     f"{h.placed_by}" + (f"  ({h.reason})" if h.reason else "") for h in holds)
