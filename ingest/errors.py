"""Errors raised by the ingest package; messages name files, columns and rows, never values."""

from __future__ import annotations


class IngestError(Exception):
    """Base of the errors ingest raises on purpose."""


class UnknownProfileError(IngestError, LookupError):
    """A normalization profile name that is not in the catalog."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(
            f"unknown normalization profile {name!r}; expected one of {', '.join(known)}"
        )


class HashMismatchError(IngestError, ValueError):
    """A column's data is not in the hash form the partner declared."""

    def __init__(self, *, file: str, column: str, declared: str, found: str, sampled: int) -> None:
        self.file, self.column, self.declared, self.found = file, column, declared, found
        super().__init__(
            f"{file}: column {column!r} was declared {declared} but {sampled} sampled values "
            f"look like {found}; if the file is right, set the partner's `hash` and "
            "`hash_encoding` in partnerkit.yaml to match it (unset, they follow its `profile`)"
        )


class MissingColumnsError(IngestError, ValueError):
    """Mapped columns that the file does not have, all listed at once."""

    def __init__(
        self, *, file: str, missing: list[str], available: list[str], hint: str = ""
    ) -> None:
        self.file, self.missing = file, missing
        super().__init__(
            f"{file}: missing mapped column(s) {', '.join(missing)}; "
            f"the file has {', '.join(available) or 'no columns'}{hint}"
        )


class SourceError(IngestError, OSError):
    """A source that cannot be listed, downloaded or read: names the URI and what went wrong."""

    def __init__(self, uri: str, problem: str) -> None:
        self.uri, self.problem = uri, problem
        super().__init__(f"{uri}: {problem}")


class EmptyFileError(IngestError, ValueError):
    """A file with no header, or a header and no rows."""

    def __init__(self, *, file: str, problem: str) -> None:
        self.file = file
        super().__init__(f"{file}: {problem}")


class HeaderError(IngestError, ValueError):
    """A header that cannot name the columns: a name repeated, or text in another encoding."""

    def __init__(self, *, file: str, problem: str) -> None:
        self.file = file
        super().__init__(f"{file}: {problem}")


class QualityGateError(IngestError):
    """A batch that failed its batch-level thresholds: nothing was published."""

    def __init__(self, *, file: str, failures: list[str], report: str | None) -> None:
        self.file, self.failures, self.report = file, failures, report
        where = f"; report: {report}" if report else ""
        super().__init__(f"{file}: quality gate failed: {'; '.join(failures)}{where}")


class ExpressionError(IngestError, ValueError):
    """A lookalike expression that does not parse or names unknown clusters."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        self.position = position
        super().__init__(
            f"expression position {position + 1}: {problem}\n  {text}\n  {' ' * position}^"
        )
