"""The event contract (``shared_lib.contract``) as DuckDB SQL, built from the same ``Contract``
declaration the pipeline validates with: the same checks in the same order, the same closed list
of reasons. One SELECT over a relation ``lines(line, value)`` (one raw message per line) that
gives ``line``, ``value``, ``reason`` (null: clean) and one typed column per field (null unless
clean). Differences from Spark's VARIANT parser: duplicate keys are not malformed here, and the
future limit is the check's own time, not bronze's ``ingested_at``."""
from __future__ import annotations

from collections.abc import Callable

from shared_lib.contract import (
    _EPOCH_MS_TEXT,
    _ISO_TS,
    _MAX_EPOCH_MS,
    _NUMERIC_TEXT,
    BAD_TIMESTAMP,
    FUTURE_TIMESTAMP,
    FUTURE_TOLERANCE_HOURS,
    MALFORMED_JSON,
    MAX_MESSAGE_BYTES,
    TOO_LARGE,
    Contract,
    Field,
    lower_trimmed,
    upper_trimmed,
)

# The contract's normalizers (Spark Column functions) as SQL.
_NORMALIZE: dict[Callable, str] = {upper_trimmed: "upper(trim({}))", lower_trimmed: "lower(trim({}))"}
_INTEGER_TYPES = ("BIGINT", "UBIGINT")
_SQL_TYPES = {"string": "VARCHAR", "object": "VARCHAR", "boolean": "BOOLEAN", "string_array": "VARCHAR[]",
              "timestamp": "TIMESTAMPTZ", "number": "DOUBLE", "integer": "BIGINT"}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _typed(f: Field, i: int) -> tuple[str, str]:
    """(the field's value in its kind, whether its JSON type fits the kind), from ``_t[i]`` (JSON
    type) and ``_s[i]`` (text)."""
    t, s, path = f"_t[{i}]", f"_s[{i}]", _lit(f'$."{f.name}"')
    if f.kind == "string":
        return f"CASE WHEN {t} = 'VARCHAR' THEN {s} END", f"{t} = 'VARCHAR'"
    if f.kind == "object":
        value = f"CAST(json_extract(CASE WHEN {t} = 'OBJECT' THEN _json END, {path}) AS VARCHAR)"
        return value, f"{t} = 'OBJECT'"
    if f.kind == "boolean":
        return f"CASE WHEN {t} = 'BOOLEAN' THEN {s} = 'true' END", f"{t} = 'BOOLEAN'"
    if f.kind == "string_array":  # a guarded extract: DuckDB may evaluate both branches of a CASE
        array = f"json_extract(CASE WHEN {t} = 'ARRAY' THEN _json END, {path})"
        ok = (f"({t} = 'ARRAY' AND coalesce(list_bool_and(list_transform("
              f"CAST({array} AS JSON[]), lambda c: json_type(c) = 'VARCHAR')), true))")
        return f"CAST(CASE WHEN {ok} THEN {array} END AS VARCHAR[])", ok
    if f.kind == "timestamp":
        millis = (f"CASE WHEN {t} IN {_in(_INTEGER_TYPES)} THEN TRY_CAST({s} AS BIGINT) "
                  f"WHEN {t} = 'VARCHAR' AND regexp_matches({s}, {_lit(_EPOCH_MS_TEXT)}) "
                  f"THEN TRY_CAST(trim({s}) AS BIGINT) END")
        iso = f"upper(trim({s}))"
        value = (f"CASE WHEN ({millis}) BETWEEN 0 AND {_MAX_EPOCH_MS} THEN make_timestamptz(({millis}) * 1000) "
                 f"WHEN {t} = 'VARCHAR' AND regexp_matches({iso}, {_lit(_ISO_TS)}) "
                 f"THEN TRY_CAST({iso} AS TIMESTAMPTZ) END")
        return value, f"({value}) IS NOT NULL"
    number = (f"CASE WHEN {t} IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST({s} AS DOUBLE) "
              f"WHEN {t} = 'VARCHAR' AND regexp_matches({s}, {_lit(_NUMERIC_TEXT)}) "
              f"THEN TRY_CAST(trim({s}) AS DOUBLE) END")
    if f.kind == "number":
        return number, f"({number}) IS NOT NULL"
    integral = f"coalesce(abs({number}) < 9007199254740992 AND ({number}) = floor({number}), false)"
    return f"CASE WHEN {integral} THEN CAST({number} AS BIGINT) END", integral


def _domain(f: Field, contract: Contract) -> str:
    v = f"_v_{f.name}"
    if f.name == contract.ts_field:
        return f"coalesce({v} <= now() + INTERVAL {FUTURE_TOLERANCE_HOURS} HOUR, false)"
    checks = ["true"]
    if f.values:
        checks.append(f"{v} IN {_in(f.values)}")
    if f.min_length is not None:
        checks.append(f"length({v}) >= {f.min_length}")
    if f.max_length is not None:
        checks.append(f"length({v}) <= {f.max_length}")
    if f.minimum is not None:
        checks.append(f"{v} >= {f.minimum}")
    if f.maximum is not None:
        checks.append(f"{v} <= {f.maximum}")
    if f.pattern is not None:
        checks.append(f"regexp_matches({v}, {_lit(f.pattern)})")
    return f"coalesce({' AND '.join(checks)}, false)"


def _quarantines(f: Field, contract: Contract) -> bool:
    return f.on_bad_value == "quarantine" or f.name == contract.ts_field


def validate_sql(contract: Contract, lines: str = "lines") -> str:
    """The SELECT that validates every message of the relation ``lines`` (see the module)."""
    fields = contract.fields
    paths = "[" + ", ".join(_lit(f'$."{f.name}"') for f in fields) + "]"
    stage1 = [f"CASE WHEN strlen(value) > {MAX_MESSAGE_BYTES} THEN '{TOO_LARGE}' "
              f"WHEN NOT (regexp_matches(value, '^\\s*\\{{') AND coalesce(json_valid(value), false)) "
              f"THEN '{MALFORMED_JSON}' END AS _early"]
    stage2, stage3, reasons = [], [], []
    for i, f in enumerate(fields, start=1):
        value, ok = _typed(f, i)
        if f.normalize is not None:
            value = _NORMALIZE[f.normalize].format(value)
        stage2 += [f"{value} AS _v_{f.name}", f"coalesce({ok}, false) AS _ok_{f.name}",
                   f"(_t[{i}] IS NOT NULL AND _t[{i}] <> 'NULL' AND NOT (_t[{i}] = 'VARCHAR' AND trim(_s[{i}]) = '')) "
                   f"AS _p_{f.name}"]
        keep = f"_p_{f.name} AND _ok_{f.name}"
        if not _quarantines(f, contract):
            keep += f" AND {_domain(f, contract)}"
        kept = f"CASE WHEN {keep} THEN _v_{f.name} END"
        if f.default is not None:
            kept = f"CASE WHEN NOT _p_{f.name} THEN {_lit(str(f.default))} ELSE {kept} END"
        stage3.append(f"{kept} AS {f.name}")
        required = "true" if f.required else "false"
        if f.required_if is not None:
            required = f"coalesce({f.required_if[0]} = {_lit(f.required_if[1])}, false)"
        bad_type, bad_value = ((BAD_TIMESTAMP, FUTURE_TIMESTAMP) if f.name == contract.ts_field
                               else (f"bad_type:{f.name}", f"bad_value:{f.name}"))
        reason = (f"CASE WHEN NOT _p_{f.name} AND {required} THEN 'missing_field:{f.name}' "
                  f"WHEN _p_{f.name} AND NOT _ok_{f.name} THEN '{bad_type}' ")
        if _quarantines(f, contract):
            reason += f"WHEN _p_{f.name} AND NOT {_domain(f, contract)} THEN '{bad_value}' "
        reasons.append(reason + "END")
    typed_out = ", ".join(f"CASE WHEN reason IS NULL THEN {f.name} END AS {f.name}" for f in fields)
    return f"""
WITH s1 AS (
    SELECT line, value, {stage1[0]} FROM {lines}
), s2 AS (
    SELECT *, CASE WHEN _early IS NULL THEN value END AS _json,  -- only valid JSON is looked into
              CASE WHEN _early IS NULL THEN json_type(value, {paths}) END AS _t,
              CASE WHEN _early IS NULL THEN json_extract_string(value, {paths}) END AS _s
    FROM s1
), s3 AS (
    SELECT *, {', '.join(stage2)} FROM s2
), s4 AS (
    SELECT *, {', '.join(stage3)} FROM s3
), s5 AS (
    SELECT line, value, coalesce(_early, {', '.join(reasons)}) AS reason,
           {', '.join(f.name for f in fields)}
    FROM s4
)
SELECT line, value, reason, {typed_out} FROM s5
"""


def sql_types(contract: Contract) -> dict[str, str]:
    """Each field's DuckDB type in ``validate_sql``'s output."""
    return {f.name: _SQL_TYPES[f.kind] for f in contract.fields}
