"""Errors raised by the schemas package; messages name files, fields and paths, never values."""

from __future__ import annotations

from collections.abc import Sequence


class SchemaError(Exception):
    """Base of the errors the schemas package raises on purpose."""


class InvalidSchemaError(SchemaError, ValueError):
    """Schema files that break JSON Schema or partnerkit's XDM conventions, all listed at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{len(self.problems)} schema problem(s):\n{listed}")


class UnknownSchemaError(SchemaError, LookupError):
    """A schema, field group or namespace name that is not registered."""

    def __init__(self, kind: str, name: str, known: Sequence[str]) -> None:
        self.name = name
        super().__init__(f"unknown {kind} {name!r}; expected one of {', '.join(known)}")


class UnknownFieldError(SchemaError, LookupError):
    """Field paths (from a config or a mapping) that the schema does not define."""

    def __init__(
        self, where: str, paths: Sequence[str], schema: str, *, command: str | None = None
    ) -> None:
        self.paths = list(paths)
        command = command or f"partnerkit schema show {schema}"
        super().__init__(
            f"{where}: {', '.join(self.paths)} {'is' if len(paths) == 1 else 'are'} not "
            f"field(s) of schema {schema!r}; `{command}` lists them"
        )


class RecordValidationError(SchemaError, ValueError):
    """Records that do not conform to their schema (paths and rules, never the values)."""

    def __init__(self, schema: str, checked: int, problems: Sequence[str]) -> None:
        self.checked, self.problems = checked, list(problems)
        shown = "\n".join(f"  - {problem}" for problem in self.problems[:20])
        super().__init__(
            f"{len(self.problems)} problem(s) in {checked:,} record(s) checked against "
            f"{schema!r}:\n{shown}"
        )


class NamespaceError(SchemaError, ValueError):
    """Identity namespace codes that collide or are unknown."""
