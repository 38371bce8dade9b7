"""A workspace's schema and governance view: registry, profile fields, datasets, catalogs."""

from __future__ import annotations

from collections.abc import Sequence

from governance.activation import LineageItem, build_lineage
from governance.catalogs import (
    Governance,
    assemble_governance,
    build_governance,
    contract_label,
    contract_terms,
)
from governance.lineage import (
    ParsedPredicate,
    field_paths_with_parents,
    leaves_under,
    parse_predicate,
)
from governance.policies import (
    DatasetView,
    Evaluation,
    dataset_uses,
    evaluate_policies,
    requested_uses,
)
from ingest.audiences.exports import AD_PLATFORM_LAYOUTS, exported_match_fields
from jobs.config import DestinationConfig, PartnerConfig, SegmentConfig, Workspace
from jobs.warehouse.catalogue import PROFILES_TABLE, SEEDS_TABLE
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
    kinds = {f.path: field_kind(f) for f in fields or profile_fields(workspace)}
    known = field_paths_with_parents(kinds)
    return parse_predicate(segment.predicate, known, where=f"segment {segment.name} predicate")


SPARK_KINDS = {
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
    "struct": "struct",
    "array": "array",
    "map": "map",
    **dict.fromkeys(("byte", "short", "integer", "long", "float", "double", "decimal"), "number"),
}


def field_kind(field: FieldDef) -> str:
    """What a predicate may compare a field with: its Spark type, coarsely."""
    return SPARK_KINDS.get(field.spark_type.typeName(), "any")


def usage_lineage(
    workspace: Workspace,
    *,
    predicate_fields: Sequence[str] = (),
    analysed_fields: Sequence[str] = (),
    export_fields: Sequence[str] = (),
    identity_codes: Sequence[str] = (),
    consent_fields: Sequence[str] = (),
    fields: list[FieldDef] | None = None,
) -> list[LineageItem]:
    """What one use of profile data reads: every field with its dataset and role.

    Activation, prospects activation, ICP and lookalikes all decide from this one function, so
    a predicate reads the same datasets whichever command runs it.
    """
    fields = fields or profile_fields(workspace)
    field_datasets = {
        f.path: partner_dataset(f.partner) if f.partner else SEEDS_DATASET for f in fields
    }
    namespaces = workspace_namespaces(workspace)
    identity_datasets = []
    for code in identity_codes:
        owner = namespaces.get(code).partner
        identity_datasets.append(partner_dataset(owner) if owner else SEEDS_DATASET)
    return build_lineage(
        predicate_fields=predicate_fields,
        analysed_fields=analysed_fields,
        export_fields=export_fields,
        identity_datasets=identity_datasets,
        consent_fields=consent_fields,
        field_datasets=field_datasets,
        identity_field=IDENTITY_MAP_FIELD,
    )


def exported_fields(destination: DestinationConfig) -> list[str]:
    """The profile fields a destination exports (an ad platform's match keys included)."""
    exported = list(destination.attributes)
    if destination.format in AD_PLATFORM_LAYOUTS:
        exported += exported_match_fields(destination.match_keys)
    return exported + [f for f in destination.consent_signals.values() if f not in exported]


def consent_fields(destination: DestinationConfig) -> list[str]:
    """The fields a destination reads to decide who consented (not exported)."""
    tcf = [destination.tcf.field] if destination.tcf else []
    fields = [destination.consent_field, *destination.consent_by_action.values(), *tcf]
    return list(dict.fromkeys(f for f in fields if f))


def unknown_destination_fields(
    destination: DestinationConfig, fields: Sequence[FieldDef]
) -> list[str]:
    """Exported or consent fields that are not profile field paths (nor their parents)."""
    known_paths = {f.path for f in fields}
    return [
        path
        for path in [*exported_fields(destination), *consent_fields(destination)]
        if path and not leaves_under(path, known_paths)
    ]


TableLabels = dict[str, tuple[tuple[str, str | None], ...]]


def table_labels(workspace: Workspace, units: set[str]) -> TableLabels:
    """Usage labels of warehouse tables, as (label code, column or None for the table):
    `seeds` has the seeds' dataset labels, `partner/<p>` the partner's dataset labels and its
    attributes' own labels, `profiles` every field's labels. Other tables carry none here."""
    found: TableLabels = {}
    if SEEDS_TABLE in units:
        found[SEEDS_TABLE] = tuple((code, None) for code in workspace.config.seeds.labels)
    partners = [p for p in workspace.config.partners if partner_dataset(p.name) in units]
    if PROFILES_TABLE not in units and not partners:
        return found
    fields = profile_fields(workspace)
    if PROFILES_TABLE in units:
        found[PROFILES_TABLE] = tuple((code, f.path) for f in fields for code in f.label_codes)
    for partner in partners:
        own = tuple(
            (label.code, f.partner_attribute)
            for f in fields
            if f.partner == partner.name and f.partner_attribute
            for label in f.labels
            if label.origin != "dataset"
        )
        dataset = tuple((code, None) for code in partner_dataset_labels(partner))
        found[partner_dataset(partner.name)] = tuple(dict.fromkeys(dataset + own))
    return found


def evaluate_on_workspace(
    workspace: Workspace,
    governance: Governance,
    action: str,
    *,
    labels: Sequence[str] = (),
    dataset: str | None = None,
    fields: Sequence[str] = (),
    include_drafts: bool = False,
) -> Evaluation:
    """Evaluate `action` on the labels given plus those of `dataset` (`seeds`,
    `partner/<p>`) and its `fields` (profile paths; the dataset's labels alone if none)."""
    uses = requested_uses(labels)
    where = "--labels"
    if dataset is not None:
        views = workspace_datasets(workspace, profile_fields(workspace))
        uses += dataset_uses(views, {dataset: list(fields)})
        where = f"dataset {dataset}"
    return evaluate_policies(governance, action, uses, include_drafts=include_drafts, where=where)
