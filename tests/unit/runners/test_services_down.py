"""The line a failed run record gets for each service of the workspace that does not answer."""
from pathlib import Path

from runners import services


def test_each_service_not_running_is_named_with_its_state_log_and_fix(monkeypatch):
    states = [services.Status("kafka", "running", 10, "127.0.0.1:1", Path("/w/logs/kafka.log")),
              services.Status("spark", "died", None, "127.0.0.1:2", Path("/w/logs/spark.log")),
              services.Status("spark", "stopped", None, "127.0.0.1:3", Path("/w/logs/spark.log"))]
    monkeypatch.setattr(services, "status", lambda params: states)
    monkeypatch.setattr(services, "port_open", lambda host, port: port == 1)
    assert services.down_services({}).splitlines() == [
        "spark is not running on 127.0.0.1:2: it died (pid file left behind); see /w/logs/spark.log; `dp up` starts it",
        "spark is not running on 127.0.0.1:3: stopped; see /w/logs/spark.log; `dp up` starts it",
    ]


def test_nothing_when_every_service_answers_even_one_started_elsewhere(monkeypatch):
    monkeypatch.setattr(services, "status", lambda params: [
        services.Status("kafka", "stopped", None, "127.0.0.1:1", Path("k.log"), "port 1 is in use by another process")])
    monkeypatch.setattr(services, "port_open", lambda host, port: True)
    assert services.down_services({}) == ""
