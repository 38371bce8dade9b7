"""The partner_ingest job on a generated workspace: S3 over HTTP (moto), ledger, gate, publish."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.errors import EmptyFileError, QualityGateError, SourceError
from ingest.ledger import Ledger
from ingest.partner_files import HELD
from ingest.sources import list_s3, upload_files
from jobs import match, optout_ingest
from jobs import partner_ingest as ingest
from jobs import seed_prepare as prepare
from jobs.cli.exit_codes import EXIT_ERROR, EXIT_QUALITY_GATE, exit_code_for
from jobs.config import load_workspace
from jobs.errors import ConfigError, PartialDeliveryError
from jobs.runtime.runs import JobResult
from jobs.warehouse.commits import read_manifest
from jobs.warehouse.universe import current_universe
from tests.conftest import GENERATED, Cli, EditConfig, copy_workspace

pytestmark = pytest.mark.s3


@pytest.fixture
def workspace_dir(generated_workspace: Path, tmp_path: Path) -> Path:
    """A fresh copy of the generated workspace per test (its own ledger and warehouse)."""
    return copy_workspace(generated_workspace, tmp_path / "ws")


def universe_file(root: Path) -> Path:
    (part,) = sorted((root / "data/partners/acme").glob("*.csv.gz"))
    return part


def published(root: Path) -> list[str]:
    table = root / "warehouse/partner/acme"
    return sorted(p.name for p in table.iterdir()) if table.exists() else []


def current_folders(root: Path) -> list[str]:
    """The batch folders the committed `partner/acme` table reads."""
    return read_manifest(str(root / "warehouse")).tables["partner/acme"].folders


def with_bad_rows(
    source: Path, target: Path, *, every: int, column: str = "email1", value: str | None = None
) -> int:
    """Copy a gzip CSV, breaking `column` in every `every`-th row (a hash cut to 40 hex
    characters, or `value`); returns how many rows were broken."""
    lines = gzip.decompress(source.read_bytes()).decode().splitlines()
    index = lines[0].split(",").index(column)
    broken = 0
    for number in range(1, len(lines), every):
        cells = lines[number].split(",")
        cells[index] = value if value is not None else cells[index][:40]
        lines[number] = ",".join(cells)
        broken += 1
    target.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return broken


def test_s3_ingest_loads_once_and_match_reads_the_batch(
    spark: SparkSession, workspace_dir: Path, s3_endpoint: str
) -> None:
    client = boto3.client("s3")
    client.create_bucket(Bucket="drops-a")
    bad = with_bad_rows(universe_file(workspace_dir), workspace_dir / "acme-1.csv.gz", every=50)
    (uri,) = upload_files([workspace_dir / "acme-1.csv.gz"], "drops-a", "acme/2026-11")
    workspace = load_workspace(workspace_dir)

    result = ingest.run(workspace, spark, partner="acme", sources=["s3://drops-a/acme/"])
    (batch,) = result.counts["batches"]
    assert batch["status"] == "loaded" and batch["source"] == uri
    assert batch["input_rows"] == GENERATED.universe
    assert batch["input_rows"] == batch["accepted_rows"] + batch["quarantined_rows"]
    assert batch["quarantined_rows"] == bad
    assert batch["gate"]["success"] and Path(batch["data_docs"]).is_file()
    table = spark.read.parquet(str(workspace_dir / "warehouse/partner/acme"))
    assert table.count() == batch["accepted_rows"]
    assert {"partner_id", "email1", "confidence", "age_range", "batch_id"} <= set(table.columns)
    # The checking pass's own column: NULL in every accepted row, and no reader sees it.
    assert table.where(F.col(HELD).isNotNull()).count() == 0
    universe = current_universe(workspace, spark, "acme")
    assert universe is not None and HELD not in universe.columns
    quarantine = spark.read.parquet(str(workspace_dir / "warehouse/quarantine/acme"))
    assert {tuple(r.reasons) for r in quarantine.collect()} == {("hash_form:email1",)}

    (record,) = Ledger(workspace.ledger_path).batches(partner="acme")
    assert (record.status, record.source_uri, record.counts["input_rows"]) == (
        "loaded",
        uri,
        GENERATED.universe,
    )
    assert len(record.checksum) == 64 and record.size_bytes > 0

    again = ingest.run(workspace, spark, partner="acme", sources=[uri])
    assert again.counts["batches"][0]["status"] == "duplicate"
    assert again.counts["batches"][0]["duplicate_of"] == batch["batch_id"]
    assert published(workspace_dir) == [f"batch_id={batch['batch_id']}"]

    prepare.run(workspace, spark)
    stats = match.run(workspace, spark).counts["acme"]
    assert stats["universe"]["format"] == "ingested batches"
    assert stats["resolved"] > 0


def test_too_many_bad_rows_fail_the_gate_and_publish_nothing(
    spark: SparkSession, workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Case 9: a batch that failed its gate kept no counts and threw its quarantine away.
    And its Data Docs are built only in the workspace, not also in a temporary folder."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    source = workspace_dir / "bad.csv.gz"
    # 10% > 5%; in an attribute, so the file-level hash detection still agrees
    broken = with_bad_rows(
        universe_file(workspace_dir), source, every=10, column="gender", value="Robot"
    )
    workspace = load_workspace(workspace_dir)
    with pytest.raises(QualityGateError) as caught:
        ingest.run(workspace, spark, partner="acme", sources=[str(source)])
    assert "expect_table_row_count_to_be_between" in str(caught.value)
    assert exit_code_for(caught.value) == EXIT_QUALITY_GATE
    assert published(workspace_dir) == []
    (record,) = Ledger(workspace.ledger_path).batches()
    assert record.status == "failed" and "quality gate failed" in (record.error or "")
    counts = record.counts
    assert counts["quarantined_rows"] == broken
    assert counts["input_rows"] == counts["accepted_rows"] + counts["quarantined_rows"]
    kept = workspace_dir / f"warehouse/quarantine/acme/batch_id={record.batch_id}"
    assert spark.read.parquet(str(kept)).count() == broken
    assert not list((workspace_dir / "warehouse/.staging").glob("*/"))
    # The failed batch's validation is in its own site and in the offline index.
    assert (workspace_dir / f"reports/data_docs/acme/{record.batch_id}/index.html").is_file()
    index = (workspace_dir / "reports/data_docs/acme.html").read_text(encoding="utf-8")
    assert record.batch_id in index and "failed (" in index
    assert sorted(p.name for p in scratch.rglob("*")) == []


def test_a_file_whose_every_row_is_held_still_reconciles(
    spark: SparkSession, workspace_dir: Path
) -> None:
    """One partner ID on every row: no row goes straight to the batch (no accepted route),
    the first is accepted after the duplicate judgement, the others are quarantined."""
    header, first = (
        gzip.decompress(universe_file(workspace_dir).read_bytes()).decode().split("\n")[:2]
    )
    source = workspace_dir / "same.csv.gz"
    source.write_bytes(gzip.compress(("\n".join([header] + [first] * 3) + "\n").encode()))
    workspace = load_workspace(workspace_dir)
    with pytest.raises(QualityGateError):  # two thirds quarantined
        ingest.run(workspace, spark, partner="acme", sources=[str(source)])
    (record,) = Ledger(workspace.ledger_path).batches()
    counts = record.counts
    assert (counts["input_rows"], counts["accepted_rows"], counts["quarantined_rows"]) == (3, 1, 2)
    assert counts["quarantined_by_reason"] == {"duplicate_partner_id": 2}


def test_truncated_gzip_is_a_named_failure(spark: SparkSession, workspace_dir: Path) -> None:
    whole = universe_file(workspace_dir).read_bytes()
    source = workspace_dir / "cut.csv.gz"
    source.write_bytes(whole[: len(whole) // 2])
    workspace = load_workspace(workspace_dir)
    with pytest.raises(SourceError, match="cut.csv.gz: the gzip stream is truncated"):
        ingest.run(workspace, spark, partner="acme", sources=[str(source)])
    assert published(workspace_dir) == []
    assert Ledger(workspace.ledger_path).batches()[0].status == "failed"


def test_an_optout_file_that_cannot_be_staged_gets_a_failed_batch(
    spark: SparkSession, workspace_dir: Path
) -> None:
    """Like a delivery: every attempt is in `partnerkit batches`, of the opt-out kind."""
    source = workspace_dir / "optouts-cut.csv.gz"
    whole = gzip.compress(b"person_id,email_sha256\n" + b"p1,\n" * 1000)
    source.write_bytes(whole[: len(whole) // 2])
    workspace = load_workspace(workspace_dir)
    with pytest.raises(SourceError, match="optouts-cut.csv.gz: the gzip stream is truncated"):
        optout_ingest.run(workspace, spark, partner="acme", sources=[str(source)])
    (record,) = Ledger(workspace.ledger_path).batches()
    assert (record.status, record.kind, record.checksum) == ("failed", "optout", "")
    assert "truncated" in (record.error or "")


def test_header_only_file_is_refused_with_the_gate_exit_code(
    spark: SparkSession, workspace_dir: Path
) -> None:
    header = gzip.decompress(universe_file(workspace_dir).read_bytes()).splitlines()[0]
    source = workspace_dir / "header.csv"
    source.write_bytes(header + b"\n")
    with pytest.raises(EmptyFileError, match="header.csv: the file has a header but no rows"):
        ingest.run(load_workspace(workspace_dir), spark, partner="acme", sources=[str(source)])
    assert exit_code_for(EmptyFileError(file="x", problem="y")) == EXIT_QUALITY_GATE
    assert published(workspace_dir) == []


def universe_lines(root: Path) -> list[str]:
    return gzip.decompress(universe_file(root).read_bytes()).decode().splitlines()


def test_a_file_name_with_glob_characters_is_read_literally(
    spark: SparkSession, workspace_dir: Path
) -> None:
    """Case 4: `universe[1].csv` was read as the glob `universe1.csv`, under its checksum."""
    header, *rows = universe_lines(workspace_dir)
    literal = workspace_dir / "drop" / "universe[1].csv"
    literal.parent.mkdir()
    literal.write_text("\n".join([header, *rows[:100]]) + "\n")
    (workspace_dir / "drop" / "universe1.csv").write_text("\n".join([header, *rows[100:]]) + "\n")
    result = ingest.run(
        load_workspace(workspace_dir), spark, partner="acme", sources=[str(literal)]
    )
    (batch,) = result.counts["batches"]
    assert batch["input_rows"] == 100


def test_quoted_newlines_in_a_csv_are_one_record(spark: SparkSession, workspace_dir: Path) -> None:
    header, *rows = universe_lines(workspace_dir)
    columns = header.split(",")
    cells = rows[0].split(",")
    cells[columns.index("gender")] = '"Fe\nmale"'  # quarantined for its value, as one row
    source = workspace_dir / "newline.csv"
    source.write_text("\n".join([header, ",".join(cells), *rows[1:200]]) + "\n")
    result = ingest.run(load_workspace(workspace_dir), spark, partner="acme", sources=[str(source)])
    (batch,) = result.counts["batches"]
    assert (batch["input_rows"], batch["quarantined_rows"]) == (200, 1)


@pytest.mark.parametrize(
    "option", ["mode", "columnNameOfCorruptRecord", "dropFieldIfAllNull", "pathGlobFilter"]
)
def test_reader_options_that_drop_rows_are_refused(
    workspace_dir: Path, edit_config: EditConfig, option: str
) -> None:
    """Case 3: `mode: DROPMALFORMED` made five malformed rows vanish while counts reconciled."""
    with pytest.raises(ConfigError) as caught:
        edit_config(
            workspace_dir,
            lambda config: config["partners"][0]["source"].update(options={option: "x"}),
        )
    assert f"partners[0].source.options: reader option {option!r}" in str(caught.value)
    with pytest.raises(ConfigError, match="seeds.source.options: reader option 'MODE'"):
        edit_config(
            workspace_dir, lambda config: config["seeds"]["source"].update(options={"MODE": "x"})
        )


def test_missing_s3_key_names_the_uri(s3_endpoint: str) -> None:
    boto3.client("s3").create_bucket(Bucket="drops-b")
    with pytest.raises(SourceError, match="s3://drops-b/nothing-here.csv: the object does not"):
        list_s3("s3://drops-b/nothing-here.csv")
    with pytest.raises(SourceError, match="s3://no-such-bucket/x.csv: the bucket does not exist"):
        list_s3("s3://no-such-bucket/x.csv")


def test_access_denied_is_one_sentence(s3_endpoint: str) -> None:
    client = boto3.client("s3")
    with Stubber(client) as stub:
        stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
        with pytest.raises(SourceError) as caught:
            list_s3("s3://locked/acme/", client)
    assert str(caught.value) == (
        "s3://locked/acme/: access denied: check the credentials and the bucket policy"
    )
    assert exit_code_for(caught.value) == EXIT_ERROR


def test_user_expectations_from_the_config_join_the_gate(
    spark: SparkSession, workspace_dir: Path, edit_config: EditConfig
) -> None:
    expectation = {
        "type": "expect_column_values_to_match_regex",
        "kwargs": {"column": "partner_id", "regex": "^NOPE"},
    }
    workspace = edit_config(
        workspace_dir,
        lambda config: config["partners"][0].update(quality={"expectations": [expectation]}),
    )
    with pytest.raises(QualityGateError, match="expect_column_values_to_match_regex"):
        ingest.run(workspace, spark, partner="acme")


def test_s3_fingerprint_identifies_an_object_without_downloading(s3_endpoint: str) -> None:
    from ingest.sources import SourceFile, s3_fingerprint

    client = boto3.client("s3")
    client.create_bucket(Bucket="drops-c")
    client.put_object(Bucket="drops-c", Key="acme/x.csv", Body=b"pid\nP1\n")
    fingerprint = s3_fingerprint(SourceFile("s3://drops-c/acme/x.csv", 7))
    assert fingerprint.startswith("etag:") and fingerprint.endswith(":7")
    with pytest.raises(SourceError, match="s3://drops-c/acme/y.csv: the object does not exist"):
        s3_fingerprint(SourceFile("s3://drops-c/acme/y.csv", 0))


def test_s3_staging_unpacks_while_it_downloads_parts_in_parallel(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import os

    from ingest import sources

    monkeypatch.setattr(sources, "TRANSFER_CHUNK_BYTES", 5 * 2**20)  # S3's smallest part
    plain = b"".join(os.urandom(2**20).hex().encode() + b"\n" for _ in range(8))
    delivered = tmp_path / "big.csv.gz"
    delivered.write_bytes(gzip.compress(plain, compresslevel=1))  # ~8 MiB: two parts
    boto3.client("s3").create_bucket(Bucket="drops-d")
    (uri,) = upload_files([delivered], "drops-d", "acme")
    (source,) = list_s3(uri)
    copy = sources.stage_s3_object(source, tmp_path / "staged")
    assert copy.path.name == "big.csv" and copy.path.read_bytes() == plain
    assert copy.sha256 == hashlib.sha256(delivered.read_bytes()).hexdigest()
    assert copy.etag.endswith("-2") and copy.size == delivered.stat().st_size

    delivered.write_bytes(delivered.read_bytes()[:-100])
    (cut,) = upload_files([delivered], "drops-d", "cut")
    with pytest.raises(SourceError, match="big.csv.gz: the gzip stream is truncated"):
        sources.stage_s3_object(list_s3(cut)[0], tmp_path / "again")


def split_universe(root: Path, folder: Path, parts: int) -> list[Path]:
    """The universe file as `parts` gzip CSV files of one delivery folder."""
    header, *rows = universe_lines(root)
    folder.mkdir(parents=True)
    size = -(-len(rows) // parts)
    files = []
    for number in range(parts):
        chunk = rows[number * size : (number + 1) * size]
        path = folder / f"part-{number}.csv.gz"
        path.write_bytes(gzip.compress(("\n".join([header, *chunk]) + "\n").encode()))
        files.append(path)
    return files


def test_a_delivery_is_published_whole_or_not_at_all(
    spark: SparkSession, workspace_dir: Path, cli: Cli
) -> None:
    """Case 1: the second of three files failed its gate; match ran on the first file alone,
    and after the fix the first file was skipped as a duplicate for good."""
    workspace = load_workspace(workspace_dir)
    prepare.run(workspace, spark, partner="acme")
    whole = ingest.run(workspace, spark, partner="acme")
    expected = match.run(workspace, spark, partner="acme").counts["acme"]["resolved"]
    assert expected > 0

    delivery = workspace_dir / "delivery-2"
    files = split_universe(workspace_dir, delivery, 3)
    good_second = files[1].read_bytes()
    with_bad_rows(universe_file(workspace_dir), files[1], every=5, column="gender", value="Robot")
    with pytest.raises(QualityGateError):
        ingest.run(workspace, spark, partner="acme", sources=[str(delivery)])
    statuses = [b.status for b in Ledger(workspace.ledger_path).latest_delivery("acme")]
    assert statuses == ["unpublished", "failed"]  # the third was never reached
    listed = cli("batches", "--workspace", str(workspace_dir), "--json").json()["deliveries"]
    assert [(d["status"], d["current"], len(d["files"])) for d in listed] == [
        ("failed", False, 2),
        ("published", True, 1),
    ]
    assert listed[0]["files"][1]["counts"]["quarantined_rows"] > 0  # a failed batch keeps counts
    with pytest.raises(PartialDeliveryError, match="part-1.csv.gz failed: .*quality gate") as no:
        match.run(workspace, spark, partner="acme")
    assert exit_code_for(no.value) == EXIT_QUALITY_GATE
    assert "the previous delivery is still current" in str(no.value)
    assert published(workspace_dir) == [f"batch_id={whole.counts['batches'][0]['batch_id']}"]

    files[1].write_bytes(good_second)
    fixed = ingest.run(workspace, spark, partner="acme", sources=[str(delivery)])
    assert [b["status"] for b in fixed.counts["batches"]] == ["loaded"] * 3
    assert match.run(workspace, spark, partner="acme").counts["acme"]["resolved"] == expected
    current = current_folders(workspace_dir)

    # Delivered again: every file is a duplicate of a published one; the delivery they form
    # is the same folders (so match reads exactly what it just matched).
    again = ingest.run(workspace, spark, partner="acme", sources=[str(delivery)])
    assert [b["status"] for b in again.counts["batches"]] == ["duplicate"] * 3
    assert [b.status for b in Ledger(workspace.ledger_path).latest_delivery("acme")] == [
        "duplicate"
    ] * 3
    assert current_folders(workspace_dir) == current
    # Case: a duplicate file showed "input 0" as if it had been read and found empty.
    shown = cli("batches", "--workspace", str(workspace_dir), "--limit", "1").stderr
    [row] = [line for line in shown.splitlines() if "duplicate of" in line][:1]
    assert [cell.strip() for cell in row.split("│")][7:10] == ["-", "-", "-"]


def test_an_id_in_two_files_of_one_full_delivery_is_quarantined_in_the_later(
    spark: SparkSession, workspace_dir: Path
) -> None:
    """A person delivered in two files of one full delivery was accepted twice: the universe
    held two records for one partner ID. Now every row of the later file repeating it is
    quarantined (here two, so no first one is kept there)."""
    workspace = load_workspace(workspace_dir)
    delivery = workspace_dir / "delivery-2"
    first, second = split_universe(workspace_dir, delivery, 2)
    header, row, *_ = gzip.decompress(first.read_bytes()).decode().splitlines()
    lines = gzip.decompress(second.read_bytes()).decode().splitlines()
    second.write_bytes(gzip.compress(("\n".join([*lines, row, row]) + "\n").encode()))
    done = ingest.run(workspace, spark, partner="acme", sources=[str(delivery)])
    before, after = done.counts["batches"]
    assert (before["quarantined_rows"], after["quarantined_rows"]) == (0, 2)
    assert after["quarantined_by_reason"] == {"duplicate_partner_id": 2}
    assert after["input_rows"] == after["accepted_rows"] + 2 == len(lines) + 1
    universe = current_universe(workspace, spark, "acme")
    assert universe.count() == universe.select("partner_id").distinct().count()
    partner_id = row.split(",")[header.split(",").index("person_id")]
    batches = universe.where(F.col("partner_id") == partner_id).select("batch_id").collect()
    assert [r["batch_id"] for r in batches] == [before["batch_id"]]  # the first file's record


def ingest_alone(spark: SparkSession, root: Path, file: Path) -> JobResult:
    """A copy of `file` ingested as a delivery of its own (in `delivery-1`)."""
    alone = root / "delivery-1"
    alone.mkdir()
    shutil.copy(file, alone / file.name)
    return ingest.run(load_workspace(root), spark, partner="acme", sources=[str(alone)])


def test_a_reused_file_repeating_an_earlier_files_id_is_checked_again(
    spark: SparkSession, workspace_dir: Path
) -> None:
    """A file loaded by an earlier delivery was taken as is (same bytes) even when an earlier
    file of the new full delivery delivered one of its IDs: two records for one person. Now
    such a file is checked again and the repeating row quarantined."""
    workspace = load_workspace(workspace_dir)
    delivery = workspace_dir / "delivery-2"
    first, second = split_universe(workspace_dir, delivery, 2)
    loaded = ingest_alone(spark, workspace_dir, second)
    header, *lines = gzip.decompress(first.read_bytes()).decode().splitlines()
    repeated = gzip.decompress(second.read_bytes()).decode().splitlines()[1]
    first.write_bytes(gzip.compress(("\n".join([header, *lines, repeated]) + "\n").encode()))
    done = ingest.run(workspace, spark, partner="acme", sources=[str(delivery)])
    before, after = done.counts["batches"]
    assert after["status"] == "loaded"
    assert after["batch_id"] != loaded.counts["batches"][0]["batch_id"]
    assert after["quarantined_by_reason"] == {"duplicate_partner_id": 1}
    universe = current_universe(workspace, spark, "acme")
    assert universe.count() == universe.select("partner_id").distinct().count()
    assert universe.count() == before["accepted_rows"] + after["accepted_rows"]


def test_a_reused_file_without_an_earlier_files_id_is_still_taken_as_is(
    spark: SparkSession, workspace_dir: Path
) -> None:
    """The guard above checks a reused file again only when an ID repeats."""
    workspace = load_workspace(workspace_dir)
    delivery = workspace_dir / "delivery-2"
    _, second = split_universe(workspace_dir, delivery, 2)
    loaded = ingest_alone(spark, workspace_dir, second)
    done = ingest.run(workspace, spark, partner="acme", sources=[str(delivery)])
    assert done.counts["batches"][1]["status"] == "duplicate"
    assert done.counts["batches"][1]["duplicate_of"] == loaded.counts["batches"][0]["batch_id"]


def one_line(text: str) -> str:
    """The one line an error is printed as: never wrapped into a pipe or a log."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_header_only_file_exits_with_the_gate_code_from_the_command(
    workspace_dir: Path, cli: Cli, suffix: str
) -> None:
    """Case 5: a header-only partner file exited 1 where the README promises 4."""
    header = universe_lines(workspace_dir)[0].encode() + b"\n"
    source = workspace_dir / f"header{suffix}"
    source.write_bytes(gzip.compress(header) if suffix == ".csv.gz" else header)
    done = cli("ingest", "--partner", "acme", str(source), "--workspace", str(workspace_dir))
    assert done.code == EXIT_QUALITY_GATE, done.stderr
    assert f"{source.name}: the file has a header but no rows" in one_line(done.stderr)


def test_an_empty_gzip_names_the_delivered_file(workspace_dir: Path, cli: Cli) -> None:
    """Case 5: an empty gzip named an internal staging path instead of the delivered file."""
    source = workspace_dir / "empty.csv.gz"
    source.write_bytes(gzip.compress(b""))
    done = cli("ingest", "--partner", "acme", str(source), "--workspace", str(workspace_dir))
    assert done.code == EXIT_QUALITY_GATE, done.stderr
    message = one_line(done.stderr)
    assert f"{source}: the file is empty" in message and ".staging" not in message


def test_a_utf16_file_is_named_as_such_not_read_as_garbage(workspace_dir: Path, cli: Cli) -> None:
    """Case 5: a UTF-16 file gave "missing mapped columns" with NUL bytes echoed back."""
    source = workspace_dir / "utf16.csv"
    source.write_bytes("\n".join(universe_lines(workspace_dir)[:5]).encode("utf-16"))
    done = cli("ingest", "--partner", "acme", str(source), "--workspace", str(workspace_dir))
    assert done.code == EXIT_QUALITY_GATE, done.stderr
    message = one_line(done.stderr)
    assert "\x00" not in done.stderr
    assert f"{source.name}: the file is UTF-16 (it starts with a byte-order mark)" in message


@pytest.mark.parametrize("repeated", ["email1", "EMAIL1"])
def test_repeated_header_names_are_named(workspace_dir: Path, cli: Cli, repeated: str) -> None:
    """Case 5: duplicate or case-colliding header names gave "Spark could not read the file"."""
    header, *rows = universe_lines(workspace_dir)[:5]
    source = workspace_dir / "repeated.csv"
    cells = header.split(",")
    source.write_text("\n".join([",".join([*cells, repeated]), *(r + ",x" for r in rows)]) + "\n")
    done = cli("ingest", "--partner", "acme", str(source), "--workspace", str(workspace_dir))
    assert done.code == EXIT_QUALITY_GATE, done.stderr
    assert f"{source.name}: the header repeats the column email1" in one_line(done.stderr)


def test_the_gate_modules_are_imported_beside_the_job_in_a_fresh_process(tmp_path: Path) -> None:
    """The early import swallows its errors (the gate reports them): a wrong module name would
    quietly put the ~3 s import back on the gate's path. A script file, as the CLI is: under
    `python -c`, pyspark's connect module takes itself for a doctest run and exits."""
    child = tmp_path / "child.py"
    child.write_text(
        "import sys\n"
        "from ingest.quality import GATE_MODULES, import_gate_modules_beside\n"
        "assert 'great_expectations' not in sys.modules\n"
        "import_gate_modules_beside().join()\n"
        "print([m for m in GATE_MODULES if m not in sys.modules])\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(child)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr[-2000:]
