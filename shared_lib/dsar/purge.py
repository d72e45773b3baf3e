"""History after an erasure: what a DELETE leaves behind and how it goes.

A Delta DELETE rewrites the files that held the subject's rows, but (1) the old files stay on disk
for time travel, and (2) the log keeps the subject too: each commit's ``add`` actions carry per-file
min/max statistics of the ``stats_columns`` (a subject id can be a file's min or max), and the
DELETE's own commit names the ids in its predicate. VACUUM deletes the old files but never
touches the log. So ``purge_table`` runs, with delta-rs:

1. VACUUM with a retention of 0 hours: every data file that the current version does not use
   is deleted (delta-rs then commits ``VACUUM START`` and ``VACUUM END``: commit info only);
2. a checkpoint of the current version: the table's whole state (files with their statistics,
   which no longer name the subject, protocol, metadata, streaming transaction ids) in one
   Parquet file, which readers and writers start from. It also keeps the tombstones (``remove``
   actions) of the last week with the statistics Spark wrote into them, the subject's among
   them: their ``stats`` are cleared (the files they name are gone; a tombstone needs only its
   path and time), and the checkpoint is written uncompressed and without Parquet's column
   statistics (either can cut another id to a prefix that spells the subject's);
3. every log file of an earlier version is deleted (JSON commits, older checkpoints, Spark's
   ``.crc`` files): Delta's own log clean-up does the same once ``delta.logRetentionDuration``
   has passed; an erasure cannot wait 30 days.

Time travel to a version before the erasure is then impossible (its commits are gone): that is
the point. Outside the lake, files under ``reports/`` and the workspace (executed notebooks,
HTML, logs, Spark's scratch files and streaming checkpoints; Kafka's own log folder aside: its
messages stay until the topic's retention) are scanned for the ids as tokens: text files
(``.ipynb``, ``.html``, ``.json``, logs) get them replaced by ``[erased]``, other files are deleted.
"""
from __future__ import annotations

import json
import mmap
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from shared_lib import lake, paths, storage
from shared_lib.dsar import match
from shared_lib.products import Table

_LOG_VERSION = re.compile(r"^(\d{20})\.")
# Text files are redacted in place; anything else holding an id is deleted.
TEXT_SUFFIXES = (".ipynb", ".html", ".htm", ".json", ".jsonl", ".md", ".txt", ".log", ".csv", ".out", ".err", "")
REDACT_ROOTS = ("reports", "logs")  # where a file is evidence: kept, the ids replaced


@dataclass
class FilesTouched:
    redacted: list[Path] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)


def purge_table(table: Table) -> int:
    """Vacuum ``table`` to its current version and cut its log there (see the module's text);
    returns the files deleted (data files and log files)."""
    from deltalake import DeltaTable

    if not lake.exists(table):
        return 0
    storage.require_local(f"purging {table.qualified_name} (its log is cut file by file)")
    delta = DeltaTable(str(table.path))
    removed = delta.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    delta = DeltaTable(str(table.path))
    delta.create_checkpoint()
    log_dir, version = table.path / "_delta_log", delta.version()
    scrub_checkpoint(log_dir / f"{version:020d}.checkpoint.parquet")
    return len(removed) + cut_log(log_dir, version)


def scrub_checkpoint(checkpoint: Path) -> None:
    """Rewrite a checkpoint with the ``stats`` of its ``remove`` actions set to null, and without
    Parquet's own column statistics: their min/max of the ``stats`` JSON are cut at 64 bytes, and a
    cut can end just after a prefix of another id that spells the subject's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    actions = pq.read_table(checkpoint)
    if "remove" in actions.column_names:
        remove = actions.column("remove").combine_chunks()
        kind = remove.type
        at = kind.get_field_index("stats")
        if at >= 0 and remove.field(at).null_count < len(remove):
            children = [remove.field(i) for i in range(kind.num_fields)]
            children[at] = pa.nulls(len(remove), kind.field(at).type)
            cleared = pa.StructArray.from_arrays(children, fields=list(kind), mask=remove.is_null())
            actions = actions.set_column(actions.schema.get_field_index("remove"), actions.schema.field("remove"),
                                         cleared)
    tmp = checkpoint.with_name(checkpoint.name + ".tmp")
    # Uncompressed: a compressed page can cut another id after the subject's prefix (as the cut
    # statistics do), and a scan of the file's bytes would rightly take it for the subject.
    pq.write_table(actions, tmp, write_statistics=False, compression="none")
    tmp.replace(checkpoint)
    pointer = checkpoint.parent / "_last_checkpoint"  # says how big the checkpoint is: keep it true
    if pointer.exists():
        last = json.loads(pointer.read_text())
        if last.get("version") == int(checkpoint.name[:20]) and "sizeInBytes" in last:
            last["sizeInBytes"] = checkpoint.stat().st_size
            pointer.write_text(json.dumps(last))


def cut_log(log_dir: Path, version: int) -> int:
    """Delete the log files of versions before ``version`` (whose checkpoint must exist)."""
    if not (log_dir / f"{version:020d}.checkpoint.parquet").exists():
        raise RuntimeError(f"{log_dir}: no checkpoint of version {version}; the log was left whole")
    removed = 0
    for entry in log_dir.iterdir():
        found = _LOG_VERSION.match(entry.name)
        if entry.is_file() and found and int(found.group(1)) < version:
            entry.unlink()
            removed += 1
    return removed


def log_mentions(table: Table, ids: Iterable[str]) -> list[Path]:
    """The files of ``table``'s Delta log that still hold one of ``ids`` (JSON commits as bytes,
    checkpoints by their values): empty after a purge."""
    import pyarrow.parquet as pq

    pattern = re.compile(match.token_pattern(ids).encode())
    hits = []
    for entry in sorted((table.path / "_delta_log").glob("*")):
        if not entry.is_file():
            continue
        data = entry.read_bytes()
        if entry.suffix == ".parquet":
            data = str(pq.read_table(entry).to_pylist()).encode()
        if pattern.search(data):
            hits.append(entry)
    return hits


def outside_lake_roots() -> list[Path]:
    """What an erasure scans outside the lake: reports and the workspace."""
    roots = [paths.reports_dir(), paths.workspace()]
    return [r for i, r in enumerate(roots) if r.exists() and not any(r.is_relative_to(o) for o in roots[:i])]


def skipped_dirs() -> list[Path]:
    """Never scanned: the lake (purged table by table), Kafka's folder with every broker's logs
    (its messages stay until the topic's retention), the key, and the erasure's own progress files."""
    ws = paths.workspace()
    return [paths.lake_dir(), paths.service_dir("kafka"), ws / "secrets", pending_dir()]


def pending_dir() -> Path:
    return paths.workspace() / "dsar" / "pending"


def scrub_files(ids: Iterable[str], roots: Iterable[Path] | None = None,
                skip: Iterable[Path] | None = None) -> FilesTouched:
    """Replace the ids in the text files of ``roots`` that hold them, delete the other files that
    do (see the module's text)."""
    ids = list(ids)
    skip = [p.resolve() for p in (skip if skip is not None else skipped_dirs())]
    touched = FilesTouched()
    for root in roots if roots is not None else outside_lake_roots():
        for file in _files_under(root, skip):
            resolved = file.resolve()
            if not file.is_file() or file.is_symlink() or any(resolved.is_relative_to(s) for s in skip):
                continue
            if not _holds(file, ids):
                continue
            data = file.read_bytes()
            if _is_evidence(resolved) and file.suffix in TEXT_SUFFIXES and _is_text(data):
                file.write_bytes(match.redact(data, ids)[0])
                touched.redacted.append(file)
            else:
                file.unlink()
                touched.deleted.append(file)
    return touched


def _files_under(root: Path, skip: list[Path]) -> list[Path]:
    """The files under ``root``, sorted, as ``rglob("*")`` finds them (symlinked folders not
    followed), without walking into the ``skip`` folders (the lake and Kafka's log are large)."""
    found = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = [d for d in subfolders if not any((here / d).resolve().is_relative_to(s) for s in skip)]
        found += [here / f for f in files]
    return sorted(found)


def _holds(file: Path, ids: list[str]) -> bool:
    """Whether the file holds one of ``ids`` as a token, searched through a memory map (Spark's
    scratch files can be large: they are not read into memory)."""
    try:
        with open(file, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return False
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return match.holds_token(mapped, ids)
    except (OSError, ValueError):  # vanished or changed meanwhile (a service's scratch file)
        return False


def _is_evidence(path: Path) -> bool:
    roots = [paths.reports_dir().resolve(), *(paths.workspace().resolve() / r for r in REDACT_ROOTS)]
    return any(path.is_relative_to(r) for r in roots)


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\0" not in data
