"""The package layout and dependency direction of DESIGN.md, checked by walking imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ingest", "schemas", "governance", "jobs")
# Which of our packages each package may import (DESIGN.md: jobs -> ingest, governance,
# schemas; ingest -> schemas; governance -> schemas; schemas -> nothing of ours).
ALLOWED = {
    "schemas": set(),
    "ingest": {"schemas"},
    "governance": {"schemas"},
    "jobs": {"ingest", "governance", "schemas"},
}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def package_modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_allowed_packages(package: str) -> None:
    offences = []
    for module in package_modules(package):
        ours = imported_top_levels(module) & set(PACKAGES)
        for target in sorted(ours - ALLOWED[package] - {package}):
            offences.append(f"{module.relative_to(ROOT)} imports {target}")
    assert offences == []


def test_only_cli_imports_job_modules() -> None:
    helpers = {
        "config",
        "errors",
        "spark",
        "runs",
        "tables",
        "progress",
        "synthetic",
        "universe",
        "local_s3",
        "workspace_schema",
        "delivery",
        "data_science",
        "icp_report",
        "compare_report",
        "class_archive",
    }
    offences = []
    for module in package_modules("jobs"):
        if module.name in ("cli.py", "__init__.py", "__main__.py"):
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jobs."):
                if node.module.split(".")[1] not in helpers:
                    offences.append(f"{module.name} imports {node.module}")
    assert offences == []


def test_every_package_and_test_folder_is_a_package() -> None:
    folders = [ROOT / p for p in PACKAGES] + [p for p in (ROOT / "tests").rglob("*") if p.is_dir()]
    folders = [f for f in folders if f.name != "__pycache__" and "golden" not in f.parts]
    missing = [str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()]
    assert missing == []


def test_dependency_walk_detects_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from jobs.cli import app\nimport ingest.ledger\n", encoding="utf-8")
    assert imported_top_levels(module) == {"jobs", "ingest"}
