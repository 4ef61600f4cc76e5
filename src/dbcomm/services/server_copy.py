"""Copying an office's database file onto a shared PostgreSQL server (``dbcomm server copy``).

Every table is copied as it is — identifiers, versions, the audit trail with its hash chain, the
reports' stored and signed PDFs, settings, accounts, received packages — from one consistent
snapshot of the file, into an empty server database, in one transaction taken under the server's
write lock. Foreign keys and secondary indexes are set aside during the load and made again, in
bulk, at its end (as pg_restore does). Before it is committed the copy is checked: the same number
of rows in every table, and the audit trail gives the same verdict as the file's. Then one audit
entry records the copy.
The file itself is not changed. Cancelling, or any failure, leaves the server database as it was.

Evidence files are files, not rows: they go to the office's shared folder for evidence files when
one is given or already set in the server's settings, else to this computer's own folder for the
server (other workstations then cannot open them until a shared folder is set and they are copied
there); the result says which.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Table, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from dbcomm.domain.roles import Actor, Perm
from dbcomm.errors import UserError
from dbcomm.i18n import _, format_number
from dbcomm.services.audit import ChainReport
from dbcomm.services.database import SHARED_ATTACHMENTS_KEY
from dbcomm.store.engine import Database, is_server_url, translate_db_error
from dbcomm.store.models import AppSetting, Attachment, AuditEntry, Base, Organisation, Plan

BATCH = 2000
# What dbcomm writes by itself into a new database (the shipped plan and directory, the audit
# entry of the plan's import and the chain's head): a database holding only that is still empty.
SET_UP_TABLES = ("plan", "comm_form", "programme", "plan_node", "indicator", "indicator_target",
                 "organisation", "audit_entry", "app_setting")
SET_UP_SETTINGS = frozenset({"audit_head", SHARED_ATTACHMENTS_KEY})

Progress = Callable[[int, int], None]
IsCancelled = Callable[[], bool]


class CopyCancelled(UserError):
    """The person stopped the copy: nothing was written to the server."""


@dataclass(frozen=True)
class CopyResult:
    source: str  # the file, as shown
    server: str  # the server database, as shown (no password)
    rows: dict[str, int]  # rows copied, per table
    audit: ChainReport  # the copy's audit trail, checked before it was committed
    files_folder: Path  # where the evidence files went
    files_shared: bool  # the office's shared folder (else this computer's own folder for the server)
    files_copied: int = 0
    files_present: int = 0  # already there, same content
    files_missing: list[str] = field(default_factory=list)  # names of files not found on this computer
    seconds: float = 0.0

    @property
    def activities(self) -> int:
        return self.rows.get("activity", 0)

    @property
    def message(self) -> str:
        lines = [_("Copied {file} onto {server}: {n} activities, {reports} reports, {entries} audit entries, "
                   "{rows} rows in all. Every table was counted again on the server before the copy was "
                   "saved.").format(file=self.source, server=self.server, n=format_number(self.activities),
                                   reports=format_number(self.rows.get("report", 0)),
                                   entries=format_number(self.rows.get("audit_entry", 0)),
                                   rows=format_number(sum(self.rows.values()))),
                 self.audit.message]
        files = self.files_copied + self.files_present
        if self.files_shared:
            lines.append(_("Evidence files: {n} in the office's shared folder {folder}.").format(
                n=format_number(files), folder=self.files_folder))
        elif files:
            lines.append(_("Evidence files: {n} copied to this computer's folder {folder}. The other "
                           "workstations cannot open them until an administrator sets the office's shared "
                           "folder (dbcomm server files FOLDER) and copies that folder's content into "
                           "it.").format(n=format_number(files), folder=self.files_folder))
        if self.files_missing:
            lines.append(_("{n} evidence files were not found on this computer and could not be copied: "
                           "{names}.").format(n=format_number(len(self.files_missing)),
                                              names=", ".join(self.files_missing[:10])))
        return "\n".join(lines)


def office_rows(conn: Connection) -> dict[str, int]:
    """The tables of a dbcomm database holding an office's rows, with how many (none: it is
    empty, or holds only what dbcomm writes by itself into a new database)."""
    import importlib.resources as resources

    from dbcomm.services.orgs import SHIPPED_ORGS

    present = set(inspect(conn).get_table_names())
    found: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in present and table.name not in SET_UP_TABLES:
            n = conn.execute(select(func.count()).select_from(table)).scalar_one()
            if n:
                found[table.name] = n
    if "plan" in present:
        n = conn.execute(select(func.count()).select_from(Plan)).scalar_one()
        if n > 1:
            found["plan"] = n
    if "organisation" in present:
        shipped = len(json.loads(resources.files("dbcomm.data").joinpath(SHIPPED_ORGS).read_text("utf-8"))
                      ["organisations"])
        n = conn.execute(select(func.count()).select_from(Organisation)).scalar_one()
        if n > shipped:
            found["organisation"] = n
    if "audit_entry" in present:
        n = conn.execute(select(func.count()).select_from(AuditEntry).where(
            (AuditEntry.action != "import") | (AuditEntry.entity != "plan"))).scalar_one()
        if n:
            found["audit_entry"] = n
    if "app_setting" in present:
        n = conn.execute(select(func.count()).select_from(AppSetting).where(
            AppSetting.key.not_in(SET_UP_SETTINGS))).scalar_one()
        if n:
            found["app_setting"] = n
    return found


class _Within:
    """Reads inside an open transaction, for ``services.audit.verify`` (which reads through
    ``db.read()``): the copy is checked before it is committed."""

    def __init__(self, conn: Connection):
        self._conn = conn

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(bind=self._conn) as session:
            yield session


def _verify_chain(conn: Connection) -> ChainReport:
    from dbcomm.services import audit

    return audit.verify(cast(Database, _Within(conn)))


def _not_empty(label: str, found: dict[str, int]) -> UserError:
    if found.get("activity"):
        what = _("{n} activities").format(n=format_number(found["activity"]))
    else:
        what = _("accounts, settings or other records")
    return UserError(_("The database {server} already holds an office's data ({what}). Nothing was copied and "
                       "nothing was changed in it. Copy into a new, empty database (see the deployment "
                       "guide).").format(server=label, what=what))


def _shared_setting(conn: Connection) -> Path | None:
    if "app_setting" not in set(inspect(conn).get_table_names()):
        return None
    raw = conn.execute(select(AppSetting.value).where(AppSetting.key == SHARED_ATTACHMENTS_KEY)).scalar()
    value = json.loads(raw) if raw else ""
    return Path(value) if value else None


def copy_to_server(source: Database, address: str, *, shared_folder: Path | None = None,
                   progress: Progress | None = None, cancelled: IsCancelled | None = None) -> CopyResult:
    """Copy the whole database file ``source`` into the empty server database at ``address``
    (which may carry a password, used only to connect). ``shared_folder``: the office's shared
    folder for evidence files, recorded in the server's settings. Raises UserError (nothing
    changed on the server) when the copy cannot be made, CopyCancelled when ``cancelled()``."""
    from dbcomm.services.auth import require
    from dbcomm.store.migrate import server_open_error, upgrade

    began = time.perf_counter()
    actor = require(source, Perm.EDIT_SETTINGS)
    if source.is_server:
        raise UserError(_("This window works on a server database already; the copy is made from a "
                          "database file on this computer."))
    if not is_server_url(address):
        raise UserError(_("“{url}” is not a valid database server address. It looks like "
                          "postgresql://user@server/database.").format(url=address))
    if shared_folder is not None and not Path(shared_folder).is_dir():
        raise UserError(_("The folder {folder} cannot be reached from this computer.").format(folder=shared_folder))
    report = _each_percent(progress) if progress else (lambda _done, _total: None)
    stop = cancelled or (lambda: False)
    target = Database(address)
    try:
        upgrade(target)  # dbcomm's tables, nothing else; the plain reasons when it cannot be reached
        try:
            with target.engine.connect() as conn:
                found = office_rows(conn)
                existing_folder = _shared_setting(conn)
        except DBAPIError as exc:
            raise server_open_error(target, exc) from exc
        if found:
            raise _not_empty(target.label, found)
        folder = Path(shared_folder) if shared_folder is not None else existing_folder
        with source.engine.connect() as src, src.begin():  # one snapshot of the file throughout
            tables = _source_tables(src)
            counts = {t.name: src.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}
            checked = {t.name: _count(src, t) for t in tables}
            shas = list(src.execute(select(Attachment.sha256).distinct().order_by(Attachment.sha256)).scalars())
            total = len(shas) + sum(counts.values())
            source_chain = _verify_chain(src)
            report(0, total)
            dest = folder if folder is not None else _own_folder(target)
            copied, present, missing = _copy_files(src, source.attachments_dir, dest, shas, report, stop, total)
            try:
                with target.engine.execution_options(sqlite_immediate=True).begin() as conn:  # the write lock
                    _copy_rows(src, conn, tables, folder, target.label, (len(shas), total), report, stop)
                    chain = _check_copy(conn, tables, checked, source_chain, target.label)
                    _record(conn, actor, f"{source.label} → {target.label}", counts)
            except DBAPIError as exc:
                raise translate_db_error(exc) from exc
        return CopyResult(source=source.label, server=target.label, rows=counts, audit=chain,
                          files_folder=dest, files_shared=folder is not None, files_copied=copied,
                          files_present=present, files_missing=missing,
                          seconds=time.perf_counter() - began)
    finally:
        target.close()


def _each_percent(progress: Progress) -> Progress:
    """Pass progress on once per percent: a window's progress bar needs no more (and each report
    crosses to the window's thread)."""
    last = [-1]

    def report(done: int, total: int) -> None:
        step = 100 * done // total if total else 100
        if step != last[0]:
            last[0] = step
            progress(done, total)

    return report


def _own_folder(target: Database) -> Path:
    from dbcomm.paths import attachments_dir_for

    return attachments_dir_for(target.path)


def _source_tables(src: Connection) -> list[Table]:
    """Every table of the model, in an order that inserts a row after the rows it refers to;
    a table in the file that dbcomm does not know stops the copy (it would be left behind)."""
    known = {t.name for t in Base.metadata.sorted_tables}
    present = {n for n in inspect(src).get_table_names()
               if n != "alembic_version" and not n.startswith(("activity_fts", "sqlite_"))}
    unknown = sorted(present - known)
    if unknown:
        raise UserError(_("The database file has tables this version of dbcomm does not know ({names}); "
                          "nothing was copied.").format(names=", ".join(unknown)))
    return list(Base.metadata.sorted_tables)


def _count(conn: Connection, table: Table) -> int:
    """Rows to compare between the file and the copy (the shared folder's setting is the server's)."""
    query = select(func.count()).select_from(table)
    if table.name == "app_setting":
        query = query.where(table.c.key != SHARED_ATTACHMENTS_KEY)
    return int(conn.execute(query).scalar_one())


def _copy_files(src: Connection, root: Path, dest: Path, shas: list[str], report: Progress,
                stop: IsCancelled, total: int) -> tuple[int, int, list[str]]:
    """Evidence files into ``dest`` (named by content, as everywhere): (copied, already there, missing)."""
    from dbcomm.services import attachments

    copied = present = 0
    missing: list[str] = []
    names: dict[str, str] = {sha: name for sha, name in src.execute(
        select(Attachment.sha256, func.min(Attachment.filename)).group_by(Attachment.sha256)).tuples()}
    for i, sha in enumerate(shas, start=1):
        if stop():
            raise CopyCancelled(_("The copy was cancelled; nothing was written to the server."))
        if attachments.verify(dest, sha):
            present += 1
        elif not attachments.stored_path(root, sha).is_file():
            missing.append(str(names.get(sha) or sha))
        else:
            digest, _size, _mime = attachments.store_file(dest, attachments.stored_path(root, sha), limit=sys.maxsize)
            if digest == sha:
                copied += 1
            else:  # the file on this computer was damaged after it was attached
                missing.append(str(names.get(sha) or sha))
        report(i, total)
    return copied, present, missing


def _copy_rows(src: Connection, conn: Connection, tables: list[Table], folder: Path | None, label: str,
               steps: tuple[int, int], report: Progress, stop: IsCancelled) -> None:
    """Inside the server's transaction: check again that it is empty, then copy every table."""
    done, total = steps
    found = office_rows(conn)  # again, under the write lock: a workstation may have started meanwhile
    if found:
        raise _not_empty(label, found)
    names = [t.name for t in tables]
    quote = conn.dialect.identifier_preparer.quote
    # dbcomm's own set-up rows (shipped plan and directory) make way for the office's.
    conn.execute(text("TRUNCATE " + ", ".join(quote(n) for n in names) + " RESTART IDENTITY"))
    rebuild = _set_aside(conn, names)
    raw = conn.connection.driver_connection
    assert raw is not None
    for table in tables:  # foreign keys are set aside: a row may refer to one copied after it
        columns = [c.name for c in table.columns]
        result = src.execute(select(table).order_by(*table.primary_key.columns))
        with raw.cursor() as cur, cur.copy(f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                                           "FROM STDIN") as copy:
            while batch := result.fetchmany(BATCH):
                if stop():
                    raise CopyCancelled(_("The copy was cancelled; nothing was written to the server."))
                for row in batch:
                    copy.write_row(row)
                done += len(batch)
                report(done, total)
    for statement in rebuild:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql("ANALYZE " + ", ".join(quote(n) for n in names))  # good query plans from the first search
    _advance_sequences(conn, tables)
    if folder is not None:
        conn.execute(text("INSERT INTO app_setting (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE "
                          "SET value = excluded.value"), {"k": SHARED_ATTACHMENTS_KEY, "v": json.dumps(str(folder))})


def _set_aside(conn: Connection, names: list[str]) -> list[str]:
    """Drop the tables' foreign keys and secondary indexes for the load; returns the statements
    that make them again, exactly as they were (the server's own definitions). Checking and
    indexing once at the end, in bulk, is several times faster than row by row (as pg_restore
    does); it all happens inside the copy's transaction, so nobody sees the tables without them."""
    keys = conn.execute(text(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid "
        "WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(:names) "
        "ORDER BY t.relname, c.conname"), {"names": names}).all()
    indexes = conn.execute(text(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(:names) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
        "ORDER BY i.relname"), {"names": names}).all()
    quote = conn.dialect.identifier_preparer.quote
    for table, name, _definition in keys:
        conn.execute(text(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}"))
    for name, _definition in indexes:
        conn.execute(text(f"DROP INDEX {quote(name)}"))
    return ([definition for _name, definition in indexes]
            + [f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
               for table, name, definition in keys])


def _record(conn: Connection, actor: Actor, summary: str, counts: dict[str, int]) -> None:
    """One audit entry on the server, after the copied chain: where the data came from."""
    from dbcomm.services import audit

    with Session(bind=conn) as session:
        audit.record(session, actor, "import", entity="database", summary=summary,
                     changes={"activities": counts.get("activity", 0), "rows": sum(counts.values())})
        session.flush()


def _advance_sequences(conn: Connection, tables: list[Table]) -> None:
    """The server hands out the next identifiers after the copied ones."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].name != "id":
            continue
        quoted = conn.dialect.identifier_preparer.quote(table.name)
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": quoted}).scalar()
        if sequence:
            conn.execute(text(f"SELECT setval(:s, coalesce((SELECT max(id) FROM {quoted}), 0) + 1, false)"),
                         {"s": sequence})


def _check_copy(conn: Connection, tables: list[Table], expected: dict[str, int], source_chain: ChainReport,
                label: str) -> ChainReport:
    """Before committing: every table holds as many rows as in the file, and the audit trail
    gives the same verdict; else nothing is kept."""
    for table in tables:
        got = _count(conn, table)
        if got != expected[table.name]:
            raise UserError(_("The copy on {server} does not hold as many rows as the file in table {table} "
                              "({got} instead of {expected}); nothing was kept on the server.").format(
                                  server=label, table=table.name, got=format_number(got),
                                  expected=format_number(expected[table.name])))
    chain = _verify_chain(conn)
    if (chain.ok, chain.count, chain.bad_id) != (source_chain.ok, source_chain.count, source_chain.bad_id):
        raise UserError(_("The audit trail copied onto {server} does not check out as it does in the file "
                          "({message}); nothing was kept on the server.").format(server=label, message=chain.message))
    return chain
