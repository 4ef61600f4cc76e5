"""Backups: consistent copies of the database in one checked file, kept and rotated.

A backup file (``.dbcbak``) is a ZIP archive holding ``manifest.json``, ``database.sqlite3``
(a copy made with SQLite's online backup API, consistent while the app writes) and, for
copies to other media and hand-over files, the evidence files (``attachments/aa/<sha256>``).
See docs/decisions/0002-backup-format.md.

Automatic backups live in ``<db stem>-backups/`` beside the database: one at the first start
of each day, one before every migration, import and restore (``before(db, reason)``).
Rotation keeps 7 daily, 4 weekly and 12 monthly backups, and the last 10 taken before a
change.  The clock is injectable (``clock=`` or ``backup.now``) so tests can fake dates.

These functions work on paths with their own SQLite connections, not on the ``Database``
sessions: ``restore()`` needs the caller to close the ``Database`` first and open it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from dbcomm import __version__
from dbcomm.domain.roles import Actor
from dbcomm.errors import BusyError, DatabaseOpenError, UserError
from dbcomm.i18n import _, format_number
from dbcomm.paths import attachments_dir_for
from dbcomm.services.files import sha256_file
from dbcomm.store.engine import BUSY_TIMEOUT_S, SQLITE_MAGIC, Database

FORMAT = "dbcomm-backup"
FORMAT_VERSION = 1
SUFFIX = ".dbcbak"
MANIFEST = "manifest.json"
DB_MEMBER = "database.sqlite3"
ATTACHMENTS_PREFIX = "attachments/"
ZIP_MAGIC = b"PK\x03\x04"

KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 12
KEEP_BEFORE_CHANGE = 10
PERIODIC_REASONS = frozenset({"daily"})  # the others (manual, before-…) count as "taken on request"

Clock = Callable[[], datetime]
PathLike = Path | str


def now() -> datetime:
    """Local time, to the second.  Tests replace it (or pass ``clock=``)."""
    return datetime.now().replace(microsecond=0)


def _clock(clock: Clock | None) -> datetime:
    return (clock or now)().replace(microsecond=0)


# --- errors -----------------------------------------------------------------------


class BackupFileError(UserError):
    """A file offered for restore or import cannot be used; nothing was changed.

    ``reason``: not_a_backup, truncated, damaged, newer_version, not_ours, missing, unreadable.
    """

    def __init__(self, message: str, reason: str):
        self.reason = reason
        super().__init__(message)


class OtherOfficeError(UserError):
    """The backup belongs to another office: the caller asks the person, then passes
    ``accept_other_office=True``."""

    def __init__(self, current: str, found: str):
        self.current, self.found = current, found
        super().__init__(
            _("This backup belongs to “{found}”, but this database belongs to “{current}”. "
              "Nothing was changed.").format(found=found, current=current)
        )


class DamagedDatabaseError(DatabaseOpenError):
    """The integrity check found problems in the database (reason ``damaged``)."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        super().__init__(
            _("The database {path} is damaged: the integrity check found problems. Nothing was "
              "changed in it. Restore the latest good backup (dbcomm offers to do it, or run "
              "“dbcomm backup restore”).").format(path=path),
            "damaged",
        )


# --- what a backup holds ----------------------------------------------------------


@dataclass(frozen=True)
class BackupInfo:
    """What a backup file holds, read from the file itself (shown before a restore)."""

    path: Path
    kind: str  # backup | handover | database (a bare dbcomm database file)
    reason: str
    created_at: datetime
    app_version: str
    schema_revision: str
    office_name: str
    activity_count: int  # live activities (not in the recycle bin)
    deleted_count: int
    attachment_count: int  # evidence files inside the file
    missing_attachments: int  # evidence the database refers to that the file lacks
    size: int
    db_sha256: str
    integrity: str  # "ok", or the first problem found
    format_version: int = FORMAT_VERSION

    @property
    def is_good(self) -> bool:
        return self.integrity == "ok"


@dataclass(frozen=True)
class BackupEntry:
    """A file in the backups folder, known by its name (no reading needed)."""

    path: Path
    created_at: datetime
    reason: str

    @property
    def periodic(self) -> bool:
        return self.reason in PERIODIC_REASONS


@dataclass(frozen=True)
class RestoreResult:
    path: Path  # the database, now holding the backup's content
    info: BackupInfo
    safety_copy: Path | None  # the state before the restore
    attachments_added: int


@dataclass(frozen=True)
class CheckResult:
    path: Path
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


# --- names and folders -------------------------------------------------------------

_NAME = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}-\d{6})-(?P<reason>[a-z0-9][a-z0-9-]*)(?:~\d+)?\.dbcbak$")


def backup_dir_for(db_path: PathLike) -> Path:
    path = Path(db_path)
    return path.parent / f"{path.stem}-backups"


def _safe_reason(reason: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", reason.lower()).strip("-")
    return cleaned or "manual"


def _free_name(folder: Path, stem: str, when: datetime, reason: str) -> Path:
    base = f"{stem}-{when:%Y%m%d-%H%M%S}-{reason}"
    path = folder / f"{base}{SUFFIX}"
    n = 2
    while path.exists():
        path = folder / f"{base}~{n}{SUFFIX}"
        n += 1
    return path


def list_backups(db_path: PathLike) -> list[BackupEntry]:
    """The automatic backups of this database, newest first."""
    path = Path(db_path)
    folder = backup_dir_for(path)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if not m or m["stem"] != path.stem or not p.is_file():
            continue
        try:
            created = datetime.strptime(m["stamp"], "%Y%m%d-%H%M%S")
        except ValueError:
            continue
        found.append(BackupEntry(p, created, m["reason"]))
    found.sort(key=lambda e: (e.created_at, e.path.name), reverse=True)
    return found


def suggested_name(office_name: str, when: datetime, kind: str = "backup") -> str:
    """A file name for a copy to another folder or a USB stick (ASCII, no spaces)."""
    from dbcomm.domain.text import fold

    slug = re.sub(r"[^a-z0-9]+", "-", fold(office_name)).strip("-")[:40] or "dbcomm"
    label = "ban-giao" if kind == "handover" else "sao-luu"
    return f"{label}-{slug}-{when:%Y-%m-%d-%H%M}{SUFFIX}"


# --- rotation ----------------------------------------------------------------------


def _keep_newest_per(entries: list[BackupEntry], key: Callable[[datetime], object], count: int) -> set[Path]:
    """The newest backup of each of the last ``count`` periods that have one."""
    kept: set[Path] = set()
    seen: list[object] = []
    for e in entries:  # newest first
        k = key(e.created_at)
        if k in seen:
            continue
        if len(seen) == count:
            break
        seen.append(k)
        kept.add(e.path)
    return kept


def plan_rotation(entries: list[BackupEntry]) -> tuple[list[BackupEntry], list[BackupEntry]]:
    """(kept, removed): of the daily backups the newest of each of the last 7 days, 4 ISO
    weeks and 12 months; of the others (manual, before a change) the last 10.

    Periods count only when they hold a backup (as borg's prune does), so a computer left
    off for a month does not lose its older backups on the first day back.
    """
    newest_first = sorted(entries, key=lambda e: (e.created_at, e.path.name), reverse=True)
    periodic = [e for e in newest_first if e.periodic]
    events = [e for e in newest_first if not e.periodic]
    keep: set[Path] = set()
    keep |= _keep_newest_per(periodic, lambda t: t.date(), KEEP_DAILY)
    keep |= _keep_newest_per(periodic, lambda t: t.isocalendar()[:2], KEEP_WEEKLY)
    keep |= _keep_newest_per(periodic, lambda t: (t.year, t.month), KEEP_MONTHLY)
    keep |= {e.path for e in events[:KEEP_BEFORE_CHANGE]}
    kept = [e for e in newest_first if e.path in keep]
    removed = [e for e in newest_first if e.path not in keep]
    return kept, removed


def rotate(db_path: PathLike) -> list[Path]:
    """Delete the automatic backups the rotation no longer keeps; returns them."""
    _kept, removed = plan_rotation(list_backups(db_path))
    gone = []
    for e in removed:
        with contextlib.suppress(OSError):
            e.path.unlink()
            gone.append(e.path)
    return gone


# --- reading a database file directly ---------------------------------------------


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    mode = "ro" if read_only else "rw"
    return sqlite3.connect(path.resolve().as_uri() + f"?mode={mode}", uri=True, timeout=BUSY_TIMEOUT_S)


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _office_name(con: sqlite3.Connection) -> str:
    from dbcomm.domain.text import nfc_line

    try:
        row = con.execute("SELECT value FROM app_setting WHERE key='office'").fetchone()
        data = json.loads(row[0]) if row else {}
        return nfc_line(str(data.get("name", ""))) if isinstance(data, dict) else ""
    except (sqlite3.Error, ValueError):
        return ""


def _problems(con: sqlite3.Connection, *, full: bool) -> list[str]:
    """Integrity (full or quick) and foreign-key check; [] when all is well."""
    try:
        pragma = "integrity_check" if full else "quick_check"
        rows = [str(r[0]) for r in con.execute(f"PRAGMA {pragma}(20)")]
        problems = [] if rows == ["ok"] else rows
        for table, rowid, parent, _fk in con.execute("PRAGMA foreign_key_check").fetchmany(20):
            problems.append(f"foreign key: {table} row {rowid} → {parent}")
        return problems
    except sqlite3.DatabaseError as exc:
        return [str(exc)]


@dataclass(frozen=True)
class _Facts:
    schema_revision: str
    office_name: str
    activity_count: int
    deleted_count: int
    attachment_shas: list[str]
    problems: list[str]


def _facts(path: Path, *, full_check: bool) -> _Facts:
    """What a (copied, not live) dbcomm database holds.  Tolerates damage: counts 0 then."""
    con = _connect(path)
    try:
        try:
            tables = _tables(con)
        except sqlite3.DatabaseError as exc:
            return _Facts("", "", 0, 0, [], [str(exc)])
        if "alembic_version" not in tables:
            raise BackupFileError(
                _("{name} holds an SQLite database, but not one made by dbcomm. Nothing was "
                  "changed.").format(name=path.name), "not_ours")
        problems = _problems(con, full=full_check)
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            rev = row[0] if row else ""
            live, deleted = con.execute(
                "SELECT count(*) - count(deleted_at), count(deleted_at) FROM activity").fetchone()
            shas = [r[0] for r in con.execute("SELECT DISTINCT sha256 FROM attachment ORDER BY 1")]
        except sqlite3.DatabaseError as exc:
            return _Facts("", _office_name(con), 0, 0, [], problems or [str(exc)])
        return _Facts(rev, _office_name(con), live or 0, deleted or 0, shas, problems)
    finally:
        con.close()


def check_database(db_path: PathLike, *, full: bool = True) -> CheckResult:
    """Integrity check of a database file (read only; nothing is written)."""
    path = Path(db_path)
    if not path.is_file():
        return CheckResult(path, [_("There is no database at {path}.").format(path=path)])
    try:
        con = _connect(path)
    except sqlite3.Error as exc:
        return CheckResult(path, [str(exc)])
    try:
        return CheckResult(path, _problems(con, full=full))
    finally:
        con.close()


def office_name_at(db_path: PathLike) -> str:
    """The office name stored in a database file ("" if none or unreadable)."""
    path = Path(db_path)
    if not path.is_file() or path.stat().st_size == 0:
        return ""
    try:
        con = _connect(path)
    except sqlite3.Error:
        return ""
    try:
        return _office_name(con)
    finally:
        con.close()


def activity_count_at(db_path: PathLike) -> int:
    """Activities (recycle bin included) in a database file; 0 if none or unreadable."""
    path = Path(db_path)
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    try:
        con = _connect(path)
        try:
            return int(con.execute("SELECT count(*) FROM activity").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _worth_keeping(db_path: Path) -> bool:
    """A database nobody has set up and that never held an activity has nothing to lose."""
    try:
        con = _connect(db_path)
        try:
            row = con.execute("SELECT value FROM app_setting WHERE key='setup_done'").fetchone()
            setup_done = bool(row and json.loads(row[0]))
            any_activity = con.execute("SELECT 1 FROM activity LIMIT 1").fetchone() is not None
            return setup_done or any_activity
        finally:
            con.close()
    except (sqlite3.Error, ValueError):
        return True


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy with SQLite's online backup API, as one self-contained file."""
    src = _connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # one step: a single read transaction, so one consistent state
            dst.execute("PRAGMA journal_mode=DELETE")  # the copy needs no -wal beside it
        finally:
            dst.close()
    finally:
        src.close()


def _same_office(a: str, b: str) -> bool:
    from dbcomm.domain.text import nfc_line

    return nfc_line(a).casefold() == nfc_line(b).casefold()


# --- writing a backup file ---------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: Path) -> str:
    """Copy ``source`` into the archive; returns its SHA-256."""
    h = hashlib.sha256()
    with source.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
        while block := src.read(1 << 20):
            h.update(block)
            dst.write(block)
    return h.hexdigest()


def _member_sha256(zf: zipfile.ZipFile, name: str, out: IO[bytes] | None = None) -> str:
    """Read a member (its CRC is checked by zipfile); returns its SHA-256."""
    h = hashlib.sha256()
    with zf.open(name) as fh:
        while block := fh.read(1 << 20):
            h.update(block)
            if out is not None:
                out.write(block)
    return h.hexdigest()


def _verify_written(path: Path, manifest: dict[str, Any]) -> None:
    """Read the new file back: every member's checksum must match what was written."""
    try:
        with zipfile.ZipFile(path) as zf:
            ok = _member_sha256(zf, DB_MEMBER) == manifest["database"]["sha256"]
            for sha in manifest["attachments"]["files"]:
                ok = ok and _member_sha256(zf, _attachment_member(sha)) == sha
    except (zipfile.BadZipFile, OSError, KeyError, EOFError):
        ok = False
    if not ok:
        raise UserError(
            _("{path} was written but reads back differently: the disk may be faulty.").format(path=path)
        )


def _attachment_member(sha: str) -> str:
    return f"{ATTACHMENTS_PREFIX}{sha[:2]}/{sha}"


def _write_file(target: Path, copy: Path, manifest: dict[str, Any], attachment_root: Path,
                shas: list[str]) -> dict[str, Any]:
    """Write the archive to a temporary file beside ``target``, flush it to the disk, read it
    back, then rename it into place: ``target`` holds the old content or the whole new one."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise UserError(_("Could not write {path}: {error}. Nothing was written.").format(
            path=target, error=exc.strerror or exc)) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
                info = zipfile.ZipInfo(DB_MEMBER, date_time=manifest_time(manifest))
                info.compress_type = zipfile.ZIP_DEFLATED
                info._compresslevel = 1  # type: ignore[attr-defined]  # fastest; an SQLite file shrinks ~4×
                manifest["database"]["sha256"] = _copy_member(zf, info, copy)
                stored, missing = [], []
                for sha in shas:
                    source = attachment_root / sha[:2] / sha
                    if not source.is_file():
                        missing.append(sha)
                        continue
                    member = zipfile.ZipInfo(_attachment_member(sha), date_time=manifest_time(manifest))
                    member.compress_type = zipfile.ZIP_STORED  # photos and PDFs are compressed already
                    if _copy_member(zf, member, source) != sha:
                        raise UserError(_("The stored evidence file is missing or damaged (checksum mismatch)."))
                    stored.append(sha)
                manifest["attachments"] = {"included": manifest["attachments"]["included"],
                                           "files": stored, "missing": missing}
                zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        _verify_written(tmp, manifest)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        raise UserError(_("Could not write {path}: {error}. Nothing was written.").format(
            path=target, error=exc.strerror or exc)) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return manifest


def manifest_time(manifest: dict[str, Any]) -> tuple[int, int, int, int, int, int]:
    when = datetime.fromisoformat(manifest["created_at"])
    return (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)


def _work_dir(db_path: Path) -> Path:
    folder = backup_dir_for(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def create(db_path: PathLike, target: PathLike, *, reason: str = "manual", kind: str = "backup",
           include_attachments: bool = False, require_good: bool = False,
           clock: Clock | None = None) -> BackupInfo:
    """Write one backup file of the database at ``db_path`` to ``target``.

    The copy is consistent even while another window or program writes.  With
    ``require_good`` a damaged database is refused instead of copied.
    """
    source = Path(db_path).resolve()
    target = Path(target)
    if not source.is_file():
        raise UserError(_("There is no database at {path}.").format(path=source))
    when = _clock(clock)
    try:
        work = _work_dir(source)
        with tempfile.TemporaryDirectory(prefix=".work-", dir=work) as tmp:
            copy = Path(tmp) / DB_MEMBER
            try:
                _snapshot(source, copy)
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise BusyError(_("The database is busy: another dbcomm window is saving. "
                                      "Nothing was saved; try again in a moment.")) from exc
                raise UserError(_("Could not copy the database: {error}").format(error=exc)) from exc
            except sqlite3.DatabaseError as exc:
                raise UserError(_("Could not copy the database: {error}").format(error=exc)) from exc
            facts = _facts(copy, full_check=False)
            if require_good and facts.problems:
                raise DamagedDatabaseError(source, facts.problems)
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "kind": kind,
                "reason": reason,
                "app_version": __version__,
                "schema_revision": facts.schema_revision,
                "office_name": facts.office_name,
                "activity_count": facts.activity_count,
                "deleted_count": facts.deleted_count,
                "created_at": when.isoformat(),
                "database": {"name": DB_MEMBER, "size": copy.stat().st_size, "sha256": ""},
                "attachments": {"included": include_attachments, "files": [], "missing": []},
                "integrity": "ok" if not facts.problems else facts.problems[0],
            }
            shas = facts.attachment_shas if include_attachments else []
            manifest = _write_file(target, copy, manifest, attachments_dir_for(source), shas)
    except OSError as exc:
        raise UserError(_("Could not write {path}: {error}. Nothing was written.").format(
            path=target, error=exc.strerror or exc)) from exc
    return _info_from_manifest(target, manifest, target.stat().st_size)


def _take(db_path: Path, reason: str, clock: Clock | None) -> Path:
    when = _clock(clock)
    target = _free_name(_work_dir(db_path), db_path.stem, when, _safe_reason(reason))
    create(db_path, target, reason=reason, clock=lambda: when)
    rotate(db_path)
    return target


def server_backup_error() -> UserError:
    return UserError(_("This database is on a shared server: it is backed up on the server itself (pg_dump), "
                       "not by dbcomm on this computer. See the deployment guide, or ask whoever looks after "
                       "the server."))


def _local_only(db: Database) -> None:
    """Backups, restores and hand-overs work on a database file; a server's are the server's."""
    if getattr(db, "is_server", False):
        raise server_backup_error()


def before(db: Database | PathLike, reason: str, *, clock: Clock | None = None) -> Path | None:
    """A safety backup before a change (migration, import, restore) in the backups folder.

    ``reason`` names the change: "plan-import", "org-import", "migration-0002"…  Returns the
    file, or None when there is no database file yet.  Raises UserError if it cannot be
    written: the change should then not go ahead.
    """
    path = db.path if isinstance(db, Database) else Path(db).resolve()
    if not path.is_file() or path.stat().st_size == 0:
        return None
    return _take(path, f"before-{_safe_reason(reason)}", clock)


def has_daily_backup(db_path: PathLike, day: date) -> bool:
    return any(e.reason == "daily" and e.created_at.date() == day for e in list_backups(db_path))


def daily(db: Database | PathLike, *, clock: Clock | None = None) -> Path | None:
    """The backup of the day, at the first start of each day; None if there is one already."""
    path = db.path if isinstance(db, Database) else Path(db).resolve()
    if not path.is_file() or has_daily_backup(path, _clock(clock).date()) or not _worth_keeping(path):
        return None
    return _take(path, "daily", clock)


def check_quick(db: Database) -> None:
    """The structural check (``quick_check``) only: run at every start of the window."""
    from dbcomm.store.migrate import HEAD_REVISION, current_revision, known_revisions

    rev = current_revision(db)
    if not rev or (rev != HEAD_REVISION and rev not in known_revisions()):
        return
    result = check_database(db.path, full=False)
    if not result.ok:
        raise DamagedDatabaseError(db.path, result.problems)


def check_at_open(db: Database, *, clock: Clock | None = None) -> None:
    """Raise DamagedDatabaseError if the database fails its integrity check.

    The full ``PRAGMA integrity_check`` runs at the first start of each day (before the daily
    backup, so that backup is known good); later starts the same day run ``quick_check``
    (page and b-tree structure without index contents: 0.3 s instead of 2 s at 100,000
    activities).  Files that are not dbcomm's, or too new, are left to the migration step,
    which refuses them without writing.
    """
    from dbcomm.store.migrate import HEAD_REVISION, current_revision, known_revisions

    rev = current_revision(db)
    if not rev or (rev != HEAD_REVISION and rev not in known_revisions()):
        return
    full = not has_daily_backup(db.path, _clock(clock).date())
    result = check_database(db.path, full=full)
    if not result.ok:
        raise DamagedDatabaseError(db.path, result.problems)


# --- reading a backup file ---------------------------------------------------------


def _info_from_manifest(path: Path, m: dict[str, Any], size: int) -> BackupInfo:
    att = m.get("attachments") or {}
    return BackupInfo(
        path=path, kind=str(m.get("kind", "backup")), reason=str(m.get("reason", "")),
        created_at=datetime.fromisoformat(str(m["created_at"])),
        app_version=str(m.get("app_version", "")), schema_revision=str(m.get("schema_revision", "")),
        office_name=str(m.get("office_name", "")), activity_count=int(m.get("activity_count", 0)),
        deleted_count=int(m.get("deleted_count", 0)), attachment_count=len(att.get("files", [])),
        missing_attachments=len(att.get("missing", [])), size=size,
        db_sha256=str(m["database"]["sha256"]), integrity=str(m.get("integrity", "ok")),
        format_version=int(m["format_version"]),
    )


def _not_a_backup(path: Path) -> BackupFileError:
    return BackupFileError(
        _("{name} is not a dbcomm backup or hand-over file. Nothing was changed.").format(name=path.name),
        "not_a_backup")


def _truncated(path: Path) -> BackupFileError:
    return BackupFileError(
        _("{name} is incomplete or damaged (perhaps it was cut short while being copied). "
          "Nothing was changed.").format(name=path.name), "truncated")


def _damaged(path: Path) -> BackupFileError:
    return BackupFileError(
        _("{name} is damaged: its content does not match its checksums. Nothing was changed.").format(
            name=path.name), "damaged")


def _newer(path: Path, what: str) -> BackupFileError:
    return BackupFileError(
        _("{name} was made by a newer version of dbcomm ({what}). Install that version to restore "
          "it; nothing was changed.").format(name=path.name, what=what), "newer_version")


def read_manifest(path: PathLike) -> BackupInfo:
    """Quick look at a backup file (its manifest only; nothing is extracted or checked)."""
    path = Path(path)
    with _open_zip(path) as zf:
        return _info_from_manifest(path, _manifest(path, zf), path.stat().st_size)


def _zip_of(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise BackupFileError(_("The file {path} does not exist.").format(path=path), "missing")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head != ZIP_MAGIC:
        raise _not_a_backup(path)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _truncated(path) from exc


@contextlib.contextmanager
def _open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    zf = _zip_of(path)
    try:
        yield zf
    finally:
        zf.close()


def _manifest(path: Path, zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        m = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except KeyError as exc:
        raise _not_a_backup(path) from exc
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise _truncated(path) from exc
    except ValueError as exc:
        raise _damaged(path) from exc
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise _not_a_backup(path)
    try:
        version = int(m["format_version"])
        datetime.fromisoformat(str(m["created_at"]))
        m["database"]["sha256"]  # noqa: B018 - must be present
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(path) from exc
    if version > FORMAT_VERSION:
        raise _newer(path, _("file format {version}").format(version=version))
    return m


class OpenedBackup:
    """A backup file checked and its database extracted to a temporary file.

    Checks, in order: the file is a ZIP (else not_a_backup), complete (truncated), has a
    dbcomm manifest (not_a_backup), a format and schema this version knows (newer_version),
    a database matching its checksum and passing the full integrity check (damaged).  A bare
    dbcomm database file (``.sqlite3``) is accepted too.
    """

    def __init__(self, path: PathLike, work_dir: Path | None = None):
        self.path = Path(path)
        try:
            if work_dir is not None:
                work_dir.mkdir(parents=True, exist_ok=True)
            self._tmp = tempfile.TemporaryDirectory(prefix=".restore-", dir=work_dir)
        except OSError as exc:
            raise UserError(_("Could not write {path}: {error}. Nothing was written.").format(
                path=work_dir, error=exc.strerror or exc)) from exc
        self.db_file = Path(self._tmp.name) / DB_MEMBER
        self._zip: zipfile.ZipFile | None = None
        self._shas: list[str] = []
        try:
            self.info = self._open()
        except OSError as exc:
            self.close()
            raise BackupFileError(_("Could not read {path}: {error}. Nothing was changed.").format(
                path=self.path, error=exc.strerror or exc), "unreadable") from exc
        except BaseException:
            self.close()
            raise

    def _open(self) -> BackupInfo:
        from dbcomm.store.migrate import known_revisions

        if self.path.is_file():
            with self.path.open("rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
            if head == SQLITE_MAGIC:
                return self._open_bare_database()
        zf = _zip_of(self.path)
        self._zip = zf  # kept open for the evidence files; closed by close()
        m = _manifest(self.path, zf)
        try:
            with self.db_file.open("wb") as out:
                digest = _member_sha256(zf, DB_MEMBER, out)
        except KeyError as exc:
            raise _not_a_backup(self.path) from exc
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise _damaged(self.path) from exc
        if digest != m["database"]["sha256"]:
            raise _damaged(self.path)
        self._shas = [str(s) for s in (m.get("attachments") or {}).get("files", [])]
        facts = _facts(self.db_file, full_check=True)
        if facts.schema_revision and facts.schema_revision not in known_revisions():
            raise _newer(self.path, _("schema {rev}").format(rev=facts.schema_revision))
        if facts.problems:
            raise BackupFileError(
                _("The database inside {name} is damaged ({problem}). Nothing was changed.").format(
                    name=self.path.name, problem=facts.problems[0]), "damaged")
        info = _info_from_manifest(self.path, m, self.path.stat().st_size)
        return _with_facts(info, facts)

    def _open_bare_database(self) -> BackupInfo:
        """A plain database file (an older copy, or one copied by hand)."""
        from dbcomm.store.migrate import known_revisions

        shutil.copyfile(self.path, self.db_file)
        wal = Path(f"{self.path}-wal")
        if wal.is_file():
            shutil.copyfile(wal, Path(f"{self.db_file}-wal"))
        try:
            facts = _facts(self.db_file, full_check=True)
            con = sqlite3.connect(self.db_file)
            con.execute("PRAGMA journal_mode=DELETE")
            con.close()
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path) from exc
        if facts.schema_revision and facts.schema_revision not in known_revisions():
            raise _newer(self.path, _("schema {rev}").format(rev=facts.schema_revision))
        if facts.problems:
            raise BackupFileError(
                _("The database inside {name} is damaged ({problem}). Nothing was changed.").format(
                    name=self.path.name, problem=facts.problems[0]), "damaged")
        h = sha256_file(self.db_file)
        return BackupInfo(
            path=self.path, kind="database", reason="", created_at=datetime.fromtimestamp(
                self.path.stat().st_mtime).replace(microsecond=0),
            app_version="", schema_revision=facts.schema_revision, office_name=facts.office_name,
            activity_count=facts.activity_count, deleted_count=facts.deleted_count,
            attachment_count=0, missing_attachments=len(facts.attachment_shas),
            size=self.path.stat().st_size, db_sha256=h, integrity="ok")

    def extract_attachments(self, root: Path) -> int:
        """Add the evidence files to the store (content-addressed, so existing files stay);
        each is checked against its name.  Returns how many were added."""
        if self._zip is None or not self._shas:
            return 0
        added = 0
        for sha in self._shas:
            target = root / sha[:2] / sha
            if target.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    digest = _member_sha256(self._zip, _attachment_member(sha), out)
                    out.flush()
                    os.fsync(out.fileno())
                if digest != sha:
                    raise _damaged(self.path)
                os.replace(tmp, target)
                added += 1
            except (KeyError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
                raise _damaged(self.path) from exc
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        return added

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        self._tmp.cleanup()

    def __enter__(self) -> OpenedBackup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _with_facts(info: BackupInfo, facts: _Facts) -> BackupInfo:
    """The manifest describes the file; the database itself is the authority."""
    from dataclasses import replace

    return replace(info, schema_revision=facts.schema_revision or info.schema_revision,
                   office_name=facts.office_name, activity_count=facts.activity_count,
                   deleted_count=facts.deleted_count, integrity="ok")


def inspect(path: PathLike, *, work_dir: Path | None = None) -> BackupInfo:
    """Check a backup file completely (checksums, integrity, version) without changing anything.

    Raises BackupFileError with a message a person can act on.
    """
    with OpenedBackup(path, work_dir) as opened:
        return opened.info


def other_office(db_path: PathLike, info: BackupInfo) -> str | None:
    """The current office's name when the backup belongs to another office, else None."""
    current = office_name_at(db_path)
    if current and info.office_name and not _same_office(current, info.office_name):
        return current
    return None


def latest_good(db_path: PathLike) -> BackupInfo | None:
    """The newest automatic backup that passes every check (its own integrity check too)."""
    path = Path(db_path).resolve()
    for entry in list_backups(path):
        try:
            return inspect(entry.path, work_dir=backup_dir_for(path))
        except (BackupFileError, OSError):
            continue
    return None


# --- restoring ---------------------------------------------------------------------


def _raw_copy_aside(db_path: Path, when: datetime) -> Path:
    """When even SQLite cannot read the file: keep its bytes (and journal) as they are."""
    folder = _work_dir(db_path)
    target = folder / f"{db_path.name}.{when:%Y%m%d-%H%M%S}.unreadable"
    shutil.copy2(db_path, target)
    wal = Path(f"{db_path}-wal")
    if wal.is_file():
        shutil.copy2(wal, Path(f"{target}-wal"))
    return target


def _safety_copy(db_path: Path, reason: str, clock: Clock | None) -> Path | None:
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return None
    try:
        return before(db_path, reason, clock=clock)
    except BusyError:
        raise
    except UserError:
        # A damaged file may not copy through SQLite: keep its bytes instead.
        try:
            return _raw_copy_aside(db_path, _clock(clock))
        except OSError as exc:
            raise UserError(_("Could not write {path}: {error}. Nothing was written.").format(
                path=backup_dir_for(db_path), error=exc.strerror or exc)) from exc


def _load_into(new_copy: Path, db_path: Path) -> None:
    """Replace the content of the live database in one SQLite transaction.

    SQLite's backup API writes through the destination's own journal: a crash half-way
    leaves the old content, and other connections see old or new, never a mix.
    """
    src = sqlite3.connect(new_copy)
    try:
        dst = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S)
        try:
            src.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
    finally:
        src.close()


def _swap_file(new_copy: Path, db_path: Path) -> None:
    """Put a new file in place of one SQLite cannot write to (or of none)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{db_path.name}.", suffix=".restore", dir=db_path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, new_copy.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        # The old journal must go first: replayed onto the new file it would damage it.
        for suffix in ("-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, db_path)
        _fsync_dir(db_path.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _replace_database(new_copy: Path, db_path: Path) -> None:
    if db_path.is_file() and db_path.stat().st_size > 0:
        try:
            _load_into(new_copy, db_path)
            return
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise BusyError(_("The database is in use by another dbcomm window or program. "
                                  "Close it and try again; nothing was changed.")) from exc
        except sqlite3.DatabaseError:
            pass  # too damaged for SQLite to write into: replace the file itself
    _swap_file(new_copy, db_path)


def restore(db_path: PathLike, backup_file: PathLike, *, accept_other_office: bool = False,
            safety_reason: str = "restore", clock: Clock | None = None) -> RestoreResult:
    """Replace the database at ``db_path`` with the content of ``backup_file``.

    The caller closes its ``Database`` first and opens ``result.path`` again afterwards.
    Before anything changes the file is checked completely (see ``OpenedBackup``) and a
    backup of the current state is taken.  A backup of another office raises
    OtherOfficeError unless ``accept_other_office``.  Evidence files in the backup are
    added to the attachment folder.  On any error the current database is left as it was.
    """
    path = Path(db_path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with OpenedBackup(backup_file, work_dir=_work_dir(path)) as opened:
        info = opened.info
        if not accept_other_office and (current := other_office(path, info)):
            raise OtherOfficeError(current, info.office_name)
        safety = _safety_copy(path, safety_reason, clock)
        try:
            added = opened.extract_attachments(attachments_dir_for(path))
        except OSError as exc:
            raise UserError(_("Could not write {path}: {error}. Nothing was written.").format(
                path=attachments_dir_for(path), error=exc.strerror or exc)) from exc
        try:
            _replace_database(opened.db_file, path)
        except OSError as exc:
            raise UserError(_("Could not write {path}: {error}. Nothing was written.").format(
                path=path, error=exc.strerror or exc)) from exc
    return RestoreResult(path, info, safety, added)


def describe(info: BackupInfo) -> str:
    """One line per fact, for the command line and the preview."""
    from dbcomm.i18n import format_date

    lines = [
        _("Office: {name}").format(name=info.office_name or _("(not set)")),
        _("Made on: {day} at {time}").format(day=format_date(info.created_at.date()),
                                             time=info.created_at.strftime("%H:%M")),
        _("Activities: {n}").format(n=format_number(info.activity_count)),
        _("Schema version: {rev}").format(rev=info.schema_revision or "?"),
    ]
    if info.deleted_count:
        lines.append(_("In the recycle bin: {n}").format(n=format_number(info.deleted_count)))
    if info.attachment_count or info.missing_attachments:
        lines.append(_("Evidence files: {n}").format(n=format_number(info.attachment_count)))
    if info.app_version:
        lines.append(_("Made by dbcomm {version}").format(version=info.app_version))
    return "\n".join(lines)


# --- use cases with an open database (roles checked, audit trail kept) ---------------


def backup_now(db: Database, *, clock: Clock | None = None) -> Path:
    """A backup in the backups folder now (``dbcomm backup now``)."""
    _local_only(db)
    from dbcomm.domain.roles import Perm
    from dbcomm.services import audit
    from dbcomm.services.auth import require

    actor = require(db, Perm.BACKUP)
    path = _take(db.path, "manual", clock)
    with db.write() as s:
        audit.record(s, actor, "backup", entity="database", summary=path.name)
    return path


def backup_to(db: Database, target: PathLike, *, kind: str = "backup",
              clock: Clock | None = None) -> BackupInfo:
    """One backup file (database and evidence files) in any folder or on a USB stick.

    The file is written beside its final name, flushed to the disk, read back and checked,
    then renamed.  A damaged database is refused: restore a good backup first.
    """
    _local_only(db)
    from dbcomm.domain.roles import Perm
    from dbcomm.services import audit
    from dbcomm.services.auth import require

    actor = require(db, Perm.BACKUP)
    target = check_target(db, Path(target))
    info = create(db.path, target, reason="handover" if kind == "handover" else "manual", kind=kind,
                  include_attachments=True, require_good=True, clock=clock)
    with db.write() as s:
        audit.record(s, actor, "export" if kind == "handover" else "backup",
                     entity="handover" if kind == "handover" else "database",
                     summary=Path(target).name, changes={"sha256": [None, sha256_file(Path(target))]})
    return info


def check_target(db: Database, target: Path) -> Path:
    """Where a backup or hand-over file may be written: never over an existing file (least of all
    the database itself), only into a folder that exists (a mistyped USB path must not quietly
    land on the local disk).  Adds the .dbcbak suffix when missing."""
    _local_only(db)
    target = Path(target)
    live = {db.path.resolve(), Path(str(db.path) + "-wal").resolve(), Path(str(db.path) + "-shm").resolve()}
    if target.resolve() in live:
        raise UserError(_("{path} is the database itself; choose another file name.").format(path=target))
    if target.suffix.lower() != SUFFIX:
        target = target.with_name(target.name + SUFFIX)
    if not target.parent.is_dir():
        raise UserError(_("The folder {folder} does not exist. Is the USB stick plugged in? Nothing was "
                          "written.").format(folder=target.parent))
    if target.exists():
        raise UserError(_("{path} already exists; choose another name. Nothing was written.").format(path=target))
    return target


def authorize_restore(db: Database) -> Actor:
    """The person who may replace the database (PermissionDenied otherwise); call it before
    closing the database, and pass the result to ``note_restore`` afterwards."""
    _local_only(db)
    from dbcomm.domain.roles import Perm
    from dbcomm.services.auth import require

    return require(db, Perm.RESTORE)


def note_restore(db: Database, actor: Actor | None, result: RestoreResult) -> None:
    """Record the restore in the restored database's audit trail."""
    from dbcomm.domain.roles import SYSTEM
    from dbcomm.services import audit

    with db.write() as s:
        audit.record(s, actor or SYSTEM, "restore_backup", entity="database",
                     summary=result.info.path.name,
                     changes={  # {field: [before, after]}, as everywhere in the trail
                         "backup_created_at": [None, result.info.created_at.isoformat()],
                         "office": [None, result.info.office_name],
                         "activities": [None, result.info.activity_count],
                         "safety_copy": [None, result.safety_copy.name if result.safety_copy else ""]})
