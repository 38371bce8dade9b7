"""Shared benchmark plumbing: run a command, time it, and sample its process tree's memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
OUT = Path(__file__).parent / "out"  # generated data and results, reused between runs
MATCH_DATA = OUT / "match-1000000x5000000"  # the match benchmark's workspace (seeds, universes)


def generate_command(workspace: Path, seeds: int, universe: int, seed: int) -> list[str]:
    """`partnerkit generate --json` for a workspace, as the installed CLI runs it."""
    cli = shutil.which("partnerkit") or "partnerkit"
    sizes = ["--seeds", str(seeds), "--universe", str(universe), "--seed", str(seed)]
    return [cli, "generate", "--workspace", str(workspace), *sizes, "--json"]


def ingest_delivery(rows: int) -> Path:
    """The gzip CSV delivery `ingest_bench.py` builds (and `ingest_floors.py` times)."""
    return OUT / f"ingest-{rows}.csv.gz"


def tree_rss_kb(root_pid: int) -> int:
    """Resident memory of a process and all its descendants (e.g. the CLI and its JVM), KiB.

    A child that has not yet exec'd (the JVM starting `chmod` or `getconf` for Hadoop) shares or
    copies its parent's address space, and /proc shows the parent's whole RSS for it: such a
    child (same argument and environment addresses as its parent) is not counted again.
    """
    children: dict[int, list[int]] = {}
    layout: dict[int, tuple[str, ...]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        layout[int(entry.name)] = tuple(fields[45:49])  # arg_start .. env_end (stat 48-51)
    total, stack = 0, [(root_pid, None)]
    while stack:
        pid, parent = stack.pop()
        if parent is None or layout.get(pid) != layout.get(parent):
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
            except OSError:
                pass
        stack.extend((child, pid) for child in children.get(pid, []))
    return total


@dataclass(frozen=True)
class Measured:
    wall_s: float
    peak_mb: float
    stdout: str
    stderr: str
    returncode: int


def run_measured(command: list[str], *, env: dict[str, str] | None = None) -> Measured:
    """Run a command to completion, sampling its tree's RSS every 0.2 s."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.2):
            peak = max(peak, tree_rss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    stop.set()
    sampler.join()
    return Measured(time.perf_counter() - started, peak / 1024, out, err, process.returncode)


def partnerkit_cli() -> str:
    return shutil.which("partnerkit") or "partnerkit"


def partnerkit_json(workspace: Path, *args: str) -> dict:
    """Run one CLI command, timed and its memory sampled; its JSON document with both."""
    import json
    import sys

    done = run_measured([partnerkit_cli(), *args, "--workspace", str(workspace), "--json"])
    if done.returncode != 0:
        sys.exit(f"partnerkit {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return {"wall_s": done.wall_s, "peak_mb": done.peak_mb, **json.loads(done.stdout)}
