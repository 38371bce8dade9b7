"""Delta deliveries: upserts and deletes folded into the published universe at ingest."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.ledger import Ledger
from ingest.readers import read_file
from jobs import enrich, generate, match
from jobs import partner_ingest as ingest
from jobs import seed_prepare as prepare
from jobs.cli.exit_codes import EXIT_USAGE
from jobs.config import load_workspace
from jobs.demo.synthetic import evaluate_matches
from jobs.errors import DeliveryOrderError
from jobs.generate import GROUND_TRUTH_FILE
from jobs.warehouse.catalogue import (
    ATTRIBUTE_EVIDENCE_TABLE,
    CANONICAL_TABLE,
    MATCH_EVIDENCE_TABLE,
    MATCHES_TABLE,
    PROFILES_TABLE,
)
from jobs.warehouse.commits import read_manifest
from jobs.warehouse.tables import read_committed
from jobs.warehouse.universe import current_universe
from tests.conftest import (
    GENERATED,
    Cli,
    EditConfig,
    acme_only,
    copy_workspace,
    edit_workspace_config,
)


@pytest.fixture
def workspace_dir(generated_workspace: Path, tmp_path: Path) -> Path:
    return copy_workspace(generated_workspace, tmp_path / "ws")


@pytest.fixture(scope="module")
def ingested(
    spark_session: SparkSession, generated_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The generated workspace (acme only) after one full delivery: read-only, tests copy it."""
    root = copy_workspace(generated_workspace, tmp_path_factory.mktemp("ingested") / "ws")
    workspace = edit_workspace_config(root, acme_only)
    ingest.run(workspace, spark_session, partner="acme")
    return root


@pytest.fixture
def ingested_dir(ingested: Path, tmp_path: Path) -> Path:
    return copy_workspace(ingested, tmp_path / "ws")


def universe_rows(root: Path) -> tuple[list[str], list[list[str]]]:
    (part,) = sorted((root / "data/partners/acme").glob("*.csv.gz"))
    header, *rows = gzip.decompress(part.read_bytes()).decode().splitlines()
    return header.split(","), [row.split(",") for row in rows]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def persons(workspace_dir: Path, spark: SparkSession) -> dict[str, Any]:
    universe = current_universe(load_workspace(workspace_dir), spark, "acme")
    assert universe is not None
    return {row.partner_id: row for row in universe.drop("batch_id").collect()}


def new_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_delta_before_any_full_delivery_is_refused(workspace_dir: Path, cli: Cli) -> None:
    header, rows = universe_rows(workspace_dir)
    delta = write_csv(workspace_dir / "d.csv.gz", [*header, "operation"], [[*rows[0], "upsert"]])
    done = cli(
        "ingest", "--workspace", str(workspace_dir), "--partner", "acme", "--kind", "delta",
        str(delta),
    )  # fmt: skip
    assert done.code == EXIT_USAGE
    assert "a delta delivery changes the partner's universe, and none is published" in " ".join(
        done.stderr.split()
    )
    assert "partner/acme" not in read_manifest(str(workspace_dir / "warehouse")).tables


def test_a_delta_is_folded_into_the_universe_and_readers_see_the_fold(
    spark: SparkSession, ingested_dir: Path, cli: Cli
) -> None:
    workspace_dir = ingested_dir
    workspace = load_workspace(workspace_dir)
    header, rows = universe_rows(workspace_dir)
    pid, email = header.index("person_id"), header.index("email1")
    changed = list(rows[0])
    changed[email] = new_hash("changed@example.com")
    added = list(rows[1])
    added[pid] = "NEW-1"
    delete = [""] * len(header)
    delete[pid] = rows[2][pid]
    unknown = [""] * len(header)
    unknown[pid] = "NOBODY"
    merge = list(rows[3])
    delta_rows = [
        [*changed, "upsert"],
        [*added, " UPSERT "],
        [*delete, "delete"],
        [*unknown, "delete"],
        [*changed, "upsert"],  # the ID again in one file: quarantined, the first is kept
        [*merge, "merge"],  # no such operation: quarantined
        *([*row, "upsert"] for row in rows[10:50]),  # unchanged records sent again
    ]
    delta = write_csv(workspace_dir / "delta-1/changes.csv.gz", [*header, "operation"], delta_rows)
    (full_folder,) = read_manifest(str(workspace_dir / "warehouse")).tables["partner/acme"].folders

    result = ingest.run(workspace, spark, partner="acme", sources=[str(delta)], kind="delta")
    (batch,) = result.counts["batches"]
    universe = current_universe(workspace, spark, "acme")
    assert universe is not None
    batch_of = {row.partner_id: row.batch_id for row in universe.collect()}
    # Each person keeps the batch it was delivered in: an unchanged one its full delivery's.
    assert f"batch_id={batch_of[rows[60][pid]]}" == full_folder
    assert batch_of[rows[0][pid]] == batch_of["NEW-1"] == batch["batch_id"]
    assert (batch["input_rows"], batch["accepted_rows"], batch["quarantined_rows"]) == (46, 44, 2)
    assert (batch["upserts"], batch["deletes"]) == (42, 2)
    assert result.counts["delta"] == {
        "upserts_new": 1,
        "upserts_changed": 41,
        "deletes": 1,
        "deletes_unknown": 1,
        "universe_rows": GENERATED.universe,
    }
    after = persons(workspace_dir, spark)
    assert len(after) == GENERATED.universe
    assert after[rows[0][pid]].email1 == new_hash("changed@example.com")
    assert "NEW-1" in after and rows[2][pid] not in after
    assert after[rows[3][pid]].email1 == rows[3][email].lower()  # the bad row changed nothing
    quarantine = workspace_dir / "warehouse/quarantine/acme" / f"batch_id={batch['batch_id']}"
    reasons = sorted(str(r.reasons) for r in spark.read.parquet(str(quarantine)).collect())
    assert reasons == ["['duplicate_partner_id']", "['operation_unknown']"]
    (folder,) = read_manifest(str(workspace_dir / "warehouse")).tables["partner/acme"].folders
    assert folder != f"batch_id={batch['batch_id']}"  # the fold, not the change rows

    listed = cli("batches", "--workspace", str(workspace_dir), "--json").json()["deliveries"]
    assert [(d["kind"], d["current"]) for d in listed] == [("delta", True), ("full", False)]

    # Delivered again: the same changes fold to the same universe (the first delta's rows are
    # taken as a duplicate; its upsert now meets a known ID, its deletes unknown ones).
    again = ingest.run(workspace, spark, partner="acme", sources=[str(delta)], kind="delta")
    assert [b["status"] for b in again.counts["batches"]] == ["duplicate"]
    assert again.counts["delta"]["upserts_changed"] == 42
    assert again.counts["delta"]["deletes_unknown"] == 2
    assert persons(workspace_dir, spark) == after


def test_separate_delete_files_and_the_later_file_wins(
    spark: SparkSession, ingested_dir: Path, edit_config: EditConfig
) -> None:
    workspace_dir = ingested_dir

    def deltas_with_delete_files(config: dict[str, Any]) -> None:
        for partner in config["partners"]:
            partner["delivery"] = {"kind": "delta", "delete_files": "*deletes*"}

    workspace = edit_config(workspace_dir, deltas_with_delete_files)
    header, rows = universe_rows(workspace_dir)
    pid = header.index("person_id")
    folder = workspace_dir / "delta-2"
    # Files are taken in name order: 1-deletes removes a person that 2-upserts brings back,
    # and deletes another that 2-upserts does not touch.
    write_csv(folder / "1-deletes.csv.gz", ["person_id"], [[rows[0][pid]], [rows[1][pid]]])
    write_csv(folder / "2-upserts.csv.gz", [*header, "operation"], [[*rows[0], "upsert"]])

    result = ingest.run(workspace, spark, partner="acme", sources=[str(folder)])
    assert result.counts["kind"] == "delta"
    deletes_batch = result.counts["batches"][0]
    assert (deletes_batch["accepted_rows"], deletes_batch["deletes"]) == (2, 2)
    after = persons(workspace_dir, spark)
    assert rows[0][pid] in after and rows[1][pid] not in after
    assert len(after) == GENERATED.universe - 1
    kinds = {b.kind for b in Ledger(workspace.ledger_path).batches(partner="acme")}
    assert kinds == {"full", "delta"}


def test_a_delta_whose_columns_differ_from_the_universe_needs_a_full_delivery(
    spark: SparkSession, ingested_dir: Path, edit_config: EditConfig
) -> None:
    workspace_dir = ingested_dir
    header, rows = universe_rows(workspace_dir)

    def one_attribute_fewer(config: dict[str, Any]) -> None:
        acme = next(p for p in config["partners"] if p["name"] == "acme")
        domain = next(d for d, columns in acme["mapping"]["attributes"].items() if columns)
        acme["mapping"]["attributes"][domain] = acme["mapping"]["attributes"][domain][1:]

    narrower = edit_config(workspace_dir, one_attribute_fewer)
    delta = write_csv(workspace_dir / "d.csv.gz", [*header, "operation"], [[*rows[0], "upsert"]])
    with pytest.raises(DeliveryOrderError, match="a mapping change needs a full delivery"):
        ingest.run(narrower, spark, partner="acme", sources=[str(delta)], kind="delta")


def test_generated_deltas_fold_to_the_answer_key_of_each_delivery(
    spark: SparkSession, ingested_dir: Path
) -> None:
    """Two generated deltas of the workspace's universe: each ingested and matched finds
    exactly the profiles its answer key says are findable (deleted persons are no longer; new
    ones are nobody's)."""
    root = ingested_dir
    settings = GENERATED.model_copy(update={"deliveries": 2, "delta_percent": 6})
    truth = read_file(spark, str(root / GROUND_TRUTH_FILE), file_format="csv")
    written_deltas = generate.write_deltas(spark, settings, root, truth)
    workspace = load_workspace(root)
    prepare.run(workspace, spark, partner="acme")  # the seeds stay; the universe changes
    size = settings.universe
    for number, written in enumerate(written_deltas, start=1):
        folder = root / generate.delta_folder(number)
        result = ingest.run(workspace, spark, partner="acme", sources=[str(folder)], kind="delta")
        folded = result.counts["delta"]
        assert (folded["deletes"], folded["upserts_new"]) == (written["deletes"], written["new"])
        assert folded["upserts_changed"] == written["changed"] and folded["deletes_unknown"] == 0
        size += written["new"] - written["deletes"]
        assert folded["universe_rows"] == size
        match.run(workspace, spark, partner="acme")
        answers = root / f"{generate.DELTAS_FOLDER}/ground_truth-{number:03d}.csv"
        truth_now = read_file(spark, str(answers), file_format="csv")
        matches = read_committed(spark, workspace.warehouse, MATCHES_TABLE, "acme")
        quality = evaluate_matches(matches, truth_now)
        assert (quality["precision"], quality["recall"]) == (1.0, 1.0), quality


def edit_seeds(root: Path, step: int) -> None:
    """A seed-set change: some emails moved to the next profile's, some phones removed, some
    profiles gone, one new profile (a copy of another's identifiers)."""
    path = root / "data/seeds.csv"
    with path.open(newline="", encoding="utf-8") as file:
        header, *rows = list(csv.reader(file))
    email, phone, profile = (header.index(c) for c in ("email", "phone", "profile_id"))
    for i, row in enumerate(rows[:-1]):
        if i % 17 == step:
            row[email] = rows[i + 1][email]
        if i % 23 == step:
            row[phone] = ""
    kept = [row for i, row in enumerate(rows) if i % 29 != step + 1]
    newcomer = list(rows[5 + step])
    newcomer[profile] = f"C9{step:08d}"
    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows([header, *kept, newcomer])


def table_rows(spark: SparkSession, root: Path, tables: dict[str, str | None]) -> dict:
    """Tables row for row (sorted; without the run that computed a row)."""
    warehouse = load_workspace(root).warehouse
    rows = {}
    for table, partner in tables.items():
        frame = read_committed(spark, warehouse, table, partner)
        frame = frame.drop("workflow_id")
        rows[table] = sorted(repr(row.asDict(recursive=True)) for row in frame.collect())
    return rows


MATCH_TABLES = {MATCH_EVIDENCE_TABLE: "acme", MATCHES_TABLE: "acme"}
ENRICH_TABLES = {PROFILES_TABLE: None, ATTRIBUTE_EVIDENCE_TABLE: None, CANONICAL_TABLE: None}


def test_incremental_match_and_enrich_give_exactly_the_full_runs_result(
    spark: SparkSession, ingested_dir: Path, tmp_path: Path
) -> None:
    """After a delta with a seed-set change, a seed-set change alone, and a delta with a
    retention end, the incremental match and enrich leave the same tables and figures as full
    runs on a copy of the workspace; each incremental run builds on the one before."""
    root = ingested_dir
    settings = GENERATED.model_copy(update={"deliveries": 2, "delta_percent": 6})
    truth = read_file(spark, str(root / GROUND_TRUTH_FILE), file_format="csv")
    generate.write_deltas(spark, settings, root, truth)
    workspace = load_workspace(root)
    universe = current_universe(workspace, spark, "acme")
    assert universe is not None
    first_delivered = universe.agg(F.max("ingested_at")).first()[0].replace(tzinfo=UTC)
    prepare.run(workspace, spark, partner="acme")
    first = match.run(workspace, spark, partner="acme").counts["acme"]
    assert (first["mode"], first["full_because"]) == ("full", "no earlier match")
    now = datetime.now(UTC)
    assert enrich.run(workspace, spark, as_of=now).counts["full_because"] == "no earlier enrich"
    # The first delivery's records end 365 days after it; the deltas' a little later.
    retention_ended = first_delivered + timedelta(days=365, seconds=1)
    steps = [(1, True, now), (None, True, now), (2, False, retention_ended)]
    for number, (delta, seeds_change, as_of) in enumerate(steps):
        if delta:
            folder = str(root / generate.delta_folder(delta))
            ingest.run(workspace, spark, partner="acme", sources=[folder], kind="delta")
        if seeds_change:
            edit_seeds(root, number)
            prepare.run(workspace, spark, partner="acme")
        twin = load_workspace(copy_workspace(root, tmp_path / f"full-{number}"))
        incremental = match.run(workspace, spark, partner="acme").counts["acme"]
        full = match.run(twin, spark, partner="acme", full=True).counts["acme"]
        assert (incremental["mode"], full["mode"]) == ("incremental", "full"), incremental
        assert full["full_because"] == "--full was given"
        assert table_rows(spark, root, MATCH_TABLES) == table_rows(spark, twin.root, MATCH_TABLES)
        figures = ("requested", "resolved", "by_identifier", "unmatched", "new", "lost")
        assert {k: incremental[k] for k in figures} == {k: full[k] for k in figures}
        enriched = enrich.run(workspace, spark, as_of=as_of).counts
        enriched_in_full = enrich.run(twin, spark, as_of=as_of, full=True).counts
        assert enriched["mode"] == "incremental", enriched
        assert 0 < enriched["rebuilt_profiles"] < GENERATED.seeds
        assert table_rows(spark, root, ENRICH_TABLES) == table_rows(
            spark, twin.root, ENRICH_TABLES
        ), number
        for figure in ("coverage", "acme.expired"):
            assert enriched[figure] == enriched_in_full[figure]
    assert enriched["acme.expired"] > 0  # the last step ended the first delivery's records


def test_a_match_runs_in_full_when_it_cannot_account_for_the_changes(
    spark: SparkSession, ingested_dir: Path
) -> None:
    root = ingested_dir
    workspace = load_workspace(root)
    prepare.run(workspace, spark, partner="acme")
    match.run(workspace, spark, partner="acme")
    stricter = edit_workspace_config(
        root, lambda config: config["partners"][0].setdefault("match", {}).update(threshold=0.85)
    )
    counts = match.run(stricter, spark, partner="acme").counts["acme"]
    assert counts["full_because"] == "the partner's match settings changed"
    ingest.run(stricter, spark, partner="acme", kind="full")  # the same file, delivered again
    counts = match.run(stricter, spark, partner="acme").counts["acme"]
    assert counts["full_because"] == "a full delivery was ingested since"
    # A basis edited to point elsewhere is not followed.
    current = root / "warehouse/_commits/current.json"
    manifest = json.loads(current.read_text())
    entry = manifest["tables"]["match_evidence/partner=acme"]
    entry["details"]["seed_identifiers"] = "../../seeds/" + entry["folders"][0]
    current.write_text(json.dumps(manifest))
    counts = match.run(stricter, spark, partner="acme").counts["acme"]
    assert counts["full_because"] == (
        "the earlier match's seed identifiers version is not a version folder"
    )
