"""Row checks on real files: every bad input ends in a named error or quarantined rows."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.errors import EmptyFileError, MissingColumnsError, SourceError
from ingest.partner_files import (
    HELD,
    POSITION,
    REASONS,
    ROUTE,
    ROUTE_ACCEPTED,
    ROUTE_HELD,
    FileMapping,
    IdentifierSpec,
    accepted_of_held,
    check_rows,
    duplicate_positions,
    held_duplicates,
    judged_held,
    quarantined_held,
    read_rows,
    repeated_partner_ids,
    require_mapped_columns,
    routed_rows,
    with_duplicates,
)
from ingest.readers import local_files_have_quotes, reader_options
from ingest.sources import read_delivery

MAPPING = FileMapping(
    partner_id="pid",
    identifiers=(IdentifierSpec("email1", "email"),),
    hash_type="sha256",
    encoding="hex",
    attributes={"gender": "demographic"},
    allowed_values={"gender": ("Female", "Male", "Unknown")},
    confidence="conf",
)
HEADER = "pid,email1,gender,conf"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write(tmp_path: Path, content: bytes, name: str = "part.csv") -> str:
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    return str(path)


def judged(spark: SparkSession, path: str) -> dict[int, list[str]]:
    """Reasons per row position, after every row check and the duplicate check."""
    rows = read_rows(spark, path, file_format="csv")
    require_mapped_columns(rows, MAPPING, file=path)
    checked = check_rows(rows, MAPPING).cache()
    final = with_duplicates(checked, duplicate_positions(checked, MAPPING.partner_id))
    return {r[POSITION]: sorted(r[REASONS]) for r in final.collect()}


def split(
    spark: SparkSession, path: str, mapping: FileMapping = MAPPING
) -> tuple[DataFrame, DataFrame]:
    """Accepted and quarantined rows as the ingest job makes them: routed in one pass, the
    held rows judged again (here in memory; the job writes each step)."""
    rows = read_rows(spark, path, file_format="csv")
    repeated = repeated_partner_ids(rows, mapping.partner_id)
    checked = check_rows(rows, mapping)
    routed = routed_rows(checked, repeated, mapping, batch_id="b", workflow_id="w").cache()
    held = routed.where(F.col(ROUTE) == ROUTE_HELD)
    judged = judged_held(held, held_duplicates(held, mapping.partner_id))
    accepted = routed.where(F.col(ROUTE) == ROUTE_ACCEPTED).drop(ROUTE)
    accepted = accepted.unionByName(accepted_of_held(judged))
    quarantined = quarantined_held(judged, batch_id="b", source_uri=path, workflow_id="w")
    return accepted, quarantined


def good_row(pid: str, email: str = "a@example.com", gender: str = "Female") -> str:
    return f"{pid},{sha(email)},{gender},0.9"


def test_clean_file_with_bom_and_crlf_is_accepted_whole(
    spark: SparkSession, tmp_path: Path
) -> None:
    text = "\ufeff" + "\r\n".join([HEADER, good_row("P1"), good_row("P2", "b@example.com")])
    path = write(tmp_path, (text + "\r\n").encode(), "part.csv.gz")
    rows = read_rows(spark, path, file_format="csv")
    assert rows.columns[:4] == ["pid", "email1", "gender", "conf"]  # BOM gone
    accepted, _ = split(spark, path)
    got = sorted((r.partner_id, r.gender, r.confidence) for r in accepted.collect())
    assert got == [("P1", "Female", 0.9), ("P2", "Female", 0.9)]  # no stray \r


def test_empty_file_is_a_named_error(spark: SparkSession, tmp_path: Path) -> None:
    path = write(tmp_path, b"")
    with pytest.raises(EmptyFileError, match="part.csv: the file is empty"):
        read_rows(spark, path, file_format="csv")


def test_header_only_reads_zero_rows(spark: SparkSession, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n".encode())
    assert read_rows(spark, path, file_format="csv").count() == 0


def test_missing_columns_are_listed_together(spark: SparkSession, tmp_path: Path) -> None:
    path = write(tmp_path, b"pid,other\nP1,x\n")
    rows = read_rows(spark, path, file_format="csv")
    with pytest.raises(MissingColumnsError) as caught:
        require_mapped_columns(rows, MAPPING, file=path)
    assert caught.value.missing == ["conf", "email1", "gender"]
    assert "part.csv" in str(caught.value)


def test_wrong_delimiter_hints_at_the_delimiter(spark: SparkSession, tmp_path: Path) -> None:
    semicolons = f"{HEADER}\n{good_row('P1')}\n".replace(",", ";")
    path = write(tmp_path, semicolons.encode())
    rows = read_rows(spark, path, file_format="csv")
    with pytest.raises(MissingColumnsError, match="check the delimiter"):
        require_mapped_columns(rows, MAPPING, file=path)


def test_unmapped_columns_are_reported_and_ignored(spark: SparkSession, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER},extra\n{good_row('P1')},x\n".encode())
    rows = read_rows(spark, path, file_format="csv")
    assert require_mapped_columns(rows, MAPPING, file=path) == ["extra"]


def test_each_bad_row_is_quarantined_with_its_reasons(spark: SparkSession, tmp_path: Path) -> None:
    lines = [
        HEADER,
        good_row("P1"),  # 0 accepted
        good_row("P1", "other@example.com"),  # 1 duplicate of row 0
        f"P3,{sha('c@example.com')[:40]},Male,0.5",  # 2 wrong hash length
        good_row("P4", gender="Robot"),  # 3 outside the value set
        f",{sha('d@example.com')},Male,0.5",  # 4 no partner_id
        f"P6,{sha('e@example.com')},Male",  # 5 too few fields
        f"P7,{sha('f@example.com')},Male,0.5,surplus",  # 6 too many fields
        good_row("P8").replace("0.9", "high"),  # 7 confidence not a number
        f"P9,{'f' * 10_000_000},Male,0.5",  # 8 a 10 MB field
    ]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    reasons = list(judged(spark, path).values())
    assert reasons == [
        [],
        ["duplicate_partner_id"],
        ["hash_form:email1"],
        ["value_not_allowed:gender"],
        ["partner_id_missing"],
        ["malformed_row"],
        ["malformed_row"],
        ["confidence_not_number"],
        ["hash_form:email1"],
    ]


def test_one_pass_split_agrees_with_judging_every_row(spark: SparkSession, tmp_path: Path) -> None:
    """Routing rows in one pass (held back: failed checks and repeated IDs) ends where the
    judgement of the whole file does: the same rows accepted, the same reasons quarantined."""
    lines = [
        HEADER,
        f"P1,{sha('a@example.com')[:40]},Male,0.5",  # 0 fails a check: not the first P1
        good_row("P1"),  # 1 the first clean P1: accepted
        good_row("P1", "b@example.com"),  # 2 duplicate of row 1
        good_row("P2", gender="Robot"),  # 3 outside the value set
        good_row("P3"),  # 4 accepted straight away
        good_row("P4"),  # 5 a repeated ID whose other row fails: accepted
        f"P4,{sha('c@example.com')},Male",  # 6 too few fields
    ]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    expected = judged(spark, path)
    accepted, quarantined = split(spark, path)
    assert sorted(r.partner_id for r in accepted.collect()) == ["P1", "P3", "P4"]
    assert accepted.where(F.col(HELD).isNotNull()).count() == 0
    held = {r.row_position: sorted(r.reasons) for r in quarantined.collect()}
    assert held == {position: reasons for position, reasons in expected.items() if reasons}
    assert sorted(held.values()) == sorted(
        [["hash_form:email1"], ["duplicate_partner_id"], ["value_not_allowed:gender"]]
        + [["malformed_row"]]
    )


def test_only_repeated_ids_and_failed_rows_are_held(spark: SparkSession, tmp_path: Path) -> None:
    lines = [HEADER, good_row("P1"), good_row("P2"), good_row("P2"), good_row("P3", gender="X")]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    rows = read_rows(spark, path, file_format="csv")
    repeated = repeated_partner_ids(rows, MAPPING.partner_id)
    assert [r[0] for r in repeated.collect()] == ["P2"]
    routed = routed_rows(
        check_rows(rows, MAPPING), repeated, MAPPING, batch_id="b", workflow_id="w"
    )
    routes = sorted((r.partner_id, r[ROUTE]) for r in routed.collect())
    assert routes == [("P1", "accepted"), ("P2", "held"), ("P2", "held"), ("P3", "held")]


def test_a_renamed_column_is_read_and_its_values_recoded_to_the_catalog(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The partner's "Sex" column holds gender as "F"/"M": read and recoded before the value
    set is checked; a value the recoding does not name is still quarantined as delivered."""
    mapping = FileMapping(
        **{**MAPPING.__dict__, "sources": {"gender": "Sex"}, "recode": {"gender": {"F": "Female"}}}
    )
    lines = ["pid,email1,Sex,conf", good_row("P1", gender="F"), good_row("P2", gender="Robot")]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    rows = read_rows(spark, path, file_format="csv")
    assert require_mapped_columns(rows, mapping, file=path) == []
    accepted, quarantined = split(spark, path, mapping)
    assert [(r.partner_id, r.gender) for r in accepted.collect()] == [("P1", "Female")]
    [rejected] = quarantined.collect()
    assert rejected[REASONS] == ["value_not_allowed:gender"]


def test_invalid_utf8_and_nul_bytes_are_quarantined(spark: SparkSession, tmp_path: Path) -> None:
    content = (
        f"{HEADER}\n".encode()
        + good_row("P1").encode()
        + b"\n"
        + good_row("P2", gender="FemXale").encode().replace(b"X", b"\xff")
        + b"\n"
        + b"P3,"
        + sha("x@example.com").encode()
        + b",Ma\x00le,0.5\n"
    )
    path = write(tmp_path, content)
    reasons = list(judged(spark, path).values())
    assert reasons[0] == []
    assert "invalid_utf8" in reasons[1]
    assert "nul_byte" in reasons[2]


def test_unbalanced_quote_loses_no_row(spark: SparkSession, tmp_path: Path) -> None:
    lines = [HEADER, good_row("P1"), f'P2,"{sha("b@example.com")},Male,0.5', good_row("P3")]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    rows = read_rows(spark, path, file_format="csv")
    accepted_rows, rejected = split(spark, path)
    accepted = accepted_rows.count()
    kept = rejected.collect()
    # Every record Spark parsed is either accepted or quarantined with its raw text.
    assert accepted + len(kept) == rows.count()
    assert all(r.reasons for r in kept) and accepted >= 1


def test_quarantine_keeps_every_original_value(spark: SparkSession, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n{good_row('P1', gender='Robot')}\n".encode())
    (row,) = split(spark, path)[1].collect()
    assert row.original["gender"] == "Robot" and row.original["pid"] == "P1"
    assert row.reasons == ["value_not_allowed:gender"] and row.batch_id == "b"


def test_jsonl_bad_line_is_a_malformed_row(spark: SparkSession, tmp_path: Path) -> None:
    good = f'{{"pid": "P1", "email1": "{sha("a@example.com")}", "gender": "Male", "conf": 0.5}}'
    path = write(tmp_path, f"{good}\n{{not json\n".encode(), "part.jsonl")
    rows = read_rows(spark, path, file_format="jsonl")
    require_mapped_columns(rows, MAPPING, file=path)
    reasons = sorted(tuple(r[REASONS]) for r in check_rows(rows, MAPPING).collect())
    assert reasons == [(), ("malformed_row",)]


def test_hash_form_tolerates_case_and_0x_but_not_foreign_characters(
    spark: SparkSession, tmp_path: Path
) -> None:
    digest = sha("a@example.com")
    lines = [HEADER, f"P1,0X{digest.upper()},Male,0.5", f"P2,{digest[:-1]}g,Male,0.5"]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    assert list(judged(spark, path).values()) == [[], ["hash_form:email1"]]


def csv(given: dict[str, str] | None = None, *, has_quotes: bool | None) -> dict[str, str]:
    return reader_options(given or {}, file_format="csv", has_quotes=has_quotes)


def test_a_file_without_quotes_is_read_split_and_one_with_quotes_record_by_record(
    tmp_path: Path,
) -> None:
    """multiLine keeps a quoted newline in one record but stops Spark splitting the file, so
    it is turned off only for a copy the staging pass saw no quote in."""
    plain, quoted = tmp_path / "plain.csv.gz", tmp_path / "quoted.csv.gz"
    plain.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    quoted.write_bytes(gzip.compress(b'a,b\n1,"x\ny"\n'))
    seen = {
        path.name: read_delivery(
            path, uri=str(path), unpack_to=tmp_path / "out" / path.name
        ).has_quotes
        for path in (plain, quoted)
    }
    assert seen == {"plain.csv.gz": False, "quoted.csv.gz": True}
    assert read_delivery(plain, uri=str(plain), unpack_to=None).has_quotes is None  # unread
    assert csv(has_quotes=False) == {"multiLine": "false"}
    assert csv(has_quotes=True) == {} == csv(has_quotes=None)
    assert csv({"quote": "'"}, has_quotes=False) == {"quote": "'"}
    assert reader_options({}, file_format="json", has_quotes=False) == {}


def test_local_seed_files_are_scanned_for_quotes(tmp_path: Path) -> None:
    (tmp_path / "plain.csv").write_text("a,b\n1,2\n")
    (tmp_path / "quoted.csv.gz").write_bytes(gzip.compress(b'a,b\n1,"2"\n'))
    assert local_files_have_quotes(str(tmp_path / "plain.csv")) is False
    assert local_files_have_quotes(str(tmp_path)) is True  # the folder holds a quoted file
    assert local_files_have_quotes(str(tmp_path / "*.csv")) is None


def test_staging_gunzips_every_member_and_names_a_damaged_stream(tmp_path: Path) -> None:
    """The staged copy holds every gzip member's rows; damaged deflate data is a sentence
    naming the file, not the inflate library's exception."""
    two = tmp_path / "two.csv.gz"
    two.write_bytes(gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n"))
    copy = read_delivery(two, uri="s3://p/two.csv.gz", unpack_to=tmp_path / "out")
    assert copy.path.read_bytes() == b"a,b\n1,2\n3,4\n"
    assert copy.sha256 == hashlib.sha256(two.read_bytes()).hexdigest()
    damaged = tmp_path / "damaged.csv.gz"
    body = bytearray(gzip.compress(b"a,b\n" + b"1,2\n" * 1000))
    body[12:20] = b"\xff" * 8  # inside the first deflate block
    damaged.write_bytes(bytes(body))
    with pytest.raises(SourceError, match=r"^s3://p/damaged.csv.gz: the gzip stream is corrupt"):
        read_delivery(damaged, uri="s3://p/damaged.csv.gz", unpack_to=tmp_path / "out2")


def test_a_copy_that_cannot_be_written_fails_the_staging(tmp_path: Path) -> None:
    """The copy is written on a thread of its own: a full disk there still fails the pass."""
    delivered = tmp_path / "big.csv.gz"
    delivered.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 4_000_000))
    unpack = tmp_path / "out"
    unpack.mkdir()
    (unpack / "big.csv").symlink_to("/dev/full")  # every write: "No space left on device"
    with pytest.raises(OSError, match="No space left"):
        read_delivery(delivered, uri="s3://p/big.csv.gz", unpack_to=unpack)


def test_an_id_repeated_with_spaces_around_it_is_a_duplicate(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Case: `P1` and ` P1 ` were two delivered IDs, so both rows were accepted, and the
    partner table, which stores IDs trimmed, held P1 twice."""
    lines = [HEADER, good_row("P1"), good_row(" P1 ", "b@example.com"), good_row("P2 ")]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    accepted, quarantined = split(spark, path)
    assert sorted(r.partner_id for r in accepted.collect()) == ["P1", "P2"]
    assert [(r.row_position, r.reasons) for r in quarantined.collect()] == [
        (1, ["duplicate_partner_id"])
    ]
    assert judged(spark, path) == {0: [], 1: ["duplicate_partner_id"], 2: []}
