"""The enrich job: seeds + canonical matches + partner attributes -> the `profiles` table."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.enrichment.profiles import (
    PARTNER_FIELD,
    PROFILE_ID_FIELD,
    PartnerEnrichment,
    attach_partner_records,
    build_profiles,
    enrichment_coverage,
    partner_attribute_paths,
    partner_records,
    require_fields,
)
from ingest.enrichment.providers import attribute_evidence, canonical_values, partner_id_column
from ingest.optouts import without_persons
from jobs.config import PartnerConfig, Workspace
from jobs.errors import WorkspaceError
from jobs.incremental import enrich_basis, profiles_to_rebuild
from jobs.runtime.runs import JobResult, RunContext, open_run
from jobs.warehouse.catalogue import (
    ATTRIBUTE_EVIDENCE_TABLE,
    CANONICAL_TABLE,
    MATCHES_TABLE,
    PROFILES_TABLE,
    SEEDS_TABLE,
)
from jobs.warehouse.optouts import opted_out_universe_persons
from jobs.warehouse.suppression import suppressed_seed_profiles
from jobs.warehouse.tables import read_committed, write_table
from jobs.warehouse.universe import current_universe, ingested_identifiers
from jobs.workspace_schema import profile_fields, workspace_namespaces, workspace_registry
from schemas.attributes import attribute_domains
from schemas.models import FieldDef
from schemas.registry import to_json_record, to_struct_type

JOB = "enrich"
DEFAULT_VALIDATE_ROWS = 1_000


def partner_enrichment(partner: PartnerConfig) -> PartnerEnrichment:
    return PartnerEnrichment(
        name=partner.name,
        namespace=partner.namespace,
        persist_partner_id=partner.contract.persist_partner_id,
        retention_days=partner.contract.retention_days,
        attributes={domain: tuple(cols) for domain, cols in partner.mapping.attributes.items()},
    )


def write_provider_tables(
    workspace: Workspace,
    job: RunContext,
    profiles: DataFrame,
    fields: list[FieldDef],
    *,
    rebuilt: DataFrame | None = None,
) -> dict[str, str]:
    """Every partner's value per profile attribute (evidence), and the canonical choice.

    With `rebuilt` (profile IDs), only those profiles' rows are computed from `profiles`; the
    previous tables' other rows are kept (both tables are per profile)."""
    config = workspace.config
    providers = {
        p.name: {
            f.partner_attribute: (f.path, f.domain or "")
            for f in fields
            if f.partner == p.name and f.partner_attribute
        }
        for p in config.partners
    }
    partner_ids = {
        p.name: partner_id_column(p.namespace, kept=p.contract.persist_partner_id)
        for p in config.partners
    }
    spark = profiles.sparkSession
    if rebuilt is not None:
        profiles = profiles.join(
            rebuilt.withColumnRenamed("profile_id", PROFILE_ID_FIELD), PROFILE_ID_FIELD, "left_semi"
        )
    evidence = attribute_evidence(
        profiles,
        providers=providers,
        partner_ids=partner_ids,
        not_independent={p.name: list(p.not_independent) for p in config.partners},
    )
    if rebuilt is not None:
        evidence = _kept_rows(spark, workspace, ATTRIBUTE_EVIDENCE_TABLE, rebuilt, evidence)
    evidence_path = write_table(evidence, job, ATTRIBUTE_EVIDENCE_TABLE)
    written = spark.read.parquet(evidence_path)  # read back: not exploded from profiles again
    if rebuilt is not None:
        written = written.join(rebuilt, "profile_id", "left_semi")
    canonical = canonical_values(
        written,
        priorities={p.name: p.priority for p in config.partners},
        domain_order=config.canonical.domain_order,
    )
    if rebuilt is not None:
        canonical = _kept_rows(spark, workspace, CANONICAL_TABLE, rebuilt, canonical)
    canonical_path = write_table(canonical, job, CANONICAL_TABLE)
    return {ATTRIBUTE_EVIDENCE_TABLE: evidence_path, CANONICAL_TABLE: canonical_path}


def _kept_rows(
    spark: SparkSession, workspace: Workspace, table: str, rebuilt: DataFrame, fresh: DataFrame
) -> DataFrame:
    """The table's previous rows of profiles not rebuilt, and the rebuilt profiles' rows."""
    previous = read_committed(spark, workspace.warehouse, table)
    kept = previous.join(rebuilt, "profile_id", "left_anti")
    return kept.unionByName(fresh.select(*previous.columns))


def load_partner_inputs(
    workspace: Workspace, spark: SparkSession, partner: PartnerConfig
) -> tuple[DataFrame, DataFrame]:
    """The partner's canonical matches, less its opted-out persons (opted out since the match
    too), and its current ingested universe; or a clear error."""
    universe = current_universe(workspace, spark, partner.name)
    if universe is None:
        expected = f"an ingested batch; run `partnerkit ingest --partner {partner.name}` first"
        raise WorkspaceError(f"partner/{partner.name}", expected)
    matches = read_committed(
        spark,
        workspace.warehouse,
        MATCHES_TABLE,
        partner.name,
        remedy=f"run `partnerkit match --partner {partner.name}` first",
    )
    opted_out = opted_out_universe_persons(
        workspace, spark, partner, ingested_identifiers(universe, partner)
    )
    if opted_out is not None:
        matches = without_persons(matches, opted_out.localCheckpoint())
    return matches, universe


def expired_records(written: DataFrame, matches: DataFrame, partner: str) -> int:
    """Matched profiles whose partner record's retention has ended (its leaves are NULL)."""
    kept = written.where(F.col(f"{PARTNER_FIELD}.{partner}.provenance.partner").isNotNull())
    return matches.count() - kept.count()


def run(
    workspace: Workspace,
    spark: SparkSession,
    *,
    as_of: datetime | None = None,
    validate_rows: int = DEFAULT_VALIDATE_ROWS,
    full: bool = False,
) -> JobResult:
    """Write `profiles`, count coverage, validate `validate_rows` records (0: all) by schema.

    Incremental unless `full`: only the profiles that changed seeds, matches, delta-changed
    partner persons or ended retention can reach are rebuilt (see jobs.incremental); the
    others are kept from the previous version, with the full run's result."""
    config, now = workspace.config, as_of or datetime.now(UTC)
    registry, schema = workspace_registry(workspace), config.schemas.profile
    partners = list(config.partners)
    fields = profile_fields(workspace, registry)
    require_fields(
        config.seeds.profile_fields,
        fields,
        where="seeds.profile_fields",
        schema=schema,
        command=f"partnerkit schema show {schema} --workspace {shlex.quote(str(workspace.root))}",
    )
    enrichments = [partner_enrichment(p) for p in partners]
    paths = {e.name: partner_attribute_paths(e, fields, schema=schema) for e in enrichments}
    columns = config.seeds.columns
    with open_run(workspace, JOB, spark=spark) as job:
        inputs = {p.name: load_partner_inputs(workspace, spark, p) for p in partners}
        seeds = read_committed(
            spark, workspace.warehouse, SEEDS_TABLE, remedy="run `partnerkit prepare` first"
        )
        suppressed, lists = suppressed_seed_profiles(workspace, spark, job)
        if suppressed is not None:  # the brand's own opt-outs get no partner record
            listed = F.broadcast(suppressed.localCheckpoint())
            inputs = {
                name: (matches.join(listed, "profile_id", "left_anti"), universe)
                for name, (matches, universe) in inputs.items()
            }
        basis = {**enrich_basis(workspace, fields, as_of=now), "suppression": lists}
        rebuild = (
            "--full was given"
            if full
            else profiles_to_rebuild(
                workspace,
                spark,
                seeds=seeds,
                matches={name: matches for name, (matches, _) in inputs.items()},
                basis=basis,
            )
        )
        rebuilt = None if isinstance(rebuild, str) else rebuild.cache()
        job.counts["mode"] = "full" if rebuilt is None else "incremental"
        job.counts["full_because"] = rebuild if isinstance(rebuild, str) else None
        if rebuilt is not None:
            job.counts["rebuilt_profiles"] = rebuilt.count()
            ids = F.col(f"`{columns.profile_id}`").cast("string")
            wanted = rebuilt.select(F.col("profile_id").alias("_rebuilt"))
            seeds = seeds.join(wanted, ids == F.col("_rebuilt"), "left_semi")
        records = {}
        for enrichment in enrichments:
            matches, universe = inputs[enrichment.name]
            if rebuilt is not None:
                matches = matches.join(rebuilt, "profile_id", "left_semi")
            records[enrichment.name] = partner_records(
                matches, universe, partner=enrichment, as_of=now
            )
        profiles = build_profiles(
            attach_partner_records(seeds, records, profile_id=columns.profile_id),
            struct_type=to_struct_type(fields),
            fields=fields,
            profile_id=columns.profile_id,
            contact_columns=columns.model_dump(exclude={"profile_id"}),
            profile_fields=config.seeds.profile_fields,
            partners=enrichments,
            attribute_paths=paths,
            namespaces=workspace_namespaces(workspace),
            primary=config.seeds.primary_identity,
            default_country=config.seeds.default_country,
        )
        if rebuilt is not None:
            previous = read_committed(spark, workspace.warehouse, PROFILES_TABLE)
            unchanged = previous.join(
                rebuilt.withColumnRenamed("profile_id", PROFILE_ID_FIELD),
                PROFILE_ID_FIELD,
                "left_anti",
            )
            profiles = unchanged.unionByName(profiles)
        job.outputs[PROFILES_TABLE] = write_table(profiles, job, PROFILES_TABLE, details=basis)
        written = spark.read.parquet(job.outputs[PROFILES_TABLE])
        domains = {d: group.field for d, group in attribute_domains(registry).items()}
        job.counts["coverage"] = enrichment_coverage(written, enrichments, domains)
        for name, (matches, _) in inputs.items():
            job.counts[f"{name}.expired"] = expired_records(written, matches, name)
        job.outputs.update(write_provider_tables(workspace, job, written, fields, rebuilt=rebuilt))
        if rebuilt is not None:
            rebuilt.unpersist()
        sample = written if validate_rows == 0 else written.limit(validate_rows)
        job.counts["validated_records"] = registry.validate_records(
            schema, (to_json_record(row.asDict(recursive=True)) for row in sample.toLocalIterator())
        )
        job.counts["as_of"] = now.isoformat()
    return job.result()
