"""End to end: the installed `partnerkit` command in a fresh process, where a test needs one.

Exit codes and messages of the real entry point, a Java-less machine, and a process killed
midway. Everything else about the commands runs in-process (tests/jobs/).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli, copy_workspace

pytestmark = pytest.mark.e2e

PARTNERKIT = shutil.which("partnerkit", path=str(Path(sys.executable).parent)) or "partnerkit"


def partnerkit(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PARTNERKIT, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env or dict(os.environ),
        cwd=cwd,
        check=False,
    )


def test_missing_java_is_one_readable_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's bin: python, no java
    done = partnerkit(
        "generate", "--workspace", str(tmp_path), "--seeds", "5", "--universe", "5", env=env
    )
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


def test_a_cold_spark_command_prints_one_json_document_and_no_jvm_noise(tmp_path: Path) -> None:
    """A fresh JVM: stdout is exactly the JSON document; stderr carries no Spark or JVM logs."""
    done = partnerkit(
        "generate", "--workspace", "ws", "--seeds", "20", "--universe", "50", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["seeds"] == 20
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    # The JVM's own notice for the vector module Spark adds is still printed (not ours to
    # silence from inside the JVM); nothing else may reach the terminal.
    lines = [line for line in lines if "incubator modules: jdk.incubator.vector" not in line]
    assert lines == ["Wrote a starter partnerkit.yaml in ws"], done.stderr


def test_a_policy_block_exits_3_from_the_installed_command(tmp_path: Path) -> None:
    assert partnerkit("init", str(tmp_path)).returncode == 0
    done = partnerkit(
        "policy",
        "evaluate",
        "--workspace",
        str(tmp_path),
        "--action",
        "exportToThirdParty",
        "--labels",
        "3PD",
        "--json",
    )
    assert done.returncode == 3, done.stderr
    assert [v["policy_id"] for v in json.loads(done.stdout)["violations"]] == [
        "no_third_party_resale"
    ]


@pytest.mark.slow
def test_ingest_killed_midway_leaves_the_table_as_it_was(
    tmp_path: Path, cli: Cli, generated_workspace: Path
) -> None:
    """SIGKILL during a load: the published batches are unchanged and still readable.

    Only the killed ingest needs its own process; the rest runs in-process."""
    import signal
    import time

    workspace = copy_workspace(generated_workspace, tmp_path / "ws")
    first = cli("ingest", "--workspace", str(workspace), "--partner", "acme", "--json")
    assert first.code == 0, first.stderr
    table = workspace / "warehouse" / "partner" / "acme"
    before = sorted(p.name for p in table.iterdir())

    bigger = workspace / "data" / "partners" / "acme-bigger" / "universe-00000.csv.gz"
    write_repeated_rows(next(table_source(workspace)), bigger, times=80)
    process = subprocess.Popen(
        [PARTNERKIT, "ingest", "--workspace", str(workspace), "--partner", "acme", str(bigger)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    staging = workspace / "warehouse" / ".staging"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(staging.glob("*/checked/*.parquet")):
            break
        time.sleep(0.1)
    assert process.poll() is None, "the ingest finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    assert sorted(p.name for p in table.iterdir()) == before
    listed = cli("batches", "--workspace", str(workspace), "--json")
    statuses = [b["status"] for b in listed.json()["batches"]]
    assert statuses == ["running", "loaded"]  # the killed one never claims to be loaded
    again = cli("match", "--workspace", str(workspace), "--prepare", "--json")
    assert again.code == 0, again.stderr
    rerun = again.json()
    assert rerun["job"] == "match" and rerun["seed_prepare"]["job"] == "seed_prepare"
    assert rerun["counts"]["acme"]["universe"]["format"] == "ingested batches"


def table_source(workspace: Path) -> Iterator[Path]:
    return (workspace / "data" / "partners" / "acme").glob("universe-*.csv.gz")


def write_repeated_rows(source: Path, target: Path, times: int) -> None:
    """A file `times` as long as `source` (one header), large enough to be caught mid-load;
    its repeated partner IDs never matter, the load is killed before the gate."""
    header, rows = gzip.decompress(source.read_bytes()).split(b"\n", 1)
    target.parent.mkdir(parents=True)
    target.write_bytes(gzip.compress(header + b"\n" + rows * times, compresslevel=1))
