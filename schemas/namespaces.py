"""The identity namespace catalog: bundled 1P namespaces plus one `partner` namespace per partner.

A `partner` namespace holds a partner's person ID on the profile so an audience can be
activated on it; it is never an identity that links or merges profiles (the partner
ID is "not a linked ID").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.errors import NamespaceError, UnknownSchemaError

NAMESPACES_RESOURCE = "catalog/namespaces.json"
NamespaceType = Literal["crm", "email", "phone", "hashed_email", "hashed_phone", "maid", "partner"]


class Namespace(BaseModel):
    """One identity namespace: its code in identityMap, its type and, for partners, the partner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    type: NamespaceType
    description: str
    partner: str | None = None

    @property
    def links_profiles(self) -> bool:
        """Whether identities in this namespace may say two records are one person."""
        return self.type != "partner"


class NamespaceCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    namespaces: tuple[Namespace, ...]

    def get(self, code: str) -> Namespace:
        for namespace in self.namespaces:
            if namespace.code == code:
                return namespace
        raise UnknownSchemaError("identity namespace", code, [n.code for n in self.namespaces])

    def code_for(self, namespace_type: NamespaceType) -> str:
        """The first namespace code of a type (the bundled catalog has one per 1P type)."""
        for namespace in self.namespaces:
            if namespace.type == namespace_type:
                return namespace.code
        raise UnknownSchemaError(
            "identity namespace type", namespace_type, sorted({n.type for n in self.namespaces})
        )

    def with_partners(self, partners: Iterable[tuple[str, str]]) -> NamespaceCatalog:
        """Add (partner name, namespace code) pairs; a code used twice is an error naming both."""
        added = list(self.namespaces)
        problems = []
        for partner, code in partners:
            clash = next((n for n in added if n.code.lower() == code.lower()), None)
            if clash is not None:
                owner = (
                    f"partner {clash.partner!r}" if clash.partner else f"the {clash.type} namespace"
                )
                problems.append(f"partner {partner!r}: namespace {code!r} is already {owner}")
                continue
            description = f"Person IDs of partner {partner} (activation only)."
            added.append(
                Namespace(code=code, type="partner", partner=partner, description=description)
            )
        if problems:
            raise NamespaceError("; ".join(problems))
        return NamespaceCatalog(namespaces=tuple(added))


@cache
def bundled_namespaces() -> NamespaceCatalog:
    """The bundled 1P namespaces, read through importlib.resources."""
    data = json.loads(files("schemas").joinpath(NAMESPACES_RESOURCE).read_text(encoding="utf-8"))
    data.pop("$comment", None)
    return NamespaceCatalog.model_validate(data)
