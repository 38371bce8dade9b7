"""Load the governance catalogs (bundled YAML plus workspace additions) and cross-check them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from governance.errors import CatalogError
from governance.models import (
    Label,
    LabelCatalogFile,
    LabelExpression,
    MarketingAction,
    MarketingActionsFile,
    PoliciesFile,
    Policy,
)

LABELS_RESOURCE = "catalog/labels.yaml"
ACTIONS_RESOURCE = "catalog/marketing_actions.yaml"
POLICIES_RESOURCE = "catalog/policies.yaml"
THIRD_PARTY_LABEL = "3PD"
ModelT = TypeVar("ModelT", bound=BaseModel)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Governance:
    """Every label, marketing action and policy in force, and where each came from."""

    labels: dict[str, Label]
    actions: dict[str, MarketingAction]
    policies: tuple[Policy, ...]
    origins: dict[str, str] = field(default_factory=dict)

    def policy(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)


def _parse(resource: str, model: type[ModelT]) -> ModelT:
    text = files("governance").joinpath(resource).read_text(encoding="utf-8")
    try:
        return model.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        problems = [
            f"governance/{resource}: {'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in error.errors()
        ]
        raise CatalogError(problems) from None


@cache
def bundled_catalogs() -> tuple[LabelCatalogFile, MarketingActionsFile, PoliciesFile]:
    """The bundled labels, marketing actions and core policies (read once per process)."""
    return (
        _parse(LABELS_RESOURCE, LabelCatalogFile),
        _parse(ACTIONS_RESOURCE, MarketingActionsFile),
        _parse(POLICIES_RESOURCE, PoliciesFile),
    )


def contract_label(partner: str) -> str:
    """The code of the label that carries a partner's contract terms on its dataset."""
    return f"{partner}_contract"


def contract_terms(partner: str, forbidden_actions: Sequence[str]) -> tuple[Label, Policy]:
    """A partner's contract as a label on its dataset and the policy that enforces it."""
    code = contract_label(partner)
    actions = ", ".join(forbidden_actions)
    label = Label(
        code=code,
        category="contract",
        name=f"{partner} contract terms",
        description=f"Partner {partner}'s contract forbids: {actions}.",
    )
    policy = Policy(
        id=f"contract_{partner}",
        name=f"{partner} contract: no {actions}",
        description=f"From partner {partner}'s contract terms in partnerkit.yaml.",
        marketing_actions=tuple(forbidden_actions),
        deny=LabelExpression(label=code),
    )
    return label, policy


def build_governance(
    *,
    labels: Iterable[Label] = (),
    actions: Iterable[MarketingAction] = (),
    policies: Iterable[Policy] = (),
    origin: str = "workspace",
) -> Governance:
    """The catalogs in force; raise CatalogError listing every problem (see assemble_governance)."""
    governance, problems = assemble_governance(
        labels=labels, actions=actions, policies=policies, origin=origin
    )
    if problems:
        raise CatalogError(problems)
    return governance


def assemble_governance(
    *,
    labels: Iterable[Label] = (),
    actions: Iterable[MarketingAction] = (),
    policies: Iterable[Policy] = (),
    origin: str = "workspace",
) -> tuple[Governance, list[str]]:
    """The bundled catalogs plus additions, and the problems found (a steward check lists them).

    A workspace policy with a core policy's id replaces it. Duplicate label codes or action
    names, and policies naming unknown labels or actions, are problems.
    """
    core_labels, core_actions, core_policies = bundled_catalogs()
    problems: list[str] = []
    origins: dict[str, str] = {}
    merged_labels: dict[str, Label] = {}
    for label, source in [
        *((x, "bundled") for x in core_labels.labels),
        *((x, origin) for x in labels),
    ]:
        if label.code in merged_labels:
            problems.append(
                f"{source}: label {label.code} is already defined "
                f"({origins[f'label:{label.code}']})"
            )
            continue
        merged_labels[label.code] = label
        origins[f"label:{label.code}"] = source
    merged_actions: dict[str, MarketingAction] = {}
    for action, source in [
        *((x, "bundled") for x in core_actions.marketing_actions),
        *((x, origin) for x in actions),
    ]:
        if action.name in merged_actions:
            problems.append(f"{source}: marketing action {action.name} is already defined")
            continue
        merged_actions[action.name] = action
        origins[f"action:{action.name}"] = source
    merged_policies: dict[str, Policy] = {p.id: p for p in core_policies.policies}
    origins.update({f"policy:{p.id}": "bundled" for p in core_policies.policies})
    for policy in policies:
        merged_policies[policy.id] = policy
        origins[f"policy:{policy.id}"] = origin
    governance = Governance(merged_labels, merged_actions, tuple(merged_policies.values()), origins)
    return governance, problems + reference_problems(governance)


def reference_problems(governance: Governance) -> list[str]:
    """Policies naming labels or marketing actions that are not defined."""
    problems = []
    for policy in governance.policies:
        where = f"policy {policy.id} ({governance.origins.get(f'policy:{policy.id}', '?')})"
        unknown_labels = [c for c in policy.deny.labels() if c not in governance.labels]
        unknown_actions = [a for a in policy.marketing_actions if a not in governance.actions]
        if unknown_labels:
            problems.append(
                f"{where}: unknown label(s) {', '.join(unknown_labels)} (codes are case-sensitive)"
            )
        if unknown_actions:
            problems.append(f"{where}: unknown marketing action(s) {', '.join(unknown_actions)}")
    return problems


def describe_catalog(governance: Governance) -> dict[str, Any]:
    """The catalogs as one JSON-ready document (for `--json`)."""
    return {
        "labels": [
            {**label.model_dump(), "origin": governance.origins.get(f"label:{label.code}")}
            for label in governance.labels.values()
        ],
        "marketing_actions": [
            {**action.model_dump(), "origin": governance.origins.get(f"action:{action.name}")}
            for action in governance.actions.values()
        ],
        "policies": [
            {
                **policy.model_dump(mode="json"),
                "condition": policy.deny.describe(),
                "origin": governance.origins.get(f"policy:{policy.id}"),
            }
            for policy in governance.policies
        ],
    }
