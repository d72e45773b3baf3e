"""The mobile API on small hand-written Delta tables: active users, retention cohorts, crash-free
rates by version and version adoption."""
from __future__ import annotations

import pytest

from products.mobile_user_analytics import api as mobile_api
from tests import api_client, api_data

P = "mobile-user-analytics"


@pytest.fixture
def mobile(tmp_path, monkeypatch):
    client = api_client.api(mobile_api.create_app, tmp_path, monkeypatch)
    api_data.write_mobile()
    return client


def test_active_users_of_a_range(mobile):
    rows = mobile.get("/active-users?start=2024-03-02", "viewer").json()["data"]
    assert rows == [{"date": "2024-03-02", "dau": 6, "wau": 6, "mau": 8, "stickiness": 0.75, "new_devices": 1}]


def test_retention_of_day_1_keeps_a_cohort_whose_day_has_not_come_as_null(mobile):
    rows = mobile.get("/retention?day_n=1", "viewer").json()["data"]
    assert [(r["cohort_date"], r["retention"]) for r in rows] == [("2024-03-01", 0.25), ("2024-03-02", None)]


def test_crash_free_by_version_for_one_platform(mobile):
    rows = mobile.get("/crash-free?start=2024-03-01&end=2024-03-02&platform=ios", "viewer").json()["data"]
    assert [(r["date"], r["app_version"], r["crash_free_users"]) for r in rows] == [
        ("2024-03-01", "1.9", 0.5), ("2024-03-02", "1.9", 1.0), ("2024-03-02", "2.0", 0.75)]


def test_version_adoption_largest_share_first_per_day(mobile):
    rows = mobile.get("/versions/adoption?start=2024-03-02", "viewer").json()["data"]
    assert [(r["platform"], r["app_version"], r["adopted_devices"]) for r in rows] == [
        ("ios", "2.0", 3), ("android", "2.0", 2), ("ios", "1.9", 1)]
    assert sum(r["version_adoption"] for r in rows) == pytest.approx(1.0)


def test_an_unknown_platform_is_a_400_naming_it(mobile):
    resp = mobile.get("/crash-free?platform=symbian", "viewer")
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "platform"
