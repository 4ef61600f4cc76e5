"""Errors a person can act on.  ``str(error)`` is a translated, complete sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbcomm.domain.models import ConflictDetails
    from dbcomm.domain.validation import FieldError


class UserError(Exception):
    """Something the user can understand and fix; the message is already translated."""


class ValidationFailed(UserError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("\n".join(e.message for e in errors))

    def for_field(self, field: str) -> list[str]:
        return [e.message for e in self.errors if e.field == field]


class DatabaseOpenError(UserError):
    """The database cannot be opened: not a database, read-only, too new, locked…"""

    def __init__(self, message: str, reason: str):
        self.reason = reason
        super().__init__(message)


class BusyError(UserError):
    pass


class ServerUnavailableError(UserError):
    """The shared database server cannot be reached (down, network, restarted)."""


class ConflictError(UserError):
    """Somebody else saved the record since it was opened (version counter moved).

    ``details`` (when known): who saved it and when, the version now stored, and each field
    whose saved value differs from the one being saved, as ``(label, mine, theirs)`` texts.
    """

    def __init__(self, message: str, details: ConflictDetails | None = None):
        self.details = details
        super().__init__(message)


class NotFoundError(UserError):
    pass


class AttachmentError(UserError):
    pass


class ImportFileError(UserError):
    """A file to import is unreadable or malformed: nothing was imported."""


class PermissionDenied(UserError):
    """The person's role does not allow the action (checked in the service layer)."""


class AuthError(UserError):
    """Wrong user name or password, a locked or disabled account."""


class PeriodLockedError(UserError):
    """The activity belongs to a period that was submitted, approved or locked."""
