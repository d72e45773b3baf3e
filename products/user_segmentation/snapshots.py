"""The snapshot date that user-segmentation's steps share: each step writes one snapshot date and
replaces that date's rows (``replaceWhere``), so a rerun with the same input leaves the same
tables, and earlier snapshots stay as history."""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shared_lib import lake, tables


def parse_date(value: str, parameter: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` parameter; empty gives None (the parameter's default applies)."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"user-segmentation.{parameter} must be a date YYYY-MM-DD or empty, got {value!r}") from None


def where(day: dt.date) -> str:
    """The predicate of one snapshot's rows."""
    return tables.in_predicate("snapshot_date", [day])


def current(ctx, history: DataFrame) -> dt.date | None:
    """The snapshot date parameter, else the latest snapshot in ``history``."""
    return (parse_date(ctx.own["snapshot_date"], "snapshot_date")
            or history.agg(F.max("snapshot_date")).first()[0])


def feature_rows(ctx) -> int:
    """Rows of ``customer_features``, every snapshot (from the Delta log): what rfm and clusters read at most."""
    return lake.count_rows(ctx.table("customer_features"))


def current_features(ctx) -> tuple[dt.date | None, DataFrame | None]:
    """(the current snapshot date, its ``customer_features`` rows); (None, None) before any."""
    found = ctx.read("customer_features")
    snapshot = current(ctx, found)
    return snapshot, (found.where(F.col("snapshot_date") == F.lit(snapshot)) if snapshot else None)
