"""The same prepare and match jobs on a Spark standalone cluster started from the pip pyspark.

A master and a worker run on 127.0.0.1 (spark-class), the jobs go through spark-submit, and
the matches must equal a local run's. Both daemons are stopped by PID.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest
from pyspark.sql import SparkSession

import jobs
from jobs import match
from jobs import seed_prepare as prepare
from jobs.config import load_workspace
from jobs.warehouse.tables import read_committed
from tests.conftest import acme_only, copy_workspace, edit_workspace_config, match_figures

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SPARK_HOME = Path(pyspark.__file__).parent
ENTRY = Path(jobs.__file__).parent / "__main__.py"
QUICK_JIT = "-XX:TieredStopAtLevel=1"


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (all held open until every one is chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {seconds:.0f} s")


def alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as answer:
            return int(json.load(answer).get("aliveworkers", 0))
    except (OSError, ValueError):  # not up yet, or another page answers there for now
        return 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    logs = tmp_path_factory.mktemp("cluster-logs")
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_WORKER_DIR": str(logs / "work"),
        "PYSPARK_PYTHON": sys.executable,
    }
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, ui_port, worker_ui = free_ports(3)
    master_url = f"spark://127.0.0.1:{port}"
    daemons = [
        subprocess.Popen(
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui_port),
            ],
            env=env,
            stdout=(logs / "master.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        # Started at once: a worker that finds no master yet retries until it answers.
        daemons.append(
            subprocess.Popen(
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    master_url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "2",
                    "--memory",
                    "2g",
                    "--webui-port",
                    str(worker_ui),
                ],
                env=env,
                stdout=(logs / "worker.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        wait_for(lambda: alive_workers(ui_port) == 1, 120, "master and worker")
        yield master_url, logs
    finally:
        for daemon in reversed(daemons):
            daemon.terminate()
        for daemon in daemons:
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()


def spark_submit(master_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    command = [
        str(SPARK_HOME / "bin" / "spark-submit"),
        "--master",
        master_url,
        "--conf",
        "spark.ui.enabled=false",
        # A run of a minute on 300 seeds: the JVMs' quick compiler only (call 94 s -> 73 s).
        *("--conf", f"spark.driver.extraJavaOptions={QUICK_JIT}"),
        *("--conf", f"spark.executor.extraJavaOptions={QUICK_JIT}"),
        str(ENTRY),
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_spark_submit_on_standalone_cluster_matches_local_run(
    cluster: tuple[str, Path], spark: SparkSession, tmp_path: Path, generated_workspace: Path
) -> None:
    master_url, logs = cluster
    local_ws = copy_workspace(generated_workspace, tmp_path / "local")
    cluster_ws = copy_workspace(generated_workspace, tmp_path / "cluster")
    for root in (local_ws, cluster_ws):  # one partner's matches are the comparison
        edit_workspace_config(root, acme_only)

    # One application, as `match --prepare` runs both jobs in one session.
    done = spark_submit(master_url, "match", "--prepare", "--workspace", str(cluster_ws), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    submitted = json.loads(done.stdout)
    assert submitted["seed_prepare"]["status"] == "succeeded"
    cluster_stats = submitted["counts"]["acme"]

    workspace = load_workspace(local_ws)
    prepare.run(workspace, spark)
    local_stats = match.run(workspace, spark).counts["acme"]
    assert match_figures(cluster_stats) == match_figures(local_stats)

    def matches(root: Path) -> list[tuple]:
        frame = read_committed(spark, str(root / "warehouse"), "matches", "acme")
        rows = frame.select("profile_id", "partner_id", "overall_quality_score").collect()
        return sorted(tuple(r) for r in rows)

    assert matches(cluster_ws) == matches(local_ws)
    # The jobs really ran on the cluster: the master registered them and gave out executors.
    master_log = (logs / "master.log").read_text(encoding="utf-8", errors="replace")
    assert master_log.count("Registering app partnerkit") == 1
    assert "Launching executor" in master_log
    assert len(matches(local_ws)) == local_stats["resolved"] > 0
