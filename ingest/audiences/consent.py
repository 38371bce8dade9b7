"""IAB TCF v2 consent strings: which purposes a person consented to, read in Spark.

A TC string is Base64url (no padding) of a bit field, segments joined by `.`; the core
segment comes first. What is read here, the documented subset of the core segment: the
version (bits 0-5, must be 2) and the purpose consents (bits 152-175, purpose n at bit
151 + n), after Created, LastUpdated, CmpId, CmpVersion, ConsentScreen, ConsentLanguage,
VendorListVersion, TcfPolicyVersion, IsServiceSpecific, UseNonStandardTexts and
SpecialFeatureOptIns. Vendor consents, legitimate interests and publisher restrictions are
not read. A string that is not valid Base64url or not version 2 grants nothing.

The Spark rule uses built-in functions only; `tcf_purposes` is its pure-Python twin, and
both are tested against the `iab-tcf` decoder.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

VERSION_BITS = 6
PURPOSES_OFFSET = 152  # bit of purpose 1's consent
PURPOSE_COUNT = 24


def _core_bytes(tc_string: Column) -> Column:
    """The core segment as binary, NULL when it is not Base64url."""
    core = F.translate(F.substring_index(tc_string, ".", 1), "-_", "+/")
    padded = F.rpad(core, (F.ceil(F.length(core) / 4) * 4).cast("int"), "=")
    return F.try_to_binary(padded, F.lit("base64"))


def _bit(data: Column, position: int) -> Column:
    """Bit `position` (0 = the first byte's highest bit) of a binary column, NULL past its end."""
    byte = F.conv(F.hex(F.substring(data, position // 8 + 1, 1)), 16, 10).cast("int")
    return F.when(F.length(data) > position // 8, F.shiftright(byte, 7 - position % 8) % 2)


def tcf_purposes_granted(tc_string: Column, purposes: Sequence[int]) -> Column:
    """True where the TC string is a version 2 string consenting to every purpose given."""
    data = _core_bytes(tc_string)
    version = F.shiftright(F.conv(F.hex(F.substring(data, 1, 1)), 16, 10).cast("int"), 2)
    checks = [_bit(data, PURPOSES_OFFSET + purpose - 1) == 1 for purpose in purposes]
    granted = (version == 2) & (F.length(data) >= (PURPOSES_OFFSET + PURPOSE_COUNT) // 8)
    for check in checks:
        granted = granted & check
    return F.coalesce(granted, F.lit(False))


def tcf_purposes(tc_string: str | None) -> frozenset[int]:
    """The purposes a TC string consents to (empty when unreadable or not version 2)."""
    if not tc_string:
        return frozenset()
    core = tc_string.split(".", 1)[0]
    try:
        standard = core.translate(str.maketrans("-_", "+/")) + "=" * (-len(core) % 4)
        data = base64.b64decode(standard, validate=True)
    except (binascii.Error, ValueError):
        return frozenset()
    bits = "".join(f"{byte:08b}" for byte in data)
    if len(bits) < PURPOSES_OFFSET + PURPOSE_COUNT or int(bits[:VERSION_BITS], 2) != 2:
        return frozenset()
    window = bits[PURPOSES_OFFSET : PURPOSES_OFFSET + PURPOSE_COUNT]
    return frozenset(n + 1 for n, bit in enumerate(window) if bit == "1")
