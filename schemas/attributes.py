"""The partner attribute catalog: the attribute domains with the value sets partners deliver.

Attribute domains and their values are read from the partner field groups of the bundled XDM
schemas (one source of truth for ingest checks, synthetic data and profiles); identity domains
(which identifier columns a delivery has) come from `catalog/identity_domains.json`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.registry import SchemaRegistry, bundled_registry

IDENTITY_DOMAINS_RESOURCE = "catalog/identity_domains.json"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttributeDef(Frozen):
    """One categorical partner attribute, the values it may take and its XDM field name."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    values: tuple[str, ...] = Field(min_length=1)
    field: str


class AttributeDomain(Frozen):
    description: str
    field: str
    attributes: tuple[AttributeDef, ...]


class IdentityDomain(Frozen):
    description: str
    columns: tuple[str, ...]


class AttributeCatalog(Frozen):
    """Attribute domains carry values; identity domains name identifier columns."""

    attribute_domains: dict[str, AttributeDomain]
    identity_domains: dict[str, IdentityDomain]

    @property
    def domain_names(self) -> list[str]:
        return [*self.attribute_domains, *self.identity_domains]

    def attributes(self) -> list[tuple[str, AttributeDef]]:
        """Every (domain, attribute) pair in catalog order."""
        return [
            (domain, attribute)
            for domain, group in self.attribute_domains.items()
            for attribute in group.attributes
        ]


# The catalog is the partner field groups (partner_<domain>.schema.json) in this folder.
CATALOG_FOLDER = files("schemas").joinpath("xdm", "field_groups")
PARTNER_PATH = "_partner.<partner>"  # where a partner's attributes sit in the profile


def catalog_listing(catalog: AttributeCatalog, domain: str | None = None) -> list[dict[str, Any]]:
    """One entry per attribute, as a mapping needs it: the column name (`mapping.attributes`),
    its profile path, domain, type and the values a delivery may hold."""
    if domain is not None and domain not in catalog.attribute_domains:
        known = ", ".join(catalog.attribute_domains)
        raise ValueError(f"unknown attribute domain {domain!r}; expected one of {known}")
    return [
        {
            "column": attribute.name,
            "path": f"{PARTNER_PATH}.{group.field}.{attribute.field}",
            "domain": name,
            "type": "string",
            "values": list(attribute.values),
        }
        for name, group in catalog.attribute_domains.items()
        if domain in (None, name)
        for attribute in group.attributes
    ]


def attribute_domains(registry: SchemaRegistry) -> dict[str, AttributeDomain]:
    """Domain -> its attributes, read from the partner field groups of a registry."""
    domains = {}
    for domain, document in registry.partner_field_groups().items():
        ((field_name, node),) = document.content["properties"].items()
        domains[domain] = AttributeDomain(
            description=node["description"],
            field=field_name,
            attributes=tuple(
                AttributeDef(
                    name=leaf["meta:partnerAttribute"], values=tuple(leaf["enum"]), field=key
                )
                for key, leaf in node["properties"].items()
            ),
        )
    return domains


@cache
def load_attribute_catalog() -> AttributeCatalog:
    """Load the bundled catalog through importlib.resources (works from a wheel or spark-submit)."""
    text = files("schemas").joinpath(IDENTITY_DOMAINS_RESOURCE).read_text(encoding="utf-8")
    data = json.loads(text)
    data.pop("$comment", None)
    return AttributeCatalog.model_validate(
        {**data, "attribute_domains": attribute_domains(bundled_registry())}
    )
