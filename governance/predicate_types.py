"""The types of a checked predicate: every comparison, IN, LIKE and function gets operands it
can take, decided from the profile schema before Spark runs anything.

Spark would find a mismatch only at run time (an ANSI cast of a customer's email to a number
fails and its message quotes the email); here it is an error naming the position, the field
and its type. Kinds are coarse on purpose: what Spark compares without a cast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from sqlglot import exp

Kind = str  # string, number, boolean, date, timestamp, struct, array, map, null, any
ORDERED = {"string", "number", "date", "timestamp"}
SCALAR = ORDERED | {"boolean"}
DATE_LIKE = {"date", "timestamp"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")
ARTICLE = {kind: ("an" if kind[0] in "aeiou" else "a") for kind in (*SCALAR, "struct", "array")}
Fail = Callable[[exp.Expression, str], None]
Path = Callable[[exp.Expression], str]


def _named(kind: Kind) -> str:
    if kind == "null":
        return "NULL"
    return f"{ARTICLE.get(kind, 'a')} {kind}"


def _is_date_literal(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and node.is_string and bool(ISO_DATE.fullmatch(node.this))


class TypeChecker:
    """Infer each node's kind bottom-up, failing at the first operand that does not fit."""

    def __init__(self, kinds: Mapping[str, Kind], field_path: Path, fail: Fail) -> None:
        self.kinds = kinds
        self.field_path = field_path
        self.fail = fail
        self._known: dict[int, Kind] = {}  # by node id: operands are asked for more than once

    def describe(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Column | exp.Dot):
            return self.field_path(node)
        return node.sql(dialect="spark")

    def _error(self, node: exp.Expression, problem: str) -> Kind:
        self.fail(node, problem)
        return "any"  # not reached: fail raises

    def kind(self, node: exp.Expression) -> Kind:
        """The kind of an expression node (raises through `fail` on a mismatch)."""
        if id(node) not in self._known:
            self._known[id(node)] = self._infer(node)
        return self._known[id(node)]

    def _infer(self, node: exp.Expression) -> Kind:
        if isinstance(node, exp.Column | exp.Dot):
            return self.kinds.get(self.field_path(node), "any")
        if isinstance(node, exp.Paren):
            return self.kind(node.this)
        if isinstance(node, exp.Literal):
            return "string" if node.is_string else "number"
        if isinstance(node, exp.Boolean):
            return "boolean"
        if isinstance(node, exp.Null):
            return "null"
        if isinstance(node, exp.Neg):
            return self._want(node, node.this, {"number"}, "-", result="number")
        if isinstance(node, exp.And | exp.Or):
            for side in (node.this, node.expression):
                self._want(node, side, {"boolean"}, node.key.upper())
            return "boolean"
        if isinstance(node, exp.Not):
            return self._want(node, node.this, {"boolean"}, "NOT", result="boolean")
        if isinstance(node, exp.Is):
            if isinstance(node.expression, exp.Boolean):
                self._want(node, node.this, {"boolean"}, "IS TRUE/FALSE")
            else:
                self.kind(node.this)
            return "boolean"
        if isinstance(node, exp.EQ | exp.NEQ):
            self._comparable(node, node.this, [node.expression], SCALAR)
            return "boolean"
        if isinstance(node, exp.GT | exp.GTE | exp.LT | exp.LTE):
            self._comparable(node, node.this, [node.expression], ORDERED)
            return "boolean"
        if isinstance(node, exp.Between):
            self._comparable(node, node.this, [node.args["low"], node.args["high"]], ORDERED)
            return "boolean"
        if isinstance(node, exp.In):
            self._comparable(node, node.this, list(node.expressions), SCALAR)
            return "boolean"
        if isinstance(node, exp.Like | exp.ILike):
            for side in (node.this, node.expression):
                self._want(node, side, {"string"}, node.key.upper())
            return "boolean"
        return self._function(node)

    def _function(self, node: exp.Expression) -> Kind:
        name = node.key.lower()
        if isinstance(node, exp.Lower | exp.Upper | exp.Trim):
            return self._want(node, node.this, {"string"}, name, result="string")
        if isinstance(node, exp.Length):
            return self._want(node, node.this, {"string"}, name, result="number")
        if isinstance(node, exp.Abs):
            return self._want(node, node.this, {"number"}, name, result="number")
        if isinstance(node, exp.CurrentDate):
            return "date"
        if isinstance(node, exp.TsOrDsToDate):  # what year(), month() and datediff() read
            if _is_date_literal(node.this):
                return "date"
            return self._want(node, node.this, DATE_LIKE, _date_function(node), result="date")
        if isinstance(node, exp.Year | exp.Month):
            self.kind(node.this)
            return "number"
        if isinstance(node, exp.DateDiff):
            self.kind(node.this)
            self.kind(node.expression)
            return "number"
        if isinstance(node, exp.Coalesce):
            first, *rest = [node.this, *node.expressions]
            self._comparable(node, first, rest, SCALAR | {"struct", "array", "map"})
            kinds = [self.kind(arg) for arg in (first, *rest)]
            return next((k for k in kinds if k != "null"), "null")
        return "any"  # the allow-list has already refused anything else

    def _want(
        self,
        node: exp.Expression,
        operand: exp.Expression,
        kinds: set[Kind],
        what: str,
        *,
        result: Kind = "boolean",
    ) -> Kind:
        found = self.kind(operand)
        if found not in kinds | {"null", "any"}:
            wanted = " or ".join(_named(k) for k in sorted(kinds))
            self.fail(
                operand, f"{what} needs {wanted}, but {self.describe(operand)} is {_named(found)}"
            )
        return result

    def _comparable(
        self,
        node: exp.Expression,
        left: exp.Expression,
        others: list[exp.Expression],
        allowed: set[Kind],
    ) -> None:
        left_kind = self.kind(left)
        operator = "IN" if isinstance(node, exp.In) else node.key.upper()
        for side, side_kind in [(left, left_kind), *((o, self.kind(o)) for o in others)]:
            if side_kind not in allowed | {"null", "any"}:
                self.fail(
                    side,
                    f"{operator} cannot compare {self.describe(side)}, which is "
                    f"{_named(side_kind)} (test a struct or list with IS NULL)",
                )
        for other in others:
            other_kind = self.kind(other)
            if not _compatible(left, left_kind, other, other_kind):
                self.fail(
                    other,
                    f"{self.describe(left)} is {_named(left_kind)}; it cannot be compared with "
                    f"{self.describe(other)}, which is {_named(other_kind)}",
                )


def _compatible(left: exp.Expression, a: Kind, right: exp.Expression, b: Kind) -> bool:
    if "null" in (a, b) or "any" in (a, b) or a == b:
        return True
    if a in DATE_LIKE and b in DATE_LIKE:
        return True
    if a in DATE_LIKE and b == "string":
        return _is_date_literal(right)
    if b in DATE_LIKE and a == "string":
        return _is_date_literal(left)
    return False


def _date_function(node: exp.Expression) -> str:
    parent = node.parent
    return parent.key.lower() if parent is not None else "a date function"
