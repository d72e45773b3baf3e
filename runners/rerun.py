"""``dp rerun RUN_ID [--notebook N]``: re-execute a run's gold and report notebooks on exactly the
table versions that run saw, writing to a scratch workspace, never to live tables.

Each notebook runs in a kernel whose workspace (``DP_HOME``) is a scratch copy under
``<workspace>/scratch/<rerun id>``: every table the original run read or wrote is there as of the
version it had then (the version recorded as read; for a table only written, the last version
committed before the run started): a Delta table of its own whose log holds the commits up to that
version and whose data files are symbolic links to the live ones. Delta time travel without any
change to the notebooks: they read "the current version" and it is the past one; their writes
land in the scratch tables (new files in real scratch folders, new commits in the scratch log).
Everything else of the workspace (the hashing key, ...) is linked as it is.

The result is checked: the values the notebook recorded (``ctx.finish``) and the content of each
table it wrote must equal the original's (the live table at the version the original wrote).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from runners import execute, runlog
from shared_lib import lake, paths, recorder, storage
from shared_lib import params as params_lib
from shared_lib import products as products_lib
from shared_lib.errors import UserError

RERUN_LAYERS = ("gold",)  # gold and report notebooks (reports are gold-layer notebooks here)
SCRATCH = "scratch"


class RerunError(UserError, RuntimeError):
    """Nothing in that run can be re-executed as of its versions."""


@dataclass
class Rerun:
    notebook: str  # product:notebook
    status: str  # succeeded | failed
    output: Path
    pinned: dict[str, int]  # table -> version it was read at
    differences: list[str] = field(default_factory=list)  # empty: same results as the original
    error: str | None = None

    @property
    def same(self) -> bool:
        return self.status == "succeeded" and not self.differences


def pinned_versions(record: dict, declared: dict[str, products_lib.Table]) -> dict[str, int]:
    """{table: the version it had for this run}: as read, else the last commit before the run
    started; a table that the run created is absent (left out)."""
    read = json.loads(record.get("tables_read") or "{}")
    written = json.loads(record.get("tables_written") or "{}")
    out = {n: int(v) for n, v in read.items()}
    started = _epoch_ms(record["started_at"])
    for name in written:
        if name in out or name not in declared:
            continue
        before = [c["version"] for c in lake.delta_table(declared[name]).history()
                  if c.get("timestamp") is not None and c["timestamp"] < started]
        if before:
            out[name] = max(before)
    return out


def _epoch_ms(value) -> int:
    if isinstance(value, (int, float)):
        return int(value * 1000)
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return int(value.value // 1_000_000)  # pandas Timestamp (ns)


def materialize(table_dir: Path, version: int, target: Path) -> None:
    """``target``: the Delta table of ``table_dir`` as of ``version``. Its log holds the commits
    0..version (and checkpoints up to it); its data files are symbolic links to the live ones, in
    real folders, so that writes to it stay in the scratch workspace."""
    log, out_log = table_dir / "_delta_log", target / "_delta_log"
    out_log.mkdir(parents=True)
    for entry in log.iterdir():
        stem = entry.name.split(".")[0]
        if stem.isdigit() and int(stem) <= version and entry.is_file():
            shutil.copy2(entry, out_log / entry.name)  # commits and checkpoints up to the version
    for src in table_dir.rglob("*"):
        rel = src.relative_to(table_dir)
        if rel.parts[0] == "_delta_log":
            continue
        if src.is_dir():
            (target / rel).mkdir(parents=True, exist_ok=True)
        else:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).symlink_to(src)


def scratch_workspace(scratch: Path, pinned: dict[str, int], declared: dict[str, products_lib.Table]) -> Path:
    """A workspace at ``scratch`` whose lake holds the ``pinned`` tables as of their versions."""
    live = paths.workspace()
    scratch.mkdir(parents=True)
    for entry in live.iterdir():
        if entry.name not in ("lake", SCRATCH):
            (scratch / entry.name).symlink_to(entry)
    lake_rel = paths.lake_dir().relative_to(live)
    for name, version in pinned.items():
        table = declared[name]
        materialize(table.path, version, scratch / lake_rel / table.relative)
    return scratch


@contextlib.contextmanager
def _workspace(home: Path) -> Iterator[None]:
    """Kernels started inside see ``home`` as their workspace (they inherit the environment)."""
    old = os.environ.get("DP_HOME")
    os.environ["DP_HOME"] = str(home)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("DP_HOME", None)
        else:
            os.environ["DP_HOME"] = old


def compare(record: dict, output: Path, scratch: Path, declared: dict[str, products_lib.Table]) -> list[str]:
    """What differs between the rerun and the original: recorded values, then written tables."""
    from deltalake import DeltaTable

    differences = []
    original_nb = Path(record.get("output_notebook") or "")
    if original_nb.is_file():
        before = {k: v for k, v in recorder.read_records(original_nb).items() if k != "dp.lineage"}
        after = {k: v for k, v in recorder.read_records(output).items() if k != "dp.lineage"}
        differences += [f"recorded {k}: {before.get(k)!r} then, {after.get(k)!r} now"
                        for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    for name, version in json.loads(record.get("tables_written") or "{}").items():
        table = declared[name]
        cols = [c.name for c in table.columns if c.name != "run_id" and not c.type.startswith("timestamp")]
        then = _rows(DeltaTable(str(table.path), version=int(version)).to_pandas(), cols)
        now = _rows(DeltaTable(str(scratch / paths.lake_dir().relative_to(paths.workspace())
                                   / table.relative)).to_pandas(), cols)
        if then != now:
            differences.append(f"table {name}: {len(then)} rows then, {len(now)} now, "
                               f"{len(set(then) ^ set(now))} row(s) differ")
    return differences


def _rows(df, cols: list[str]) -> list[str]:
    """The rows as sorted JSON texts (arrays, dates and NaN compare as values; order does not
    count; doubles to 9 decimals, as Spark may sum in another order): ``run_id`` and timestamp
    columns, which say when, not what, are left out."""
    def value(v):
        if hasattr(v, "tolist"):
            v = v.tolist()
        if isinstance(v, float):
            return None if v != v else round(v, 9)
        return v
    return sorted(json.dumps([value(r[c]) for c in cols], default=str) for r in df.to_dict("records"))


def rerun(run_id: str, notebook: str | None = None, log: Callable[[str], None] = print) -> list[Rerun]:
    """Re-execute the gold notebooks of run ``run_id`` (or ``notebook``: NAME or PRODUCT:NAME)
    that ran or were up to date, as of the table versions of that run."""
    # The pinned versions are copied into a scratch workspace's lake folder.
    storage.require_local("dp rerun (it copies table versions into a local scratch lake)")
    records = [r for r in runlog.of_run(run_id) if r["status"] in ("succeeded", "up_to_date")]
    if notebook:
        chosen = [r for r in records if notebook in (r["notebook"], f"{r['product']}:{r['notebook']}")]
    else:
        chosen = [r for r in records if r["layer"] in RERUN_LAYERS]
    if not chosen:
        what = f"notebook {notebook!r}" if notebook else "gold notebook"
        raise RerunError(f"run {run_id} has no {what} that succeeded or was up to date (see `dp runs`)")
    declared = {t.qualified_name: t for p in products_lib.all_products().values() for t in p.tables}
    rerun_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-of-{run_id}"
    results = []
    for record in chosen:
        results.append(_rerun_one(record, rerun_id, declared, log))
    return results


def _rerun_one(record: dict, rerun_id: str, declared: dict, log: Callable[[str], None]) -> Rerun:
    node = f"{record['product']}:{record['notebook']}"
    nb = products_lib.get(record["product"]).notebook(record["notebook"])
    pinned = pinned_versions(record, declared)
    scratch = scratch_workspace(paths.workspace() / SCRATCH / rerun_id / node.replace(":", "."), pinned, declared)
    log(f"{node}: as of run {record['run_id']} ({', '.join(f'{n} v{v}' for n, v in sorted(pinned.items()))}) "
        f"in {scratch}")
    injected = {**json.loads(record.get("parameters") or "{}"), "run_id": f"{record['run_id']}-rerun"}
    params = params_lib.load(record["env"], injected.get("overrides") or {})
    output = paths.reports_dir() / "reruns" / rerun_id / record["product"] / nb.path.name
    with _workspace(scratch):
        outcome = execute.execute(nb.path, output, injected, kernel=params["platform"]["runner"]["kernel"],
                                  timeout_s=params["platform"]["runner"]["timeout_s"], html=False, log=log)
    result = Rerun(node, outcome.status, output, pinned, error=outcome.error)
    if outcome.status == "succeeded":
        result.differences = compare(record, output, scratch, declared)
    verdict = ("same results as the original" if result.same else
               f"FAILED: {outcome.error}" if outcome.status != "succeeded" else
               "DIFFERENT: " + "; ".join(result.differences))
    log(f"{node}: {verdict} (executed notebook {output})")
    return result
