"""Hash detection: what a column of identifiers really holds, judged on a sample."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.errors import HashMismatchError

# Digest length in hex characters and in Base64 characters (with padding).
HEX_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
BASE64_LENGTHS = {24: "md5", 28: "sha1", 44: "sha256"}
_HEX = re.compile(r"(?i)^(0x)?[0-9a-f]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{7,20}$")

# Share of sampled values that must agree before a form is called the column's form.
AGREEMENT = 0.95


def classify_value(value: str) -> str:
    """The form of one value: `sha256` (hex), `sha256_base64`, `plaintext_email`, ..."""
    text = value.strip()
    if "@" in text:
        return "plaintext_email"
    if _HEX.match(text):
        digits = len(text) - (2 if text[:2].lower() == "0x" else 0)
        if digits in HEX_LENGTHS:
            return HEX_LENGTHS[digits]
    if _BASE64.match(text) and len(text) in BASE64_LENGTHS and not text.isdigit():
        return f"{BASE64_LENGTHS[len(text)]}_base64"
    if _PHONE.match(text):
        return "plaintext_phone"
    return "unrecognized"


def detect_form(sample: Iterable[str]) -> str:
    """The form most sampled values share, or `mixed` when none reaches AGREEMENT."""
    counts = Counter(classify_value(value) for value in sample)
    total = sum(counts.values())
    if not total:
        return "empty"
    form, count = counts.most_common(1)[0]
    return form if count / total >= AGREEMENT else "mixed"


def declared_form(kind: str, hash_type: str, encoding: str) -> str:
    """The form a partner's declaration promises for an identifier column."""
    if hash_type == "plaintext":
        return f"plaintext_{kind}" if kind in ("email", "phone") else "plaintext"
    return hash_type if encoding == "hex" else f"{hash_type}_base64"


def is_declared_form(kind: str, hash_type: str, encoding: str, found: str) -> bool:
    expected = declared_form(kind, hash_type, encoding)
    if expected == "plaintext":  # addresses and MAIDs in plaintext have no fixed shape
        return found not in HEX_LENGTHS.values() and not found.endswith("_base64")
    return found == expected


def canonical_hash(value: Column, encoding: str) -> Column:
    """Upper-case hex and a `0x` prefix are spellings, not errors: normalize them away."""
    text = F.trim(value)
    if encoding == "hex":  # string built-ins, not a regex: this runs on every universe cell
        prefixed = text.startswith("0x") | text.startswith("0X")
        return F.lower(F.when(prefixed, text.substr(F.lit(3), F.length(text))).otherwise(text))
    return text


def hash_bytes(value: Column, hash_type: str, encoding: str) -> Column:
    """The compact binary form of a hash (16-32 bytes instead of 32-64 characters) for joins."""
    if hash_type == "plaintext":
        return F.encode(value, "UTF-8")
    if encoding == "base64":
        return F.try_to_binary(value, F.lit("base64"))
    return F.unhex(value)  # NULL for a non-hex value, like try_to_binary without its wrapper


def written_hash_bytes(value: Column, hash_type: str, encoding: str) -> Column:
    """hash_bytes of a hash as a partner wrote it (upper case, `0x`, spaces: canonical_hash).

    Hex digits decode alike in either case, so a clean value is decoded as it is and only the
    rest goes through canonical_hash: the universe side of a match decodes millions of cells.
    """
    if encoding != "hex" or hash_type == "plaintext":
        return hash_bytes(canonical_hash(value, encoding), hash_type, encoding)
    return F.coalesce(F.unhex(value), F.unhex(canonical_hash(value, encoding)))


def sample_values(
    frame: DataFrame, columns: list[str], *, size: int = 1000
) -> dict[str, list[str]]:
    """Up to `size` non-empty values of each column, from one bounded scan of the frame."""
    rows = frame.select(*columns).limit(size * 4).collect()
    samples: dict[str, list[str]] = {column: [] for column in columns}
    for row in rows:
        for column in columns:
            value = row[column]
            if value not in (None, "") and len(samples[column]) < size:
                samples[column].append(str(value))
    return samples


def require_declared_forms(
    samples: dict[str, list[str]],
    declared: dict[str, tuple[str, str, str]],
    *,
    file: str,
) -> dict[str, str]:
    """Check each column's detected form against (kind, hash, encoding); raise on a mismatch.

    Returns the detected form per column, for the ledger.
    """
    found = {column: detect_form(values) for column, values in samples.items()}
    for column, (kind, hash_type, encoding) in declared.items():
        form = found[column]
        if form != "empty" and not is_declared_form(kind, hash_type, encoding, form):
            raise HashMismatchError(
                file=file,
                column=column,
                declared=declared_form(kind, hash_type, encoding),
                found=form,
                sampled=len(samples[column]),
            )
    return found
