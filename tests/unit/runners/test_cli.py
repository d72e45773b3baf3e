"""The command line: its version, one line for a user's mistake, a traceback for a bug."""
import tomllib
from importlib import metadata

import pytest

from runners import cli
from shared_lib import paths
from shared_lib.errors import UnknownName

PYPROJECT_VERSION = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_version_answers_and_exits(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"dp {PYPROJECT_VERSION}\n"


def test_version_of_a_checkout_that_is_not_installed_comes_from_pyproject(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(metadata, "version", not_installed)
    assert cli.version() == PYPROJECT_VERSION


def failing(exc):
    def command(args):
        raise exc
    return command


def test_a_user_error_is_one_line_and_exit_code_2(monkeypatch, capsys):
    monkeypatch.setattr(cli, "cmd_catalog", failing(UnknownName("unknown product 'x': expected one of a, b")))
    assert cli.main(["catalog"]) == 2
    assert capsys.readouterr().err == "dp catalog: unknown product 'x': expected one of a, b\n"


def test_a_user_error_from_the_library_is_one_line(capsys):
    assert cli.main(["run", "-p", "nofile.key=1"]) == 2
    assert capsys.readouterr().err == "dp run: command line: unknown parameter 'nofile'\n"


@pytest.mark.parametrize("where", [["--debug", "catalog"], ["catalog", "--debug"]])
def test_debug_shows_the_traceback_of_a_user_error_too(monkeypatch, capsys, where):
    monkeypatch.setattr(cli, "cmd_catalog", failing(UnknownName("no declared table 't'")))
    assert cli.main(where) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("shared_lib.errors.UnknownName: no declared table 't'\ndp catalog: no declared table 't'\n")


def test_a_bug_is_not_dressed_up_as_a_user_error(monkeypatch, capsys):
    monkeypatch.setattr(cli, "cmd_catalog", failing(KeyError("partitions")))
    assert cli.main(["catalog"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith(f"KeyError: 'partitions'\ndp catalog: {cli.BUG_HINT}\n")


def test_interrupted(monkeypatch, capsys):
    monkeypatch.setattr(cli, "cmd_catalog", failing(KeyboardInterrupt()))
    assert cli.main(["catalog"]) == 130
    assert capsys.readouterr().err == "dp catalog: interrupted\n"


@pytest.mark.parametrize("argv, message", [
    (["dsar", "erase", " "], "dp dsar: the subject id is empty: name the id the request is about\n"),
    (["dsar", "access", "u1", "--reason", "x"], "dp dsar access: --reason applies to erase only\n"),
    (["dsar", "erase", "u1", "--out", "x"], "dp dsar erase: --out applies to access only\n"),
])
def test_dsar_refuses_an_empty_subject_and_options_of_the_other_action(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == message
