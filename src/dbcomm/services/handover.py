"""Hand-over: the whole office (database, settings, evidence files) in one file, for a new PC.

The hand-over file is a backup file (see services/backup.py) of kind "handover" that always
carries the evidence files; settings, accounts and the audit trail are in the database.  It
is imported into a new, empty database with the same checks as a restore: a truncated file,
a file that is not a backup and a file from a newer dbcomm are refused and nothing changes.
"""

from __future__ import annotations

from pathlib import Path

from dbcomm.errors import UserError
from dbcomm.i18n import _, format_number
from dbcomm.services import backup
from dbcomm.services.backup import BackupInfo, Clock, PathLike, RestoreResult
from dbcomm.store.engine import Database


class NotEmptyError(UserError):
    """The target database already holds activities: the caller must confirm replacing them."""

    def __init__(self, path: Path, count: int):
        self.count = count
        super().__init__(_(
            "The database {path} already holds {n} activities. A hand-over file is imported into "
            "a new, empty database; to replace these activities with the hand-over, confirm the "
            "replacement (a backup of them is taken first).").format(path=path, n=format_number(count)))


def suggested_name(db: Database, clock: Clock | None = None) -> str:
    from dbcomm.services import settings

    return backup.suggested_name(settings.get_office(db).name, (clock or backup.now)(), "handover")


def export(db: Database, target: PathLike, *, clock: Clock | None = None) -> BackupInfo:
    """Write the hand-over file: checked, flushed, read back, renamed into place."""
    return backup.backup_to(db, target, kind="handover", clock=clock)


def inspect(source: PathLike) -> BackupInfo:
    """Check a hand-over file completely before anything changes."""
    return backup.inspect(source)


def import_file(db_path: PathLike, source: PathLike, *, replace_existing: bool = False,
                accept_other_office: bool = False, clock: Clock | None = None) -> RestoreResult:
    """Make ``db_path`` (new, or without activities) hold the office from ``source``.

    The caller closes any ``Database`` on ``db_path`` first and opens it again afterwards.
    A database with activities is replaced only with ``replace_existing`` (after a backup
    of it); another office's name is then asked about as for a restore.  Into an empty
    database the office name is not asked about: there is nothing to lose.
    """
    path = Path(db_path).resolve()
    existing = backup.activity_count_at(path)
    if existing and not replace_existing:
        raise NotEmptyError(path, existing)
    return backup.restore(path, source, accept_other_office=accept_other_office or not existing,
                          safety_reason="handover-import", clock=clock)
