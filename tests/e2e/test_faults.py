"""Killed at every table write: a job process gets SIGKILL at a named fault point.

Then: every table reads entirely old (or, killed after its commit, entirely new), the ledger
says `running` until the next writer starts and `abandoned` after, that next run succeeds
and removes what the killed one left, and `activations` says whether files went out.
The kills run two at a time in fresh processes; the checks run in-process.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from ingest.ledger import Ledger
from jobs.cli.app import run_cli
from jobs.cli.output import lend_session
from jobs.runtime.runs import FAULT_POINT_VARIABLE
from jobs.warehouse.commits import Manifest, read_manifest
from tests.conftest import Cli, copy_workspace, edit_workspace_config
from tests.e2e.test_demo_cli import PARTNERKIT
from tests.e2e.test_leaks import leaks

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DELIVERY = "delivery-2"  # a two-file delivery of partner acme, in each killed workspace
DELTA = "delta-1"  # and a delta of acme: upserts and a delete
INGEST = ("ingest", "--partner", "acme", DELIVERY)
INGEST_DELTA = ("ingest", "--partner", "acme", "--kind", "delta", DELTA)
ACTIVATE = ("activate", "--segment", "loyal_gold", "--destination", "meta_ads")
# case -> (command, fault point). Case 5 is enrich and match, case 6 activate.
KILLS: dict[str, tuple[tuple[str, ...], str]] = {
    "ingest, first file checked": (INGEST, "ingested_file#1"),
    "ingest, a batch moved": (INGEST, "moved_batch#1"),
    "ingest, after its commit": (INGEST, "committed"),
    "ingest delta, universe folded": (INGEST_DELTA, "moved_fold"),
    "match, evidence written": (("match",), "wrote:match_evidence/partner=acme"),
    "match, matches written": (("match",), "wrote:matches/partner=acme"),
    "match, after its commit": (("match",), "committed"),
    "enrich, profiles written": (("enrich",), "wrote:profiles"),
    "enrich, evidence written": (("enrich",), "wrote:attribute_evidence"),
    "enrich, canonical written": (("enrich",), "wrote:canonical_attributes"),
    "enrich, before its commit": (("enrich",), "commit"),
    "activate, export staged": (ACTIVATE, "export_staged"),
    "activate, export published": (ACTIVATE, "export_published"),
}
# Killed as a fresh `partnerkit` process with its own JVM, as a user's would die. The others
# are killed in a fork of this test process that shares its warm JVM: a fault point is never
# inside a Spark call and these jobs start no Spark work on other threads, so the JVM
# outliving the child changes no file, and a fork costs seconds where a fresh CLI costs half
# a minute.
FRESH_PROCESS = {"enrich, profiles written"}
# Rerun with the same command; the others are followed by `vacuum`, the cheapest writer
# (any writer recovers what a dead run left).
RERUN_SAME = {
    "ingest, a batch moved",
    "ingest delta, universe folded",
    "match, matches written",
    "enrich, profiles written",
    "activate, export staged",
}


def command_in(root: Path, args: tuple[str, ...]) -> list[str]:
    """The command with the delivery folder made absolute (runs here are not inside `root`)."""
    folders = (DELIVERY, DELTA)
    return [str(root / a) if a in folders else a for a in args] + ["--workspace", str(root)]


def two_file_delivery(root: Path) -> None:
    (source,) = sorted((root / "data/partners/acme").glob("*.csv.gz"))
    header, *rows = gzip.decompress(source.read_bytes()).decode().splitlines()
    folder = root / DELIVERY
    folder.mkdir()
    half = len(rows) // 2
    for number, chunk in enumerate((rows[:half], rows[half:])):
        lines = "\n".join([header, *chunk]) + "\n"
        (folder / f"part-{number}.csv.gz").write_bytes(gzip.compress(lines.encode()))
    changes = [f"{row},upsert" for row in rows[:40]]
    changes.append(rows[50].split(",", 1)[0] + "," * header.count(",") + ",delete")
    (root / DELTA).mkdir()
    lines = "\n".join([header + ",operation", *changes]) + "\n"
    (root / DELTA / "changes.csv.gz").write_bytes(gzip.compress(lines.encode()))


@pytest.fixture(scope="module")
def enriched(enriched_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with every job run once, so each kill has an old state to keep, and a
    two-file delivery beside it."""
    root = copy_workspace(enriched_workspace, tmp_path_factory.mktemp("faults") / "ws")
    two_file_delivery(root)
    return root


def run_fresh(root: Path, args: tuple[str, ...], point: str = "") -> subprocess.Popen[str]:
    """The installed command in a fresh process (and JVM), killed at `point` if one is given."""
    env = {**os.environ, FAULT_POINT_VARIABLE: point}
    return subprocess.Popen(
        [PARTNERKIT, *command_in(root, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def run_in_fork(spark: SparkSession, root: Path, args: tuple[str, ...], point: str = "") -> int:
    """The command in a forked child on this process's session, which SIGKILLs itself at
    `point`. Returns minus the signal, else the exit code. This process waits meanwhile, so
    the two never talk to the JVM at once."""
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


def start_in_fork(spark: SparkSession, root: Path, args: tuple[str, ...]) -> int:
    """Start the command in a forked child on this process's session and return its PID
    once it holds the workspace's writer lock (its PID is in the lock file). Until the child
    ends, this process may wait for that lock but must not call Spark."""
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 98
        try:
            with lend_session(spark):
                code = run_cli(command_in(root, args))
        finally:
            os._exit(code)
    lock = root / ".ledger.sqlite.lock"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = lock.read_text() if lock.exists() else ""
        if text and json.loads(text).get("pid") == pid:
            return pid
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            raise AssertionError("the first ingest ended before it took the writer lock")
        time.sleep(0.05)
    raise AssertionError("the first ingest never took the writer lock")


@dataclass
class Outcomes:
    """Each kill of KILLS: (workspace, exit status, stderr)."""

    killed: dict[str, tuple[Path, int, str]]


@pytest.fixture(scope="module")
def outcomes(
    spark_session: SparkSession, enriched: Path, tmp_path_factory: pytest.TempPathFactory
) -> Outcomes:
    """Every kill of KILLS on its own copy of `enriched`. The fresh processes run while this
    process's forks take their turns."""
    base = tmp_path_factory.mktemp("killed")
    roots = {case: copy_workspace(enriched, base / f"ws-{n}") for n, case in enumerate(KILLS)}
    fresh = {case: run_fresh(roots[case], *KILLS[case]) for case in FRESH_PROCESS}
    killed = {
        case: (roots[case], run_in_fork(spark_session, roots[case], *KILLS[case]), "")
        for case in KILLS
        if case not in fresh
    }
    for case, process in fresh.items():
        _, err = process.communicate(timeout=600)
        killed[case] = (roots[case], process.returncode, err)
    return Outcomes(killed)


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
    outcomes: Outcomes,
    enriched: Path,
    spark: SparkSession,
    cli: Cli,
) -> None:
    root, status, stderr = outcomes.killed[case]
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
    assert leaks(root, stderr + rerun.stdout + rerun.stderr) == []  # nothing leaked either
    if args == INGEST_DELTA:  # the rerun folded the changes once, from the same universe
        counts = rerun.json()["counts"]["delta"]
        assert (counts["upserts_changed"], counts["deletes"]) == (40, 1), counts
    if args == INGEST and case in RERUN_SAME:
        delivery = ledger.latest_delivery("acme")
        assert [b.status for b in delivery] in (["loaded"] * 2, ["duplicate"] * 2)


def test_two_ingests_of_one_file_publish_it_once(
    spark_session: SparkSession, enriched: Path, tmp_path: Path
) -> None:
    """Case 7: two `ingest` runs of the same file 0.5 s apart both published it.

    The first runs in a forked process; the second starts here once the first holds the
    writer lock, so the two overlap for certain. It waits, then finds the first one's batch."""
    root = copy_workspace(enriched, tmp_path / "ws")
    edit_workspace_config(root, lambda config: config.update(commits={"writer_wait_seconds": 600}))
    one_file = ("ingest", "--partner", "acme", str(root / DELIVERY / "part-0.csv.gz"))
    first = start_in_fork(spark_session, root, one_file)
    with lend_session(spark_session):
        second = run_cli([*command_in(root, one_file), "--json"])
    _, status = os.waitpid(first, 0)
    assert (os.waitstatus_to_exitcode(status), second) == (0, 0)
    batches = [b for b in Ledger(root / "ledger.sqlite").batches() if b.source_uri == one_file[-1]]
    assert sorted(b.status for b in batches) == ["duplicate", "loaded"]
    (loaded,) = [b for b in batches if b.status == "loaded"]
    assert [b.duplicate_of for b in batches if b.status == "duplicate"] == [loaded.batch_id]
