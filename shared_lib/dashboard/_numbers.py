"""The dashboards' pure helpers: periods and their change against the previous period, and the
one formatter of values by kind (cards, tables, tooltips and chart axes)."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

# --- periods and changes -------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar days from ``start`` to ``end``, both included."""
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def rows(self, df: pd.DataFrame, column: str = "date") -> pd.DataFrame:
        """The rows of ``df`` whose ``column`` (a date) falls in the period."""
        return df[(df[column] >= self.start) & (df[column] <= self.end)]

    def label(self) -> str:
        return f"{format_value(self.start, 'date')} – {format_value(self.end, 'date')}"


def last_days(end: dt.date, days: int) -> Period:
    return Period(end - dt.timedelta(days=days - 1), end)


def default_period(dates, days: int) -> tuple[dt.date, dt.date, Period]:
    """(first, last, the period a page opens on): the last ``days`` days of ``dates``, or all of
    them when there are fewer."""
    first, last = min(dates), max(dates)
    return first, last, Period(max(last_days(last, days).start, first), last)


def chosen_period(values: dict) -> Period | None:
    """The period of the date filters' ``values`` (start, end); None while one is empty or the
    start is after the end."""
    start, end = values["start"], values["end"]
    return None if start is None or end is None or start > end else Period(start, end)


def missing(value) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def relative_change(current, previous) -> float | None:
    """(current − previous) / previous, e.g. 0.25 for +25 %; None when there is nothing to compare
    with (previous missing or zero)."""
    if missing(current) or missing(previous) or previous == 0:
        return None
    return (current - previous) / previous


def point_change(current, previous) -> float | None:
    """current − previous, for rates: 0.52 against 0.50 is +0.02 (two percentage points). A
    relative change of a rate ("+4 %") reads as if it were the rate's own change."""
    if missing(current) or missing(previous):
        return None
    return current - previous


# --- values by kind ------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How the values of one kind read: as text in cards, tables and tooltips, and as the d3
    format of a chart axis (plotly's ``tickformat``)."""
    text: Callable[[Any], str]
    tick: str


def _minutes_seconds(value) -> str:
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _bytes(value) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:,.0f} B"


KINDS = {
    "count": Kind("{:,.0f}".format, ",d"),
    "money": Kind("{:,.2f}".format, ",.0f"),
    "rate": Kind(lambda v: f"{v * 100:.1f}%", ".0%"),
    "seconds": Kind(_minutes_seconds, ",.0f"),  # a duration: 1m 05s
    "ratio": Kind("{:,.2f}".format, ".2f"),
    # Values read against a threshold in the same unit (the SLA board): 62 s, 12.3 min, 99.91%.
    "ms": Kind("{:,.0f} ms".format, ",.0f"),
    "s": Kind("{:,.0f} s".format, ",.0f"),
    "min": Kind("{:,.1f} min".format, ",.1f"),
    "gb": Kind("{:,.1f} GB".format, ",.1f"),
    "fine_rate": Kind(lambda v: f"{v * 100:.2f}%", ".1%"),
    "day": Kind("{:%d %b}".format, "%d %b"),
    "date": Kind("{:%d %b %Y}".format, "%d %b %Y"),
    "time": Kind("{:%d %b %H:%M}".format, "%d %b %H:%M"),
    # Costs are often fractions of a cent per notebook: four decimals.
    "usd": Kind("${:,.4f}".format, "$,.2f"),
    "bytes": Kind(_bytes, ".2s"),  # decimal units: 1.5 GB is 1.5e9 bytes
}


def format_value(value, kind: str) -> str:
    """``value`` as text of its ``kind`` (one of ``KINDS``); "–" when it is missing."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    return "–" if missing(value) else KINDS[kind].text(value)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    kind: str  # one of KINDS: how the value is formatted and how its change is measured
    higher_is_better: bool = True
    note: str = ""  # shown under the card, e.g. how a range total is made


def kpi_change(kpi: Kpi, current, previous) -> tuple[str, str]:
    """The card's change line and its tone: ("+25.0%", "good"), ("−2.0 pp", "bad"), ("–", "flat")."""
    delta = point_change(current, previous) if kpi.kind == "rate" else relative_change(current, previous)
    if delta is None:
        return "–", "flat"
    text = f"{abs(delta) * 100:.1f}{' pp' if kpi.kind == 'rate' else '%'}"
    if round(delta * 100, 1) == 0:
        return f"±{text}", "flat"
    sign = "+" if delta > 0 else "−"
    return f"{sign}{text}", "good" if (delta > 0) == kpi.higher_is_better else "bad"
