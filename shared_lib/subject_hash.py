"""Keyed hashes of data-subject ids: HMAC-SHA256 with the workspace's secret key, so that a table
can answer "what was done about subject S" (hash S, look it up) without holding S itself, and
nobody without the key can test guesses against it.

The key comes from ``DP_HASH_KEY`` (its UTF-8 bytes) when set, else from the file
``<workspace>/secrets/hash_key``, created once with 32 random bytes and mode 0600. Losing the
key makes old hashes unmatchable; it is never written to any table or log.

``hash_column`` is a Spark expression (no Python UDF): HMAC is two SHA-256 over the key padded
and XORed with fixed bytes, so the padded keys are computed here and passed as binary literals.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from shared_lib import paths

ENV_VAR = "DP_HASH_KEY"
_BLOCK = 64  # SHA-256 block size in bytes


def key_path() -> Path:
    return paths.workspace() / "secrets" / "hash_key"


def workspace_key() -> bytes:
    """The key: ``DP_HASH_KEY``, else the workspace's key file (created on first use)."""
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return from_env.encode("utf-8")
    path = key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:  # O_EXCL: of two first uses at once, one writes the key and both read it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if not key:
        raise ValueError(f"{path} is empty: restore the workspace's hash key there, or set {ENV_VAR}")
    return key


def hash_id(subject_id: str, key: bytes) -> str:
    """HMAC-SHA256 of ``subject_id`` (UTF-8) as 64 lower-case hex digits."""
    return hmac.new(key, subject_id.encode("utf-8"), hashlib.sha256).hexdigest()


def hash_column(column, key: bytes):
    """The Spark Column of ``hash_id`` over a string column (null stays null)."""
    from pyspark.sql import functions as F

    if len(key) > _BLOCK:  # RFC 2104: a long key is hashed first
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner_pad = bytes(b ^ 0x36 for b in key)
    outer_pad = bytes(b ^ 0x5C for b in key)
    message = F.encode(column, "UTF-8")
    inner = F.unhex(F.sha2(F.concat(F.unhex(F.lit(inner_pad.hex())), message), 256))
    return F.sha2(F.concat(F.unhex(F.lit(outer_pad.hex())), inner), 256)
