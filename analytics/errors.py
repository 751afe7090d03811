"""Named exceptions of the product.

Each says what went wrong and what to do about it, in one sentence a person
can act on. Pages catch :class:`EscalationInsightsError` and show its message
with ``st.error``; the command line prints it and exits with ``exit_code``.
"""

from __future__ import annotations


class EscalationInsightsError(Exception):
    """Base class: a problem the user can fix. ``str(exc)`` is the message to show."""

    exit_code = 1


class DatabaseLockedError(EscalationInsightsError):
    """The DuckDB file is held for writing by another process."""

    exit_code = 3


class DatabaseUnreadableError(EscalationInsightsError):
    """The database file is corrupt, from a newer release, or not a DuckDB file."""

    exit_code = 4


class StorageFullError(EscalationInsightsError):
    """The disk holding the database (or DuckDB's temporary folder) ran out of space."""

    exit_code = 6


class ExportFormatError(EscalationInsightsError):
    """An export file cannot be read at all (format, encoding, empty, no header...)."""

    exit_code = 2


class MappingError(EscalationInsightsError):
    """The column mapping does not produce the required columns, or a mapping file is invalid."""

    exit_code = 2


class UnknownPresetError(MappingError):
    """A preset name that does not exist."""


class ImportNotFoundError(EscalationInsightsError):
    """An import id that is not in the provenance table."""


class PermissionDeniedError(EscalationInsightsError):
    """The signed-in user's role does not allow this action."""

    exit_code = 5


class ConflictError(EscalationInsightsError):
    """Someone else saved the same record since it was loaded (optimistic concurrency)."""


class NotEnoughDataError(EscalationInsightsError):
    """An analysis needs more data than the current filter holds."""


class WorkflowError(EscalationInsightsError):
    """A workflow transition that is not allowed (e.g. verifying a finding never sent to policy)."""


class EmbeddingUnavailableError(EscalationInsightsError):
    """The configured sentence-embedding model cannot be loaded."""


class EngineError(EscalationInsightsError):
    """The analytics engine (ESC_BACKEND) is misconfigured or cannot be reached."""

    exit_code = 7
