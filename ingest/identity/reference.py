"""Pure-Python twins of the Spark identity rules in columns.py: same names, same results.

They serve `partnerkit hash` (checking a rule by hand without a JVM), the property tests, and
the parity test that runs one case table through both engines.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from ingest.identity import profiles as p
from ingest.identity.rules import (
    ALL_SPACES,
    AMAZON_COUNTRY_ALIASES,
    AMAZON_POUND,
    AMAZON_STREET_DELIMITERS,
    DIRECTIONALS,
    EMAIL_PATTERN,
    MAID_PATTERN,
    STREET_SUFFIXES,
    UNICODE_EMAIL_PATTERN,
    UNIT_DESIGNATORS,
    WHITESPACE_CHARS,
    PhoneRegion,
    amazon_street_words,
    calling_code_lengths,
    phone_regions,
    unit_pattern,
)

_NOT_ADDRESS_CHARACTERS = re.compile("[^A-Z0-9#]+")
_EMAIL = {
    "ascii": re.compile(f"(?i){EMAIL_PATTERN}"),
    "unicode": re.compile(f"(?i){UNICODE_EMAIL_PATTERN}"),
}
_NOT_ASCII_LETTERS = re.compile("[^A-Za-z]+")
_UPPER_ASCII = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_MAID = re.compile(MAID_PATTERN)
_UNIT = re.compile(unit_pattern())
# Python's re has no (?U) flag (its classes are Unicode already) and no \p{N}.
_AMAZON_DELIMITERS = re.compile(AMAZON_STREET_DELIMITERS.removeprefix("(?U)"))
_AMAZON_POUND = re.compile(AMAZON_POUND)


class Normalized(NamedTuple):
    """A normalized value, or None with the reason it was rejected."""

    value: str | None
    reason: str | None


def _ok(value: str) -> Normalized:
    return Normalized(value, None)


def _rejected(reason: str) -> Normalized:
    return Normalized(None, reason)


def is_blank(value: str | None) -> bool:
    return value is None or trim(value) == ""


def trim(value: str, also: str = "", *, every_space: bool = False) -> str:
    return value.strip((ALL_SPACES if every_space else WHITESPACE_CHARS) + also)


def normalize_email(
    value: str | None, steps: tuple[p.EmailStep, ...], syntax: str = "ascii"
) -> Normalized:
    """Apply a profile's email steps, then check the syntax."""
    if is_blank(value):
        return _rejected(p.EMPTY)
    assert value is not None
    email = value
    for step in steps:
        if isinstance(step, p.Trim | p.Lowercase | p.KeepWordCharacters):
            email = apply_text_step(email, step)
        elif "@" in email:
            local, _, domain = email.rpartition("@")
            if isinstance(step, p.RewriteDomain) and domain == step.from_domain:
                domain = step.to_domain
            elif isinstance(step, p.StripPlusTag) and (
                domain in step.domains or "*" in step.domains
            ):
                local = local.split("+", 1)[0]
            elif isinstance(step, p.StripDots) and domain in step.domains:
                local = local.replace(".", "")
            email = f"{local}@{domain}"
    return _ok(email) if _EMAIL[syntax].match(email) else _rejected(p.EMAIL_SYNTAX)


def split_calling_code(digits: str) -> str | None:
    """The calling code an international number starts with (codes are prefix-free)."""
    codes = calling_code_lengths()
    for size in (1, 2, 3):
        if digits[:size] in codes:
            return digits[:size]
    return None


def includes_calling_code(digits: str, region: PhoneRegion) -> bool:
    """Digits written without '+' that already start with the region's calling code: too
    long for a national number, or no national number while the rest is one (as
    libphonenumber decides)."""
    code, low, high = region.calling_code, region.min_length, region.max_length
    rest = digits[len(code) :]
    if not digits.startswith(code) or not low <= len(rest) <= high:
        return False
    return len(digits) > high or (not is_national(digits, region) and is_national(rest, region))


def is_national(digits: str, region: PhoneRegion) -> bool:
    return re.match(region.national_pattern, digits) is not None


def strips_trunk_prefix(digits: str, region: PhoneRegion) -> bool:
    """A leading trunk prefix ("0" in "07700 900123") is dropped unless the number was a
    national number with it and is none without it (as libphonenumber decides)."""
    prefix = region.national_prefix
    if not prefix or not digits.startswith(prefix) or len(digits) - len(prefix) < region.min_length:
        return False
    return not (is_national(digits, region) and not is_national(digits[len(prefix) :], region))


def normalize_phone(
    value: str | None, rule: p.PhoneRule, *, country: str | None, default_country: str | None
) -> Normalized:
    """Parse a phone number written any common way into the profile's format."""
    if is_blank(value):
        return _rejected(p.EMPTY)
    assert value is not None
    text = trim(value)
    if rule.keep_e164 and re.match(rule.e164_pattern(), text):
        return _ok(text if rule.format == "e164_plus" else text[1:])
    digits = re.sub(r"[^0-9]", "", text)
    region_code = trim(country or "").upper() or default_country
    region = phone_regions().get(region_code or "")
    # A number dialed from the region to abroad ("00 44 ...", "011 44 ...") is international.
    dialing_prefix = region.international_prefix if region and not text.startswith("+") else None
    dialed_out = bool(dialing_prefix) and digits.startswith(dialing_prefix or "")
    if dialed_out:
        digits = digits[len(dialing_prefix or "") :]
    if (
        text.startswith("+")
        or dialed_out
        or (region is None and rule.country_unknown == "international")
    ):
        code = split_calling_code(digits)
        if code is None:
            return _rejected(p.PHONE_CALLING_CODE_UNKNOWN)
        national = digits[len(code) :]
        low, high = calling_code_lengths()[code]
    else:
        if region is None:
            return _rejected(p.PHONE_COUNTRY_UNKNOWN)
        code, low, high = region.calling_code, region.min_length, region.max_length
        prefix = region.national_prefix
        if includes_calling_code(digits, region):
            national = digits[len(code) :]
        elif strips_trunk_prefix(digits, region):
            national = digits[len(prefix or "") :]
        else:
            national = digits
    if len(national) < low:
        return _rejected(p.PHONE_TOO_SHORT)
    if len(national) > high:
        return _rejected(p.PHONE_TOO_LONG)
    if rule.digits and len(code) + len(national) < rule.digits[0]:
        return _rejected(p.PHONE_TOO_SHORT)
    if rule.digits and len(code) + len(national) > rule.digits[1]:
        return _rejected(p.PHONE_TOO_LONG)
    if rule.format == "e164_plus":
        return _ok(f"+{code}{national}")
    if rule.format == "e164_digits":
        return _ok(f"{code}{national}")
    return _ok(national)


def clean_address_part(value: str | None) -> str:
    """Uppercase, drop '.' and apostrophes, set '#' apart, other runs to one space."""
    text = (value or "").upper().replace(".", "").replace("'", "").replace("#", " # ")
    return _NOT_ADDRESS_CHARACTERS.sub(" ", text).strip(" ")


def abbreviate_street(base: str) -> str:
    """USPS abbreviations by position: pre-directional, suffix, post-directional."""
    tokens = base.split(" ")
    n = len(tokens)
    out = []
    for i, token in enumerate(tokens):
        if i == 1 and n > 2 and token in DIRECTIONALS:
            out.append(DIRECTIONALS[token])
        elif i == n - 1 and n > 2 and token in DIRECTIONALS:
            out.append(DIRECTIONALS[token])
        elif i == n - 1 and n > 1 and token in STREET_SUFFIXES:
            out.append(STREET_SUFFIXES[token])
        elif i == n - 2 and n > 2 and token in STREET_SUFFIXES and tokens[-1] in DIRECTIONALS:
            out.append(STREET_SUFFIXES[token])
        else:
            out.append(token)
    return " ".join(out)


def normalize_address(
    street: str | None, city: str | None, state: str | None, postal_code: str | None
) -> Normalized:
    """The USPS one-line form: `123 MAIN ST APT 4B SAN FRANCISCO CA 94105`."""
    parts = [clean_address_part(v) for v in (street, city, state)]
    zip_match = re.match(r"^([0-9]{5})", re.sub(r"[^0-9-]", "", postal_code or ""))
    if not any(parts) and not zip_match:
        return _rejected(p.EMPTY)
    street_line, city_clean, state_clean = parts
    if not (street_line and city_clean and state_clean and zip_match):
        return _rejected(p.ADDRESS_INCOMPLETE)
    unit = _UNIT.match(street_line)
    if unit:
        base = abbreviate_street(unit.group(1))
        designator = UNIT_DESIGNATORS[unit.group(2) or unit.group(3)]
        street_line = f"{base} {designator} {unit.group(4)}"
    else:
        street_line = abbreviate_street(street_line)
    return _ok(f"{street_line} {city_clean} {state_clean} {zip_match.group(1)}")


def amazon_country(country: str | None, default_country: str | None) -> str | None:
    """The seed's country (else the default) as Amazon's address tables name it."""
    code = trim(country or "").upper() or (default_country or "")
    return AMAZON_COUNTRY_ALIASES.get(code, code) or None


def is_word_character(c: str) -> bool:
    """A letter or number of any script, or '_' (Java's [\\p{L}\\p{N}_])."""
    return c == "_" or unicodedata.category(c)[0] in "LN"


def is_number(text: str) -> bool:
    """Python's isnumeric(), which Amazon's normalizer asks (rules.numeric_class in Spark)."""
    return text.isnumeric()


def split_dash(token: str) -> list[str]:
    """`123-A` -> `123`, `A`: a house number joined to a letter by its last dash."""
    number, dash, rest = token.rpartition("-")
    if dash and is_number(number) and rest and not is_number(rest):
        return [number, rest]
    return [token]


def split_pound(token: str) -> list[str]:
    """`APT#4` -> `APT`, `#`, `4`; what stands before the letters is dropped (`1A#5` -> `A`,
    `#`, `5`). A token with several marks comes apart as Amazon's loop takes it: each later
    mark's parts replace the last part of the one before (`A#1#2` -> `A`, `#`, `#`, `2`)."""
    found = [
        [part for part in (match.group(1), "#", match.group(2)) if part]
        for match in _AMAZON_POUND.finditer(token)
    ]
    if not found:
        return [token]
    return [part for parts in found[:-1] for part in parts[:-1]] + found[-1]


def split_within_budget(tokens: list[str], split: Callable[[str], list[str]]) -> list[str]:
    """Split tokens in order while the output is shorter than the input was.

    Amazon's normalizer walks the list by index while inserting into it, over as many
    indices as the list had at the start: a split pushes later tokens right, and those
    pushed past the last index are left as written ("5 1-A 2-B" keeps "2-B").
    """
    out: list[str] = []
    for i, token in enumerate(tokens):
        if len(out) >= len(tokens):
            return out + tokens[i:]
        out += split(token)
    return out


def normalize_street_amazon(
    street: str | None, country: str | None, default_country: str | None
) -> Normalized:
    """Amazon Ads' street line: words uppercased and split at spaces and punctuation, house
    numbers and units split apart, street words replaced by the country's standard forms,
    then joined without spaces and lowercased (`8 Bluestem Terrace` -> `8bluestemter`)."""
    if is_blank(street):
        return _rejected(p.EMPTY)
    words = amazon_street_words().get(amazon_country(country, default_country) or "")
    if words is None:
        return _rejected(p.ADDRESS_COUNTRY_UNSUPPORTED)
    assert street is not None
    tokens = [t for t in _AMAZON_DELIMITERS.split(street.upper()) if t]
    tokens = split_within_budget(tokens, split_dash)
    tokens = split_within_budget(tokens, split_pound)
    line = "".join(words.get(token, token) for token in tokens).lower()
    return _ok(line) if line else _rejected(p.EMPTY)


def normalize_maid(value: str | None) -> Normalized:
    """Mobile advertising IDs (IDFA/GAID): lower-case UUIDs."""
    if is_blank(value):
        return _rejected(p.EMPTY)
    assert value is not None
    maid = trim(value).lower()
    return _ok(maid) if _MAID.match(maid) else _rejected(p.MAID_SYNTAX)


def apply_text_step(text: str, step: p.TextStep) -> str:
    """One step of the vocabulary that emails, names, postal codes and countries share."""
    if isinstance(step, p.Trim):
        return trim(text, step.also, every_space=step.every_space)
    if isinstance(step, p.Lowercase):
        return text.translate(_UPPER_ASCII) if step.ascii_only else text.lower()
    if isinstance(step, p.Uppercase):
        return text.upper()
    if isinstance(step, p.KeepAsciiLetters):
        return _NOT_ASCII_LETTERS.sub("", text)
    if isinstance(step, p.KeepWordCharacters):
        return "".join(c for c in text if c in step.also or is_word_character(c))
    if isinstance(step, p.CutAt):
        return text.split(step.separator, 1)[0]
    return text[: step.count]


def normalize_text(value: str | None, rule: p.TextRule) -> Normalized:
    """A first or last name, postal code or country: the rule's steps, then its syntax."""
    if is_blank(value):
        return _rejected(p.EMPTY)
    assert value is not None
    text = value
    for step in rule.steps:
        text = apply_text_step(text, step)
    if text == "":
        return _rejected(p.EMPTY)
    if rule.pattern and not re.match(rule.pattern, text):
        return _rejected(p.TEXT_SYNTAX)
    return _ok(text)


def hash_value(normalized: str, hash_type: str, encoding: str) -> str:
    """Hash a normalized value as hex, or Base64 of the raw digest."""
    if hash_type == "plaintext":
        return normalized
    digest = hashlib.new(hash_type, normalized.encode("utf-8")).digest()
    if encoding == "base64":
        return base64.b64encode(digest).decode("ascii")
    return digest.hex()


def normalize_identifier(
    kind: str,
    profile: p.Profile,
    value: str | None,
    *,
    country: str | None = None,
    default_country: str | None = None,
) -> Normalized:
    """Normalize one email, phone, MAID, name, postal code, country or Amazon street line
    with a profile (USPS addresses: normalize_address, or normalize_written for one line)."""
    if kind == "address" and profile.address and profile.address.format == "amazon_street":
        return normalize_street_amazon(value, country, default_country)
    if kind == "email" and profile.email is not None:
        return normalize_email(value, profile.email, profile.email_syntax)
    if kind == "phone" and profile.phone is not None:
        return normalize_phone(
            value, profile.phone, country=country, default_country=default_country
        )
    if kind == "maid":
        return normalize_maid(value)
    text_rule = profile.text_rule(kind)
    if text_rule is not None:
        return normalize_text(value, text_rule)
    return _rejected(p.KIND_UNSUPPORTED)


def normalize_written(
    kind: str,
    profile: p.Profile,
    value: str,
    *,
    country: str | None = None,
    default_country: str | None = None,
) -> Normalized:
    """A value as a person types it: a USPS address on one line, anything else as it is."""
    if kind == "address" and profile.address and profile.address.format == "usps_one_line":
        return normalize_address(*split_one_line_address(value))
    return normalize_identifier(
        kind, profile, value, country=country, default_country=default_country
    )


def split_one_line_address(text: str) -> tuple[str, str, str, str]:
    """`123 Main St, San Francisco, CA 94105` -> (street, city, state, postal code)."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) == 4:
        return parts[0], parts[1], parts[2], parts[3]
    if len(parts) == 3:
        state, _, postal = parts[2].rpartition(" ")
        return parts[0], parts[1], state, postal
    return text, "", "", ""
