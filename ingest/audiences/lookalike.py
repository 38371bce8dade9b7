"""Lookalike expressions: AND / OR / NOT / parentheses over clusters.

A term is a cluster hash (32 hex characters) or `name=value` for people typing by hand
(`household_income_range='$150K+'`, quotes needed when the value has spaces or parentheses).
The parser is a small recursive descent with positions in every error; evaluation is one
Spark filter over the partner universe: a person matches a term when that attribute equals
the value (a missing value never matches, so NOT of it does).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.errors import ExpressionError

HASH = re.compile(r"[0-9a-fA-F]{32}(?![0-9A-Za-z_])")
NAME_VALUE = re.compile(r"([a-z][a-z0-9_]*)\s*=\s*('(?:[^']*)'|\"(?:[^\"]*)\"|[^\s()]+)")
KEYWORD = re.compile(r"(AND|OR|NOT)(?![0-9A-Za-z_])", re.IGNORECASE)
EARTH_RADIUS = {"mi": 3958.8, "km": 6371.0}


@dataclass(frozen=True)
class Term:
    """A cluster named by hash or by name=value, with where it was written."""

    position: int
    cluster_hash: str | None = None
    name: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Node:
    op: str  # "and" | "or" | "not" | "term"
    children: tuple[Node, ...] = ()
    term: Term | None = None

    def terms(self) -> list[Term]:
        if self.term is not None:
            return [self.term]
        return [t for child in self.children for t in child.terms()]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def keyword(self, word: str) -> bool:
        self.skip()
        match = KEYWORD.match(self.text, self.pos)
        if match and match.group(1).upper() == word:
            self.pos = match.end()
            return True
        return False

    def fail(self, problem: str) -> ExpressionError:
        return ExpressionError(self.text, min(self.pos, len(self.text)), problem)

    def parse(self) -> Node:
        node = self.disjunction()
        self.skip()
        if self.pos < len(self.text):
            raise self.fail("expected AND, OR or the end of the expression")
        return node

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Node("or", tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while self.keyword("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Node("and", tuple(parts))

    def negation(self) -> Node:
        if self.keyword("NOT"):
            return Node("not", (self.negation(),))
        return self.atom()

    def atom(self) -> Node:
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("expected a cluster hash, name=value or '(' but the expression ended")
        if self.text[self.pos] == "(":
            opened = self.pos
            self.pos += 1
            node = self.disjunction()
            self.skip()
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise ExpressionError(self.text, opened, "this '(' is never closed")
            self.pos += 1
            return node
        start = self.pos
        if match := HASH.match(self.text, self.pos):
            self.pos = match.end()
            return Node("term", term=Term(start, cluster_hash=match.group(0).lower()))
        if match := NAME_VALUE.match(self.text, self.pos):
            self.pos = match.end()
            value = match.group(2)
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            return Node("term", term=Term(start, name=match.group(1), value=value))
        raise self.fail("expected a 32-hex cluster hash, name=value or '('")


def parse_expression(text: str) -> Node:
    """Parse an expression; an error points at the position of the problem."""
    if not text.strip():
        raise ExpressionError(text, 0, "the expression is empty")
    return _Parser(text).parse()


def resolve_terms(
    node: Node, text: str, clusters: Mapping[str, tuple[str, str]], known: set[tuple[str, str]]
) -> dict[int, tuple[str, str]]:
    """Position -> (name, value) for every term; unknown hashes or values are errors."""
    resolved = {}
    for term in node.terms():
        if term.cluster_hash is not None:
            if term.cluster_hash not in clusters:
                raise ExpressionError(
                    text,
                    term.position,
                    "no cluster has this hash; `partnerkit clusters` lists them",
                )
            resolved[term.position] = clusters[term.cluster_hash]
        else:
            pair = (term.name or "", term.value or "")
            if pair not in known:
                raise ExpressionError(
                    text,
                    term.position,
                    f"no cluster {pair[0]}={pair[1]} in this partner's universe",
                )
            resolved[term.position] = pair
    return resolved


def expression_column(
    node: Node, resolved: Mapping[int, tuple[str, str]], columns: Mapping[str, str]
) -> Column:
    """The Spark condition of an expression over the universe's attribute columns."""
    if node.op == "term" and node.term is not None:
        name, value = resolved[node.term.position]
        return F.coalesce(F.col(f"`{columns[name]}`") == F.lit(value), F.lit(False))
    parts = [expression_column(child, resolved, columns) for child in node.children]
    if node.op == "not":
        return ~parts[0]
    combined = parts[0]
    for part in parts[1:]:
        combined = (combined & part) if node.op == "and" else (combined | part)
    return combined


def within_radius(latitude: float, longitude: float, radius: float, unit: str) -> Column:
    """Haversine distance from a point to the universe's latitude/longitude, within a radius."""
    lat1, lon1 = math.radians(latitude), math.radians(longitude)
    lat2, lon2 = F.radians(F.col("latitude")), F.radians(F.col("longitude"))
    a = F.pow(F.sin((lat2 - F.lit(lat1)) / 2), 2) + F.lit(math.cos(lat1)) * F.cos(lat2) * F.pow(
        F.sin((lon2 - F.lit(lon1)) / 2), 2
    )
    distance = F.lit(2 * EARTH_RADIUS[unit]) * F.asin(F.sqrt(a))
    return F.coalesce(distance <= F.lit(radius), F.lit(False))


def find_persons(
    universe: DataFrame, condition: Column, *, exclude: DataFrame | None = None
) -> DataFrame:
    """Partner persons matching the condition, optionally without those in `exclude`."""
    people = universe.where(condition).select("partner_id").distinct()
    if exclude is not None:
        people = people.join(exclude.select("partner_id"), on="partner_id", how="left_anti")
    return people
