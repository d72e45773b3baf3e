"""What each declared table can hold about a data subject, read from the pii tags of product.yaml:
columns tagged ``subject_id`` (a subject's id as a value), columns tagged ``raw`` (whole messages,
where an id is a token of the text), and a ``subject_hash`` column (the keyed hash only)."""
from __future__ import annotations

from dataclasses import dataclass

from shared_lib import products
from shared_lib.products import Table

HASH_COLUMN = "subject_hash"
# Raw rows are deleted by their Kafka coordinates: exact, and no id appears in the predicate.
COORDINATES = ("topic", "partition", "offset")
# The command's own tables: they name subjects only by hash and are the record of the requests.
OWN_TABLES = ("dsar_requests", "erasure_log")


@dataclass(frozen=True)
class Scope:
    table: Table
    id_columns: tuple[str, ...]
    raw_columns: tuple[str, ...]
    hash_columns: tuple[str, ...]

    @property
    def personal(self) -> bool:
        """Holds a subject's id itself (as a value or in raw text)."""
        return bool(self.id_columns or self.raw_columns)

    @property
    def append_only(self) -> bool:
        return dict(self.table.properties).get("delta.appendOnly") == "true"

    @property
    def erasable(self) -> bool:
        """Rows of it are deleted by an erasure (an append-only table holds hashes only)."""
        return self.personal and not self.append_only and self.table.name not in OWN_TABLES

    @property
    def coordinates(self) -> tuple[str, ...]:
        names = {c.name for c in self.table.columns}
        return COORDINATES if set(COORDINATES) <= names else ()


def of(table: Table) -> Scope:
    return Scope(table=table,
                 id_columns=tuple(c.name for c in table.columns if c.pii == "subject_id"),
                 raw_columns=tuple(c.name for c in table.columns if c.pii == "raw"),
                 hash_columns=tuple(c.name for c in table.columns if c.name == HASH_COLUMN))


def all_scopes() -> list[Scope]:
    """Every declared table of every product, bronze first (the order of an erasure)."""
    order = {"bronze": 0, "silver": 1, "gold": 2}
    tables = [t for p in products.all_products().values() for t in p.tables]
    return [of(t) for t in sorted(tables, key=lambda t: (order.get(t.layer, 3), t.qualified_name))]


def identity_fields() -> tuple[str, ...]:
    """The field names that carry a subject's id in events: every column tagged ``subject_id``
    (anonymous_id, device_id, subject_id, user_id); a raw message is parsed for these."""
    return tuple(sorted({c for s in all_scopes() for c in s.id_columns}))
