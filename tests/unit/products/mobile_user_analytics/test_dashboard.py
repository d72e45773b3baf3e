"""The mobile dashboard's pure helpers on hand-computed cases: range totals, crash-free rates per
version and the worst version, adoption, the retention matrix."""
import datetime as dt
import math

import pandas as pd

from products.mobile_user_analytics import dashboard as mobile

D = dt.date


def test_totals_recompute_rates_from_counts():
    daily = pd.DataFrame({"date": [D(2024, 1, 1), D(2024, 1, 2)], "dau": [10, 30], "mau": [50, 70],
                          "new_devices": [4, 6], "sessions": [20, 60], "crashed_devices": [1, 3],
                          "crashed_sessions": [2, 2], "revenue": [1.5, 2.5], "purchases": [1, 1]})
    got = mobile.totals(daily)
    assert got["avg_dau"] == 20 and got["mau"] == 70  # MAU of the last day, not a sum
    assert got["stickiness"] == 40 / 120
    assert got["crash_free_users"] == 1 - 4 / 40 and got["crash_free_sessions"] == 1 - 4 / 80
    assert (got["new_devices"], got["sessions"], got["revenue"]) == (10, 80, 4.0)
    empty = mobile.totals(daily.iloc[0:0])
    assert empty["avg_dau"] is None and empty["crash_free_users"] is None and empty["sessions"] == 0


def by_version(rows):
    return pd.DataFrame(rows, columns=["date", "platform", "app_version", "active_devices", "crashed_devices",
                                       "sessions", "crashed_sessions", "version_adoption"])


def test_worst_version_needs_enough_device_days():
    rows = by_version([
        (D(2024, 1, 1), "android", "3.2.0", 50, 10, 60, 12, 0.3),
        (D(2024, 1, 2), "android", "3.2.0", 50, 10, 60, 0, 0.3),
        (D(2024, 1, 1), "ios", "3.3.0", 100, 1, 100, 1, 0.69),
        (D(2024, 1, 1), "android", "3.1.0", 4, 2, 4, 2, 0.01),  # 50 % but only 4 device-days
    ])
    health = mobile.version_health(rows)
    assert health["version"].tolist() == ["android 3.1.0", "android 3.2.0", "ios 3.3.0"]
    worst = mobile.worst_version(health)
    assert worst["version"] == "android 3.2.0" and worst["crash_free_users"] == 0.8
    assert worst["crash_free_sessions"] == 0.9
    assert mobile.worst_version(mobile.version_health(rows.assign(crashed_devices=0))) is None


def test_retention_matrix_leaves_undue_cells_blank():
    retention = pd.DataFrame({"cohort_date": [D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 2), D(2024, 1, 2)],
                              "day_n": [7, 1, 1, 7], "retention": [0.25, 0.5, None, None]})
    matrix = mobile.retention_matrix(retention)
    assert list(matrix.columns) == ["day 1", "day 7"] and list(matrix.index) == ["01 Jan", "02 Jan"]
    assert matrix.loc["01 Jan"].tolist() == [0.5, 0.25]
    assert all(math.isnan(v) for v in matrix.loc["02 Jan"])
