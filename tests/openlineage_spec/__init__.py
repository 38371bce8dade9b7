"""The OpenLineage JSON schemas partnerkit's events are checked against (see README.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC_FOLDER = Path(__file__).parent


@cache
def spec_registry() -> Registry:
    """Every vendored schema under its `$id`, so `_schemaURL`s resolve without a network."""
    schemas = [json.loads(p.read_text()) for p in sorted(SPEC_FOLDER.glob("*.json"))]
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas
    )


def facets_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Every facet in a run event: run, job, and each dataset's facets."""
    found = [*event["run"].get("facets", {}).values(), *event["job"].get("facets", {}).values()]
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for kind in ("facets", "inputFacets", "outputFacets"):
            found += dataset.get(kind, {}).values()
    return found


def spec_errors(event: dict[str, Any]) -> list[str]:
    """Where an event breaks the OpenLineage spec: the event against its `schemaURL`, each
    facet against its `_schemaURL` (a facet version not vendored here is an error too)."""
    checks = [(event["schemaURL"], event), *((f["_schemaURL"], f) for f in facets_of(event))]
    errors = []
    for url, document in checks:
        validator = Draft202012Validator(
            {"$ref": url},
            registry=spec_registry(),
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        try:
            errors += [f"{url}: {e.message}" for e in validator.iter_errors(document)]
        except Exception as unresolvable:  # a schema version not in this folder
            errors.append(f"{url}: {type(unresolvable).__name__}")
    return errors
