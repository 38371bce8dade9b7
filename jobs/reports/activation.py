"""The page of one activation decision: its lineage drawn as a graph, violations in red, the
remedies and the counts. A file a data steward can open or attach to a ticket; inline SVG, no
script, nothing fetched."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from governance.activation import ActivationDecision
from jobs.reports.html import Markup, element, join, page, table

COLUMNS = (
    "policy",
    "marketing action",
    "label",
    "field",
    "dataset",
    "segment",
    "destination",
)
NODE_W, NODE_H, GAP_X, GAP_Y, TOP = 170, 22, 24, 8, 34
RED, GREY = "#b00020", "#888"
COUNTS = (
    "members",
    "suppressed",
    "without_consent",
    "without_identifiers",
    "audience_rows",
    "exported_rows",
)

Node = tuple[str, str]  # (column, name)


class Graph:
    """Nodes in columns, in first-seen order, and the edges between them."""

    def __init__(self) -> None:
        self.nodes: dict[Node, bool] = {}  # node -> part of a violation
        self.edges: dict[tuple[Node, Node], None] = {}

    def add(self, column: str, name: str, *, violating: bool = False) -> Node:
        node = (column, name)
        self.nodes[node] = self.nodes.get(node, False) or violating
        return node

    def link(self, source: Node, target: Node) -> None:
        self.edges[(source, target)] = None


def decision_graph(decision: ActivationDecision) -> Graph:
    """policy -> marketing action -> label -> field -> dataset -> segment -> destination."""
    graph = Graph()
    matched = {
        (use.code, use.dataset, use.field)
        for evaluation in decision.evaluations
        for violation in evaluation.violations
        for use in violation.matched
    }
    bad_codes = {code for code, _, _ in matched}
    bad_fields = {(dataset, field) for _, dataset, field in matched if field}
    bad_datasets = {dataset for _, dataset, _ in matched if dataset}
    segment = graph.add("segment", decision.segment, violating=bool(matched))
    destination = graph.add("destination", decision.destination, violating=not decision.allowed)
    graph.link(segment, destination)
    for evaluation in decision.evaluations:
        action = graph.add("marketing action", evaluation.action, violating=not evaluation.allowed)
        graph.link(action, destination)
        for violation in evaluation.violations:
            policy = graph.add("policy", violation.policy_id, violating=True)
            graph.link(policy, action)
        if evaluation.allowed:
            count = len(evaluation.evaluated_policies)
            graph.link(graph.add("policy", f"{count} evaluated, none denies"), action)
        for code in evaluation.consolidated_labels:
            graph.link(action, graph.add("label", code, violating=code in bad_codes))
        for dataset, codes in evaluation.labels_by_dataset.items():
            for code in codes:
                node = graph.add("dataset", dataset, violating=dataset in bad_datasets)
                graph.link(graph.add("label", code, violating=code in bad_codes), node)
        for dataset, by_field in evaluation.labels_by_field.items():
            for field, codes in by_field.items():
                node = graph.add("field", field, violating=(dataset, field) in bad_fields)
                for code in codes:
                    graph.link(graph.add("label", code, violating=code in bad_codes), node)
    for item in decision.lineage:
        field = graph.add("field", item.field, violating=(item.dataset, item.field) in bad_fields)
        dataset = graph.add("dataset", item.dataset, violating=item.dataset in bad_datasets)
        graph.link(field, dataset)
        graph.link(dataset, segment if item.role == "segment" else destination)
    return graph


def graph_svg(graph: Graph) -> Markup:
    """The graph as inline SVG: one column per kind of node, edges as lines."""
    rows: dict[str, list[Node]] = {column: [] for column in COLUMNS}
    for node in graph.nodes:
        rows[node[0]].append(node)
    place = {
        node: (16 + i * (NODE_W + GAP_X), TOP + j * (NODE_H + GAP_Y))
        for i, column in enumerate(COLUMNS)
        for j, node in enumerate(rows[column])
    }
    width = 16 + len(COLUMNS) * (NODE_W + GAP_X)
    height = TOP + max(len(r) for r in rows.values()) * (NODE_H + GAP_Y) + 16
    parts = [
        f'<text x="{16 + i * (NODE_W + GAP_X)}" y="18" font-weight="bold">{escape(c)}</text>'
        for i, c in enumerate(COLUMNS)
    ]
    for source, target in graph.edges:
        (x1, y1), (x2, y2) = place[source], place[target]
        bad = graph.nodes[source] and graph.nodes[target]
        parts.append(
            f'<line x1="{x1 + NODE_W}" y1="{y1 + NODE_H / 2}" x2="{x2}" y2="{y2 + NODE_H / 2}" '
            f'stroke="{RED if bad else GREY}" stroke-width="{2 if bad else 1}"/>'
        )
    for node, (x, y) in place.items():
        colour = RED if graph.nodes[node] else GREY
        name = node[1]
        shown = name if len(name) <= 26 else name[:25] + "…"
        parts.append(
            f"<g><title>{escape(node[0])}: {escape(name)}</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="4" fill="#fff" '
            f'stroke="{colour}" stroke-width="{2 if graph.nodes[node] else 1}"/>'
            f'<text x="{x + 6}" y="{y + 15}">{escape(shown)}</text></g>'
        )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="activation lineage">'
        + "".join(parts)
        + "</svg>"
    )


def decision_html(decision: ActivationDecision, counts: Mapping[str, Any], run: str) -> str:
    verdict = "ALLOWED" if decision.allowed and not counts.get("refused") else "BLOCKED"
    title = f"{decision.segment} -> {decision.destination}: {verdict}"
    numbers = [(key, counts[key]) for key in COUNTS if key in counts]
    sections: list[Any] = [
        element("h1", title),
        element(
            "p", join("run ", element("code", run), " (dry run)" if counts.get("dry_run") else "")
        ),
        element("h2", "Lineage"),
        element(
            "p",
            "policy -> marketing action -> label -> field -> dataset -> segment -> destination; "
            "what a violation goes through is red.",
        ),
        graph_svg(decision_graph(decision)),
    ]
    if decision.chains:
        sections += [element("h2", "Violations"), table(["chain"], [[c] for c in decision.chains])]
    if decision.warnings:
        sections += [
            element("h2", "Warnings"),
            table(["warning"], [[w] for w in decision.warnings]),
        ]
    if counts.get("refused"):
        sections += [element("h2", "Refused"), element("p", counts["refused"])]
    remedies = [*decision.remedies, *(counts.get("remedies", []) if counts.get("refused") else [])]
    if remedies:
        sections += [element("h2", "Remedies"), table(["remedy"], [[r] for r in remedies])]
    sections += [
        element("h2", "Counts"),
        table(["what", "profiles"], numbers)
        if numbers
        else element("p", "Nothing counted: a blocked activation reads no profile."),
        element("h2", "Fields read"),
        table(
            ["dataset", "field", "role"],
            [[item.dataset, item.field, item.role] for item in decision.lineage],
        ),
    ]
    return page(f"partnerkit activation: {title}", *sections)
