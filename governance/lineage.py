"""Segment predicates: parsed with sqlglot, checked against an allow-list, reduced to lineage.

A predicate is a Spark SQL boolean expression over profile fields. Only field references the
schema defines, literals, comparisons, AND/OR/NOT, IN, LIKE, BETWEEN, IS [NOT] NULL and a few
functions pass; anything else is an error pointing at its position. What Spark evaluates is
the SQL regenerated from the checked tree, never the text as typed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

import sqlglot
from pydantic import BaseModel, ConfigDict
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from governance.errors import SegmentError

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


def _references(tree: exp.Expression) -> Iterator[exp.Column | exp.Dot]:
    """Outermost field references (a Dot chain over a Column counts once)."""
    for node in tree.walk():
        if isinstance(node, exp.Dot) and isinstance(node.parent, exp.Dot):
            continue
        if isinstance(node, exp.Dot) or (
            isinstance(node, exp.Column) and not isinstance(node.parent, exp.Dot)
        ):
            yield node


def parse_predicate(text: str, known_fields: Collection[str], *, where: str) -> ParsedPredicate:
    """Parse and check a predicate; `known_fields` are schema paths (leaves and their parents)."""
    try:
        trees = sqlglot.parse(text, read="spark")
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
    references = list(_references(tree))
    inside = {id(n) for ref in references for n in ref.walk()}
    for node in tree.walk():
        if id(node) in inside or isinstance(node, ALLOWED_NODES):
            continue
        if type(node) in ALLOWED_FUNCTIONS:
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
    return ParsedPredicate(sql=tree.sql(dialect="spark"), fields=tuple(dict.fromkeys(fields)))


def field_paths_with_parents(leaves: Collection[str]) -> set[str]:
    """Every leaf path and every struct path above it (a predicate may test a whole struct)."""
    paths = set()
    for leaf in leaves:
        parts = leaf.split(".")
        paths.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return paths


def leaves_under(path: str, leaves: Collection[str]) -> list[str]:
    """The leaf fields a (struct or leaf) path reads."""
    return [leaf for leaf in leaves if leaf == path or leaf.startswith(path + ".")]
