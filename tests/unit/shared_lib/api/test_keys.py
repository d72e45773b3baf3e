"""API keys: printed once, stored hashed, revoked one at a time, re-read when the file changes."""
from __future__ import annotations

import json
import stat

import pytest

from shared_lib.api import keys as keys_lib
from shared_lib.api.keys import KeyStore
from shared_lib.errors import UnknownName, UserError


def test_a_created_key_is_stored_only_as_its_hash_with_mode_0600(tmp_path):
    store = KeyStore(tmp_path / "k.json")
    key, record = store.create("viewer", "dash")
    text = (tmp_path / "k.json").read_text()
    assert key not in text and record.hash == keys_lib.digest(key) and record.hash in text
    assert key.startswith(f"dp_{record.id}_")
    assert stat.S_IMODE((tmp_path / "k.json").stat().st_mode) == 0o600
    assert store.lookup(key) == record


def test_another_process_sees_a_revocation_at_its_next_lookup(tmp_path):
    running_api, cli = KeyStore(tmp_path / "k.json"), KeyStore(tmp_path / "k.json")
    key, _ = cli.create("analyst", "alice")
    assert running_api.lookup(key).active
    cli.revoke("alice")
    assert not running_api.lookup(key).active


def test_an_unknown_role_or_a_taken_name_is_refused(tmp_path):
    store = KeyStore(tmp_path / "k.json")
    with pytest.raises(UserError, match="unknown role 'root'"):
        store.create("root")
    store.create("admin", "ops")
    with pytest.raises(UserError, match="already named 'ops'"):
        store.create("viewer", "ops")


def test_revoking_an_unknown_key_names_it(tmp_path):
    with pytest.raises(UnknownName, match="'nobody'"):
        KeyStore(tmp_path / "k.json").revoke("nobody")


def test_a_broken_store_file_says_what_to_do(tmp_path):
    (tmp_path / "k.json").write_text(json.dumps({"nope": 1}))
    with pytest.raises(UserError, match="dp keys create"):
        KeyStore(tmp_path / "k.json").keys()


def test_a_key_presented_again_is_not_hashed_again_and_a_revocation_still_counts(tmp_path, monkeypatch):
    running_api, cli = KeyStore(tmp_path / "k.json"), KeyStore(tmp_path / "k.json")
    key, _ = cli.create("viewer", "dash")
    hashed = []
    monkeypatch.setattr(keys_lib, "digest", lambda k: hashed.append(k) or keys_lib.hashlib.sha256(k.encode()).hexdigest())
    assert running_api.lookup(key).active and running_api.lookup(key).active
    assert hashed == [key]
    cli.revoke("dash")
    assert not running_api.lookup(key).active
