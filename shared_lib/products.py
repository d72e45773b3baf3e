"""Product declarations: each ``products/<package>/product.yaml`` says what a product owns.

A declaration names the product's topics, its notebooks (the runner's DAG nodes, with
``depends_on`` edges, possibly on another product's notebook as ``product:notebook``; ``runs_after``
edges order without making a notebook depend, see ``Notebook``) and its
tables (layer, columns with types and personal-data tags, owner, retention). The runner, the
catalog and the table writer all read these; nothing else lists notebooks or tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from shared_lib import paths, storage
from shared_lib.errors import UnknownName, UserError

PII_TAGS = ("none", "subject_id", "personal", "raw")

# The one retention policy (days a row is kept after its event time; metrics.md). A table's kind
# follows from its declaration (``retention_kind``): bronze and quarantine keep raw messages,
# silver and person-level gold keep personal data, gold without personal data holds aggregates,
# audit holds evidence (the audit trail, consent records, the platform's own records). A table may
# declare ``retention_days`` to override its kind's default.
RETENTION_POLICY = {"bronze": 90, "quarantine": 90, "silver": 365, "personal_gold": 365,
                    "aggregate": 2555, "audit": 2555}
_TIME_TYPES = ("date", "timestamp")


class DeclarationError(UserError, ValueError):
    """A product.yaml that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str = ""
    pii: str = "none"
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    product: str
    name: str
    layer: str
    description: str
    columns: tuple[Column, ...]
    owner: str
    retention_days: int  # effective: the override when declared, else the policy's for the kind
    partitioned_by: tuple[str, ...] = ()
    checks: tuple[tuple[str, str], ...] = ()  # (constraint name, SQL expression)
    # Columns whose min/max Delta records per file, for data skipping; empty: Delta's default
    # (the first 32). Statistics on long strings (URLs, user agents, raw JSON) cost a quarter
    # of a big write's time and no query filters on them.
    stats_columns: tuple[str, ...] = ()
    # Delta table properties set at creation, e.g. {"delta.appendOnly": "true"} for an audit trail.
    properties: tuple[tuple[str, str], ...] = ()
    # The column (date or timestamp) whose age decides when a row expires; None: a state table
    # (one row per key, replaced as it changes), whose rows retention never deletes by age.
    event_time: str | None = None
    retention_kind: str = ""  # a key of RETENTION_POLICY
    retention_overridden: bool = False  # retention_days declared, not the policy's default

    @property
    def qualified_name(self) -> str:
        if self.product == paths.PLATFORM:
            return f"{paths.PLATFORM}.{self.name}"
        return f"{self.product}.{self.layer}.{self.name}"

    @property
    def relative(self) -> str:
        """Its place under the lake's root: ``product/layer/table``."""
        return paths.table_relative(self.product, self.layer, self.name)

    @property
    def uri(self) -> str:
        """Its address for Spark and delta-rs: a local path, or ``s3a://bucket/prefix/...``."""
        return storage.table_uri(self.relative)

    @property
    def path(self) -> Path:
        """Its local folder, for what walks its files; a ``StorageError`` when the lake is on S3."""
        return storage.require_local(f"reading the files of {self.qualified_name}") / self.relative


@dataclass(frozen=True)
class Notebook:
    product: str
    name: str
    path: Path
    layer: str
    depends_on: tuple[str, ...] = ()  # qualified ids: "product:notebook"
    # Order only: run after these (qualified ids, or "*" for every notebook of the other
    # products), but run even when they failed - a health check must report a failure, not be
    # skipped because of it.
    runs_after: tuple[str, ...] = ()
    parameters: dict = field(default_factory=dict, hash=False, compare=False)
    # Run only when named (`dp run --notebook`, a schedule's ``notebook``), never as part of a
    # product or of the whole DAG: e.g. retention, which deletes, runs on its own schedule.
    scheduled_only: bool = False

    @property
    def id(self) -> str:
        return f"{self.product}:{self.name}"


@dataclass(frozen=True)
class Product:
    name: str
    owner: str
    description: str
    topics: tuple[str, ...]
    notebooks: tuple[Notebook, ...]
    tables: tuple[Table, ...]
    source: Path

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise UnknownName(f"{self.name} declares no table {name!r} (see {self.source})")

    def notebook(self, name: str) -> Notebook:
        for nb in self.notebooks:
            if nb.name == name:
                return nb
        raise UnknownName(f"{self.name} declares no notebook {name!r} (see {self.source})")


def _require(entry: dict, key: str, where: str):
    if key not in entry:
        raise DeclarationError(f"{where}: missing {key!r}")
    return entry[key]


def parse(path: Path) -> Product:
    try:
        # libyaml's loader when present: product.yaml files are long, and the pure-Python one
        # takes about 0.2 s for all of them in every kernel that reads a declared table.
        raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        raise DeclarationError(f"{path}: not valid YAML: {exc}") from exc
    name = _require(raw, "name", str(path))
    owner = _require(raw, "owner", str(path))
    notebooks = []
    for i, entry in enumerate(raw.get("notebooks") or []):
        where = f"{path}: notebooks[{i}]"
        nb_name = _require(entry, "name", where)
        deps = tuple(d if ":" in d else f"{name}:{d}" for d in entry.get("depends_on") or [])
        after = tuple(d if ":" in d or d == "*" else f"{name}:{d}" for d in entry.get("runs_after") or [])
        notebooks.append(Notebook(
            product=name, name=nb_name, path=paths.PROJECT_ROOT / _require(entry, "path", where),
            layer=_require(entry, "layer", where), depends_on=deps, runs_after=after,
            parameters=dict(entry.get("parameters") or {}), scheduled_only=bool(entry.get("scheduled_only", False))))
    tables = []
    for i, entry in enumerate(raw.get("tables") or []):
        where = f"{path}: tables[{i}]"
        columns = []
        for col in _require(entry, "columns", where):
            pii = col.get("pii", "none")
            if pii not in PII_TAGS:
                raise DeclarationError(f"{where}: column {col.get('name')!r} has pii {pii!r}; "
                                       f"expected one of {', '.join(PII_TAGS)}")
            columns.append(Column(name=_require(col, "name", where), type=_require(col, "type", where),
                                  comment=col.get("comment", ""), pii=pii,
                                  nullable=bool(col.get("nullable", True))))
        partitioned_by = tuple(entry.get("partitioned_by") or ())
        stats_columns = _stats_columns(entry, columns, partitioned_by, where)
        layer = _require(entry, "layer", where)
        table_name = _require(entry, "name", where)
        kind = _retention_kind(entry, table_name, layer, columns, where)
        overridden = entry.get("retention_days") is not None
        tables.append(Table(
            product=name, name=table_name, layer=layer,
            description=entry.get("description", ""), columns=tuple(columns),
            owner=entry.get("owner", owner),
            retention_days=int(entry["retention_days"]) if overridden else RETENTION_POLICY[kind],
            retention_kind=kind, retention_overridden=overridden,
            event_time=_event_time(entry, columns, where),
            partitioned_by=partitioned_by,
            checks=tuple((k, v) for k, v in (entry.get("checks") or {}).items()),
            stats_columns=stats_columns,
            properties=tuple((str(k), str(v).lower() if isinstance(v, bool) else str(v))
                             for k, v in (entry.get("properties") or {}).items())))
    return Product(name=name, owner=owner, description=raw.get("description", ""),
                   topics=tuple(raw.get("topics") or ()), notebooks=tuple(notebooks),
                   tables=tuple(tables), source=path)


def default_retention_kind(table_name: str, layer: str, columns: list[Column]) -> str:
    """The policy's kind of a table that declares none: by layer, quarantine by name, gold by
    whether it holds personal data; the platform's own tables are audit records."""
    if table_name == "quarantine":
        return "quarantine"
    if layer == "gold":
        return "personal_gold" if any(c.pii != "none" for c in columns) else "aggregate"
    if layer == paths.PLATFORM:
        return "audit"
    return layer


def _retention_kind(entry: dict, table_name: str, layer: str, columns: list[Column], where: str) -> str:
    kind = entry.get("retention_kind") or default_retention_kind(table_name, layer, columns)
    if kind not in RETENTION_POLICY:
        raise DeclarationError(f"{where}: retention_kind {kind!r} is not in the retention policy; "
                               f"expected one of {', '.join(RETENTION_POLICY)}")
    days = entry.get("retention_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
        raise DeclarationError(f"{where}: retention_days must be a whole number of days >= 1 "
                               f"(or left out for the policy's {RETENTION_POLICY[kind]} days of {kind})")
    return kind


def _event_time(entry: dict, columns: list[Column], where: str) -> str | None:
    """The declared ``event_time`` column (required key; null for a state table)."""
    if "event_time" not in entry:
        raise DeclarationError(f"{where}: missing 'event_time' (the date or timestamp column whose age "
                               f"expires a row under the retention policy; null for a state table "
                               f"whose rows are replaced, never expired by age)")
    name = entry["event_time"]
    if name is None:
        return None
    types = {c.name: c.type for c in columns}
    if types.get(name) not in _TIME_TYPES:
        raise DeclarationError(f"{where}: event_time {name!r} must name a date or timestamp column; "
                               f"found {types.get(name, 'no such column')}")
    return name


# Types Delta keeps min/max statistics for (it refuses booleans, binary and nested types).
_STATS_TYPES = ("string", "int", "bigint", "smallint", "tinyint", "double", "float", "date", "timestamp")


def _stats_columns(entry: dict, columns: list[Column], partitioned_by: tuple[str, ...], where: str) -> tuple[str, ...]:
    """A table's ``stats_columns``, refused here rather than at its first write when Delta
    could not keep statistics for one of them."""
    names = tuple(entry.get("stats_columns") or ())
    types = {c.name: c.type for c in columns}
    for name in names:
        if name not in types:
            raise DeclarationError(f"{where}: stats_columns names no column {name!r}")
        if name in partitioned_by:
            raise DeclarationError(f"{where}: stats_columns: {name!r} is a partition column (pruned "
                                   f"by its value; Delta keeps no statistics for it)")
        if types[name] not in _STATS_TYPES and not types[name].startswith("decimal"):
            raise DeclarationError(f"{where}: stats_columns: Delta keeps no statistics for {name!r} "
                                   f"of type {types[name]}")
    return names


@lru_cache(maxsize=None)
def _load_all(root: Path) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for path in sorted(root.glob("*/product.yaml")):
        product = parse(path)
        if product.name in found:
            raise DeclarationError(f"{path}: product {product.name!r} is also declared in "
                                   f"{found[product.name].source}")
        found[product.name] = product
    return found


def all_products(root: Path | None = None) -> dict[str, Product]:
    return dict(_load_all(root or paths.PRODUCTS_DIR))


def get(name: str, root: Path | None = None) -> Product:
    products = all_products(root)
    if name not in products:
        raise UnknownName(f"unknown product {name!r}: expected one of {', '.join(sorted(products))}")
    return products[name]


def personal_columns_of(declared_products) -> dict[str, list[str]]:
    """{table qualified name: its columns tagged as personal data} of the declared products."""
    return {t.qualified_name: [c.name for c in t.columns if c.pii != "none"]
            for p in declared_products for t in p.tables if any(c.pii != "none" for c in t.columns)}


def find_table(qualified_or_name: str, product: str | None = None) -> Table:
    """A table by ``product.layer.name``, or by plain name within ``product``."""
    for prod in all_products().values():
        for table in prod.tables:
            if qualified_or_name in (table.qualified_name,) or (
                    prod.name == product and table.name == qualified_or_name):
                return table
    raise UnknownName(f"no declared table {qualified_or_name!r}" + (f" in {product}" if product else ""))
