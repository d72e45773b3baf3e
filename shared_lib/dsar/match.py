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


_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@+-")


def holds_token(data, ids: Iterable[str]) -> bool:
    """Whether ``data`` (bytes or a memory map) holds one of ``ids`` as a whole token: the same
    answer as searching ``token_pattern(ids)``, found with ``find`` (a fast substring search; the
    regex has no literal prefix to skip ahead with and crawls through large binary files)."""
    size = len(data)
    for literal in {i.encode() for i in ids}:
        at = data.find(literal)
        while at >= 0:
            end = at + len(literal)
            if (at == 0 or data[at - 1] not in _TOKEN_BYTES) and (end == size or data[end] not in _TOKEN_BYTES):
                return True
            at = data.find(literal, at + 1)
    return False


def text_mask(texts: pa.Array | pa.ChunkedArray, ids: Iterable[str]) -> pa.Array | pa.ChunkedArray:
    """True where the text holds one of ``ids`` as a token (null text: False). The token regex
    runs only on the texts that hold an id as plain bytes (``_holding``): over a bronze table's
    raw messages that is 1.5-2x faster, and almost none of them holds it."""
    ids = sorted(set(ids))
    texts = _strings(texts)
    if isinstance(texts, pa.ChunkedArray):
        return pa.chunked_array([_text_mask(c, ids) for c in texts.chunks], pa.bool_())
    return _text_mask(texts, ids)


def _text_mask(texts: pa.Array, ids: list[str]) -> pa.Array:
    candidates = pa.array(_holding(texts, ids))
    if not pc.any(candidates).as_py():
        return candidates
    found = pc.fill_null(pc.match_substring_regex(texts.filter(candidates), token_pattern(ids)), False)
    return pc.replace_with_mask(candidates, candidates, found)


def _holding(texts: pa.Array, ids: list[str]):
    """A numpy mask of the strings whose bytes hold one of ``ids`` (a superset of those that hold
    one as a token): each id searched for once in the array's whole data buffer, not row by row,
    and every occurrence mapped to its row through the offsets."""
    import numpy as np

    mask = np.zeros(len(texts), dtype=bool)
    data = texts.buffers()[2]
    if len(texts) == 0 or data is None:
        return mask
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1]
    view = memoryview(data)[:int(offsets[-1])]
    starts = []
    for i in ids:
        literal = re.compile(re.escape(i.encode()))
        found = literal.search(view, int(offsets[0]))
        while found:  # again from the next byte, not after the match: occurrences may overlap
            starts.append(found.start())
            found = literal.search(view, found.start() + 1)
    if starts:
        mask[np.searchsorted(offsets, np.array(starts), side="right") - 1] = True
    return mask


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
