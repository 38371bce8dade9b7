"""Errors raised by the jobs layer: workspace config and runtime prerequisites."""

from __future__ import annotations

from collections.abc import Sequence


class PartnerkitError(Exception):
    """Base of the errors the jobs layer raises on purpose; the CLI maps each to an exit code."""


class ConfigError(PartnerkitError, ValueError):
    """The workspace file is missing, unreadable or invalid; carries one line per problem."""

    def __init__(self, file: str, problems: Sequence[str]) -> None:
        self.file = file
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{file}: {count} {noun}\n{lines}")


class WorkspaceError(PartnerkitError, FileNotFoundError):
    """The workspace folder or a file it should hold is not where the user said."""

    def __init__(self, path: str, expected: str) -> None:
        self.path = path
        self.expected = expected
        super().__init__(f"{path}: expected {expected}")


class InvalidNameError(PartnerkitError, ValueError):
    """A segment, destination, partner or audience name that could not be a folder name."""

    def __init__(self, kind: str, name: str, rule: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"{kind} name {name!r}: expected {rule}")


class OutsideWorkspaceError(PartnerkitError, ValueError):
    """A path partnerkit would write or delete lies outside every folder it may change."""

    def __init__(self, path: str, roots: Sequence[str]) -> None:
        self.path = path
        self.roots = list(roots)
        super().__init__(
            f"{path}: expected a path inside {' or '.join(self.roots)} (partnerkit writes and "
            "deletes only there)"
        )


class JavaUnavailableError(PartnerkitError, RuntimeError):
    """Spark cannot start because Java is missing or too old."""


class WorkspaceBusyError(PartnerkitError, RuntimeError):
    """Another job is writing to the workspace and did not finish within the wait."""

    def __init__(self, workspace: str, *, job: str, started_at: str, waited: float) -> None:
        self.job = job
        self.started_at = started_at
        super().__init__(
            f"{workspace}: another writer is running ({job}, started {started_at}); waited "
            f"{waited:g} s. Try again when it ends, or raise `writer_wait_seconds` in the config"
        )


class DeliveryOrderError(PartnerkitError, ValueError):
    """A delivery that cannot apply to the partner's universe as it stands (a delta before any
    full delivery, a delta whose columns differ from the universe's)."""


class PartialDeliveryError(PartnerkitError, RuntimeError):
    """The partner's newest delivery was not published, so its universe would be stale."""
