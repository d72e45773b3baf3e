"""Tests of the pure DataFrame functions on the real Spark Connect server: every test here needs
the server (started once per session by tests/conftest.py), so each is marked ``integration``."""
import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/spark/" in str(item.path):
            item.add_marker(pytest.mark.integration)
