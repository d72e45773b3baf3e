"""The maintenance step of compliance-auditing, last in every run: each declared table that exists
is compacted where small files crowd a partition and vacuumed (``shared_lib.maintenance``); the
run record keeps every table's files and bytes before and after. No Spark: delta-rs does both."""
from __future__ import annotations

from shared_lib import maintenance, products


def run(ctx) -> dict:
    """Compact and vacuum every declared table; returns the totals and one record per table."""
    tables = [t for p in products.all_products().values() for t in p.tables]
    records = maintenance.maintain(tables, maintenance.Settings.from_params(ctx.params), progress=print)
    return {**maintenance.totals(records), "tables": records}
