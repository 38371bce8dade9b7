"""Enrichment: build XDM profiles from seeds, canonical matches and partner attributes.

The grain is the seed set: one profile per 1P profile ID, always. A partner's person ID goes
into identityMap under the partner's namespace for activation only; nothing here joins,
groups or deduplicates profiles by it, so two customers matched to one partner person stay
two profiles. The output's shape is the schema registry's StructType, never typed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from ingest.identity.columns import WHITESPACE_CHARS, normalize_email, normalize_phone
from ingest.identity.profiles import Lowercase, PhoneRule, Trim
from schemas.errors import UnknownFieldError
from schemas.models import FieldDef
from schemas.namespaces import NamespaceCatalog

PROFILE_ID_FIELD = "profileId"
IDENTITY_MAP_FIELD = "identityMap"
PARTNER_FIELD = "_partner"
# Columns of `partner_records`, besides the partner's attribute columns.
RECORD_COLUMNS = (
    "profile_id",
    "partner_id",
    "batch_id",
    "ingested_at",
    "expires_at",
    "expired",
    "overall_quality_score",
    "matched_on",
)
# Seed column role -> the 1P contact field it fills.
CONTACT_FIELDS = {
    "email": "personalEmail.address",
    "phone": "mobilePhone.number",
    "street": "homeAddress.street1",
    "city": "homeAddress.city",
    "state": "homeAddress.stateProvince",
    "postal_code": "homeAddress.postalCode",
    "country": "homeAddress.countryCode",
}
YES = ("y", "yes", "true", "1", "opt_in", "opted_in", "optin")
NO = ("n", "no", "false", "0", "opt_out", "opted_out", "optout")


@dataclass(frozen=True)
class PartnerEnrichment:
    """What the enrichment needs of one partner: namespace, contract terms, attribute columns."""

    name: str
    namespace: str
    persist_partner_id: bool
    retention_days: int
    # attribute domain -> the universe's attribute columns in it
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def attribute_columns(self) -> list[str]:
        return [column for columns in self.attributes.values() for column in columns]


def partner_records(
    matches: DataFrame, universe: DataFrame, *, partner: PartnerEnrichment, as_of: datetime
) -> DataFrame:
    """One row per matched profile: the canonical person's attributes and their provenance.

    A person present in several batches of the current delivery takes the newest. `expired`
    marks records whose retention (ingested_at + retention days) ended before `as_of`.
    """
    people = universe.select("partner_id", "batch_id", "ingested_at", *partner.attribute_columns)
    joined = matches.select("profile_id", "partner_id", "overall_quality_score", "matched_on").join(
        people, on="partner_id", how="inner"
    )
    newest = Window.partitionBy("profile_id").orderBy(
        F.col("ingested_at").desc(), F.col("batch_id").desc()
    )
    expires_at = F.col("ingested_at") + F.make_dt_interval(days=F.lit(partner.retention_days))
    return (
        joined.withColumn("_rank", F.row_number().over(newest))
        .where(F.col("_rank") == 1)
        .withColumn("expires_at", expires_at)
        .withColumn("expired", F.col("expires_at") <= F.lit(as_of))
        .select(*RECORD_COLUMNS, *partner.attribute_columns)
    )


def record_column(partner: str) -> str:
    """The joined struct column that carries one partner's record while profiles are built."""
    return f"__partner_{partner}"


def attach_partner_records(
    seeds: DataFrame, records: Mapping[str, DataFrame], *, profile_id: str
) -> DataFrame:
    """Seeds with one struct column per partner (NULL when unmatched); the seed grain is kept."""
    joined = seeds
    for partner, frame in records.items():
        packed = frame.select(
            F.col("profile_id").alias("__profile_id"),
            F.struct(*[F.col(f"`{c}`") for c in frame.columns]).alias(record_column(partner)),
        )
        joined = joined.join(packed, joined[profile_id] == packed["__profile_id"], how="left").drop(
            "__profile_id"
        )
    return joined


def blank_to_null(value: Column) -> Column:
    trimmed = F.btrim(value, F.lit(WHITESPACE_CHARS))
    return F.when(trimmed != "", trimmed)


def convert_value(value: Column, leaf: FieldDef) -> Column:
    """A seed or partner string parsed into the field's type; unparseable values become NULL."""
    text = blank_to_null(value.cast("string"))
    if leaf.converter == "yes_no":
        lowered = F.lower(text)
        yes = lowered.isin(*YES)
        no = lowered.isin(*NO)
        if isinstance(leaf.spark_type, BooleanType):
            return F.when(yes, F.lit(True)).when(no, F.lit(False))
        return F.when(yes, F.lit("y")).when(no, F.lit("n"))
    if leaf.converter == "country_code":
        upper = F.upper(text)
        return F.when(upper.rlike("^[A-Z]{2}$"), upper)
    target: DataType = leaf.spark_type
    if isinstance(target, StringType):
        return text
    if isinstance(target, DoubleType | LongType | DateType | BooleanType):
        return text.try_cast(target)
    return value.cast(target)


def leaf_by_path(fields: Sequence[FieldDef]) -> dict[str, FieldDef]:
    return {leaf.path: leaf for leaf in fields}


def require_fields(
    paths: Mapping[str, str],
    fields: Sequence[FieldDef],
    *,
    where: str,
    schema: str,
    command: str | None = None,
) -> None:
    """Every target path must be a leaf of the schema; all unknown ones listed at once, with
    the command that lists the schema's fields."""
    known = leaf_by_path(fields)
    unknown = [f"{source} -> {path}" for source, path in paths.items() if path not in known]
    if unknown:
        raise UnknownFieldError(where, unknown, schema, command=command)


def partner_attribute_paths(
    partner: PartnerEnrichment, fields: Sequence[FieldDef], *, schema: str
) -> dict[str, str]:
    """Universe attribute column -> its XDM path under `_partner.<partner>`."""
    by_attribute = {
        (leaf.domain, leaf.partner_attribute): leaf.path
        for leaf in fields
        if leaf.partner == partner.name and leaf.partner_attribute
    }
    paths, unknown = {}, []
    for domain, columns in partner.attributes.items():
        for column in columns:
            path = by_attribute.get((domain, column))
            if path is None:
                unknown.append(f"{domain}.{column}")
            else:
                paths[column] = path
    if unknown:
        raise UnknownFieldError(
            f"partner {partner.name!r} mapping.attributes",
            unknown,
            schema,
            command="partnerkit attributes",
        )
    return paths


def identity_entry(code: str, value: Column, state: str, primary: Column) -> Column:
    """A (namespace, [identity]) entry of identityMap; the array is NULL when value is NULL."""
    identity = F.struct(
        value.alias("id"), F.lit(state).alias("authenticatedState"), primary.alias("primary")
    )
    return F.struct(
        F.lit(code).alias("key"), F.when(value.isNotNull(), F.array(identity)).alias("value")
    )


# The identity map's own forms: the address as the customer wrote it, trimmed and lowercased
# (no platform's dot or tag rules), and the phone in E.164 with its `+`, so one number
# written two ways is one identity. A value the rules reject never becomes an identity.
IDENTITY_EMAIL = (Trim(step="trim"), Lowercase(step="lowercase"))
IDENTITY_PHONE = PhoneRule(format="e164_plus")


def identity_map(
    *,
    profile_id: Column,
    email: Column | None,
    phone: Column | None,
    partner_ids: Mapping[str, Column],
    namespaces: NamespaceCatalog,
    primary: str,
    country: Column | None = None,
    default_country: str | None = None,
) -> Column:
    """identityMap: CRM key, accepted email and phone (primary marked), partner IDs (never
    primary). With `primary="email"` the email is primary where the profile has a valid one,
    else the CRM key."""
    none = F.lit(None).cast("string")
    email_value = normalize_email(email, IDENTITY_EMAIL)["value"] if email is not None else none
    phone_value = (
        normalize_phone(phone, IDENTITY_PHONE, country=country, default_country=default_country)[
            "value"
        ]
        if phone is not None
        else none
    )
    email_primary = email_value.isNotNull() if primary == "email" else F.lit(False)
    entries = [
        identity_entry(namespaces.code_for("crm"), profile_id, "authenticated", ~email_primary),
        identity_entry(namespaces.code_for("email"), email_value, "ambiguous", email_primary),
        identity_entry(namespaces.code_for("phone"), phone_value, "ambiguous", F.lit(False)),
    ]
    entries += [
        identity_entry(code, value, "ambiguous", F.lit(False))
        for code, value in partner_ids.items()
    ]
    return F.map_from_entries(F.filter(F.array(*entries), lambda e: e["value"].isNotNull()))


def _leaf_paths(struct_type: StructType, prefix: str = "") -> list[str]:
    paths = []
    for spark_field in struct_type.fields:
        path = f"{prefix}{spark_field.name}"
        if isinstance(spark_field.dataType, StructType):
            paths += _leaf_paths(spark_field.dataType, f"{path}.")
        else:
            paths.append(path)
    return paths


def field_column(spark_field: StructField, columns: Mapping[str, str], prefix: str = "") -> Column:
    """One schema field from flat leaf columns: a nested struct, a leaf, or a typed NULL."""
    path = f"{prefix}{spark_field.name}"
    if isinstance(spark_field.dataType, StructType):
        column = build_struct(spark_field.dataType, columns, f"{path}.")
    elif path in columns:
        column = F.col(columns[path])
    else:
        column = F.lit(None).cast(spark_field.dataType)
    return column.alias(spark_field.name)


def build_struct(struct_type: StructType, columns: Mapping[str, str], prefix: str = "") -> Column:
    """A struct in the schema's exact shape from flat leaf columns; NULL when it holds nothing.

    Leaves are referenced by column name (computed in an earlier projection), so the nested
    "holds anything" checks stay small instead of repeating whole leaf expressions per level.
    """
    children = [field_column(f, columns, prefix) for f in struct_type.fields]
    present = [
        F.col(columns[p]).isNotNull() for p in _leaf_paths(struct_type, prefix) if p in columns
    ]
    if not present:
        return F.lit(None).cast(struct_type)
    any_value = present[0]
    for check in present[1:]:
        any_value = any_value | check
    return F.when(any_value, F.struct(*children))


def partner_leaves(
    partner: PartnerEnrichment, attribute_paths: Mapping[str, str], fields: Mapping[str, FieldDef]
) -> dict[str, Column]:
    """The `_partner.<partner>` leaves from the joined record; all NULL when expired."""
    record = F.col(record_column(partner.name))
    kept = record.isNotNull() & ~record["expired"]
    base = f"{PARTNER_FIELD}.{partner.name}.provenance"
    provenance = {
        "partner": F.lit(partner.name),
        "batchId": record["batch_id"],
        "matchedOn": record["matched_on"],
        "overallScore": record["overall_quality_score"],
        "ingestedAt": record["ingested_at"],
        "expiresAt": record["expires_at"],
    }
    leaves = {f"{base}.{name}": F.when(kept, value) for name, value in provenance.items()}
    for column, path in attribute_paths.items():
        leaves[path] = F.when(kept, convert_value(record[column], fields[path]))
    return leaves


def partner_identity(partner: PartnerEnrichment) -> Column | None:
    """The partner ID for identityMap, or None when the contract forbids persisting it."""
    if not partner.persist_partner_id:
        return None
    record = F.col(record_column(partner.name))
    return F.when(record.isNotNull() & ~record["expired"], record["partner_id"])


def build_profiles(
    seeds: DataFrame,
    *,
    struct_type: StructType,
    fields: Sequence[FieldDef],
    profile_id: str,
    contact_columns: Mapping[str, str | None],
    profile_fields: Mapping[str, str],
    partners: Sequence[PartnerEnrichment],
    attribute_paths: Mapping[str, Mapping[str, str]],
    namespaces: NamespaceCatalog,
    primary: str = "email",
    default_country: str | None = None,
) -> DataFrame:
    """Profiles in the schema's shape from seeds carrying one record column per partner."""
    by_path = leaf_by_path(fields)
    leaves: dict[str, Column] = {PROFILE_ID_FIELD: F.col(profile_id).cast("string")}
    sources = {
        **{CONTACT_FIELDS[role]: c for role, c in contact_columns.items() if c},
        **{path: column for column, path in profile_fields.items()},
    }
    for path, column in sources.items():
        if path in by_path:
            leaves[path] = convert_value(F.col(f"`{column}`"), by_path[path])
    for partner in partners:
        leaves.update(partner_leaves(partner, attribute_paths[partner.name], by_path))
    partner_ids = {
        partner.namespace: identity
        for partner in partners
        if (identity := partner_identity(partner)) is not None
    }
    leaves[IDENTITY_MAP_FIELD] = identity_map(
        profile_id=F.col(profile_id).cast("string"),
        email=F.col(c) if (c := contact_columns.get("email")) else None,
        phone=F.col(c) if (c := contact_columns.get("phone")) else None,
        partner_ids=partner_ids,
        namespaces=namespaces,
        primary=primary,
        country=F.col(c) if (c := contact_columns.get("country")) else None,
        default_country=default_country,
    )
    types = {path: leaf.spark_type for path, leaf in by_path.items()}
    names = {path: f"__leaf_{number}" for number, path in enumerate(leaves)}
    flat = seeds.select(
        *[leaves[path].cast(types.get(path, StringType())).alias(names[path]) for path in leaves]
    )
    return flat.select(*[field_column(f, names) for f in struct_type.fields])


def enrichment_coverage(
    profiles: DataFrame, partners: Sequence[PartnerEnrichment], domain_fields: Mapping[str, str]
) -> dict[str, object]:
    """Profiles enriched per partner and per domain, counted in one aggregation."""
    aggregates = [F.count(F.lit(1)).alias("profiles")]
    for partner in partners:
        record = F.col(f"{PARTNER_FIELD}.`{partner.name}`")
        ids = F.col(IDENTITY_MAP_FIELD)[partner.namespace]
        aggregates += [
            F.count_if(record.isNotNull()).alias(f"{partner.name}|enriched"),
            F.count_if(ids.isNotNull()).alias(f"{partner.name}|with_partner_id"),
        ]
        aggregates += [
            F.count_if(record[domain_fields[domain]].isNotNull()).alias(
                f"{partner.name}|domain|{domain}"
            )
            for domain in partner.attributes
        ]
    row = profiles.agg(*aggregates).first()
    counts = row.asDict() if row is not None else {}
    coverage: dict[str, object] = {"profiles": counts.pop("profiles", 0)}
    for key, value in counts.items():
        partner_name, *rest = key.split("|")
        entry = coverage.setdefault(partner_name, {"domains": {}})
        if rest[0] == "domain":
            entry["domains"][rest[1]] = value  # type: ignore[index]
        else:
            entry[rest[0]] = value  # type: ignore[index]
    return coverage


def find_profiles(
    profiles: DataFrame, *, profile_id: str | None, email: str | None, email_namespace: str
) -> DataFrame:
    """Profiles with this profile ID, or with this email in identityMap (same trim + lowercase)."""
    if profile_id is not None:
        return profiles.where(F.col(PROFILE_ID_FIELD) == F.lit(profile_id))
    wanted = F.lower(blank_to_null(F.lit(email)))
    identities = F.col(IDENTITY_MAP_FIELD)[email_namespace]
    return profiles.where(F.exists(identities, lambda identity: identity["id"] == wanted))


def person_domains(
    universe: DataFrame, *, domains: Mapping[str, Mapping[str, str]], person_ids: Sequence[str] = ()
) -> DataFrame:
    """A partner person as flat key/values: person_id, metadata, and flat `domains` key/values.

    `domains` maps each requested domain to {output key: universe column}; identifier domains
    use numbered keys (email1, email2). Missing values stay NULL, so JSON output omits them.
    A person in several current batches takes the newest.
    """
    people = universe
    if person_ids:
        people = people.where(F.col("partner_id").isin(*person_ids))
    newest = Window.partitionBy("partner_id").orderBy(
        F.col("ingested_at").desc(), F.col("batch_id").desc()
    )
    keys = [(key, column) for columns in domains.values() for key, column in columns.items()]
    quality = F.col("confidence") if "confidence" in universe.columns else F.lit(None)
    return (
        people.withColumn("_rank", F.row_number().over(newest))
        .where(F.col("_rank") == 1)
        .select(
            F.col("partner_id").alias("person_id"),
            F.struct(
                quality.cast("double").alias("quality_score"),
                F.col("ingested_at").alias("last_modified"),
                F.col("batch_id").alias("batch_id"),
            ).alias("metadata"),
            F.struct(*[blank_to_null(F.col(f"`{c}`")).alias(k) for k, c in keys]).alias("domains"),
        )
    )
