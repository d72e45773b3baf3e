"""Hostile Kafka message values for the fuzz tests (hypothesis strategies): random JSON, a
contract's fields with values of any type, huge values, invalid UTF-8, raw bytes, deep nesting.
Each strategy gives the bytes a producer would send."""
from __future__ import annotations

import json

from hypothesis import strategies as st

from shared_lib.contract import Contract

# JSON values of every type, nested a little; huge numbers beside ordinary ones.
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**20, max_value=10**400)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=4), max_leaves=12)
# A message over the contract's 1 MiB limit, and one just under it.
HUGE_SIZES = (1024 * 1024 + 1, 1024 * 1024 - 64)
HUGE = st.sampled_from(HUGE_SIZES).map(lambda n: b'{"event_id": "' + b"x" * n + b'"}')
# Nesting deeper than Python's json (and many parsers) can recurse.
DEEP = st.integers(min_value=1000, max_value=50_000).map(lambda n: b"[" * n + b"]" * n)
INVALID_UTF8 = st.sampled_from([b"\xff\xfe", b'{"event_id": "\xc3\x28"}', b"\xed\xa0\x80", b"\x80abc", b"\xf8\x88\x80\x80\x80"])
# JSON that Python writes but that is no JSON: NaN and Infinity, lone surrogate escapes.
NOT_QUITE_JSON = st.sampled_from([b'{"event_id": NaN}', b'{"event_ts": Infinity}', b'{"event_id": "\\ud800"}',
                                  b'{"a": 1,}', b"{'event_id': 'single quotes'}", b"", b"   ", b"null", b"\x00"])


def _dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


def contract_objects(contract: Contract):
    """JSON objects with some of the contract's fields (any JSON type each) and stray keys."""
    names = [f.name for f in contract.fields]
    return st.dictionaries(st.sampled_from(names) | st.text(max_size=6), JSON, max_size=len(names) + 2).map(_dumps)


_DELETE, _KEEP = object(), object()


def mutated(valid: list[dict]):
    """One of the ``valid`` events as it is (a duplicate, when drawn twice) or with one field
    given any JSON value, deleted, or a long text: messages that pass some checks of the contract."""
    def apply(event: dict, key: str, value) -> bytes:
        changed = {k: v for k, v in {**event, key: event[key] if value is _KEEP else value}.items() if v is not _DELETE}
        return _dumps(changed)
    return st.sampled_from(valid).flatmap(lambda event: st.builds(
        apply, st.just(event), st.sampled_from(sorted(event)),
        st.just(_DELETE) | JSON | st.text(min_size=200, max_size=5000) | st.just(_KEEP)))


def messages(contract: Contract, valid: list[dict] = (), huge: bool = True):
    """One message value (bytes) of any of the hostile kinds, for ``contract``'s topic; ``valid``
    events of the topic are mutated too; ``huge=False`` leaves out the messages over 1 MiB."""
    kinds = [contract_objects(contract), JSON.map(_dumps), st.binary(max_size=64),
             st.text(max_size=64).map(lambda t: t.encode("utf-8", errors="surrogatepass")), DEEP, INVALID_UTF8,
             NOT_QUITE_JSON, *([HUGE] if huge else []), *([mutated(list(valid))] * 3 if valid else [])]
    return st.one_of(*kinds)
