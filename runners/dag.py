"""The notebook DAG, built from the products' declarations and validated before any kernel starts:
every ``depends_on`` and ``runs_after`` names a declared notebook, every notebook file exists and
has a parameters cell that accepts what the runner injects, and there is no cycle.

``depends_on`` orders and skips (a notebook whose upstream failed is skipped); ``runs_after`` only
orders. ``runs_after: ["*"]`` puts a notebook after every notebook of the other products (except
those that say ``"*"`` themselves).
"""
from __future__ import annotations

import graphlib
from dataclasses import dataclass

from shared_lib import products as products_lib
from shared_lib.errors import UserError
from shared_lib.products import Notebook

# What the runner injects into every notebook's parameters cell.
INJECTED = ("env", "run_id", "overrides")


class DagError(UserError, ValueError):
    """The declared DAG cannot run; the message names the product file and notebook."""


@dataclass
class Dag:
    nodes: dict[str, Notebook]
    order: list[str]  # topological, stable (declaration order among equals)
    after: dict[str, tuple[str, ...]] | None = None  # node -> nodes it runs after (order only)

    def upstream(self, node_id: str) -> set[str]:
        seen, stack = set(), list(self.nodes[node_id].depends_on)
        while stack:
            dep = stack.pop()
            if dep not in seen:
                seen.add(dep)
                stack.extend(self.nodes[dep].depends_on)
        return seen

    def waits_for(self, chosen: list[str]) -> dict[str, set[str]]:
        """Per chosen node, the chosen nodes that must end before it starts: those before it by
        ``depends_on`` or ``runs_after``, also through nodes not chosen (a run side by side
        keeps every order that the one-at-a-time run keeps)."""
        wanted, out = set(chosen), {}
        for node_id in chosen:
            seen, stack = set(), [node_id]
            while stack:
                here = stack.pop()
                for dep in (*self.nodes[here].depends_on, *(self.after or {}).get(here, ())):
                    if dep not in seen:
                        seen.add(dep)
                        stack.append(dep)
            out[node_id] = seen & wanted
        return out


def notebook_parameters(nb: Notebook) -> set[str]:
    """Names in the notebook's cell tagged ``parameters`` (papermill's own inspection)."""
    import nbformat
    import papermill

    tagged = [c for c in nbformat.read(str(nb.path), as_version=4).cells
              if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise DagError(f"{nb.path}: no cell tagged 'parameters' (papermill needs one to inject "
                       f"{', '.join(INJECTED)})")
    return set(papermill.inspect_notebook(str(nb.path)).keys())


def build(products: dict[str, products_lib.Product] | None = None, check_parameters: bool = True) -> Dag:
    products = products if products is not None else products_lib.all_products()
    nodes: dict[str, Notebook] = {}
    for product in products.values():
        for nb in product.notebooks:
            if nb.id in nodes:
                raise DagError(f"{product.source}: notebook {nb.name!r} is declared twice")
            nodes[nb.id] = nb
    for nb in nodes.values():
        source = products[nb.product].source
        for dep in nb.depends_on:
            if dep not in nodes:
                raise DagError(f"{source}: notebook {nb.name!r} depends on unknown notebook {dep!r}")
        for dep in nb.runs_after:
            if dep != "*" and dep not in nodes:
                raise DagError(f"{source}: notebook {nb.name!r} runs after unknown notebook {dep!r}")
        if not nb.path.exists():
            raise DagError(f"{source}: notebook {nb.name!r}: file {nb.path} does not exist")
        if check_parameters:
            accepted = notebook_parameters(nb)
            unknown = sorted((set(INJECTED) | set(nb.parameters)) - accepted)
            if unknown:
                raise DagError(f"{source}: notebook {nb.name!r} ({nb.path.name}) has no parameter "
                               f"{', '.join(unknown)} in its parameters cell")
    after = _runs_after(nodes)
    return Dag(nodes=nodes, order=_toposort(nodes, products, after), after=after)


def _runs_after(nodes: dict[str, Notebook]) -> dict[str, tuple[str, ...]]:
    """Each node's order-only predecessors, ``"*"`` expanded."""
    watchers = {n for n, nb in nodes.items() if "*" in nb.runs_after}
    out = {}
    for n, nb in nodes.items():
        found = [d for d in nb.runs_after if d != "*"]
        if n in watchers:
            found += [m for m, other in nodes.items() if other.product != nb.product and m not in watchers]
        out[n] = tuple(dict.fromkeys(d for d in found if d not in nb.depends_on))
    return out


def _toposort(nodes: dict[str, Notebook], products, after: dict[str, tuple[str, ...]]) -> list[str]:
    """Predecessors first; among notebooks ready together, the one declared first."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for n in nodes:  # every node first, so that readiness follows declaration order
        sorter.add(n)
    for n, nb in nodes.items():
        sorter.add(n, *nb.depends_on, *after[n])
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = _from_first_declared(exc.args[1][:-1], list(nodes))
        files = sorted({str(products[nodes[n].product].source) for n in cycle})
        raise DagError(f"the notebook DAG has a cycle: {' -> '.join([*cycle, cycle[0]])} (each runs "
                       f"before the next; see depends_on and runs_after in {', '.join(files)})") from None
    order, ready = [], list(sorter.get_ready())
    while ready:
        n = ready.pop(0)
        order.append(n)
        sorter.done(n)
        ready.extend(sorter.get_ready())
    return order


def _from_first_declared(cycle: list[str], declared: list[str]) -> list[str]:
    """The cycle rotated to start at its first-declared member (graphlib may start anywhere)."""
    start = min(range(len(cycle)), key=lambda i: declared.index(cycle[i]))
    return cycle[start:] + cycle[:start]


def select(dag: Dag, products: list[str] | None = None, layer: str | None = None,
           notebook: str | None = None) -> list[str]:
    """Node ids to run, in DAG order. ``notebook`` is ``name`` or ``product:name``. A notebook
    declared ``scheduled_only`` is chosen only when ``notebook`` names it."""
    chosen = []
    for n in dag.order:
        nb = dag.nodes[n]
        if products and nb.product not in products:
            continue
        if layer and nb.layer != layer:
            continue
        if notebook and notebook not in (nb.name, nb.id):
            continue
        if nb.scheduled_only and not notebook:
            continue
        chosen.append(n)
    if not chosen:
        what = ", ".join(f"{k}={v}" for k, v in
                         (("product", products), ("layer", layer), ("notebook", notebook)) if v)
        raise DagError(f"no declared notebook matches {what or 'the selection'}; "
                       f"declared: {', '.join(dag.order) or 'none'}")
    return chosen
