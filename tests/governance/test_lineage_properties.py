"""Property: any predicate built from schema fields, literals and the allowed operators and
functions is either accepted with a lineage naming every field it references, or refused
with a SegmentError; never another exception."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from governance.errors import SegmentError
from governance.lineage import parse_predicate
from tests.governance.test_lineage import KINDS, KNOWN


@dataclass(frozen=True)
class Built:
    """A generated predicate's text and the fields written in it."""

    text: str
    fields: frozenset[str]


def quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


LITERALS = st.one_of(
    st.text(max_size=8).map(quoted),
    st.integers(-1000, 1000).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.2f}"),
    st.sampled_from(["true", "false", "NULL", "'2024-01-31'", "'2024-13-45'"]),
)
FIELDS = st.sampled_from(sorted(KNOWN))


@st.composite
def operands(draw: st.DrawFn) -> Built:
    """A field, a function of a field, or a literal."""
    field = draw(FIELDS)
    choice = draw(st.integers(0, 7))
    if choice == 0:
        return Built(draw(LITERALS), frozenset())
    if choice == 1:
        function = draw(st.sampled_from(["lower", "upper", "trim", "length", "abs"]))
        return Built(f"{function}({field})", frozenset({field}))
    if choice == 2:
        return Built(f"{draw(st.sampled_from(['year', 'month']))}({field})", frozenset({field}))
    if choice == 3:
        return Built(f"datediff(current_date(), {field})", frozenset({field}))
    if choice == 4:
        return Built(f"coalesce({field}, {draw(LITERALS)})", frozenset({field}))
    return Built(field, frozenset({field}))


@st.composite
def conditions(draw: st.DrawFn) -> Built:
    left, right = draw(operands()), draw(operands())
    shape = draw(st.integers(0, 5))
    if shape == 0:
        operator = draw(st.sampled_from(["=", "<>", "!=", "<", "<=", ">", ">="]))
        return Built(f"{left.text} {operator} {right.text}", left.fields | right.fields)
    if shape == 1:
        values = draw(st.lists(LITERALS, min_size=1, max_size=4))
        return Built(f"{left.text} IN ({', '.join(values)})", left.fields)
    if shape == 2:
        like = draw(st.sampled_from(["LIKE", "ILIKE", "NOT LIKE"]))
        return Built(f"{left.text} {like} {draw(LITERALS)}", left.fields)
    if shape == 3:
        low, high = draw(LITERALS), draw(LITERALS)
        return Built(f"{left.text} BETWEEN {low} AND {high}", left.fields)
    test = draw(st.sampled_from(["IS NULL", "IS NOT NULL"]))
    return Built(f"{left.text} {test}", left.fields)


def combined(children: st.SearchStrategy[Built]) -> st.SearchStrategy[Built]:
    def join(pair: tuple[Built, Built, str]) -> Built:
        a, b, connector = pair
        return Built(f"({a.text}) {connector} {b.text}", a.fields | b.fields)

    negated = children.map(lambda c: Built(f"NOT ({c.text})", c.fields))
    pairs = st.tuples(children, children, st.sampled_from(["AND", "OR"])).map(join)
    return st.one_of(negated, pairs)


PREDICATES = st.recursive(conditions(), combined, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(PREDICATES)
def test_a_built_predicate_is_accepted_with_its_lineage_or_refused_clearly(
    built: Built,
) -> None:
    try:
        parsed = parse_predicate(built.text, KNOWN, where="segment s predicate")
    except SegmentError as error:
        assert str(error).startswith("segment s predicate: position ")
        return
    assert set(parsed.fields) == built.fields
    assert all(field in KINDS or KNOWN[field] == "struct" for field in parsed.fields)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_accepted_or_refused_clearly(text: str) -> None:
    try:
        parse_predicate(text, KNOWN, where="segment s predicate")
    except SegmentError:
        pass
