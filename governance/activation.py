"""Activation decisions: a segment's lineage x a destination's marketing actions -> allowed?

The lineage is every field the activation reads (the segment predicate, the exported fields
and identities, the consent field) with its dataset. Each marketing action of the destination
is evaluated once over all of it (so an AND policy sees labels from both the segment and the
export). A denial explains itself as policy -> condition -> action -> label -> field ->
dataset -> segment -> destination, with remedies that say which side to change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from governance.catalogs import Governance
from governance.lineage import leaves_under
from governance.policies import DatasetView, Evaluation, LabelUse, dataset_uses, evaluate_policies

Role = Literal["segment", "analysis", "export", "consent"]
ROLE_TEXT = {
    "segment": "in the segment predicate",
    "analysis": "analysed",
    "export": "exported",
    "consent": "read for consent",
}


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineageItem(Frozen):
    """One field an activation reads, its dataset, and why it is read."""

    dataset: str
    field: str
    role: Role


class ActivationDecision(Frozen):
    """Allowed or blocked, the evaluations behind it, and every violation explained."""

    segment: str
    destination: str
    allowed: bool
    evaluations: tuple[Evaluation, ...]
    chains: tuple[str, ...]
    remedies: tuple[str, ...]
    lineage: tuple[LineageItem, ...]
    fingerprint: dict[str, Any]
    # what does not block but should be read (e.g. a restricted audience set to warn)
    warnings: tuple[str, ...] = ()


def lineage_uses(
    views: Mapping[str, DatasetView], lineage: Sequence[LineageItem]
) -> list[LabelUse]:
    """The label uses of every dataset and field in the lineage."""
    by_dataset: dict[str, list[str]] = {}
    for item in lineage:
        by_dataset.setdefault(item.dataset, [])
        if item.field not in by_dataset[item.dataset]:
            by_dataset[item.dataset].append(item.field)
    return dataset_uses(views, by_dataset)


def _use_text(use: LabelUse, roles: Mapping[tuple[str, str], list[str]]) -> str:
    if use.origin == "dataset":
        return f"label {use.code} (dataset label) -> dataset {use.dataset}"
    how = ", ".join(ROLE_TEXT[r] for r in roles.get((use.dataset or "", use.field or ""), []))
    group = f", from field group {use.source}" if use.origin == "field_group" else ""
    return f"label {use.code}{group} -> field {use.field} ({how}) -> dataset {use.dataset}"


def _remedies(
    use: LabelUse,
    action: str,
    roles: Mapping[tuple[str, str], list[str]],
    segment: str,
    destination: str,
) -> list[str]:
    if use.origin == "dataset":
        return [
            f"use no field of dataset {use.dataset} in segment {segment} or destination "
            f"{destination} (its label {use.code} covers every field)"
        ]
    remedies = []
    for role in roles.get((use.dataset or "", use.field or ""), []):
        if role == "segment":
            remedies.append(f"remove {use.field} from segment {segment}'s predicate")
        elif role == "export":
            remedies.append(f"stop exporting {use.field} to destination {destination}")
        else:
            remedies.append(f"choose another consent field for destination {destination}")
    return remedies


def provider_alternatives(
    governance: Governance,
    action: str,
    dataset: str,
    lineage: Sequence[LineageItem],
    views: Mapping[str, DatasetView],
) -> list[str]:
    """For each field read from a partner dataset, the same field from another partner whose
    labels allow the action ("use provider B's value")."""
    prefix = "partner/"
    if not dataset.startswith(prefix):
        return []
    provider = dataset[len(prefix) :]
    remedies = []
    for item in lineage:
        own = f"_partner.{provider}."
        if item.dataset != dataset or not item.field.startswith(own):
            continue
        for other, view in views.items():
            if other == dataset or not other.startswith(prefix):
                continue
            alternative = f"_partner.{other[len(prefix) :]}.{item.field[len(own) :]}"
            if alternative not in view.fields:
                continue
            check = evaluate_policies(
                governance, action, dataset_uses(views, {other: [alternative]})
            )
            if check.allowed:
                remedies.append(
                    f"use provider {other[len(prefix) :]}'s value: {alternative} "
                    f"instead of {item.field} ({action} is allowed on it)"
                )
    return remedies


def fingerprint(
    governance: Governance,
    *,
    predicate: str,
    destination: Mapping[str, Any],
    evaluations: Sequence[Evaluation],
) -> dict[str, Any]:
    """What a decision depended on, to tell later what changed."""
    policies = {
        p.id: hashlib.sha256(
            json.dumps(p.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()[:12]
        for p in governance.policies
    }
    labels: dict[str, list[str]] = {}
    for evaluation in evaluations:
        for dataset, codes in evaluation.labels_by_dataset.items():
            labels[f"dataset {dataset}"] = codes
        for dataset, fields in evaluation.labels_by_field.items():
            for path, codes in fields.items():
                labels[f"field {path} ({dataset})"] = codes
    return {
        "predicate": predicate,
        "destination": dict(destination),
        "policies": policies,
        "labels": labels,
    }


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Human lines for what differs between two fingerprints."""
    changes = []
    if before.get("predicate") != after.get("predicate"):
        changes.append(
            f"segment predicate changed: {before.get('predicate')!r} -> {after.get('predicate')!r}"
        )
    old_dest, new_dest = before.get("destination", {}), after.get("destination", {})
    for key in sorted(set(old_dest) | set(new_dest)):
        if old_dest.get(key) != new_dest.get(key):
            changes.append(f"destination {key} changed: {old_dest.get(key)} -> {new_dest.get(key)}")
    old_policies, new_policies = before.get("policies", {}), after.get("policies", {})
    for policy_id in sorted(set(old_policies) | set(new_policies)):
        if policy_id not in old_policies:
            changes.append(f"policy {policy_id} added")
        elif policy_id not in new_policies:
            changes.append(f"policy {policy_id} removed")
        elif old_policies[policy_id] != new_policies[policy_id]:
            changes.append(f"policy {policy_id} changed")
    old_labels, new_labels = before.get("labels", {}), after.get("labels", {})
    for where in sorted(set(old_labels) | set(new_labels)):
        added = sorted(set(new_labels.get(where, [])) - set(old_labels.get(where, [])))
        removed = sorted(set(old_labels.get(where, [])) - set(new_labels.get(where, [])))
        if added or removed:
            delta = [f"+{c}" for c in added] + [f"-{c}" for c in removed]
            changes.append(f"labels on {where}: {' '.join(delta)}")
    return changes


def decide_activation(
    governance: Governance,
    *,
    segment: str,
    destination: str,
    actions: Sequence[str],
    lineage: Sequence[LineageItem],
    views: Mapping[str, DatasetView],
    predicate: str,
    destination_settings: Mapping[str, Any],
    include_drafts: bool = False,
) -> ActivationDecision:
    """Evaluate every marketing action of the destination over the whole lineage."""
    uses = lineage_uses(views, lineage)
    roles: dict[tuple[str, str], list[str]] = {}
    for item in lineage:
        roles.setdefault((item.dataset, item.field), [])
        if item.role not in roles[(item.dataset, item.field)]:
            roles[(item.dataset, item.field)].append(item.role)
    evaluations = tuple(
        evaluate_policies(
            governance,
            action,
            uses,
            include_drafts=include_drafts,
            where=f"segment {segment} -> destination {destination}",
        )
        for action in actions
    )
    chains, remedies = [], []
    for evaluation in evaluations:
        for violation in evaluation.violations:
            head = (
                f"policy {violation.policy_id} ({violation.policy_name}) -> condition "
                f"{violation.condition} -> action {evaluation.action}"
            )
            for use in violation.matched:
                chains.append(
                    f"{head} -> {_use_text(use, roles)} -> segment {segment} -> "
                    f"destination {destination}"
                )
                remedies += provider_alternatives(
                    governance, evaluation.action, use.dataset or "", lineage, views
                )
                remedies += _remedies(use, evaluation.action, roles, segment, destination)
            remedies.append(
                f"remove {evaluation.action} from destination {destination}'s marketing actions"
            )
    if chains:
        remedies.append("if a label is wrong, have a data steward change it (`partnerkit check`)")
    return ActivationDecision(
        segment=segment,
        destination=destination,
        allowed=not chains,
        evaluations=evaluations,
        chains=tuple(chains),
        remedies=tuple(dict.fromkeys(remedies)),
        lineage=tuple(lineage),
        fingerprint=fingerprint(
            governance,
            predicate=predicate,
            destination=destination_settings,
            evaluations=evaluations,
        ),
    )


def build_lineage(
    *,
    predicate_fields: Sequence[str],
    export_fields: Sequence[str],
    identity_datasets: Sequence[str],
    consent_fields: Sequence[str],
    field_datasets: Mapping[str, str],
    identity_field: str,
    analysed_fields: Sequence[str] = (),
) -> list[LineageItem]:
    """Lineage items for a use of profile data; struct paths (a partner's struct, the whole
    `_partner` struct) expand to every leaf under them, each with its own dataset."""

    items = [
        LineageItem(dataset=field_datasets[leaf], field=leaf, role=role)
        for role, paths in (
            ("segment", predicate_fields),
            ("analysis", analysed_fields),
            ("export", export_fields),
            ("consent", consent_fields),
        )
        for path in paths
        for leaf in leaves_under(path, field_datasets)
    ]
    items += [
        LineageItem(dataset=dataset, field=identity_field, role="export")
        for dataset in identity_datasets
    ]
    return list(dict.fromkeys(items))


RESTRICTED_AUDIENCE_RULE = (
    "Meta restricts custom audiences that suggest health, financial status or other "
    "sensitive traits"
)


def restricted_audience_chains(
    lineage: Sequence[LineageItem], sensitive: Sequence[str], *, segment: str, destination: str
) -> list[str]:
    """One chain per field the segment selects on that matches a sensitive pattern (a glob
    over field paths, `_partner.*.financial.*`): what makes the audience suggest the trait."""
    chains = []
    for item in lineage:
        if item.role != "segment":
            continue
        pattern = next((p for p in sensitive if fnmatchcase(item.field, p)), None)
        if pattern is not None:
            chains.append(
                f"field {item.field} (sensitive: {pattern}) -> dataset {item.dataset} -> "
                f"segment {segment} -> destination {destination}: {RESTRICTED_AUDIENCE_RULE}"
            )
    return chains


def with_restricted_audience(
    decision: ActivationDecision, chains: Sequence[str], *, refuse: bool
) -> ActivationDecision:
    """The decision blocked by those chains (refuse), or carrying them as warnings."""
    if not chains:
        return decision
    if not refuse:
        return decision.model_copy(update={"warnings": decision.warnings + tuple(chains)})
    remedies = (
        f"select segment {decision.segment} on fields that are not sensitive, or send it to a "
        "destination that is not a Meta custom audience",
        f"if your ad category allows it, set restricted_audiences: warn on destination "
        f"{decision.destination}",
    )
    return decision.model_copy(
        update={
            "allowed": False,
            "chains": decision.chains + tuple(chains),
            "remedies": decision.remedies + remedies,
        }
    )
