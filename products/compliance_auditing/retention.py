"""The retention step of compliance-auditing: the scheduled retention check over every declared
table (``shared_lib.retention``, the same as `dp retention`): rows past their table's retention
deleted by event time, rows under a legal hold kept, tables that lost rows vacuumed, each delete in
the audit trail (by the runner's service actor) and one ``platform.retention_status`` row per
table. Runs before gold, which turns the check into the ``rows_past_retention`` KPIs. No Spark:
delta-rs does the counting, deleting and vacuuming."""
from __future__ import annotations

from shared_lib import audit, retention


def run(ctx) -> dict:
    """Check every declared table; returns the check's totals and the tables that lost rows."""
    checks = retention.run(ctx.params, actor=audit.SYSTEM_ACTOR, progress=print)
    changed = {c.table_name: {"rows_past_retention": c.rows_past_retention, "rows_held": c.rows_held,
                              "rows_deleted": c.rows_deleted, "files_removed": c.files_removed}
               for c in checks if c.rows_past_retention or c.status == "failed"}
    return {**retention.summary(checks), "tables_past_retention": changed}
