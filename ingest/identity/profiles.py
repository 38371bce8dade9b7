"""Normalization profiles: named, versioned rule sets kept as data in profiles.yaml."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.errors import UnknownProfileError

IdentifierKind = Literal[
    "email", "phone", "address", "maid", "first_name", "last_name", "postal_code", "country"
]
# Kinds the ad platforms match on beside email and phone, each with a text rule of its own.
TEXT_KINDS = ("first_name", "last_name", "postal_code", "country")
# identifier kind -> the profile field holding its rule (MAIDs have one fixed rule)
RULE_FIELDS = {
    "email": "email",
    "phone": "phone",
    "address": "address",
    "first_name": "person_name",
    "last_name": "person_name",
    "postal_code": "postal_code",
    "country": "country",
}
HashType = Literal["plaintext", "md5", "sha1", "sha256"]
HashEncoding = Literal["hex", "base64"]

# Reason codes a rejected value carries instead of raising.
EMPTY = "empty"
EMAIL_SYNTAX = "email_syntax"
PHONE_COUNTRY_UNKNOWN = "phone_country_unknown"
PHONE_CALLING_CODE_UNKNOWN = "phone_calling_code_unknown"
PHONE_TOO_SHORT = "phone_too_short"
PHONE_TOO_LONG = "phone_too_long"
ADDRESS_INCOMPLETE = "address_incomplete"
ADDRESS_COUNTRY_UNSUPPORTED = "address_country_unsupported"
MAID_SYNTAX = "maid_syntax"
TEXT_SYNTAX = "text_syntax"
KIND_UNSUPPORTED = "kind_unsupported"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Trim(Frozen):
    """Remove leading and trailing whitespace (tabs and no-break spaces included), every
    Unicode space with `every_space` (as Python's str.strip() does), and the characters in
    `also` (Meta's SDK strips edge dots and NUL too)."""

    step: Literal["trim"]
    also: str = ""
    every_space: bool = False


class Lowercase(Frozen):
    """Lowercase every letter, or only A-Z (UID2 leaves other letters as written)."""

    step: Literal["lowercase"]
    ascii_only: bool = False


class StripDots(Frozen):
    """Remove '.' from the local part for these domains (Gmail ignores dots)."""

    step: Literal["strip_dots"]
    domains: tuple[str, ...]


class StripPlusTag(Frozen):
    """Remove '+' and what follows it in the local part for these domains ("*": every one)."""

    step: Literal["strip_plus_tag"]
    domains: tuple[str, ...]


class RewriteDomain(Frozen):
    """Replace one domain by its equivalent (googlemail.com is gmail.com)."""

    step: Literal["rewrite_domain"]
    from_domain: str = Field(alias="from")
    to_domain: str = Field(alias="to")


class KeepWordCharacters(Frozen):
    """Remove every character but letters and digits of any script, '_' and those in `also`
    (Amazon's email rule removes spaces, '+' and other symbols anywhere in the address)."""

    step: Literal["keep_word_characters"]
    also: str = ""


class Uppercase(Frozen):
    step: Literal["uppercase"]


class KeepAsciiLetters(Frozen):
    """Keep A-Z and a-z only: Meta's SDK drops every other character of a name or country."""

    step: Literal["keep_ascii_letters"]


class CutAt(Frozen):
    """Keep what stands before the first `separator` (a ZIP+4 code's dash)."""

    step: Literal["cut_at"]
    separator: str = Field(min_length=1)


class FirstCharacters(Frozen):
    """Keep the first `count` characters (a country written out keeps its first two)."""

    step: Literal["first"]
    count: int = Field(ge=1)


TextStep = Annotated[
    Trim | Lowercase | Uppercase | KeepAsciiLetters | KeepWordCharacters | CutAt | FirstCharacters,
    Field(discriminator="step"),
]


class TextRule(Frozen):
    """A name, postal code or country: steps, then an optional syntax the result must have.

    `hashed: false` marks a value the platform takes as written (Google's Customer Match
    file sends country and postal code unhashed).
    """

    steps: tuple[TextStep, ...]
    pattern: str | None = None
    hashed: bool = True


EmailStep = Annotated[
    Trim | Lowercase | KeepWordCharacters | StripDots | StripPlusTag | RewriteDomain,
    Field(discriminator="step"),
]


class PhoneRule(Frozen):
    """E.164 with '+', E.164 digits without '+', or the national significant number alone.

    `country_unknown`: a number without '+' whose seed has no country (and no default) is
    rejected, or read as international digits that start with a calling code (what the
    platforms' SDKs assume). `keep_e164`: a value already written as '+' and `digits` digits is
    taken as written, whatever its length for its calling code (UID2 accepts exactly that).
    `digits`: the least and most digits of the whole number, calling code included.
    """

    format: Literal["e164_plus", "e164_digits", "national"]
    country_unknown: Literal["reject", "international"] = "reject"
    keep_e164: bool = False
    digits: tuple[int, int] | None = None

    def e164_pattern(self) -> str:
        """A value already in E.164 form within the digit bounds (what keep_e164 keeps)."""
        low, high = self.digits or (1, 15)
        return rf"^\+[0-9]{{{low},{high}}}$"

    @model_validator(mode="after")
    def _kept_as_e164(self) -> PhoneRule:
        if self.keep_e164 and self.format == "national":
            raise ValueError("keep_e164 needs an E.164 format")
        return self


class Difference(Frozen):
    """A documented way a profile deliberately differs from the platform's own SDK."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str


class AddressRule(Frozen):
    """usps_one_line: USPS Publication 28 one-line form (uppercase, no punctuation,
    abbreviations, ZIP5) of street, city, state and ZIP. amazon_street: the street line
    alone in Amazon Ads' form, with the words of the seed's country (amazon_address.yaml)."""

    format: Literal["usps_one_line", "amazon_street"]


class Profile(Frozen):
    """One platform's normalization and default hash."""

    name: str
    version: int = Field(ge=1)
    source: str
    email: tuple[EmailStep, ...] | None = None
    # ascii: an address of ASCII letters, digits and the usual symbols; unicode: any other
    # character too (UID2, Google and Meta hash non-ASCII addresses as UTF-8)
    email_syntax: Literal["ascii", "unicode"] = "ascii"
    phone: PhoneRule | None = None
    address: AddressRule | None = None
    # first_name and last_name share one rule
    person_name: TextRule | None = None
    postal_code: TextRule | None = None
    country: TextRule | None = None
    hash: HashType
    encoding: HashEncoding = "hex"
    differences: tuple[Difference, ...] = ()

    @property
    def label(self) -> str:
        """Name and version, as recorded on prepared rows."""
        return f"{self.name}@v{self.version}"

    def supports(self, kind: str) -> bool:
        return kind == "maid" or self.rule_for(kind) is not None

    def rule_for(self, kind: str) -> object:
        """The rule of a kind (first and last names share `person_name`); None if undefined."""
        field = RULE_FIELDS.get(kind)
        return getattr(self, field) if field else None

    def text_rule(self, kind: str) -> TextRule | None:
        rule = self.rule_for(kind) if kind in TEXT_KINDS else None
        return rule if isinstance(rule, TextRule) else None

    def hashes(self, kind: str) -> bool:
        """False for a kind the platform takes as written (Google's country and postal code)."""
        text = self.text_rule(kind)
        return text is None or text.hashed

    def describe_steps(self, kind: str) -> list[str]:
        """Human-readable steps for `partnerkit profiles`."""
        if kind == "email" and self.email:
            return [describe_email_step(step) for step in self.email]
        if kind == "phone" and self.phone:
            return describe_phone_rule(self.phone)
        if kind == "address" and self.address:
            return [f"address as {self.address.format}"]
        if kind == "maid":
            return ["trim", "lowercase", "UUID syntax"]
        text = self.text_rule(kind)
        if text:
            steps = [describe_text_step(step) for step in text.steps]
            return steps + ([] if text.hashed else ["sent unhashed"])
        return []


def describe_phone_rule(rule: PhoneRule) -> list[str]:
    steps = [f"phone as {rule.format}"]
    if rule.country_unknown == "international":
        steps.append("no country: digits read as international")
    if rule.keep_e164:
        steps.append("E.164 as written kept")
    if rule.digits:
        steps.append(f"{rule.digits[0]}-{rule.digits[1]} digits")
    return steps


def describe_text_step(step: object) -> str:
    if isinstance(step, CutAt):
        return f"cut at {step.separator!r}"
    if isinstance(step, FirstCharacters):
        return f"first {step.count}"
    if isinstance(step, Trim | Lowercase):
        return describe_email_step(step)
    return str(getattr(step, "step", step))


def describe_email_step(
    step: Trim | Lowercase | KeepWordCharacters | StripDots | StripPlusTag | RewriteDomain,
) -> str:
    if isinstance(step, Trim) and (step.also or step.every_space):
        extra = ["every Unicode space"] if step.every_space else []
        extra += [step.also.encode("unicode_escape").decode()] if step.also else []
        return f"trim (and {', '.join(extra)})"
    if isinstance(step, Lowercase) and step.ascii_only:
        return "lowercase (A-Z only)"
    if isinstance(step, StripDots | StripPlusTag):
        return f"{step.step} ({', '.join(step.domains)})"
    if isinstance(step, RewriteDomain):
        return f"rewrite_domain ({step.from_domain} -> {step.to_domain})"
    if isinstance(step, KeepWordCharacters):
        return f"keep letters, digits, '_' and {step.also!r} only"
    return step.step


class ProfileCatalog(Frozen):
    profiles: tuple[Profile, ...]


@cache
def load_profiles() -> dict[str, Profile]:
    """Every bundled profile version by its label, `name@vN`."""
    text = files("ingest").joinpath("identity/profiles.yaml").read_text(encoding="utf-8")
    catalog = ProfileCatalog.model_validate(yaml.safe_load(text))
    return {profile.label: profile for profile in catalog.profiles}


@cache
def newest_profiles() -> dict[str, Profile]:
    """The newest version of each profile by its name: what an unversioned name means."""
    newest: dict[str, Profile] = {}
    for profile in load_profiles().values():
        if profile.name not in newest or profile.version > newest[profile.name].version:
            newest[profile.name] = profile
    return newest


def profile_references() -> list[str]:
    """Every name a partner may declare: each profile, and each of its versions."""
    return sorted([*newest_profiles(), *load_profiles()])


def get_profile(reference: str) -> Profile:
    """`google` is the newest google rule; `google@v1` pins one version.

    A partner whose file was hashed with an older rule pins that version, so a newer rule
    never changes its matches silently.
    """
    found = load_profiles().get(reference) or newest_profiles().get(reference)
    if found is None:
        raise UnknownProfileError(reference, profile_references())
    return found
