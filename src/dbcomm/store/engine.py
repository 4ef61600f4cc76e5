"""Opening the database: SQLite in WAL mode, foreign keys on, clear errors."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dbcomm.domain.roles import Actor
from dbcomm.errors import BusyError, DatabaseOpenError, UserError
from dbcomm.i18n import _

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 8.0


def _check_file(path: Path) -> None:
    if path.exists():
        if path.is_dir():
            raise DatabaseOpenError(
                _("{path} is a folder, not a database file.").format(path=path), "not_a_database"
            )
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
        if head and head != SQLITE_MAGIC:
            raise DatabaseOpenError(
                _("{path} is not a dbcomm database (it is some other kind of file). "
                  "Nothing was changed in it.").format(path=path),
                "not_a_database",
            )
        if os.access(path, os.W_OK) and not os.access(path.parent, os.W_OK):
            raise DatabaseOpenError(
                _("The folder {folder} is read-only, and dbcomm needs to write its journal beside the "
                  "database. Move the database to a folder where you may write.").format(folder=path.parent),
                "read_only",
            )
        if not os.access(path, os.W_OK):
            raise DatabaseOpenError(
                _("The database file {path} is read-only. Copy it to a folder where you may "
                  "write (for example Documents), or ask for write permission.").format(path=path),
                "read_only",
            )
    else:
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseOpenError(
                _("Cannot create the folder {path}: {error}").format(path=parent, error=exc),
                "read_only",
            ) from exc
        if not os.access(parent, os.W_OK):
            raise DatabaseOpenError(
                _("Cannot create a database in {path}: the folder is read-only.").format(
                    path=parent
                ),
                "read_only",
            )


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun explicitly below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # A writer takes the write lock up front so that a second instance
        # waits (busy timeout) instead of failing half-way through.
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def translate_db_error(exc: Exception) -> UserError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return BusyError(
            _("The database is busy: another dbcomm window is saving. Nothing was saved; "
              "try again in a moment.")
        )
    if "readonly" in text or "read-only" in text:
        return DatabaseOpenError(
            _("The database has become read-only; nothing was saved. Check the disk and the "
              "file's permissions."),
            "read_only",
        )
    if "disk" in text and "full" in text:
        return UserError(_("The disk is full; nothing was saved. Free some space and try again."))
    return UserError(_("The database reported an error; nothing was saved: {error}").format(error=exc))


class Database:
    """One open database: the engine and the two kinds of session (read, write)."""

    def __init__(self, path: Path):
        self.path = Path(path).resolve()
        _check_file(self.path)
        # Who is working: set at login (services.auth); None before anyone logged in.
        self.actor: Actor | None = None
        self.accounts_exist: bool | None = None  # cached by services.auth
        self.engine = make_engine(self.path)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(sqlite_immediate=True), expire_on_commit=False
        )

    @property
    def attachments_dir(self) -> Path:
        from dbcomm.paths import attachments_dir_for

        return attachments_dir_for(self.path)

    @contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with self._read() as session:
                yield session
        except (OperationalError, SADatabaseError) as exc:
            raise translate_db_error(exc) from exc

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction: everything inside is saved together, or nothing is."""
        try:
            with self._write.begin() as session:
                yield session
        except (OperationalError, SADatabaseError) as exc:
            raise translate_db_error(exc) from exc

    def close(self) -> None:
        self.engine.dispose()
