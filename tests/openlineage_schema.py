"""Validation of OpenLineage events against the specification's own JSON schemas, vendored in
tests/data/openlineage (source and licence in SOURCE.md there)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "data" / "openlineage"


def _registry() -> Registry:
    resources = [Resource.from_contents(json.loads(p.read_text())) for p in SCHEMAS.glob("*.json")]
    return Registry().with_resources((r.contents["$id"], r) for r in resources)


REGISTRY = _registry()
CORE = json.loads((SCHEMAS / "OpenLineage.json").read_text())


def validate(event: dict) -> None:
    """The whole event against OpenLineage.json, then every facet against its own facet schema
    (named by its ``_schemaURL``; the core schema checks only a facet's ``_producer`` and
    ``_schemaURL``). A facet whose schema is not vendored fails: vendor it with the others."""
    jsonschema.Draft202012Validator(CORE, registry=REGISTRY,
                                    format_checker=jsonschema.FormatChecker()).validate(event)
    for facet in _facets(event):
        jsonschema.Draft202012Validator({"$ref": facet["_schemaURL"]}, registry=REGISTRY).validate(facet)


def _facets(event: dict):
    yield from event["run"].get("facets", {}).values()
    yield from event["job"].get("facets", {}).values()
    for ds in event.get("inputs", []) + event.get("outputs", []):
        yield from ds.get("facets", {}).values()
