"""Match-rate history, delivery monitoring and drift: recorded per run, listed, charted."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from jobs.cli.exit_codes import EXIT_DRIFT
from jobs.config import MonitoringSettings
from jobs.history import delivery_drift, match_drift
from tests.conftest import Cli, EditConfig, acme_only, copy_workspace
from tests.e2e.test_leaks import leaks


def point(rate: float, **by_identifier: float) -> dict[str, Any]:
    return {"rate": rate, "by_identifier": by_identifier}


def test_a_rate_that_fell_more_than_allowed_is_named() -> None:
    settings = MonitoringSettings(max_rate_drop=0.05)
    before = point(0.60, email_sha256=0.50, phone_sha256=0.40)
    assert match_drift(before, point(0.57, email_sha256=0.48, phone_sha256=0.39), settings) == []
    warnings = match_drift(before, point(0.58, email_sha256=0.41, phone_sha256=0.40), settings)
    assert warnings == ["email_sha256 match rate fell from 50.00% to 41.00% (more than 5% points)"]
    assert match_drift(None, point(0.1), settings) == []  # a first run has nothing to compare
    assert match_drift(before, point(0.1), MonitoringSettings(max_rate_drop=None)) == []


def test_a_quarantined_share_that_rose_more_than_allowed_is_named() -> None:
    settings = MonitoringSettings(max_quarantine_rise=0.02)
    assert delivery_drift({"quarantined_share": 0.01}, {"quarantined_share": 0.025}, settings) == []
    (warning,) = delivery_drift({"quarantined_share": 0.01}, {"quarantined_share": 0.04}, settings)
    assert warning.startswith("the quarantined share rose from 1.00% to 4.00%")


@pytest.fixture
def workspace_dir(generated_workspace: Path, tmp_path: Path, edit_config: EditConfig) -> Path:
    root = copy_workspace(generated_workspace, tmp_path / "ws")
    edit_config(root, acme_only)
    return root


def universe_lines(root: Path) -> tuple[str, list[str]]:
    (part,) = sorted((root / "data/partners/acme").glob("*.csv.gz"))
    header, *rows = gzip.decompress(part.read_bytes()).decode().splitlines()
    return header, rows


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode()))
    return path


def test_history_follows_match_rates_and_deliveries_and_drift_exits_6(
    workspace_dir: Path, cli: Cli
) -> None:
    ws = ("--workspace", str(workspace_dir))
    ingested = cli("ingest", *ws, "--partner", "acme")
    assert ingested.code == 0, ingested.stderr
    assert "great_expectations" not in ingested.stderr  # no library INFO lines without --debug
    first = cli("match", *ws, "--prepare", "--json")
    assert first.code == 0, first.stderr
    assert "new" not in first.json()["counts"]["acme"]  # nothing to compare the first run with

    # A delta deleting half the universe: the match rate falls far more than 5 points.
    header, rows = universe_lines(workspace_dir)
    empty = "," * header.count(",")
    deletes = [row.split(",", 1)[0] + empty + ",delete" for row in rows[: len(rows) // 2]]
    delta = write(workspace_dir / "delta.csv.gz", header + ",operation", deletes)
    assert cli("ingest", *ws, "--partner", "acme", "--kind", "delta", str(delta)).code == 0
    second = cli("match", *ws, "--json")
    assert second.code == EXIT_DRIFT, second.stderr
    stats = second.json()["counts"]["acme"]  # the results were kept and printed all the same
    assert stats["lost"] > 0 and stats["new"] == 0
    assert any("match rate fell from" in line for line in stats["drift"])
    assert "Warning: partner acme:" in " ".join(second.stderr.split())

    # A full delivery with 4% of its rows broken: under the gate's 5%, but 4 points above the
    # previous deliveries' share: published, and exit 6.
    broken = [row.replace(",", ",x", 1) if i % 25 == 0 else row for i, row in enumerate(rows)]
    redelivered = write(workspace_dir / "full-2.csv.gz", header, broken)
    third = cli("ingest", *ws, "--partner", "acme", "--kind", "full", str(redelivered), "--json")
    assert third.code == EXIT_DRIFT, third.stderr
    assert third.json()["counts"]["drift"][0].startswith("the quarantined share rose from")

    listed = cli("history", *ws, "--json").json()
    assert [m["rate"] > 0 for m in listed["matches"]] == [True, True]
    assert listed["matches"][1]["lost"] == stats["lost"]
    assert [d["kind"] for d in listed["deliveries"]] == ["full", "delta", "full"]
    last = listed["deliveries"][-1]
    assert last["quarantined_by_reason"] == {"hash_form": last["quarantined_rows"]}
    assert last["gate"] == {"passed": 1, "failed": 0} and last["data_docs"]
    page = Path(listed["report"]).read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "<script" not in page and "http" not in page
    printed = "".join(r.stdout + r.stderr for r in (first, second, third))
    assert leaks(workspace_dir, printed, also=(Path(listed["report"]),)) == []
