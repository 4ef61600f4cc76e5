"""This computer's choice of database: its own file, or a shared PostgreSQL server.

The choice is one line in the user data folder (``paths.server_setting_file``): the server's
address without a password. A password goes into the PostgreSQL password file of the person's
account (``~/.pgpass``, or ``%APPDATA%\\postgresql\\pgpass.conf`` on Windows, or ``PGPASSFILE``),
which the server's client library reads by itself; on Linux and macOS it is made readable by its
owner only. Used by ``dbcomm server use`` / ``local`` and by the window's server dialog.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dbcomm.errors import DatabaseOpenError, UserError
from dbcomm.i18n import _, format_number
from dbcomm.store.engine import Database, is_server_url, server_url

DEFAULT_PORT = 5432


@dataclass(frozen=True)
class ServerAddress:
    """A server address in parts, as the dialog shows them."""

    host: str = ""
    port: int = DEFAULT_PORT
    database: str = "dbcomm"
    user: str = "dbcomm"
    password: str = ""

    @classmethod
    def parse(cls, text: str) -> ServerAddress:
        """The parts of ``postgresql://user[:password]@host[:port]/database``; DatabaseOpenError
        (reason ``bad_url``) when it is not such an address."""
        try:
            url = _plain_url(text)
        except ValueError as exc:  # e.g. a port that is not a number
            raise _bad_address(text) from exc
        return cls(host=url.host or "", port=url.port or DEFAULT_PORT, database=url.database or "",
                   user=url.username or "", password=url.password or "")

    def address(self, *, with_password: bool = False) -> str:
        """The address as text; without the password unless asked for (only for connecting)."""
        from sqlalchemy import URL

        url = URL.create("postgresql", username=self.user.strip() or None,
                         password=(self.password or None) if with_password else None,
                         host=self.host.strip() or None, port=self.port or None,
                         database=self.database.strip() or None)
        return url.render_as_string(hide_password=False)

    def problems(self) -> list[str]:
        """What is missing, in plain words (empty when the address is complete)."""
        missing = []
        if not self.host.strip():
            missing.append(_("Enter the server's name or address (for example 192.168.1.10)."))
        if not self.database.strip():
            missing.append(_("Enter the name of the database on the server (usually dbcomm)."))
        if not self.user.strip():
            missing.append(_("Enter the user name on the server (usually dbcomm)."))
        if not 0 < self.port < 65536:
            missing.append(_("The port is a number between 1 and 65535 (usually 5432)."))
        return missing


def _plain_url(text: str):  # type: ignore[no-untyped-def]
    """The address as a SQLAlchemy URL with the plain ``postgresql`` scheme (bad_url if it is not one)."""
    url = server_url(text)  # checks the scheme and the database name
    return url.set(drivername="postgresql")


def _bad_address(text: str) -> DatabaseOpenError:
    return DatabaseOpenError(_("“{url}” is not a valid database server address. It looks like "
                               "postgresql://user@server/database.").format(url=text), "bad_url")


# --- which database this computer opens ---------------------------------------------------


@dataclass(frozen=True)
class CurrentChoice:
    """What this computer opens, and why."""

    server: str | None  # the saved server address (no password), or None: the file
    file: Path  # the database file on this computer
    overridden_by: str | None  # DBCOMM_DATABASE, when IT staff set it (it wins over the choice)


def current_choice() -> CurrentChoice:
    from dbcomm.paths import default_db_path, server_setting_file

    try:
        saved = server_setting_file().read_text(encoding="utf-8").strip()
    except OSError:
        saved = ""
    forced = os.environ.get("DBCOMM_DATABASE", "").strip() or None
    return CurrentChoice(server=saved if is_server_url(saved) else None, file=default_db_path(),
                         overridden_by=forced)


@dataclass(frozen=True)
class ServerCheck:
    """What ``check_server`` found: ``state`` is ``empty`` (no tables yet), ``set_up`` (dbcomm's
    tables but no office's work) or ``in_use`` (an office's data)."""

    label: str
    state: str
    activity_count: int

    @property
    def message(self) -> str:
        if self.state == "empty":
            return _("Connected to {server}. The database is empty: dbcomm sets it up when it first opens it, "
                     "and this office's data can be copied onto it.").format(server=self.label)
        if self.state == "set_up":
            return _("Connected to {server}. dbcomm is set up in this database, but no office has worked in "
                     "it yet: this office's data can be copied onto it.").format(server=self.label)
        return _("Connected to {server}. The database already holds an office's data ({n} activities). "
                 "Saving makes this computer work on it together with the other workstations.").format(
                     server=self.label, n=format_number(self.activity_count))


def check_server(address: str) -> ServerCheck:
    """Connect and look, changing nothing: DatabaseOpenError with a plain reason when the server
    cannot be used (``bad_url``, ``server_unreachable``, ``server_login``, ``server_no_database``,
    ``server_denied``, ``not_a_database``, ``newer_version``)."""
    from sqlalchemy.exc import DBAPIError

    from dbcomm.services.server_copy import office_rows
    from dbcomm.store.migrate import current_revision, known_revisions, server_open_error

    if not is_server_url(address):
        raise _bad_address(address)
    ServerAddress.parse(address)  # a plain message for a malformed address
    db = Database(address)
    try:
        revision = current_revision(db)
        if revision == "":
            raise DatabaseOpenError(
                _("The database {server} belongs to another application (it has tables, but not dbcomm's). "
                  "Nothing was changed in it. Give dbcomm a database of its own.").format(server=db.label),
                "not_a_database")
        if revision is not None and revision not in known_revisions():
            raise DatabaseOpenError(
                _("This database was written by a newer version of dbcomm (schema {rev}). Install "
                  "that version to open it; nothing was changed.").format(rev=revision), "newer_version")
        if revision is None:
            return ServerCheck(db.label, "empty", 0)
        try:
            with db.engine.connect() as conn:
                found = office_rows(conn)
        except DBAPIError as exc:
            raise server_open_error(db, exc) from exc
        return ServerCheck(db.label, "in_use" if found else "set_up", found.get("activity", 0))
    finally:
        db.close()


@dataclass(frozen=True)
class ServerChoice:
    label: str  # the server as shown (no password)
    address: str  # what was saved
    password_file: Path | None  # where the password was put, if one was given


def use_server(address: str, password: str | None = None) -> ServerChoice:
    """Check the server (setting up dbcomm's tables on first use), then remember it for this
    computer. A password (given, or found in the address) goes into the PostgreSQL password file,
    never into dbcomm's setting. Nothing is saved when the check fails."""
    from dbcomm.paths import server_setting_file
    from dbcomm.services.database import open_database
    from dbcomm.services.files import atomic_write_text

    if not is_server_url(address):
        raise _bad_address(address)
    parts = ServerAddress.parse(address)
    secret = password or parts.password
    saved = address.strip() if not parts.password else ServerAddress(
        parts.host, parts.port, parts.database, parts.user).address()
    connect = ServerAddress(parts.host, parts.port, parts.database, parts.user, secret).address(
        with_password=True) if secret else saved
    db = open_database(connect)  # reachable, dbcomm's (or empty: set up now), not too new
    label = db.label
    db.close()
    stored = store_password(parts, secret) if secret else None
    atomic_write_text(server_setting_file(), saved + "\n")
    return ServerChoice(label, saved, stored)


def use_local_file() -> Path:
    """Forget the server: this computer opens its own database file again (returned)."""
    from dbcomm.paths import default_db_path, server_setting_file

    try:
        server_setting_file().unlink(missing_ok=True)
    except OSError as exc:
        raise UserError(_("Could not change {path}: {error}").format(
            path=server_setting_file(), error=exc.strerror or exc)) from exc
    return default_db_path()


# --- the PostgreSQL password file ----------------------------------------------------------


def password_file() -> Path:
    """The password file the server's client library reads for this account."""
    chosen = os.environ.get("PGPASSFILE", "").strip()
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", str(Path.home()))) / "postgresql" / "pgpass.conf"
    return Path.home() / ".pgpass"


def _escape(field: str) -> str:
    return field.replace("\\", "\\\\").replace(":", "\\:")


def store_password(address: ServerAddress, password: str) -> Path:
    """Put (or replace) the line for this server, database and user in the password file."""
    path = password_file()
    key = ":".join(_escape(f) for f in (address.host.strip(), str(address.port or DEFAULT_PORT),
                                        address.database.strip(), address.user.strip()))
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    except OSError as exc:
        raise UserError(_("Could not read the password file {path}: {error}. Nothing was saved.").format(
            path=path, error=exc.strerror or exc)) from exc
    kept = [line for line in lines if not line.startswith(key + ":")]
    kept.append(f"{key}:{_escape(password)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".pgpass.", dir=path.parent)  # created readable by its owner only
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write("\n".join(kept) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            if sys.platform != "win32":
                os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    except OSError as exc:
        raise UserError(_("Could not write the password file {path}: {error}. Nothing was saved.").format(
            path=path, error=exc.strerror or exc)) from exc
    return path
