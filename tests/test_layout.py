"""The layout of docs/design.md, checked by walking the code: imports, jobs, and who does what.

Every import form counts alike (`import jobs.x`, `from jobs import x`, `from . import x`,
imports inside functions), and the job list comes from the job modules themselves: a module
of `jobs/` with a top-level `JOB = "<name>"` is a job. Each guard has a planted violation
below that it must catch.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ingest", "schemas", "governance", "jobs")
# Which of our packages each package may import: jobs -> ingest, governance, schemas;
# ingest -> schemas; governance -> schemas; schemas -> nothing of ours.
ALLOWED = {
    "schemas": set(),
    "ingest": {"schemas"},
    "governance": {"schemas"},
    "jobs": {"ingest", "governance", "schemas"},
}
# The modules that may run several jobs.
JOB_RUNNERS = ("jobs.pipeline", "jobs.cli")
SPARK_FACTORY = "jobs.runtime.spark"
HTML_MARKERS = ("<html", "<table", "<td", "<tr", "<div", "<span", "<svg", "<!doctype")


@dataclass
class Module:
    """A parsed module: its dotted name, the modules it imports, and its syntax tree."""

    name: str
    path: Path
    tree: ast.Module
    imports: set[str] = field(default_factory=set)

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve_imports(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """Every module an import statement can name, as absolute dotted names.

    `from a import b` yields both `a` and `a.b` (b may be a module); relative imports are
    resolved against the importing module's package.
    """
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@functools.cache
def _parsed() -> tuple[Module, ...]:
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            name = module_name(path, ROOT)
            module = Module(name, path, tree)
            module.imports = resolve_imports(tree, name, module.is_package)
            modules.append(module)
    return tuple(modules)


def load_modules() -> dict[str, Module]:
    return {module.name: module for module in _parsed()}


def job_name(module: Module) -> str | None:
    """The `JOB = "<name>"` a job module declares at top level, else None."""
    for node in module.tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "JOB" for t in node.targets
        ):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
    return None


def job_modules(modules: dict[str, Module]) -> dict[str, Module]:
    return {n: m for n, m in modules.items() if job_name(m) is not None}


def top_package(name: str) -> str:
    return name.split(".")[0]


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# ------------------------------------------------------------------ the checks


def package_direction_offences(modules: dict[str, Module]) -> list[str]:
    offences = []
    for module in modules.values():
        own = top_package(module.name)
        ours = {top_package(i) for i in module.imports} & set(PACKAGES)
        for target in sorted(ours - ALLOWED[own] - {own}):
            offences.append(f"{module.name} imports {target}")
    return offences


def job_naming_offences(modules: dict[str, Module]) -> list[str]:
    """A job module lives directly in jobs/ and is named as its job."""
    offences = []
    for name, module in job_modules(modules).items():
        expected = f"jobs.{job_name(module)}"
        if name != expected:
            offences.append(f"{name} runs the job {job_name(module)!r}: name it {expected}")
    return offences


def job_import_offences(modules: dict[str, Module]) -> list[str]:
    """Only the pipeline and the CLI import job modules; a job never imports another job."""
    jobs = set(job_modules(modules))
    offences = []
    for module in modules.values():
        if any(within(module.name, runner) for runner in JOB_RUNNERS):
            continue
        for target in sorted((module.imports & jobs) - {module.name}):
            offences.append(f"{module.name} imports the job module {target}")
    return offences


def session_offences(modules: dict[str, Module]) -> list[str]:
    """Only the factory builds a SparkSession; nothing looks one up or builds one elsewhere."""
    offences = []
    for module in modules.values():
        if module.name == SPARK_FACTORY:
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and node.attr in ("builder", "getActiveSession"):
                offences.append(f"{module.name}:{node.lineno} uses SparkSession.{node.attr}")
    return offences


def html_offences(modules: dict[str, Module]) -> list[str]:
    """Governance is policy logic: no HTML strings, no html module, no report imports."""
    offences = []
    for module in modules.values():
        if top_package(module.name) != "governance":
            continue
        if any(within(i, "html") or within(i, "jobs.reports") for i in module.imports):
            offences.append(f"{module.name} imports an HTML module")
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                lowered = node.value.lower()
                if any(marker in lowered for marker in HTML_MARKERS):
                    offences.append(f"{module.name}:{node.lineno} builds HTML")
    return offences


def command_spark_offences(modules: dict[str, Module]) -> list[str]:
    """Command modules parse, call and render: no Spark column functions, no DataFrame queries."""
    offences = []
    for module in modules.values():
        if not within(module.name, "jobs.cli"):
            continue
        if any(within(i, "pyspark.sql.functions") for i in module.imports):
            offences.append(f"{module.name} imports pyspark.sql.functions")
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and node.attr in ("collect", "toPandas", "sql"):
                offences.append(f"{module.name}:{node.lineno} runs a Spark query (.{node.attr})")
    return offences


def error_class_offences(modules: dict[str, Module]) -> list[str]:
    """Error classes live in their package's errors.py."""
    offences = []
    for module in modules.values():
        if module.path.name == "errors.py":
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Exception")):
                offences.append(f"{module.name} defines {node.name}")
    return offences


DELETER = "jobs.warehouse.paths"
# Calls that delete a file or folder (`os.remove` and `os.unlink` by their module name).
DELETING_METHODS = {"rmtree", "unlink", "rmdir", "removedirs"}
DELETING_OS_FUNCTIONS = {"remove", "unlink", "rmdir", "removedirs"}


def deletion_offences(modules: dict[str, Module]) -> list[str]:
    """Only jobs/warehouse/paths.py deletes (it refuses paths outside the workspace's roots)."""
    offences = []
    for module in modules.values():
        if module.name == DELETER:
            continue
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name, owner = node.func.attr, node.func.value
            by_os = isinstance(owner, ast.Name) and owner.id in ("os", "shutil")
            if name in DELETING_METHODS or (by_os and name in DELETING_OS_FUNCTIONS):
                offences.append(f"{module.name}:{node.lineno} deletes with .{name}()")
    return offences


CHECKS = {
    "package direction": package_direction_offences,
    "jobs named as their job": job_naming_offences,
    "only pipeline and cli import jobs": job_import_offences,
    "one SparkSession factory": session_offences,
    "no HTML in governance": html_offences,
    "no Spark queries in commands": command_spark_offences,
    "errors in errors.py": error_class_offences,
    "one deleting function": deletion_offences,
}


@pytest.mark.parametrize("check", CHECKS)
def test_layout_holds(check: str) -> None:
    assert CHECKS[check](load_modules()) == []


def test_every_job_is_found_from_its_module() -> None:
    found = {job_name(m) for m in job_modules(load_modules()).values()}
    expected = {
        "partner_ingest",
        "seed_prepare",
        "match",
        "enrich",
        "segments",
        "activate",
        "icp",
        "lookalike",
        "compare",
        "overlap",
        "optout_ingest",
        "steward",
        "generate",
        "resolve",
        "policy_evaluate",
        "vacuum",
        "forget",
    }
    assert found == expected


def test_every_package_and_test_folder_is_a_package() -> None:
    folders = [p for pkg in PACKAGES for p in [ROOT / pkg, *(ROOT / pkg).rglob("*")] if p.is_dir()]
    folders += [p for p in [ROOT / "tests", *(ROOT / "tests").rglob("*")] if p.is_dir()]
    data = {"__pycache__", "golden", "catalog", "templates", "xdm"}
    folders = [f for f in folders if not data & set(f.relative_to(ROOT).parts)]
    missing = [str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()]
    assert missing == []


def test_tests_mirror_the_packages() -> None:
    """Every test folder is a folder of a package (tests/e2e and test data aside: golden
    files, the vendored OpenLineage schemas)."""
    test_folders = [p for p in (ROOT / "tests").rglob("*") if p.is_dir()]
    outside = {"__pycache__", "golden", "e2e", "openlineage_spec"}
    test_folders = [p for p in test_folders if not outside & set(p.parts)]
    stray = [
        str(p.relative_to(ROOT))
        for p in test_folders
        if not (ROOT / p.relative_to(ROOT / "tests")).is_dir()
    ]
    assert stray == []


# ------------------------------------------------- each guard fails on a planted violation

PLANTED = {
    "package direction": ("ingest/bad.py", "from jobs.config import Workspace\n"),
    "jobs named as their job": ("jobs/prepare.py", 'JOB = "seed_prepare"\n'),
    "only pipeline and cli import jobs": (
        "jobs/match2.py",
        'JOB = "match2"\nfrom . import enrich\n',
    ),
    "one SparkSession factory": (
        "ingest/transform.py",
        "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\n",
    ),
    "no HTML in governance": (
        "governance/page.py",
        'PAGE = "<table><tr><td>x</td></tr></table>"\n',
    ),
    "no Spark queries in commands": (
        "jobs/cli/commands/bad.py",
        "from pyspark.sql import functions as F\ndef go(frame):\n    return frame.collect()\n",
    ),
    "errors in errors.py": ("ingest/thing.py", "class ThingError(ValueError):\n    pass\n"),
    "one deleting function": (
        "jobs/cleanup.py",
        "import os, shutil\ndef go(p):\n    shutil.rmtree(p)\n    os.remove(p)\n    p.unlink()\n",
    ),
}


def plant(relative: str, source: str) -> dict[str, Module]:
    """The real modules plus one planted module at `relative` (parsed, never written)."""
    modules = dict(load_modules())
    path = ROOT / relative
    name = module_name(path, ROOT)
    tree = ast.parse(source)
    modules[name] = Module(
        name, path, tree, resolve_imports(tree, name, path.name == "__init__.py")
    )
    return modules


@pytest.mark.parametrize("check", PLANTED)
def test_layout_guard_fails_on_a_planted_violation(check: str) -> None:
    relative, source = PLANTED[check]
    offences = CHECKS[check](plant(relative, source))
    assert offences and all(module_name(ROOT / relative, ROOT) in o for o in offences)


@pytest.mark.parametrize(
    "source",
    [
        "from jobs import enrich\n",
        "import jobs.enrich\n",
        "from . import enrich\n",
        "from .enrich import run\n",
        "def f():\n    from jobs.enrich import run\n",
    ],
)
def test_every_import_form_is_seen(source: str) -> None:
    tree = ast.parse(source)
    assert "jobs.enrich" in resolve_imports(tree, "jobs.activate", is_package=False)
