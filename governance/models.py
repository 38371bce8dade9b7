"""Governance catalogs as pydantic models: labels, marketing actions, policies and expressions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LabelCategory = Literal["contract", "identity", "sensitive", "partner_ecosystem", "custom"]
PolicyStatus = Literal["enabled", "disabled", "draft"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(Frozen):
    """A data usage label: a code (case-sensitive) and what data carrying it may not be used for."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    name: str
    description: str
    category: LabelCategory = "custom"


class MarketingAction(Frozen):
    """Something done with data that a policy can restrict (a destination declares its actions)."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    description: str


class LabelExpression(Frozen):
    """`{label: X}` or `{operator: AND|OR, operands: [...]}` (never both), nested as needed."""

    label: str | None = None
    operator: Literal["AND", "OR"] | None = None
    operands: tuple[LabelExpression, ...] = ()

    @model_validator(mode="after")
    def _one_shape(self) -> LabelExpression:
        if self.label is not None and (self.operator is not None or self.operands):
            raise ValueError("a condition is either {label: X} or {operator, operands}, not both")
        if self.label is None and (self.operator is None or not self.operands):
            raise ValueError("a condition needs a label, or an operator with at least one operand")
        return self

    def labels(self) -> list[str]:
        """Every label the expression names, in order."""
        if self.label is not None:
            return [self.label]
        return [code for operand in self.operands for code in operand.labels()]

    def holds(self, present: set[str]) -> bool:
        if self.label is not None:
            return self.label in present
        results = [operand.holds(present) for operand in self.operands]
        return all(results) if self.operator == "AND" else any(results)

    def satisfying(self, present: set[str]) -> list[str]:
        """The labels that make the expression hold (all of an AND, the present ones of an OR)."""
        if self.label is not None:
            return [self.label] if self.label in present else []
        if self.operator == "AND":
            return [code for operand in self.operands for code in operand.satisfying(present)]
        return [
            code
            for operand in self.operands
            if operand.holds(present)
            for code in operand.satisfying(present)
        ]

    def describe(self) -> str:
        if self.label is not None:
            return self.label
        inner = f" {self.operator} ".join(operand.describe() for operand in self.operands)
        return f"({inner})" if len(self.operands) > 1 else inner


class Policy(Frozen):
    """Adobe's policy shape: the actions it restricts and the label condition that denies them."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str = ""
    marketing_actions: tuple[str, ...] = Field(min_length=1)
    deny: LabelExpression
    status: PolicyStatus = "enabled"


class LabelCatalogFile(Frozen):
    labels: tuple[Label, ...]


class MarketingActionsFile(Frozen):
    marketing_actions: tuple[MarketingAction, ...]


class PoliciesFile(Frozen):
    policies: tuple[Policy, ...]
