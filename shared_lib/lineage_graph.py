"""The lineage graph behind ``dp lineage`` and the platform console: Kafka topics -> notebooks ->
tables -> dashboards, and its layered layout (pure functions over the events).

Notebooks and their edges come from the OpenLineage events that ``dp run`` wrote to the workspace
(``runners.lineage`` writes them to ``<workspace>/lineage/events.jsonl``): for each job, the
inputs and outputs of its newest COMPLETE event, so the graph is what actually ran, not what
was meant to. Dashboards emit no events and declare no reads; their edges are derived from the
code: a dashboard reads a table when its module ``products/<package>/dashboard.py``, or a module
of the same package that it imports, names one of the product's (or the platform's) declared
tables as a string argument of a ``lake`` reader (``read_table``, ``read_latest``) or in a
module-level ``*TABLES*`` tuple (all dashboards read so). Shared_lib reads product code as text
(``ast``), never imports it.
"""
from __future__ import annotations

import ast
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from shared_lib import paths
from shared_lib import products as products_lib
from shared_lib.errors import UnknownName

KINDS = ("topic", "job", "table", "dashboard")
READERS = ("read_table", "read_latest")  # shared_lib.lake's readers by product and table name
EVENTS_FILE = "events.jsonl"


def events_path() -> Path:
    return paths.workspace() / "lineage" / EVENTS_FILE


def read_events(path: Path | None = None) -> list[dict]:
    """Every event of the workspace's lineage file, oldest first ([] before the first run)."""
    path = path or events_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Graph:
    nodes: dict[str, str] = field(default_factory=dict)  # id -> kind
    edges: set[tuple[str, str]] = field(default_factory=set)  # (from, to)
    versions: dict[str, str] = field(default_factory=dict)  # dataset id -> version last seen

    def add(self, node: str, kind: str) -> None:
        self.nodes.setdefault(node, kind)

    def link(self, a: str, b: str) -> None:
        self.edges.add((a, b))

    def around(self, node: str, direction: str = "both") -> Graph:
        """The part of the graph upstream and/or downstream of ``node`` (``both``: the two)."""
        keep = {node}
        for way in (("upstream", "downstream") if direction == "both" else (direction,)):
            keep |= self._reach(node, way == "upstream")
        return self._only(keep)

    def recorded(self) -> Graph:
        """Only what a recorded notebook run is linked to: each one's upstream and downstream (a
        table that dashboards read but no run has touched yet is left out)."""
        keep: set[str] = set()
        for node in (n for n, k in self.nodes.items() if k == "job"):
            keep |= {node} | self._reach(node, True) | self._reach(node, False)
        return self._only(keep)

    def _only(self, keep: set[str]) -> Graph:
        return Graph({n: k for n, k in self.nodes.items() if n in keep},
                     {(a, b) for a, b in self.edges if a in keep and b in keep},
                     {n: v for n, v in self.versions.items() if n in keep})

    def _reach(self, start: str, backwards: bool) -> set[str]:
        seen, todo = set(), deque([start])
        while todo:
            n = todo.popleft()
            for a, b in self.edges:
                nxt = a if backwards and b == n else b if not backwards and a == n else None
                if nxt and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def as_json(self) -> dict:
        return {"nodes": [{"id": n, "kind": k, **({"version": self.versions[n]} if n in self.versions else {})}
                          for n, k in sorted(self.nodes.items())],
                "edges": [{"from": a, "to": b} for a, b in sorted(self.edges)]}

    def as_text(self) -> str:
        """One line per edge, in layers from the sources: ``kind name -> kind name``."""
        if not self.edges:
            return "\n".join(f"{k} {n} (no lineage recorded: run it with dp run)" for n, k in self.nodes.items())
        depth = self._depths()
        lines = []
        for a, b in sorted(self.edges, key=lambda e: (depth.get(e[0], 0), e)):
            va = f" @{self.versions[a]}" if a in self.versions else ""
            lines.append(f"{'  ' * depth.get(a, 0)}{self.nodes[a]} {a}{va} -> {self.nodes[b]} {b}")
        return "\n".join(lines)

    def _depths(self) -> dict[str, int]:
        depth: dict[str, int] = {}
        for _ in range(len(self.nodes)):
            for a, b in self.edges:
                depth[b] = max(depth.get(b, 0), depth.get(a, 0) + 1)
        return depth


def _dataset_id(ds: dict) -> tuple[str, str]:
    kind = "topic" if ds["namespace"].startswith("kafka://") else "table"
    return ds["name"], kind


def build(events: list[dict] | None = None, dashboards: dict[str, list[str]] | None = None) -> Graph:
    """The graph of ``events`` (default: the workspace's) and of ``dashboards`` ({product: tables it
    reads}; default: derived from the dashboards' code, ``dashboard_reads``)."""
    graph = Graph()
    newest: dict[str, dict] = {}
    for ev in read_events() if events is None else events:
        if ev.get("eventType") == "COMPLETE":
            newest[ev["job"]["name"]] = ev  # the file is in time order: the last one wins
    for job, ev in newest.items():
        graph.add(job, "job")
        for ds in ev.get("inputs", []):
            name, kind = _dataset_id(ds)
            graph.add(name, kind)
            graph.link(name, job)
            graph.versions[name] = ds.get("facets", {}).get("version", {}).get("datasetVersion", "")
        for ds in ev.get("outputs", []):
            name, kind = _dataset_id(ds)
            graph.add(name, kind)
            graph.link(job, name)
            graph.versions[name] = ds.get("facets", {}).get("version", {}).get("datasetVersion", "")
    for product, tables in (dashboard_reads() if dashboards is None else dashboards).items():
        board = f"dashboard:{product}"
        graph.add(board, "dashboard")
        for table in tables:
            graph.add(table, "table")
            graph.link(table, board)
    return graph


def dashboard_reads() -> dict[str, list[str]]:
    """{product: qualified names of the tables its dashboard reads}, derived from its code."""
    found = {}
    platform = products_lib.all_products().get(paths.PLATFORM)
    for name, product in products_lib.all_products().items():
        package = paths.product_dir(name)
        module = package / "dashboard.py"
        if not module.exists():
            continue
        names = _string_literals(module, package)
        tables = [t for t in product.tables if t.name in names]
        tables += [t for t in (platform.tables if platform else ()) if t.name in names]
        found[name] = sorted(t.qualified_name for t in tables)
    return found


def _string_literals(module, package, seen: set | None = None) -> set[str]:
    """String constants of ``module`` and of the modules of ``package`` that it imports."""
    seen = seen if seen is not None else set()
    if module in seen or not module.exists():
        return set()
    seen.add(module)
    literals, imported = _module_literals(module, f"products.{package.name}")
    out = set(literals)  # the cached set stays as parsed
    for target in imported:
        out = out | _string_literals(package / f"{target.replace('.', '/')}.py", package, seen)
    return out


_parsed: dict[str, tuple[tuple[int, int], tuple[set[str], list[str]]]] = {}  # path -> (mtime, size), result


def _module_literals(module, prefix: str) -> tuple[set[str], list[str]]:
    """The table-name literals of one module and the modules under ``prefix`` it imports, parsed
    again only when the file changed (parsing the dashboards took a second of the console's page)."""
    st = module.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    key = f"{module}|{prefix}"
    known = _parsed.get(key)
    if known is not None and known[0] == stamp:
        return known[1]
    tree = ast.parse(module.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in READERS:
            out |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    for node in tree.body:  # GOLD_TABLES = ("daily_kpis", ...)
        if (isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List))
                and any(isinstance(t, ast.Name) and "TABLES" in t.id for t in node.targets)):
            out |= {e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix):
            rest = node.module[len(prefix):].lstrip(".")
            imported += [rest] if rest else [a.name for a in node.names]
    _parsed[key] = (stamp, (out, imported))
    return out, imported


def resolve(graph: Graph, name: str) -> str:
    """A node of ``graph`` by id, or a table by its plain name when only one table has it."""
    if name in graph.nodes:
        return name
    matches = [n for n, k in graph.nodes.items() if k == "table" and n.rsplit(".", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    hint = f"; it could be {', '.join(sorted(matches))}" if matches else (
        "; run the notebooks first (dp run): the graph is built from their lineage events" if not graph.edges
        else "")
    raise UnknownName(f"no table, topic, notebook or dashboard {name!r} in the lineage graph{hint}")


# --- the drawing's layout (pure) ----------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """A node where the drawing puts it: ``layer`` left to right, ``row`` top to bottom in it."""
    node: str
    kind: str
    layer: int
    row: int
    label: str


def has_runs(graph: Graph) -> bool:
    """Whether any notebook's COMPLETE event is in the graph (dashboards alone are not lineage)."""
    return "job" in graph.nodes.values()


MEDALLION_COLUMNS = {"bronze": 2, "silver": 4, "gold": 6}  # the least column of a table of that layer


def _least_column(node: str, kind: str) -> int:
    parts = node.split(".")  # product.layer.table
    return MEDALLION_COLUMNS.get(parts[1], 0) if kind == "table" and len(parts) == 3 else 0


def layers(graph: Graph) -> dict[str, int]:
    """Each node's column: the longest path to it from a source (topics and unwritten tables: 0),
    so that every edge points right, and a bronze, silver or gold table at least in its medallion's
    column (a product without silver has its gold beside the others'); a notebook just left of its
    first output; dashboards all in the last column. A notebook that reads and writes one table
    (a MERGE) has the table after it: that read does not push it right."""
    forward = {(a, b) for a, b in graph.edges if (b, a) not in graph.edges or graph.nodes.get(b) != "job"}
    depth = {n: _least_column(n, k) for n, k in graph.nodes.items()}
    for _ in range(len(graph.nodes)):  # bounded: a longer cycle ends here instead of looping
        changed = False
        for a, b in forward:
            if depth[b] < depth[a] + 1:
                depth[b], changed = depth[a] + 1, True
        if not changed:
            break
    for job in (n for n, k in graph.nodes.items() if k == "job"):
        outputs = [depth[b] for a, b in forward if a == job]
        if outputs:
            depth[job] = max(depth[job], min(outputs) - 1)
    boards = [n for n, k in graph.nodes.items() if k == "dashboard"]
    last = max([d for n, d in depth.items() if n not in boards] + [0]) + 1
    return {**depth, **{n: last for n in boards}}


def label(graph: Graph, node: str) -> str:
    """A node's text in the drawing: a table without its product (shown on hover), its Delta
    version ("v3"); a topic with its end offsets ("@0:42"); a notebook by its own name (its
    product on hover); a dashboard by its product."""
    kind, version = graph.nodes[node], graph.versions.get(node, "")
    if kind == "table":
        return f"{node.split('.', 1)[-1]} v{version}" if version else node.split(".", 1)[-1]
    if kind == "topic":
        return f"{node} @{version}" if version else node
    if kind == "job":
        return node.rsplit(".", 1)[-1]
    return f"{node.removeprefix('dashboard:')} dashboard" if kind == "dashboard" else node


def layout(graph: Graph) -> list[Placed]:
    """Every node placed, column by column: the first column by name, each next one ordered by the
    mean row of the nodes that feed it (fewer crossings), then by name."""
    column = layers(graph)
    rows: dict[str, int] = {}
    placed = []
    for layer in sorted(set(column.values())):
        def order(node: str) -> tuple[float, str]:
            feeding = [rows[a] for a, b in graph.edges if b == node and a in rows]
            return (sum(feeding) / len(feeding) if feeding else float("inf"), node)
        for row, node in enumerate(sorted((n for n, c in column.items() if c == layer), key=order)):
            rows[node] = row
            placed.append(Placed(node, graph.nodes[node], layer, row, label(graph, node)))
    return placed
