"""Aggregates that more than one product's metrics use, as Column and DataFrame functions:
exact sums of doubles, and orders counted once (metrics.md: "purchases = distinct order_id,
revenue = sum over distinct orders, first occurrence")."""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def exact_sum(col: str, decimals: int = 6):
    """Sum of a double column through a decimal: exact, so the result does not depend on the
    order in which Spark adds the rows (a recomputed date gives the very same value)."""
    return F.sum(F.col(col).cast(f"decimal(38,{decimals})")).cast("double")


def first_orders(events: DataFrame, keys: Sequence[str]) -> DataFrame:
    """One row per ``keys`` x ``order_id`` of the ``purchase`` events, with the revenue of the
    order's first event (by ``event_ts``, then ``event_id``): an order sent twice counts once."""
    return (events.where((F.col("event_type") == "purchase") & F.col("order_id").isNotNull())
            .groupBy(*keys, "order_id").agg(F.min_by("revenue", F.struct("event_ts", "event_id")).alias("revenue")))


def order_totals(events: DataFrame, keys: Sequence[str]) -> DataFrame:
    """Per ``keys``: ``purchases`` (distinct orders) and ``revenue`` (their first-event revenue)."""
    return first_orders(events, keys).groupBy(*keys).agg(
        F.count("*").alias("purchases"), exact_sum("revenue").alias("revenue"))
