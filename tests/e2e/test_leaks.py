"""Nothing leaked: commands that fail inside Spark, run as fresh processes, print no customer's
email or phone, and leave none in any file outside the warehouse, the exports and the input.

Spark's own error text quotes values; what reaches the terminal is one sentence and what
reaches the workspace's Spark log is scrubbed.
"""

from __future__ import annotations

import csv
import gzip
import re
import subprocess
from pathlib import Path

import pytest

from jobs.runtime.logs import LOG_FILE
from tests.conftest import copy_workspace, edit_workspace_config
from tests.e2e.test_demo_cli import PARTNERKIT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Folders that hold plaintext by design: the delivered and generated input files, the
# warehouse (Parquet), and exports a user asked for.
PLAINTEXT_BY_DESIGN = ("data", "warehouse", "exports")
SEGMENTS = {
    # Case 1: a predicate Spark would have failed to cast, quoting every email it tried.
    "email_as_number": "personalEmail.address = 1",
    # Passes every check and still fails inside Spark (a date that does not exist).
    "impossible_date": "loyalty.joinDate > '2024-13-45'",
}


def plaintexts(root: Path) -> set[str]:
    """The seed set's emails and phones as delivered and as normalized."""
    found: set[str] = set()
    with (root / "data" / "seeds.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            email, phone = (row.get("email") or "").strip(), (row.get("phone") or "").strip()
            if "@" in email:
                found |= {email, email.lower()}
            digits = re.sub(r"\D", "", phone)
            if len(digits) >= 7:
                found |= {phone, digits, digits[-10:]}
    return found


def files_outside_plaintext_folders(root: Path) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] not in PLAINTEXT_BY_DESIGN
    ]


def leaks(root: Path, printed: str, *, also: tuple[Path, ...] = ()) -> list[str]:
    """Every seed email or phone found in `printed`, in a file of the workspace outside the
    folders that hold plaintext by design, or in the files `also` (gzip decoded)."""
    secrets = plaintexts(root)
    found = [f"printed: {s}" for s in sorted(secrets) if s in printed]
    for path in [*files_outside_plaintext_folders(root), *(p for p in also if p.is_file())]:
        data = path.read_bytes()
        data = gzip.decompress(data) if path.suffix == ".gz" else data
        text = data.decode("utf-8", errors="replace")
        found += [f"{path}: {s}" for s in sorted(secrets) if s in text]
    return found


def plaintext_delivery(root: Path) -> Path:
    """A partner file whose hashed email column holds the seed set's emails in plaintext."""
    (source,) = sorted((root / "data/partners/acme").glob("*.csv.gz"))
    header, *rows = gzip.decompress(source.read_bytes()).decode().splitlines()
    column = header.split(",").index("email1")
    emails = sorted(s for s in plaintexts(root) if "@" in s)
    lines = [header]
    for row, email in zip(rows, emails, strict=False):
        cells = row.split(",")
        cells[column] = email
        lines.append(",".join(cells))
    target = root / "data" / "plaintext.csv.gz"  # delivered input: plaintext by design
    target.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return target


@pytest.fixture(scope="module")
def failed_runs(
    enriched_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, subprocess.CompletedProcess[str]]]:
    """`partnerkit segment` for each bad segment, in fresh processes run side by side."""
    root = copy_workspace(enriched_workspace, tmp_path_factory.mktemp("leaks") / "ws")

    def bad_segments(config: dict) -> None:
        config["segments"] += [{"name": n, "predicate": p} for n, p in SEGMENTS.items()]

    edit_workspace_config(root, bad_segments)
    commands = {name: ["segment", "--name", name] for name in SEGMENTS}
    commands["plaintext_delivery"] = ["ingest", "--partner", "acme", str(plaintext_delivery(root))]
    processes = {
        name: subprocess.Popen(
            [PARTNERKIT, *command, "--workspace", str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, command in commands.items()
    }
    done = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=600)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return root, done


def test_a_mistyped_predicate_is_refused_before_spark_runs(failed_runs) -> None:
    root, done = failed_runs
    run = done["email_as_number"]
    assert run.returncode == 2, run.stderr
    message = " ".join(run.stderr.split())  # the terminal wraps long lines
    assert "personalEmail.address is a string; it cannot be compared with 1" in message


def test_a_failure_inside_spark_is_one_sentence_and_a_scrubbed_log(failed_runs) -> None:
    root, done = failed_runs
    run = done["impossible_date"]
    assert run.returncode == 1, run.stderr
    log = root / LOG_FILE
    lines = [line for line in run.stderr.splitlines() if "incubator modules" not in line]
    assert " ".join(" ".join(lines).split()) == (
        f"Error: Spark could not run the command (CAST_INVALID_INPUT); the details are in {log}"
    )
    assert "CAST_INVALID_INPUT" in log.read_text(encoding="utf-8")


def test_a_delivery_in_the_wrong_hash_form_is_refused_without_quoting_it(failed_runs) -> None:
    root, done = failed_runs
    run = done["plaintext_delivery"]
    assert run.returncode == 4, run.stderr
    assert "column 'email1' was declared sha256" in " ".join(run.stderr.split())


def test_no_email_or_phone_is_printed_or_written_outside_the_warehouse(failed_runs) -> None:
    root, done = failed_runs
    assert len(plaintexts(root)) > 100
    assert leaks(root, "".join(run.stdout + run.stderr for run in done.values())) == []
