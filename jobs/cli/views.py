"""Rich renderings for people to read on stderr: job results, profiles, schema fields, coverage."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from governance.policies import Evaluation
from ingest.audiences.overlap import withheld_text
from jobs.cli.output import new_table
from jobs.reports.activation import COUNTS as ACTIVATION_COUNTS
from jobs.runtime.runs import JobResult
from schemas.models import FieldDef
from schemas.namespaces import NamespaceCatalog
from schemas.registry import PARTNER_PLACEHOLDER


def results_table(title: str, results: Sequence[JobResult]) -> Table:
    table = new_table(title, ("job", "status", "seconds", "key counts", "workflow_id"))
    for result in results:
        table.add_row(
            result.job,
            result.status,
            f"{result.seconds:.1f}",
            summarize_counts(result.counts),
            result.workflow_id,
        )
    return table


def summarize_counts(counts: dict[str, Any]) -> str:
    """A short line for the results table: scalar counts, and rates of nested match stats."""
    parts = []
    for key, value in counts.items():
        if isinstance(value, dict) and "rate" in value:
            parts.append(
                f"{key}: {value['resolved']:,}/{value['requested']:,} ({value['rate']:.1%})"
            )
        elif isinstance(value, dict) and key == "totals":
            parts += [f"{k}={v:,}" for k, v in value.items() if isinstance(v, int)]
        elif isinstance(value, int) and "." not in key:
            parts.append(f"{key}={value:,}")
    return ", ".join(parts[:4])


def prepare_table(result: JobResult) -> Table:
    table = new_table(f"seed_prepare {result.workflow_id}", ("count", "value"))
    for key, value in result.counts.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    return table


def match_tables(result: JobResult) -> list[Table]:
    """One table per partner: overall, per identifier kind, and why profiles went unmatched."""
    tables = []
    for partner, stats in result.counts.items():
        mode = stats.get("mode", "full")
        why = f": {stats['full_because']}" if stats.get("full_because") else ""
        table = new_table(
            f"match {partner} ({result.workflow_id}, {mode}{why})",
            ("scope", "requested", "resolved", "rate"),
        )
        table.add_row(
            "all profiles",
            f"{stats['requested']:,}",
            f"{stats['resolved']:,}",
            f"{stats['rate']:.2%}",
        )
        for kind, kind_stats in stats["by_identifier"].items():
            table.add_row(
                f"  by {kind}",
                f"{kind_stats['requested']:,}",
                f"{kind_stats['resolved']:,}",
                f"{kind_stats['rate']:.2%}",
            )
        for reason, count in stats["unmatched"].items():
            table.add_row(f"  unmatched: {reason}", f"{count:,}", "", "")
        tables.append(table)
    return tables


def row_count(counts: Mapping[str, Any], key: str) -> str:
    """A count, or "-" where none was taken (a duplicate file is not read: not "0 rows")."""
    return f"{counts[key]:,}" if key in counts else "-"


def ingest_table(result: JobResult) -> Table:
    kind = result.counts.get("kind", "optout" if result.job == "optout_ingest" else "full")
    table = new_table(
        f"{result.job} {result.workflow_id} ({kind} delivery)",
        ("source", "batch", "status", "input", "accepted", "quarantined"),
    )
    for batch in result.counts.get("batches", []):
        duplicate_of = batch.get("duplicate_of")
        table.add_row(
            escape(batch["source"]),
            batch["batch_id"],
            batch["status"] + (f" of {duplicate_of}" if duplicate_of else ""),
            *(row_count(batch, key) for key in ("input_rows", "accepted_rows", "quarantined_rows")),
        )
    if "new_entries" in result.counts:
        table.caption = (
            f"{result.counts['new_entries']:,} new opt-outs; "
            f"{result.counts['entries']:,} kept for partner {result.counts['partner']}"
        )
    delta = result.counts.get("delta")
    if delta:
        table.caption = (
            f"folded into the universe: {delta['upserts_new']:,} new, "
            f"{delta['upserts_changed']:,} changed, {delta['deletes']:,} deleted persons; "
            f"{delta['deletes_unknown']:,} deletes of IDs it did not hold (nothing to do); "
            f"{delta['universe_rows']:,} persons now"
        )
    return table


def quality_table(
    quality: dict[str, Any], title: str = "matches against the ground truth"
) -> Table:
    table = Table(title=title, title_justify="left")
    for key in quality:
        table.add_column(key, justify="right")
    table.add_row(*[f"{v:.2%}" if isinstance(v, float) else f"{v:,}" for v in quality.values()])
    return table


def month_two_table(results: Sequence[JobResult]) -> Table:
    """The demo's second month: the delta, and how much of each job ran again."""
    ingested, matched, enriched, activated = results
    table = new_table("after the partner's delta (incremental runs)", ("job", "what it did"))
    delta = ingested.counts.get("delta", {})
    table.add_row(
        "ingest (delta)",
        f"{delta.get('upserts_new', 0):,} new persons, {delta.get('upserts_changed', 0):,} "
        f"changed, {delta.get('deletes', 0):,} deleted; universe "
        f"{delta.get('universe_rows', 0):,} rows",
    )
    for partner, stats in matched.counts.items():
        if isinstance(stats, dict) and "mode" in stats:
            how = stats["full_because"] or f"{stats.get('changed_persons', 0):,} persons changed"
            table.add_row(
                f"match {partner}",
                escape(
                    f"{stats['mode']} ({how}): {stats['resolved']:,} matched, "
                    f"{stats.get('new', 0):,} new, {stats.get('lost', 0):,} lost"
                ),
            )
    counts = enriched.counts
    rebuilt = counts["full_because"] or f"rebuilt {counts.get('rebuilt_profiles', 0):,} profiles"
    table.add_row("enrich", escape(f"{counts['mode']} ({rebuilt})"))
    sync = activated.counts.get("sync")
    shown = sync_note(sync) if sync else f"{activated.counts.get('exported_rows', 0):,} rows"
    table.add_row(f"activate {activated.counts['destination']}", escape(shown))
    return table


def privacy_table(results: Sequence[JobResult]) -> Table:
    """The demo's privacy stages: opt-outs kept and honoured, an erasure, a size refusal."""
    optouts, after, forgotten, refused = results
    table = new_table("privacy: opt-outs, erasure, audience size", ("job", "what it did"))
    totals = optouts.counts["totals"]
    table.add_row(
        f"opt-outs of {optouts.counts['partner']}",
        f"{totals['input_rows']:,} rows: {totals['accepted_rows']:,} accepted, "
        f"{totals['quarantined_rows']:,} quarantined; {optouts.counts['new_entries']:,} "
        "opt-outs kept for good",
    )
    sync = after.counts.get("sync")
    shown = f"{after.counts.get('suppressed', 0):,} member(s) suppressed by the opt-outs"
    table.add_row(
        f"activate {after.counts['destination']}",
        escape(shown + (f"; {sync_note(sync)}" if sync else "")),
    )
    counts = forgotten.counts
    table.add_row(
        "forget",
        escape(
            f"{counts['profiles']:,} profile erased from {len(counts['rows_removed']):,} "
            f"tables, {counts.get('purged_versions', 0):,} old versions purged, "
            f"{counts['exports']:,} past export(s) held them; receipt "
            f"{forgotten.outputs.get('receipt', '-')}"
        ),
    )
    table.add_row(
        f"activate {refused.counts['destination']}",
        escape(f"refused: {refused.counts.get('refused', 'not refused')}"),
    )
    return table


def demo_summary(counts: dict[str, Any]) -> Table:
    """What the generated data holds: ground truth and the messy variants really present."""
    table = new_table("generated data", ("what", "rows"))
    for key in (
        "seeds",
        "universe",
        "in_universe",
        "email_in_universe",
        "phone_in_universe",
        "address_in_universe",
    ):
        table.add_row(key, f"{counts.get(key, 0):,}")
    by_kind: dict[str, list[str]] = {}
    for key, value in counts.items():
        if key.startswith("variant."):
            kind, _, variant = key.removeprefix("variant.").partition(":")
            by_kind.setdefault(kind, []).append(f"{variant} {value:,}")
    for kind, parts in by_kind.items():
        table.add_row(f"{kind} variants", ", ".join(parts))
    return table


def evaluation_table(evaluation: Evaluation) -> Table:
    verdict = "allowed" if evaluation.allowed else "DENIED"
    labels_used = ", ".join(evaluation.consolidated_labels) or "-"
    table = new_table(
        f"{evaluation.action}: {verdict} (labels {labels_used})", ("policy", "why", "remedies")
    )
    for violation in evaluation.violations:
        table.add_row(
            escape(violation.policy_id),
            escape("\n".join(violation.chains)),
            escape("\n".join(violation.remedies)),
        )
    return table


def findings_table(result: JobResult) -> Table:
    counts = result.counts
    table = new_table(
        f"steward check: {counts['errors']} error(s), {counts['warnings']} warning(s)",
        ("level", "check", "where", "finding"),
    )
    for finding in counts["findings"]:
        table.add_row(
            finding["level"], finding["check"], escape(finding["where"]), escape(finding["message"])
        )
    if not counts["findings"]:
        table.add_row("ok", "every check", "", "no findings")
    return table


def sync_note(sync: dict[str, Any]) -> str:
    """How an incremental destination's export went, in one phrase."""
    if sync["full_because"]:
        return f"full refresh, {sync['adds']:,} rows: {sync['full_because']}"
    if sync["adds"] == sync["removes"] == 0:
        return f"nothing changed since export {sync['previous_export']}: nothing written"
    changes = f"{sync['adds']:,} adds, {sync['removes']:,} removes"
    return f"{changes} since export {sync['previous_export']}"


def activation_summary(result: JobResult) -> Table:
    counts = result.counts
    verdict = "ALLOWED" if counts["allowed"] else "BLOCKED"
    table = new_table(
        f"activate {counts['segment']} -> {counts['destination']}: {verdict}", ("what", "detail")
    )
    for key in (*ACTIVATION_COUNTS, "files", "manifest"):
        if key in counts:
            value = counts[key]
            table.add_row(key, f"{value:,}" if isinstance(value, int) else escape(str(value)))
    if "sync" in counts:
        table.add_row("sync", escape(sync_note(counts["sync"])))
    for chain in counts["chains"]:
        table.add_row("violation", escape(chain))
    if "refused" in counts:
        table.add_row("refused", escape(counts["refused"]))
    for warning in counts.get("warnings", []):
        table.add_row("warning", escape(warning))
    for remedy in counts["remedies"]:
        table.add_row("remedy", escape(remedy))
    changed = counts.get("changed_since_allowed")
    if changed:
        table.add_row("allowed before", f"{changed['at']} ({changed['workflow_id']})")
        for change in changed["changes"] or ["(no recorded input differs)"]:
            table.add_row("what changed", escape(change))
    return table


def refusal_table(title: str, counts: dict[str, Any]) -> Table:
    table = new_table(f"{title}: BLOCKED (dataScience)", ("what", "detail"))
    for chain in counts.get("chains", []):
        table.add_row("violation", escape(chain))
    for remedy in counts.get("remedies", []):
        table.add_row("remedy", escape(remedy))
    return table


def icp_tables(counts: dict[str, Any]) -> list[Table]:
    members = withheld_text(counts.get("members"), counts.get("k", 1))
    top = new_table(
        f"ICP {counts['partner']}: {members} members, top lift (groups under "
        f"{counts.get('k', 1)} left out)",
        ("attribute", "value", "members", "rate", "universe", "lift"),
        numeric=("members", "rate", "universe", "lift"),
    )
    for row in counts.get("top_lift", [])[:10]:
        rates = (f"{row['rate']:.1%}", f"{row['universe_rate']:.1%}", f"{row['lift']:.2f}")
        top.add_row(row["name"], escape(row["value"]), f"{row['count']:,}", *rates)
    pairs = new_table(
        "top pairs",
        ("a", "b", "members", "support", "lift"),
        numeric=("members", "support", "lift"),
    )
    for pair in counts.get("pairs", [])[:10]:
        pairs.add_row(
            escape(pair["a"]),
            escape(pair["b"]),
            f"{pair['count']:,}",
            f"{pair['support']:.1%}",
            f"{pair['lift']:.2f}",
        )
    sets = new_table("clusters of 3+ (FP-Growth)", ("items", "members"), numeric=("members",))
    for itemset in counts.get("itemsets", [])[:10]:
        sets.add_row(escape(" AND ".join(itemset["items"])), f"{itemset['count']:,}")
    return [top, pairs, sets]


def lookalike_table(result: JobResult, sizes: dict[str, Any] | None = None) -> Table:
    """A lookalike's outcome: its expression, total and sample (or the refusal)."""
    if not result.counts.get("allowed"):
        return refusal_table(result.job, result.counts)
    table = new_table(f"lookalike {result.counts['partner']}", ("what", "detail"))
    table.add_row("expression", escape(result.counts["expression"]))
    total = withheld_text(result.counts["total"], result.counts.get("k", 1))
    table.add_row("total", f"{total} of {result.counts['universe_size']:,}")
    table.add_row("sample", escape(", ".join(result.counts["sample"])))
    for mode, entry in (sizes or {}).items():
        table.add_row(f"{mode} size", withheld_text(entry["total"], result.counts.get("k", 1)))
    for name, path in result.outputs.items():
        table.add_row("saved", f"{escape(name)}: {escape(path)}")
    return table


def overlap_table(result: JobResult) -> Table:
    """Seeds and overlap overall, per identifier kind, and per attribute value."""
    counts, k = result.counts, result.counts["k"]
    table = new_table(
        f"overlap of seeds with {counts['partner']} (counts under {k} withheld)",
        ("scope", "seeds", "overlapping"),
        numeric=("seeds", "overlapping"),
    )
    table.add_row(
        "any identifier",
        withheld_text(counts["seeds"], k),
        withheld_text(counts["overlapping_seeds"], k),
    )
    for kind, row in counts["by_kind"].items():
        table.add_row(kind, withheld_text(row["seeds"], k), withheld_text(row["overlapping"], k))
    table.add_row("partner persons", "", withheld_text(counts["overlapping_partner_persons"], k))
    for value, count in counts.get("by_value", {}).items():
        table.add_row(f"{counts['by']} = {value}", "", withheld_text(count, k))
    return table


def compare_table(result: JobResult) -> Table:
    """Agreement per partner pair, then per attribute."""
    table = new_table(
        "where partners agree",
        ("scope", "agree", "disagree", "not comparable", "agreement"),
        numeric=("agree", "disagree", "not comparable", "agreement"),
    )
    k = result.counts.get("k", 1)
    for pair in result.counts["by_pair"]:
        rate = pair["agreement_rate"]
        table.add_row(
            f"{pair['provider_a']} vs {pair['provider_b']}",
            withheld_text(pair["agree"], k),
            withheld_text(pair["disagree"], k),
            "",
            "-" if rate is None else f"{rate:.1%}",
        )
    single = [r for r in result.counts["by_attribute"] if not r["comparable"]]
    for row in result.counts["by_attribute"]:
        if row in single:
            continue
        rate = row["agreement_rate"]
        shown = "-" if rate is None else f"{rate:.1%}"
        table.add_row(
            f"  {row['attribute']}",
            withheld_text(row["agree"], k),
            withheld_text(row["disagree"], k),
            withheld_text(row["not_comparable"], k),
            shown,
        )
    if single:
        table.add_row(
            f"  {len(single)} attributes from one partner only",
            "",
            "",
            withheld_text(result.counts["uncompared"], k),
            "-",
        )
    return table


def write_persons(rows: list[dict[str, Any]], output_format: str) -> None:
    """Print persons on stdout: one JSON document, JSON lines, or CSV with a header."""
    if output_format == "json":
        sys.stdout.write(json.dumps({"profiles": rows}, indent=2) + "\n")
    elif output_format == "jsonl":
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
    else:
        keys = list(dict.fromkeys(k for row in rows for k in row.get("domains", {})))
        writer = csv.writer(sys.stdout)
        writer.writerow(["person_id", *keys])
        for row in rows:
            writer.writerow([row["person_id"], *[row.get("domains", {}).get(k, "") for k in keys]])


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
                escape(code),
                namespace.type,
                escape(identity.get("id", "")),
                "yes" if identity.get("primary") else "",
                identity.get("authenticatedState", ""),
                linked,
            )
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
        table.add_row(domain, escape(path.rsplit(".", 1)[-1]), escape(_text(value)), _labels(leaf))
    lines = [
        f"batch {escape(str(provenance.get('batchId', '')))}, "
        f"matched on {escape(_text(provenance.get('matchedOn', [])))}, "
        f"score {provenance.get('overallScore', '')}",
        f"ingested {provenance.get('ingestedAt', '')}, expires {provenance.get('expiresAt', '')}",
    ]
    return Panel(
        Group(table, *lines),
        title=f"partner enrichment: {escape(partner)}",
        title_align="left",
        expand=False,  # as wide as the card: off a terminal the console is very wide
    )


def profile_view(
    record: Mapping[str, Any], fields: Sequence[FieldDef], namespaces: NamespaceCatalog
) -> Group:
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
        table.add_row(
            escape(leaf.path.replace(PARTNER_PLACEHOLDER, "<partner>")), escape(kind), escape(extra)
        )
    return table


def coverage_table(coverage: Mapping[str, Any]) -> Table:
    """Profiles enriched per partner and per domain."""
    total = int(coverage.get("profiles", 0))
    table = _table(
        f"enrichment coverage ({total:,} profiles)", "partner", "scope", "profiles", "share"
    )
    for partner, entry in coverage.items():
        if not isinstance(entry, Mapping):
            continue
        rows = [
            ("enriched", entry.get("enriched", 0)),
            ("with partner ID", entry.get("with_partner_id", 0)),
        ]
        rows += [(f"  {domain}", count) for domain, count in entry.get("domains", {}).items()]
        for scope, count in rows:
            share = f"{count / total:.1%}" if total else "-"
            table.add_row(partner, scope, f"{count:,}", share)
    return table


def recognised_table(document: Mapping[str, Any]) -> Table:
    """What guided init recognised in each file: column -> what it became."""
    table = new_table("recognised columns", ("file", "column", "as", "note"))
    seeds = document["seeds"]
    for role, column in seeds["columns"].items():
        table.add_row("seeds", escape(column), role, "")
    for column, path in seeds["profile_fields"].items():
        table.add_row("seeds", escape(column), path, "profile field")
    for column in seeds["not_used"]:
        table.add_row("seeds", escape(column), "-", "not used")
    for partner in document["partners"]:
        name = partner["name"]
        form = f"{partner['hash']} {partner['hash_encoding']}, {partner['profile']}"
        table.add_row(name, escape(partner["partner_id"]), "partner ID", "")
        for identifier in partner["identifiers"]:
            table.add_row(name, escape(identifier["column"]), identifier["kind"], form)
        for attribute in partner["attributes"]:
            notes = [f"by {attribute['matched_by']}"]
            if attribute["recoded"]:
                notes.append(f"{attribute['recoded']} values recoded")
            if attribute["values_not_in_catalog"]:
                notes.append(f"{attribute['values_not_in_catalog']} values not in the catalog")
            target = f"{attribute['domain']}.{attribute['attribute']}"
            table.add_row(name, escape(attribute["column"]), target, "; ".join(notes))
        for column in partner["not_mapped"]:
            table.add_row(name, escape(column), "-", "not mapped")
    return table


def forget_view(result: JobResult) -> Table:
    """What an erasure removed and where the receipt is: counts only."""
    counts = result.counts
    table = new_table(
        f"forget {result.workflow_id}: {counts['profiles']:,} profile(s), "
        f"{counts['partner_persons']:,} matched partner person(s)",
        ("table", "rows removed"),
        numeric=("rows removed",),
    )
    for unit, rows in sorted(counts["rows_removed"].items()):
        table.add_row(escape(unit), f"{rows:,}")
    table.caption = (
        f"{counts.get('purged_versions', 0):,} old version(s) purged; "
        f"{counts['exports']:,} past export(s) held them; "
        f"receipt: {escape(result.outputs.get('receipt', '-'))}"
    )
    return table
