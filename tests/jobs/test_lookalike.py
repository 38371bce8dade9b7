"""The lookalike job's names: a saved audience stays inside the warehouse's prospects folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli, EditConfig


@pytest.mark.parametrize("name", ["../../data", "owners/../../../x", "Owners"])
def test_a_save_name_cannot_leave_the_prospects_folder(
    tmp_path: Path, edit_config: EditConfig, cli: Cli, name: str
) -> None:
    """Case 2: `--save ../../data` deleted the workspace's data folder and wrote Parquet there."""
    edit_config(tmp_path, lambda data: None)
    keep = tmp_path / "data" / "seeds.csv"
    keep.write_text("profile_id\nC1\n", encoding="utf-8")
    done = cli(
        "lookalike",
        "--partner",
        "acme",
        "--expression",
        "is_home_owner=Yes",
        "--save",
        name,
        "--workspace",
        str(tmp_path),
    )
    assert done.code == 2
    message = " ".join(done.stderr.split())  # the terminal wraps long lines
    assert f"prospect audience name {name!r}: expected a lowercase letter" in message
    assert keep.read_text(encoding="utf-8") == "profile_id\nC1\n"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["seeds.csv"]
