"""API keys: created once and printed once, stored only as a SHA-256 hash in the workspace.

A key is ``dp_<id>_<secret>``: ``id`` names it in lists, logs and the audit trail; the secret is
32 random bytes, so an unsalted SHA-256 is as strong as a slow hash here (nobody can guess a
256-bit secret) and costs microseconds per request. The file is
``<workspace>/secrets/api_keys.json`` (mode 0600); a process re-reads it when it changes, so a
``dp keys revoke`` locks the key out of running APIs at their next request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from shared_lib import paths
from shared_lib.api import roles
from shared_lib.errors import UnknownName, UserError

PREFIX = "dp_"
DIGESTS_KEPT = 1024  # presented keys whose digest is remembered (a request then hashes nothing)


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    hash: str  # hex SHA-256 of the whole key
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def store_path() -> Path:
    return paths.workspace() / "secrets" / "api_keys.json"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class KeyStore:
    """The workspace's keys; reads its file again whenever the file changes on disk."""

    def __init__(self, path: Path | None = None):
        self.path = path or store_path()
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._by_hash: dict[str, ApiKey] = {}
        self._keys: list[ApiKey] = []
        self._digests: dict[str, str] = {}  # presented key -> digest

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def keys(self) -> list[ApiKey]:
        self._refresh()
        return list(self._keys)

    def _refresh(self) -> None:
        """Read the file again if it changed since the last read (one stat when it did not)."""
        stamp = self._stat()
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp != self._stamp:
                self._keys = self._load() if stamp else []
                self._by_hash = {k.hash: k for k in self._keys}
                self._stamp = stamp

    def _digest(self, key: str) -> str:
        found = self._digests.get(key)
        if found is None:
            if len(self._digests) >= DIGESTS_KEPT:  # a flood of made-up keys must not grow memory
                self._digests.clear()
            found = self._digests[key] = digest(key)
        return found

    def _load(self) -> list[ApiKey]:
        try:
            raw = json.loads(self.path.read_text())
            return [ApiKey(**entry) for entry in raw["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{self.path}: not a key store ({exc}); move it away and create keys "
                            f"again with `dp keys create`") from exc

    def _save(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"keys": [asdict(k) for k in keys]}, out, indent=1)
        os.replace(tmp, self.path)  # atomic: a running API never reads half a file

    def lookup(self, key: str) -> ApiKey | None:
        """The stored key ``key`` is, revoked or not; None for a key never created here."""
        self._refresh()
        hashed = self._digest(key)
        found = self._by_hash.get(hashed)
        # compare_digest: no timing hint on how much of a guessed hash matched
        return found if found and hmac.compare_digest(found.hash, hashed) else None

    def create(self, role: str, name: str | None = None) -> tuple[str, ApiKey]:
        """A new key for ``role``: (the key itself, shown only now; its stored record)."""
        try:
            roles.check_role(role)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        keys = self.keys()
        key_id = secrets.token_hex(4)
        name = name or f"{role}-{key_id}"
        if any(k.name == name and k.active for k in keys):
            raise UserError(f"an active key is already named {name!r}: choose another --name "
                            f"or revoke it first (`dp keys revoke {name}`)")
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(id=key_id, name=name, role=role, hash=digest(key), created_at=_now())
        self._save(keys + [record])
        return key, record

    def revoke(self, id_or_name: str) -> ApiKey:
        """Revoke the active key with this id or name (that key only)."""
        keys = self.keys()
        matches = [k for k in keys if k.active and id_or_name in (k.id, k.name)]
        if not matches:
            raise UnknownName(f"no active key with id or name {id_or_name!r} (see `dp keys list`)")
        target = matches[0]
        revoked = ApiKey(**{**asdict(target), "revoked_at": _now()})
        self._save([revoked if k is target else k for k in keys])
        return revoked
