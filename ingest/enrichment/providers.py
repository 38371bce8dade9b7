"""Several providers: attribute evidence, canonical choice, and the agreement view.

Every provider's claim about a profile's attribute is kept as its own evidence row, so nothing
is lost when providers disagree. A canonical value is chosen by provider priority (per
attribute domain when configured), then match score, then recency. Agreement compares the
independent claims only: a value declared not independent (a household-level attribute every
member inherits, or one a provider resells from another) never counts as a second line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ingest.audiences.exports import identity_value
from ingest.enrichment.profiles import PARTNER_FIELD, PROFILE_ID_FIELD

EVIDENCE_COLUMNS = (
    "profile_id",
    "provider",
    "domain",
    "attribute",
    "value",
    "partner_id",
    "score",
    "ingested_at",
    "independent",
)
AGREE, DISAGREE, NOT_COMPARABLE = "agree", "disagree", "not_comparable"


def attribute_evidence(
    profiles: DataFrame,
    *,
    providers: Mapping[str, Mapping[str, tuple[str, str]]],
    partner_ids: Mapping[str, Column],
    not_independent: Mapping[str, Sequence[str]],
) -> DataFrame:
    """One row per (profile, provider, attribute) a provider supplies, from the profiles.

    `providers` maps provider -> attribute -> (profile field path, domain); `partner_ids`
    the column holding each provider's matched person; `not_independent` the attributes whose
    values from a provider are not independent claims.
    """
    entries = []
    for provider, attributes in providers.items():
        record = f"{PARTNER_FIELD}.`{provider}`.provenance"
        for attribute, (path, domain) in attributes.items():
            entries.append(
                F.struct(
                    F.lit(provider).alias("provider"),
                    F.lit(domain).alias("domain"),
                    F.lit(attribute).alias("attribute"),
                    F.col(path).cast("string").alias("value"),
                    partner_ids[provider].alias("partner_id"),
                    F.col(f"{record}.overallScore").alias("score"),
                    F.col(f"{record}.ingestedAt").alias("ingested_at"),
                    F.lit(attribute not in not_independent.get(provider, ())).alias("independent"),
                )
            )
    exploded = profiles.select(
        F.col(PROFILE_ID_FIELD).alias("profile_id"), F.explode(F.array(*entries)).alias("e")
    )
    return (
        exploded.select("profile_id", "e.*")
        .where(F.col("value").isNotNull())
        .select(*EVIDENCE_COLUMNS)
    )


def partner_id_column(namespace: str, *, kept: bool) -> Column:
    """The provider's person ID from identityMap, or NULL when its terms forbid keeping it."""
    return identity_value(namespace) if kept else F.lit(None).cast("string")


def provider_rank(
    priorities: Mapping[str, int], domain_order: Mapping[str, Sequence[str]]
) -> Column:
    """Lower is preferred: the domain's configured provider order, else provider priority."""
    rank = F.lit(None).cast("int")
    for domain, order in domain_order.items():
        for position, provider in enumerate(order):
            rank = F.when(
                (F.col("domain") == domain) & (F.col("provider") == provider), F.lit(position)
            ).otherwise(rank)
    by_priority = F.lit(None).cast("int")
    for provider, priority in priorities.items():
        by_priority = F.when(F.col("provider") == provider, F.lit(priority)).otherwise(by_priority)
    # a configured domain order wins; providers it does not list come after, by priority
    return F.coalesce(rank, F.lit(1000) + by_priority)


def canonical_values(
    evidence: DataFrame, *, priorities: Mapping[str, int], domain_order: Mapping[str, Sequence[str]]
) -> DataFrame:
    """Per (profile, attribute): the chosen value, its provider and how many providers spoke."""
    order = Window.partitionBy("profile_id", "attribute").orderBy(
        provider_rank(priorities, domain_order),
        F.col("score").desc_nulls_last(),
        F.col("ingested_at").desc_nulls_last(),
        F.col("provider"),
    )
    ranked = evidence.withColumn("_rank", F.row_number().over(order)).withColumn(
        "providers", F.count(F.lit(1)).over(Window.partitionBy("profile_id", "attribute"))
    )
    return ranked.where(F.col("_rank") == 1).select(
        "profile_id", "domain", "attribute", "value", "provider", "providers"
    )


def agreement(evidence: DataFrame) -> DataFrame:
    """Per (profile, attribute): agree / disagree / not_comparable over independent claims."""
    independent = evidence.where(F.col("independent"))
    cells = independent.groupBy("profile_id", "attribute").agg(
        F.count(F.lit(1)).alias("lines"),
        F.countDistinct("value").alias("values"),
        F.sort_array(F.collect_list("provider")).alias("providers"),
    )
    status = (
        F.when(F.col("lines") < 2, F.lit(NOT_COMPARABLE))
        .when(F.col("values") == 1, F.lit(AGREE))
        .otherwise(F.lit(DISAGREE))
    )
    every_cell = evidence.select("profile_id", "attribute").distinct()
    return every_cell.join(cells, on=["profile_id", "attribute"], how="left").select(
        "profile_id",
        "attribute",
        F.coalesce(F.col("lines"), F.lit(0)).cast("long").alias("lines"),
        F.coalesce(status, F.lit(NOT_COMPARABLE)).alias("status"),
        F.coalesce(F.col("providers"), F.array().cast("array<string>")).alias("providers"),
    )


def pair_agreement(evidence: DataFrame) -> DataFrame:
    """Per provider pair and attribute: cells both claim independently, and how many agree."""
    claims = evidence.where(F.col("independent"))
    a, b = claims.alias("a"), claims.alias("b")
    joined = a.join(
        b,
        (F.col("a.profile_id") == F.col("b.profile_id"))
        & (F.col("a.attribute") == F.col("b.attribute"))
        & (F.col("a.provider") < F.col("b.provider")),
        how="inner",
    )
    return (
        joined.groupBy(
            F.col("a.provider").alias("provider_a"),
            F.col("b.provider").alias("provider_b"),
            F.col("a.attribute").alias("attribute"),
        )
        .agg(
            F.count(F.lit(1)).alias("compared"),
            F.count_if(F.col("a.value") == F.col("b.value")).alias("agree"),
        )
        .withColumn("agreement_rate", F.round(F.col("agree") / F.col("compared"), 6))
    )
