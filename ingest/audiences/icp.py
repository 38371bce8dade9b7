"""Attribute clusters and ICP analysis: frequencies, lift, pairs, FP-Growth itemsets.

A cluster is one (attribute name, value) of a partner universe. Its `cluster_hash` is the MD5
of partner, name and value joined by a unit separator: 32 hex characters that stay the same
across rebuilds because they depend on nothing else. ICP statistics compare how often an
attribute value occurs among the brand's enriched customers with how often it occurs in the
partner's universe (lift), and find attribute pairs and larger sets that occur together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

CLUSTER_SEPARATOR = "\x1f"
CLUSTER_COLUMNS = ("cluster_hash", "cluster_id", "partner", "domain", "name", "value", "size")
ITEM_SEPARATOR = "="


def cluster_hash(partner: str, name: str, value: str) -> str:
    """The stable 32-hex hash of a cluster (pure-Python twin of `cluster_hash_column`)."""
    text = CLUSTER_SEPARATOR.join((partner, name, value))
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def cluster_hash_column(partner: str, name: Column, value: Column) -> Column:
    return F.md5(F.concat_ws(CLUSTER_SEPARATOR, F.lit(partner), name, value))


def cluster_id(hash_column: Column) -> Column:
    """A short numeric ID derived from the hash (so it is stable too)."""
    return (F.conv(F.substring(hash_column, 1, 8), 16, 10).cast("long") + 1_000_000_000).cast(
        "string"
    )


def attribute_items(
    frame: DataFrame, *, key: Column, attributes: Mapping[str, Column], domains: Mapping[str, str]
) -> DataFrame:
    """Long form (key, domain, name, value) of every non-empty attribute value."""
    entries = [
        F.struct(
            F.lit(domains[name]).alias("domain"),
            F.lit(name).alias("name"),
            column.cast("string").alias("value"),
        )
        for name, column in attributes.items()
    ]
    exploded = frame.select(key.alias("key"), F.explode(F.array(*entries)).alias("item"))
    return exploded.select("key", "item.domain", "item.name", "item.value").where(
        F.col("value").isNotNull() & (F.btrim(F.col("value")) != "")
    )


def attribute_clusters(
    universe: DataFrame, *, partner: str, attributes: Mapping[str, str], domains: Mapping[str, str]
) -> DataFrame:
    """Every (name, value) of the universe with its hash, ID, domain and size."""
    items = attribute_items(
        universe,
        key=F.col("partner_id"),
        attributes={name: F.col(f"`{column}`") for name, column in attributes.items()},
        domains=domains,
    )
    sizes = items.groupBy("domain", "name", "value").agg(F.count(F.lit(1)).alias("size"))
    hashed = sizes.withColumn(
        "cluster_hash", cluster_hash_column(partner, F.col("name"), F.col("value"))
    )
    return hashed.select(
        "cluster_hash",
        cluster_id(F.col("cluster_hash")).alias("cluster_id"),
        F.lit(partner).alias("partner"),
        "domain",
        "name",
        "value",
        F.col("size").cast("long").alias("size"),
    )


def select_clusters(
    clusters: DataFrame, *, names: Collection[str] = (), values: Collection[str] = ()
) -> DataFrame:
    """The clusters with one of `names` and one of `values` (either empty: any), in order."""
    if names:
        clusters = clusters.where(F.col("name").isin(sorted(names)))
    if values:
        clusters = clusters.where(F.col("value").isin(sorted(values)))
    return clusters.orderBy("domain", "name", "value")


def attribute_frequencies(
    items: DataFrame, clusters: DataFrame, *, members: int, universe_size: int
) -> DataFrame:
    """Per attribute value: count and rate among members, rate in the universe, lift."""
    counts = items.groupBy("domain", "name", "value").agg(F.countDistinct("key").alias("count"))
    joined = counts.join(
        clusters.select("name", "value", "cluster_hash", "size"), on=["name", "value"], how="left"
    )
    rate = F.col("count") / F.lit(members)
    universe_rate = F.coalesce(F.col("size"), F.lit(0)) / F.lit(max(universe_size, 1))
    return joined.select(
        "cluster_hash",
        "domain",
        "name",
        "value",
        F.col("count").cast("long").alias("count"),
        F.round(rate, 6).alias("rate"),
        F.round(universe_rate, 6).alias("universe_rate"),
        F.round(F.when(universe_rate > 0, rate / universe_rate), 4).alias("lift"),
    )


def item_label(name: Column, value: Column) -> Column:
    return F.concat(name, F.lit(ITEM_SEPARATOR), value)


def attribute_pairs(items: DataFrame, top: Sequence[tuple[str, str]], *, members: int) -> DataFrame:
    """Co-occurrence of the top attribute values two by two: count, support, lift, confidence.

    Lift is observed co-occurrence over what independence would give:
    P(a and b) / (P(a) * P(b)), all among the members.
    """
    wanted = items.where(
        F.struct("name", "value").isin(*[F.struct(F.lit(n), F.lit(v)) for n, v in top])
    ).select("key", item_label(F.col("name"), F.col("value")).alias("item"))
    totals = wanted.groupBy("item").agg(F.countDistinct("key").alias("n"))
    left, right = wanted.alias("a"), wanted.alias("b")
    pairs = (
        left.join(
            right,
            (F.col("a.key") == F.col("b.key")) & (F.col("a.item") < F.col("b.item")),
            how="inner",
        )
        .groupBy(F.col("a.item").alias("a"), F.col("b.item").alias("b"))
        .agg(F.count(F.lit(1)).alias("count"))
    )
    with_a = pairs.join(totals.withColumnsRenamed({"item": "a", "n": "n_a"}), on="a", how="inner")
    scored = with_a.join(totals.withColumnsRenamed({"item": "b", "n": "n_b"}), on="b", how="inner")
    return scored.select(
        "a",
        "b",
        F.col("count").cast("long").alias("count"),
        F.round(F.col("count") / F.lit(members), 6).alias("support"),
        F.round(F.col("count") * F.lit(members) / (F.col("n_a") * F.col("n_b")), 4).alias("lift"),
        F.round(F.col("count") / F.col("n_a"), 4).alias("confidence"),
    )


def frequent_itemsets(
    items: DataFrame,
    top: Sequence[tuple[str, str]],
    *,
    min_support: float,
    min_confidence: float = 0.5,
) -> tuple[DataFrame, DataFrame]:
    """FP-Growth over the members' top attribute values: itemsets and association rules."""
    from pyspark.ml.fpm import FPGrowth  # here: pyspark.ml (numpy, scipy) costs every CLI 0.7 s

    wanted = items.where(
        F.struct("name", "value").isin(*[F.struct(F.lit(n), F.lit(v)) for n, v in top])
    )
    baskets = wanted.groupBy("key").agg(
        F.array_distinct(F.collect_list(item_label(F.col("name"), F.col("value")))).alias("items")
    )
    model = FPGrowth(itemsCol="items", minSupport=min_support, minConfidence=min_confidence).fit(
        baskets
    )
    itemsets = model.freqItemsets.select(
        F.array_sort("items").alias("items"),
        F.size("items").alias("size"),
        F.col("freq").cast("long").alias("count"),
    )
    rules = model.associationRules.select(
        F.array_sort("antecedent").alias("antecedent"),
        "consequent",
        F.round("confidence", 4).alias("confidence"),
        F.round("lift", 4).alias("lift"),
        F.round("support", 6).alias("support"),
    )
    return itemsets, rules


def top_by(frame: DataFrame, order: Sequence[Column | str], limit: int) -> DataFrame:
    """The first `limit` rows in an order (Spark plans a top-k, not a full sort)."""
    return frame.orderBy(*order).limit(limit)
