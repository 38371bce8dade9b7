"""Segment predicates: parsed with sqlglot, checked against an allow-list, reduced to lineage.

A predicate is a Spark SQL boolean expression over profile fields. Only field references the
schema defines, literals, comparisons, AND/OR/NOT, IN, LIKE, BETWEEN, IS [NOT] NULL and a few
functions pass, each with operands of types it can take (governance/predicate_types.py), and
within limits of length, nesting and size; anything else is an error pointing at its
position. What Spark evaluates is the SQL regenerated from the checked tree, never the text
as typed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

import sqlglot
from pydantic import BaseModel, ConfigDict
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from governance.errors import SegmentError
from governance.predicate_types import Kind, TypeChecker

# Node types a predicate may contain besides field references.
ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Like,
    exp.ILike,
    exp.Between,
    exp.Is,
    exp.Null,
    exp.Boolean,
    exp.Literal,
    exp.Neg,
    exp.Tuple,
    exp.Identifier,
)
# The function allow-list: simple, deterministic, row-local.
ALLOWED_FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Trim: "trim",
    exp.Length: "length",
    exp.Coalesce: "coalesce",
    exp.Abs: "abs",
    exp.Year: "year",
    exp.Month: "month",
    exp.CurrentDate: "current_date",
    exp.DateDiff: "datediff",
}


# Limits that keep a predicate readable and inside what Spark compiles: deeper nesting made the
# parser recurse out of stack (about 50 levels), a 5,000-term OR compiled past Java's 64 KB
# method limit.
MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 16  # nested parentheses
MAX_NODES = 2_000  # fields, literals, operators and functions together
# What sqlglot puts inside year(), month() and datediff(): it reads a date.
DATE_ARGUMENT_OF = (exp.Year, exp.Month, exp.DateDiff)


class ParsedPredicate(BaseModel):
    """A checked predicate: the SQL Spark will run and the fields it reads (its lineage)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sql: str
    fields: tuple[str, ...]


def _position(node: exp.Expression) -> int:
    """Where a node starts in the text: its own offset, else its first child's that has one."""
    starts = [
        meta["start"]
        for child in node.walk()
        if isinstance(child, exp.Expression) and (meta := child.meta) and "start" in meta
    ]
    return min(starts) if starts else 0


def _field_path(node: exp.Column | exp.Dot) -> str:
    if isinstance(node, exp.Column):
        return ".".join(part.name for part in node.parts)
    return f"{_field_path(node.this)}.{node.expression.name}"  # type: ignore[arg-type]


def _reference_problem(node: exp.Column | exp.Dot) -> str | None:
    """Why a reference is not a plain field path (`.name` after a non-field, a backticked dot)."""
    base: exp.Expression = node
    while isinstance(base, exp.Dot):
        base = base.this
    if not isinstance(base, exp.Column):
        return "only a field can be followed by .name"
    for part in base.parts:
        if isinstance(part, exp.Identifier) and part.quoted and "." in part.name:
            return f"write the nested field {part.name} without backticks"
    return None


def _nesting_problem(text: str) -> tuple[int, str] | None:
    """Over-long text, or parentheses nested deeper than MAX_DEPTH (outside quotes)."""
    if len(text) > MAX_LENGTH:
        return MAX_LENGTH, f"longer than {MAX_LENGTH:,} characters; split it into segments"
    depth, quote = 0, ""
    for position, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
            if depth > MAX_DEPTH:
                return position, f"parentheses nested deeper than {MAX_DEPTH} levels"
        elif char == ")":
            depth -= 1
    return None


def _references(tree: exp.Expression) -> Iterator[exp.Column | exp.Dot]:
    """Outermost field references (a Dot chain over a Column counts once)."""
    for node in tree.walk():
        if isinstance(node, exp.Dot) and isinstance(node.parent, exp.Dot):
            continue
        if isinstance(node, exp.Dot) or (
            isinstance(node, exp.Column) and not isinstance(node.parent, exp.Dot)
        ):
            yield node


def parse_predicate(
    text: str, known_fields: Mapping[str, Kind] | Collection[str], *, where: str
) -> ParsedPredicate:
    """Parse and check a predicate; `known_fields` are schema paths (leaves and their parents),
    with their kinds when a mapping (see `field_paths_with_parents`)."""
    nesting = _nesting_problem(text)
    if nesting is not None:
        raise SegmentError(where, text, *nesting)
    try:
        trees = sqlglot.parse(text, read="spark")
    except RecursionError:
        raise SegmentError(where, text, 0, "the expression is nested too deeply") from None
    except (ParseError, TokenError) as error:
        details = getattr(error, "errors", None) or [{}]
        column = max(int(details[0].get("col", 1) or 1) - 1, 0)
        message = details[0].get("description") or "the expression cannot be tokenized"
        raise SegmentError(where, text, column, f"not a valid expression ({message})") from None
    statements = [tree for tree in trees if tree is not None]
    if len(statements) != 1:
        raise SegmentError(
            where,
            text,
            text.find(";") if ";" in text else 0,
            "exactly one expression expected (no ';')",
        )
    tree = statements[0]
    # An IN list's values do not count: Spark turns a long list into one set lookup.
    size = sum(
        1
        for node in tree.walk()
        if not (isinstance(node, exp.Literal) and isinstance(node.parent, exp.In))
    )
    if size > MAX_NODES:
        problem = (
            f"{size:,} parts (fields, values, operators and functions); at most "
            f"{MAX_NODES:,} (a long list of values fits in one IN)"
        )
        raise SegmentError(where, text, 0, problem)
    references = list(_references(tree))
    for ref in references:
        problem = _reference_problem(ref)
        if problem is not None:
            raise SegmentError(where, text, _position(ref), problem)
    inside = {id(n) for ref in references for n in ref.walk()}
    for node in tree.walk():
        if id(node) in inside or isinstance(node, ALLOWED_NODES):
            continue
        if type(node) in ALLOWED_FUNCTIONS:
            continue
        if isinstance(node, exp.TsOrDsToDate) and isinstance(node.parent, DATE_ARGUMENT_OF):
            continue
        name = node.key.upper() if not isinstance(node, exp.Func) else f"function {node.sql()}"
        allowed = ", ".join(sorted(ALLOWED_FUNCTIONS.values()))
        problem = (
            f"{name.split('(')[0]} is not allowed; use fields, literals, comparisons, "
            f"AND/OR/NOT, IN, LIKE, BETWEEN, IS NULL and the functions {allowed}"
        )
        position = _position(node)
        if isinstance(node, exp.Subquery | exp.Query) and "(" in text[:position]:
            position = text.rindex("(", 0, position)
        raise SegmentError(where, text, position, problem)
    fields = []
    for ref in sorted(references, key=_position):  # in the order they are written
        path = _field_path(ref)
        if path not in known_fields:
            raise SegmentError(
                where, text, _position(ref), f"unknown field {path}; see `partnerkit schema show`"
            )
        fields.append(path)
    if not isinstance(tree, exp.Predicate | exp.Connector | exp.Not | exp.Paren | exp.Boolean):
        raise SegmentError(where, text, 0, "the expression must be a condition (true or false)")
    kinds = known_fields if isinstance(known_fields, Mapping) else {}

    def fail(node: exp.Expression, problem: str) -> None:
        raise SegmentError(where, text, _position(node), problem)

    if TypeChecker(kinds, _field_path, fail).kind(tree) not in ("boolean", "any", "null"):
        raise SegmentError(where, text, 0, "the expression must be a condition (true or false)")
    return ParsedPredicate(sql=tree.sql(dialect="spark"), fields=tuple(dict.fromkeys(fields)))


def field_paths_with_parents(leaves: Mapping[str, Kind] | Collection[str]) -> dict[str, Kind]:
    """Every leaf path with its kind ("any" when only paths are given) and every struct path
    above it (a predicate may test a whole struct)."""
    kinds = leaves if isinstance(leaves, Mapping) else dict.fromkeys(leaves, "any")
    paths: dict[str, Kind] = {}
    for leaf in kinds:
        parts = leaf.split(".")
        for n in range(1, len(parts)):
            paths[".".join(parts[:n])] = "struct"
    for leaf, kind in kinds.items():
        paths[leaf] = kind
    return paths


def leaves_under(path: str, leaves: Collection[str]) -> list[str]:
    """The leaf fields a (struct or leaf) path reads."""
    return [leaf for leaf in leaves if leaf == path or leaf.startswith(path + ".")]
