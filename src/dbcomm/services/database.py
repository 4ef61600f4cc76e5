"""Opening a database for use: checks, migrations (with a safety copy), shipped data."""

from __future__ import annotations

from pathlib import Path

from dbcomm.paths import default_database
from dbcomm.store.engine import Database
from dbcomm.store.migrate import upgrade


def open_database(path: Path | str | None = None, *, defer_daily: bool = False) -> Database:
    """Open (creating if needed) and migrate the database; raise DatabaseOpenError with a clear message.

    With ``defer_daily`` (the window), the integrity check and the daily backup are left to
    ``daily_checks``, which the window runs in the background as soon as the register is on
    screen (0.3–5 s at 100,000 activities: too long to make a person wait for the window).
    """
    from sqlalchemy.exc import DatabaseError as SADatabaseError

    from dbcomm.errors import DatabaseOpenError
    from dbcomm.i18n import _
    from dbcomm.services import backup
    from dbcomm.services.orgs import ensure_shipped_orgs
    from dbcomm.services.plans import ensure_shipped_plan
    from dbcomm.store.engine import is_server_url, translate_db_error

    target: Path | str = default_database() if not path else path if is_server_url(path) else Path(path)
    if is_server_url(target):
        return _open_server(str(target))
    assert isinstance(target, Path)
    existed = target.is_file() and target.stat().st_size > 0
    db = Database(target)
    try:
        if existed and not defer_daily:
            backup.check_at_open(db)  # DatabaseOpenError("damaged") before anything is written
        upgrade(db, safety_copy=backup.before)
        ensure_shipped_plan(db)
        ensure_shipped_orgs(db)
        if existed and not defer_daily:
            _daily_backup(db)
    except SADatabaseError as exc:
        db.close()
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise DatabaseOpenError(
                _("{path} is damaged or is not a dbcomm database. Nothing was changed in it.").format(path=db.path),
                "not_a_database",
            ) from exc
        raise translate_db_error(exc) from exc
    except Exception:
        db.close()
        raise
    return db


# The office's shared folder for evidence files, kept in a server database's settings (a network
# share every workstation reaches, e.g. \\may-chu\dbcomm-tep).
SHARED_ATTACHMENTS_KEY = "shared_attachments_folder"


def set_shared_attachments(db: Database, folder: Path | None) -> None:
    """Where every workstation of a server database keeps evidence files (None: each its own)."""
    from dbcomm.domain.roles import Perm
    from dbcomm.errors import UserError
    from dbcomm.i18n import _
    from dbcomm.services import settings
    from dbcomm.services.auth import require

    require(db, Perm.EDIT_SETTINGS)
    if folder is not None and not Path(folder).is_dir():
        raise UserError(_("The folder {folder} cannot be reached from this computer.").format(folder=folder))
    settings.set_value(db, SHARED_ATTACHMENTS_KEY, str(folder) if folder else "")
    db.shared_attachments = Path(folder) if folder else None


def _open_server(url: str) -> Database:
    """A shared server database: migrated under the server's write lock; its backups are the server's."""
    from dbcomm.services import settings
    from dbcomm.services.orgs import ensure_shipped_orgs
    from dbcomm.services.plans import ensure_shipped_plan

    db = Database(url)
    try:
        upgrade(db)
        ensure_shipped_plan(db)
        ensure_shipped_orgs(db)
        shared = settings.get_value(db, SHARED_ATTACHMENTS_KEY)
        if shared:
            db.shared_attachments = Path(shared)
    except Exception:
        db.close()
        raise
    return db


def _daily_backup(db: Database) -> None:
    """The backup of the day; a failure (disk full, folder read-only) must not stop the work."""
    import logging

    from dbcomm.errors import UserError
    from dbcomm.services import backup

    try:
        backup.daily(db)
    except (UserError, OSError) as exc:
        logging.getLogger(__name__).warning("daily backup failed: %s", exc)


def daily_checks(db: Database) -> None:
    """The first start of the day: full integrity check, then the daily backup (known good).

    Raises DamagedDatabaseError (a DatabaseOpenError, reason 'damaged') if the check fails.
    Safe to run in a background thread while the register is in use (WAL readers do not block).
    """
    from dbcomm.services import backup

    if db.is_server:
        return  # the server's own checks and pg_dump backups (docs/deployment.md)
    if backup.has_daily_backup(db.path, backup.now().date()):
        backup.check_quick(db)
        return
    backup.check_at_open(db)
    _daily_backup(db)


def restore_and_open(db_path: Path, source: Path, actor: object | None, *, handover_import: bool = False):  # type: ignore[no-untyped-def]
    """Replace the (closed) database at ``db_path`` with a backup or hand-over file, open the result,
    and record the restore in its audit trail.  Returns (RestoreResult, opened Database)."""
    from dbcomm.services import backup, handover

    if handover_import:
        result = handover.import_file(db_path, source, replace_existing=True, accept_other_office=True)
    else:
        result = backup.restore(db_path, source, accept_other_office=True)
    new_db = open_database(db_path)
    try:
        backup.note_restore(new_db, actor, result)  # type: ignore[arg-type]
    except BaseException:
        new_db.close()
        raise
    return result, new_db
