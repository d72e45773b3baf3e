"""What `dp serve` and `dp up` bind by default (127.0.0.1), and the dashboards' token once they are
bound elsewhere: required before anything starts, passed through the environment, never argv."""
import pytest

from runners import serve
from shared_lib import params as params_lib
from shared_lib.errors import UserError


def test_every_service_binds_loopback_by_default():
    for env in params_lib.environments():
        p = params_lib.load(env, environ={})
        hosts = {p["platform"]["serve"]["host"], p["platform"]["metrics"]["host"],
                 p["platform"]["services"]["kafka"]["host"], p["platform"]["services"]["spark"]["host"]}
        assert hosts == {"127.0.0.1"}, env


def test_the_exporter_is_started_on_the_metrics_host():
    # its listening socket is checked by tests/integration/test_exposure.py
    assert "--host=127.0.0.1" in serve.exporter_cmd("127.0.0.1", 9464)


def test_on_loopback_no_token_is_asked_for(monkeypatch):
    monkeypatch.delenv(serve.TOKEN_VAR, raising=False)
    serve.check_dashboards(params_lib.load("dev"))
    assert serve.dashboards_env("127.0.0.1") == {"VOILA_APP_IP": "127.0.0.1"}
    assert not any("token" in arg for arg in serve.voila_cmd("127.0.0.1", 8866))


@pytest.mark.parametrize("token", [None, "short"])  # none, or too short to resist guessing
def test_bound_elsewhere_the_dashboards_refuse_to_start_without_a_token(monkeypatch, token):
    if token is None:
        monkeypatch.delenv(serve.TOKEN_VAR, raising=False)
    else:
        monkeypatch.setenv(serve.TOKEN_VAR, token)
    with pytest.raises(UserError, match="platform.serve.host is '0.0.0.0'.*DP_DASHBOARD_TOKEN"):
        serve.check_dashboards(params_lib.load("dev", ["platform.serve.host=0.0.0.0"]))


def test_bound_elsewhere_the_token_goes_through_the_environment_not_the_command_line(monkeypatch):
    token = "a-long-enough-dashboard-token"
    monkeypatch.setenv(serve.TOKEN_VAR, token)
    serve.check_dashboards(params_lib.load("dev", ["platform.serve.host=0.0.0.0"]))
    # The pre-heated kernels reach Voila on loopback when it listens on every address.
    assert serve.dashboards_env("0.0.0.0") == {"VOILA_APP_IP": "127.0.0.1", "JUPYTER_TOKEN": token}
    assert serve.dashboards_env("10.1.2.3")["VOILA_APP_IP"] == "10.1.2.3"
    argv = serve.voila_cmd("0.0.0.0", 8866)
    assert "--Voila.auto_token=True" in argv and token not in " ".join(argv)
    # never a traceback or a cell's code, wherever it is bound
    assert {"--strip_sources=True", "--show_tracebacks=False"} <= set(argv)
