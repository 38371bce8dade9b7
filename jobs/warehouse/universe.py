"""Reading a partner universe for matching: the ingested table, else the delivery itself.

After `partnerkit ingest`, the universe is `partner/<partner>` in the warehouse: every batch
already checked (hash forms, duplicates) and stored as Parquet, so matching scans only the
identifier columns. Without an ingested batch, the configured delivery is read directly
(mapped columns checked, hash forms verified on a sample) so a first trial needs no ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.audiences.icp import attribute_clusters, select_clusters
from ingest.deltas import SOURCE_BATCH
from ingest.identity.detection import require_declared_forms, sample_values
from ingest.ledger import Ledger
from ingest.matching import IdentifierSource, universe_identifiers
from ingest.partner_files import HELD
from ingest.readers import read_file, require_columns
from jobs.config import PartnerConfig, Workspace
from jobs.errors import PartialDeliveryError, WorkspaceError
from jobs.runtime.runs import current_run
from jobs.warehouse.catalogue import CLUSTERS_TABLE, PARTNER_TABLE
from jobs.warehouse.commits import committed_uris, read_manifest
from jobs.warehouse.tables import committed_table, note_table_read, write_table

logger = logging.getLogger(__name__)


def universe_unit(partner: str) -> str:
    return f"{PARTNER_TABLE}/{partner}"


def current_batch_ids(workspace: Workspace, partner: str) -> list[str]:
    """The batches of the partner's committed delivery ([] before its first)."""
    entry = read_manifest(workspace.warehouse).tables.get(universe_unit(partner))
    return [folder.removeprefix("batch_id=") for folder in entry.folders] if entry else []


def universe_delivery(workspace: Workspace, partner: str) -> str | None:
    """The ingest run (workflow ID) whose delivery is the partner's current universe."""
    entry = read_manifest(workspace.warehouse).tables.get(universe_unit(partner))
    return entry.workflow_id if entry else None


UNPUBLISHED = ("failed", "unpublished", "abandoned")


def require_whole_delivery(workspace: Workspace, partner: str) -> None:
    """Refuse to use a universe when the partner's newest delivery was not published.

    The committed universe is then an older delivery (or none): matching on it would look
    like success on data the partner has replaced.
    """
    newest = Ledger(workspace.ledger_path).latest_delivery(partner)
    entry = read_manifest(workspace.warehouse).tables.get(universe_unit(partner))
    if not newest or (entry is not None and newest[0].workflow_id == entry.workflow_id):
        return
    broken = [b for b in newest if b.status in UNPUBLISHED]
    if not broken:
        return
    first = min(broken, key=lambda b: UNPUBLISHED.index(b.status))  # the cause, not its echo
    reason = f"{first.status}: {first.error}" if first.error else first.status
    in_use = "the previous delivery is still current" if entry else "no delivery is published"
    raise PartialDeliveryError(
        f"partner {partner}: its newest delivery ({len(newest)} file(s), started "
        f"{newest[0].started_at}) was not published because {first.source_uri} "
        f"{reason}; {in_use}. Fix the file and run `partnerkit ingest --partner {partner}` "
        "on the whole delivery again"
    )


def read_batches(spark: SparkSession, *folders: str, table: str | None = None) -> DataFrame:
    """Stored delivery batches as every reader sees them: without `_held`, the checking
    pass's column (NULL in every accepted row; batches ingested before it have none).
    `table`: the table's root, so its partition columns (`batch_id`) are read too."""
    reader = spark.read.option("basePath", table) if table else spark.read
    return reader.parquet(*folders).drop(HELD)


def current_universe(workspace: Workspace, spark: SparkSession, partner: str) -> DataFrame | None:
    """The batches of the partner's committed delivery (all of them, or none), or None."""
    folders = committed_uris(workspace.warehouse, universe_unit(partner), spark)
    if not folders:
        return None
    table = f"{workspace.warehouse.rstrip('/')}/{universe_unit(partner)}"
    universe = read_batches(spark, *folders, table=table)
    note_table_read(universe_unit(partner), folders, universe)
    if SOURCE_BATCH not in universe.columns:
        return universe
    # A delta's fold is one folder; its rows name the batches they were delivered in.
    delivered_in = F.coalesce(F.col(SOURCE_BATCH), F.col("batch_id"))
    return universe.withColumn("batch_id", delivered_in).drop(SOURCE_BATCH)


INGESTED = "ingested batches"


def ingested_identifiers(rows: DataFrame, partner: PartnerConfig) -> DataFrame:
    """Ingested universe rows (or a delta's changed rows) in long (person, kind, hash) form."""
    return universe_identifiers(
        rows,
        partner_id="partner_id",
        identifiers=[IdentifierSource(i.column, i.kind) for i in partner.mapping.identifiers],
        confidence="confidence" if partner.mapping.confidence else None,
        hash_type=partner.hash,
        encoding=partner.hash_encoding,
    )


def load_universe_identifiers(
    workspace: Workspace, spark: SparkSession, partner: PartnerConfig
) -> tuple[DataFrame, dict[str, object]]:
    """The universe in long (person, kind, hash bytes) form, and where it came from.

    Raises MissingColumnsError or HashMismatchError naming the file before any join runs.
    """
    mapping = partner.mapping
    identifiers = [IdentifierSource(i.column, i.kind) for i in mapping.identifiers]
    require_whole_delivery(workspace, partner.name)
    universe = current_universe(workspace, spark, partner.name)
    if universe is not None:
        return ingested_identifiers(universe, partner), {
            "source": f"{PARTNER_TABLE}/{partner.name}",
            "format": INGESTED,
        }
    source = workspace.resolve(partner.source.path)
    local = "://" not in source and not any(wildcard in source for wildcard in "*?[")
    if local and not Path(source).exists():
        raise WorkspaceError(
            source,
            f"partner {partner.name}'s delivery (its source.path), or an ingested batch: "
            f"`partnerkit ingest --partner {partner.name} SOURCE`",
        )
    logger.info("partner %s has no ingested batch; reading %s directly", partner.name, source)
    universe = read_file(
        spark, source, file_format=partner.source.format, options=partner.source.options
    )
    identifier_columns = [i.column for i in mapping.identifiers]
    require_columns(
        universe, [mapping.partner_id, mapping.confidence, *identifier_columns], file=source
    )
    detected = require_declared_forms(
        sample_values(universe, identifier_columns),
        {i.column: (i.kind, partner.hash, partner.hash_encoding) for i in mapping.identifiers},
        file=source,
    )
    return universe_identifiers(
        universe,
        partner_id=mapping.partner_id,
        identifiers=identifiers,
        confidence=mapping.confidence,
        hash_type=partner.hash,
        encoding=partner.hash_encoding,
    ), {"source": partner.source.path, "format": partner.source.format, "detected_forms": detected}


def partner_attribute_columns(partner: PartnerConfig) -> tuple[dict[str, str], dict[str, str]]:
    """Attribute name -> universe column, and attribute name -> domain (names = columns)."""
    columns = {c: c for cols in partner.mapping.attributes.values() for c in cols}
    domains = {c: d for d, cols in partner.mapping.attributes.items() for c in cols}
    return columns, domains


def load_clusters(
    workspace: Workspace, spark: SparkSession, partner: PartnerConfig
) -> tuple[DataFrame, int]:
    """The partner's attribute clusters and universe size, rebuilt when the delivery changed.

    Stored as `clusters/<partner>` with the batch IDs it was built from, so a new delivery
    (a new `partnerkit ingest`) rebuilds it and an unchanged one is read back. Kept only
    when a writing job asks (icp, lookalike); `partnerkit clusters` builds without keeping.
    """
    batches = ",".join(current_batch_ids(workspace, partner.name))
    universe = current_universe(workspace, spark, partner.name)
    if universe is None:
        expected = f"an ingested batch; run `partnerkit ingest --partner {partner.name}` first"
        raise WorkspaceError(f"partner/{partner.name}", expected)
    table = f"{CLUSTERS_TABLE}/{partner.name}"
    stored = committed_table(spark, workspace.warehouse, table)
    if stored is not None:
        first = stored.select("source_batches", "universe_size").first()
        if first is not None and first["source_batches"] == batches:
            return stored.drop("source_batches", "universe_size"), int(first["universe_size"])
    logger.info("building clusters for %s", partner.name)
    columns, domains = partner_attribute_columns(partner)
    size = universe.select("partner_id").distinct().count()
    clusters = attribute_clusters(
        universe, partner=partner.name, attributes=columns, domains=domains
    )
    labelled = clusters.withColumns(
        {"source_batches": F.lit(batches), "universe_size": F.lit(size)}
    )
    run = current_run()
    if run is None or run.commit is None:  # a read outside a writing job: built, not kept
        return labelled.drop("source_batches", "universe_size"), size
    path = write_table(labelled, run, table)
    return spark.read.parquet(path).drop("source_batches", "universe_size"), size


def list_clusters(
    workspace: Workspace,
    spark: SparkSession,
    partner: PartnerConfig,
    *,
    names: Collection[str] = (),
    values: Collection[str] = (),
) -> tuple[list[dict[str, Any]], int]:
    """The partner's clusters with the given names and values as rows, and the universe size."""
    clusters, size = load_clusters(workspace, spark, partner)
    chosen = select_clusters(clusters, names=names, values=values)
    return [row.asDict() for row in chosen.collect()], size
