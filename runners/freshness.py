"""Is a notebook up to date? Its fingerprint and inputs now, against those of its last success.

A notebook is up to date, and ``dp run`` skips it (status ``up_to_date``), when all of these equal
what its last successful run recorded:

- its source: the notebook's cells (type and source; outputs, counts and metadata stripped);
- its parameters: what the runner injects except the run id, its product's shared parameters and
  its own section (``<product>.<notebook>.*``); another notebook's section, or ``generate`` (read
  by ``dp generate`` only), does not count;
- its code: a hash of its product package and of ``shared_lib``;
- its inputs: the current version of every table it read (a table it also wrote counts at the
  version it wrote), the tables it found absent still absent, and for a bronze notebook the end
  offsets of its topics.

Two inputs are the platform's own bookkeeping and do not count, or no run would ever be quiet:
``platform.*`` tables (the runner appends run records on every run, even one that skips all) and
the messages that ``dp run`` itself wrote to ``compliance.audit`` (its reads of personal data):
they are listed in ``<workspace>/lineage/own_messages.json`` and subtracted from a topic's new
messages. They are ingested by the next run that runs compliance bronze for another reason (or with
``--force``).
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from shared_lib import paths
from shared_lib import products as products_lib
from shared_lib.products import Notebook

OWN_MESSAGES = "own_messages.json"
NOT_PARAMETERS = ("generate",)  # sections that no notebook reads


def _digest(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()[:16]


def source_hash(path: Path) -> str:
    """The notebook's cells without outputs: re-executing or re-saving it changes nothing."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return _digest(json.dumps([[c.cell_type, c.source] for c in nb.cells]))


@functools.lru_cache(maxsize=None)
def _tree_hash(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def code_hash(product: str) -> str:
    """Its product package and ``shared_lib`` (the code its notebook runs), hashed once per process."""
    folders = [paths.product_dir(product), paths.PROJECT_ROOT / "shared_lib"]
    return _digest("".join(_tree_hash(f) if f.exists() else "-" for f in folders))


def notebook_parameters(nb: Notebook, params: dict, siblings: Iterable[str], injected: Mapping) -> dict:
    """The parameters that can change what ``nb`` computes (see the module's docstring)."""
    own = params.get(nb.product) or {}
    others = set(siblings) - {nb.name}
    product = {k: v for k, v in own.items() if k not in others and k not in NOT_PARAMETERS}
    return {"injected": {k: v for k, v in injected.items() if k not in ("run_id", "overrides")},
            "product": product}


def fingerprint(nb: Notebook, params: dict, siblings: Iterable[str], injected: Mapping) -> dict:
    return {"source": source_hash(nb.path),
            "parameters": _digest(json.dumps(notebook_parameters(nb, params, siblings, injected),
                                             sort_keys=True, default=str)),
            "code": code_hash(nb.product)}


def topics_read(nb: Notebook, params: dict) -> list[str]:
    """The Kafka topics a notebook consumes: its product's topics, for a bronze notebook."""
    from shared_lib import kafka as kafka_lib

    if nb.layer != "bronze" or not (params.get(nb.product) or {}).get("topic"):
        return []
    return list(kafka_lib.topics_of(params, nb.product).values())


def topic_offsets(nb: Notebook, params: dict) -> dict[str, dict[str, int]]:
    """{topic: {partition: end offset}} of the topics ``nb`` consumes, now."""
    from shared_lib import kafka as kafka_lib

    return {t: {str(p): o for p, o in kafka_lib.end_offsets(params, t).items()} for t in topics_read(nb, params)}


# -- dp's own messages ---------------------------------------------------------------------------

def _own_path() -> Path:
    return paths.workspace() / "lineage" / OWN_MESSAGES


def own_messages() -> dict[str, dict[str, list[int]]]:
    """{topic: {partition: [offsets]}} of messages that ``dp run`` wrote itself."""
    path = _own_path()
    return json.loads(path.read_text()) if path.exists() else {}


def remember_own(sent: Iterable[tuple[str, int, int]], keep: int = 100_000) -> None:
    """Add (topic, partition, offset) of messages dp wrote; keeps the newest ``keep`` per partition."""
    known = own_messages()
    for topic, partition, offset in sent:
        known.setdefault(topic, {}).setdefault(str(partition), []).append(int(offset))
    for parts in known.values():
        for p, offsets in parts.items():
            parts[p] = sorted(set(offsets))[-keep:]
    path = _own_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known))


def foreign_new(topic: str, before: Mapping[str, int], now: Mapping[str, int],
                own: Mapping[str, Mapping[str, list[int]]]) -> int:
    """Messages in ``topic`` between offsets ``before`` and ``now`` that dp did not write itself."""
    total = 0
    mine = own.get(topic, {})
    for p, end in now.items():
        start = int(before.get(p, 0))
        written = sum(1 for o in mine.get(p, ()) if start <= o < end)
        total += max(0, int(end) - start - written)
    return total


# -- the decision --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    up_to_date: bool
    reason: str  # why it runs, or "up to date"


def _current_versions(names: Iterable[str]) -> dict[str, int | None]:
    from shared_lib import lake

    declared = {t.qualified_name: t for p in products_lib.all_products().values() for t in p.tables}
    return {n: lake.version(declared[n]) if n in declared else None for n in names}


def decide(last: Mapping | None, now_fingerprint: dict, now_offsets: dict[str, dict[str, int]],
           versions=_current_versions, own: Mapping | None = None) -> Decision:
    """Compare a notebook's last success (its run record, or None) with now. ``versions`` maps
    table names to their current versions (injectable for tests)."""
    if last is None:
        return Decision(False, "no earlier success")
    before = json.loads(last.get("fingerprint") or "{}")
    for key, what in (("source", "its notebook changed"), ("parameters", "its parameters changed"),
                      ("code", "its code changed")):
        if before.get(key) != now_fingerprint.get(key):
            return Decision(False, what)
    read = json.loads(last.get("tables_read") or "{}")
    written = json.loads(last.get("tables_written") or "{}")
    expected = {n: max(v, written.get(n, -1)) for n, v in read.items() if not n.startswith(f"{paths.PLATFORM}.")}
    absent = [n for n in before.get("absent", []) if not n.startswith(f"{paths.PLATFORM}.")]
    lost = [n for n in written if not n.startswith(f"{paths.PLATFORM}.") and n not in expected]
    current = versions(list(expected) + absent + lost)
    for name in lost:  # deleted or re-created since (a disaster recovery): it must be written again
        if current.get(name) is None or current[name] < written[name]:
            return Decision(False, f"{name} is gone or older than written (version {written[name]} -> {current.get(name)})")
    for name, version in expected.items():
        if current.get(name) != version:
            return Decision(False, f"{name} changed (version {version} -> {current.get(name)})")
    for name in absent:
        if current.get(name) is not None:
            return Decision(False, f"{name} exists now")
    offsets_before = json.loads(last.get("topic_offsets") or "{}")
    own = own_messages() if own is None else own
    for topic, now in now_offsets.items():
        if topic not in offsets_before:
            return Decision(False, f"topic {topic} was not read before")
        new = foreign_new(topic, offsets_before[topic], now, own)
        if new:
            return Decision(False, f"topic {topic} has {new} new message(s)")
    return Decision(True, "up to date")


def last_successes(runs, env: str) -> dict[str, dict]:
    """{node id: its newest succeeded or up_to_date record in ``env``} from ``runlog.read()``."""
    if runs.empty or "fingerprint" not in runs.columns:
        return {}
    done = runs[(runs["status"].isin(["succeeded", "up_to_date"])) & (runs["env"] == env)]
    done = done.sort_values("ended_at", ascending=False)
    done = done.astype(object).where(done.notna(), None)  # records from before a column existed: None
    out: dict[str, dict] = {}
    for rec in done.to_dict("records"):
        out.setdefault(f"{rec['product']}:{rec['notebook']}", rec)
    return out
