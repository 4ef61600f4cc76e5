"""Opening the database: SQLite in WAL mode (one file), or a shared PostgreSQL server; clear errors.

Writers are serialised on both: SQLite's ``BEGIN IMMEDIATE`` takes the file's write lock, and on
PostgreSQL every write transaction first takes one transaction-level advisory lock. The audit
chain, document numbering and the version checks of optimistic locking rely on that order.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dbcomm.domain.roles import Actor
from dbcomm.errors import BusyError, DatabaseOpenError, ServerUnavailableError, UserError
from dbcomm.i18n import _

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 8.0
SERVER_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")
WRITE_LOCK_KEY = 386_2030  # the advisory lock that serialises writers on a server
CONNECT_TIMEOUT_S = 5


def is_server_url(target: object) -> bool:
    return isinstance(target, str) and target.strip().lower().startswith(SERVER_SCHEMES)


def server_url(text: str) -> URL:
    """The SQLAlchemy URL of a ``postgresql://`` address, with dbcomm's driver."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    raw = text.strip()
    if raw.lower().startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise DatabaseOpenError(_("“{url}” is not a valid database server address. It looks like "
                                  "postgresql://user@server/database.").format(url=text), "bad_url") from exc
    if url.get_backend_name() != "postgresql" or not url.database:
        raise DatabaseOpenError(_("“{url}” is not a valid database server address. It looks like "
                                  "postgresql://user@server/database.").format(url=text), "bad_url")
    return url.set(drivername="postgresql+psycopg")


def server_label(url: URL) -> str:
    """The address as shown to people: never the password."""
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    user = f"{url.username}@" if url.username else ""
    return f"postgresql://{user}{host}{port}/{url.database}"


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


CACHE_KIB = 32 * 1024


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
        # Up to 32 MB of pages kept per connection (SQLite's default is 2 MB): a write of
        # thousands of activities touches the register's sort and search indexes all over, and
        # with the small cache it spills pages to the file and reads them back (a 20,000-row
        # import: 1.7 s of inserts with the default, 1.1 s with this).  Taken only as used.
        cur.execute(f"PRAGMA cache_size={-CACHE_KIB}")
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


def make_server_engine(url: URL) -> Engine:
    engine = create_engine(
        url, pool_pre_ping=True, pool_size=2, max_overflow=4,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "dbcomm"},
    )

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")

    return engine


SERVER_GONE = ("could not connect", "connection refused", "server closed the connection", "terminating connection",
               "connection timeout", "timeout expired", "connection is closed", "the connection is lost",
               "could not translate host name", "no route to host", "network is unreachable",
               "consuming input failed", "server conn crashed", "the database system is")


def translate_db_error(exc: Exception) -> UserError:
    text = str(exc).lower()
    if any(marker in text for marker in SERVER_GONE):
        return ServerUnavailableError(
            _("The database server cannot be reached; nothing was saved. Check the network cable or ask "
              "whoever looks after the server; dbcomm reconnects by itself when the server is back."))
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

    def __init__(self, target: Path | str):
        # Who is working: set at login (services.auth); None before anyone logged in.
        self.actor: Actor | None = None
        self.accounts_exist: bool | None = None  # cached by services.auth
        self.url: URL | None = None
        self.shared_attachments: Path | None = None  # set from the server's settings at opening
        if is_server_url(target):
            self.url = server_url(str(target))
            self.label = server_label(self.url)
            # This workstation's own folder for the server database (its copies of evidence files).
            from dbcomm.paths import server_folder

            self.path = server_folder(self.url.host or "localhost", self.url.port, self.url.database or "")
            self.engine = make_server_engine(self.url)
        else:
            self.path = Path(target).resolve()
            _check_file(self.path)
            self.label = str(self.path)
            self.engine = make_engine(self.path)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(sqlite_immediate=True), expire_on_commit=False
        )

    @property
    def is_server(self) -> bool:
        """A shared PostgreSQL server rather than one SQLite file on this computer."""
        return self.url is not None

    @property
    def attachments_dir(self) -> Path:
        """Evidence files: beside the database file; for a server, the office's shared folder when
        one is set (``shared_attachments``), else this workstation's own folder."""
        from dbcomm.paths import attachments_dir_for

        if self.shared_attachments is not None:
            return self.shared_attachments
        return attachments_dir_for(self.path)

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Session]:
        """A session for reading.  ``snapshot``: every query inside sees the database as it was
        at the first one, whatever others save meanwhile (a long export read page by page).
        SQLite's read transaction is such a snapshot already; PostgreSQL's default is not."""
        try:
            with self._read() as session:
                if snapshot and self.engine.dialect.name == "postgresql":
                    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
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
