"""Killed at every table write: a job process gets SIGKILL at a named fault point.

Then: every table reads entirely old (or, killed after its commit, entirely new), the ledger
says `running` until the next writer starts and `abandoned` after, that next run succeeds
and removes what the killed one left, and `activations` says whether files went out.
The kills run two at a time in fresh processes; the checks run in-process.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from ingest.ledger import Ledger
from jobs import enrich, match, segments
from jobs import partner_ingest as ingest
from jobs import seed_prepare as prepare
from jobs.cli.app import run_cli
from jobs.cli.output import lend_session
from jobs.config import load_workspace
from jobs.runtime.runs import FAULT_POINT_VARIABLE
from jobs.warehouse.commits import Manifest, read_manifest
from tests.conftest import Cli, EditConfig, copy_workspace
from tests.e2e.test_demo_cli import PARTNERKIT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DELIVERY = "delivery-2"  # a two-file delivery of partner acme, in each killed workspace
INGEST = ("ingest", "--partner", "acme", DELIVERY)
ACTIVATE = ("activate", "--segment", "loyal_gold", "--destination", "meta_ads")
# case -> (command, fault point). Case 5 is enrich and match, case 6 activate.
KILLS: dict[str, tuple[tuple[str, ...], str]] = {
    "ingest, first file checked": (INGEST, "ingested_file#1"),
    "ingest, a batch moved": (INGEST, "moved_batch#1"),
    "ingest, after its commit": (INGEST, "committed"),
    "match, evidence written": (("match",), "wrote:match_evidence/partner=acme"),
    "match, matches written": (("match",), "wrote:matches/partner=acme"),
    "enrich, profiles written": (("enrich",), "wrote:profiles"),
    "enrich, evidence written": (("enrich",), "wrote:attribute_evidence"),
    "enrich, canonical written": (("enrich",), "wrote:canonical_attributes"),
    "enrich, before its commit": (("enrich",), "commit"),
    "activate, export staged": (ACTIVATE, "export_staged"),
    "activate, export published": (ACTIVATE, "export_published"),
}
# Killed as a fresh `partnerkit` process with its own JVM, as a user's would die. The others
# are killed in a fork of this test process that shares its warm JVM: a fault point is never
# inside a Spark call, so the JVM outliving the child changes no file, and a fork costs
# seconds where a fresh CLI costs half a minute.
FRESH_PROCESS = {"enrich, profiles written", "activate, export staged"}
# Rerun with the same command; the others are followed by `vacuum`, the cheapest writer
# (any writer recovers what a dead run left).
RERUN_SAME = {
    "ingest, a batch moved",
    "match, matches written",
    "enrich, profiles written",
    "activate, export staged",
}


def command_in(root: Path, args: tuple[str, ...]) -> list[str]:
    """The command with the delivery folder made absolute (runs here are not inside `root`)."""
    return [str(root / a) if a == DELIVERY else a for a in args] + ["--workspace", str(root)]


def two_file_delivery(root: Path) -> None:
    (source,) = sorted((root / "data/partners/acme").glob("*.csv.gz"))
    header, *rows = gzip.decompress(source.read_bytes()).decode().splitlines()
    folder = root / DELIVERY
    folder.mkdir()
    half = len(rows) // 2
    for number, chunk in enumerate((rows[:half], rows[half:])):
        lines = "\n".join([header, *chunk]) + "\n"
        (folder / f"part-{number}.csv.gz").write_bytes(gzip.compress(lines.encode()))


@pytest.fixture(scope="module")
def enriched(
    spark_session: SparkSession, generated_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A workspace with every job run once, so each kill has an old state to keep."""
    import sys, time
    t0 = time.monotonic()
    root = copy_workspace(generated_workspace, tmp_path_factory.mktemp("faults") / "ws")
    workspace = load_workspace(root)
    for partner in workspace.config.partners:
        ingest.run(workspace, spark_session, partner=partner.name)
    prepare.run(workspace, spark_session)
    match.run(workspace, spark_session)
    enrich.run(workspace, spark_session)
    segments.run(workspace, spark_session)
    two_file_delivery(root)
    print("TIMING enriched", time.monotonic() - t0, file=sys.stderr)
    return root


def kill_fresh(root: Path, args: tuple[str, ...], point: str) -> subprocess.Popen[str]:
    env = {**os.environ, FAULT_POINT_VARIABLE: point}
    return subprocess.Popen(
        [PARTNERKIT, *command_in(root, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def kill_in_fork(spark: SparkSession, root: Path, args: tuple[str, ...], point: str) -> int:
    """Run the command in a forked child on this process's session; the child SIGKILLs itself
    at `point`. Returns minus the signal, or the exit code if it never got there."""
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 98
        try:
            os.environ[FAULT_POINT_VARIABLE] = point
            with lend_session(spark):
                code = run_cli(command_in(root, args))
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


@pytest.fixture(scope="module")
def killed(
    spark_session: SparkSession, enriched: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, int, str]]:
    """Every kill of KILLS on its own copy of `enriched`: (workspace, exit status, stderr).
    The fresh processes run while the forks take their turns."""
    base = tmp_path_factory.mktemp("killed")
    roots = {case: copy_workspace(enriched, base / f"ws-{n}") for n, case in enumerate(KILLS)}
    import sys, time
    t0 = time.monotonic()
    fresh = {case: kill_fresh(roots[case], *KILLS[case]) for case in FRESH_PROCESS}
    done = {
        case: (roots[case], kill_in_fork(spark_session, roots[case], *KILLS[case]), "")
        for case in KILLS
        if case not in fresh
    }
    print("TIMING forks", time.monotonic() - t0, file=sys.stderr)
    for case, process in fresh.items():
        _, err = process.communicate(timeout=600)
        done[case] = (roots[case], process.returncode, err)
    print("TIMING fresh", time.monotonic() - t0, file=sys.stderr)
    return done


def committed_state(root: Path) -> Manifest:
    return read_manifest(str(root / "warehouse"))


def leftovers(root: Path) -> list[str]:
    """Staging anywhere in the workspace: the warehouse's and the exports'."""
    found = [p for p in (root / "warehouse/.staging").glob("*")]
    found += [p for p in root.rglob(".staging-*")]
    found += [p for p in root.rglob(".*.staging-*")]
    return sorted(str(p.relative_to(root)) for p in found)


@pytest.mark.parametrize("case", list(KILLS))
def test_a_killed_job_leaves_old_or_new_and_the_next_run_cleans_up(
    case: str,
    killed: dict[str, tuple[Path, int, str]],
    enriched: Path,
    spark: SparkSession,
    cli: Cli,
) -> None:
    root, status, stderr = killed[case]
    args, point = KILLS[case]
    assert status == -signal.SIGKILL, stderr[-3000:]
    ledger = Ledger(root / "ledger.sqlite")
    (dead,) = [run for run in ledger.runs() if run.status == "running"]
    left = ledger.claimed_paths(dead.workflow_id)

    before, after = committed_state(enriched), committed_state(root)
    changed = {u for u, e in after.tables.items() if before.tables.get(u) != e}
    if point == "committed":
        assert changed and all(after.tables[u].workflow_id == dead.workflow_id for u in changed)
    else:
        assert after == before  # not one table moved
    for unit, entry in after.tables.items():  # and every committed version reads whole
        folders = [str(root / "warehouse" / unit / folder) for folder in entry.folders]
        assert spark.read.parquet(*folders).count() >= 0, unit

    if args == ACTIVATE:
        listed = cli("activations", "--workspace", str(root), "--json").json()["activations"]
        outcome = next(a["outcome"] for a in listed if a["workflow_id"] == dead.workflow_id)
        assert outcome["published"] is (point == "export_published")
        assert outcome["segment"] == "loyal_gold"

    next_writer = (
        command_in(root, args) if case in RERUN_SAME else ["vacuum", "--workspace", str(root)]
    )
    rerun = cli(*next_writer, "--json")
    assert rerun.code == 0, rerun.stderr
    status = {run.workflow_id: run.status for run in ledger.runs()}
    assert status[dead.workflow_id] == ("succeeded" if point == "committed" else "abandoned")
    assert ledger.claimed_paths(dead.workflow_id) == []
    live = {
        str(root / "warehouse" / unit / folder)
        for unit, entry in committed_state(root).tables.items()
        for folder in entry.folders
    }
    assert [p for p in left if Path(p).exists() and p not in live] == []
    assert leftovers(root) == []
    if args == INGEST and case in RERUN_SAME:
        delivery = ledger.latest_delivery("acme")
        assert [b.status for b in delivery] in (["loaded"] * 2, ["duplicate"] * 2)


def test_two_ingests_of_one_file_publish_it_once(
    enriched: Path, tmp_path: Path, cli: Cli, edit_config: EditConfig
) -> None:
    """Case 7: two `ingest` runs of the same file 0.5 s apart both published it.

    The second starts (in-process) once the first process holds the writer lock, so the two
    overlap for certain; it waits, then finds the first one's batch."""
    import json
    import time

    root = copy_workspace(enriched, tmp_path / "ws")
    edit_config(root, lambda config: config.update(commits={"writer_wait_seconds": 600}))
    source = str(root / DELIVERY / "part-0.csv.gz")
    args = ["ingest", "--workspace", str(root), "--partner", "acme", source, "--json"]
    first = subprocess.Popen(
        [PARTNERKIT, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lock = root / ".ledger.sqlite.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        text = lock.read_text() if lock.exists() else ""
        if text and json.loads(text).get("pid") == first.pid:
            break
        time.sleep(0.1)
    assert first.poll() is None, "the first ingest ended before the second started"
    second = cli(*args)
    assert first.wait(timeout=600) == 0, first.stderr.read() if first.stderr else ""
    assert second.code == 0, second.stderr
    batches = [b for b in Ledger(root / "ledger.sqlite").batches() if b.source_uri == source]
    assert sorted(b.status for b in batches) == ["duplicate", "loaded"]
    (loaded,) = [b for b in batches if b.status == "loaded"]
    assert [b.duplicate_of for b in batches if b.status == "duplicate"] == [loaded.batch_id]
