"""The identity rules as Spark column expressions (built-ins only), twins of reference.py.

Each normalizer returns a struct `<value: string, reason: string>`: the normalized value, or
NULL and a reason code. Nothing raises on bad data, so a bad row becomes a quarantine row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

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
    amazon_street_words,
    calling_code_lengths,
    national_patterns,
    numeric_class,
    phone_regions,
    unit_pattern,
)

NORMALIZED_TYPE = "struct<value: string, reason: string>"


class StagedFrame:
    """Binds intermediates as real columns of a DataFrame instead of lambda variables.

    Inside `staging(frame)`, each `let` adds its value as a hidden column; the rules then refer
    to that column, so the optimizer keeps one evaluation per row and the whole projection is
    code-generated. Outside, `let` falls back to a higher-order function, which works on any
    Column (parity tests, small lookups) but is interpreted row by row: 1.3-1.5x slower per
    rule, measured on 256k seeds.
    """

    def __init__(self, frame: DataFrame) -> None:
        self.frame = frame
        self.staged: list[str] = []

    def bind(self, value: Column, body: Callable[[Column], Column]) -> Column:
        name = f"__let_{len(self.staged)}"
        self.frame = self.frame.withColumn(name, value)
        self.staged.append(name)
        return body(F.col(name))


_stage: ContextVar[StagedFrame | None] = ContextVar("identity_stage", default=None)


@contextmanager
def staging(frame: DataFrame) -> Iterator[StagedFrame]:
    """Build rules against `frame`; read the extended frame from the yielded object."""
    stage = StagedFrame(frame)
    token = _stage.set(stage)
    try:
        yield stage
    finally:
        _stage.reset(token)


def let(value: Column, body: Callable[[Column], Column]) -> Column:
    """Evaluate `value` once and use it many times in `body` (Spark has no LET in its API).

    Without this, every reference to an intermediate expression copies its whole tree: the
    email steps each use the previous result four times, so five steps grew the expression
    exponentially (54 s for 256k emails, measured) and broke Java code generation.
    """
    stage = _stage.get()
    if stage is not None:
        return stage.bind(value, body)
    return F.element_at(F.transform(F.array(value), body), 1)


def sql_literal(value: object) -> str:
    """A str, int or None as Spark SQL literal text."""
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def literal_expression(function: str, values: Iterable[str]) -> Column:
    """`function(v1, v2, ...)` parsed from one SQL string: one call into the JVM, not one per
    literal (a 250-region table built with F.lit took 6.5 s of py4j round trips per job)."""
    return F.expr(f"{function}({', '.join(values)})")


def _literal_map(mapping: Mapping[str, object]) -> Column:
    return literal_expression(
        "map", (sql_literal(part) for item in mapping.items() for part in item)
    )


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
    return value.isNull() | (trim(value) == "")


def trim(value: Column, also: str = "", *, every_space: bool = False) -> Column:
    """Strip whitespace (and `also`) at both ends; Spark's trim() strips spaces only.

    btrim with a character set is a plain scan, several times cheaper than a regex per row;
    but its cost grows with the set (every Unicode space made `prepare` on 1M seeds about 10%
    slower), so the long set is a profile's choice.
    """
    return F.btrim(value, F.lit((ALL_SPACES if every_space else WHITESPACE_CHARS) + also))


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
EMAIL_SYNTAX = {"ascii": f"(?i){EMAIL_PATTERN}", "unicode": f"(?i){UNICODE_EMAIL_PATTERN}"}


def _apply_domain_step(email: Column, step: p.EmailStep) -> Column:
    """One domain-specific email step on an already-bound value.

    The split is at the last `@` (like Python's rpartition), with string built-ins, not a regex.
    """
    domain = F.substring_index(email, "@", -1)
    local = email.substr(F.lit(1), F.length(email) - F.length(domain) - 1)
    if isinstance(step, p.RewriteDomain):
        domain = F.when(domain == step.from_domain, F.lit(step.to_domain)).otherwise(domain)
    elif isinstance(step, p.StripPlusTag):
        every_domain = F.lit("*" in step.domains)
        local = F.when(
            every_domain | domain.isin(*step.domains), F.substring_index(local, "+", 1)
        ).otherwise(local)
    elif isinstance(step, p.StripDots):
        local = F.when(domain.isin(*step.domains), F.translate(local, ".", "")).otherwise(local)
    return F.when(email.contains("@"), F.concat(local, F.lit("@"), domain)).otherwise(email)


def _domain_step(step: p.EmailStep) -> Callable[[Column], Column]:
    """A one-argument lambda (F.transform passes the index to a second argument)."""
    return lambda bound: _apply_domain_step(bound, step)


def normalize_email(value: Column, steps: tuple[p.EmailStep, ...], syntax: str = "ascii") -> Column:
    email = value
    for step in steps:
        if isinstance(step, p.Trim | p.Lowercase | p.KeepWordCharacters):
            email = apply_text_step(email, step)
        else:
            email = let(email, _domain_step(step))
    return let(
        F.struct(value.alias("raw"), email.alias("email")),
        lambda e: (
            F.when(is_blank(e["raw"]), _rejected(p.EMPTY))
            .when(e["email"].rlike(EMAIL_SYNTAX[syntax]), _ok(e["email"]))
            .otherwise(_rejected(p.EMAIL_SYNTAX))
        ),
    )


def split_calling_code(digits: Column) -> Column:
    codes = literal_expression("array", map(sql_literal, sorted(calling_code_lengths())))
    expression = F.lit(None).cast("string")
    for size in (3, 2, 1):
        prefix = F.substring(digits, 1, size)
        expression = F.when(F.array_contains(codes, prefix), prefix).otherwise(expression)
    return expression


def _region(country: Column | None, default_country: str | None) -> Column:
    written = F.upper(trim(country)) if country is not None else F.lit(None).cast("string")
    return F.coalesce(F.when(written != "", written), F.lit(default_country).cast("string"))


def _region_table(default_country: str | None) -> Column:
    """Region -> (calling code, trunk prefix, dialing-out prefix, shortest, longest national
    number).

    One lookup per row instead of four; the default region comes first because a map lookup
    scans its keys in order and most rows of a seed file use the default.
    """
    ordered = sorted(phone_regions().items(), key=lambda item: item[0] != default_country)
    entries = []
    for name, region in ordered:
        facts = (
            f"named_struct('code', {sql_literal(region.calling_code)}, "
            f"'prefix', CAST({sql_literal(region.national_prefix)} AS STRING), "
            f"'idd', CAST({sql_literal(region.international_prefix)} AS STRING), "
            f"'low', {region.min_length}, 'high', {region.max_length}, "
            f"'region', {sql_literal(name)})"
        )
        entries += [sql_literal(name), facts]
    return literal_expression("map", entries)


def _is_national(digits: Column, region: Column) -> Column:
    """Twin of reference.is_national: one precompiled regex for all regions."""
    return F.concat(region, F.lit(":"), digits).rlike(national_patterns())


def normalize_phone(
    value: Column, rule: p.PhoneRule, *, country: Column | None, default_country: str | None
) -> Column:
    """Each stage binds its result with `let`, so no intermediate is computed twice."""
    spans = calling_code_lengths()
    parsed = let(
        trim(value),
        lambda text: F.struct(
            F.regexp_replace(text, "[^0-9]", "").alias("digits"),
            text.startswith("+").alias("international"),
        ),
    )
    region = F.try_element_at(_region_table(default_country), _region(country, default_country))
    read_as_international = rule.country_unknown == "international"

    def locate(b: Column) -> Column:
        """Where the number's digits start, and its calling code; a number dialed from the
        region to abroad ("00 44 ...") is international."""
        prefix = b["r"]["idd"]
        dialed_out = F.coalesce(
            ~b["p"]["international"] & b["p"]["digits"].startswith(prefix), F.lit(False)
        )
        digits = F.when(dialed_out, b["p"]["digits"].substr(F.length(prefix) + 1, F.lit(64)))
        digits = digits.otherwise(b["p"]["digits"])
        international = b["p"]["international"] | dialed_out
        if read_as_international:
            international = international | b["r"].isNull()
        return F.struct(
            digits.alias("digits"),
            international.alias("international"),
            F.when(international, split_calling_code(digits))
            .otherwise(b["r"]["code"])
            .alias("code"),
            F.when(~international, b["r"]["prefix"]).alias("prefix"),
            b["r"]["low"].alias("region_low"),
            b["r"]["high"].alias("region_high"),
            F.when(~international, b["r"]["region"]).alias("region"),
        )

    located = let(F.struct(parsed.alias("p"), region.alias("r")), locate)
    bounded = let(
        located,
        lambda b: F.struct(
            b["digits"].alias("digits"),
            b["international"].alias("international"),
            b["code"].alias("code"),
            b["prefix"].alias("prefix"),
            F.when(b["international"], _lookup({c: lo for c, (lo, _) in spans.items()}, b["code"]))
            .otherwise(b["region_low"])
            .alias("low"),
            F.when(b["international"], _lookup({c: hi for c, (_, hi) in spans.items()}, b["code"]))
            .otherwise(b["region_high"])
            .alias("high"),
            b["region"].alias("region"),
        ),
    )

    def national_number(b: Column) -> Column:
        digits, code, prefix = b["digits"], b["code"], b["prefix"]
        length, low, high = F.length(digits), b["low"], b["high"]
        rest = digits.substr(F.length(code) + 1, F.lit(64))
        strip_code = (
            digits.startswith(code)
            & (F.length(rest) >= low)
            & (F.length(rest) <= high)
            & (
                (length > high)
                | (~_is_national(digits, b["region"]) & _is_national(rest, b["region"]))
            )
        )
        without_prefix = digits.substr(F.length(prefix) + 1, F.lit(64))
        strip_prefix = (
            prefix.isNotNull()
            & digits.startswith(prefix)
            & (length - F.length(prefix) >= low)
            & ~(_is_national(digits, b["region"]) & ~_is_national(without_prefix, b["region"]))
        )
        national = (
            F.when(b["international"], digits.substr(F.length(code) + 1, F.lit(64)))
            .when(strip_code, digits.substr(F.length(code) + 1, F.lit(64)))
            .when(strip_prefix, digits.substr(F.length(prefix) + 1, F.lit(64)))
            .otherwise(digits)
        )
        return F.struct(
            b["international"].alias("international"),
            code.alias("code"),
            low.alias("low"),
            high.alias("high"),
            national.alias("national"),
        )

    def judged(b: Column) -> Column:
        national, code = b["national"], b["code"]
        formatted = {
            "e164_plus": F.concat(F.lit("+"), code, national),
            "e164_digits": F.concat(code, national),
            "national": national,
        }[rule.format]
        verdict = (
            F.when(b["international"] & code.isNull(), _rejected(p.PHONE_CALLING_CODE_UNKNOWN))
            .when(~b["international"] & code.isNull(), _rejected(p.PHONE_COUNTRY_UNKNOWN))
            .when(F.length(national) < b["low"], _rejected(p.PHONE_TOO_SHORT))
            .when(F.length(national) > b["high"], _rejected(p.PHONE_TOO_LONG))
        )
        if rule.digits:
            total = F.length(code) + F.length(national)
            verdict = verdict.when(total < rule.digits[0], _rejected(p.PHONE_TOO_SHORT)).when(
                total > rule.digits[1], _rejected(p.PHONE_TOO_LONG)
            )
        return verdict.otherwise(_ok(formatted))

    formatted = F.when(is_blank(value), _rejected(p.EMPTY))
    if rule.keep_e164:
        text = trim(value)
        kept = text if rule.format == "e164_plus" else text.substr(2, 64)
        formatted = formatted.when(text.rlike(rule.e164_pattern()), _ok(kept))
    return formatted.otherwise(let(let(bounded, national_number), judged))


def clean_address_part(value: Column) -> Column:
    """Uppercase, drop `.` and `'`, set `#` apart, and turn every run of other characters
    (whitespace included) into one space: one regex instead of one per step."""
    text = F.translate(F.upper(F.coalesce(value, F.lit(""))), ".'", "")
    text = F.replace(text, F.lit("#"), F.lit(" # "))
    return F.trim(F.regexp_replace(text, "[^A-Z0-9#]+", " "))


def abbreviate_street(base: Column) -> Column:
    return let(F.split(base, " "), _abbreviate_tokens)


def _abbreviate_tokens(tokens: Column) -> Column:
    n = F.size(tokens)
    directional = _lookup(DIRECTIONALS, F.element_at(tokens, -1))

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


# Cannot occur in a cleaned street line (only A-Z, 0-9, `#` and single spaces remain).
_PART_MARK = "\u0001"


def _street_with_unit(street_line: Column) -> Column:
    """The abbreviated street, then the unit's standard designator and number, if it has one.

    One regex pass marks where base, designator and number start (a line without a unit is
    left whole), instead of a match test and four extractions of the same pattern: cleaning
    and standardizing 1M benchmark street lines took 5.1 s warm before, 4.1 s with this.
    """
    marked = F.regexp_replace(street_line, unit_pattern(), f"$1{_PART_MARK}$2$3{_PART_MARK}$4")
    return let(F.split(marked, _PART_MARK), _join_street_parts)


def _join_street_parts(parts: Column) -> Column:
    """[base] or [base, designator, number] -> one line; concat_ws skips the missing parts."""
    return F.concat_ws(
        " ",
        abbreviate_street(F.element_at(parts, 1)),
        _lookup(UNIT_DESIGNATORS, F.try_element_at(parts, F.lit(2))),
        F.try_element_at(parts, F.lit(3)),
    )


def _judge_address(a: Column) -> Column:
    parts = [a["street"], a["city"], a["state"], a["zip5"]]
    all_empty = parts[0] == ""
    any_empty = parts[0] == ""
    for part in parts[1:]:
        all_empty = all_empty & (part == "")
        any_empty = any_empty | (part == "")
    return (
        F.when(all_empty, _rejected(p.EMPTY))
        .when(any_empty, _rejected(p.ADDRESS_INCOMPLETE))
        .otherwise(_ok(F.concat_ws(" ", let(a["street"], _street_with_unit), *parts[1:])))
    )


def normalize_address(street: Column, city: Column, state: Column, postal_code: Column) -> Column:
    zip5 = F.regexp_extract(
        F.regexp_replace(F.coalesce(postal_code, F.lit("")), "[^0-9-]", ""), "^([0-9]{5})", 1
    )
    cleaned = F.struct(
        clean_address_part(street).alias("street"),
        clean_address_part(city).alias("city"),
        clean_address_part(state).alias("state"),
        zip5.alias("zip5"),
    )
    return let(cleaned, _judge_address)


def _class_escape(characters: str) -> str:
    """Characters as members of a regex class (each escaped, so '-' and ']' stay literal)."""
    return "".join(f"\\u{ord(c):04x}" for c in characters)


def _dashed() -> str:
    """A house number, its last dash, and a rest that is not a number: `123-A`."""
    number = numeric_class() + "+"
    return f"^{number}-(?!{number}\\z)[^-]+\\z"


def _amazon_tables(default_country: str | None) -> Column:
    """Country -> its word map, one literal; the default country first (keys scan in order)."""
    tables = sorted(amazon_street_words().items(), key=lambda item: item[0] != default_country)
    entries = []
    for country, words in tables:
        pairs = (sql_literal(part) for item in words.items() for part in item)
        entries += [sql_literal(country), f"map({', '.join(pairs)})"]
    return literal_expression("map", entries)


def _amazon_country(country: Column | None, default_country: str | None) -> Column:
    written = _region(country, default_country)
    for alias, code in AMAZON_COUNTRY_ALIASES.items():
        written = F.when(written == alias, F.lit(code)).otherwise(written)
    return written


def _split_within_budget(tokens: Column, split: Callable[[Column], Column]) -> Column:
    """Twin of reference.split_within_budget: split in order while the output is shorter
    than the input was, then keep the rest as written."""
    budget = F.size(tokens)
    return F.aggregate(
        tokens,
        F.array().cast("array<string>"),
        lambda out, token: F.when(F.size(out) >= budget, F.array_append(out, token)).otherwise(
            F.concat(out, split(token))
        ),
    )


def _split_dash(token: Column) -> Column:
    return F.when(
        token.rlike(_dashed()),
        F.array(F.substring_index(token, "-", 1), F.substring_index(token, "-", -1)),
    ).otherwise(F.array(token))


def _split_pound(token: Column) -> Column:
    """Twin of reference.split_pound: each mark's parts but its last, then the last mark's."""
    letters = F.regexp_extract_all(token, F.lit(AMAZON_POUND), 1)
    units = F.regexp_extract_all(token, F.lit(AMAZON_POUND), 2)
    marks = F.transform(
        F.arrays_zip(letters.alias("l"), units.alias("u")),
        lambda m: F.filter(F.array(m["l"], F.lit("#"), m["u"]), lambda part: part != ""),
    )
    found = F.size(marks)
    earlier = F.transform(
        F.slice(marks, 1, F.greatest(found - 1, F.lit(0))),
        lambda parts: F.slice(parts, 1, F.size(parts) - 1),
    )
    return F.when(found == 0, F.array(token)).otherwise(
        F.concat(F.flatten(earlier), F.element_at(marks, -1))
    )


def normalize_street_amazon(
    street: Column, country: Column | None, default_country: str | None
) -> Column:
    """Twin of reference.normalize_street_amazon (`8 Bluestem Terrace` -> `8bluestemter`)."""
    words = F.try_element_at(
        _amazon_tables(default_country), _amazon_country(country, default_country)
    )

    def normalized(b: Column) -> Column:
        tokens = F.filter(
            F.split(F.upper(b["street"]), AMAZON_STREET_DELIMITERS), lambda t: t != ""
        )
        tokens = _split_within_budget(_split_within_budget(tokens, _split_dash), _split_pound)
        replaced = F.transform(tokens, lambda t: F.coalesce(F.try_element_at(b["words"], t), t))
        return F.lower(F.array_join(replaced, ""))

    def judged(b: Column) -> Column:
        return (
            F.when(is_blank(b["street"]), _rejected(p.EMPTY))
            .when(b["words"].isNull(), _rejected(p.ADDRESS_COUNTRY_UNSUPPORTED))
            .otherwise(let(normalized(b), _judge_street))
        )

    return let(F.struct(street.alias("street"), words.alias("words")), judged)


def _judge_street(line: Column) -> Column:
    return F.when(line == "", _rejected(p.EMPTY)).otherwise(_ok(line))


def normalize_maid(value: Column) -> Column:
    maid = F.lower(trim(value))
    return (
        F.when(is_blank(value), _rejected(p.EMPTY))
        .when(maid.rlike(MAID_PATTERN), _ok(maid))
        .otherwise(_rejected(p.MAID_SYNTAX))
    )


def apply_text_step(text: Column, step: p.TextStep) -> Column:
    """One step of the vocabulary that emails, names, postal codes and countries share."""
    if isinstance(step, p.Trim):
        return trim(text, step.also, every_space=step.every_space)
    if isinstance(step, p.Lowercase):
        return F.translate(text, _UPPER, _UPPER.lower()) if step.ascii_only else F.lower(text)
    if isinstance(step, p.Uppercase):
        return F.upper(text)
    if isinstance(step, p.KeepAsciiLetters):
        return F.regexp_replace(text, "[^A-Za-z]+", "")
    if isinstance(step, p.KeepWordCharacters):
        return F.regexp_replace(text, f"[^\\p{{L}}\\p{{N}}_{_class_escape(step.also)}]+", "")
    if isinstance(step, p.CutAt):
        return F.substring_index(text, step.separator, 1)
    return F.substring(text, 1, step.count)


def normalize_text(value: Column, rule: p.TextRule) -> Column:
    """A first or last name, postal code or country: the rule's steps, then its syntax."""
    text = value
    for step in rule.steps:
        text = apply_text_step(text, step)

    def judged(t: Column) -> Column:
        verdict = F.when(is_blank(value) | (t == ""), _rejected(p.EMPTY))
        if rule.pattern:
            verdict = verdict.when(~t.rlike(rule.pattern), _rejected(p.TEXT_SYNTAX))
        return verdict.otherwise(_ok(t))

    return let(text, judged)


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
    """Normalize an email, phone, MAID, name, postal code, country or Amazon street line
    column with a profile (USPS addresses, from four columns: normalize_address)."""
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
