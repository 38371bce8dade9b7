"""End to end: the installed `partnerkit` command run as a user runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PARTNERKIT = shutil.which("partnerkit", path=str(Path(sys.executable).parent)) or "partnerkit"


def partnerkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PARTNERKIT, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env or dict(os.environ),
        check=False,
    )


@pytest.mark.slow
def test_demo_generates_workspace_and_records_the_run(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    done = partnerkit("demo", "--workspace", str(workspace), "--seeds", "300",
                      "--universe", "1200", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    (generated,) = [r for r in document["results"] if r["job"] == "generate"]
    assert generated["counts"]["seeds"] == 300
    assert (workspace / "partnerkit.yaml").is_file()
    assert (workspace / "data" / "seeds.csv").is_file()
    assert list((workspace / "data" / "partners" / "acme").glob("universe-*.csv.gz"))

    listed = partnerkit("runs", "--workspace", str(workspace), "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["job"], r["status"]) for r in runs] == [
        ("match", "succeeded"),
        ("seed_prepare", "succeeded"),
        ("generate", "succeeded"),
    ]
    assert runs[-1]["workflow_id"] == generated["workflow_id"]
    # Exact identifiers, normalized right, find every findable person and nobody else.
    assert document["ground_truth"]["precision"] == 1.0
    assert document["ground_truth"]["recall"] == 1.0
    (matched,) = [r for r in document["results"] if r["job"] == "match"]
    assert matched["counts"]["acme"]["resolved"] == document["ground_truth"]["matched"] > 0

    again = partnerkit("match", "--workspace", str(workspace), "--prepare", "--json")
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert rerun["job"] == "match" and rerun["seed_prepare"]["job"] == "seed_prepare"
    assert rerun["counts"]["acme"]["resolved"] == matched["counts"]["acme"]["resolved"]


def test_missing_java_is_one_readable_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's bin: python, no java
    done = partnerkit("generate", "--workspace", str(tmp_path), "--seeds", "5",
                      "--universe", "5", env=env)  # fmt: skip
    assert done.returncode == 1
    assert "Spark needs Java, but none was found on PATH" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_with_unknown_key_exits_2(tmp_path: Path) -> None:
    assert partnerkit("init", str(tmp_path)).returncode == 0
    config = tmp_path / "partnerkit.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "segmentz: []\n", encoding="utf-8")
    done = partnerkit("runs", "--workspace", str(tmp_path))
    assert done.returncode == 2
    assert "segmentz: unknown key" in done.stderr
