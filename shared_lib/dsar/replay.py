"""Bronze's filter of erased subjects. Kafka keeps an erased subject's messages until the topic's
retention: a normal run never reads them again (the streaming checkpoint's offsets are past them),
but a replay from the earliest offset would, and so would a new message naming an erased id. So
bronze drops every message whose key, or any token of whose text (the split of ``match``, so a
malformed line too), has a keyed hash in the erasure log. Only hashes are compared: the log holds
no raw id. With no erasure yet the filter is not applied at all (no cost to a normal run)."""
from __future__ import annotations

from typing import Iterable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shared_lib import subject_hash
from shared_lib.dsar.match import TOKEN_CHARS


def names_erased(value, key, hashes: Iterable[str], hash_key: bytes):
    """Spark Column: true when the message (``value`` text, ``key``) names an erased id."""
    erased = sorted(set(hashes))
    tokens = F.split(F.coalesce(value, F.lit("")), f"[^{TOKEN_CHARS}]+")
    tokens = F.concat(tokens, F.array(F.coalesce(key, F.lit(""))))
    return F.exists(tokens, lambda t: (F.length(t) > 0) & subject_hash.hash_column(t, hash_key).isin(erased))


def without_erased(bronze: DataFrame, hashes: Iterable[str], hash_key: bytes) -> DataFrame:
    """``bronze`` rows (columns ``value`` and ``key`` as text) that name no erased id."""
    hashes = frozenset(hashes)
    if not hashes:
        return bronze
    return bronze.where(~names_erased(F.col("value"), F.col("key"), hashes, hash_key))
