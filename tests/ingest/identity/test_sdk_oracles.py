"""The profiles against the platforms' own SDKs, on a corpus of messy identifiers.

Each platform that publishes a Python normalizer is the oracle for its profile: uid2-client
(`uid2`), google-ads-datamanager-util (`google`) and facebook-business (`meta`). Amazon
publishes its normalizers in repositories, not as a package: what they return on this corpus
is stored in amazon_oracle.json (make_amazon_oracle.py writes it). Every value
of the corpus (emails, phones, names, postal codes, countries: each kind the profile
defines) goes through the Spark rules, their Python twins and the SDK. A disagreement is
allowed only when one of the profile's declared `differences` explains it; each declared
difference must occur in the corpus, so none is kept after the code stops needing it.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NamedTuple

import phonenumbers
import pytest
from facebook_business.adobjects.helpers.customaudiencemixin import CustomAudienceMixin
from google.ads.datamanager_util.format import Encoding, Formatter
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from uid2_client import input_util as uid2

from ingest.identity import columns, reference
from ingest.identity.profiles import Profile, get_profile
from ingest.identity.rules import ALL_SPACES, UNICODE_EMAIL_PATTERN, WHITESPACE_CHARS, phone_regions

DEFAULT_COUNTRY = "US"
SDK_PROFILES = ("uid2", "google", "meta", "amazon")
AMAZON_ORACLE = Path(__file__).with_name("amazon_oracle.json")

FIRST = ("jane", "john", "zoë", "josé", "élodie", "ana", "li", "o'neil", "mary-kate", "şule")
LAST = ("doe", "smith", "müller", "garcía", "nguyen", "o'brien", "straße", "ıldız")
DOMAINS = ("gmail.com", "googlemail.com", "yahoo.com", "example.org", "exämple.de", "outlook.com")
TAGS = ("news", "shop", "promo", "2024")
EDGES = ("  ", " ", "\t", "\u00a0", "\u2003", "\ufeff", "\r\n", ".", "\x00", " . ")
BROKEN_EMAILS = (
    "jane doe@example.com",
    "jane@@example.com",
    "jane.example.com",
    "+tag@gmail.com",
    "jane@localhost",
    "jane(at)example.com",
    "jane,doe@example.com",
    '"jane"@example.com',
    "@example.com",
    "jane@",
    "",
    "   ",
    "İSTANBUL@EXAMPLE.COM",
    "ΣΟΦΙΑ@EXAMPLE.GR",
    "STRAẞE@EXAMPLE.DE",
)

# (region, national significant number) pairs of valid shapes; written many ways below.
NATIONAL = {
    "US": ("2015550123", "4155550199", "8005550100"),
    "CA": ("4165550199",),
    "GB": ("2079460958", "7400123456"),
    "DE": ("30901820", "15123456789"),
    "FR": ("612345678",),
    "IN": ("9876543210",),
    "BR": ("11961234567",),
    "JP": ("9012345678",),
    "AU": ("412345678", "212345678"),
}
TRUNK = {"US": "1", "CA": "1", "GB": "0", "DE": "0", "FR": "0", "IN": "0", "BR": "0", "JP": "0"}
BROKEN_PHONES = (
    "+123456789",
    "+123456789012345",
    "+1234567890123456",
    "12345",
    "1-800-FLOWERS",
    "call me",
    "",
    "0044 20 7946 0958",
    "+999 1234 5678",
    "+1 201 555 0123 ext 4",
)


POSTAL_CODES = ("94105", "94105-1234", " 02108 ", "SW1A 1AA", "sw1a 1aa", "10115", "K1A 0B1")
COUNTRIES = ("US", "us", " gb ", "Fr", "United States", "Deutschland", "U1", "u", "d.e.")


class Row(NamedTuple):
    kind: str
    value: str
    country: str | None


def edge(rng: random.Random) -> str:
    """What may stand around a value: mostly nothing, sometimes spaces or worse."""
    return rng.choice(EDGES) if rng.random() < 0.3 else ""


def messy_emails(rng: random.Random) -> list[str]:
    """Gmail dots, +tags, googlemail, case, spaces and tabs (as the demo's generator writes
    them), non-ASCII letters, edge characters, and values that are not addresses."""
    values = list(BROKEN_EMAILS)
    for _ in range(400):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = rng.choice((f"{first}.{last}", f"{first}{last}{rng.randint(1, 99)}", first))
        if rng.random() < 0.3:
            local += "+" + rng.choice(TAGS)
        email = f"{local}@{rng.choice(DOMAINS)}"
        email = rng.choice((email, email.upper(), email.title(), email.capitalize()))
        values.append(edge(rng) + email + edge(rng))
    return values


def messy_phones(rng: random.Random) -> list[tuple[str, str | None]]:
    """(written number, the seed's country) in the layouts people type, with and without a
    country, plus numbers no platform can use."""
    rows: list[tuple[str, str | None]] = [(v, None) for v in BROKEN_PHONES]
    rows += [(v, "US") for v in BROKEN_PHONES]
    for _ in range(400):
        region = rng.choice(sorted(NATIONAL))
        national = rng.choice(NATIONAL[region])
        code = phone_regions()[region].calling_code
        a, b, c = national[:3], national[3:6], national[6:]
        written = rng.choice(
            (
                f"+{code} {a} {b} {c}",
                f"+{code}{national}",
                f"{code}{national}",
                f"{TRUNK.get(region, '')}{national}",
                f"({a}) {b}-{c}",
                f"{a}.{b}.{c}",
                f"{a}-{b}-{c}",
                f" {a} {b} {c}\t",
                f"00{code} {national}",
                f"+{code}-{a}-{b}-{c} ",
            )
        )
        country = rng.choice((region, region.lower(), None, "XX"))
        rows.append((written, country))
    return rows


def messy_texts(rng: random.Random) -> list[Row]:
    """First and last names, postal codes and countries as CRM exports hold them."""
    rows = [Row(kind, "", None) for kind in ("first_name", "last_name", "postal_code", "country")]
    rows += [Row("first_name", v, None) for v in ("123", "Dr. Jane", "mary-kate", "-")]
    for _ in range(150):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        case = rng.choice((str.title, str.upper, str.lower))
        rows.append(Row("first_name", edge(rng) + case(first) + edge(rng), None))
        rows.append(Row("last_name", edge(rng) + case(last) + edge(rng), None))
        rows.append(Row("postal_code", edge(rng) + rng.choice(POSTAL_CODES) + edge(rng), None))
        rows.append(Row("country", edge(rng) + rng.choice(COUNTRIES) + edge(rng), None))
    return rows


STREET_NAMES = ("Main", "Bluestem", "Oak Valley", "O'Neil", "Königs", "de la Paix", "Mayor", "Roma")
STREET_TYPES = (
    "Street", "St", "St.", "Avenue", "Ave", "Blvd", "Boulevard", "Road", "Rd", "Lane",
    "Parkway", "Terrace", "Court", "Place", "Plaza", "Meadow", "Key", "Crescent", "Close",
    "Rue", "Allée", "Via", "Piazza", "Calle", "Avda.", "Straße", "Chome",
)  # fmt: skip
UNITS = ("Apt 4B", "#4B", "APT#4", "Apartment 12", "Suite 200", "Ste. 3", "Flat 3", "No. 7", "")
BROKEN_STREETS = (
    "", "   ", "...", "c/o Jane Doe, 12 Main St", "5 1-A 2-B", "A#1#2 Main", "1A#5 Oak",
    "##5 Elm", "12 (rear) Elm St.!", "五-A 3", "12-34 Main", "PO Box 12", "Ⅻ-A Main",
    "10-E North Street", "[7] {Side} Road",
)  # fmt: skip
STREET_COUNTRIES = ("US", "us", "CA", "GB", "UK", "FR", "DE", "ES", "IT", "JP", "IN", "BR", None)


def messy_streets(rng: random.Random) -> list[Row]:
    """Street lines as CRMs hold them: house numbers with letters and dashes, directions,
    unit marks, punctuation and case, in the countries Amazon's tables cover and others."""
    rows = [Row("address", v, rng.choice(STREET_COUNTRIES)) for v in BROKEN_STREETS]
    for _ in range(300):
        number = rng.choice((str(rng.randint(1, 99999)), f"{rng.randint(1, 999)}-A", "12-B"))
        parts = [number, rng.choice(("", "N", "North", "SW", "East"))]
        parts += [rng.choice(STREET_NAMES), rng.choice(STREET_TYPES), rng.choice(UNITS)]
        separator = rng.choice((" ", "  ", ", ", " ,"))
        line = separator.join(part for part in parts if part)
        line = rng.choice((line, line.upper(), line.lower()))
        rows.append(Row("address", edge(rng) + line + edge(rng), rng.choice(STREET_COUNTRIES)))
    return rows


def corpus() -> list[Row]:
    rng = random.Random(20261203)
    emails = [Row("email", v, None) for v in messy_emails(rng)]
    phones = [Row("phone", v, c) for v, c in messy_phones(rng)]
    return emails + phones + messy_texts(rng) + messy_streets(rng)


def covered(name: str) -> list[Row]:
    """The corpus rows of the kinds a profile defines."""
    return [row for row in corpus() if get_profile(name).supports(row.kind)]


# --- the SDKs: normalized text, or None where the SDK refuses the value ----------------------


def uid2_sdk(row: Row) -> str | None:
    if row.kind == "email":
        return uid2.normalize_email_string(row.value)
    return row.value if uid2.is_phone_number_normalized(row.value) else None


def google_sdk(row: Row) -> str | None:
    formatter = Formatter()
    format_of = {
        "email": formatter.format_email_address,
        "phone": formatter.format_phone_number,
        "first_name": formatter.format_given_name,
        "last_name": formatter.format_family_name,
        "postal_code": formatter.format_postal_code,
        "country": formatter.format_region_code,
    }
    try:
        return format_of[row.kind](row.value)
    except ValueError:
        return None


META_STRIP = " \t\r\n\0\x0b."  # what format_params strips before normalize_key


def meta_sdk(row: Row) -> str | None:
    """The text Meta's SDK hashes, checked against the hash format_params itself produces."""
    schema = CustomAudienceMixin.Schema.MultiKeySchema
    key = {
        "email": schema.email,
        "phone": schema.phone,
        "first_name": schema.fn,
        "last_name": schema.ln,
        "postal_code": schema.zip,
        "country": schema.country,
    }[row.kind]
    text = CustomAudienceMixin.normalize_key(key, row.value.strip(META_STRIP).lower())
    params = CustomAudienceMixin.format_params([key], [[row.value]], is_raw=True)
    assert params["payload"]["data"][0][0] == hashlib.sha256(text.encode()).hexdigest()
    return text


@cache
def amazon_answers() -> dict[Row, str | None]:
    document = json.loads(AMAZON_ORACLE.read_text(encoding="utf-8"))
    return {Row(kind, value, country): text for kind, value, country, text in document["rows"]}


def amazon_sdk(row: Row) -> str | None:
    """Amazon's normalizers' answer, stored; a row not stored means the corpus changed."""
    answers = amazon_answers()
    assert row in answers, (
        f"{row} is not in {AMAZON_ORACLE.name}: regenerate it (make_amazon_oracle.py)"
    )
    return answers[row]


SDKS: dict[str, Callable[[Row], str | None]] = {
    "uid2": uid2_sdk,
    "google": google_sdk,
    "meta": meta_sdk,
    "amazon": amazon_sdk,
}


def sdk_hash(name: str, row: Row) -> str | None:
    """The SDK's own hash function on its own normalization."""
    if name == "uid2":
        try:
            if row.kind == "email":
                return uid2.normalize_and_hash_email(row.value)
            return uid2.normalize_and_hash_phone(row.value)
        except ValueError:
            return None
    if name == "google":
        formatter = Formatter()
        process_of = {
            "email": formatter.process_email_address,
            "phone": formatter.process_phone_number,
            "first_name": formatter.process_given_name,
            "last_name": formatter.process_family_name,
        }
        if row.kind not in process_of:  # postal code and country go unhashed
            return google_sdk(row)
        try:
            return process_of[row.kind](row.value, Encoding.HEX)
        except ValueError:
            return None
    text = meta_sdk(row) if name == "meta" else amazon_sdk(row)
    assert text is not None
    return hashlib.sha256(text.encode()).hexdigest()


# --- the declared differences, as tests of one disagreement ----------------------------------


class Outcome(NamedTuple):
    row: Row
    ours: str | None
    reason: str | None
    sdk: str | None


def digits(text: str | None) -> str:
    return re.sub(r"[^0-9]", "", text or "")


def whitespace_trimmed(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    """The SDK, given the value as we trim it (the usual set or every Unicode space), agrees."""
    for spaces in (WHITESPACE_CHARS, ALL_SPACES):
        trimmed = o.row.value.strip(spaces)
        if trimmed != o.row.value and sdk(o.row._replace(value=trimmed)) == o.ours:
            return True
    return False


def email_syntax_checked(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    """We refuse what the SDK would hash, and what it would hash is no address at all."""
    if o.row.kind != "email" or o.ours is not None or o.sdk is None:
        return False
    return not re.match(f"(?i){UNICODE_EMAIL_PATTERN}", o.sdk)


def country_code_added(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    if o.row.kind != "phone" or o.ours is None or o.sdk is None:
        return False
    region = phone_regions().get((o.row.country or DEFAULT_COUNTRY).upper())
    if region is None or o.row.value.strip(WHITESPACE_CHARS).startswith("+"):
        return False
    ours = digits(o.ours)
    national = ours[len(region.calling_code) :]
    return ours.startswith(region.calling_code) and digits(o.sdk).endswith(national)


def phone_checked(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    """We refuse what the SDK would hash, and libphonenumber calls it no possible number: of
    the seed's country (else the default) when written without '+', else of any country."""
    if o.row.kind != "phone" or o.ours is not None or o.sdk is None:
        return False
    region = (o.row.country or DEFAULT_COUNTRY).upper()
    national = region in phone_regions() and not o.row.value.strip().startswith("+")
    try:
        # digits only: libphonenumber would read the letters of 1-800-FLOWERS as digits
        number = phonenumbers.parse(
            digits(o.row.value) if national else "+" + digits(o.sdk), region if national else None
        )
    except phonenumbers.NumberParseException:
        return True
    return not phonenumbers.is_possible_number(number)


def empty_rejected(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    return o.reason == "empty" and o.sdk == ""


def country_checked(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    return o.row.kind == "country" and o.reason == "text_syntax" and o.sdk is not None


def phone_formatted(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    return o.row.kind == "phone" and o.ours is not None and o.sdk is None


def national_number_read(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    """A number written without '+' that we read in the seed's country (else the default),
    as libphonenumber reads it there, where the SDK read it as international."""
    if o.row.kind != "phone" or o.ours is None or o.row.value.strip().startswith("+"):
        return False
    region = (o.row.country or DEFAULT_COUNTRY).upper()
    if region not in phone_regions():
        return False
    try:
        number = phonenumbers.parse(digits(o.row.value), region)
    except phonenumbers.NumberParseException:
        return False
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return digits(e164) == digits(o.ours)


def phone_length_ranged(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    """We accept a number whose length lies between the shortest and longest of its calling
    code, and the SDK refuses it because libphonenumber knows no number of that length."""
    if o.row.kind != "phone" or o.ours is None or o.sdk is not None:
        return False
    number = phonenumbers.parse("+" + digits(o.ours), None)
    return not phonenumbers.is_possible_number(number)


def extension_refused(o: Outcome, sdk: Callable[[Row], str | None]) -> bool:
    """We reject a number with an extension ('ext 4'); the SDK hashes it without."""
    if o.row.kind != "phone" or o.ours is not None or o.sdk is None:
        return False
    number, found, _extension = o.row.value.lower().partition("ext")
    return bool(found) and digits(number) == digits(o.sdk)


EXPLAINS = {
    "whitespace_trimmed": whitespace_trimmed,
    "email_syntax_checked": email_syntax_checked,
    "country_code_added": country_code_added,
    "phone_checked": phone_checked,
    "phone_formatted": phone_formatted,
    "empty_rejected": empty_rejected,
    "country_checked": country_checked,
    "national_number_read": national_number_read,
    "phone_length_ranged": phone_length_ranged,
    "extension_refused": extension_refused,
}


def through_spark(spark: SparkSession, profile: Profile, rows: list[Row]) -> list[tuple]:
    frame = spark.createDataFrame(
        [(i, *row) for i, row in enumerate(rows)],
        "i int, kind string, value string, country string",
    )
    with columns.staging(frame) as stage:
        rule = F.lit(None).cast(columns.NORMALIZED_TYPE)
        for kind in sorted({row.kind for row in rows}):
            normalized = columns.normalize_identifier(
                kind,
                profile,
                F.col("value"),
                country=F.col("country"),
                default_country=DEFAULT_COUNTRY,
            )
            rule = F.when(F.col("kind") == kind, normalized).otherwise(rule)
    out = stage.frame.select("i", rule.alias("out")).orderBy("i").collect()
    return [(r.out.value, r.out.reason) for r in out]


@pytest.fixture(scope="module")
def outcomes(spark_session: SparkSession) -> dict[str, list[Outcome]]:
    found = {}
    for name in SDK_PROFILES:
        profile = get_profile(name)
        rows = covered(name)
        from_spark = through_spark(spark_session, profile, rows)
        from_python = [
            tuple(
                reference.normalize_identifier(
                    row.kind,
                    profile,
                    row.value,
                    country=row.country,
                    default_country=DEFAULT_COUNTRY,
                )
            )
            for row in rows
        ]
        assert from_spark == from_python, f"{name}: the Spark rules and their twins disagree"
        found[name] = [
            Outcome(row, ours, reason, SDKS[name](row))
            for row, (ours, reason) in zip(rows, from_spark, strict=True)
        ]
    return found


def explain(name: str, outcome: Outcome) -> str | None:
    """The first declared difference of the profile that explains a disagreement."""
    for difference in get_profile(name).differences:
        if EXPLAINS[difference.name](outcome, SDKS[name]):
            return difference.name
    return None


@pytest.mark.parametrize("name", SDK_PROFILES)
def test_every_disagreement_with_the_sdk_is_a_documented_difference(
    outcomes: dict[str, list[Outcome]], name: str
) -> None:
    tally: Counter[str] = Counter()
    unexplained = []
    for outcome in outcomes[name]:
        if outcome.ours == outcome.sdk:
            tally["agree"] += 1
            continue
        reason = explain(name, outcome)
        tally[reason or "unexplained"] += 1
        if reason is None:
            unexplained.append(outcome)
    listing = "\n".join(
        f"{o.row.kind} {o.row.value!r} ({o.row.country}): ours={o.ours!r} [{o.reason}] "
        f"sdk={o.sdk!r}"
        for o in unexplained[:40]
    )
    assert unexplained == [], f"{name} {dict(tally)}:\n{listing}"
    declared = {d.name for d in get_profile(name).differences}
    assert declared <= set(tally), f"{name}: declared but never seen: {declared - set(tally)}"
    print(f"{name}: {len(outcomes[name])} values, {dict(tally)}")


@pytest.mark.parametrize("name", SDK_PROFILES)
def test_where_both_accept_a_value_the_hashes_are_the_sdks_own(
    outcomes: dict[str, list[Outcome]], name: str
) -> None:
    profile = get_profile(name)
    agreed = [o for o in outcomes[name] if o.ours is not None and o.ours == o.sdk]
    for outcome in agreed:
        text_rule = profile.text_rule(outcome.row.kind)
        hashed = text_rule is None or text_rule.hashed
        hash_type = profile.hash if hashed else "plaintext"
        ours = reference.hash_value(outcome.ours, hash_type, profile.encoding)
        assert ours == sdk_hash(name, outcome.row), outcome


def test_each_difference_kind_has_a_test() -> None:
    for name in SDK_PROFILES:
        assert {d.name for d in get_profile(name).differences} <= set(EXPLAINS), name
