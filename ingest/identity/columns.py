"""The identity rules as Spark column expressions (built-ins only), twins of reference.py.

Each normalizer returns a struct `<value: string, reason: string>`: the normalized value, or
NULL and a reason code. Nothing raises on bad data, so a bad row becomes a quarantine row.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F

from ingest.identity import profiles as p
from ingest.identity.rules import (
    DIRECTIONALS,
    EMAIL_PATTERN,
    MAID_PATTERN,
    STREET_SUFFIXES,
    UNIT_DESIGNATORS,
    WHITESPACE,
    calling_code_lengths,
    phone_regions,
    unit_pattern,
)

NORMALIZED_TYPE = "struct<value: string, reason: string>"


def _literal_map(mapping: Mapping[str, object]) -> Column:
    return F.create_map(*[F.lit(part) for item in mapping.items() for part in item])


def _lookup(mapping: Mapping[str, object], key: Column) -> Column:
    """The mapped value or NULL (try_: a missing key must not raise under ANSI)."""
    return F.try_element_at(_literal_map(mapping), key)


def _result(value: Column, reason: Column) -> Column:
    return F.struct(value.cast("string").alias("value"), reason.cast("string").alias("reason"))


def _ok(value: Column) -> Column:
    return _result(value, F.lit(None))


def _rejected(reason: str) -> Column:
    return _result(F.lit(None), F.lit(reason))


def is_blank(value: Column) -> Column:
    return value.isNull() | value.rlike(f"^{WHITESPACE}*$")


def trim(value: Column) -> Column:
    """Strip whitespace at both ends; Spark's trim() strips spaces only, not tabs."""
    return F.regexp_replace(value, f"^{WHITESPACE}+|{WHITESPACE}+$", "")


def normalize_email(value: Column, steps: tuple[p.EmailStep, ...]) -> Column:
    email = value
    for step in steps:
        if isinstance(step, p.Trim):
            email = trim(email)
        elif isinstance(step, p.Lowercase):
            email = F.lower(email)
        else:
            local = F.regexp_extract(email, r"^(.*)@([^@]*)$", 1)
            domain = F.regexp_extract(email, r"^(.*)@([^@]*)$", 2)
            if isinstance(step, p.RewriteDomain):
                domain = F.when(domain == step.from_domain, F.lit(step.to_domain)).otherwise(domain)
            elif isinstance(step, p.StripPlusTag):
                local = F.when(
                    domain.isin(*step.domains), F.substring_index(local, "+", 1)
                ).otherwise(local)
            elif isinstance(step, p.StripDots):
                local = F.when(
                    domain.isin(*step.domains), F.regexp_replace(local, r"\.", "")
                ).otherwise(local)
            email = F.when(email.contains("@"), F.concat(local, F.lit("@"), domain)).otherwise(
                email
            )
    return (
        F.when(is_blank(value), _rejected(p.EMPTY))
        .when(email.rlike(f"(?i){EMAIL_PATTERN}"), _ok(email))
        .otherwise(_rejected(p.EMAIL_SYNTAX))
    )


def split_calling_code(digits: Column) -> Column:
    codes = F.array(*[F.lit(code) for code in sorted(calling_code_lengths())])
    expression = F.lit(None).cast("string")
    for size in (3, 2, 1):
        prefix = F.substring(digits, 1, size)
        expression = F.when(F.array_contains(codes, prefix), prefix).otherwise(expression)
    return expression


def normalize_phone(
    value: Column, rule: p.PhoneRule, *, country: Column | None, default_country: str | None
) -> Column:
    text = trim(value)
    digits = F.regexp_replace(text, "[^0-9]", "")
    international = text.startswith("+")
    spans = calling_code_lengths()
    regions = phone_regions()

    intl_code = split_calling_code(digits)
    intl_national = digits.substr(F.length(intl_code) + 1, F.lit(64))
    intl_low = _lookup({code: low for code, (low, _) in spans.items()}, intl_code)
    intl_high = _lookup({code: high for code, (_, high) in spans.items()}, intl_code)

    written = F.upper(trim(country)) if country is not None else F.lit(None).cast("string")
    region = F.coalesce(F.when(written != "", written), F.lit(default_country).cast("string"))
    code = _lookup({r: v.calling_code for r, v in regions.items()}, region)
    prefix = _lookup(
        {r: v.national_prefix for r, v in regions.items() if v.national_prefix}, region
    )
    low = _lookup({r: v.min_length for r, v in regions.items()}, region)
    high = _lookup({r: v.max_length for r, v in regions.items()}, region)
    without_code = F.length(digits) - F.length(code)
    strip_code = (
        (F.length(digits) > high)
        & digits.startswith(code)
        & (without_code >= low)
        & (without_code <= high)
    )
    strip_prefix = (
        prefix.isNotNull()
        & digits.startswith(prefix)
        & (F.length(digits) - F.length(prefix) >= low)
    )
    national_national = (
        F.when(strip_code, digits.substr(F.length(code) + 1, F.lit(64)))
        .when(strip_prefix, digits.substr(F.length(prefix) + 1, F.lit(64)))
        .otherwise(digits)
    )

    final_code = F.when(international, intl_code).otherwise(code)
    national = F.when(international, intl_national).otherwise(national_national)
    min_length = F.when(international, intl_low).otherwise(low)
    max_length = F.when(international, intl_high).otherwise(high)
    formatted = {
        "e164_plus": F.concat(F.lit("+"), final_code, national),
        "e164_digits": F.concat(final_code, national),
        "national": national,
    }[rule.format]
    return (
        F.when(is_blank(value), _rejected(p.EMPTY))
        .when(international & intl_code.isNull(), _rejected(p.PHONE_CALLING_CODE_UNKNOWN))
        .when(~international & code.isNull(), _rejected(p.PHONE_COUNTRY_UNKNOWN))
        .when(F.length(national) < min_length, _rejected(p.PHONE_TOO_SHORT))
        .when(F.length(national) > max_length, _rejected(p.PHONE_TOO_LONG))
        .otherwise(_ok(formatted))
    )


def clean_address_part(value: Column) -> Column:
    text = F.upper(F.coalesce(value, F.lit("")))
    text = F.regexp_replace(text, "[.']", "")
    text = F.regexp_replace(text, "#", " # ")
    text = F.regexp_replace(text, "[^A-Z0-9# \\t\\n\\x0B\\f\\r\\u00A0\\u2007\\u202F\\uFEFF]", " ")
    return trim(F.regexp_replace(text, f"{WHITESPACE}+", " "))


def abbreviate_street(base: Column) -> Column:
    tokens = F.split(base, " ")
    n = F.size(tokens)
    last = F.element_at(tokens, -1)
    directional = _lookup(DIRECTIONALS, last)

    def token_rule(token: Column, i: Column) -> Column:
        as_directional = _lookup(DIRECTIONALS, token)
        as_suffix = _lookup(STREET_SUFFIXES, token)
        return (
            F.when((i == 1) & (n > 2) & as_directional.isNotNull(), as_directional)
            .when((i == n - 1) & (n > 2) & as_directional.isNotNull(), as_directional)
            .when((i == n - 1) & (n > 1) & as_suffix.isNotNull(), as_suffix)
            .when(
                (i == n - 2) & (n > 2) & as_suffix.isNotNull() & directional.isNotNull(), as_suffix
            )
            .otherwise(token)
        )

    return F.array_join(F.transform(tokens, token_rule), " ")


def normalize_address(street: Column, city: Column, state: Column, postal_code: Column) -> Column:
    street_line, city_clean, state_clean = (clean_address_part(c) for c in (street, city, state))
    zip5 = F.regexp_extract(
        F.regexp_replace(F.coalesce(postal_code, F.lit("")), "[^0-9-]", ""), "^([0-9]{5})", 1
    )
    pattern = unit_pattern()
    has_unit = street_line.rlike(pattern)
    designator = F.coalesce(
        F.nullif(F.regexp_extract(street_line, pattern, 2), F.lit("")),
        F.regexp_extract(street_line, pattern, 3),
    )
    with_unit = F.concat_ws(
        " ",
        abbreviate_street(F.regexp_extract(street_line, pattern, 1)),
        _lookup(UNIT_DESIGNATORS, designator),
        F.regexp_extract(street_line, pattern, 4),
    )
    line = F.when(has_unit, with_unit).otherwise(abbreviate_street(street_line))
    parts = [street_line, city_clean, state_clean, zip5]
    all_empty = parts[0] == ""
    for part in parts[1:]:
        all_empty = all_empty & (part == "")
    any_empty = parts[0] == ""
    for part in parts[1:]:
        any_empty = any_empty | (part == "")
    return (
        F.when(all_empty, _rejected(p.EMPTY))
        .when(any_empty, _rejected(p.ADDRESS_INCOMPLETE))
        .otherwise(_ok(F.concat_ws(" ", line, city_clean, state_clean, zip5)))
    )


def normalize_maid(value: Column) -> Column:
    maid = F.lower(trim(value))
    return (
        F.when(is_blank(value), _rejected(p.EMPTY))
        .when(maid.rlike(MAID_PATTERN), _ok(maid))
        .otherwise(_rejected(p.MAID_SYNTAX))
    )


def hash_value(normalized: Column, hash_type: str, encoding: str) -> Column:
    """Hash as lower-case hex, or Base64 of the raw digest (not of the hex text)."""
    if hash_type == "plaintext":
        return normalized
    digests = {
        "md5": F.md5(normalized),
        "sha1": F.sha1(normalized),
        "sha256": F.sha2(normalized, 256),
    }
    hexed = digests[hash_type]
    return F.base64(F.unhex(hexed)) if encoding == "base64" else hexed


def normalize_identifier(
    kind: str,
    profile: p.Profile,
    value: Column,
    *,
    country: Column | None = None,
    default_country: str | None = None,
) -> Column:
    """Normalize an email, phone or MAID column with a profile (addresses: normalize_address)."""
    if kind == "email" and profile.email is not None:
        return normalize_email(value, profile.email)
    if kind == "phone" and profile.phone is not None:
        return normalize_phone(
            value, profile.phone, country=country, default_country=default_country
        )
    if kind == "maid":
        return normalize_maid(value)
    return _rejected(p.KIND_UNSUPPORTED)
