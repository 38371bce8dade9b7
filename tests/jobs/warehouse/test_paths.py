"""Where partnerkit may write and delete: resolved paths under the workspace's roots only."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from jobs import forget
from jobs.config import load_workspace
from jobs.errors import OutsideWorkspaceError
from jobs.reports import validations
from jobs.reports.validations import write_validations_page
from jobs.warehouse.paths import inside, remove, writable_roots
from tests.conftest import EditConfig, copy_workspace


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace folder with data in it, and a folder beside it that must never change."""
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "warehouse" / "t").mkdir(parents=True)
    (root / "warehouse" / "t" / "part-0").write_text("rows")
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    return root, outside


def test_a_dot_dot_path_out_of_the_root_is_refused_and_nothing_is_removed(
    layout: tuple[Path, Path],
) -> None:
    root, outside = layout
    with pytest.raises(OutsideWorkspaceError, match="expected a path inside"):
        remove(root / "warehouse" / ".." / ".." / "outside", [root])
    assert (outside / "keep.txt").read_text() == "keep"


def test_a_symlink_is_removed_itself_never_its_target(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    link = root / "warehouse" / "link"
    link.symlink_to(outside, target_is_directory=True)
    assert remove(link, [root])
    assert not link.exists() and (outside / "keep.txt").exists()


def test_a_path_through_a_symlinked_folder_is_judged_where_it_leads(
    layout: tuple[Path, Path],
) -> None:
    root, outside = layout
    (root / "warehouse" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutsideWorkspaceError):
        remove(root / "warehouse" / "link" / "keep.txt", [root])
    with pytest.raises(OutsideWorkspaceError):
        inside(root / "warehouse" / "link" / "new", [root])
    assert (outside / "keep.txt").exists()


def test_a_root_itself_is_never_removed(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    with pytest.raises(OutsideWorkspaceError):
        remove(root, [root])
    assert remove(root / "warehouse" / "t", [root]) and (root / "warehouse").is_dir()


def test_writable_roots_are_the_workspace_its_warehouse_and_file_destinations(
    tmp_path: Path, edit_config: EditConfig
) -> None:
    def elsewhere(data: dict) -> None:
        data["warehouse"] = str(tmp_path / "wh")
        data["destinations"] = [d for d in data["destinations"] if d.get("type", "file") == "file"][
            :1
        ]
        data["destinations"][0].update(path=str(tmp_path / "out"), outside_workspace=True)

    workspace = edit_config(tmp_path / "ws", elsewhere)
    assert writable_roots(workspace) == [tmp_path / "ws", tmp_path / "wh", tmp_path / "out"]


def fill_the_disk_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every text write stops halfway with ENOSPC, as a full disk or a kill would."""
    write_text = Path.write_text

    def half(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half)


def test_a_page_whose_write_fails_midway_leaves_the_old_page_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = write_validations_page("acme", [], tmp_path)
    before = page.read_text(encoding="utf-8")
    monkeypatch.setattr(validations, "validations_html", lambda *_: "<html>" + "x" * 4000)
    fill_the_disk_midway(monkeypatch)
    with pytest.raises(OSError):
        write_validations_page("acme", [], tmp_path)
    assert page.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [page.name]


def test_a_forget_receipt_whose_write_fails_midway_is_absent_not_partial(
    generated_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next forget reads pending receipts as JSON: half of one would stop every later run."""
    workspace = load_workspace(copy_workspace(generated_workspace, tmp_path / "ws"))
    fill_the_disk_midway(monkeypatch)
    with pytest.raises(OSError):
        forget._write_pending(workspace, {"workflow_id": "w1", "requests": ["a" * 64] * 50})
    folder = forget.pending_receipt(workspace, "w1").parent
    assert list(folder.iterdir()) == []
