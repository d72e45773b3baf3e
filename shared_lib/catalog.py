"""The table catalog: every declared table with its location, columns (types, personal-data
tags, comments), owner, retention (the effective days: the policy's for the table's kind, or the
declared override; and the event-time column that expires rows) and current Delta version. Read
with delta-rs: no JVM."""
from __future__ import annotations

from shared_lib import lake, products


def entries(rows: bool = False) -> list[dict]:
    """Every declared table with its declaration, current version and last commit; with ``rows``,
    also its row count (``rows``: None before the first commit), read from the same opening of
    the table."""
    out = []
    for product in products.all_products().values():
        for table in product.tables:
            entry = {
                "name": table.qualified_name, "product": product.name, "layer": table.layer,
                "path": table.uri, "description": table.description, "owner": table.owner,
                "retention_days": table.retention_days, "retention_kind": table.retention_kind,
                "retention_source": retention_source(table), "event_time": table.event_time,
                "partitioned_by": list(table.partitioned_by),
                "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable, "pii": c.pii,
                             "comment": c.comment} for c in table.columns],
                "version": None, "last_commit": None, "exists": False,
            }
            if lake.exists(table):
                dt = lake.delta_table(table)
                entry["exists"] = True
                entry["version"] = dt.version()
                last = dt.history(limit=1)
                if last and last[0].get("timestamp"):
                    import datetime as _dt
                    entry["last_commit"] = _dt.datetime.fromtimestamp(
                        last[0]["timestamp"] / 1000, tz=_dt.timezone.utc).isoformat()
                if rows:
                    entry["rows"] = row_count(dt)
            elif rows:
                entry["rows"] = None
            out.append(entry)
    return out


def row_count(opened) -> int:
    """Rows of an opened Delta table's current version from the log's statistics (no data file
    read; a file without statistics is counted by reading it)."""
    import pyarrow as pa

    counts = pa.table(opened.get_add_actions(flatten=True)).column("num_records").to_pylist()
    return sum(counts) if None not in counts else opened.to_pyarrow_dataset().count_rows()


def retention_source(table) -> str:
    """Where the table's retention comes from: ``policy`` (its kind's default) or ``override``."""
    return "override" if table.retention_overridden else "policy"


def retention_text(e: dict) -> str:
    by = f"by {e['event_time']}" if e["event_time"] else "state table: not expired by age"
    return f"retention {e['retention_days']} d ({e['retention_source']}: {e['retention_kind']}, {by})"


def personal_data(declared_products) -> list[dict]:
    """The personal-data inventory of the declared products (no table is opened): one entry per
    column tagged as personal data - table, column, type, tag, owner, retention in days."""
    return [{"table": t.qualified_name, "column": c.name, "type": c.type, "tag": c.pii, "owner": t.owner,
             "retention_days": t.retention_days}
            for p in declared_products for t in p.tables for c in t.columns if c.pii != "none"]


def format_text(items: list[dict]) -> str:
    lines = []
    for e in items:
        state = f"v{e['version']}" if e["exists"] else "not created yet"
        lines.append(f"{e['name']}  [{state}]  owner {e['owner']}, {retention_text(e)}")
        lines.append(f"  {e['path']}")
        if e["description"]:
            lines.append(f"  {e['description']}")
        for c in e["columns"]:
            tag = f"  pii:{c['pii']}" if c["pii"] != "none" else ""
            null = "" if c["nullable"] else " not null"
            lines.append(f"    {c['name']:<16} {c['type']}{null}{tag}")
    return "\n".join(lines)
