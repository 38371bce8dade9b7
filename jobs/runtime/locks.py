"""Locks the operating system releases when their process dies: one writer per workspace, and
a mark of each live run so the next writer can tell a killed run from a running one."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from jobs.errors import WorkspaceBusyError
from jobs.warehouse.paths import remove

POLL_SECONDS = 0.2

# Runs on several threads of one process (prepare beside match) share the process's lock;
# the lock file stays open (the lock held) until the last of them ends, whichever that is.
_process: dict[str, Any] = {"depth": 0, "handle": None}
_process_guard = threading.Lock()


def _leave() -> None:
    with _process_guard:
        _process["depth"] -= 1
        if _process["depth"] == 0 and _process["handle"] is not None:
            _process["handle"].close()  # releases the lock
            _process["handle"] = None


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


@contextmanager
def writer_lock(path: Path, *, wait_seconds: float, holder: dict[str, Any]) -> Iterator[None]:
    """Hold the workspace's one writer lock; wait up to `wait_seconds` for another writer.

    `flock` locks belong to the open file, so a killed process never leaves the lock held.
    The holder (job, workflow_id, start time, pid) is written into the file for a waiter's
    message; readers of the warehouse never take this lock. A run on another thread of a
    process that holds it joins it: the pipeline's own jobs do not wait for each other.
    """
    with _process_guard:
        joined = _process["depth"] > 0
        if joined:
            _process["depth"] += 1
    if joined:
        try:
            yield
        finally:
            _leave()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        deadline = time.monotonic() + wait_seconds
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                running = _holder(path)
                raise WorkspaceBusyError(
                    str(path.parent),
                    job=str(running.get("job", "another job")),
                    started_at=str(running.get("started_at", "an unknown time")),
                    waited=wait_seconds,
                )
            time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({**holder, "pid": os.getpid()}))
        handle.flush()
    except BaseException:
        handle.close()
        raise
    with _process_guard:
        _process["depth"] += 1
        _process["handle"] = handle
    try:
        yield
    finally:
        _leave()


@contextmanager
def live_mark(folder: Path, workflow_id: str) -> Iterator[None]:
    """Hold `folder/<workflow_id>.lock` for the life of a run (see `is_alive`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{workflow_id}.lock"
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        remove(path, [folder])
        handle.close()


def is_alive(folder: Path, workflow_id: str) -> bool:
    """Whether the run's process still holds its mark; a killed run's mark is free."""
    path = folder / f"{workflow_id}.lock"
    if not path.is_file():
        return False
    with path.open("a+", encoding="utf-8") as handle:
        if _try_lock(handle):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False
        return True
