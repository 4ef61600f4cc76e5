"""Schema migrations, run automatically at start-up with a copy of the file taken first."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from dbcomm.errors import DatabaseOpenError
from dbcomm.i18n import _
from dbcomm.store.engine import BUSY_TIMEOUT_S, Database, translate_db_error

# The newest revision this version of dbcomm knows (a test checks it against the scripts).
HEAD_REVISION = "0008"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Schema comparison skips the search index, which the models do not describe."""
    return not (type_ == "table" and name and name.startswith("activity_fts"))


def current_revision(db: Database) -> str | None:
    """The schema revision of the file: None for a new file, "" for somebody else's database.

    Read through a plain connection rather than the engine: the engine switches the file to
    WAL mode on connect, which rewrites its header, and a file that turns out not to be ours
    (or to be too new) must be left exactly as it was.
    """
    if db.is_server:
        return _server_revision(db)
    if not db.path.is_file() or db.path.stat().st_size == 0:
        return None
    try:
        con = sqlite3.connect(db.path.as_uri() + "?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise translate_db_error(exc) from exc
    try:
        tables = {
            name
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if "alembic_version" not in tables:
            return "" if tables else None
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise DatabaseOpenError(
                _("{path} is damaged or is not a dbcomm database. Nothing was changed in it.").format(
                    path=db.path
                ),
                "not_a_database",
            ) from exc
        raise translate_db_error(exc) from exc
    finally:
        con.close()


def _server_revision(db: Database) -> str | None:
    """The same answer for a server database; connection problems become plain messages."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import DBAPIError

    try:
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" not in tables:
                return "" if tables else None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return row[0] if row else None
    except DBAPIError as exc:
        raise server_open_error(db, exc) from exc


def server_open_error(db: Database, exc: Exception) -> DatabaseOpenError:
    """Why a server database cannot be opened, in words an office can pass on."""
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else ""
    low = str(exc).lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return DatabaseOpenError(_("The database server {server} refused the user name or password. Check the "
                                   "address, or the password file of this computer.").format(server=db.label),
                                 "server_login")
    if "does not exist" in low and "database" in low:
        return DatabaseOpenError(_("The database server has no database called “{name}”. Ask whoever set up "
                                   "the server to create it (see the deployment guide).").format(
                                       name=db.url.database if db.url else ""), "server_no_database")
    if "permission denied" in low:
        return DatabaseOpenError(_("The database server {server} does not allow this user to work in that "
                                   "database: {reason}").format(server=db.label, reason=reason), "server_denied")
    return DatabaseOpenError(_("The database server {server} cannot be reached: {reason}. Check that the server "
                               "is on and the network works, then start dbcomm again.").format(
                                   server=db.label, reason=reason), "server_unreachable")


def _alembic_config(connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    return {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}


def backup_copy(db: Database, label: str) -> Path:
    """A consistent copy of the database file (SQLite online backup)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = db.path.with_name(f"{db.path.stem}.{label}-{stamp}.sqlite3")
    src = sqlite3.connect(db.path)
    try:
        dst = sqlite3.connect(target)
        with dst:
            src.backup(dst)
        dst.close()
    finally:
        src.close()
    return target


def upgrade(db: Database, safety_copy: Callable[[Database, str], Path | None] | None = None) -> Path | None:
    """Bring the schema to HEAD.  Returns the path of the safety copy, if one was taken.

    ``safety_copy(db, "migration-<rev>")`` takes the copy (the app passes
    ``services.backup.before``); without it, a plain copy is made beside the file.
    """
    rev = current_revision(db)
    if rev == HEAD_REVISION:
        return None
    if rev == "":
        if db.is_server:
            raise DatabaseOpenError(
                _("The database {server} belongs to another application (it has tables, but not dbcomm's). "
                  "Nothing was changed in it. Give dbcomm a database of its own.").format(server=db.label),
                "not_a_database",
            )
        raise DatabaseOpenError(
            _("{path} is an SQLite database, but not one made by dbcomm. Nothing was changed "
              "in it.").format(path=db.path),
            "not_a_database",
        )
    if rev is not None and rev not in known_revisions():
        raise DatabaseOpenError(
            _("This database was written by a newer version of dbcomm (schema {rev}). Install "
              "that version to open it; nothing was changed.").format(rev=rev),
            "newer_version",
        )
    copy = None
    if db.is_server:
        _upgrade_server(db)
        return None
    if rev is not None:
        copy = (safety_copy(db, f"migration-{HEAD_REVISION}") if safety_copy
                else backup_copy(db, f"before-{HEAD_REVISION}"))
    from alembic import command

    with db.engine.execution_options(sqlite_immediate=True).begin() as conn:
        # Check again under the write lock: another instance may have just migrated.
        again = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='alembic_version'")).first()
        if again is not None:
            done = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if done == HEAD_REVISION:
                return copy
        command.upgrade(_alembic_config(conn), "head")
    return copy


def _upgrade_server(db: Database) -> None:
    """Migrate a server database. Its backups are the server's (pg_dump, see the deployment guide)."""
    from alembic import command
    from sqlalchemy.exc import DBAPIError

    try:
        with db.engine.execution_options(sqlite_immediate=True).begin() as conn:
            # Under the write lock: another workstation may have just migrated it.
            done = None
            if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is not None:
                done = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if done != HEAD_REVISION:
                command.upgrade(_alembic_config(conn), "head")
    except DBAPIError as exc:
        raise server_open_error(db, exc) from exc
