"""The writer lock: one holder, released when its process dies; a waiter names the holder."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jobs.errors import WorkspaceBusyError
from jobs.runtime.locks import is_alive, live_mark, writer_lock

HOLD = """
import sys, time
from pathlib import Path
from jobs.runtime.locks import writer_lock
with writer_lock(Path(sys.argv[1]), wait_seconds=0, holder={"job": "match", "started_at": "T0"}):
    print("held", flush=True)
    time.sleep(60)
"""


def holding(lock: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_waits_then_names_the_running_job(tmp_path: Path) -> None:
    lock = tmp_path / ".ledger.sqlite.lock"
    process = holding(lock)
    try:
        started = time.monotonic()
        with pytest.raises(
            WorkspaceBusyError, match=r"another writer is running \(match, started T0\)"
        ):
            with writer_lock(lock, wait_seconds=0.5, holder={"job": "enrich"}):
                pass
        assert time.monotonic() - started >= 0.5
    finally:
        process.kill()
        process.wait()
    with writer_lock(lock, wait_seconds=0, holder={"job": "enrich"}):  # freed by the kill
        assert '"job": "enrich"' in lock.read_text()


def test_a_live_mark_is_held_until_its_run_ends(tmp_path: Path) -> None:
    with live_mark(tmp_path, "wf-1"):
        assert is_alive(tmp_path, "wf-1")
    assert not is_alive(tmp_path, "wf-1")
    assert not is_alive(tmp_path, "never-started")


PROBE = """
import sys
import threading
from pathlib import Path
from jobs.errors import WorkspaceBusyError
from jobs.runtime.locks import writer_lock
try:
    with writer_lock(Path(sys.argv[1]), wait_seconds=0, holder={"job": "probe"}):
        print("free")
except WorkspaceBusyError:
    print("busy")
"""


def probe(lock: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(lock)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_lock_stays_held_until_the_last_joined_run_ends(tmp_path: Path) -> None:
    """`match --prepare`: prepare (the first holder) ends while match, which joined, runs on."""
    lock = tmp_path / ".ledger.sqlite.lock"
    joined, release = threading.Event(), threading.Event()

    def later_run() -> None:
        with writer_lock(lock, wait_seconds=0, holder={"job": "match"}):
            joined.set()
            release.wait(30)

    with writer_lock(lock, wait_seconds=0, holder={"job": "seed_prepare"}):
        thread = threading.Thread(target=later_run)
        thread.start()
        assert joined.wait(30)
    assert probe(lock) == "busy"  # the joined run still holds it
    release.set()
    thread.join()
    assert probe(lock) == "free"
