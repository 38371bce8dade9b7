"""Nothing leaked: commands that fail inside Spark, run as fresh processes, print no customer's
email or phone, and leave none in any file outside the warehouse, the exports and the input.

Spark's own error text quotes values; what reaches the terminal is one sentence and what
reaches the workspace's Spark log is scrubbed.
"""

from __future__ import annotations

import csv
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


@pytest.fixture(scope="module")
def failed_runs(
    enriched_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, subprocess.CompletedProcess[str]]]:
    """`partnerkit segment` for each bad segment, in fresh processes run side by side."""
    root = copy_workspace(enriched_workspace, tmp_path_factory.mktemp("leaks") / "ws")

    def bad_segments(config: dict) -> None:
        config["segments"] += [{"name": n, "predicate": p} for n, p in SEGMENTS.items()]

    edit_workspace_config(root, bad_segments)
    processes = {
        name: subprocess.Popen(
            [PARTNERKIT, "segment", "--workspace", str(root), "--name", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in SEGMENTS
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


def test_no_email_or_phone_is_printed_or_written_outside_the_warehouse(failed_runs) -> None:
    root, done = failed_runs
    secrets = plaintexts(root)
    assert len(secrets) > 100
    printed = "".join(run.stdout + run.stderr for run in done.values())
    assert sorted(s for s in secrets if s in printed) == []
    for path in files_outside_plaintext_folders(root):
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert sorted(s for s in secrets if s in text) == [], path
