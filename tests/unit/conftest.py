"""Fixtures shared by the unit tests of several packages."""
from __future__ import annotations

import copy

import pytest


@pytest.fixture
def kafka_params(params, tmp_path, monkeypatch):
    """The parameters in a new workspace (no cluster recorded yet); Kafka on ports 19092/19093."""
    monkeypatch.setenv("DP_HOME", str(tmp_path))
    loaded = copy.deepcopy(params)
    loaded["platform"]["services"]["kafka"].update(port=19092, controller_port=19093)
    return loaded
