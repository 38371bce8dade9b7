"""A workspace's schema view: its registry, the profile fields with partners, its namespaces."""

from __future__ import annotations

from jobs.config import PartnerConfig, Workspace
from schemas.models import FieldDef, PartnerSpec
from schemas.namespaces import NamespaceCatalog, bundled_namespaces
from schemas.registry import SchemaRegistry, load_registry


def workspace_registry(workspace: Workspace) -> SchemaRegistry:
    """The bundled schemas plus the workspace's schema folders."""
    return load_registry([workspace.resolve(f) for f in workspace.config.schemas.folders])


def partner_spec(partner: PartnerConfig) -> PartnerSpec:
    """The partner's share of the profile schema: its mapped domains and dataset labels."""
    return PartnerSpec(
        name=partner.name, domains=tuple(partner.mapping.attributes), labels=tuple(partner.labels)
    )


def profile_fields(workspace: Workspace, registry: SchemaRegistry | None = None) -> list[FieldDef]:
    """The workspace's profile schema flattened, `_partner` instantiated for its partners."""
    registry = registry or workspace_registry(workspace)
    specs = [partner_spec(p) for p in workspace.config.partners]
    return registry.flatten(workspace.config.schemas.profile, specs)


def workspace_namespaces(workspace: Workspace) -> NamespaceCatalog:
    """Bundled 1P namespaces plus one partner namespace per configured partner."""
    return bundled_namespaces().with_partners(
        (p.name, p.namespace) for p in workspace.config.partners
    )
