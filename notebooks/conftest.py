"""`pytest --nbval-lax notebooks/...` on its own gets the test session of tests/conftest.py too
(a throw-away workspace, free ports, Kafka and Spark started once); a run that also collects
tests/ has loaded it already."""
from tests import conftest as session


def pytest_configure(config):
    if not config.pluginmanager.is_registered(session):
        config.pluginmanager.register(session, "tests.conftest")
