"""What every product's floor does alike: a DuckDB connection in UTC, the raw messages of a
JSON-lines file as ``lines(line, value)``, the contract as SQL, tables written as Parquet, and
the gold tables read back as row dicts for the cross-check."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from runners.bench.floors import contract as contract_sql
from shared_lib.contract import Contract

# Shared SQL macros: the pipeline's ``exact_sum`` (a sum through decimal(38,6), so the order of
# the additions does not matter) and its "first by time" (arg_min_null: a null value counts, as
# Spark's min_by; plain arg_min would skip it).
_MACROS = """
CREATE OR REPLACE MACRO exact_sum(x) AS CAST(sum(CAST(x AS DECIMAL(38, 6))) AS DOUBLE);
CREATE OR REPLACE MACRO micros(ts) AS epoch_us(ts);
"""


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # dates are UTC calendar days, as in the pipeline
    con.execute(_MACROS)
    return con


def load_lines(con: duckdb.DuckDBPyConnection, path: Path, table: str = "lines") -> None:
    """Every line of ``path`` as one raw message, ``line`` numbering them from 1 (bronze's
    order of arrival: a duplicate keeps its first copy)."""
    con.execute(f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT row_number() OVER () AS line, column0 AS value
        FROM read_csv($path, columns = {{'column0': 'VARCHAR'}}, header = false, delim = chr(1), quote = '',
                      escape = '', max_line_size = 67108864, strict_mode = false, parallel = false)""",
                {"path": str(path)})


def validate(con: duckdb.DuckDBPyConnection, event_contract: Contract, table: str = "validated",
             lines: str = "lines") -> None:
    """``table``: every message of ``lines`` with its reason and typed fields (``floors.contract``)."""
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {contract_sql.validate_sql(event_contract, lines)}")


def quarantine_sql(contract: Contract, max_chars: int, validated: str = "validated", value: str = "value") -> str:
    """The quarantine rows of ``validated``, as silver's: reason, event id, value cut (``value``:
    SQL of what is kept of it), bytes."""
    return f"""
        SELECT line, reason,
               CASE WHEN reason <> 'too_large' AND json_valid(value)
                    THEN json_extract_string(value, '$.{contract.id_field}') END AS event_id,
               left({value}, {int(max_chars)}) AS value, strlen(value) AS value_bytes
        FROM {validated} WHERE reason IS NOT NULL"""


def ingest(con: duckdb.DuckDBPyConnection, path: Path, event_contract: Contract, max_chars: int,
           value: str = "value") -> None:
    """Every floor's beginning: the tables ``lines`` (the messages of ``path``), ``validated`` and
    ``quarantine`` (``value``: SQL of what a quarantined message keeps, see ``quarantine_sql``)."""
    load_lines(con, path)
    validate(con, event_contract)
    con.execute(f"CREATE TABLE quarantine AS {quarantine_sql(event_contract, max_chars, value=value)}")


def write(con: duckdb.DuckDBPyConnection, out: Path, tables: list[str]) -> None:
    """Each of ``tables`` as ``out/<table>.parquet``."""
    out.mkdir(parents=True, exist_ok=True)
    for table in tables:
        con.execute(f"COPY {table} TO '{out / (table + '.parquet')}' (FORMAT parquet)")


def finish(con: duckdb.DuckDBPyConnection, out: Path, gold: dict[str, str], made: list[str],
           checked: Iterable[str] | None = None) -> dict[str, list[dict]]:
    """Every floor's ending: each ``gold`` table created from its SQL, in order (a later one may
    read an earlier one); the ``made`` tables (silver, tables made apart) and the gold ones
    written as ``out/<table>.parquet``; the rows of the ``checked`` tables (by default the gold
    ones) returned for the cross-check."""
    for name, sql in gold.items():
        con.execute(f"CREATE TABLE {name} AS {sql}")
    write(con, out, [*made, *gold])
    return {name: rows(con, name) for name in (gold if checked is None else checked)}


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[dict]:
    cursor = con.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def in_list(values) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"
