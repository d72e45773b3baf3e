"""Test session set-up: a throw-away workspace and free ports, so tests never touch a developer's
``dp up`` services or tables; one real Kafka broker and one Spark Connect server for the whole
session, started only when a collected test needs them (``integration`` marker, or a notebook
run by nbval), and stopped at the end."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_WORKSPACE = None
_STARTED = False

# Smaller than a developer's server: the suite runs on 2 cores beside other work.
TEST_OVERRIDES = {"platform.services.spark.driver_memory": "3g"}


def pytest_configure(config):
    global _WORKSPACE
    if os.environ.get("DP_TEST_KEEP_ENV"):  # run against an existing workspace and services
        return
    _WORKSPACE = Path(tempfile.mkdtemp(prefix="dp-test-"))
    os.environ["DP_HOME"] = str(_WORKSPACE)
    os.environ["DP_REPORTS"] = str(_WORKSPACE / "reports")
    os.environ["DP_ENV"] = "dev"
    # Tests run what they ask for; those of skipping turn it back on (platform.runner.skip_up_to_date=true).
    os.environ["DP_SKIP_UP_TO_DATE"] = "false"
    from runners import services

    os.environ.update(services.free_port_environment())


def _needs_services(item) -> bool:
    return item.get_closest_marker("integration") is not None or item.path.suffix == ".ipynb"


def pytest_collection_modifyitems(config, items):
    # The slow tests (the clusters, the soak) run only when -m names them: make test-slow.
    if "slow" not in (config.option.markexpr or ""):
        slow = [it for it in items if it.get_closest_marker("slow")]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [it for it in items if not it.get_closest_marker("slow")]
    # Unit tests first, then integration tests, then the notebooks: a broken library fails fast.
    # Among integration tests, the erasure goes last: it deletes rows that the others' accounting counts.
    def rank(it) -> int:
        return 2 if it.get_closest_marker("erases_subjects") else 1 if it.get_closest_marker("after_pipelines") else 0

    items.sort(key=lambda it: (it.path.suffix == ".ipynb", it.get_closest_marker("integration") is not None,
                               rank(it)))


def pytest_collection_finish(session):
    global _STARTED
    if os.environ.get("DP_TEST_KEEP_ENV") or not any(_needs_services(i) for i in session.items):
        return
    from runners import services
    from shared_lib import params as params_lib

    params = params_lib.load("dev", TEST_OVERRIDES)
    print(f"\nstarting test services in {os.environ['DP_HOME']} ...")
    for line in services.up(params, progress=lambda msg: print(msg)):
        print(line)
    _STARTED = True


def pytest_sessionfinish(session, exitstatus):
    if _STARTED:
        from runners import services
        from shared_lib import spark as spark_lib
        spark_lib.stop_all()
        services.down()
    if _WORKSPACE and not os.environ.get("DP_TEST_KEEP_WORKSPACE"):
        shutil.rmtree(_WORKSPACE, ignore_errors=True)


@pytest.fixture(scope="session")
def params():
    from shared_lib import params as params_lib
    return params_lib.load("dev", TEST_OVERRIDES)


@pytest.fixture(scope="module")
def spark(params):
    # Asked for each module: get_spark replaces a session whose server was restarted (the fault tests).
    from shared_lib.spark import get_spark
    return get_spark(params)
