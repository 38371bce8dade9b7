"""A workspace's schema and governance view: registry, profile fields, datasets, catalogs."""

from __future__ import annotations

from governance.catalogs import (
    Governance,
    assemble_governance,
    build_governance,
    contract_label,
    contract_terms,
)
from governance.lineage import ParsedPredicate, field_paths_with_parents, parse_predicate
from governance.policies import DatasetView
from jobs.config import PartnerConfig, SegmentConfig, Workspace
from schemas.models import FieldDef, LabelRef, PartnerSpec
from schemas.namespaces import NamespaceCatalog, bundled_namespaces
from schemas.registry import SchemaRegistry, load_registry

SEEDS_DATASET = "seeds"
IDENTITY_MAP_FIELD = "identityMap"


def partner_dataset(partner: str) -> str:
    return f"partner/{partner}"


def workspace_registry(workspace: Workspace) -> SchemaRegistry:
    """The bundled schemas plus the workspace's schema folders."""
    return load_registry([workspace.resolve(f) for f in workspace.config.schemas.folders])


def partner_dataset_labels(partner: PartnerConfig) -> tuple[str, ...]:
    """The partner's dataset labels, plus its contract label when the contract forbids actions."""
    contract = [contract_label(partner.name)] if partner.contract.forbidden_actions else []
    return tuple(dict.fromkeys([*partner.labels, *contract]))


def partner_spec(partner: PartnerConfig) -> PartnerSpec:
    """The partner's share of the profile schema: its mapped domains and dataset labels."""
    return PartnerSpec(
        name=partner.name,
        domains=tuple(partner.mapping.attributes),
        labels=partner_dataset_labels(partner),
    )


def profile_fields(workspace: Workspace, registry: SchemaRegistry | None = None) -> list[FieldDef]:
    """The profile schema flattened: `_partner` per partner, 1P fields with the seeds' labels."""
    registry = registry or workspace_registry(workspace)
    specs = [partner_spec(p) for p in workspace.config.partners]
    fields = registry.flatten(workspace.config.schemas.profile, specs)
    seed_labels = tuple(
        LabelRef(code=code, origin="dataset", source=SEEDS_DATASET)
        for code in workspace.config.seeds.labels
    )
    if not seed_labels:
        return fields
    return [
        f if f.partner else f.model_copy(update={"labels": seed_labels + f.labels}) for f in fields
    ]


def workspace_datasets(workspace: Workspace, fields: list[FieldDef]) -> dict[str, DatasetView]:
    """`seeds` (the 1P fields) and `partner/<p>` (its `_partner.<p>` fields) with their labels."""
    views = {
        SEEDS_DATASET: DatasetView(
            labels=tuple(workspace.config.seeds.labels),
            fields={f.path: f.labels for f in fields if f.partner is None},
        )
    }
    identity_map = next((f.labels for f in fields if f.path == IDENTITY_MAP_FIELD), ())
    for partner in workspace.config.partners:
        partner_fields = {f.path: f.labels for f in fields if f.partner == partner.name}
        # the partner's person IDs live in identityMap under its namespace
        partner_fields[IDENTITY_MAP_FIELD] = identity_map
        views[partner_dataset(partner.name)] = DatasetView(
            labels=partner_dataset_labels(partner), fields=partner_fields
        )
    return views


def _governance_inputs(workspace: Workspace) -> dict[str, list]:
    config = workspace.config.governance
    labels, policies = list(config.labels), list(config.policies)
    for partner in workspace.config.partners:
        if partner.contract.forbidden_actions:
            label, policy = contract_terms(partner.name, partner.contract.forbidden_actions)
            labels.append(label)
            policies.append(policy)
    return {"labels": labels, "actions": list(config.marketing_actions), "policies": policies}


def workspace_governance(workspace: Workspace) -> Governance:
    """Bundled catalogs + the workspace's labels, actions, policies and partner contracts."""
    return build_governance(**_governance_inputs(workspace))


def workspace_governance_with_problems(workspace: Workspace) -> tuple[Governance, list[str]]:
    """As workspace_governance, but returning the problems for a steward report."""
    return assemble_governance(**_governance_inputs(workspace))


def workspace_namespaces(workspace: Workspace) -> NamespaceCatalog:
    """Bundled 1P namespaces plus one partner namespace per configured partner."""
    return bundled_namespaces().with_partners(
        (p.name, p.namespace) for p in workspace.config.partners
    )


def parse_segment(
    workspace: Workspace, segment: SegmentConfig, fields: list[FieldDef] | None = None
) -> ParsedPredicate:
    """The segment's checked predicate and lineage (errors point at the position)."""
    known = field_paths_with_parents([f.path for f in fields or profile_fields(workspace)])
    return parse_predicate(segment.predicate, known, where=f"segment {segment.name} predicate")
