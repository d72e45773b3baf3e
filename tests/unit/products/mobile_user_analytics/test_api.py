"""The mobile API on small hand-written Delta tables: active users, retention cohorts, crash-free
rates by version and version adoption."""
from __future__ import annotations

import datetime as dt

import pytest

from products.mobile_user_analytics import api as mobile_api
from tests import api_client
from tests.api_client import write_table

P = "mobile-user-analytics"
D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


def _kpis(day, dau, mau):
    return {"date": day, "dau": dau, "wau": dau, "mau": mau, "stickiness": dau / mau, "new_devices": 1,
            "sessions": dau, "engaged_sessions": 0, "crashed_devices": 0, "crashed_sessions": 0,
            "purchases": 0, "revenue": 0.0}


def _version(day, platform, version, active, crashed, adopted, adoption):
    return {"date": day, "platform": platform, "app_version": version, "active_devices": active,
            "crashed_devices": crashed, "crash_free_users": 1 - crashed / active, "sessions": active,
            "crashed_sessions": crashed, "crash_free_sessions": 1 - crashed / active,
            "adopted_devices": adopted, "version_adoption": adoption}


@pytest.fixture
def mobile(tmp_path, monkeypatch):
    client = api_client.api(mobile_api.create_app, tmp_path, monkeypatch)
    write_table(P, "daily_kpis", [_kpis(D1, 4, 8), _kpis(D2, 6, 8)])
    write_table(P, "retention", [
        {"cohort_date": D1, "day_n": 0, "cohort_size": 4, "retained_devices": 4, "retention": 1.0},
        {"cohort_date": D1, "day_n": 1, "cohort_size": 4, "retained_devices": 1, "retention": 0.25},
        {"cohort_date": D2, "day_n": 1, "cohort_size": 2, "retained_devices": None, "retention": None}])
    write_table(P, "daily_by_version", [
        _version(D2, "ios", "2.0", 4, 1, 3, 0.5), _version(D2, "ios", "1.9", 2, 0, 1, 1 / 6),
        _version(D2, "android", "2.0", 2, 0, 2, 1 / 3), _version(D1, "ios", "1.9", 4, 2, 4, 1.0)])
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
