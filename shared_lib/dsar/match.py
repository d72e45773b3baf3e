"""Pure functions that find a subject's rows in Arrow data: an id as a column value, an id as a
whole token of raw text (a malformed line included), and the fields of a JSON message that
carry one of the ids."""
from __future__ import annotations

import json
import re
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

# Characters an id is made of: an id found in text must not be part of a longer word
# (``user-1`` is not in ``user-12``). The bronze replay filter splits text on the others.
TOKEN_CHARS = "A-Za-z0-9_.@+-"
REDACTED = "[erased]"


def token_pattern(ids: Iterable[str]) -> str:
    """RE2 / Python regex of any of ``ids`` as a whole token of a text."""
    alternatives = "|".join(re.escape(i) for i in sorted(set(ids), key=len, reverse=True))
    return f"(?:^|[^{TOKEN_CHARS}])(?:{alternatives})(?:[^{TOKEN_CHARS}]|$)"


def _strings(values: pa.Array | pa.ChunkedArray):
    """As plain strings: files rewritten by delta-rs hold string views, which not every kernel takes."""
    return values if values.type == pa.string() else pc.cast(values, pa.string())


def text_mask(texts: pa.Array | pa.ChunkedArray, ids: Iterable[str]) -> pa.Array:
    """True where the text holds one of ``ids`` as a token (null text: False)."""
    found = pc.match_substring_regex(_strings(texts), token_pattern(ids))
    return pc.fill_null(found, False)


def in_set(values: pa.Array | pa.ChunkedArray, ids: Iterable[str]) -> pa.Array:
    """True where the value is one of ``ids`` (null: False)."""
    return pc.fill_null(pc.is_in(_strings(values), value_set=pa.array(sorted(set(ids)), pa.string())), False)


def fields_naming(text: str | None, ids: set[str], fields: Iterable[str]) -> list[str]:
    """The ``fields`` of a JSON object message whose value is one of ``ids`` (none for a message
    that is not a JSON object)."""
    try:
        message = json.loads(text) if text else None
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than json recurses (a hostile message)
        return []
    if not isinstance(message, dict):
        return []
    return [f for f in fields if isinstance(message.get(f), str) and message[f] in ids]


def matched_by(text: str | None, ids: set[str], fields: Iterable[str]) -> str:
    """How a raw message names the subject: ``field:<names>`` when parsed, else ``text``."""
    named = fields_naming(text, ids, fields)
    return "field:" + ",".join(named) if named else "text"


def linked_ids(rows: Iterable[dict], subject: str) -> dict[str, list[str]]:
    """{id: [columns it was seen in]} of the ids that share a row with ``subject`` (rows: the
    subject-id columns of an event or session), ``subject`` itself left out."""
    out: dict[str, list[str]] = {}
    for row in rows:
        if subject not in row.values():
            continue
        for column, value in row.items():
            if value and value != subject and column not in out.setdefault(value, []):
                out[value].append(column)
    return out


def redact(data: bytes, ids: Iterable[str]) -> tuple[bytes, int]:
    """``data`` with every token of ``ids`` replaced by ``[erased]``; and how many there were."""
    pattern = re.compile(f"(^|[^{TOKEN_CHARS}])(?:{'|'.join(re.escape(i) for i in sorted(set(ids), key=len, reverse=True))})"
                         f"(?=[^{TOKEN_CHARS}]|$)".encode())
    return pattern.subn(lambda m: m.group(1) + REDACTED.encode(), data)
