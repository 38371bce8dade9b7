"""Tables the identity rules share: phone region metadata and USPS Publication 28 abbreviations.

Phone metadata comes from `phonenumbers` (Google's libphonenumber data) so calling codes, trunk
prefixes and number lengths stay current with a dependency update, not a hand-kept table.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import phonenumbers
import yaml
from phonenumbers import PhoneMetadata

# Whitespace both engines agree on. Java's \s and Python's \s differ, so the sets are
# spelled out. WHITESPACE_CHARS: ASCII whitespace, the no-break spaces and the byte-order mark.
# ALL_SPACES: every character Python's str.strip() removes as well (a profile whose platform
# SDK strips with it asks for them); a longer set makes every trim slower, so only those do.
WHITESPACE_CHARS = " \t\n\x0b\f\r\u00a0\u2007\u202f\ufeff"
NON_ASCII_SPACES = (
    "\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
ALL_SPACES = WHITESPACE_CHARS + "".join(
    c for c in "\x1c\x1d\x1e\x1f" + NON_ASCII_SPACES if c not in WHITESPACE_CHARS
)
EMAIL_PATTERN = r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$"
# The same shape where any non-ASCII character but a space may stand for a letter: Java's and
# Python's regexes both read \xhh and \uhhhh escapes, and both match a class per code point.
_OTHER = "[^\\x00-\\x7f" + "".join(f"\\u{ord(c):04x}" for c in NON_ASCII_SPACES) + "]"
UNICODE_EMAIL_PATTERN = (
    rf"^(?:[a-z0-9!#$%&'*+/=?^_`{{|}}~.-]|{_OTHER})+"
    rf"@(?:[a-z0-9-]|{_OTHER})+(?:\.(?:[a-z0-9-]|{_OTHER})+)+$"
)
MAID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@dataclass(frozen=True)
class PhoneRegion:
    """What the phone rules need to know of one region."""

    calling_code: str
    national_prefix: str | None
    min_length: int
    max_length: int
    # What a caller in the region dials before a calling code ("00", "011"); None where the
    # region's dialing prefix is a pattern or a single digit (it would read as a trunk prefix).
    international_prefix: str | None = None
    # Every national number of the region matches this whole (libphonenumber's general
    # pattern): digits that start with the calling code are read as including it when they
    # do not match and the rest does ("919876543210" in India is +91 9876543210).
    national_pattern: str = ".*"
    region: str = ""


def _dialing_prefix(metadata: PhoneMetadata) -> str | None:
    for prefix in (metadata.international_prefix, metadata.preferred_international_prefix):
        plain = (prefix or "").replace("~", "")
        if plain.isdigit() and len(plain) >= 2:
            return plain
    return None


def _lengths(metadata: PhoneMetadata) -> tuple[int, ...]:
    lengths = tuple(length for length in metadata.general_desc.possible_length if length > 0)
    if lengths:
        return lengths
    return (4, 17)  # no data: accept what E.164 allows


@cache
def phone_regions() -> dict[str, PhoneRegion]:
    """Every region phonenumbers knows, by ISO 3166 alpha-2 code."""
    regions = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            continue
        lengths = _lengths(metadata)
        regions[region] = PhoneRegion(
            calling_code=str(metadata.country_code),
            national_prefix=metadata.national_prefix or None,
            min_length=min(lengths),
            max_length=max(lengths),
            international_prefix=_dialing_prefix(metadata),
            national_pattern=f"^(?:{metadata.general_desc.national_number_pattern or '.*'})$",
            region=region,
        )
    return regions


@cache
def national_patterns() -> str:
    """One regex for every region's national pattern, on `REGION:digits`: compiled once,
    where a pattern looked up per row would be compiled per row."""
    branches = (
        f"{name}:{region.national_pattern[1:-1]}" for name, region in phone_regions().items()
    )
    return f"^(?:{'|'.join(branches)})$"


@cache
def calling_code_lengths() -> dict[str, tuple[int, int]]:
    """(min, max) national number length per calling code, over all regions sharing it."""
    spans: dict[str, tuple[int, int]] = {}
    for region in phone_regions().values():
        low, high = spans.get(region.calling_code, (99, 0))
        spans[region.calling_code] = (min(low, region.min_length), max(high, region.max_length))
    return spans


# USPS Publication 28, Appendix C1 (street suffixes, common forms) and C2 (secondary unit
# designators), and its directionals.
STREET_SUFFIXES = {
    "ALLEY": "ALY",
    "ANNEX": "ANX",
    "ARCADE": "ARC",
    "AVENUE": "AVE",
    "AV": "AVE",
    "AVEN": "AVE",
    "BAYOU": "BYU",
    "BEACH": "BCH",
    "BEND": "BND",
    "BLUFF": "BLF",
    "BOULEVARD": "BLVD",
    "BOUL": "BLVD",
    "BRANCH": "BR",
    "BRIDGE": "BRG",
    "BROOK": "BRK",
    "BYPASS": "BYP",
    "CANYON": "CYN",
    "CAUSEWAY": "CSWY",
    "CENTER": "CTR",
    "CENTRE": "CTR",
    "CIRCLE": "CIR",
    "CIRC": "CIR",
    "CLIFF": "CLF",
    "CLUB": "CLB",
    "COMMON": "CMN",
    "CORNER": "COR",
    "COURSE": "CRSE",
    "COURT": "CT",
    "COVE": "CV",
    "CREEK": "CRK",
    "CRESCENT": "CRES",
    "CROSSING": "XING",
    "DRIVE": "DR",
    "DRIV": "DR",
    "ESTATE": "EST",
    "ESTATES": "ESTS",
    "EXPRESSWAY": "EXPY",
    "EXTENSION": "EXT",
    "FALLS": "FLS",
    "FERRY": "FRY",
    "FIELD": "FLD",
    "FIELDS": "FLDS",
    "FOREST": "FRST",
    "FORK": "FRK",
    "FREEWAY": "FWY",
    "GARDEN": "GDN",
    "GARDENS": "GDNS",
    "GATEWAY": "GTWY",
    "GLEN": "GLN",
    "GREEN": "GRN",
    "GROVE": "GRV",
    "HARBOR": "HBR",
    "HAVEN": "HVN",
    "HEIGHTS": "HTS",
    "HIGHWAY": "HWY",
    "HILL": "HL",
    "HILLS": "HLS",
    "HOLLOW": "HOLW",
    "ISLAND": "IS",
    "JUNCTION": "JCT",
    "KNOLL": "KNL",
    "LAKE": "LK",
    "LAKES": "LKS",
    "LANDING": "LNDG",
    "LANE": "LN",
    "LOOP": "LOOP",
    "MANOR": "MNR",
    "MEADOW": "MDW",
    "MEADOWS": "MDWS",
    "MILL": "ML",
    "MOUNT": "MT",
    "MOUNTAIN": "MTN",
    "ORCHARD": "ORCH",
    "PARK": "PARK",
    "PARKWAY": "PKWY",
    "PKY": "PKWY",
    "PASS": "PASS",
    "PATH": "PATH",
    "PIKE": "PIKE",
    "PINES": "PNES",
    "PLACE": "PL",
    "PLAIN": "PLN",
    "PLAINS": "PLNS",
    "PLAZA": "PLZ",
    "POINT": "PT",
    "PORT": "PRT",
    "PRAIRIE": "PR",
    "RANCH": "RNCH",
    "RIDGE": "RDG",
    "RIVER": "RIV",
    "ROAD": "RD",
    "ROUTE": "RTE",
    "ROW": "ROW",
    "RUN": "RUN",
    "SHORE": "SHR",
    "SPRING": "SPG",
    "SPRINGS": "SPGS",
    "SQUARE": "SQ",
    "STATION": "STA",
    "STREET": "ST",
    "STR": "ST",
    "SUMMIT": "SMT",
    "TERRACE": "TER",
    "TRACE": "TRCE",
    "TRAIL": "TRL",
    "TURNPIKE": "TPKE",
    "VALLEY": "VLY",
    "VIEW": "VW",
    "VILLAGE": "VLG",
    "VISTA": "VIS",
    "WALK": "WALK",
    "WAY": "WAY",
    "WELLS": "WLS",
}
DIRECTIONALS = {
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "NORTHEAST": "NE",
    "NORTHWEST": "NW",
    "SOUTHEAST": "SE",
    "SOUTHWEST": "SW",
    "N": "N",
    "S": "S",
    "E": "E",
    "W": "W",
    "NE": "NE",
    "NW": "NW",
    "SE": "SE",
    "SW": "SW",
}
# '#' is USPS's designator when the kind of unit is unknown; partnerkit writes it as APT so
# "#4B" and "Apt 4B" standardize alike (a deliberate departure, see docs/design-notes.md).
UNIT_DESIGNATORS = {
    "APARTMENT": "APT",
    "APT": "APT",
    "#": "APT",
    "SUITE": "STE",
    "STE": "STE",
    "UNIT": "UNIT",
    "FLOOR": "FL",
    "FL": "FL",
    "ROOM": "RM",
    "RM": "RM",
    "BUILDING": "BLDG",
    "BLDG": "BLDG",
    "DEPARTMENT": "DEPT",
    "DEPT": "DEPT",
    "SPACE": "SPC",
    "SPC": "SPC",
    "LOT": "LOT",
    "TRAILER": "TRLR",
    "TRLR": "TRLR",
}


def unit_pattern() -> str:
    """Street line = base, designator, unit number; the designator list sorted longest first."""
    designators = "|".join(sorted((d for d in UNIT_DESIGNATORS if d != "#"), key=len, reverse=True))
    return rf"^(.*?) (?:({designators}) |(#) ?)([A-Z0-9-]+)$"


# Amazon Ads' address normalizer: what separates the words of a street line (whitespace as
# Python's str.isspace() knows it, spelled out so Java reads the same class), and the words it
# replaces per country (amazon_address.yaml).
_PYTHON_SPACES = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680"
    "\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
AMAZON_STREET_DELIMITERS = rf"(?U)[{_PYTHON_SPACES},!.\[\]{{}}()]+|\bC/O\b"
# A '#' with letters before it or a unit after it ("APT#4", "#4B"); a bare '#' is no match.
AMAZON_POUND = "(?=[A-Z]|#[0-9A-Z/-])([A-Z]*)#([0-9A-Z/-]*)"
AMAZON_COUNTRY_ALIASES = {"UK": "GB"}


@cache
def amazon_street_words() -> dict[str, dict[str, str]]:
    """Country -> {word: standard form}, the country's tables merged in order (later wins)."""
    text = files("ingest").joinpath("identity/amazon_address.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    merged: dict[str, dict[str, str]] = {}
    for country, table_names in data["countries"].items():
        words: dict[str, str] = {}
        for name in table_names:
            words.update(data["tables"][name])
        merged[country] = words
    return merged


@cache
def numeric_class() -> str:
    """A regex class of what Python's str.isnumeric() accepts: Unicode category N and the CJK
    ideographs with a numeric value (五, 十), which Java's \\p{N} leaves out."""
    ideographs = [
        chr(c)
        for c in range(0x3000, 0x30000)  # where they are, in Unicode 15
        if chr(c).isnumeric() and not unicodedata.category(chr(c)).startswith("N")
    ]
    return "[\\p{N}" + "".join(f"\\x{{{ord(c):x}}}" for c in ideographs) + "]"
