"""Keyed hashes of subject ids: HMAC-SHA256 with the workspace key (the environment's, or a file
created once with mode 0600), the same in Python and in Spark."""


import hashlib
import hmac
import stat

import pytest

from shared_lib import subject_hash


def test_hash_is_hmac_sha256_in_hex():
    assert subject_hash.hash_id("anon-000001", b"key") == hmac.new(
        b"key", b"anon-000001", hashlib.sha256).hexdigest()
    # RFC 4231 test case 2
    assert subject_hash.hash_id("what do ya want for nothing?", b"Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_key_file_is_created_once_with_mode_0600(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.delenv("DP_HASH_KEY", raising=False)
    first = subject_hash.workspace_key()
    path = tmp_path / "secrets" / "hash_key"
    assert len(first) == 32 and path.read_bytes() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert subject_hash.workspace_key() == first


def test_environment_key_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.setenv("DP_HASH_KEY", "s3cret")
    assert subject_hash.workspace_key() == b"s3cret"
    assert not (tmp_path / "secrets").exists()


def test_empty_key_file_names_the_file_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.delenv("DP_HASH_KEY", raising=False)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hash_key").write_bytes(b"")
    with pytest.raises(ValueError, match=r"hash_key is empty: restore .* or set DP_HASH_KEY"):
        subject_hash.workspace_key()
