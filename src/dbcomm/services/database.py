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
    from dbcomm.services.orgs import ensure_shipped_orgs
    from dbcomm.services.plans import ensure_shipped_plan
    from dbcomm.store.engine import translate_db_error

    db = Database(Path(path) if path else default_db_path())
    try:
        upgrade(db)
        ensure_shipped_plan(db)
        ensure_shipped_orgs(db)
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
