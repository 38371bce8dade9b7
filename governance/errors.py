"""Errors raised by the governance package; each names the file or option and what was expected."""

from __future__ import annotations

from collections.abc import Sequence


class GovernanceError(Exception):
    """Base of the errors governance raises on purpose."""


class CatalogError(GovernanceError, ValueError):
    """Label, marketing action or policy definitions that do not hold, all listed at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{len(self.problems)} governance catalog problem(s):\n{listed}")


class UnknownLabelError(GovernanceError, LookupError):
    """A label or marketing action named somewhere that the catalogs do not define."""

    def __init__(self, kind: str, names: Sequence[str], where: str, known: Sequence[str]) -> None:
        self.names = list(names)
        super().__init__(
            f"{where}: unknown {kind} {', '.join(names)} (codes are case-sensitive); "
            f"expected one of {', '.join(known)}"
        )


class UnknownDatasetFieldError(GovernanceError, LookupError):
    """A dataset or field passed to an evaluation that the workspace does not have."""

    def __init__(self, what: str, name: str, known: Sequence[str]) -> None:
        shown = ", ".join(list(known)[:12]) + (" ..." if len(known) > 12 else "")
        super().__init__(f"unknown {what} {name!r}; expected one of {shown}")


class SegmentError(GovernanceError, ValueError):
    """A predicate that is not allowed, with where it is and what was expected."""

    # How much of a long predicate is shown either side of the position.
    CONTEXT = 60

    def __init__(self, where: str, text: str, position: int, problem: str) -> None:
        self.position = position
        start = max(position - self.CONTEXT, 0)
        shown = text[start : position + self.CONTEXT]
        prefix = "..." if start else ""
        suffix = "..." if position + self.CONTEXT < len(text) else ""
        pointer = " " * (len(prefix) + position - start) + "^"
        super().__init__(
            f"{where}: position {position + 1}: {problem}\n  {prefix}{shown}{suffix}\n  {pointer}"
        )
