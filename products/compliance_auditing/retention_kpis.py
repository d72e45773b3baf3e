"""The retention KPIs of the daily compliance KPIs (metrics.md: "rows past retention at check
time"), from ``platform.retention_status`` (one row per table and retention check), in the long
format of ``daily_compliance_kpis``. Pure pandas: the status table is small.

For a date with a retention check (by the UTC date of ``checked_at``):
- ``rows_past_retention``: rows past their table's retention at the time of the day's last check
  (before it deleted them; held rows included), in all (dimension ``all``) and per table with any
  (dimension ``table``);
- ``retention_rows_held``: of those, rows kept by a legal hold (all);
- ``retention_rows_deleted``: rows deleted by every check of the day (all).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import pandas as pd

KPIS = ("rows_past_retention", "retention_rows_held", "retention_rows_deleted")
COLUMNS = ["date", "kpi", "dimension", "dimension_value", "value"]


def check_dates(status: pd.DataFrame) -> list[dt.date]:
    """The UTC dates with a retention check, in order."""
    if status.empty:
        return []
    return sorted(set(pd.to_datetime(status["checked_at"], utc=True).dt.date))


def retention_kpis(status: pd.DataFrame, dates: Iterable[dt.date]) -> pd.DataFrame:
    """The retention KPI rows of each of ``dates`` that has a check (see the module)."""
    if status.empty:
        return pd.DataFrame(columns=COLUMNS)
    checked = status.assign(_day=pd.to_datetime(status["checked_at"], utc=True).dt.date)
    rows = []
    for day in sorted(set(dates)):
        today = checked[checked["_day"] == day]
        if today.empty:
            continue
        last_id = today.sort_values(["checked_at", "check_id"]).iloc[-1]["check_id"]
        last = today[today["check_id"] == last_id]
        rows.append((day, "rows_past_retention", "all", "all", last["rows_past_retention"].sum()))
        for table, n in sorted(zip(last["table_name"], last["rows_past_retention"])):
            if n:
                rows.append((day, "rows_past_retention", "table", table, n))
        rows.append((day, "retention_rows_held", "all", "all", last["rows_held"].sum()))
        rows.append((day, "retention_rows_deleted", "all", "all", today["rows_deleted"].sum()))
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.astype({"value": "float64"})


def latest_by_table(status: pd.DataFrame) -> pd.DataFrame:
    """The last check of each table: when, its retention, rows past retention, held and deleted,
    its status; tables with rows past retention first."""
    columns = ["table_name", "retention_days", "event_time", "checked_at", "rows_past_retention", "rows_held",
               "rows_deleted", "status"]
    if status.empty:
        return pd.DataFrame(columns=columns)
    last = status.sort_values(["checked_at", "check_id"]).groupby("table_name", as_index=False).tail(1)
    return last[columns].sort_values(["rows_past_retention", "table_name"], ascending=[False, True],
                                     ignore_index=True)
