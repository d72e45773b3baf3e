"""compliance-auditing's floor: the pipeline's work on audit events in DuckDB SQL, from the raw
JSON lines to the silver ``audit_trail`` (subject ids as HMAC-SHA256 keyed hashes, computed in
SQL as the pipeline's ``subject_hash.hash_column``) and ``quarantine``, and the gold
``daily_compliance_kpis``, each written as Parquet. Read from ``records`` and ``kpis``.

What the floor leaves out, because the benchmark has none of it: consent events (its generator
runs with ``consent_share`` 0, so the consent KPIs have no rows), DSAR requests and retention
checks (their KPIs come from other tables). A row of those in gold shows as "only in the pipeline"."""
from __future__ import annotations

import hashlib
from pathlib import Path

from products.compliance_auditing import kpis
from products.compliance_auditing.contract import AUDIT_CONTRACT
from runners.bench.floors import common
from runners.bench.floors.common import lit
from shared_lib import products, subject_hash

PRODUCT = "compliance-auditing"
SILVER = ["audit_trail", "quarantine"]
GOLD_KEYS = {"daily_compliance_kpis": ["date", "kpi", "dimension", "dimension_value"]}
TOLERANCES: dict[str, dict[str, float]] = {}
_BLOCK = 64  # SHA-256's block, as subject_hash


def _hmac_sql(column: str, key: bytes) -> str:
    """HMAC-SHA256 of a text column as 64 hex digits: two SHA-256 over the padded keys (RFC 2104)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()
    return f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({column}))))"


def _personal_read(personal: dict[str, list[str]]) -> str:
    """``kpis.personal_read``: a read naming a subject, or of a table with personal columns."""
    whole = "(columns IS NULL OR len(columns) = 0)"
    named = ["subject_hash IS NOT NULL"]
    for resource, columns in sorted(personal.items()):
        if columns:
            tagged = f"list_has_any(columns, [{', '.join(lit(c) for c in columns)}])"
            named.append(f"(resource = {lit(resource)} AND ({whole} OR {tagged}))")
    return f"coalesce(action = 'read' AND ({' OR '.join(named)}), false)"


def _kpis_sql(personal: dict[str, list[str]]) -> str:
    no_purpose = f"{_personal_read(personal)} AND result = 'success' AND purpose IS NULL"
    all_ = lit(kpis.ALL)
    return f"""
WITH a AS (SELECT *, event_date AS date FROM audit_trail)
SELECT date, 'audit_events' AS kpi, 'action/result' AS dimension, concat_ws('/', action, result) AS dimension_value,
       CAST(count(*) AS DOUBLE) AS value
FROM a GROUP BY date, action, result
UNION ALL
SELECT date, unnest(['audit_events', 'denied_accesses', 'reads_without_purpose']), {all_}, {all_},
       unnest([CAST(count(*) AS DOUBLE), count(*) FILTER (result = 'denied'), count(*) FILTER ({no_purpose})])
FROM a GROUP BY date
"""


def run(path: Path, out: Path, params: dict, personal: dict[str, list[str]] | None = None) -> dict[str, list[dict]]:
    """The floor over the audit events' JSON lines ``path``: silver and gold written under
    ``out``; returns the gold table's rows for the cross-check. ``personal``: {table: its
    personal columns}, by default those the products declare."""
    own = params[PRODUCT]
    if personal is None:
        personal = products.personal_columns_of(products.all_products().values())
    con = common.connect()
    try:
        common.ingest(con, path, AUDIT_CONTRACT, own["silver"]["quarantine_value_max_chars"])
        fields = ", ".join(f.name for f in AUDIT_CONTRACT.fields if f.name not in ("subject_id", "subject_hash"))
        hashed = _hmac_sql("subject_id", subject_hash.workspace_key())
        con.execute(f"""CREATE TABLE audit_trail AS
            SELECT line, {fields}, CAST(event_ts AS DATE) AS event_date,
                   coalesce({hashed}, subject_hash) AS subject_hash
            FROM validated WHERE reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY line) = 1""")
        return common.finish(con, out, {"daily_compliance_kpis": _kpis_sql(personal)}, SILVER)
    finally:
        con.close()
