"""Opening a database for use: checks, migrations (with a safety copy), shipped data."""

from __future__ import annotations

from pathlib import Path

from dbcomm.paths import default_db_path
from dbcomm.store.engine import Database
from dbcomm.store.migrate import upgrade


def open_database(path: Path | str | None = None) -> Database:
    """Open (creating if needed) and migrate the database; raise DatabaseOpenError with a clear message."""
    from sqlalchemy.exc import DatabaseError as SADatabaseError

    from dbcomm.errors import DatabaseOpenError
    from dbcomm.i18n import _
    from dbcomm.services import backup
    from dbcomm.services.orgs import ensure_shipped_orgs
    from dbcomm.services.plans import ensure_shipped_plan
    from dbcomm.store.engine import translate_db_error

    target = Path(path) if path else default_db_path()
    existed = target.is_file() and target.stat().st_size > 0
    db = Database(target)
    try:
        if existed:
            backup.check_at_open(db)  # DatabaseOpenError("damaged") before anything is written
        upgrade(db, safety_copy=backup.before)
        ensure_shipped_plan(db)
        ensure_shipped_orgs(db)
        if existed:
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


def _daily_backup(db: Database) -> None:
    """The backup of the day; a failure (disk full, folder read-only) must not stop the work."""
    import logging

    from dbcomm.errors import UserError
    from dbcomm.services import backup

    try:
        backup.daily(db)
    except (UserError, OSError) as exc:
        logging.getLogger(__name__).warning("daily backup failed: %s", exc)
