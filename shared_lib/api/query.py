"""Query parameters every API shares: a date range over a table's date column."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

from fastapi import Query

from shared_lib.api.errors import bad_parameter

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_DAYS = 30
Start = Annotated[dt.date | None, Query(description="First date (YYYY-MM-DD, UTC); default: "
                                                    f"{DEFAULT_DAYS} days before end")]
End = Annotated[dt.date | None, Query(description="Last date, included (YYYY-MM-DD, UTC); default: the "
                                                  "latest date with data")]


def check_order(start: dt.date | None, end: dt.date | None) -> None:
    """A 400 naming ``start`` when it is after ``end``."""
    if start is not None and end is not None and start > end:
        raise bad_parameter("start", f"{start} is after end {end}")


def date_range(frame: pd.DataFrame, column: str, start: dt.date | None, end: dt.date | None,
               default_days: int = DEFAULT_DAYS) -> pd.DataFrame:
    """The rows of ``frame`` whose ``column`` lies in [start, end]. Without ``end``: the latest
    date in the data (today when empty); without ``start``: ``default_days`` days up to end.
    ``start`` after ``end`` is a 400 naming ``start``."""
    check_order(start, end)
    if frame.empty:
        return frame
    dates = frame[column]
    if end is None:
        latest = max(dates)
        end = max(latest, start) if start is not None else latest
    if start is None:
        start = end - dt.timedelta(days=default_days - 1)
    return frame[(dates >= start) & (dates <= end)]
