"""The partner attribute catalog: seed 000's 18 domains with the value sets partners deliver."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field

CATALOG_RESOURCE = "catalog/partner_attributes.json"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttributeDef(Frozen):
    """One categorical partner attribute and the values it may take."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    values: tuple[str, ...] = Field(min_length=1)


class AttributeDomain(Frozen):
    description: str
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


@cache
def load_attribute_catalog() -> AttributeCatalog:
    """Load the bundled catalog through importlib.resources (works from a wheel or spark-submit)."""
    text = files("schemas").joinpath(CATALOG_RESOURCE).read_text(encoding="utf-8")
    data = json.loads(text)
    data.pop("$comment", None)
    return AttributeCatalog.model_validate(data)
