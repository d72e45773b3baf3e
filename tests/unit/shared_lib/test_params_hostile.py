"""Hostile parameter values are refused by the loader (so before any kernel starts), naming the
file or command line and the key; secret parameters come from the environment only."""
import pytest

from shared_lib import params as params_lib
from shared_lib.params import ParameterError


def load(overrides=(), environ=None, root=None):
    return params_lib.load("dev", overrides, root=root, environ=environ or {})


@pytest.mark.parametrize("override,key", [
    # code where a name is expected
    ("platform.schedules.all-hourly.notebook=__import__('os').system('id')", "platform.schedules.all-hourly.notebook"),
    ("platform.runner.kernel=python3; rm -rf /", "platform.runner.kernel"),
    # a name that climbs out of its folder
    ("platform.schedules.all-hourly.layer=../../etc", "platform.schedules.all-hourly.layer"),
    ("platform.runner.kernel=..", "platform.runner.kernel"),
    # an object or a list where a scalar is declared
    ("platform.runner.kernel={a: 1}", "platform.runner.kernel"),
    ("platform.runner.retries=[1, 2]", "platform.runner.retries"),
    # a list of names with code in it
    ("platform.retention.tables=['web-user-analytics.silver.events', 'x; drop table y']", "platform.retention.tables[]"),
])
def test_a_value_that_is_not_a_plain_name_is_refused_naming_the_key(override, key):
    with pytest.raises(ParameterError, match=rf"command line: parameter '{key.replace('[', '.').replace(']', '.')}"):
        load([override])


def test_control_characters_are_refused():
    with pytest.raises(ParameterError, match="platform.runner.kernel.*control characters"):
        load({"platform.runner.kernel": "python3\nimport os"})


def test_plain_names_still_load():
    p = load(["platform.schedules.all-hourly.notebook=compliance-auditing:retention",
              "platform.retention.tables=['web-user-analytics.silver.events']"])
    assert p["platform"]["schedules"]["all-hourly"]["notebook"] == "compliance-auditing:retention"


@pytest.fixture
def root_with_paths(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "dev").mkdir()
    (tmp_path / "base" / "export.yaml").write_text("target_dir: exports\nreport_file: r.csv\npage_path: /\n")
    return tmp_path


@pytest.mark.parametrize("value", ["../outside", "exports/../../etc", "/etc", "/tmp/elsewhere"])
def test_a_path_parameter_that_escapes_the_workspace_is_refused(root_with_paths, value, tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path / "ws"))
    with pytest.raises(ParameterError, match="command line: parameter 'export.target_dir' must be a path inside"):
        load({"export.target_dir": value}, root=root_with_paths)


def test_a_path_inside_the_workspace_and_a_url_path_are_accepted(root_with_paths, tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path / "ws"))
    p = load({"export.target_dir": str(tmp_path / "ws" / "exports" / "daily"), "export.report_file": "a/b.csv",
              "export.page_path": "/product"}, root=root_with_paths)
    assert p["export"]["report_file"] == "a/b.csv"


def test_a_path_in_an_environment_file_is_refused_naming_the_file(root_with_paths, tmp_path, monkeypatch):
    monkeypatch.setenv("DP_HOME", str(tmp_path / "ws"))
    (root_with_paths / "dev" / "export.yaml").write_text("report_file: ../../r.csv\n")
    with pytest.raises(ParameterError, match=r"dev/export.yaml: parameter 'export.report_file'"):
        load(root=root_with_paths)


WEBHOOK = "operational-metrics.alerts.webhook_url"


def test_a_secret_comes_from_its_environment_variable():
    p = load(environ={"DP_ALERT_WEBHOOK_URL": "https://hooks.example/T0/s3cr3t"})
    assert params_lib.get(p, WEBHOOK) == "https://hooks.example/T0/s3cr3t"
    assert params_lib.secret_values(p) == ["https://hooks.example/T0/s3cr3t"]


def test_a_secret_on_the_command_line_is_refused_pointing_to_its_variable():
    # overrides are written to run.json and injected into notebooks: a secret there would leak
    with pytest.raises(ParameterError, match="is secret: set it with the environment variable DP_ALERT_WEBHOOK_URL"):
        load([f"{WEBHOOK}=https://hooks.example/T0/s3cr3t"])


def test_a_secret_in_a_parameters_file_is_refused(tmp_path):
    import shutil
    root = tmp_path / "parameters"
    shutil.copytree(params_lib.paths.PARAMETERS_DIR, root)
    (root / "dev" / "operational-metrics.yaml").write_text("alerts:\n  webhook_url: https://hooks.example/x\n")
    with pytest.raises(ParameterError, match="dev/operational-metrics.yaml: 'operational-metrics.alerts.webhook_url' "
                                             "is secret"):
        load(root=root)
