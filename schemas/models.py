"""Flattened schema records: one FieldDef per leaf field, with its labels and their origin."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

LabelOrigin = Literal["field", "field_group", "dataset"]


class LabelRef(BaseModel):
    """A usage label on a field and where it came from (the field, its field group, a dataset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    origin: LabelOrigin
    source: str

    def describe(self) -> str:
        return f"{self.code} ({self.origin}: {self.source})"


class FieldDef(BaseModel):
    """One leaf field of a resolved schema: its dotted XDM path, type, values and labels."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    path: str
    json_type: str
    title: str
    description: str
    format: str | None = None
    enum: tuple[Any, ...] | None = None
    labels: tuple[LabelRef, ...] = ()
    # The Spark type of the leaf (arrays and maps are leaves: their items are not flattened).
    spark_type: Any
    field_group: str | None = None
    partner: str | None = None
    domain: str | None = None
    partner_attribute: str | None = None
    converter: str | None = None
    # what the field identifies a person by (email, phone, address): it must carry I1
    identity: str | None = None
    # "precise" for coordinates that locate a person: they must carry S1
    geo: str | None = None

    @property
    def label_codes(self) -> tuple[str, ...]:
        """Distinct label codes in first-seen order."""
        return tuple(dict.fromkeys(label.code for label in self.labels))

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


class PartnerSpec(BaseModel):
    """What a workspace partner contributes to the schema: its domains and dataset labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    domains: tuple[str, ...]
    labels: tuple[str, ...] = ()
