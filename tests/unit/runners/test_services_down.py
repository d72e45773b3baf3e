"""The line a failed run record gets for each service of the workspace that does not answer."""
from pathlib import Path

from runners import services


def test_each_service_not_running_is_named_with_its_state_log_and_fix(monkeypatch):
    states = [services.Status.on_port("kafka", "running", 10, "127.0.0.1", 1, Path("/w/logs/kafka.log")),
              services.Status.on_port("spark", "died", None, "127.0.0.1", 2, Path("/w/logs/spark.log")),
              services.Status.on_port("spark", "stopped", None, "127.0.0.1", 3, Path("/w/logs/spark.log"))]
    monkeypatch.setattr(services, "status", lambda params: states)
    monkeypatch.setattr(services, "port_open", lambda host, port: port == 1)
    assert services.down_services({}).splitlines() == [
        "spark is not running on 127.0.0.1:2: it died (pid file left behind); see /w/logs/spark.log; `dp up` starts it",
        "spark is not running on 127.0.0.1:3: stopped; see /w/logs/spark.log; `dp up` starts it",
    ]


def test_nothing_when_every_service_answers_even_one_started_elsewhere(monkeypatch):
    monkeypatch.setattr(services, "status", lambda params: [
        services.Status.on_port("kafka", "stopped", None, "127.0.0.1", 1, Path("k.log"),
                                "port 1 is in use by another process")])
    monkeypatch.setattr(services, "port_open", lambda host, port: True)
    assert services.down_services({}) == ""


def test_a_service_shown_as_a_url_is_checked_on_its_host_and_port_and_one_without_a_port_is_not(monkeypatch):
    checked = []
    monkeypatch.setattr(services, "status", lambda params: [
        services.Status("spark", "stopped", None, "sc://10.0.0.5:15002", Path("s.log"), host="10.0.0.5", port=15002),
        services.Status("spark-worker-1", "died", None, "127.0.0.1 -> spark://127.0.0.1:7077", Path("w.log"))])
    monkeypatch.setattr(services, "port_open", lambda host, port: checked.append((host, port)) or False)
    assert services.down_services({}).splitlines() == [
        "spark is not running on sc://10.0.0.5:15002: stopped; see s.log; `dp up` starts it",
        "spark-worker-1 is not running on 127.0.0.1 -> spark://127.0.0.1:7077: it died (pid file left behind); "
        "see w.log; `dp up` starts it"]
    assert checked == [("10.0.0.5", 15002)]


def test_a_status_on_a_port_shows_host_colon_port_and_keeps_both():
    st = services.Status.on_port("kafka", "running", 7, "127.0.0.1", 9092, Path("k.log"))
    assert (st.address, st.host, st.port, st.detail) == ("127.0.0.1:9092", "127.0.0.1", 9092, "")
