"""Rich renderings of profiles, schema fields and enrichment coverage for people to read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from schemas.models import FieldDef
from schemas.namespaces import NamespaceCatalog
from schemas.registry import PARTNER_PLACEHOLDER

PARTNER_ROOT = "_partner"
SKIPPED_ROOTS = ("profileId", "identityMap", PARTNER_ROOT)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(column)
    return table


def leaf_values(record: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) for every leaf of a JSON record, in record order."""
    pairs: list[tuple[str, Any]] = []
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs += leaf_values(value, f"{path}.")
        else:
            pairs.append((path, value))
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _labels(leaf: FieldDef | None) -> str:
    return " ".join(leaf.label_codes) if leaf else ""


def identities_table(record: Mapping[str, Any], namespaces: NamespaceCatalog) -> Table:
    table = _table("identities", "namespace", "type", "id", "primary", "state", "links profiles")
    for code, identities in record.get("identityMap", {}).items():
        namespace = namespaces.get(code)
        linked = "yes" if namespace.links_profiles else "no (partner ID, activation only)"
        for identity in identities:
            table.add_row(
                escape(code), namespace.type, escape(identity.get("id", "")),
                "yes" if identity.get("primary") else "",
                identity.get("authenticatedState", ""), linked,
            )  # fmt: skip
    return table


def first_party_table(record: Mapping[str, Any], fields: Mapping[str, FieldDef]) -> Table:
    table = _table("1P fields", "field", "value", "labels")
    for path, value in leaf_values(record):
        if path.split(".", 1)[0] not in SKIPPED_ROOTS:
            table.add_row(escape(path), escape(_text(value)), _labels(fields.get(path)))
    return table


def partner_card(partner: str, data: Mapping[str, Any], fields: Mapping[str, FieldDef]) -> Panel:
    """One 'partner enrichment' card: attributes by domain with labels, then provenance."""
    table = _table("", "domain", "attribute", "value", "labels")
    provenance = data.get("provenance", {})
    for path, value in leaf_values(data, f"{PARTNER_ROOT}.{partner}."):
        leaf = fields.get(path)
        if ".provenance." in path:
            continue
        domain = leaf.domain if leaf and leaf.domain else path.split(".")[2]
        table.add_row(domain, escape(path.rsplit(".", 1)[-1]), escape(_text(value)),
                      _labels(leaf))  # fmt: skip
    lines = [
        f"batch {escape(str(provenance.get('batchId', '')))}, "
        f"matched on {escape(_text(provenance.get('matchedOn', [])))}, "
        f"score {provenance.get('overallScore', '')}",
        f"ingested {provenance.get('ingestedAt', '')}, expires {provenance.get('expiresAt', '')}",
    ]
    return Panel(Group(table, *lines), title=f"partner enrichment: {escape(partner)}",
                 title_align="left")  # fmt: skip


def profile_view(record: Mapping[str, Any], fields: Sequence[FieldDef],
                 namespaces: NamespaceCatalog) -> Group:  # fmt: skip
    """A profile as a person reads it: identities, 1P fields, one card per partner."""
    by_path = {leaf.path: leaf for leaf in fields}
    parts: list[Any] = [
        f"[bold]profile {escape(str(record.get('profileId', '')))}[/]",
        identities_table(record, namespaces),
        first_party_table(record, by_path),
    ]
    partners = record.get(PARTNER_ROOT, {})
    for partner, data in partners.items():
        parts.append(partner_card(partner, data, by_path))
    if not partners:
        parts.append("no partner enrichment on this profile")
    return Group(*parts)


def fields_table(title: str, fields: Sequence[FieldDef], *, with_labels: bool) -> Table:
    """Flattened fields with type and, when asked, every label with its origin."""
    columns = ["path", "type"] + (["labels (origin)"] if with_labels else ["values"])
    table = _table(title, *columns)
    for leaf in fields:
        kind = leaf.spark_type.simpleString()
        if with_labels:
            extra = "\n".join(label.describe() for label in leaf.labels)
        else:
            extra = ", ".join(str(v) for v in leaf.enum) if leaf.enum else ""
        table.add_row(escape(leaf.path.replace(PARTNER_PLACEHOLDER, "<partner>")), escape(kind),
                      escape(extra))  # fmt: skip
    return table


def coverage_table(coverage: Mapping[str, Any]) -> Table:
    """Profiles enriched per partner and per domain."""
    total = int(coverage.get("profiles", 0))
    table = _table(f"enrichment coverage ({total:,} profiles)", "partner", "scope", "profiles",
                   "share")  # fmt: skip
    for partner, entry in coverage.items():
        if not isinstance(entry, Mapping):
            continue
        rows = [("enriched", entry.get("enriched", 0)),
                ("with partner ID", entry.get("with_partner_id", 0))]  # fmt: skip
        rows += [(f"  {domain}", count) for domain, count in entry.get("domains", {}).items()]
        for scope, count in rows:
            share = f"{count / total:.1%}" if total else "-"
            table.add_row(partner, scope, f"{count:,}", share)
    return table
