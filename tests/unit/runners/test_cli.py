"""The command line: its version, one line for a user's mistake, a traceback for a bug."""
import os
import signal
import time
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


def test_a_plain_kill_interrupts_as_ctrl_c_so_the_commands_cleanup_runs(monkeypatch, capsys):
    cleaned = []

    def killed_while_working(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends
        finally:
            cleaned.append(True)  # e.g. a bench stopping its services
    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "cmd_catalog", killed_while_working)
    try:
        assert cli.main(["catalog"]) == 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert cleaned == [True] and capsys.readouterr().err == "dp catalog: interrupted\n"


def test_hold_add_needs_exactly_one_of_subject_or_table(monkeypatch, capsys, tmp_path):
    from runners import services
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.setattr(services, "require_running", lambda params, names=None: None)
    assert cli.main(["hold", "add"]) == 2
    assert capsys.readouterr().err == "dp hold: name exactly one of --subject SUBJECT_ID or --table TABLE\n"
    assert cli.main(["hold", "list"]) == 0
    assert capsys.readouterr().out == "no legal hold in force\n"


def test_hold_add_list_remove_and_retention_dry_run_from_the_command_line(monkeypatch, capsys, tmp_path):
    from runners import services
    from shared_lib import audit
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.setattr(services, "require_running", lambda params, names=None: None)
    monkeypatch.setattr(audit, "send", lambda params, events, *sent: len(events))
    assert cli.main(["hold", "add", "--table", "web-user-analytics.silver.events", "--reason", "case 1"]) == 0
    placed = capsys.readouterr().out
    assert placed.startswith("placed hold-") and "on table web-user-analytics.silver.events" in placed
    hold_id = placed.split()[1]
    assert cli.main(["hold", "list"]) == 0
    assert capsys.readouterr().out.startswith(f"{hold_id}  table   web-user-analytics.silver.events  placed ")
    assert cli.main(["retention", "--dry-run"]) == 0  # an empty lake: nothing past retention
    out = capsys.readouterr().out
    assert out.startswith("retention (dry run: nothing changed): ") and "0 row(s) past retention" in out
    assert cli.main(["hold", "remove", hold_id]) == 0
    assert capsys.readouterr().out.startswith(f"released {hold_id} (table web-user-analytics.silver.events)")


def test_repair_with_a_selection_is_refused_before_anything_runs(capsys):
    assert cli.main(["run", "--repair", "r1", "--product", "web-user-analytics"]) == 2
    assert "--repair reruns what that run left undone" in capsys.readouterr().err


def test_lineage_prints_the_graph_of_the_recorded_events_as_json(tmp_path, monkeypatch, capsys):
    import json

    from runners import lineage
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    lineage.events_path().parent.mkdir(parents=True)
    event = {"eventType": "COMPLETE", "job": {"name": "web-user-analytics.bronze"},
             "inputs": [{"namespace": "kafka://h:1", "name": "web.events",
                         "facets": {"version": {"datasetVersion": "0:3"}}}],
             "outputs": [{"namespace": "file:///w", "name": "web-user-analytics.bronze.events_raw",
                          "facets": {"version": {"datasetVersion": "2"}}}]}
    lineage.events_path().write_text(json.dumps(event) + "\n")
    assert cli.main(["lineage", "events_raw", "--upstream", "--json"]) == 0
    graph = json.loads(capsys.readouterr().out)
    assert graph["edges"] == [{"from": "web-user-analytics.bronze", "to": "web-user-analytics.bronze.events_raw"},
                              {"from": "web.events", "to": "web-user-analytics.bronze"}]
    assert {n["id"]: n.get("version") for n in graph["nodes"]} == {
        "web-user-analytics.bronze": None, "web-user-analytics.bronze.events_raw": "2", "web.events": "0:3"}


def test_rerun_of_an_unknown_run_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    assert cli.main(["rerun", "nope"]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["dsar", "erase", " "], "dp dsar: the subject id is empty: name the id the request is about\n"),
    (["dsar", "access", "u1", "--reason", "x"], "dp dsar access: --reason applies to erase only\n"),
    (["dsar", "erase", "u1", "--out", "x"], "dp dsar erase: --out applies to access only\n"),
])
def test_dsar_refuses_an_empty_subject_and_options_of_the_other_action(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == message


def test_dsar_reads_the_subject_from_stdin_when_it_is_a_dash(capsys, tmp_path, monkeypatch):
    import io
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))  # an empty line: no subject
    assert cli.main(["dsar", "access", "-"]) == 2
    assert capsys.readouterr().err == "dp dsar: the subject id is empty: name the id the request is about\n"
