"""The workspace file `partnerkit.yaml`: pydantic models that forbid unknown keys at every level."""

from __future__ import annotations

import json
import os
import re
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from governance.catalogs import bundled_catalogs
from governance.models import Label, MarketingAction, Policy
from ingest.identity.profiles import get_profile, profile_references
from ingest.scores import DEFAULT_CRITERION_SCORES, DEFAULT_THRESHOLD
from jobs.errors import ConfigError, InvalidNameError, WorkspaceError
from schemas.errors import NamespaceError
from schemas.namespaces import bundled_namespaces

CONFIG_FILE_NAME = "partnerkit.yaml"
SCHEMA_FILE_NAME = "partnerkit.schema.json"  # committed in jobs/templates/, copied by init

HashType = Literal["plaintext", "md5", "sha1", "sha256"]
HashEncoding = Literal["hex", "base64"]
FileFormat = Literal["csv", "json", "jsonl", "parquet"]
IdentifierKind = Literal["email", "phone", "address", "maid"]

# Names become folder and file names (prospects/<name>, exports/<destination>): no separator,
# dot or space can reach another folder. Config names are checked by pydantic with the same
# pattern; names from the command line by `check_name`.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
NAME_RULE = "a lowercase letter, then up to 62 lowercase letters, digits or underscores"
Slug = Annotated[str, Field(pattern=NAME_PATTERN)]


def check_name(kind: str, name: str) -> str:
    """A name given on the command line (a segment, destination, partner or saved audience)."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise InvalidNameError(kind, name, NAME_RULE)
    return name


def _require_spark_keys(conf: dict[str, str]) -> dict[str, str]:
    """Reject conf keys Spark would silently ignore (feast's ignored "master" key)."""
    bad = sorted(key for key in conf if not key.startswith("spark."))
    if bad:
        raise ValueError(f"Spark conf keys must start with 'spark.', got {', '.join(bad)}")
    return conf


SparkConf = Annotated[dict[str, str], AfterValidator(_require_spark_keys)]


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SparkConfig(StrictModel):
    """How the jobs get their SparkSession; the CLI's --master wins over `master` here."""

    master: str | None = None
    shuffle_partitions: int = Field(default=8, ge=1)
    conf: SparkConf = Field(default_factory=dict)


# Spark reader options (lowercase) that lose rows or files silently.
ROW_LOSING_OPTIONS = frozenset(
    {
        "mode",
        "columnnameofcorruptrecord",
        "dropfieldifallnull",
        "ignorecorruptfiles",
        "ignoremissingfiles",
        "pathglobfilter",
        "modifiedbefore",
        "modifiedafter",
    }
)


def known_profile(profile: str) -> str:
    """A normalization profile reference (`name` or `name@version`) that exists."""
    known = profile_references()
    if profile not in known:
        raise ValueError(f"unknown normalization profile; expected one of {', '.join(known)}")
    return profile


class FileSource(StrictModel):
    """A file, folder, glob or s3:// prefix and how to read it."""

    path: str
    format: FileFormat = "csv"
    options: dict[str, str] = Field(
        default_factory=dict, description="Reader options, e.g. delimiter, encoding."
    )

    @field_validator("options")
    @classmethod
    def _no_options_that_lose_rows(cls, options: dict[str, str]) -> dict[str, str]:
        """Options that make Spark drop, repair or skip rows or files would break
        `input = accepted + quarantined` without a trace, so they are refused."""
        for key in options:
            if key.lower() in ROW_LOSING_OPTIONS:
                raise ValueError(
                    f"reader option {key!r} drops, repairs or skips rows or files; remove it "
                    "(malformed rows are quarantined with their reasons instead)"
                )
        return options


class SeedColumns(StrictModel):
    """Which seed-file columns hold the profile key, identifiers and country."""

    profile_id: str = "profile_id"
    email: str | None = "email"
    phone: str | None = "phone"
    street: str | None = "street"
    city: str | None = "city"
    state: str | None = "state"
    postal_code: str | None = "postal_code"
    country: str | None = "country"


# Seed attribute column -> the 1P profile field it fills (XDM path of the person field group).
DEFAULT_PROFILE_FIELDS = {
    "first_name": "person.name.firstName",
    "last_name": "person.name.lastName",
    "email_consent": "consents.marketing.email.val",
    "sms_consent": "consents.marketing.sms.val",
    "loyalty_tier": "loyalty.tier",
    "lifetime_value": "loyalty.lifetimeValue",
    "signup_date": "loyalty.joinDate",
    "has_financial_advisor": "person.hasFinancialAdvisor",
}


class SeedsConfig(StrictModel):
    """The brand's first-party seed set."""

    source: FileSource
    columns: SeedColumns = Field(default_factory=SeedColumns)
    default_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    attributes: list[str] = Field(default_factory=list)
    # seed column -> profile field path; attributes named here are placed on the profile
    profile_fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PROFILE_FIELDS))
    # which identity is primary in identityMap: the email where there is one, or the CRM key
    primary_identity: Literal["email", "crm"] = "email"
    # dataset labels of the brand's own data (every 1P field inherits them)
    labels: list[str] = Field(default_factory=list)


# Fields whose use in an audience suggests financial status, health or political views.
SENSITIVE_FIELDS = (
    "_partner.*.financial.*",
    "_partner.*.political.*",
    "_partner.*.affinity.healthAffinity",
    "_partner.*.interest.interestedHealthyLiving",
    "_partner.*.lifestyle.isHealthConscious",
)


class GovernanceConfig(StrictModel):
    """Workspace labels, marketing actions and policies added to the bundled catalogs."""

    labels: list[Label] = Field(default_factory=list)
    marketing_actions: list[MarketingAction] = Field(default_factory=list)
    # a policy with a core policy's id replaces it (e.g. to disable it)
    policies: list[Policy] = Field(default_factory=list)
    sensitive_fields: list[str] = Field(
        default_factory=lambda: list(SENSITIVE_FIELDS),
        description="Globs over profile field paths that suggest sensitive traits: a segment "
        "selecting on one is refused (or warned about) at a Meta custom audience destination.",
    )


class SchemaSettings(StrictModel):
    """Which XDM schema the profiles follow, and workspace folders of more schema files."""

    profile: str = "enriched_profile"
    folders: list[str] = Field(default_factory=list)


class IdentifierColumn(StrictModel):
    """One hashed identifier column of a partner file."""

    column: str
    kind: IdentifierKind


class PartnerMapping(StrictModel):
    """Partner file columns -> partner ID, identifiers and attributes grouped by domain."""

    partner_id: str
    identifiers: list[IdentifierColumn] = Field(min_length=1)
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    confidence: str | None = None
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Attribute -> the file's column, where the partner names it otherwise.",
    )
    recode: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Attribute -> {the partner's value: the catalog's value}.",
    )

    @model_validator(mode="after")
    def _renamed_and_recoded_are_mapped(self) -> PartnerMapping:
        """A column or recoding for an attribute not listed would be silently unused."""
        mapped = {name for names in self.attributes.values() for name in names}
        for key in ("columns", "recode"):
            unknown = sorted(set(getattr(self, key)) - mapped)
            if unknown:
                raise ValueError(
                    f"{key} names attributes not listed under mapping.attributes: "
                    f"{', '.join(unknown)}"
                )
        return self


class ContractTerms(StrictModel):
    """What the partner's contract allows."""

    retention_days: int = Field(default=365, ge=1)
    persist_partner_id: bool = True
    # marketing actions the contract forbids: become a label on the partner's dataset and a
    # policy that denies those actions on it
    forbidden_actions: list[str] = Field(default_factory=list)


class MatchSettings(StrictModel):
    """How evidence is scored and a canonical partner person chosen."""

    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0, le=1)
    # Used when the partner maps no confidence column: per identifier kind, 0..1.
    criterion_scores: dict[IdentifierKind, float] = Field(
        default_factory=lambda: dict(DEFAULT_CRITERION_SCORES)
    )


class ExtraExpectation(StrictModel):
    """A Great Expectations expectation added by the user: its snake_case type and kwargs."""

    type: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)


class QualityGate(StrictModel):
    """Batch-level thresholds: a batch that misses one is not published (exit code 4)."""

    max_quarantined_share: float = Field(default=0.05, ge=0, le=1)
    # identifier or attribute column -> least share of accepted rows with a value
    min_non_null: dict[str, float] = Field(default_factory=dict)
    expectations: list[ExtraExpectation] = Field(default_factory=list)


DeliveryKind = Literal["full", "delta"]


class MonitoringSettings(StrictModel):
    """How much a partner's figures may move from one run to the next before `match` or
    `ingest` warns and exits 6 (the results are kept: the exit code is for the scheduler)."""

    max_rate_drop: float | None = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Largest fall of a match rate (overall or per identifier) since the "
        "previous match run, in rate points (0.05 = 5 points); null: no check.",
    )
    max_quarantine_rise: float | None = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Largest rise of a delivery's quarantined share since the previous "
        "published delivery (0.02 = 2 points); null: no check.",
    )


class DeliverySettings(StrictModel):
    """Whether a delivery replaces the partner's universe or changes it.

    A delta holds upserts (a person's whole new record) and deletes keyed by the partner ID:
    rows marked in `operation_column`, or files whose name matches `delete_files` (partner
    IDs only). The first delivery of a delta partner is a full one (`ingest --kind full`).
    """

    kind: DeliveryKind = Field(default="full", description="full: replaces; delta: changes.")
    operation_column: str = Field(
        default="operation", description="A delta file's column holding upsert or delete."
    )
    delete_files: str | None = Field(
        default=None,
        description="A file-name pattern (fnmatch, e.g. '*deletes*') of delta files that "
        "hold deletes only.",
    )


class OptOutFeed(StrictModel):
    """Where the partner delivers opt-outs and which columns name the person: partner IDs
    and/or identifiers hashed in the partner's hash and encoding. Ingested with
    `partnerkit optouts`, kept for good (they never expire and survive full deliveries)."""

    source: FileSource
    partner_id: str | None = Field(default=None, description="Column of partner IDs.")
    identifiers: list[IdentifierColumn] = Field(
        default_factory=list, description="Columns of hashed emails or phones, with their kind."
    )

    @model_validator(mode="after")
    def _names_a_column(self) -> OptOutFeed:
        if not (self.partner_id or self.identifiers):
            raise ValueError("name partner_id or at least one identifier column")
        return self


class PartnerConfig(StrictModel):
    """One data partner: its namespace, identity rules, file and terms."""

    name: Slug
    namespace: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    profile: str
    hash: HashType | None = Field(
        default=None, description="How the file's identifiers are hashed; default: the profile's."
    )
    hash_encoding: HashEncoding | None = Field(
        default=None, description="hex or base64; default: the profile's (uid2: base64)."
    )
    source: FileSource
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    optouts: OptOutFeed | None = Field(
        default=None, description="The partner's opt-out deliveries, if it sends them."
    )
    mapping: PartnerMapping
    labels: list[str] = Field(default_factory=lambda: ["3PD"])
    contract: ContractTerms = Field(default_factory=ContractTerms)
    priority: int = Field(default=1, ge=1)
    # attribute -> why this partner's value is not an independent claim (household-level,
    # resold from another partner): it never counts as a second line when comparing partners
    not_independent: dict[str, str] = Field(default_factory=dict)
    match: MatchSettings = Field(default_factory=MatchSettings)
    quality: QualityGate = Field(default_factory=QualityGate)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)

    @model_validator(mode="before")
    @classmethod
    def _profile_hash_by_default(cls, data: Any) -> Any:
        """A partner that does not say how its identifiers are hashed uses its profile's hash
        and encoding (uid2: SHA-256 in Base64), never a hex default that contradicts it."""
        if isinstance(data, dict) and data.get("profile") in profile_references():
            profile = get_profile(data["profile"])
            defaults = {"hash": profile.hash, "hash_encoding": profile.encoding}
            data = {**data, **{k: v for k, v in defaults.items() if data.get(k) is None}}
        return data

    @model_validator(mode="after")
    def _not_independent_are_mapped(self) -> PartnerConfig:
        mapped = {c for columns in self.mapping.attributes.values() for c in columns}
        unknown = sorted(set(self.not_independent) - mapped)
        if unknown:
            raise ValueError(f"not_independent names unmapped attributes: {', '.join(unknown)}")
        return self

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, profile: str) -> str:
        return known_profile(profile)


class CommitSettings(StrictModel):
    """How jobs share the workspace: one writer at a time, old table versions kept a while."""

    writer_wait_seconds: float = Field(
        default=60, ge=0, description="How long a job waits for another writer to finish."
    )
    keep_versions_days: float = Field(
        default=7, ge=0, description="How long `partnerkit vacuum` keeps replaced versions."
    )


class CanonicalConfig(StrictModel):
    """How one value is chosen when several partners supply an attribute."""

    # attribute domain -> partners in order of preference (others follow by priority)
    domain_order: dict[str, list[str]] = Field(default_factory=dict)


class SegmentConfig(StrictModel):
    """An audience: a Spark SQL condition over profile fields (checked against the schema)."""

    name: Slug
    description: str = ""
    predicate: str = Field(min_length=1)


DestinationFormat = Literal[
    "csv", "jsonl", "parquet", "meta_custom_audience", "google_customer_match"
]


MatchKey = Literal["email", "phone", "first_name", "last_name", "postal_code", "country"]


class TcfRequirement(StrictModel):
    """IAB TCF v2 purposes a member's TC string must consent to for an export."""

    field: str = Field(
        default="consents.tcf.tcString", description="The profile field holding the TC string."
    )
    purposes: list[Annotated[int, Field(ge=1, le=11)]] = Field(
        min_length=1, description="TCF purpose IDs (1-11) that must all be consented to."
    )


# Google's per-member consent signals (EU user consent policy).
ConsentSignal = Literal["ad_user_data", "ad_personalization"]


class DestinationConfig(StrictModel):
    """Where an activation writes, in which layout, what it exports and what it is used for."""

    name: Slug
    type: Literal["file", "s3"] = "file"
    path: str = Field(description="A local folder, or s3://bucket/prefix for type s3.")
    format: DestinationFormat = "csv"
    # identity namespace codes to export (Email, Phone, CRMID, a partner's namespace...)
    identities: list[str] = Field(default_factory=list)
    # profile field paths to export (csv/jsonl/parquet only)
    attributes: list[str] = Field(default_factory=list)
    marketing_actions: list[str] = Field(min_length=1)
    # a 1P consent field that must be "y" for a member to be exported (others are counted)
    consent_field: str | None = None
    consent_by_action: dict[str, str] = Field(
        default_factory=dict,
        description="Marketing action -> a 1P consent field that must also be y for it, e.g. "
        "{emailTargeting: consents.marketing.email.val, smsTargeting: "
        "consents.marketing.sms.val}; only actions the destination lists.",
    )
    max_rows_per_file: int = Field(default=1_000_000, ge=1)
    consent_signals: dict[ConsentSignal, str] = Field(
        default_factory=dict,
        description="google_customer_match: the profile fields (y/n) sent as Google's "
        "ad_user_data and ad_personalization consent per member (GRANTED, DENIED, "
        "UNSPECIFIED when the field is empty).",
    )
    require_consent_signals: list[ConsentSignal] = Field(
        default_factory=list,
        description="Consent signals a member must have granted (y) to be exported; the others "
        "are skipped and counted as without consent.",
    )
    tcf: TcfRequirement | None = Field(
        default=None,
        description="Members whose TC string does not consent to these purposes are skipped and "
        "counted as without consent.",
    )
    restricted_audiences: Literal["refuse", "warn", "off"] = Field(
        default="refuse",
        description="A meta_custom_audience destination: what to do with a segment that "
        "selects on a field of governance.sensitive_fields.",
    )
    min_audience_size: int | None = Field(
        default=None,
        ge=1,
        description="Refuse an activation whose audience, after consent filtering, has fewer "
        "members than this (small audiences can single people out; ad platforms and clean "
        "rooms refuse them too).",
    )
    match_keys: list[MatchKey] = Field(
        default_factory=lambda: ["email", "phone"],
        description="What an ad-platform layout exports: email and phone, and first_name, "
        "last_name, postal_code, country to sharpen the platform's match.",
    )
    outside_workspace: bool = Field(
        default=False,
        description="A file destination's folder may lie outside the workspace only when true.",
    )
    sync: Literal["full", "incremental"] = Field(
        default="full",
        description="full: every export is the whole audience. incremental: the rows added "
        "and removed since the last export (a full refresh when there is none, it is gone, "
        "or it is older than full_refresh_days).",
    )
    full_refresh_days: float = Field(
        default=30,
        gt=0,
        description="When an incremental destination's last export is older than this many "
        "days, the next sends the whole audience again.",
    )

    @model_validator(mode="after")
    def _consent_signals_fit(self) -> DestinationConfig:
        if self.consent_signals and self.format != "google_customer_match":
            raise ValueError("consent_signals are sent by the google_customer_match layout only")
        unset = [s for s in self.require_consent_signals if s not in self.consent_signals]
        if unset:
            raise ValueError(
                f"require_consent_signals names {', '.join(unset)}: map each in consent_signals"
            )
        return self

    @model_validator(mode="after")
    def _consent_for_own_actions(self) -> DestinationConfig:
        """A consent required for an action the destination does not serve would never
        apply: most likely a misspelt action."""
        unknown = sorted(set(self.consent_by_action) - set(self.marketing_actions))
        if unknown:
            raise ValueError(
                f"consent_by_action names {', '.join(unknown)}, not among marketing_actions"
            )
        return self

    @model_validator(mode="after")
    def _path_matches_type(self) -> DestinationConfig:
        if (self.type == "s3") != self.path.startswith("s3://"):
            raise ValueError("type s3 needs an s3://bucket/prefix path; type file a local folder")
        ad_platform = self.format in ("meta_custom_audience", "google_customer_match")
        if ad_platform and self.attributes:
            raise ValueError(
                f"the {self.format} layout carries hashed identifiers only; remove attributes"
            )
        if not {"email", "phone"} & set(self.match_keys):
            raise ValueError("match_keys needs email or phone: a row is matched by one of them")
        return self


class SuppressionList(StrictModel):
    """People who must never be exported (the brand's own opt-outs), read at every export."""

    name: Slug
    source: FileSource
    profile_id: str | None = Field(default=None, description="Column of profile IDs.")
    email: str | None = Field(default="email", description="Column of emails.")
    phone: str | None = Field(default=None, description="Column of phone numbers.")
    hashed: bool = Field(
        default=False,
        description="Emails and phones are SHA-256 hex of the value normalized by `profile`.",
    )
    profile: str = Field(
        default="ndc", description="The normalization profile entries and members are keyed by."
    )

    @model_validator(mode="after")
    def _names_a_column(self) -> SuppressionList:
        if not (self.profile_id or self.email or self.phone):
            raise ValueError("name at least one of profile_id, email, phone")
        return self

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, profile: str) -> str:
        return known_profile(profile)


class PrivacySettings(StrictModel):
    """How aggregate reports and activations protect small groups."""

    k: int = Field(
        default=10,
        ge=1,
        description="Counts under k are withheld from aggregate reports (shown as < k).",
    )
    min_audience_size: int | None = Field(
        default=None,
        ge=1,
        description="The least audience (after consent and opt-outs) any destination without "
        "its own min_audience_size accepts, e.g. 100; null: no workspace-wide minimum.",
    )


class WorkspaceConfig(StrictModel):
    """Everything in `partnerkit.yaml`; relative paths resolve against the workspace folder."""

    version: Literal[1] = 1
    warehouse: str = "warehouse"
    ledger: str = "ledger.sqlite"
    reports: str = "reports"
    spark: SparkConfig = Field(default_factory=SparkConfig)
    commits: CommitSettings = Field(default_factory=CommitSettings)
    schemas: SchemaSettings = Field(default_factory=SchemaSettings)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    suppression: list[SuppressionList] = Field(
        default_factory=list,
        description="Lists of people never exported, applied to every activation before "
        "consent filtering (members they name are counted as suppressed).",
    )
    seeds: SeedsConfig
    partners: list[PartnerConfig] = Field(default_factory=list)
    canonical: CanonicalConfig = Field(default_factory=CanonicalConfig)
    segments: list[SegmentConfig] = Field(default_factory=list)
    destinations: list[DestinationConfig] = Field(default_factory=list)

    @field_validator("partners")
    @classmethod
    def _unique_partner_names(cls, partners: list[PartnerConfig]) -> list[PartnerConfig]:
        names = [partner.name for partner in partners]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"partner names must be unique, repeated: {', '.join(repeated)}")
        try:
            bundled_namespaces().with_partners((p.name, p.namespace) for p in partners)
        except NamespaceError as error:
            raise ValueError(str(error)) from None
        return partners


Named = TypeVar("Named", PartnerConfig, SegmentConfig, DestinationConfig)


def _named(kind: str, items: list[Named], name: str) -> Named:
    check_name(kind, name)
    for item in items:
        if item.name == name:
            return item
    known = ", ".join(item.name for item in items) or "none"
    raise WorkspaceError(f"{kind} {name!r}", f"one of the configured {kind}s ({known})")


class Workspace(BaseModel):
    """A loaded workspace: its folder and its validated config, with paths resolved."""

    model_config = ConfigDict(frozen=True)

    root: Path
    config: WorkspaceConfig

    def partner(self, name: str) -> PartnerConfig:
        """A partner by name; the error lists the configured ones."""
        return _named("partner", self.config.partners, name)

    def segment(self, name: str) -> SegmentConfig:
        """A segment by name; the error lists the configured ones."""
        return _named("segment", self.config.segments, name)

    def destination(self, name: str) -> DestinationConfig:
        """A destination by name; the error lists the configured ones."""
        return _named("destination", self.config.destinations, name)

    def resolve(self, path: str) -> str:
        """Resolve a config path against the workspace; URIs (s3://, hdfs://) pass through."""
        if "://" in path:
            return path
        return str((self.root / path).resolve())

    @property
    def warehouse(self) -> str:
        return self.resolve(self.config.warehouse)

    @property
    def ledger_path(self) -> Path:
        return Path(self.resolve(self.config.ledger))

    @property
    def reports_dir(self) -> Path:
        return Path(self.resolve(self.config.reports))


def format_validation_errors(error: ValidationError) -> list[str]:
    """Render pydantic errors as `partners[0].hash: message` lines, one per problem."""
    lines = []
    for problem in error.errors():
        path = ""
        for part in problem["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and indentation)"
        if problem["type"] == "dict_type" and path.endswith("mapping.attributes"):
            message = (
                "expected attributes grouped by domain, e.g. {demographic: [age_range, gender]}; "
                "`partnerkit attributes` lists each attribute's domain"
            )
        lines.append(f"{path or '(top level)'}: {message}")
    return lines


def parse_config(text: str, *, file: str) -> WorkspaceConfig:
    """Parse and validate the YAML text of a workspace file, reporting every problem at once."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or error
        raise ConfigError(file, [f"{where}not valid YAML ({problem})"]) from None
    if not isinstance(data, dict):
        raise ConfigError(file, ["(top level): expected a mapping of keys to values"])
    try:
        return WorkspaceConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(file, format_validation_errors(error)) from None


def load_workspace(root: str | Path) -> Workspace:
    """Load `partnerkit.yaml` from a workspace folder."""
    root_path = Path(root).expanduser().resolve()
    config_path = root_path / CONFIG_FILE_NAME
    if not config_path.is_file():
        raise WorkspaceError(
            str(config_path), "a workspace file; create one with `partnerkit init DIR`"
        )
    config = parse_config(config_path.read_text(encoding="utf-8"), file=str(config_path))
    workspace = Workspace(root=root_path, config=config)
    problems = _outside_destinations(workspace) + _outside_workspace_files(workspace)
    problems += _unknown_forbidden_actions(config)
    problems += _unknown_canonical_partners(config) + _unknown_destination_namespaces(config)
    problems += _attributes_under_another_domain(config) + _recoded_outside_catalog(config)
    problems += _unknown_partner_fields(config)
    if problems:
        raise ConfigError(str(config_path), problems)
    return workspace


def _outside_destinations(workspace: Workspace) -> list[str]:
    return [
        f"destinations[{number}].path: {destination.path} is outside the workspace; "
        "set outside_workspace: true if exports belong there"
        for number, destination in enumerate(workspace.config.destinations)
        if destination.type == "file"
        and not destination.outside_workspace
        and not Path(os.path.realpath(workspace.resolve(destination.path))).is_relative_to(
            workspace.root
        )
    ]


def _outside_workspace_files(workspace: Workspace) -> list[str]:
    """The ledger and the reports live in the workspace or its (local) warehouse."""
    roots = [workspace.root]
    if "://" not in workspace.warehouse:
        roots.append(Path(os.path.realpath(workspace.warehouse)))
    paths = {"ledger": workspace.config.ledger, "reports": workspace.config.reports}
    return [
        f"{key}: {value} is outside the workspace; expected a path inside {workspace.root}"
        for key, value in paths.items()
        if not any(
            Path(os.path.realpath(workspace.resolve(value))).is_relative_to(root) for root in roots
        )
    ]


def _unknown_forbidden_actions(config: WorkspaceConfig) -> list[str]:
    """A contract forbidding an action no catalog defines would forbid nothing."""
    _, bundled, _ = bundled_catalogs()
    known = [a.name for a in bundled.marketing_actions]
    known += [a.name for a in config.governance.marketing_actions]
    return [
        f"partners[{number}].contract.forbidden_actions: unknown marketing action {action!r} "
        f"(names are case-sensitive); expected one of {', '.join(sorted(known))}"
        for number, partner in enumerate(config.partners)
        for action in partner.contract.forbidden_actions
        if action not in known
    ]


def _unknown_canonical_partners(config: WorkspaceConfig) -> list[str]:
    """A preference naming a partner the workspace does not have (removed, or misspelt)."""
    names = [partner.name for partner in config.partners]
    return [
        f"canonical.domain_order.{domain}: unknown partner {partner!r}; the configured "
        f"partners are {', '.join(names) or 'none'}"
        for domain, partners in config.canonical.domain_order.items()
        for partner in partners
        if partner not in names
    ]


def _unknown_destination_namespaces(config: WorkspaceConfig) -> list[str]:
    """A destination exporting an identity namespace no one defines (a removed partner's)."""
    catalog = bundled_namespaces().with_partners((p.name, p.namespace) for p in config.partners)
    codes = [namespace.code for namespace in catalog.namespaces]
    return [
        f"destinations[{number}].identities: unknown identity namespace {code!r}; expected "
        f"one of {', '.join(codes)}"
        for number, destination in enumerate(config.destinations)
        for code in destination.identities
        if code not in codes
    ]


def _attributes_under_another_domain(config: WorkspaceConfig) -> list[str]:
    """A mapped attribute listed under a bundled domain it does not belong to: said at load,
    not first by enrich after ingest, prepare and match have run. Domains a workspace schema
    folder may define are left to enrich, which reads the workspace's schemas."""
    from schemas.attributes import load_attribute_catalog

    domains = {
        domain: {attribute.name for attribute in group.attributes}
        for domain, group in load_attribute_catalog().attribute_domains.items()
    }
    home = {name: domain for domain, names in domains.items() for name in names}
    problems = []
    for number, partner in enumerate(config.partners):
        for domain, columns in partner.mapping.attributes.items():
            where = f"partners[{number}].mapping.attributes.{domain}"
            if domain not in domains:
                if not config.schemas.folders:
                    problems.append(
                        f"{where}: unknown attribute domain; expected one of {', '.join(domains)}"
                    )
                continue
            for column in columns:
                if column not in domains[domain] and column in home:
                    problems.append(
                        f"{where}: {column!r} is an attribute of domain {home[column]!r}; "
                        f"list it under mapping.attributes.{home[column]}"
                    )
    return problems


def workspace_json_schema() -> dict[str, Any]:
    """The JSON Schema of partnerkit.yaml, from the models, for editors (draft 2020-12)."""
    schema = WorkspaceConfig.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "partnerkit workspace file (partnerkit.yaml)",
        **{k: v for k, v in schema.items() if k != "title"},
    }


DEMO_TEMPLATE = "partnerkit.yaml"  # two partners, segments, destinations: the demo's
MINIMAL_TEMPLATE = "minimal.yaml"  # one seed file, one partner, commented


def starter_text(template: str = DEMO_TEMPLATE) -> str:
    return files("jobs").joinpath(f"templates/{template}").read_text(encoding="utf-8")


def write_starter_workspace(directory: Path, *, force: bool, text: str | None = None) -> Path:
    """Write a partnerkit.yaml (the demo's starter unless `text` is given), its JSON Schema
    and the workspace folders.

    The file's first line points editors (the YAML language server) at the schema beside it,
    so keys complete and a typo is underlined before any command runs.
    """
    config_path = directory / CONFIG_FILE_NAME
    if config_path.exists() and not force:
        raise WorkspaceError(
            str(config_path), "no existing workspace file (use --force to replace it)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    config_path.write_text(text or starter_text(), encoding="utf-8")
    schema = files("jobs").joinpath(f"templates/{SCHEMA_FILE_NAME}").read_text(encoding="utf-8")
    (directory / SCHEMA_FILE_NAME).write_text(schema, encoding="utf-8")
    for folder in ("data", "warehouse", "reports"):
        (directory / folder).mkdir(exist_ok=True)
    return config_path


def load_or_create_workspace(directory: Path) -> tuple[Workspace, bool]:
    """Load a workspace, first writing the starter file if the folder has none (demo, generate)."""
    created = not (directory / CONFIG_FILE_NAME).exists()
    if created:
        write_starter_workspace(directory, force=False)
    return load_workspace(directory), created


PARTNER_REFERENCE = re.compile(r"(?<![\w.])`?_partner`?\.`?([A-Za-z0-9_]+)")
QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _partners_read(text: str) -> list[str]:
    """The partners a predicate or field path reads (`_partner.<name>...`), quoted text aside."""
    return PARTNER_REFERENCE.findall(QUOTED.sub("''", text))


def _unknown_partner_fields(config: WorkspaceConfig) -> list[str]:
    """A segment or destination reading a partner the workspace does not have (one removed
    or misspelt): found at load by name. Other unknown fields need the flattened schemas;
    `partnerkit check` reports those."""
    names = [partner.name for partner in config.partners]
    known = ", ".join(names) or "none"
    reads = [
        (f"segments[{n}].predicate", segment.predicate) for n, segment in enumerate(config.segments)
    ]
    for n, destination in enumerate(config.destinations):
        reads += [(f"destinations[{n}].attributes", path) for path in destination.attributes]
        reads += [(f"destinations[{n}].consent_field", destination.consent_field or "")]
        reads += [
            (f"destinations[{n}].consent_by_action", field)
            for field in destination.consent_by_action.values()
        ]
    return [
        f"{where}: reads partner {name!r}, which is not configured; the partners are {known}"
        for where, text in reads
        for name in dict.fromkeys(_partners_read(text))
        if name not in names
    ]


def _recoded_outside_catalog(config: WorkspaceConfig) -> list[str]:
    """A recoding must land on a value the catalog allows, or every recoded row is
    quarantined: said at load, with the allowed values."""
    from schemas.attributes import load_attribute_catalog

    allowed = {a.name: a.values for _, a in load_attribute_catalog().attributes()}
    return [
        f"partners[{number}].mapping.recode.{attribute}: {target!r} (for {source!r}) is not "
        f"a catalog value; expected one of {', '.join(allowed[attribute])}"
        for number, partner in enumerate(config.partners)
        for attribute, recoding in partner.mapping.recode.items()
        for source, target in recoding.items()
        if attribute in allowed and target not in allowed[attribute]
    ]


if __name__ == "__main__":  # python -m jobs.config > jobs/templates/partnerkit.schema.json
    print(json.dumps(workspace_json_schema(), indent=2, sort_keys=True))
