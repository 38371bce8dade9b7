"""The demo pipeline, as `partnerkit demo` runs it, then what a user checks on its workspace.

The demo runs once per module in this process on the shared session (the commands exactly as
the installed CLI runs them); each test looks at one thing. Tests that change the workspace
work on a copy.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from pyspark.sql import SparkSession

from ingest.ledger import Ledger
from jobs.cli.app import run_cli
from jobs.cli.exit_codes import EXIT_POLICY_BLOCKED, EXIT_STEWARD_CHECK
from jobs.cli.output import lend_session
from jobs.config import load_workspace
from tests.conftest import Cli, CliRun, EditConfig, user_settings
from tests.openlineage_spec import spec_errors

pytestmark = pytest.mark.slow

DEMO_JOBS = [
    "activate",  # privacy: an audience too small for its destination
    "forget",  # the seed file's last customer
    "activate",  # the first segment again, less the opted-out persons
    "optout_ingest",  # the partner's opt-out delivery
    "activate",  # the second month: a delta, then incremental match, enrich and activation
    "enrich",
    "match",
    "partner_ingest",
    "activate",
    "lookalike",
    "icp",
    "activate",
    "activate",
    "segments",
    "compare",
    "steward",
    "enrich",
    "match",
    "seed_prepare",
    "partner_ingest",
    "partner_ingest",
    "generate",
]


@pytest.fixture(scope="module")
def demo(spark_session: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`partnerkit demo --json` on 300 seeds and 1,200 partner persons; its JSON document.

    Every job of the demo runs with Spark's code generation and adaptive execution, as a
    user's session does."""
    workspace = tmp_path_factory.mktemp("demo") / "ws"
    out, err = io.StringIO(), io.StringIO()
    with (
        user_settings(spark_session),
        lend_session(spark_session),
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        code = run_cli(
            [
                "demo",
                "--workspace",
                str(workspace),
                "--seeds",
                "300",
                "--universe",
                "1200",
                "--json",
            ]
        )
    assert code == 0, err.getvalue()[-3000:]
    return {
        **json.loads(out.getvalue()),
        "root": workspace,
        "printed": out.getvalue() + err.getvalue(),
    }


@pytest.fixture
def demo_copy(demo: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of the demo workspace for a test that changes it."""
    copy = tmp_path / "ws"
    shutil.copytree(demo["root"], copy)
    return copy


def result(document: dict[str, Any], job: str, which: int = 0) -> dict[str, Any]:
    """A job's result in the demo: its first run (`which=-1`: its run after the delta)."""
    return [r for r in document["results"] if r["job"] == job][which]


def test_demo_records_every_job_in_the_ledger(demo: dict[str, Any], cli: Cli) -> None:
    listed = cli("runs", "--workspace", str(demo["root"]), "--limit", "50", "--json")
    assert listed.code == 0, listed.stderr
    runs = listed.json()["runs"]
    assert [(r["job"], r["status"]) for r in runs] == [(job, "succeeded") for job in DEMO_JOBS]
    assert runs[-1]["workflow_id"] == result(demo, "generate")["workflow_id"]
    assert result(demo, "generate")["counts"]["seeds"] == 300
    root = demo["root"]
    assert (root / "partnerkit.yaml").is_file() and (root / "data" / "seeds.csv").is_file()
    assert list((root / "data" / "partners" / "acme").glob("universe-*.csv.gz"))


def lineage_events(root: Path) -> list[dict[str, Any]]:
    """The OpenLineage events the runs appended to the workspace's default events file."""
    lines = (root / "logs" / "openlineage.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def completed(events: list[dict[str, Any]], workflow_id: str) -> dict[str, Any]:
    (event,) = [
        e for e in events if e["run"]["runId"] == workflow_id and e["eventType"] == "COMPLETE"
    ]
    return event


def test_every_demo_run_emits_openlineage_events_the_spec_accepts(demo: dict[str, Any]) -> None:
    events = lineage_events(demo["root"])
    assert [error for event in events for error in spec_errors(event)] == []
    states = defaultdict(list)
    for event in events:
        states[event["run"]["runId"]].append(event["eventType"])
    assert {r["workflow_id"] for r in demo["results"]} <= set(states)
    assert set(map(tuple, states.values())) == {("START", "COMPLETE")}
    assert {e["job"]["name"] for e in events} >= {f"ws.{job}" for job in DEMO_JOBS}


def test_a_delivery_event_carries_its_rows_gate_and_labels(demo: dict[str, Any]) -> None:
    ingest = completed(lineage_events(demo["root"]), result(demo, "partner_ingest")["workflow_id"])
    (delivery,) = ingest["inputs"]
    assert delivery["namespace"] == "s3://partnerkit-demo"
    assert delivery["inputFacets"]["inputStatistics"]["rowCount"] == 1200
    assertions = delivery["facets"]["dataQualityAssertions"]["assertions"]
    assert {"expect_table_row_count_to_be_between", "expect_column_values_to_not_be_null"} <= {
        a["assertion"] for a in assertions
    }
    assert all(a["success"] for a in assertions)
    (universe,) = ingest["outputs"]
    assert universe["name"] == str(demo["root"] / "warehouse" / "partner" / "acme")
    accepted = result(demo, "partner_ingest")["counts"]["totals"]["accepted_rows"]
    assert universe["outputFacets"]["outputStatistics"]["rowCount"] == accepted
    columns = {f["name"] for f in universe["facets"]["schema"]["fields"]}
    tags = {(t["value"], t.get("field")) for t in universe["facets"]["tags"]["tags"]}
    assert {("3PD", None), ("acme_contract", None)} <= tags
    assert ("3PD", "household_income_range") in tags and "household_income_range" in columns


def test_the_enrich_event_names_what_it_read_and_the_labelled_profiles(
    demo: dict[str, Any],
) -> None:
    enrich_run = result(demo, "enrich")
    enrich = completed(lineage_events(demo["root"]), enrich_run["workflow_id"])
    warehouse = demo["root"] / "warehouse"
    read = {i["name"] for i in enrich["inputs"]}
    assert {str(warehouse / "partner" / "acme"), str(warehouse / "seeds")} <= read
    assert str(warehouse / "matches" / "partner=acme") in read
    (profiles,) = [o for o in enrich["outputs"] if o["name"] == str(warehouse / "profiles")]
    assert profiles["facets"]["version"]["datasetVersion"] == f"v-{enrich_run['workflow_id']}"
    assert profiles["outputFacets"]["outputStatistics"]["rowCount"] == 300
    tags = {(t["value"], t.get("field")) for t in profiles["facets"]["tags"]["tags"]}
    assert ("I1", "personalEmail.address") in tags


def test_demo_ingests_the_partner_file_from_a_local_s3(demo: dict[str, Any], cli: Cli) -> None:
    listed = cli("batches", "--workspace", str(demo["root"]), "--partner", "acme", "--json")
    optouts, delta, delivery = listed.json()["deliveries"]
    assert optouts["kind"] == "optout" and optouts["status"] == "published"
    assert (delivery["kind"], delta["kind"]) == ("full", "delta") and delta["current"]
    assert delivery["status"] == "published"
    (batch,) = delivery["files"]
    assert batch["status"] == "loaded" and batch["source_uri"].startswith("s3://partnerkit-demo/")
    assert batch["counts"]["input_rows"] == 1200


def test_overlap_by_a_partner_attribute_counts_each_value_and_no_row(
    demo_copy: Path, cli: Cli
) -> None:
    args = ("overlap", "--workspace", str(demo_copy), "--partner", "acme", "--by", "age_range")
    report = cli(*args, "--json")
    assert report.code == 0, report.stderr
    counts = report.json()["counts"]
    by_value = counts["by_value"]
    assert counts["by"] == "age_range" and len(by_value) >= 3
    shown = [v for v in by_value.values() if v is not None]
    assert shown and all(counts["k"] <= v <= counts["overlapping_seeds"] for v in shown)
    assert set(counts) == {
        "partner",
        "allowed",
        "k",
        "seeds",
        "overlapping_seeds",
        "overlapping_partner_persons",
        "by_kind",
        "by",
        "by_value",
    }
    unknown = cli("overlap", "--workspace", str(demo_copy), "--partner", "acme", "--by", "shoe")
    assert unknown.code == 2 and "see `partnerkit attributes`" in unknown.stderr


def test_demo_matches_every_findable_person_and_nobody_else(demo: dict[str, Any]) -> None:
    """Scored after the delta, on the answer key as of it."""
    assert demo["ground_truth"]["precision"] == 1.0
    assert demo["ground_truth"]["recall"] == 1.0
    resolved = result(demo, "match", -1)["counts"]["acme"]["resolved"]
    assert resolved == demo["ground_truth"]["matched"] > 0


def test_demo_takes_a_delta_then_matches_enriches_and_activates_incrementally(
    demo: dict[str, Any],
) -> None:
    ingested = result(demo, "partner_ingest", -1)["counts"]
    assert ingested["kind"] == "delta"
    matched = result(demo, "match", -1)["counts"]["acme"]
    assert matched["mode"] == "incremental" and matched["changed_persons"] > 0
    enriched = result(demo, "enrich", -1)["counts"]
    assert enriched["mode"] == "incremental"
    first, _, _, later, *_ = [r["counts"] for r in demo["results"] if r["job"] == "activate"]
    assert later["destination"] == first["destination"] == "web_personalization"
    sync = later["sync"]
    assert sync["mode"] == "incremental" and sync["previous_export"] in first["manifest"]
    assert later["exported_rows"] == sync["adds"] + sync["removes"]
    assert later["audience_rows"] == later["members"]


def test_demo_enriches_and_validates_every_profile(demo: dict[str, Any], cli: Cli) -> None:
    coverage = result(demo, "enrich")["counts"]["coverage"]
    resolved = result(demo, "match")["counts"]["acme"]["resolved"]
    assert result(demo, "enrich")["counts"]["validated_records"] == coverage["profiles"] == 300
    assert coverage["acme"]["enriched"] == coverage["acme"]["with_partner_id"] == resolved

    found = cli("profile", "--workspace", str(demo["root"]), "--profile-id", "C000000001", "--json")
    assert found.code == 0, found.stderr
    assert found.json()["profileId"] == "C000000001" and "CRMID" in found.json()["identityMap"]


def test_get_person_prints_the_requested_domains_per_person(demo: dict[str, Any], cli: Cli) -> None:
    persons = cli(
        "get-person",
        "--workspace",
        str(demo["root"]),
        "--domains",
        "demographic,email",
        "--format",
        "jsonl",
        "--limit",
        "5",
    )
    assert persons.code == 0, persons.stderr
    lines = [json.loads(line) for line in persons.stdout.splitlines()]
    assert len(lines) == 5 and all(set(p) == {"person_id", "metadata", "domains"} for p in lines)


def test_partner_data_past_retention_is_found_then_removed_by_enrich(
    demo_copy: Path, cli: Cli
) -> None:
    future = cli("check", "--workspace", str(demo_copy), "--as-of", "2100-01-01", "--json")
    assert future.code == EXIT_STEWARD_CHECK, future.stderr
    found = {f["check"] for f in future.json()["counts"]["findings"]}
    assert found == {"partner_data_past_retention", "derived_table_with_expired_partner_data"}

    later = cli("enrich", "--workspace", str(demo_copy), "--as-of", "2100-01-01", "--json")
    assert later.code == 0, later.stderr
    assert later.json()["counts"]["coverage"]["acme"]["enriched"] == 0
    # enrich judged retention at 2100: the profiles hold no expired partner data any more
    checked = cli("check", "--workspace", str(demo_copy), "--as-of", "2100-01-01", "--json")
    found = {f["check"] for f in checked.json()["counts"]["findings"]}
    assert found == {"partner_data_past_retention"}


def test_two_partners_agree_on_about_nine_values_in_ten(demo: dict[str, Any]) -> None:
    """The generated second partner disagrees on 10% of values; household counts are not
    comparable (declared not independent)."""
    (pair,) = result(demo, "compare")["counts"]["by_pair"]
    assert (pair["provider_a"], pair["provider_b"]) == ("acme", "beta")
    assert abs(pair["agreement_rate"] - 0.90) < 0.03, pair  # sampling error on ~2,000 cells
    household = [
        r
        for r in result(demo, "compare")["counts"]["by_attribute"]
        if r["attribute"] == "number_children_in_household"
    ]
    assert household[0]["comparable"] is False


def test_compare_withholds_counts_under_k(
    demo_copy: Path, cli: Cli, edit_config: EditConfig
) -> None:
    """Issue 23, item 3: every agreement count under privacy.k reads `< k`."""
    edit_config(demo_copy, lambda config: config.setdefault("privacy", {}).update(k=150))
    done = cli("compare", "--workspace", str(demo_copy), "--json")
    assert done.code == 0, done.stderr
    counts = done.json()["counts"]
    rows = counts["by_attribute"]
    shown = [r[key] for r in rows for key in ("agree", "disagree", "not_comparable")]
    assert None in shown and all(v is None or v >= 150 for v in shown)
    (pair,) = counts["by_pair"]
    assert pair["compared"] >= 150 and pair["agreement_rate"] is not None
    printed = cli("compare", "--workspace", str(demo_copy))
    assert "< 150" in printed.stderr


def test_a_contract_block_names_the_other_partner_as_remedy(
    demo_copy: Path, cli: Cli, edit_config: EditConfig
) -> None:
    """acme's contract forbids email targeting on its attribute; beta's value is allowed."""
    activate = (
        "activate",
        "--workspace",
        str(demo_copy),
        "--segment",
        "loyal_gold",
        "--destination",
        "email_newsletter",
        "--json",
    )
    blocked = cli(*activate)
    assert blocked.code == EXIT_POLICY_BLOCKED, blocked.stderr
    assert blocked.json()["counts"]["remedies"][0] == (
        "use provider beta's value: _partner.beta.demographic.householdIncomeRange instead of "
        "_partner.acme.demographic.householdIncomeRange (emailTargeting is allowed on it)"
    )

    def beta_field(config: dict) -> None:
        (newsletter,) = [d for d in config["destinations"] if d["name"] == "email_newsletter"]
        newsletter["attributes"] = ["_partner.beta.demographic.householdIncomeRange"]

    edit_config(demo_copy, beta_field)
    allowed = cli(*activate)
    assert allowed.code == 0, allowed.stderr
    assert allowed.json()["counts"]["allowed"] is True


def test_demo_steward_check_is_clean(demo: dict[str, Any]) -> None:
    assert result(demo, "steward")["counts"]["findings"] == []


def test_demo_activations_one_allowed_to_s3_one_blocked(demo: dict[str, Any], cli: Cli) -> None:
    allowed, blocked, prospects, *_ = [
        r["counts"] for r in demo["results"] if r["job"] == "activate"
    ]
    assert allowed["allowed"] and allowed["manifest"].startswith("s3://partnerkit-demo/")
    assert allowed["exported_rows"] == allowed["members"] > 0
    assert not blocked["allowed"] and blocked["chains"]
    assert not (demo["root"] / "exports" / "data_broker").exists()
    assert prospects["allowed"] and prospects["segment"] == "prospects/icp_precision"
    assert prospects["exported_rows"] == result(demo, "lookalike")["counts"]["total"]
    listed: CliRun = cli("activations", "--workspace", str(demo["root"]), "--json")
    decisions = [a["counts"]["allowed"] for a in listed.json()["activations"]]
    assert decisions == [False, True, True, True, False, True]  # newest first


def test_demo_shows_an_optout_delivery_an_erasure_and_a_size_refusal(
    demo: dict[str, Any],
) -> None:
    """Issue 23, item 6: the demo's privacy stages, after its matches are scored."""
    optouts = result(demo, "optout_ingest")["counts"]
    assert optouts["totals"]["input_rows"] == optouts["totals"]["accepted_rows"] == 3
    assert optouts["new_entries"] == optouts["entries"] == 3
    *_, after, refused = [r["counts"] for r in demo["results"] if r["job"] == "activate"]
    assert after["destination"] == "web_personalization" and after["suppressed"] >= 1
    forgotten = result(demo, "forget")
    assert forgotten["counts"]["profiles"] == 1 and forgotten["counts"]["purged_versions"] > 0
    assert Path(forgotten["outputs"]["receipt"]).is_file()
    assert refused["destination"] == "ctv_partner" and refused["allowed"] is False
    assert "min_audience_size of 5,000" in refused["refused"]
    from rich.console import Console

    from jobs.cli.views import privacy_table
    from jobs.runtime.runs import JobResult

    console = Console(width=200, record=True, file=io.StringIO())
    stages = [JobResult.model_validate(r) for r in demo["results"][-4:]]
    console.print(privacy_table(stages))
    shown = console.export_text()
    assert "3 opt-outs kept for good" in shown and "refused: the audience has" in shown


def test_demo_icp_and_lookalike_describe_the_enriched_customers(demo: dict[str, Any]) -> None:
    icp = result(demo, "icp")
    resolved = result(demo, "match")["counts"]["acme"]["resolved"]
    assert icp["counts"]["allowed"] and icp["counts"]["members"] == resolved
    assert Path(icp["outputs"]["report"]).read_text(encoding="utf-8").count("<svg") == 2
    lookalike = result(demo, "lookalike")["counts"]
    assert lookalike["total"] > 0 and len(lookalike["sample"]) <= 10


def test_clusters_lists_only_the_named_attributes_of_the_universe(
    demo: dict[str, Any], cli: Cli
) -> None:
    listed = cli(
        "clusters",
        "--workspace",
        str(demo["root"]),
        "--partner",
        "acme",
        "--name",
        "gender,is_investor",
        "--json",
    )
    assert listed.code == 0, listed.stderr
    document = listed.json()
    universe = result(demo, "partner_ingest", -1)["counts"]["delta"]["universe_rows"]
    assert document["universe_size"] == universe  # the current delivery: after the delta
    names = [c["name"] for c in document["clusters"]]
    assert set(names) == {"gender", "is_investor"} and names == sorted(names)
    assert all(len(c["cluster_hash"]) == 32 and c["size"] > 0 for c in document["clusters"])


# One predicate per shape a segment can read partner data in; acme's contract forbids the
# actions of both uses below, so each shape must be decided alike by every command.
PREDICATE_SHAPES = {
    "a field": ("_partner.acme.lifestyle.isHomeOwner = 'Yes'", False),
    "a function of a field": ("lower(_partner.acme.lifestyle.isHomeOwner) = 'yes'", False),
    "a partner's struct": ("_partner.acme IS NOT NULL", False),
    "the whole _partner struct": ("_partner IS NOT NULL AND loyalty.tier = 'Gold'", False),
    "first-party fields only": ("loyalty.tier = 'Gold'", True),
}


@pytest.fixture(scope="module")
def shapes_workspace(demo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with one segment per shape and acme forbidding cross-site ads and data science."""
    from tests.conftest import edit_workspace_config

    root = tmp_path_factory.mktemp("shapes") / "ws"
    shutil.copytree(demo["root"], root)

    def shapes(config: dict) -> None:
        config["segments"] += [
            {"name": f"shape_{n}", "predicate": predicate}
            for n, (predicate, _) in enumerate(PREDICATE_SHAPES.values())
        ]
        (acme,) = [p for p in config["partners"] if p["name"] == "acme"]
        acme["contract"]["forbidden_actions"] = ["crossSiteTargeting", "dataScience"]

    edit_workspace_config(root, shapes)
    return root


@pytest.mark.parametrize("shape", PREDICATE_SHAPES)
@pytest.mark.parametrize("command", ["activate", "icp"])
def test_every_command_decides_a_predicate_shape_alike(
    shapes_workspace: Path, cli: Cli, shape: str, command: str
) -> None:
    """Case 3: `icp --segment` over `_partner` computed an ICP that activate blocked."""
    number = list(PREDICATE_SHAPES).index(shape)
    allowed = PREDICATE_SHAPES[shape][1]
    use = {
        "activate": ("activate", "--destination", "meta_ads", "--dry-run"),
        "icp": ("icp", "--partner", "beta"),  # beta's own data is not restricted
    }[command]
    done = cli(*use, "--segment", f"shape_{number}", "--workspace", str(shapes_workspace), "--json")
    assert done.code == (0 if allowed else EXIT_POLICY_BLOCKED), done.stderr
    chains = done.json()["counts"].get("chains", [])
    assert allowed == (chains == [])
    # a struct reads every field under it: at meta_ads the financial ones also make the
    # audience a restricted one, a chain of its own
    policy_chains = [chain for chain in chains if chain.startswith("policy ")]
    assert allowed == (policy_chains == [])
    assert all("contract_acme" in chain for chain in policy_chains)


def test_overlap_decides_data_science_from_the_same_lineage(
    shapes_workspace: Path, cli: Cli
) -> None:
    """Case (review): overlap counted a partner's universe whose contract forbids data science;
    it is analysis of the partner's data like icp, refused the same way (exit 3, the chain)."""
    ws = ("--workspace", str(shapes_workspace), "--json")
    refused = cli("overlap", "--partner", "acme", "--by", "age_range", *ws)
    assert refused.code == EXIT_POLICY_BLOCKED, refused.stderr
    counts = refused.json()["counts"]
    assert counts["allowed"] is False and "overlapping_seeds" not in counts
    assert counts["chains"] and all("contract_acme" in chain for chain in counts["chains"])
    allowed = cli("overlap", "--partner", "beta", *ws)
    assert allowed.code == 0, allowed.stderr
    assert allowed.json()["counts"]["allowed"] is True


def test_the_demo_prints_and_leaves_no_email_or_phone_outside_the_warehouse(
    demo: dict[str, Any], spark_log_file: Path
) -> None:
    """Everything the demo printed, its workspace outside the warehouse, exports and input
    files, and the Spark log of this session."""
    from tests.e2e.test_leaks import leaks

    assert leaks(demo["root"], demo["printed"], also=(spark_log_file,)) == []


EXTERNAL = re.compile(
    r"""<script|<link|(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(|@import""", re.I
)


def test_every_page_partnerkit_writes_works_offline(demo: dict[str, Any]) -> None:
    """Case: Great Expectations' Data Docs index builds its table with scripts from CDNs, so
    offline it listed no validation at all. partnerkit's own pages (steward, history, ICP,
    compare, the validations index) fetch nothing and run no script; the validations index
    lists each batch's gate and links its validation page, whose results are static HTML."""
    reports = demo["root"] / "reports"
    docs = reports / "data_docs"
    ours = [p for p in reports.rglob("*.html") if not p.parent.is_relative_to(docs)]
    ours += list(docs.glob("*.html"))  # the validations index of each partner
    assert {p.name for p in ours} >= {"index.html", "acme.html", "beta.html"}
    assert [(p.name, m.group(0)) for p in ours for m in EXTERNAL.finditer(p.read_text())] == []

    index = (docs / "acme.html").read_text(encoding="utf-8")
    assert index.count("passed (") == 2
    links = re.findall(r'href="([^"]+)"', index)
    assert len(links) == 2  # the demo's full delivery and its delta, each validated
    for link in links:
        target = (docs / html.unescape(link)).resolve()
        body = re.sub(r"<script.*?</script>", "", target.read_text(encoding="utf-8"), flags=re.S)
        assert "Evaluated Expectations" in re.sub(r"<[^>]+>", " ", body)


class MarkupCheck(HTMLParser):
    """Every opened element closed in order (void elements aside): the markup is well formed."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}> closes nothing open")


def test_each_activation_decision_has_a_page_with_its_lineage_graph(
    demo: dict[str, Any],
) -> None:
    """`activate` writes a page per decision: the lineage as a graph (violations red), the
    remedies and the counts, well-formed markup with no script."""
    pages = sorted((demo["root"] / "reports" / "activations").glob("*.html"))
    blocked = [p for p in pages if "data_broker" in p.name]
    allowed = [p for p in pages if "web_personalization" in p.name]
    assert len(blocked) == 1 and len(allowed) == 3  # month two's, and after the opt-outs
    html_text = blocked[0].read_text(encoding="utf-8")
    checker = MarkupCheck()
    checker.feed(html_text)
    assert checker.problems == [] and checker.open == []
    svg = html_text[html_text.index("<svg") : html_text.index("</svg>") + 6]
    nodes = {
        title.text: rect.get("stroke")
        for group in ElementTree.fromstring(svg).iter("{http://www.w3.org/2000/svg}g")
        for title in group.iter("{http://www.w3.org/2000/svg}title")
        for rect in group.iter("{http://www.w3.org/2000/svg}rect")
    }
    assert nodes["policy: no_third_party_resale"] == "#b00020"
    assert nodes["label: 3PD"] == "#b00020"
    assert nodes["destination: data_broker"] == "#b00020"
    assert nodes["segment: high_earning_homeowners"] == "#b00020"
    assert "Remedies" in html_text and "<script" not in html_text
    allowed_text = allowed[0].read_text(encoding="utf-8")
    assert "ALLOWED" in allowed_text and "members" in allowed_text
    assert "#b00020" not in allowed_text.split("<svg", 1)[1].split("</svg>")[0]


def test_partner_optouts_are_kept_and_honoured_at_match_enrich_and_export(
    demo: dict[str, Any],
    demo_copy: Path,
    cli: Cli,
    edit_config: EditConfig,
    spark_session: SparkSession,
) -> None:
    """Issue 23, item 1: an opt-out delivery names one matched person by partner ID and another
    by a hashed email (upper case); both leave the export at once (the segment was computed
    before they arrived), then the match and the profiles. Bad rows are quarantined with
    reasons, input = accepted + quarantined, and a second load of the file adds nothing."""
    from jobs.config import load_workspace
    from jobs.warehouse.catalogue import MATCH_EVIDENCE_TABLE, MATCHES_TABLE
    from jobs.warehouse.optouts import opted_out_current_persons
    from jobs.warehouse.tables import read_committed
    from jobs.warehouse.universe import current_universe

    ws = load_workspace(demo_copy)
    acme = ws.partner("acme")
    # the demo opted some persons out already (after its last match): not them
    earlier = opted_out_current_persons(ws, spark_session, acme)
    matches = read_committed(spark_session, ws.warehouse, MATCHES_TABLE, "acme")
    matches = matches.join(earlier, "partner_id", "left_anti")
    universe = current_universe(ws, spark_session, "acme")
    with_email = matches.join(
        universe.where("email1 IS NOT NULL").select("partner_id", "email1"), "partner_id"
    )
    by_id, by_email, kept = with_email.orderBy("profile_id").limit(3).collect()
    optouts = demo_copy / "data" / "optouts" / "acme" / "acme-2026-12.csv"
    optouts.write_text(
        "person_id,email_sha256\n"
        f"{by_id['partner_id']},\n"
        f",{by_email['email1'].upper()}\n"
        ",\n"  # names nobody
        ",not-a-hash\n",
        encoding="utf-8",
    )
    picked = [r["profile_id"] for r in (by_id, by_email, kept)]

    def feed(config: dict) -> None:  # the starter's feed reads data/optouts/acme
        config["segments"].append({"name": "picked", "predicate": f"profileId IN {tuple(picked)}"})
        config["destinations"].append(
            {
                "name": "crm_file",
                "type": "file",
                "path": "exports/crm_file",
                "format": "csv",
                "identities": ["CRMID"],
                "marketing_actions": ["onsitePersonalization"],
            }
        )

    edit_config(demo_copy, feed)
    ws_args = ("--workspace", str(demo_copy), "--json")
    loaded = cli("optouts", "--partner", "acme", *ws_args)
    assert loaded.code == 0, loaded.stderr
    counts = loaded.json()["counts"]
    totals = counts["totals"]
    assert (totals["input_rows"], totals["accepted_rows"], totals["quarantined_rows"]) == (4, 2, 2)
    assert totals["duplicate"] == 1  # the demo's own opt-out file, loaded already
    (batch,) = [b for b in counts["batches"] if b["status"] == "loaded"]
    assert batch["quarantined_by_reason"] == {"optout_key_missing": 1, "hash_form": 1}
    demo_entries = result(demo, "optout_ingest")["counts"]["entries"]
    assert (counts["new_entries"], counts["entries"]) == (2, demo_entries + 2)

    exported = cli("activate", "--segment", "picked", "--destination", "crm_file", *ws_args)
    assert exported.code == 0, exported.stderr
    activation = exported.json()["counts"]
    assert (activation["members"], activation["suppressed"]) == (3, 2)
    written = "".join(p.read_text() for p in (demo_copy / "exports/crm_file").rglob("*.csv"))
    assert kept["profile_id"] in written
    assert by_id["profile_id"] not in written and by_email["profile_id"] not in written

    enriched = cli("enrich", *ws_args)
    assert enriched.code == 0, enriched.stderr
    assert enriched.json()["counts"]["full_because"] == "partner acme's opt-outs changed"
    profiles = spark_session.read.parquet(enriched.json()["outputs"]["profiles"])
    acme_of = {
        r["profileId"]: r["acme"]
        for r in profiles.where(profiles.profileId.isin(*picked))
        .select("profileId", "_partner.acme")
        .collect()
    }
    assert acme_of[kept["profile_id"]] is not None
    assert acme_of[by_id["profile_id"]] is None and acme_of[by_email["profile_id"]] is None

    # the enrich dropped them before any new match; the match drops them now
    matched = cli("match", "--partner", "acme", *ws_args)
    assert matched.code in (0, 6), matched.stderr
    assert matched.json()["counts"]["acme"]["opted_out_persons"] >= 2
    gone = {by_id["partner_id"], by_email["partner_id"]}
    for table in (MATCHES_TABLE, MATCH_EVIDENCE_TABLE):
        now = read_committed(spark_session, ws.warehouse, table, "acme")
        assert now.where(now.partner_id.isin(*gone)).count() == 0, table
    assert now.where(now.profile_id == kept["profile_id"]).count() > 0

    again = cli("optouts", "--partner", "acme", *ws_args)
    assert again.code == 0, again.stderr
    assert again.json()["counts"]["totals"]["duplicate"] == 2
    assert again.json()["counts"]["new_entries"] == 0
    assert again.json()["counts"]["entries"] == demo_entries + 2


# Where a forgotten person may still be found, and why: the brand's and the partner's own
# files (inputs: erased at their source), the partner's records of its persons (partner data,
# replaced by its deliveries), files already at a destination (listed in the receipt).
NOT_ERASED = (
    "data/",
    "warehouse/partner/",
    "warehouse/quarantine/acme/",
    "warehouse/quarantine/beta/",
    "warehouse/partner_changes/",
    "exports/",
)


def workspace_texts(root: Path) -> dict[str, str]:
    """Every file of a workspace as text: Parquet decoded row by row, gzip decompressed."""
    import gzip

    import pyarrow.parquet as pq

    texts = {}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            text = json.dumps(pq.read_table(path).to_pylist(), default=str)
        else:
            data = path.read_bytes()
            data = gzip.decompress(data) if path.suffix == ".gz" else data
            text = data.decode("utf-8", errors="replace")
        texts[path.relative_to(root).as_posix()] = text
    return texts


def exported_seed(
    root: Path, cli: Cli, spark: SparkSession, destinations: tuple[str, ...]
) -> dict[str, str]:
    """Activate `loyal_gold` to the destinations; the seed row of a matched member exported
    with email and phone (the first by profile ID)."""
    from jobs.warehouse.catalogue import MATCHES_TABLE
    from jobs.warehouse.tables import read_committed, read_profiles

    warehouse = load_workspace(root).warehouse
    for destination in destinations:
        shown = cli(
            "activate", "--segment", "loyal_gold", "--destination", destination,
            "--workspace", str(root), "--json",
        )  # fmt: skip
        assert shown.code == 0, shown.stderr
    matched = read_committed(spark, warehouse, MATCHES_TABLE, "acme")
    gold = read_profiles(spark, warehouse).where(
        "loyalty.tier = 'Gold' AND consents.marketing.email.val = 'y' "
        "AND mobilePhone.number IS NOT NULL"
    )
    (person,) = (
        gold.join(matched, gold.profileId == matched.profile_id, "left_semi")
        .orderBy("profileId")
        .limit(1)
        .select("profileId")
        .collect()
    )
    with (root / "data" / "seeds.csv").open(encoding="utf-8", newline="") as handle:
        (seed,) = [r for r in csv.DictReader(handle) if r["profile_id"] == person["profileId"]]
    return seed


def test_forget_erases_a_person_everywhere_but_the_receipt_hashes(
    demo_copy: Path, cli: Cli, edit_config: EditConfig, spark_session: SparkSession
) -> None:
    """Issue 23, item 2: erased by a differently written email, a matched, exported customer
    is in no file of the workspace afterwards (Parquet decoded, plaintext and hashed forms),
    old versions included, except where the receipt says why; the receipt and the ledger
    hold hashes only; the next prepare and activation keep them out."""
    import hashlib

    from jobs.warehouse.catalogue import SEED_IDENTIFIERS_TABLE
    from jobs.warehouse.tables import read_committed

    def synced(config: dict) -> None:
        config["destinations"].append(
            {
                "name": "crm_sync",
                "type": "file",
                "path": "exports/crm_sync",
                "format": "csv",
                "identities": ["CRMID"],
                "marketing_actions": ["onsitePersonalization"],
                "sync": "incremental",
            }
        )

    ws = edit_config(demo_copy, synced)
    args = ("--workspace", str(demo_copy), "--json")
    seed = exported_seed(demo_copy, cli, spark_session, ("meta_ads", "crm_sync"))
    email, phone, profile_id = seed["email"].strip(), seed["phone"].strip(), seed["profile_id"]
    digits = re.sub(r"\D", "", phone)
    identifiers = read_committed(spark_session, ws.warehouse, SEED_IDENTIFIERS_TABLE, "acme")
    prepared = identifiers.where(identifiers.profile_id == profile_id).where("hash IS NOT NULL")
    prepared_hashes = {r["hash"] for r in prepared.select("hash").collect()}
    assert len(prepared_hashes) >= 2  # the email's and the phone's, as every partner saw them

    erased = cli("forget", "--email", f"  {email.upper()} ", *args)
    assert erased.code == 0, erased.stderr
    counts = erased.json()["counts"]
    assert counts["profiles"] == 1 and counts["partner_persons"] >= 1
    assert counts["rows_removed"]["seeds"] == 1 and counts["rows_removed"]["profiles"] == 1
    assert counts["rows_removed"]["matches/partner=acme"] == 1
    assert counts["rows_removed"]["activation_state/crm_sync/segments/loyal_gold"] == 1
    assert counts["purged_versions"] > 0 and counts["exports"] >= 1
    receipt_path = Path(erased.json()["outputs"]["receipt"])
    receipt = json.loads(receipt_path.read_text())
    assert {e["destination"] for e in receipt["exports"]} >= {"meta_ads"}
    (removal,) = [r for r in receipt["removal_files"] if r["destination"] == "meta_ads"]
    assert removal["rows"] == 1 and Path(removal["file"]).is_file()

    sha = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
    hashed = {sha(email.lower()), sha(profile_id), sha(f"+{digits}"), sha(digits), *prepared_hashes}
    plain = {email, email.lower(), phone, digits}
    profile_token = re.compile(rf"(?<![A-Za-z0-9]){re.escape(profile_id)}(?![A-Za-z0-9])")
    receipt_holders = (receipt_path.parent.as_posix(), ws.ledger_path.name, "warehouse/forgotten/")
    found = []
    for name, text in workspace_texts(demo_copy).items():
        if name.startswith(NOT_ERASED):
            continue
        found += [f"{name}: plaintext" for value in plain if value in text]
        if profile_token.search(text):
            found.append(f"{name}: profile ID")
        relative = (demo_copy / name).as_posix()
        if not any(holder in relative for holder in receipt_holders):
            found += [f"{name}: hash" for value in hashed if value in text]
    assert found == []
    receipt_text = receipt_path.read_text()
    assert email.lower() not in receipt_text and profile_id not in receipt_text
    assert sha(email.lower()) in receipt_text

    again = cli("prepare", *args)
    assert again.code == 0, again.stderr
    assert again.json()["counts"]["forgotten_rows"] == 2  # the demo forgot one customer too
    # the incremental destination still holds them: its next export is a whole one
    resent = cli("activate", "--segment", "loyal_gold", "--destination", "crm_sync", *args)
    assert resent.code == 0, resent.stderr
    sync = resent.json()["counts"]["sync"]
    assert sync["full_because"] == "an erasure removed people this destination was sent"

    unusable = cli("forget", "--email", "nobody", *args)
    assert unusable.code == 2 and "at least one usable --profile-id" in unusable.stderr
    listed = demo_copy / "requests.csv"
    listed.write_text("name\nx\n", encoding="utf-8")
    no_columns = cli("forget", "--requests", str(listed), *args)
    assert no_columns.code == 2 and "requests.csv" in no_columns.stderr


def test_a_forget_that_fails_before_its_commit_leaves_no_removal_files(
    demo_copy: Path, cli: Cli, spark_session: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forget that failed after writing its ad-platform removal files (hashes of the people
    to erase) but before its commit left them in reports/forget/<run>/, for an erasure that
    never happened; the next forget wrote its own."""
    from jobs import forget
    from jobs.warehouse.erasure_exports import removal_folder

    seed = exported_seed(demo_copy, cli, spark_session, ("meta_ads",))
    written = []

    def fail_after_the_removal_files(workspace, spark, job, *_args):  # noqa: ANN001, ANN202
        written.extend(removal_folder(workspace, job.workflow_id).glob("*"))
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(forget, "remember", fail_after_the_removal_files)
    failed = cli("forget", "--profile-id", seed["profile_id"], "--workspace", str(demo_copy))
    assert failed.code == 1 and "unexpected RuntimeError" in failed.stderr
    assert written  # the run had written a removal file for meta_ads
    assert not [p for p in written if p.exists()]
    assert not written[0].parent.exists()  # reports/forget/<the failed run>/


def test_a_forget_killed_between_its_commit_and_its_receipt_gets_it_from_the_next(
    demo_copy: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The erasure stands once committed; its receipt (with the purge) must too. A run that
    dies after the commit leaves a pending receipt that the next forget completes."""
    from jobs import forget

    args = ("--workspace", str(demo_copy), "--json")
    with (demo_copy / "data" / "seeds.csv").open(encoding="utf-8", newline="") as handle:
        first, second = [r["profile_id"] for r in csv.DictReader(handle)][:2]
    monkeypatch.setattr(forget, "_completed_after_commit", lambda *_: lambda: None)  # killed
    killed = cli("forget", "--profile-id", first, *args)
    assert killed.code == 0, killed.stderr
    killed_run = killed.json()["workflow_id"]
    assert not forget.receipt_path(load_workspace(demo_copy), killed_run).exists()
    monkeypatch.undo()
    # Case: the pending receipt's scope was trusted, so an edit could widen the purge to a
    # unit the erasure never covered (here the demo's own `forgotten` version).
    pending = forget.pending_receipt(load_workspace(demo_copy), killed_run)
    edited = {**json.loads(pending.read_text()), "scope": ["forgotten"]}
    pending.write_text(json.dumps(edited))
    kept = sorted((demo_copy / "warehouse" / "forgotten").glob("v-*"))
    later = cli("forget", "--profile-id", second, *args)
    assert later.code == 0, later.stderr
    assert later.json()["counts"]["earlier_receipts_completed"] == [killed_run]
    workspace = load_workspace(demo_copy)
    receipt = json.loads(forget.receipt_path(workspace, killed_run).read_text())
    assert receipt["tables"]["seeds"] == 1 and receipt["purged_versions"] != []
    assert not [v for v in receipt["purged_versions"] if v.startswith("forgotten/")]
    assert all(folder.is_dir() for folder in kept) and len(kept) == 2
    assert "scope" not in receipt
    assert list(forget.pending_receipt(workspace, killed_run).parent.glob("*.json")) == []
    events = Ledger(workspace.ledger_path).events(killed_run)
    assert [e["kind"] for e in events].count(forget.RECEIPT_EVENT) == 1


def test_icp_and_lookalike_leave_out_groups_under_k(
    demo_copy: Path, cli: Cli, edit_config: EditConfig
) -> None:
    """Issue 23, item 3: ICP rows (attribute values, pairs, itemsets, rules) of fewer than
    `privacy.k` members are left out; an ICP or lookalike of fewer than k people shows no
    count and no sample."""

    def k_of(k: int) -> Callable[[dict], None]:
        return lambda config: config.setdefault("privacy", {}).update(k=k)

    args = ("--workspace", str(demo_copy), "--json")
    counts = {}
    for k in (1, 40):
        edit_config(demo_copy, k_of(k))
        done = cli("icp", "--partner", "acme", "--min-support", "0.01", *args)
        assert done.code == 0, done.stderr
        counts[k] = done.json()["counts"]

    def rows(found: dict) -> list[int]:
        lists = ("top_attributes", "top_lift", "pairs", "itemsets")
        return [r["count"] for key in lists for r in found[key]]

    assert min(rows(counts[1])) < 40 <= min(rows(counts[40]))
    assert all(r["support"] * counts[40]["members"] >= 40 for r in counts[40]["rules"])

    edit_config(demo_copy, k_of(100_000))
    tiny = cli("icp", "--partner", "acme", *args)
    assert tiny.code == 0, tiny.stderr
    assert tiny.json()["counts"]["members"] is None and "top_lift" not in tiny.json()["counts"]
    look = cli("lookalike", "--partner", "acme", "--expression", "age_range=25-34", *args)
    assert look.code == 0, look.stderr
    assert look.json()["counts"]["total"] is None and look.json()["counts"]["sample"] == []
    shown = cli(
        "lookalike",
        "--partner",
        "acme",
        "--expression",
        "age_range=25-34",
        "--workspace",
        str(demo_copy),
    )
    assert "< 100000" in shown.stderr


def test_a_brand_suppression_list_keeps_its_people_out_of_match_and_enrich(
    demo_copy: Path, cli: Cli, edit_config: EditConfig, spark_session: SparkSession
) -> None:
    """Issue 23, item 1: the brand's own opt-outs work like a partner's: a customer its list
    names (email written otherwise) is not matched and gets no partner record; a changed list
    makes the next match and enrich full ones, and taking the entry out brings them back."""

    from jobs.config import load_workspace
    from jobs.warehouse.catalogue import MATCH_EVIDENCE_TABLE, MATCHES_TABLE
    from jobs.warehouse.tables import read_committed

    ws = load_workspace(demo_copy)
    matches = read_committed(spark_session, ws.warehouse, MATCHES_TABLE, "acme")
    with (demo_copy / "data" / "seeds.csv").open(encoding="utf-8", newline="") as handle:
        seeds = {r["profile_id"]: r for r in csv.DictReader(handle)}
    (listed,) = [
        r["profile_id"]
        for r in matches.orderBy("profile_id").collect()
        if "@" in (seeds.get(r["profile_id"], {}).get("email") or "")
    ][:1]
    lists = demo_copy / "data" / "suppression"
    lists.mkdir(parents=True)
    (lists / "brand.csv").write_text(f"email\n  {seeds[listed]['email'].upper()} \n")

    def with_list(config: dict) -> None:
        config["suppression"] = [{"name": "brand", "source": {"path": "data/suppression"}}]

    args = ("--workspace", str(demo_copy), "--json")

    def matched_and_enriched(enrich_first: bool) -> tuple[dict, dict, bool, bool]:
        """Both runs; enriching first shows enrich honours the list before any new match."""
        if enrich_first:
            enriched = cli("enrich", *args)
        matched = cli("match", "--partner", "acme", *args)
        assert matched.code in (0, 6), matched.stderr
        if not enrich_first:
            enriched = cli("enrich", *args)
        assert enriched.code == 0, enriched.stderr
        found = [
            read_committed(spark_session, ws.warehouse, table, "acme")
            .where(f"profile_id = '{listed}'")
            .count()
            for table in (MATCHES_TABLE, MATCH_EVIDENCE_TABLE)
        ]
        profiles = spark_session.read.parquet(enriched.json()["outputs"]["profiles"])
        (record,) = profiles.where(f"profileId = '{listed}'").select("_partner.acme").collect()
        return (
            matched.json()["counts"]["acme"],
            enriched.json()["counts"],
            any(found),
            record[0] is not None,
        )

    edit_config(demo_copy, with_list)
    match_counts, enrich_counts, in_match, enriched = matched_and_enriched(enrich_first=True)
    assert match_counts["full_because"] == "the suppression lists changed"
    assert enrich_counts["full_because"] == "the suppression lists changed"
    assert (in_match, enriched) == (False, False)

    (lists / "brand.csv").write_text("email\n")
    match_counts, enrich_counts, in_match, enriched = matched_and_enriched(enrich_first=False)
    assert match_counts["full_because"] == "the suppression lists changed"
    assert (in_match, enriched) == (True, True)
