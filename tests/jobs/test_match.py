"""The prepare and match jobs on a generated workspace, in the test session."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.api import match_frames
from ingest.errors import HashMismatchError, MissingColumnsError
from ingest.ledger import Ledger
from jobs import generate, match, optout_ingest, pipeline, resolve
from jobs import seed_prepare as prepare
from jobs.cli.exit_codes import EXIT_QUALITY_GATE, exit_code_for
from jobs.config import load_workspace, write_starter_workspace
from jobs.errors import WorkspaceError
from jobs.seed_prepare import seed_column_names
from jobs.warehouse.catalogue import MATCH_EVIDENCE_TABLE, MATCHES_TABLE
from jobs.warehouse.tables import read_committed
from tests.conftest import GENERATED, Cli, EditConfig, copy_workspace, match_figures


@pytest.fixture(scope="module")
def workspace_dir(generated_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workspace(generated_workspace, tmp_path_factory.mktemp("matchws") / "ws")


def test_match_before_prepare_says_which_command_writes_the_seeds(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_starter_workspace(tmp_path, force=False)
    expected = "seed_identifiers of partner acme; run `partnerkit prepare --partner acme`"
    with pytest.raises(WorkspaceError, match=expected):
        match.run(load_workspace(tmp_path), spark, partner="acme")


def test_prepare_then_match_finds_every_findable_profile(
    spark: SparkSession, workspace_dir: Path
) -> None:
    workspace = load_workspace(workspace_dir)
    prepared = prepare.run(workspace, spark)
    counts = prepared.counts
    assert (
        counts["input_rows"]
        == counts["accepted_rows"] + counts["quarantined_rows"]
        == GENERATED.seeds
    )
    for kind in ("email", "phone", "address"):
        parts = [counts.get(f"acme.{kind}.{o}", 0) for o in ("accepted", "empty", "rejected")]
        assert sum(parts) == GENERATED.seeds, kind

    result = match.run(workspace, spark, export_format="csv")
    stats = result.counts["acme"]
    quality = generate.evaluate(workspace, spark)
    assert quality["precision"] == 1.0 and quality["recall"] == 1.0
    assert stats["resolved"] == quality["matched"]
    assert stats["requested"] == GENERATED.seeds
    assert sum(stats["unmatched"].values()) == GENERATED.seeds - stats["resolved"]
    assert stats["universe"]["detected_forms"]["email1"] == "sha256"

    exported = Path(result.outputs["export.matches.acme"])
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == stats["resolved"]
    assert rows[0]["matched_on"]  # arrays are flattened for CSV


def test_the_python_api_matches_the_delivery_as_the_match_job_did(
    spark: SparkSession, workspace_dir: Path
) -> None:
    """The job's committed matches (previous test) against `match_frames` on the same files."""
    workspace = load_workspace(workspace_dir)
    acme = workspace.partner("acme")
    seeds = spark.read.csv(str(workspace_dir / "data/seeds.csv"), header=True)
    universe = spark.read.csv(str(workspace_dir / "data/partners/acme"), header=True)
    result = match_frames(
        seeds,
        universe,
        seed_columns=seed_column_names(workspace),
        partner_id=acme.mapping.partner_id,
        identifiers={i.column: i.kind for i in acme.mapping.identifiers},
        confidence=acme.mapping.confidence,
        profile=acme.profile,
        hash_type=acme.hash,
        encoding=acme.hash_encoding,
        threshold=acme.match.threshold,
        criterion_scores=acme.match.criterion_scores,
        default_country=workspace.config.seeds.default_country,
        partner="acme",
    )
    columns = ["profile_id", "partner_id", "overall_quality_score", "matched_on"]
    job = read_committed(spark, workspace.warehouse, MATCHES_TABLE, "acme").select(columns)
    api = result.matches.select(columns)
    assert job.count() > 100
    assert api.exceptAll(job).count() == 0 and job.exceptAll(api).count() == 0
    assert result.stats["resolved"] == job.count()


def test_overlap_counts_the_seeds_the_evidence_links_and_withholds_counts_under_k(
    spark: SparkSession, workspace_dir: Path, cli: Cli, edit_config: EditConfig
) -> None:
    args = ("overlap", "--workspace", str(workspace_dir), "--partner", "acme")
    report = cli(*args, "--json")
    assert report.code == 0, report.stderr
    counts = report.json()["counts"]
    evidence = read_committed(
        spark, load_workspace(workspace_dir).warehouse, MATCH_EVIDENCE_TABLE, "acme"
    )
    linked = evidence.select("profile_id").distinct().count()
    assert counts["overlapping_seeds"] == linked > 100
    assert counts["overlapping_partner_persons"] == evidence.select("partner_id").distinct().count()
    assert counts["seeds"] <= GENERATED.seeds
    assert set(counts["by_kind"]) == {"email", "phone", "address"}
    assert max(v["overlapping"] for v in counts["by_kind"].values()) <= linked
    not_ingested = cli(*args, "--by", "age_range")
    assert not_ingested.code == 2
    assert "run `partnerkit ingest --partner acme` first" in not_ingested.stderr

    def k_above_the_overlap(config: dict) -> None:
        config["privacy"] = {"k": linked + 1}

    edit_config(workspace_dir, k_above_the_overlap)
    withheld = cli(*args, "--json").json()["counts"]
    assert withheld["overlapping_seeds"] is None and withheld["k"] == linked + 1
    assert withheld["seeds"] == counts["seeds"]  # above k: still shown
    printed = cli(*args)
    assert f"< {linked + 1:,}" in printed.stderr and str(linked) not in printed.stderr
    edit_config(workspace_dir, lambda config: config.pop("privacy"))


def test_match_rerun_is_idempotent_and_prepare_and_match_agrees_with_the_jobs_run_apart(
    spark: SparkSession, workspace_dir: Path, cli: Cli
) -> None:
    workspace = load_workspace(workspace_dir)
    prepared, first = pipeline.prepare_and_match(workspace, spark, partner="acme")
    apart = prepare.run(workspace, spark, partner="acme")
    assert prepared.counts == apart.counts
    assert list(prepared.outputs) == list(apart.outputs)  # same order, though written apart
    ws = ("--workspace", str(workspace_dir), "--partner", "acme")
    printed = cli("match", *ws, "--format", "csv")
    assert printed.code == 0, printed.stderr
    exported = workspace_dir / "reports/match/acme/matches.csv"
    assert f"Wrote {exported}" in printed.stderr  # where the export went, always said
    again = cli("match", *ws, "--json").json()["counts"]["acme"]
    assert match_figures(first.counts["acme"]) == match_figures(again)


def test_prepare_and_match_raises_a_prepare_failure_without_matching(
    spark: SparkSession, workspace_dir: Path, tmp_path: Path, edit_config: EditConfig
) -> None:
    def unknown_email_column(config: dict) -> None:
        config["seeds"]["columns"]["email"] = "e_mail"  # not a column of the seed file
        config["seeds"]["source"]["path"] = str(workspace_dir / "data/seeds.csv")

    workspace = edit_config(tmp_path, unknown_email_column)
    with pytest.raises(MissingColumnsError, match="e_mail"):
        pipeline.prepare_and_match(workspace, spark, partner="acme")
    runs = Ledger(workspace.ledger_path).runs()
    assert [(run.job, run.status) for run in runs] == [("seed_prepare", "failed")]


def test_match_refuses_a_partner_file_with_the_wrong_declared_hash(
    spark: SparkSession, workspace_dir: Path, tmp_path: Path, edit_config: EditConfig
) -> None:
    def declared_md5(config: dict) -> None:
        config["partners"][0]["hash"] = "md5"
        config["partners"][0]["source"]["path"] = str(workspace_dir / "data/partners/acme")
        config["seeds"]["source"]["path"] = str(workspace_dir / "data/seeds.csv")

    workspace = edit_config(tmp_path, declared_md5)
    prepare.run(workspace, spark)
    with pytest.raises(HashMismatchError) as caught:
        match.run(workspace, spark)
    message = str(caught.value)
    assert "data/partners/acme" in message and "'email1'" in message
    assert "declared md5" in message and "look like sha256" in message
    assert "set the partner's `hash` and `hash_encoding` in partnerkit.yaml" in message
    assert exit_code_for(caught.value) == EXIT_QUALITY_GATE


def test_resolve_answers_with_the_matched_persons_and_hashed_criteria(
    spark: SparkSession, workspace_dir: Path
) -> None:
    with (workspace_dir / "data/ground_truth.csv").open(encoding="utf-8") as handle:
        truth = {r["profile_id"]: r for r in csv.DictReader(handle)}
    with (workspace_dir / "data/seeds.csv").open(encoding="utf-8") as handle:
        seed = next(
            r
            for r in csv.DictReader(handle)
            if truth[r["profile_id"]]["email_in_universe"] == "true"
        )
    _result, response = resolve.run(
        load_workspace(workspace_dir),
        spark,
        partner="acme",
        values={"email": [seed["email"], "nobody@example.com"]},
    )
    assert response["identities"][0]["person_id"] == truth[seed["profile_id"]]["person_id"]
    assert response["stats"] == {"requested": 2, "resolved": 1, "rate": 0.5}
    assert seed["email"].strip() not in json.dumps(response)  # hashes, not plaintext


def test_an_optout_by_a_kind_the_seeds_lack_still_drops_the_person(
    spark: SparkSession,
    generated_workspace: Path,
    tmp_path: Path,
    edit_config: EditConfig,
) -> None:
    """An opt-out may name a person by a kind no seed supplies (a MAID): the match still drops
    the person, so the universe's identifiers of every kind are read for opt-outs."""
    root = copy_workspace(generated_workspace, tmp_path / "ws")

    def maid_optouts(config: dict) -> None:
        acme = next(p for p in config["partners"] if p["name"] == "acme")
        acme["optouts"]["identifiers"] = [{"column": "maid", "kind": "maid"}]

    workspace = edit_config(root, maid_optouts)
    pipeline.prepare_and_match(workspace, spark, partner="acme")
    matches = read_committed(spark, workspace.warehouse, MATCHES_TABLE, "acme")
    source = str(workspace.resolve(workspace.partner("acme").source.path))
    universe = spark.read.option("header", True).csv(source)
    with_maid = matches.join(
        universe.where("maid1 IS NOT NULL").select(F.col("person_id").alias("partner_id"), "maid1"),
        "partner_id",
    )
    person = with_maid.orderBy("partner_id").first()
    assert person is not None
    optouts = root / "data" / "optouts" / "acme" / "maid-optouts.csv"
    optouts.parent.mkdir(parents=True, exist_ok=True)
    optouts.write_text(f"person_id,maid\n,{person['maid1']}\n", encoding="utf-8")
    loaded = optout_ingest.run(workspace, spark, partner="acme", sources=[str(optouts)])
    assert loaded.counts["totals"]["accepted_rows"] == 1
    match.run(workspace, spark, partner="acme")
    after = read_committed(spark, workspace.warehouse, MATCHES_TABLE, "acme")
    assert after.where(F.col("partner_id") == person["partner_id"]).count() == 0
    assert after.count() == matches.count() - 1
