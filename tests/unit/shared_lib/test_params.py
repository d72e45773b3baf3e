"""The layered parameters loader: precedence base < env file < environment variable < command line,
and every kind of bad input is an error that names the file (or variable) and the key."""
import pytest

from shared_lib import params as params_lib
from shared_lib.params import ParameterError


@pytest.fixture
def root(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "dev").mkdir()
    (tmp_path / "prod").mkdir()
    (tmp_path / "base" / "platform.yaml").write_text(
        "services:\n  kafka:\n    port: 19092\n    host: 127.0.0.1\n  spark:\n    port: 15002\n"
        "serve:\n  port: 8866\nrunner:\n  retries: 1\n  timeout_s: 60\n  ratio: 0.5\n  html: true\n  note: null\n")
    (tmp_path / "base" / "web.yaml").write_text("topic: web.events\nfunnel: ['/', '/cart']\n")
    (tmp_path / "dev" / "platform.yaml").write_text("runner:\n  retries: 2\n")
    (tmp_path / "prod" / "platform.yaml").write_text("runner:\n  retries: 5\n  timeout_s: 600\n")
    return tmp_path


def load(root, env="dev", overrides=(), environ=None):
    return params_lib.load(env, overrides, root=root, environ=environ or {})


def test_base_then_env_file(root):
    p = load(root)
    assert p["platform"]["runner"] == {"retries": 2, "timeout_s": 60, "ratio": 0.5, "html": True, "note": None}
    assert p["web"]["topic"] == "web.events"
    assert p["env"] == "dev"
    assert load(root, "prod")["platform"]["runner"]["retries"] == 5


def test_environment_variable_beats_env_file_and_command_line_beats_both(root):
    environ = {"DP_KAFKA_PORT": "29092"}
    assert load(root, environ=environ)["platform"]["services"]["kafka"]["port"] == 29092
    p = load(root, overrides=["platform.services.kafka.port=39092", "platform.runner.retries=7"], environ=environ)
    assert p["platform"]["services"]["kafka"]["port"] == 39092
    assert p["platform"]["runner"]["retries"] == 7


def test_a_date_on_the_command_line_stays_text(root):
    # YAML would read it as a date: no match for a text parameter, and no JSON for the notebook.
    p = load(root, overrides=["web.topic=2024-05-01", "platform.runner.note=2024-05-01T10:00:00Z"])
    assert p["web"]["topic"] == "2024-05-01"
    assert p["platform"]["runner"]["note"] == "2024-05-01T10:00:00Z"


def test_overrides_as_mapping_and_int_accepted_for_float(root):
    p = load(root, overrides={"platform.runner.ratio": 1, "platform.runner.note": "anything"})
    assert p["platform"]["runner"]["ratio"] == 1.0 and isinstance(p["platform"]["runner"]["ratio"], float)
    assert p["platform"]["runner"]["note"] == "anything"


def test_env_defaults_to_DP_ENV(root, monkeypatch):
    monkeypatch.setenv("DP_ENV", "prod")
    assert params_lib.load(None, root=root, environ={})["env"] == "prod"


def test_unknown_environment(root):
    with pytest.raises(ParameterError, match=r"unknown environment 'qa': expected one of dev, prod"):
        load(root, "qa")


def test_unknown_key_in_env_file_names_file_and_key(root):
    (root / "dev" / "platform.yaml").write_text("runner:\n  retrys: 2\n")
    with pytest.raises(ParameterError) as err:
        load(root)
    assert str(root / "dev" / "platform.yaml") in str(err.value)
    assert "'platform.runner.retrys'" in str(err.value)


def test_env_file_without_base_file(root):
    (root / "dev" / "mobile.yaml").write_text("topic: x\n")
    with pytest.raises(ParameterError, match=r"mobile.yaml: no parameters/base/mobile.yaml"):
        load(root)


def test_malformed_value_names_file_key_and_type(root):
    (root / "prod" / "platform.yaml").write_text("runner:\n  timeout_s: ten\n")
    with pytest.raises(ParameterError) as err:
        load(root, "prod")
    msg = str(err.value)
    assert str(root / "prod" / "platform.yaml") in msg and "'platform.runner.timeout_s' must be int" in msg


def test_bool_is_not_an_int(root):
    with pytest.raises(ParameterError, match=r"command line: parameter 'platform.runner.retries' must be int"):
        load(root, overrides=["platform.runner.retries=true"])


def test_bad_environment_variable_names_the_variable(root):
    with pytest.raises(ParameterError, match=r"environment variable DP_SPARK_PORT: parameter "
                                             r"'platform.services.spark.port' must be int"):
        load(root, environ={"DP_SPARK_PORT": "fifteen"})


def test_unknown_override_key_and_bad_form(root):
    with pytest.raises(ParameterError, match=r"command line: unknown parameter 'platform.runner.nope'"):
        load(root, overrides=["platform.runner.nope=1"])
    with pytest.raises(ParameterError, match=r"not of the form file.key=value"):
        load(root, overrides=["platform.runner.retries"])


def test_not_yaml_names_file(root):
    (root / "dev" / "platform.yaml").write_text("runner: [unclosed\n")
    with pytest.raises(ParameterError, match=r"dev/platform.yaml: not valid YAML"):
        load(root)


def test_list_type_checked(root):
    assert load(root, overrides={"web.funnel": ["/", "/a", "/b"]})["web"]["funnel"] == ["/", "/a", "/b"]
    with pytest.raises(ParameterError, match=r"'web.funnel' must be list"):
        load(root, overrides=["web.funnel=/cart"])


def test_project_parameters_load_for_every_environment():
    for env in params_lib.environments():
        p = params_lib.load(env, environ={})
        assert p["platform"]["services"]["kafka"]["port"] == 19092
        assert p["web-user-analytics"]["topic"] == "web.events"
    assert params_lib.environments() == ["dev", "prod", "staging"]
