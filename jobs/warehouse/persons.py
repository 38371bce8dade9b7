"""Reads for people: one profile by ID or email, and partner persons as flat key/values."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.enrichment.profiles import find_profiles, person_domains
from jobs.config import PartnerConfig, Workspace
from jobs.errors import WorkspaceError
from jobs.warehouse.catalogue import CANONICAL_TABLE, MATCHES_TABLE
from jobs.warehouse.tables import committed_table, export_table, read_committed, read_profiles
from jobs.warehouse.universe import current_universe
from jobs.workspace_schema import workspace_namespaces
from schemas.attributes import load_attribute_catalog
from schemas.registry import to_json_record


def lookup_profiles(
    workspace: Workspace,
    spark: SparkSession,
    *,
    profile_id: str | None,
    email: str | None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """The XDM records of the profiles with this ID or email (JSON form, NULLs omitted), at
    most `limit` of them."""
    found = find_profiles(
        read_profiles(spark, workspace.warehouse),
        profile_id=profile_id,
        email=email,
        email_namespace=workspace_namespaces(workspace).code_for("email"),
    )
    return [to_json_record(row.asDict(recursive=True)) for row in found.limit(limit).collect()]


def domain_keys(partner: PartnerConfig, domains: Sequence[str]) -> dict[str, dict[str, str]]:
    """Requested domain -> {output key: universe column}; unknown domains listed in one error."""
    catalog = load_attribute_catalog()
    available: dict[str, dict[str, str]] = {
        domain: {column: column for column in columns}
        for domain, columns in partner.mapping.attributes.items()
    }
    for kind in catalog.identity_domains:
        columns = [i.column for i in partner.mapping.identifiers if i.kind == kind]
        if columns:
            available[kind] = {f"{kind}{n}": c for n, c in enumerate(columns, start=1)}
    unknown = [d for d in domains if d not in available]
    if unknown:
        raise WorkspaceError(
            f"--domains {','.join(unknown)}",
            f"domains partner {partner.name} delivers: {', '.join(available)}",
        )
    return {domain: available[domain] for domain in (domains or list(available))}


def get_persons(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: PartnerConfig,
    domains: Sequence[str],
    person_ids: Sequence[str] = (),
) -> DataFrame:
    """Partner persons (the given IDs, else those matched to the seed set) and their domains."""
    universe = current_universe(workspace, spark, partner.name)
    if universe is None:
        expected = f"an ingested batch; run `partnerkit ingest --partner {partner.name}` first"
        raise WorkspaceError(f"partner/{partner.name}", expected)
    if not person_ids:
        matched = read_committed(
            spark,
            workspace.warehouse,
            MATCHES_TABLE,
            partner.name,
            remedy=f"run `partnerkit match --partner {partner.name}` first",
        )
        universe = universe.join(matched.select("partner_id").distinct(), "partner_id", "left_semi")
    return person_domains(
        universe, domains=domain_keys(partner, domains), person_ids=list(person_ids)
    )


def lookup_canonical(
    workspace: Workspace, spark: SparkSession, profile_id: str
) -> list[dict[str, Any]]:
    """The canonical attribute values of one profile and the partner each came from."""
    canonical = committed_table(spark, workspace.warehouse, CANONICAL_TABLE)
    if canonical is None:
        return []
    rows = canonical.where(F.col("profile_id") == F.lit(profile_id))
    return [r.asDict() for r in rows.orderBy("domain", "attribute").collect()]


def export_persons(persons: DataFrame, path: Path, output_format: str) -> Path:
    """Write every person to `path` (CSV flattens the domains into columns)."""
    frame = persons if output_format != "csv" else persons.select("person_id", "domains.*")
    return export_table(frame, path, output_format)


def first_persons(persons: DataFrame, limit: int) -> list[dict[str, Any]]:
    """The first `limit` persons as JSON records."""
    return [to_json_record(r.asDict(recursive=True)) for r in persons.limit(limit).collect()]
