"""What the product API tests share: an API of one product over a workspace of the test's own,
with one key per role and the events it sends kept in memory."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from fastapi.testclient import TestClient

from shared_lib.api import roles
from shared_lib.api.keys import KeyStore
from shared_lib.api.sinks import MemorySinks, Sinks
from tests.browser import write_table  # noqa: F401  (the tests write their tables with it)

PARAMS: dict = {}  # the APIs under test read no parameter; their sinks are in memory


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]  # role -> key
    sinks: MemorySinks
    store: KeyStore

    def get(self, url: str, role: str | None = None, purpose: str | None = None, **headers: str) -> Any:
        return self.client.get(url, headers=self._headers(role, purpose, headers))

    def post(self, url: str, body: Any, role: str | None = None, purpose: str | None = None, **headers: str) -> Any:
        return self.client.post(url, json=body, headers=self._headers(role, purpose, headers))

    def _headers(self, role, purpose, headers) -> dict:
        if role:
            headers["X-API-Key"] = self.keys[role]
        if purpose:
            headers["X-Purpose"] = purpose
        return headers

    def actor(self, role: str) -> str:
        """The audit actor of ``role``'s key (its default name)."""
        return f"{role}-{self.keys[role].split('_')[1]}"


def api(create_app: Callable[..., Any], tmp_path, monkeypatch) -> Api:
    """``create_app`` of a product API over the workspace ``tmp_path``."""
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    store = KeyStore(tmp_path / "keys.json")
    sinks = Sinks.memory()
    app = create_app(params=PARAMS, sinks=sinks, keys=store)
    keys = {role: store.create(role)[0] for role in roles.ROLES}
    return Api(TestClient(app, raise_server_exceptions=False), keys, sinks, store)
