"""The benchmarks' reads of the lake, with delta-rs: row counts to verify and gold rows to cross-check.
One place, for the day the platform's own lake reader replaces them."""
from __future__ import annotations

from shared_lib import products


def _table(product: str, table: str):
    from shared_lib import lake

    return lake.delta_table(products.get(product).table(table))


def count_rows(product: str, table: str, filter=None) -> int:
    """Rows of a declared table, or of those matching the pyarrow expression ``filter``."""
    return _table(product, table).to_pyarrow_dataset().count_rows(filter=filter)


def bronze_rows(product: str) -> int:
    """Bronze rows so far; 0 while the table does not exist (no benchmark has created it)."""
    try:
        return count_rows(product, "events_raw")
    except Exception:  # deltalake's TableNotFoundError, whatever its module in this version
        return 0


def table_rows(product: str, table: str) -> list[dict]:
    """Every row of a declared table as dicts (the gold tables, for the floor's cross-check)."""
    return _table(product, table).to_pyarrow_table().to_pylist()
