"""Exit codes of the `partnerkit` command, and which error type maps to which."""

from __future__ import annotations

from governance.errors import GovernanceError
from ingest.errors import (
    EmptyFileError,
    ExpressionError,
    HashMismatchError,
    HeaderError,
    MissingColumnsError,
    QualityGateError,
    SourceError,
    UnknownProfileError,
)
from jobs.errors import (
    ConfigError,
    DeliveryOrderError,
    InvalidNameError,
    JavaUnavailableError,
    OutsideWorkspaceError,
    PartialDeliveryError,
    WorkspaceBusyError,
    WorkspaceError,
)
from schemas.errors import (
    InvalidSchemaError,
    NamespaceError,
    RecordValidationError,
    UnknownFieldError,
    UnknownSchemaError,
)

EXIT_OK = 0


EXIT_ERROR = 1


EXIT_USAGE = 2


EXIT_POLICY_BLOCKED = 3


EXIT_QUALITY_GATE = 4


EXIT_STEWARD_CHECK = 5

# `match` or `ingest` finished and kept its results, but a figure moved more than the
# partner's `monitoring` allows since the previous run (a match rate fell, quarantine rose).
EXIT_DRIFT = 6


# Each error type the packages define maps to one exit code; anything else is 1.
EXIT_CODES: dict[type[BaseException], int] = {
    ConfigError: EXIT_USAGE,
    InvalidNameError: EXIT_USAGE,
    OutsideWorkspaceError: EXIT_USAGE,
    WorkspaceError: EXIT_USAGE,
    JavaUnavailableError: EXIT_ERROR,
    WorkspaceBusyError: EXIT_ERROR,
    PartialDeliveryError: EXIT_QUALITY_GATE,
    DeliveryOrderError: EXIT_USAGE,
    UnknownProfileError: EXIT_USAGE,
    HashMismatchError: EXIT_QUALITY_GATE,
    MissingColumnsError: EXIT_QUALITY_GATE,
    QualityGateError: EXIT_QUALITY_GATE,
    EmptyFileError: EXIT_QUALITY_GATE,
    HeaderError: EXIT_QUALITY_GATE,
    SourceError: EXIT_ERROR,
    InvalidSchemaError: EXIT_USAGE,
    UnknownSchemaError: EXIT_USAGE,
    UnknownFieldError: EXIT_USAGE,
    NamespaceError: EXIT_USAGE,
    RecordValidationError: EXIT_ERROR,
    GovernanceError: EXIT_USAGE,
    ExpressionError: EXIT_USAGE,
}


def exit_code_for(error: BaseException) -> int:
    for error_type, code in EXIT_CODES.items():
        if isinstance(error, error_type):
            return code
    return EXIT_ERROR
