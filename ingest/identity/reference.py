"""Pure-Python twins of the Spark identity rules in columns.py: same names, same results.

They serve `partnerkit hash` (checking a rule by hand without a JVM), the property tests, and
the parity test that runs one case table through both engines.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import NamedTuple

from ingest.identity import profiles as p
from ingest.identity.rules import (
    ALL_SPACES,
    DIRECTIONALS,
    EMAIL_PATTERN,
    MAID_PATTERN,
    STREET_SUFFIXES,
    UNICODE_EMAIL_PATTERN,
    UNIT_DESIGNATORS,
    WHITESPACE_CHARS,
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
        if isinstance(step, p.Trim | p.Lowercase):
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
        if (
            len(digits) > high
            and digits.startswith(code)
            and low <= len(digits) - len(code) <= high
        ):
            national = digits[len(code) :]
        elif prefix and digits.startswith(prefix) and len(digits) - len(prefix) >= low:
            national = digits[len(prefix) :]
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
    """Normalize one email, phone, MAID, name, postal code or country with a profile
    (addresses: normalize_address)."""
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


def split_one_line_address(text: str) -> tuple[str, str, str, str]:
    """`123 Main St, San Francisco, CA 94105` -> (street, city, state, postal code)."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) == 4:
        return parts[0], parts[1], parts[2], parts[3]
    if len(parts) == 3:
        state, _, postal = parts[2].rpartition(" ")
        return parts[0], parts[1], state, postal
    return text, "", "", ""
