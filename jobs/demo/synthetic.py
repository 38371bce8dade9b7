"""Demo data with known ground truth: a messy 1P seed set and a hashed partner universe.

Everything is a Spark column expression over `spark.range`, so generation scales with the
cluster, and every random choice is a hash of (seed, salt, index), so a given `--seed` always
gives the same files. Each person has one canonical identity (the form the partner normalized
before hashing); seeds show it the way CRM exports do: mixed case, stray whitespace, Gmail dots
and +tags, many phone layouts, spelled-out street suffixes, invalid and empty cells.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from ingest.identity.columns import literal_expression, sql_literal
from schemas.attributes import AttributeCatalog

# The index of the identity behind a row: universe persons are 0..M-1, identities that only
# the brand knows are M + seed index, and spare phone numbers live far above both.
IDENTITY = "identity_index"

FIRST_NAMES = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Steven",
    "Ashley",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenji",
    "Amara",
    "Priya",
    "Lucas",
    "Sofia",
    "Mateo",
    "Chloe",
    "Noah",
    "Aisha",
    "Liam",
    "Elena",
    "Omar",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Nguyen",
    "Patel",
    "Kim",
    "Okafor",
    "Schmidt",
    "Dubois",
    "Tanaka",
    "Silva",
    "Kowalski",
    "Murphy",
)
# gmail.com exercises the Gmail rules; the rest are reserved example domains (RFC 2606).
EMAIL_DOMAINS = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "example.com",
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "example.co.uk",
)
STREET_NAMES = (
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Sunset",
    "Park",
    "Ridge",
    "Church",
    "Highland",
    "Franklin",
    "Jefferson",
    "Lincoln",
    "Madison",
    "Spring",
    "Walnut",
    "Willow",
    "River",
    "Center",
    "Mill",
    "Forest",
    "Meadow",
    "Valley",
)
# (spelled out, USPS Publication 28 abbreviation)
STREET_SUFFIXES = (
    ("Street", "ST"),
    ("Avenue", "AVE"),
    ("Road", "RD"),
    ("Boulevard", "BLVD"),
    ("Lane", "LN"),
    ("Drive", "DR"),
    ("Court", "CT"),
    ("Place", "PL"),
    ("Terrace", "TER"),
    ("Parkway", "PKWY"),
)
CITIES = (
    ("San Francisco", "CA", "94105"),
    ("Los Angeles", "CA", "90012"),
    ("New York", "NY", "10001"),
    ("Brooklyn", "NY", "11201"),
    ("Chicago", "IL", "60601"),
    ("Houston", "TX", "77002"),
    ("Austin", "TX", "78701"),
    ("Seattle", "WA", "98101"),
    ("Boston", "MA", "02108"),
    ("Miami", "FL", "33130"),
    ("Atlanta", "GA", "30303"),
    ("Denver", "CO", "80202"),
    ("Phoenix", "AZ", "85004"),
    ("Portland", "OR", "97204"),
    ("Newark", "NJ", "07102"),
    ("Philadelphia", "PA", "19103"),
    ("Minneapolis", "MN", "55401"),
    ("Nashville", "TN", "37203"),
)
# Area codes chosen so no national number collides with another country's in this generator.
US_AREA_CODES = (
    "201",
    "212",
    "213",
    "214",
    "206",
    "303",
    "305",
    "312",
    "404",
    "415",
    "512",
    "617",
    "646",
    "702",
    "718",
    "773",
    "808",
    "818",
    "480",
    "503",
)
CA_AREA_CODES = ("416", "604", "514", "403", "613")
# (ISO country, calling code, share in percent, national-number prefix, random digits,
#  trunk prefix written in national format)
COUNTRIES = (
    ("US", "1", 84, "", 0, "1"),
    ("CA", "1", 4, "", 0, "1"),
    ("GB", "44", 3, "74", 8, "0"),
    ("DE", "49", 2, "151", 8, "0"),
    ("FR", "33", 2, "6", 8, "0"),
    ("IN", "91", 1, "9", 9, "0"),
    ("BR", "55", 1, "119", 8, "0"),
    ("JP", "81", 2, "90", 8, "0"),
    ("AU", "61", 1, "4", 8, "0"),
)
# Persons in the seed set lean towards these values, so ICP analysis has a real profile to find.
ICP_PREFERENCES = {
    "age_range": "35-44",
    "household_income_range": "$100K-$150K",
    "interested_fitness": "Yes",
    "is_health_conscious": "Yes",
    "health_affinity": "High",
}
US_NUMBER_SPACE = 8_000_000  # seven-digit subscriber numbers 200-0000..999-9999
SCRAMBLE = 7_919  # a prime; multiplying by it mod 10^k is a bijection, so numbers stay unique

UNIVERSE_IDENTIFIER_COLUMNS = (
    "email1",
    "email2",
    "email3",
    "phone1",
    "phone2",
    "address1",
    "maid1",
)
SEED_COLUMNS = (
    "profile_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "email_consent",
    "sms_consent",
    "loyalty_tier",
    "lifetime_value",
    "signup_date",
    "has_financial_advisor",
)
GROUND_TRUTH_COLUMNS = (
    "profile_id",
    "person_id",
    "email_in_universe",
    "phone_in_universe",
    "address_in_universe",
    "email_variant",
    "phone_variant",
    "address_variant",
)


class GeneratorSettings(BaseModel):
    """How much to generate and from which random seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seeds: int = Field(ge=1)
    universe: int = Field(ge=1)
    seed: int = 42
    in_universe_percent: int = Field(default=70, ge=0, le=100)
    # A second partner: this share of the first partner's persons, with this share of their
    # attribute values changed to another value of the set (the known disagreement).
    second_overlap_percent: int = Field(default=70, ge=0, le=100)
    second_disagree_percent: int = Field(default=10, ge=0, le=100)
    # Deltas after the first (full) delivery, each changing this share of the universe: a
    # third deleted, a third with changed attributes, and a third as many new persons.
    deliveries: int = Field(default=0, ge=0)
    delta_percent: float = Field(default=1.0, gt=0, le=30)

    @model_validator(mode="after")
    def _deltas_fit(self) -> GeneratorSettings:
        if 2 * self.deliveries * self.delta_band > FATES:
            raise ValueError(
                f"{self.deliveries} deltas of {self.delta_percent}% would change some persons "
                "twice; ask for fewer or smaller deltas"
            )
        return self

    @property
    def delta_band(self) -> int:
        """How many of every FATES persons one delta deletes (and as many it changes)."""
        return max(1, round(self.delta_percent * FATES / 100 / 3))

    @property
    def stride(self) -> int:
        """A multiplier coprime with the universe size: seed i -> person (i * stride) mod M."""
        stride = 1_000_003
        while math.gcd(stride, self.universe) != 1:
            stride += 2
        return stride

    @property
    def spare_base(self) -> int:
        """First identity index that is neither a universe person nor a seed-only identity."""
        return self.universe + self.seeds


def roll(seed: int, salt: str, key: Column, modulo: int) -> Column:
    """A deterministic pseudo-random integer in [0, modulo) for each row."""
    return F.pmod(F.xxhash64(F.lit(seed), F.lit(salt), key), F.lit(modulo))


def chance(seed: int, salt: str, key: Column, percent: int) -> Column:
    """True for about `percent` % of rows, always the same rows for the same seed."""
    return roll(seed, salt, key, 100) < percent


def pick(values: Sequence[str], index: Column) -> Column:
    """The value at a 0-based index column; the array is one SQL literal, one call into the
    JVM instead of one per value."""
    return F.element_at(
        literal_expression("array", map(sql_literal, values)), index.cast("int") + 1
    )


def pick_by_roll(seed: int, salt: str, key: Column, values: Sequence[str]) -> Column:
    return pick(values, roll(seed, salt, key, len(values)))


def choose_by_share(draw: Column, shares: Sequence[tuple[str, int]]) -> Column:
    """The label whose cumulative share first exceeds a draw in [0, 100); shares sum to 100."""
    *leading, (last, _share) = shares
    expression: Column | None = None
    cumulative = 0
    for label, share in leading:
        cumulative += share
        condition = draw < cumulative
        expression = (
            F.when(condition, F.lit(label))
            if expression is None
            else expression.when(condition, F.lit(label))
        )
    return F.lit(last) if expression is None else expression.otherwise(F.lit(last))


def country_of(seed: int, key: Column) -> Column:
    """An ISO country drawn with the shares in COUNTRIES."""
    draw = roll(seed, "country", key, 100)
    return choose_by_share(draw, [(code, share) for code, _calling, share, *_ in COUNTRIES])


def nanp_number(key: Column, area_codes: Sequence[str]) -> Column:
    """Area code by key, then a seven-digit subscriber number unique per (area, key)."""
    area = pick(area_codes, F.pmod(key, F.lit(len(area_codes))))
    subscriber = F.lit(2_000_000) + F.pmod(
        F.floor(key / len(area_codes)) * SCRAMBLE, F.lit(US_NUMBER_SPACE)
    )
    return F.concat(area, subscriber.cast("string"))


def national_number(seed: int, key: Column, country: Column) -> Column:
    """A unique national significant number (no trunk 0, no country code) for an identity."""
    expression = F.when(country == "CA", nanp_number(key, CA_AREA_CODES)).otherwise(
        nanp_number(key, US_AREA_CODES)
    )
    for code, _calling, _share, prefix, digits, _trunk in COUNTRIES:
        if not digits:
            continue
        body = F.lpad(F.pmod(key * SCRAMBLE, F.lit(10**digits)).cast("string"), digits, "0")
        expression = F.when(country == code, F.concat(F.lit(prefix), body)).otherwise(expression)
    return expression


def calling_code_of(country: Column) -> Column:
    expression = F.lit(None).cast("string")
    for code, calling, *_ in COUNTRIES:
        expression = F.when(country == code, F.lit(calling)).otherwise(expression)
    return expression


HOUSE_NUMBERS = 9899
ADDRESS_SPACE = HOUSE_NUMBERS * len(STREET_NAMES) * len(STREET_SUFFIXES) * len(CITIES)


def address_digits(index: Column) -> tuple[Column, Column, Column, Column]:
    """(house, street, suffix, city) indexes, unique per identity below ADDRESS_SPACE (48M).

    A scrambled index is read as a mixed-radix number, so two persons never share an address
    by chance and an address-only match in the ground truth is exact. SCRAMBLE is coprime
    with ADDRESS_SPACE, so the scramble is a bijection.
    """
    scrambled = F.pmod(index * SCRAMBLE, F.lit(ADDRESS_SPACE))
    house = F.pmod(scrambled, F.lit(HOUSE_NUMBERS))
    rest = F.floor(scrambled / HOUSE_NUMBERS)
    street = F.pmod(rest, F.lit(len(STREET_NAMES)))
    rest = F.floor(rest / len(STREET_NAMES))
    suffix = F.pmod(rest, F.lit(len(STREET_SUFFIXES)))
    city = F.pmod(F.floor(rest / len(STREET_SUFFIXES)), F.lit(len(CITIES)))
    return house, street, suffix, city


def with_identity(frame: DataFrame, *, seed: int, key: str = IDENTITY) -> DataFrame:
    """Add one person's canonical identity (names, email, phone, address) for an index column."""
    index = F.col(key)
    first = pick_by_roll(seed, "first", index, FIRST_NAMES)
    last = pick_by_roll(seed, "last", index, LAST_NAMES)
    domain = pick_by_roll(seed, "domain", index, EMAIL_DOMAINS)
    house, street, suffix, city = address_digits(index)
    has_unit = chance(seed, "unit", index, 20)
    unit = F.concat(
        (roll(seed, "unit_no", index, 30) + 1).cast("string"),
        pick_by_roll(seed, "unit_letter", index, ("", "A", "B", "C")),
    )
    return (
        frame.withColumn("first_name", first)
        .withColumn("last_name", last)
        .withColumn("email_domain", domain)
        # Gmail ignores dots, so its canonical local part has none; elsewhere dots are real.
        .withColumn(
            "email_local",
            F.when(
                domain == "gmail.com",
                F.concat(F.lower(first), F.lower(last), index.cast("string")),
            ).otherwise(F.concat(F.lower(first), F.lit("."), F.lower(last), index.cast("string"))),
        )
        .withColumn("email_canonical", F.concat_ws("@", "email_local", "email_domain"))
        .withColumn("country", country_of(seed, index))
        .withColumn("phone_national", national_number(seed, index, F.col("country")))
        .withColumn("calling_code", calling_code_of(F.col("country")))
        .withColumn("house_number", (house + 1).cast("string"))
        .withColumn("street_name", pick(STREET_NAMES, street))
        .withColumn("suffix_long", pick([s[0] for s in STREET_SUFFIXES], suffix))
        .withColumn("suffix_short", pick([s[1] for s in STREET_SUFFIXES], suffix))
        .withColumn("unit", F.when(has_unit, unit))
        .withColumn("city", pick([c[0] for c in CITIES], city))
        .withColumn("state", pick([c[1] for c in CITIES], city))
        .withColumn("zip5", pick([c[2] for c in CITIES], city))
        # The USPS one-line form: uppercase, abbreviations, no punctuation, ZIP5.
        .withColumn(
            "address_canonical",
            F.when(
                F.col("country") == "US",
                F.upper(
                    F.concat_ws(
                        " ",
                        "house_number",
                        "street_name",
                        "suffix_short",
                        F.when(has_unit, F.concat(F.lit("APT "), F.col("unit"))),
                        "city",
                        "state",
                        "zip5",
                    )
                ),
            ),
        )
    )


def sha256_hex(value: Column) -> Column:
    return F.sha2(value, 256)


def build_universe(
    spark: SparkSession,
    settings: GeneratorSettings,
    catalog: AttributeCatalog,
    *,
    partitions: int,
) -> DataFrame:
    """The partner's universe: one row per person, identifiers SHA-256 hashed, attributes."""
    people = spark.range(0, settings.universe, 1, partitions).withColumnRenamed("id", IDENTITY)
    return universe_records(people, settings, catalog)


def universe_records(
    people: DataFrame,
    settings: GeneratorSettings,
    catalog: AttributeCatalog,
    *,
    attribute_seed: int | None = None,
    person_id: Callable[[Column], Column] | None = None,
) -> DataFrame:
    """The universe rows of the persons (identity indexes) in `people`; attributes drawn with
    `attribute_seed` (a delta's changed values) and IDs made by `person_id` (new persons)."""
    seed = settings.seed
    index = F.col(IDENTITY)
    inverse = pow(settings.stride, -1, settings.universe) if settings.universe > 1 else 0
    seed_index = F.pmod(index * F.lit(inverse), F.lit(settings.universe))
    people = (
        with_identity(people, seed=seed)
        .withColumn(
            "is_customer",
            (seed_index < settings.seeds)
            & chance(seed, "in_universe", seed_index, settings.in_universe_percent),
        )
        .withColumn(
            "phone2_national",
            # A spare identity range: a number of the person's country no one else has.
            national_number(seed, index + F.lit(2 * settings.spare_base), F.col("country")),
        )
    )
    identifiers = {
        "email1": sha256_hex(F.col("email_canonical")),
        "email2": F.when(
            has_alternate_email(seed, index),
            sha256_hex(alternate_email(index)),
        ),
        "email3": F.when(
            chance(seed, "email3", index, 15),
            sha256_hex(F.concat(F.lit("p"), index.cast("string"), F.lit("@example.org"))),
        ),
        "phone1": F.when(has_partner_phone(seed, index), sha256_hex(F.col("phone_national"))),
        "phone2": F.when(chance(seed, "phone2", index, 30), sha256_hex(F.col("phone2_national"))),
        "address1": F.when(
            has_partner_address(seed, index), sha256_hex(F.col("address_canonical"))
        ),
        "maid1": F.when(
            chance(seed, "maid", index, 50),
            sha256_hex(mobile_ad_id(seed, index)),
        ),
    }
    drawn_with = settings.seed if attribute_seed is None else attribute_seed
    attributes = {
        attribute.name: attribute_value(drawn_with, attribute.name, attribute.values, index)
        for _domain, attribute in catalog.attributes()
    }
    return people.select(
        (person_id or partner_person_id)(index).alias("person_id"),
        *[expression.alias(name) for name, expression in identifiers.items()],
        (F.lit(0.5) + roll(seed, "confidence", index, 50) / 100).alias("confidence"),
        F.date_add(F.lit("2025-01-01").cast("date"), roll(seed, "modified", index, 300).cast("int"))
        .cast("string")
        .alias("last_modified"),
        *[expression.alias(name) for name, expression in attributes.items()],
    )


FATES = 10_000  # a person's fate in 0..9999 decides in which delta it is deleted or changed
OPERATION = "operation"


def fate(settings: GeneratorSettings, index: Column) -> Column:
    return roll(settings.seed, "fate", index, FATES)


def deleted_by(settings: GeneratorSettings, number: int, index: Column) -> Column:
    """Whether delta `number` or an earlier one deleted the universe person at `index`."""
    return fate(settings, index) < number * settings.delta_band


def changed_in(settings: GeneratorSettings, number: int, index: Column) -> Column:
    """Whether delta `number` changes the attributes of the person at `index` (never one a
    delta deletes: the bands do not overlap)."""
    start = (settings.deliveries + number - 1) * settings.delta_band
    return fate(settings, index).between(start, start + settings.delta_band - 1)


def new_person_id(number: int) -> Callable[[Column], Column]:
    return lambda index: F.concat(F.lit(f"N{number:03d}-"), index.cast("string"))


def build_delta(
    spark: SparkSession,
    settings: GeneratorSettings,
    catalog: AttributeCatalog,
    number: int,
    *,
    partitions: int,
) -> DataFrame:
    """Delta `number` (1..deliveries): the universe columns and `operation`. Deletes carry the
    person ID only; changed persons their whole record with attributes drawn anew; new
    persons identities of a range no seed and no other delta uses."""
    people = spark.range(0, settings.universe, 1, partitions).withColumnRenamed("id", IDENTITY)
    index = F.col(IDENTITY)
    start = fate(settings, index) >= (number - 1) * settings.delta_band
    deleted = people.where(deleted_by(settings, number, index) & start)
    changed = people.where(changed_in(settings, number, index))
    redrawn = settings.seed + 1_000 * number
    records = universe_records(changed, settings, catalog, attribute_seed=redrawn)
    columns = records.columns
    deletes = deleted.select(
        partner_person_id(index).alias("person_id"),
        *[F.lit(None).cast("string").alias(c) for c in columns[1:]],
    )
    new_count = settings.universe * settings.delta_band // FATES
    first_new = 4 * settings.spare_base + (number - 1) * settings.universe
    arrivals = spark.range(first_new, first_new + new_count, 1, partitions).withColumnRenamed(
        "id", IDENTITY
    )
    new = universe_records(
        arrivals, settings, catalog, attribute_seed=redrawn, person_id=new_person_id(number)
    )
    upserts = records.unionByName(new).withColumn(OPERATION, F.lit("upsert"))
    as_text = [F.col(c).cast("string").alias(c) for c in columns]
    return upserts.select(*as_text, OPERATION).unionByName(
        deletes.select(*as_text, F.lit("delete").alias(OPERATION))
    )


def truth_after(truth: DataFrame, settings: GeneratorSettings, number: int) -> DataFrame:
    """The answer key after delta `number`: a profile whose person was deleted has none."""
    index = F.substring(F.col("person_id"), 2, 10).cast("long")
    gone = F.col("person_id").isNotNull() & deleted_by(settings, number, index)
    lost = {
        "person_id": F.lit(None).cast("string"),
        "email_in_universe": F.lit(False),
        "phone_in_universe": F.lit(False),
        "address_in_universe": F.lit(False),
    }
    return truth.select(
        *[
            F.when(gone, lost[c]).otherwise(F.col(c)).alias(c) if c in lost else F.col(c)
            for c in truth.columns
        ]
    )


def second_partner_universe(
    universe: DataFrame,
    settings: GeneratorSettings,
    catalog: AttributeCatalog,
    *,
    domains: Sequence[str],
) -> DataFrame:
    """A second partner's file: some of the first partner's persons under its own IDs.

    It covers `second_overlap_percent` of the persons (same hashed identifiers, so both match
    the same customers) and delivers only `domains`; each present value is changed to the next
    value of its set with probability `second_disagree_percent`, so the agreement between the
    two partners is known in advance.
    """
    seed = settings.seed
    index = F.substring(F.col("person_id"), 2, 10).cast("long")
    kept = universe.where(chance(seed, "second:overlap", index, settings.second_overlap_percent))
    changed = {}
    for domain, attribute in catalog.attributes():
        if domain not in domains:
            continue
        values = attribute.values
        following = F.create_map(
            *[F.lit(x) for i, v in enumerate(values) for x in (v, values[(i + 1) % len(values)])]
        )
        flip = chance(
            seed, f"second:disagree:{attribute.name}", index, settings.second_disagree_percent
        )
        column = F.col(attribute.name)
        changed[attribute.name] = F.when(flip, F.try_element_at(following, column)).otherwise(
            column
        )
    identifiers = [c for c in universe.columns if c[:-1] in ("email", "phone", "address", "maid")]
    return kept.select(
        F.concat(F.lit("B"), F.substring(F.col("person_id"), 2, 10)).alias("person_id"),
        *identifiers,
        "confidence",
        "last_modified",
        *[expression.alias(name) for name, expression in changed.items()],
    )


def attribute_value(seed: int, name: str, values: Sequence[str], index: Column) -> Column:
    """A value from the catalog's set, missing for about a quarter of persons.

    Customers (persons in the seed set) take the ICP preference half of the time, so their
    attribute mix differs from the universe's the way a real brand's customers do.
    """
    value = pick_by_roll(seed, f"attr:{name}", index, values)
    preferred = ICP_PREFERENCES.get(name)
    if preferred is not None:
        value = F.when(
            F.col("is_customer") & chance(seed, f"icp:{name}", index, 50), F.lit(preferred)
        ).otherwise(value)
    return F.when(chance(seed, f"present:{name}", index, 75), value)


def mobile_ad_id(seed: int, index: Column) -> Column:
    """A lower-case UUID-shaped advertising ID derived from the index."""
    digest = F.md5(F.concat_ws(":", F.lit(seed), F.lit("maid"), index.cast("string")))
    return F.regexp_replace(digest, r"^(.{8})(.{4})(.{4})(.{4})(.{12})$", "$1-$2-$3-$4-$5")


def partner_person_id(index: Column) -> Column:
    """The partner's opaque person ID."""
    return F.concat(F.lit("P"), F.lpad(index.cast("string"), 10, "0"))


def has_alternate_email(seed: int, index: Column) -> Column:
    return chance(seed, "email2", index, 40)


def alternate_email(index: Column) -> Column:
    return F.concat(F.lit("alt"), index.cast("string"), F.lit("@example.net"))


def has_partner_phone(seed: int, index: Column) -> Column:
    return chance(seed, "phone1", index, 90)


def has_partner_address(seed: int, index: Column) -> Column:
    return (F.col("country") == "US") & chance(seed, "address1", index, 85)


def messy_email(seed: int, key: Column, local: Column, domain: Column) -> tuple[Column, Column]:
    """Write a canonical email the way CRM exports do; returns (value, variant label)."""
    is_gmail = domain == "gmail.com"
    # The canonical Gmail local part is first+last+index; people type first.last.index.
    dotted = F.concat_ws(
        ".", F.lower(F.col("first_name")), F.lower(F.col("last_name")), F.col(IDENTITY)
    )
    gmail_roll = roll(seed, "gmail_variant", key, 100)
    local_variant = F.when(is_gmail & (gmail_roll < 35), dotted).otherwise(local)
    tag = pick_by_roll(seed, "tag", key, ("news", "shop", "promo", "2024"))
    local_variant = F.when(
        is_gmail & (gmail_roll >= 35) & (gmail_roll < 55), F.concat(local_variant, F.lit("+"), tag)
    ).otherwise(local_variant)
    domain_variant = F.when(is_gmail & (gmail_roll >= 95), F.lit("googlemail.com")).otherwise(
        domain
    )
    email = F.concat(local_variant, F.lit("@"), domain_variant)
    case_roll = roll(seed, "email_case", key, 100)
    email = (
        F.when(case_roll < 25, F.initcap(F.regexp_replace(email, r"\.", ". ")))
        .when(case_roll < 30, F.upper(email))
        .otherwise(email)
    )
    email = F.regexp_replace(email, r"\. ", ".")  # initcap needs word breaks; put dots back
    space_roll = roll(seed, "email_space", key, 100)
    email = (
        F.when(space_roll < 8, F.concat(F.lit("  "), email, F.lit(" ")))
        .when(space_roll < 12, F.concat(email, F.lit("\t")))
        .otherwise(email)
    )
    label = F.concat_ws(
        "+",
        F.when(is_gmail & (gmail_roll < 35), F.lit("gmail_dots")),
        F.when(is_gmail & (gmail_roll >= 35) & (gmail_roll < 55), F.lit("plus_tag")),
        F.when(is_gmail & (gmail_roll >= 95), F.lit("googlemail")),
        F.when(case_roll < 30, F.lit("mixed_case")),
        F.when(space_roll < 8, F.lit("spaces")),
        F.when((space_roll >= 8) & (space_roll < 12), F.lit("tab")),
    )
    return email, F.when(label == "", F.lit("clean")).otherwise(label)


US_PHONE_LAYOUTS = (
    "+1 ({a}) {b}-{c}",
    "{a}.{b}.{c}",
    "1{a}{b}{c}",
    "({a}) {b}-{c}",
    "{a}-{b}-{c}",
    "{a}{b}{c}",
    "+1{a}{b}{c}",
    " {a} {b} {c}\t",
)


def messy_phone(seed: int, key: Column) -> tuple[Column, Column]:
    """Write a national number in one of the layouts people type; returns (value, layout)."""
    national = F.col("phone_national")
    area, exchange, line = (
        F.substring(national, 1, 3),
        F.substring(national, 4, 3),
        F.substring(national, 7, 4),
    )
    layout = roll(seed, "phone_layout", key, len(US_PHONE_LAYOUTS))
    north_american = F.lit(None).cast("string")
    for position, template in enumerate(US_PHONE_LAYOUTS):
        parts = []
        for piece in template.replace("{", "|{").replace("}", "}|").split("|"):
            parts.append(
                {"{a}": area, "{b}": exchange, "{c}": line}.get(piece, F.lit(piece))
                if piece
                else F.lit("")
            )
        north_american = F.when(layout == position, F.concat(*parts)).otherwise(north_american)
    # Other countries: half in international form with spaces, half in national trunk form.
    international = F.concat(
        F.lit("+"),
        F.col("calling_code"),
        F.lit(" "),
        F.substring(national, 1, 3),
        F.lit(" "),
        F.expr("substring(phone_national, 4)"),
    )
    national_form = F.concat(F.lit("0"), national)
    is_nanp = F.col("country").isin("US", "CA")
    use_international = chance(seed, "phone_intl", key, 50)
    value = F.when(is_nanp, north_american).otherwise(
        F.when(use_international, international).otherwise(national_form)
    )
    label = F.when(is_nanp, F.concat(F.lit("nanp_layout_"), layout.cast("string"))).otherwise(
        F.when(use_international, F.lit("international")).otherwise(F.lit("national_trunk"))
    )
    return value, label


def messy_street(seed: int, key: Column) -> tuple[Column, Column]:
    """A street line with the suffix spelled out or abbreviated, and unit written several ways."""
    style = roll(seed, "street_style", key, 4)
    suffix = (
        F.when(style == 0, F.col("suffix_long"))
        .when(style == 1, F.initcap(F.col("suffix_short")))
        .when(style == 2, F.concat(F.initcap(F.col("suffix_short")), F.lit(".")))
        .otherwise(F.col("suffix_long"))
    )
    unit_style = roll(seed, "unit_style", key, 3)
    unit = (
        F.when(unit_style == 0, F.concat(F.lit("Apt "), F.col("unit")))
        .when(unit_style == 1, F.concat(F.lit("#"), F.col("unit")))
        .otherwise(F.concat(F.lit("Apartment "), F.col("unit")))
    )
    street = F.concat_ws(
        " ",
        F.col("house_number"),
        F.col("street_name"),
        suffix,
        F.when(F.col("unit").isNotNull(), unit),
    )
    street = F.when(style == 3, F.upper(street)).otherwise(street)
    label = F.concat(
        F.lit("suffix_style_"),
        style.cast("string"),
        F.when(
            F.col("unit").isNotNull(), F.concat(F.lit("+unit_style_"), unit_style.cast("string"))
        ).otherwise(F.lit("")),
    )
    return street, label


def build_seeds(spark: SparkSession, settings: GeneratorSettings, *, partitions: int) -> DataFrame:
    """The brand's seed set joined with its ground truth (split by the writer)."""
    seed = settings.seed
    rows = spark.range(0, settings.seeds, 1, partitions).withColumnRenamed("id", "seed_index")
    i = F.col("seed_index")
    in_universe = (i < settings.universe) & chance(
        seed, "in_universe", i, settings.in_universe_percent
    )
    rows = rows.withColumn("in_universe", in_universe).withColumn(
        IDENTITY,
        F.when(in_universe, F.pmod(i * F.lit(settings.stride), F.lit(settings.universe))).otherwise(
            i + F.lit(settings.universe)
        ),
    )
    rows = with_identity(rows, seed=seed)
    k = F.col(IDENTITY)
    # Which email the brand holds: the primary one, the partner's alternate, another, or junk.
    email_source = roll(seed, "email_source", i, 100)
    rows = rows.withColumn(
        "email_source",
        choose_by_share(
            email_source,
            [("primary", 76), ("alternate", 8), ("other", 6), ("invalid", 5), ("empty", 5)],
        ),
    )
    primary_email, primary_label = messy_email(seed, i, F.col("email_local"), F.col("email_domain"))
    invalid_email = pick_by_roll(
        seed,
        "invalid_email",
        i,
        ("{first}.{last} at example.com", "{first}@", "n/a", "{first}@@example.com", "unknown"),
    )
    invalid_email = F.regexp_replace(
        F.regexp_replace(invalid_email, "\\{first\\}", F.lower(F.col("first_name"))),
        "\\{last\\}",
        F.lower(F.col("last_name")),
    )
    source = F.col("email_source")
    rows = rows.withColumn(
        "email",
        F.when(source == "primary", primary_email)
        .when(source == "alternate", F.upper(alternate_email(k)))
        .when(source == "other", F.concat(F.lit("work."), i.cast("string"), F.lit("@example.org")))
        .when(source == "invalid", invalid_email)
        .otherwise(F.lit(None)),
    ).withColumn(
        "email_variant",
        F.when(source == "primary", primary_label)
        .when(source == "alternate", F.lit("alternate+upper"))
        .otherwise(source),
    )
    # Phones: mostly the person's own number, some a number the partner never saw, some junk.
    phone_source = roll(seed, "phone_source", i, 100)
    rows = rows.withColumn(
        "phone_source",
        choose_by_share(
            phone_source, [("primary", 72), ("other", 12), ("invalid", 6), ("empty", 10)]
        ),
    )
    # A number of the person's country that no universe person has (spare identity range).
    rows = rows.withColumn(
        "phone_national",
        F.when(
            F.col("phone_source") == "other",
            national_number(seed, i + F.lit(3 * settings.spare_base), F.col("country")),
        ).otherwise(F.col("phone_national")),
    )
    phone, phone_label = messy_phone(seed, i)
    invalid_phone = pick_by_roll(seed, "invalid_phone", i, ("12345", "555-01", "000", "n/a"))
    phone_src = F.col("phone_source")
    rows = rows.withColumn(
        "phone",
        F.when(phone_src.isin("primary", "other"), phone)
        .when(phone_src == "invalid", invalid_phone)
        .otherwise(F.lit(None)),
    ).withColumn(
        "phone_variant",
        F.when(phone_src == "primary", phone_label).otherwise(phone_src),
    )
    street, street_label = messy_street(seed, i)
    has_address = (F.col("country") == "US") & chance(seed, "seed_address", i, 80)
    zip_plus4 = chance(seed, "zip4", i, 20)
    rows = (
        rows.withColumn("street", F.when(has_address, street))
        .withColumn("city", F.when(has_address, F.col("city")))
        .withColumn("state", F.when(has_address, F.col("state")))
        .withColumn(
            "postal_code",
            F.when(
                has_address,
                F.when(
                    zip_plus4,
                    F.concat(
                        F.col("zip5"),
                        F.lit("-"),
                        F.lpad(roll(seed, "zip4d", i, 10000).cast("string"), 4, "0"),
                    ),
                ).otherwise(F.col("zip5")),
            ),
        )
        .withColumn(
            "address_variant",
            F.when(
                has_address,
                F.concat(street_label, F.when(zip_plus4, F.lit("+zip4")).otherwise(F.lit(""))),
            ).otherwise(F.lit("empty")),
        )
    )
    # Country as exported: mostly ISO codes, some lower case, some blank for US customers.
    country_roll = roll(seed, "country_style", i, 100)
    is_us = F.col("country") == "US"
    rows = rows.withColumn(
        "country_written",
        F.when(is_us & (country_roll < 6), F.lit(None))
        .when(country_roll < 12, F.lower(F.col("country")))
        .otherwise(F.col("country")),
    )
    truth = {
        "person_id": F.when(F.col("in_universe"), partner_person_id(k)),
        "email_in_universe": F.col("in_universe")
        & ((source == "primary") | ((source == "alternate") & has_alternate_email(seed, k))),
        "phone_in_universe": F.col("in_universe")
        & (phone_src == "primary")
        & has_partner_phone(seed, k),
        "address_in_universe": F.col("in_universe") & has_address & has_partner_address(seed, k),
    }
    first_party = {
        "profile_id": F.concat(F.lit("C"), F.lpad((i + 1).cast("string"), 9, "0")),
        "email_consent": pick_by_roll(
            seed, "email_consent", i, ("opt_in", "opt_in", "opt_out", "")
        ),
        "sms_consent": pick_by_roll(seed, "sms_consent", i, ("opt_in", "opt_out", "opt_out", "")),
        "loyalty_tier": pick_by_roll(seed, "tier", i, ("Bronze", "Bronze", "Silver", "Gold")),
        "lifetime_value": F.format_string("%.2f", roll(seed, "ltv", i, 500000) / 100),
        "signup_date": F.date_add(
            F.lit("2015-01-01").cast("date"), roll(seed, "signup", i, 3600).cast("int")
        ).cast("string"),
        "has_financial_advisor": pick_by_roll(seed, "advisor", i, ("Yes", "No", "No", "")),
    }
    first_party["country"] = F.col("country_written")
    # Truth first: it reads the person's real country, which the written one then replaces.
    return rows.withColumns(truth).withColumns(first_party)


def split_seeds(seeds_with_truth: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Split generated rows into the seed file and its ground-truth answer key."""
    seeds = seeds_with_truth.select(*[F.col(c) for c in SEED_COLUMNS])
    truth = seeds_with_truth.select(*[F.col(c) for c in GROUND_TRUTH_COLUMNS])
    return seeds, truth


def _prefixer(kind: str) -> Callable[[Column], Column]:
    """A one-argument lambda for F.transform (a second argument would receive the index)."""
    return lambda token: F.concat(F.lit(f"{kind}:"), token)


def summarize_ground_truth(truth: DataFrame) -> dict[str, int]:
    """Count persons in the universe and each messy variant present, in one pass."""
    tokens = {
        "email": F.split(F.col("email_variant"), r"\+"),
        "phone": F.array(F.col("phone_variant")),
        "address": F.split(F.col("address_variant"), r"\+"),
    }
    labelled = [F.transform(column, _prefixer(kind)) for kind, column in tokens.items()]
    variants = truth.select(F.explode(F.concat(*labelled)).alias("variant"))
    counts: dict[str, int] = {
        f"variant.{row['variant']}": row["count"]
        for row in variants.groupBy("variant").count().collect()
    }
    totals = truth.agg(
        F.count(F.col("person_id")).alias("in_universe"),
        F.sum(F.col("email_in_universe").cast("int")).alias("email_in_universe"),
        F.sum(F.col("phone_in_universe").cast("int")).alias("phone_in_universe"),
        F.sum(F.col("address_in_universe").cast("int")).alias("address_in_universe"),
    ).first()
    counts.update({name: int(totals[name] or 0) for name in totals.asDict()})
    return dict(sorted(counts.items()))


def evaluate_matches(matches: DataFrame, truth: DataFrame) -> dict[str, float | int]:
    """Precision and recall of canonical matches against the generator's answer key.

    Recall counts profiles that share at least one exact identifier with their partner person
    (the ones a correct normalization can find); precision counts every canonical match.
    """
    truth = truth.select(
        "profile_id",
        F.col("person_id").alias("true_person_id"),
        (
            F.col("email_in_universe").cast("boolean")
            | F.col("phone_in_universe").cast("boolean")
            | F.col("address_in_universe").cast("boolean")
        ).alias("findable"),
    )
    judged = matches.select("profile_id", "partner_id").join(truth, "profile_id", how="left")
    totals = judged.agg(
        F.count(F.lit(1)).alias("matched"),
        F.sum((F.col("partner_id") == F.col("true_person_id")).cast("int")).alias("correct"),
    ).first()
    findable = truth.where(F.col("findable")).count()
    found = judged.where(
        F.col("findable") & (F.col("partner_id") == F.col("true_person_id"))
    ).count()
    matched, correct = int(totals["matched"]), int(totals["correct"] or 0)
    return {
        "matched": matched,
        "correct": correct,
        "findable": findable,
        "precision": round(correct / matched, 4) if matched else 0.0,
        "recall": round(found / findable, 4) if findable else 0.0,
    }


def optout_rows(truth: DataFrame, universe: DataFrame, *, count: int = 3) -> DataFrame:
    """A demo opt-out file: `count` universe persons linked to seeds, wealthy homeowners so
    the demo's first segment holds them; the first by hashed email, the others by partner ID."""
    linked = truth.where(F.col("person_id").isNotNull()).select("person_id").distinct()
    wealthy = universe.where(
        F.col("household_net_worth_range").isin("$500K-$1M", "$1M+")
        & (F.col("is_home_owner") == "Yes")
        & F.col("email1").isNotNull()
    ).select(F.col("person_id"), F.col("email1"))
    chosen = wealthy.join(linked, "person_id").orderBy("person_id").limit(count)
    first = F.row_number().over(Window.orderBy("person_id")) == 1
    return chosen.select(
        F.when(~first, F.col("person_id")).alias("person_id"),
        F.when(first, F.col("email1")).alias("email_sha256"),
    )
