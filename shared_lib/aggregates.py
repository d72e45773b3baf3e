"""Aggregates that more than one product's metrics use, as Column and DataFrame functions."""
from __future__ import annotations

from pyspark.sql import functions as F


def exact_sum(col: str, decimals: int = 6):
    """Sum of a double column through a decimal: exact, so the result does not depend on the
    order in which Spark adds the rows (a recomputed date gives the very same value)."""
    return F.sum(F.col(col).cast(f"decimal(38,{decimals})")).cast("double")
