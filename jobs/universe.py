"""Reading a partner universe for matching: mapped columns checked, hash forms verified."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from ingest.identity.detection import require_declared_forms, sample_values
from ingest.matching import IdentifierSource, universe_identifiers
from ingest.readers import read_file, require_columns
from jobs.config import PartnerConfig, Workspace


def load_universe_identifiers(
    workspace: Workspace, spark: SparkSession, partner: PartnerConfig
) -> tuple[DataFrame, dict[str, str]]:
    """The universe in long (person, kind, hash bytes) form, and the detected form per column.

    Raises MissingColumnsError or HashMismatchError naming the file before any join runs.
    """
    source = workspace.resolve(partner.source.path)
    mapping = partner.mapping
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
    identifiers = universe_identifiers(
        universe,
        partner_id=mapping.partner_id,
        identifiers=[IdentifierSource(i.column, i.kind) for i in mapping.identifiers],
        confidence=mapping.confidence,
        hash_type=partner.hash,
        encoding=partner.hash_encoding,
    )
    return identifiers, detected
