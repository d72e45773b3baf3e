"""Table maintenance: compaction (Delta's OPTIMIZE, bin-packing small files into files of
``target_file_mb``) and VACUUM (removing data files no version still references, after
``vacuum_retain_hours``), with file counts and sizes before and after.

Two uses, one rule:
- after every write of the table writer (``shared_lib.tables.Writer``), ``compact_if_needed``
  compacts each partition (or the unpartitioned table) that holds ``compact_min_files`` small
  files (< ``small_file_mb``). An incremental run adds a few files per partition it touches, so a
  partition holds at most ``compact_min_files - 1`` small files after any write, however many runs
  have appended to it;
- the compliance product's scheduled ``maintenance`` step (``maintain``) compacts every declared
  table by the same rule and vacuums it, and its run record keeps each table's files and bytes
  before and after.

Everything runs with delta-rs (no Spark): a compaction of small files takes milliseconds, and
Spark reads delta-rs's commits like its own. Parameters: ``platform.maintenance``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Callable

from shared_lib import lake
from shared_lib.products import Table

logger = logging.getLogger(__name__)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    compact_min_files: int = 16
    small_file_mb: int = 32
    target_file_mb: int = 128
    vacuum_retain_hours: float = 168

    @classmethod
    def from_params(cls, params: dict) -> Settings:
        own = params["platform"]["maintenance"]
        return cls(**{k: own[k] for k in ("compact_min_files", "small_file_mb", "target_file_mb",
                                          "vacuum_retain_hours")})


DEFAULT = Settings()


@dataclass(frozen=True)
class Files:
    """A table version's data files."""
    files: int
    bytes: int
    small_files: int


def _actions(table: Table):
    import pyarrow as pa

    return pa.table(lake.delta_table(table).get_add_actions(flatten=True))


def files(table: Table, settings: Settings = DEFAULT) -> Files:
    """The data files of the table's current version (zeros before its first commit)."""
    if not lake.exists(table):
        return Files(0, 0, 0)
    sizes = _actions(table).column("size_bytes").to_pylist()
    return Files(len(sizes), sum(sizes), sum(1 for s in sizes if s < settings.small_file_mb * MIB))


def crowded_partitions(table: Table, settings: Settings) -> list[dict]:
    """The partitions (``{column: value}``; ``{}`` for an unpartitioned table) holding at least
    ``compact_min_files`` small files."""
    if not lake.exists(table):
        return []
    actions = _actions(table)
    keys = list(table.partitioned_by)
    columns = [actions.column(f"partition.{k}").to_pylist() for k in keys]
    counts: dict[tuple, int] = {}
    for i, size in enumerate(actions.column("size_bytes").to_pylist()):
        if size < settings.small_file_mb * MIB:
            part = tuple(col[i] for col in columns)
            counts[part] = counts.get(part, 0) + 1
    crowded = sorted((p for p, n in counts.items() if n >= settings.compact_min_files), key=str)
    # A null partition value cannot be named in a partition filter; such partitions are rare
    # (partition columns are NOT NULL) and left for a whole-table compaction.
    return [dict(zip(keys, p)) for p in crowded if all(v is not None for v in p)]


def compact(table: Table, settings: Settings, partition: dict | None = None) -> dict:
    """Bin-pack the small files of ``partition`` (all of the table when None or ``{}``)."""
    filters = [(k, "=", v.isoformat() if hasattr(v, "isoformat") else str(v)) for k, v in (partition or {}).items()]
    return lake.delta_table(table).optimize.compact(partition_filters=filters or None,
                                                    target_size=settings.target_file_mb * MIB)


def compact_if_needed(table: Table, settings: Settings = DEFAULT) -> int:
    """Compact each crowded partition of ``table`` (see the module); returns the files removed."""
    removed = 0
    for partition in crowded_partitions(table, settings):
        removed += int(compact(table, settings, partition).get("numFilesRemoved", 0))
    return removed


def vacuum(table: Table, retain_hours: float) -> int:
    """Delete the data files that no version of the last ``retain_hours`` references; returns
    how many (``retain_hours`` 0: every file the current version does not reference)."""
    removed = lake.delta_table(table).vacuum(retention_hours=int(retain_hours), dry_run=False,
                                             enforce_retention_duration=False)
    return len(removed)


@dataclass
class Maintained:
    """One table's maintenance, for the run record."""
    table: str
    files_before: int
    bytes_before: int
    files_after: int
    bytes_after: int
    files_compacted: int  # small files rewritten into bigger ones
    files_vacuumed: int  # files deleted from disk
    seconds: float
    error: str | None = None


def maintain_table(table: Table, settings: Settings) -> Maintained | None:
    """Compact and vacuum one table; None when it does not exist yet."""
    if not lake.exists(table):
        return None
    started = time.monotonic()
    before = files(table, settings)
    compacted = vacuumed = 0
    error = None
    try:
        compacted = compact_if_needed(table, settings)
        vacuumed = vacuum(table, settings.vacuum_retain_hours)
    except Exception as exc:  # one table's failure must not stop the others' maintenance
        logger.exception("maintenance of %s failed", table.qualified_name)
        error = f"{type(exc).__name__}: {exc}"
    after = files(table, settings)
    return Maintained(table.qualified_name, before.files, before.bytes, after.files, after.bytes, compacted,
                      vacuumed, round(time.monotonic() - started, 3), error)


def maintain(tables: list[Table], settings: Settings, progress: Callable[[str], None] | None = None) -> list[dict]:
    """Compact and vacuum every table that exists; one record per table (``Maintained``)."""
    out = []
    for table in tables:
        done = maintain_table(table, settings)
        if done is None:
            continue
        out.append(asdict(done))
        if progress and (done.files_compacted or done.files_vacuumed or done.error):
            progress(f"{done.table}: {done.files_before} -> {done.files_after} files "
                     f"({done.bytes_before / MIB:.1f} -> {done.bytes_after / MIB:.1f} MiB), "
                     f"{done.files_compacted} compacted, {done.files_vacuumed} vacuumed"
                     + (f", FAILED: {done.error}" if done.error else ""))
    return out


def totals(records: list[dict]) -> dict:
    keys = ("files_before", "bytes_before", "files_after", "bytes_after", "files_compacted", "files_vacuumed")
    return {"tables_maintained": len(records), **{k: sum(r[k] for r in records) for k in keys},
            "tables_failed": sorted(r["table"] for r in records if r["error"])}
