"""Normalization profiles: named, versioned rule sets kept as data in profiles.yaml."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ingest.errors import UnknownProfileError

IdentifierKind = Literal["email", "phone", "address", "maid"]
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
MAID_SYNTAX = "maid_syntax"
KIND_UNSUPPORTED = "kind_unsupported"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Trim(Frozen):
    """Remove leading and trailing whitespace (tabs and no-break spaces included)."""

    step: Literal["trim"]


class Lowercase(Frozen):
    step: Literal["lowercase"]


class StripDots(Frozen):
    """Remove '.' from the local part for these domains (Gmail ignores dots)."""

    step: Literal["strip_dots"]
    domains: tuple[str, ...]


class StripPlusTag(Frozen):
    """Remove '+' and what follows it in the local part for these domains."""

    step: Literal["strip_plus_tag"]
    domains: tuple[str, ...]


class RewriteDomain(Frozen):
    """Replace one domain by its equivalent (googlemail.com is gmail.com)."""

    step: Literal["rewrite_domain"]
    from_domain: str = Field(alias="from")
    to_domain: str = Field(alias="to")


EmailStep = Annotated[
    Trim | Lowercase | StripDots | StripPlusTag | RewriteDomain, Field(discriminator="step")
]


class PhoneRule(Frozen):
    """E.164 with '+', E.164 digits without '+', or the national significant number alone."""

    format: Literal["e164_plus", "e164_digits", "national"]


class AddressRule(Frozen):
    """USPS Publication 28 one-line form: uppercase, no punctuation, abbreviations, ZIP5."""

    format: Literal["usps_one_line"]


class Profile(Frozen):
    """One platform's normalization and default hash."""

    name: str
    version: int = Field(ge=1)
    source: str
    email: tuple[EmailStep, ...] | None = None
    phone: PhoneRule | None = None
    address: AddressRule | None = None
    hash: HashType
    encoding: HashEncoding = "hex"

    @property
    def label(self) -> str:
        """Name and version, as recorded on prepared rows."""
        return f"{self.name}@v{self.version}"

    def supports(self, kind: str) -> bool:
        return kind == "maid" or getattr(self, kind, None) is not None

    def describe_steps(self, kind: str) -> list[str]:
        """Human-readable steps for `partnerkit profiles`."""
        if kind == "email" and self.email:
            return [describe_email_step(step) for step in self.email]
        if kind == "phone" and self.phone:
            return [f"phone as {self.phone.format}"]
        if kind == "address" and self.address:
            return [f"address as {self.address.format}"]
        if kind == "maid":
            return ["trim", "lowercase", "UUID syntax"]
        return []


def describe_email_step(step: Trim | Lowercase | StripDots | StripPlusTag | RewriteDomain) -> str:
    if isinstance(step, StripDots | StripPlusTag):
        return f"{step.step} ({', '.join(step.domains)})"
    if isinstance(step, RewriteDomain):
        return f"rewrite_domain ({step.from_domain} -> {step.to_domain})"
    return step.step


class ProfileCatalog(Frozen):
    profiles: tuple[Profile, ...]


@cache
def load_profiles() -> dict[str, Profile]:
    """The bundled profiles by name."""
    text = files("ingest").joinpath("identity/profiles.yaml").read_text(encoding="utf-8")
    catalog = ProfileCatalog.model_validate(yaml.safe_load(text))
    return {profile.name: profile for profile in catalog.profiles}


def get_profile(name: str) -> Profile:
    profiles = load_profiles()
    if name not in profiles:
        raise UnknownProfileError(name, sorted(profiles))
    return profiles[name]
