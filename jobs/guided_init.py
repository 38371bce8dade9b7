"""Guided init: a minimal workspace file guessed from a seed file and partner files.

Only the header and the first rows of each file are read (plain Python, no Spark: init is
instant). Columns are recognised by common names; a partner's identifier columns by their
values (hash form and encoding); attribute columns are matched to the catalog by name, then by
spelling, synonym and values, and values the catalog does not hold are recoded where one
catalog value is the same once case, spaces and punctuation are ignored. Every guess is
marked `# guess` in the file, and nothing from the files' rows but attribute values and
counts is written into it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from itertools import chain, islice
from pathlib import Path

import yaml

from ingest.identity.detection import HEX_LENGTHS, detect_form
from ingest.identity.profiles import get_profile
from jobs.config import CONFIG_FILE_NAME, DEFAULT_PROFILE_FIELDS, parse_config
from jobs.errors import WorkspaceError
from schemas.attributes import AttributeCatalog, load_attribute_catalog

SAMPLE_ROWS = 1000  # per file
SAMPLE_FILES = 5  # of a folder
DEFAULT_PROFILE = "ndc"
SUFFIX_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl"}
SUFFIX_FORMATS |= {".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}

NAMES = yaml.safe_load(
    files("jobs").joinpath("templates/column_names.yaml").read_text(encoding="utf-8")
)
SEED_ROLES: dict[str, list[str]] = NAMES["seed_roles"]
SEED_FIELDS: dict[str, list[str]] = NAMES["seed_fields"]
PARTNER_ID_NAMES: list[str] = NAMES["partner_id"]
CONFIDENCE_NAMES: list[str] = NAMES["confidence"]
KIND_HINTS: dict[str, list[str]] = NAMES["identifier_kinds"]
ATTRIBUTE_SYNONYMS: dict[str, str] = NAMES["attribute_synonyms"]
VALUE_SYNONYMS: dict[str, str] = NAMES["value_synonyms"]
VALUE_MATCH_SHARE = 0.9  # share of sampled values in a catalog set to call the column that


def normalized_name(name: str) -> str:
    """`Email Address`, `emailAddress` and `email-address` all become `email_address`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def loose_value(value: str) -> str:
    """A value with case, spaces and punctuation but `$`, `+` and `-` ignored, for recoding."""
    text = re.sub(r"[^a-z0-9$+<>-]+", "", value.lower().replace("&", "and"))
    return VALUE_SYNONYMS.get(text, text)


@dataclass(frozen=True)
class FileSample:
    """A file's columns and first rows, and how the workspace should read it."""

    path: str
    format: str
    columns: list[str]
    rows: list[dict[str, str]]
    options: dict[str, str] = field(default_factory=dict)

    def values(self, column: str) -> list[str]:
        """The column's non-empty sampled values."""
        return [v for row in self.rows if (v := (row.get(column) or "").strip())]


def data_files(path: Path) -> list[Path]:
    """The files to sample: the path itself, or a folder's first SAMPLE_FILES files by name
    (a later part can hold values the first does not)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if found:
            return found[:SAMPLE_FILES]
    raise WorkspaceError(str(path), "a local file or a folder of files to sample")


def file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".gzip")]
    found = SUFFIX_FORMATS.get(suffixes[-1] if suffixes else "")
    if found is None:
        expected = f"a file named *{', *'.join(SUFFIX_FORMATS)} (optionally .gz)"
        raise WorkspaceError(str(path), expected)
    return found


def _text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.suffix.lower() in (".gz", ".gzip") else path.open("rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def sample_file(path: Path, rows: int = SAMPLE_ROWS) -> FileSample:
    """The header and first rows of a local file, or of each of a folder's first files
    (csv, jsonl, parquet; gzip too)."""
    if "://" in str(path):
        raise WorkspaceError(
            str(path), "a local copy to sample (set source.path to the remote prefix after)"
        )
    files = data_files(path)
    kind = file_format(files[0])
    samples = [sample_one(file, kind, rows) for file in files]
    first = samples[0]
    records = [record for sample in samples for record in sample.rows]
    return FileSample(str(path), kind, first.columns, records, first.options)


def _as_text(records: Iterable[dict]) -> list[dict[str, str]]:
    return [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]


def sample_one(data_file: Path, kind: str, rows: int) -> FileSample:
    if kind == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(data_file)
        batch = next(parquet.iter_batches(batch_size=rows), None)
        records = batch.to_pylist() if batch is not None else []
        return FileSample(str(data_file), kind, parquet.schema_arrow.names, _as_text(records))
    with _text(data_file) as handle:
        if kind == "jsonl":
            lines = [line for line in islice(handle, rows) if line.strip()]
            records = [json.loads(line) for line in lines]
            columns = list(dict.fromkeys(k for r in records for k in r))
            return FileSample(str(data_file), kind, columns, _as_text(records))
        header = handle.readline()
        delimiter = _delimiter(header)
        reader = csv.DictReader(chain([header], handle), delimiter=delimiter)
        records = [dict(r) for r in islice(reader, rows)]
    options = {} if delimiter == "," else {"delimiter": delimiter}
    return FileSample(str(data_file), "csv", list(reader.fieldnames or []), records, options)


def _delimiter(first: str) -> str:
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=counts.__getitem__) if any(counts.values()) else ","


def by_name(columns: Sequence[str], names: Sequence[str]) -> str | None:
    """The first column whose normalized name is one of `names` (in the order of `names`)."""
    normal = {normalized_name(c): c for c in reversed(columns)}
    return next((normal[n] for n in names if n in normal), None)


# --- seeds -------------------------------------------------------------------------------


@dataclass
class SeedGuess:
    sample: FileSample
    roles: dict[str, str | None]
    guessed: set[str]  # roles recognised by values, not by name
    fields: dict[str, str]  # seed column -> profile field
    default_country: str
    country_guessed: bool
    unused: list[str]


def guess_seeds(sample: FileSample) -> SeedGuess:
    """Roles by name, then email and phone by their values; the customer ID is required (no
    profile without it), everything else may be missing (its key is then null)."""
    columns = sample.columns
    roles: dict[str, str | None] = {role: by_name(columns, n) for role, n in SEED_ROLES.items()}
    guessed = set()
    taken = {c for c in roles.values() if c}
    for role, form in (("email", "plaintext_email"), ("phone", "plaintext_phone")):
        if roles[role] is None:
            found = [c for c in columns if c not in taken and detect_form(sample.values(c)) == form]
            if found:
                roles[role], guessed = found[0], guessed | {role}
                taken.add(found[0])
    if roles["profile_id"] is None:
        raise WorkspaceError(
            sample.path, f"a customer ID column (one of {', '.join(SEED_ROLES['profile_id'])})"
        )
    fields = {}
    for name, names in SEED_FIELDS.items():
        column = by_name([c for c in columns if c not in taken], names)
        if column:
            fields[column] = DEFAULT_PROFILE_FIELDS[name]
            taken.add(column)
    countries = Counter(v.upper() for v in sample.values(roles["country"] or ""))
    common = [c for c, _ in countries.most_common(1) if re.fullmatch(r"[A-Z]{2}", c)]
    return SeedGuess(
        sample=sample,
        roles=roles,
        guessed=guessed,
        fields=fields,
        default_country=common[0] if common else "US",
        country_guessed=not common,
        unused=[c for c in columns if c not in taken],
    )


# --- partners ----------------------------------------------------------------------------


@dataclass
class AttributeGuess:
    column: str
    attribute: str
    domain: str
    how: str  # "name" (exact), "spelling", "synonym" or "values"
    recode: dict[str, str]
    unknown_values: list[str]


@dataclass
class PartnerGuess:
    name: str
    sample: FileSample
    profile: str
    profile_given: bool
    hash: str
    encoding: str
    partner_id: str
    confidence: str | None
    identifiers: list[tuple[str, str]]  # (column, kind)
    attributes: list[AttributeGuess]
    unused: list[str]
    notes: list[str]


def identifier_kind(column: str, form: str) -> str | None:
    if form == "plaintext_email":
        return "email"
    name = normalized_name(column)
    for kind, hints in KIND_HINTS.items():
        if any(hint in name.split("_") or name.startswith(hint) for hint in hints):
            return kind
    return "phone" if form == "plaintext_phone" else None


def is_hash_form(form: str) -> bool:
    """`sha256` (hex) or `sha256_base64`: a digest in either encoding."""
    return form.removesuffix("_base64") in HEX_LENGTHS.values()


def guess_partner(
    name: str, sample: FileSample, profile: str | None, catalog: AttributeCatalog
) -> PartnerGuess:
    """The partner's ID, confidence and identifier columns, one hash form for all (the most
    common among hashed columns: a partner declares one), and its attributes."""
    columns = sample.columns
    forms = {c: detect_form(sample.values(c)) for c in columns}
    partner_id = by_name(columns, (*PARTNER_ID_NAMES, f"{name}_id"))
    if partner_id is None:
        partner_id = next((c for c in columns if not is_hash_form(forms[c])), None)
    if partner_id is None:
        raise WorkspaceError(sample.path, "a partner person ID column (e.g. person_id)")
    confidence = by_name([c for c in columns if c != partner_id], CONFIDENCE_NAMES)
    identifiers, notes = [], []
    for column in columns:
        if column in (partner_id, confidence):
            continue
        form = forms[column]
        kind = identifier_kind(column, form)
        if kind and (is_hash_form(form) or form.startswith("plaintext") or form == "empty"):
            identifiers.append((column, kind))
        elif is_hash_form(form):
            notes.append(f"{column}: hashed values of an unknown kind; not mapped")
    hashed = Counter(forms[c] for c, _ in identifiers if is_hash_form(forms[c]))
    if not identifiers:
        raise WorkspaceError(sample.path, "identifier columns (email, phone, address or MAID)")
    chosen_profile = get_profile(profile or DEFAULT_PROFILE)
    hash_type, encoding = chosen_profile.hash, chosen_profile.encoding
    if hashed:
        form = hashed.most_common(1)[0][0]
        hash_type, encoding = (
            form.removesuffix("_base64"),
            ("base64" if form.endswith("_base64") else "hex"),
        )
    else:  # identifiers, none hashed
        hash_type = "plaintext"
    taken = {partner_id, confidence, *(c for c, _ in identifiers)}
    attributes = guess_attributes([c for c in columns if c not in taken], sample, catalog)
    mapped = taken | {a.column for a in attributes}
    return PartnerGuess(
        name=name,
        sample=sample,
        profile=chosen_profile.label,  # pinned (`uid2@v2`): a newer rule never changes matches
        profile_given=profile is not None,
        hash=hash_type,
        encoding=encoding,
        partner_id=partner_id,
        confidence=confidence,
        identifiers=identifiers,
        attributes=attributes,
        unused=[c for c in columns if c not in mapped],
        notes=notes,
    )


def guess_attributes(
    columns: Iterable[str], sample: FileSample, catalog: AttributeCatalog
) -> list[AttributeGuess]:
    """Each column matched to at most one catalog attribute, each attribute to one column."""
    definitions = {a.name: (domain, a) for domain, a in catalog.attributes()}
    by_field = {normalized_name(a.field): a.name for _, a in definitions.values()}
    found: list[AttributeGuess] = []
    for column in columns:
        name = normalized_name(column)
        if column in definitions:
            attribute, how = column, "name"
        elif name in definitions or name in by_field:
            attribute, how = (name if name in definitions else by_field[name]), "spelling"
        elif name in ATTRIBUTE_SYNONYMS or f"is_{name}" in definitions:
            attribute, how = ATTRIBUTE_SYNONYMS.get(name) or f"is_{name}", "synonym"
        else:
            attribute, how = by_values(sample.values(column), definitions), "values"
        if attribute is None or any(g.attribute == attribute for g in found):
            continue
        domain, definition = definitions[attribute]
        recode, unknown = recoding(sample.values(column), definition.values)
        found.append(AttributeGuess(column, attribute, domain, how, recode, unknown))
    return found


def by_values(values: Sequence[str], definitions: dict) -> str | None:
    """The one attribute whose value set holds nearly every sampled value (loosely spelt)."""
    distinct = set(values)
    if len(distinct) < 2:
        return None
    matches = []
    for attribute, (_, definition) in definitions.items():
        loose = {loose_value(v) for v in definition.values}
        inside = sum(1 for v in values if loose_value(v) in loose)
        if inside / len(values) >= VALUE_MATCH_SHARE and len(distinct) > 2:
            matches.append(attribute)
    return matches[0] if len(matches) == 1 else None


def recoding(values: Sequence[str], allowed: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Sampled values outside the catalog set: recoded where one catalog value is the same
    loosely spelt, else listed."""
    loose = {}
    for value in allowed:
        loose.setdefault(loose_value(value), []).append(value)
    recode, unknown = {}, []
    for value in sorted(set(values) - set(allowed)):
        targets = loose.get(loose_value(value), [])
        if len(targets) == 1:
            recode[value] = targets[0]
        else:
            unknown.append(value)
    return recode, unknown


# --- the file ----------------------------------------------------------------------------


def _yaml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _source_path(sample: FileSample, root: Path) -> str:
    path = Path(sample.path).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def render_seeds(guess: SeedGuess, root: Path) -> list[str]:
    sample = guess.sample
    lines = [
        "# The brand's first-party seed set: one row per known customer.",
        "seeds:",
        "  source:",
        f"    path: {_yaml(_source_path(sample, root))}",
        f"    format: {sample.format}",
        f"    options: {_yaml(sample.options)}",
        "  columns:                # null: the file has no such column",
    ]
    for role, column in guess.roles.items():
        note = "  # guess: recognised by its values" if role in guess.guessed else ""
        lines.append(f"    {role}: {_yaml(column) if column else 'null'}{note}")
    country_note = "  # guess: no country column; the country of numbers and addresses"
    lines.append(
        f"  default_country: {guess.default_country}"
        + (country_note if guess.country_guessed else "  # the most common in the file")
    )
    lines.append(f"  attributes: {_yaml(list(guess.fields))}")
    if guess.fields:
        lines.append("  profile_fields:         # seed column -> profile field, recognised by name")
        lines += [f"    {_yaml(c)}: {path}" for c, path in guess.fields.items()]
    else:
        lines.append("  profile_fields: {}      # seed column -> profile field")
    if guess.unused:
        lines.append(f"  # not used: {', '.join(guess.unused)}")
    return lines


def render_partner(guess: PartnerGuess, root: Path) -> list[str]:
    sample = guess.sample
    profile_note = (
        ""
        if guess.profile_given
        else "  # guess: the rules the partner normalized with (`partnerkit profiles`)"
    )
    lines = [
        f"  - name: {guess.name}",
        f"    namespace: {namespace_code(guess.name)}  # its person IDs: activation only",
        f"    profile: {guess.profile}{profile_note}",
        f"    hash: {guess.hash}        # detected from the identifier values",
        f"    hash_encoding: {guess.encoding}",
        "    source:",
        f"      path: {_yaml(_source_path(sample, root))}",
        f"      format: {sample.format}",
        f"      options: {_yaml(sample.options)}",
        "    mapping:",
        f"      partner_id: {_yaml(guess.partner_id)}",
        f"      confidence: {_yaml(guess.confidence) if guess.confidence else 'null'}",
        "      identifiers:",
        *(f"        - {{column: {_yaml(c)}, kind: {k}}}  # guess" for c, k in guess.identifiers),
    ]
    lines += render_attributes(guess.attributes)
    lines += [
        "    labels: [3PD]",
        "    contract:",
        "      retention_days: 365",
        "      persist_partner_id: true",
    ]
    lines += [f"    # {note}" for note in guess.notes]
    if guess.unused:
        lines.append(f"    # not mapped: {', '.join(guess.unused)} (`partnerkit attributes`)")
    return lines


def render_attributes(attributes: Sequence[AttributeGuess]) -> list[str]:
    if not attributes:
        return ["      attributes: {}      # none recognised: `partnerkit attributes` lists them"]
    lines = ["      attributes:         # catalog domain: [attribute, ...]"]
    domains: dict[str, list[AttributeGuess]] = {}
    for guess in attributes:
        domains.setdefault(guess.domain, []).append(guess)
    for domain, guesses in domains.items():
        lines.append(f"        {domain}: {_yaml([g.attribute for g in guesses])}")
    renamed = [g for g in attributes if g.column != g.attribute]
    if renamed:
        lines.append("      columns:            # attribute -> the file's column")
        lines += [
            f"        {g.attribute}: {_yaml(g.column)}  # guess: matched by {g.how}"
            for g in renamed
        ]
    recoded = [g for g in attributes if g.recode]
    if recoded:
        lines.append("      recode:             # attribute -> {the file's value: the catalog's}")
        for g in recoded:
            lines.append(f"        {g.attribute}:  # guess: same value, spelt otherwise")
            lines += [f"          {_yaml(k)}: {_yaml(v)}" for k, v in g.recode.items()]
    for g in attributes:
        if g.unknown_values:
            shown = ", ".join(g.unknown_values[:10])
            more = f" and {len(g.unknown_values) - 10} more" if len(g.unknown_values) > 10 else ""
            lines.append(
                f"      # {g.attribute}: values not in the catalog, quarantined unless recoded: "
                f"{shown}{more}"
            )
    return lines


def namespace_code(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name) + "PersonId"


HEADER = """\
# yaml-language-server: $schema=partnerkit.schema.json
# partnerkit workspace file written by `partnerkit init` from the files' headers and first
# rows. Lines marked "guess" are worth a look; `partnerkit check` reviews the whole file.
version: 1
warehouse: warehouse
ledger: ledger.sqlite
reports: reports
"""

FOOTER = """
# Audiences (Spark SQL over profile fields, `partnerkit schema show --workspace .`) and where
# they go; `partnerkit init --demo DIR` writes a full example of both.
segments: []
destinations: []
"""


def guided_workspace_text(
    root: Path, seeds: Path, partners: Sequence[tuple[str, Path, str | None]]
) -> tuple[str, dict]:
    """The workspace file for these files, and a summary of what was recognised."""
    catalog = load_attribute_catalog()
    seed_guess = guess_seeds(sample_file(seeds))
    partner_guesses = [
        guess_partner(name, sample_file(path), profile, catalog) for name, path, profile in partners
    ]
    lines = [HEADER, *render_seeds(seed_guess, root), "", "partners:"]
    for guess in partner_guesses:
        lines += render_partner(guess, root)
    text = "\n".join(lines) + "\n" + FOOTER
    parse_config(text, file=str(root / CONFIG_FILE_NAME))  # what init writes always loads
    return text, summary(seed_guess, partner_guesses)


def summary(seeds: SeedGuess, partners: Sequence[PartnerGuess]) -> dict:
    return {
        "seeds": {
            "columns": {role: column for role, column in seeds.roles.items() if column},
            "profile_fields": seeds.fields,
            "not_used": seeds.unused,
        },
        "partners": [
            {
                "name": p.name,
                "profile": p.profile,
                "hash": p.hash,
                "hash_encoding": p.encoding,
                "partner_id": p.partner_id,
                "identifiers": [{"column": c, "kind": k} for c, k in p.identifiers],
                "attributes": [
                    {
                        "column": a.column,
                        "attribute": a.attribute,
                        "domain": a.domain,
                        "matched_by": a.how,
                        "recoded": len(a.recode),
                        "values_not_in_catalog": len(a.unknown_values),
                    }
                    for a in p.attributes
                ],
                "not_mapped": p.unused,
            }
            for p in partners
        ],
    }
