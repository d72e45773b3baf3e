"""`dp keys`: create prints the key once (and only the key on stdout), list never shows a key or
its hash, revoke locks out that key."""
import json

from runners import cli
from shared_lib.api.keys import KeyStore


def test_create_list_revoke(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    assert cli.main(["keys", "create", "--role", "auditor", "--name", "carol"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("dp_") and "'carol'" in out.err and "role auditor" in out.err
    assert KeyStore().lookup(key).role == "auditor"

    assert cli.main(["keys", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["name"], listed["role"], listed["revoked_at"]) == ("carol", "auditor", None)
    assert "hash" not in listed and key not in json.dumps(listed)

    assert cli.main(["keys", "revoke", "carol"]) == 0
    assert "revoked key 'carol'" in capsys.readouterr().out
    assert not KeyStore().lookup(key).active
    assert cli.main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_revoking_a_key_that_does_not_exist_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    assert cli.main(["keys", "revoke", "nobody"]) == 2
    assert capsys.readouterr().err.strip() == "dp keys: no active key with id or name 'nobody' (see `dp keys list`)"
