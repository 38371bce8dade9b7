"""The folders partnerkit may change, the one way it deletes anything, and how it replaces a
small file (whole or not at all).

A run writes and deletes only under its workspace, its warehouse and its file destinations'
folders (a destination outside the workspace must say `outside_workspace: true`). Every path
is resolved first, symlinks included, so neither `..` nor a link pointing elsewhere reaches
another folder; `remove` is the only function in the project that deletes a file or folder
(tests/test_layout.py holds the rest of the code to that).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.errors import OutsideWorkspaceError

if TYPE_CHECKING:
    from jobs.config import Workspace


def _local(path: str | os.PathLike[str]) -> Path:
    return Path(str(path).removeprefix("file://"))


def writable_roots(workspace: Workspace) -> list[Path]:
    """The workspace, a local warehouse and every file destination's folder, resolved."""
    roots = [workspace.root, _local(workspace.warehouse)]
    roots += [
        _local(workspace.resolve(d.path)) for d in workspace.config.destinations if d.type == "file"
    ]
    if "://" in workspace.warehouse and not workspace.warehouse.startswith("file://"):
        roots.remove(_local(workspace.warehouse))  # an object store: its own rules apply
    return [Path(os.path.realpath(root)) for root in roots]


def _location(path: Path) -> Path:
    """Where `path` itself lives: its folder resolved (symlinks followed), plus its own name.
    A link is judged by where it is, so removing it never touches what it points to."""
    return Path(os.path.realpath(path.parent)) / path.name


def inside(path: str | os.PathLike[str], roots: Sequence[Path]) -> Path:
    """`path` resolved, if it lies strictly under one of `roots`; an error naming it otherwise."""
    local = _local(path)
    resolved = Path(os.path.realpath(local))
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if resolved != real_root and resolved.is_relative_to(real_root):
            return resolved
    raise OutsideWorkspaceError(str(local), [str(root) for root in roots])


def remove(path: str | os.PathLike[str], roots: Sequence[Path]) -> bool:
    """Delete a file, a symlink (not its target) or a folder tree under one of `roots`.

    Returns whether anything was there. A path outside every root is an error and nothing is
    touched; neither is a root itself.
    """
    local = _local(path)
    location = _location(local)
    if not any(
        location != Path(os.path.realpath(root))
        and location.is_relative_to(Path(os.path.realpath(root)))
        for root in roots
    ):
        raise OutsideWorkspaceError(str(local), [str(root) for root in roots])
    if location.is_symlink() or location.is_file():
        location.unlink(missing_ok=True)
        return True
    if location.is_dir():
        shutil.rmtree(location, ignore_errors=True)
        return True
    return False


def replace_text(path: Path, text: str) -> None:
    """Write a small file (a page, a receipt) so that readers, and a run killed or out of disk
    midway, see the old content or the new, never part: a dot-file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        staged.write_text(text, encoding="utf-8")
        staged.replace(path)
    except BaseException:
        remove(staged, [path.parent])
        raise
