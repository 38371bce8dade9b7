"""End to end: the installed `partnerkit` command in a fresh process, where a test needs one.

Exit codes and messages of the real entry point and a Java-less machine (processes killed
midway are in test_faults.py). Everything else about the commands runs in-process (tests/jobs/).
"""

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
    assert lines == ["Wrote a starter partnerkit.yaml in ws"], done.stderr
    # The JVM's own notice (for the vector module Spark adds) went to the log instead.
    log = (tmp_path / "ws" / "logs" / "spark.log").read_text(encoding="utf-8")
    assert "Using incubator modules: jdk.incubator.vector" in log


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
