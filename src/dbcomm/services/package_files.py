"""The container of an exchange package: a small zip with a manifest and one signed PDF.

Reading is defensive: the file is checked as a whole before anything in it is parsed —
its size, that it is a zip, the exact member names (no folders, no path tricks), that no
member is a link, and each member's declared and actual size (a zip bomb is stopped while
it is being read).  Writing is safe for a USB stick pulled out mid-way: a temporary file
beside the target, flushed to the device, renamed into place, read back and compared.
See docs/decisions/0005-exchange-packages.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbcomm.errors import UserError
from dbcomm.i18n import _

SUFFIX = ".dbcpkg"
FORMAT = "dbcomm.package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_PACKAGE_BYTES = 200 * 1024 * 1024  # a province-wide annual report with its data is ~20 MB
MAX_MEMBER_BYTES = 150 * 1024 * 1024
MAX_MANIFEST_BYTES = 256 * 1024
MAX_RATIO = 200  # uncompressed ÷ compressed; PDFs and JSON compress far less than this


def os_reason(exc: OSError) -> str:
    """The operating system's reason in the user's words, for the usual cases on a USB stick."""
    import errno

    words = {
        errno.ENOENT: _("the folder or file is not there (was the stick pulled out?)"),
        errno.ENOSPC: _("the stick is full"),
        errno.EROFS: _("the stick is write-protected"),
        errno.EACCES: _("this account may not write there"),
        errno.EPERM: _("this account may not write there"),
        errno.EISDIR: _("that is a folder, not a file"),
        errno.EIO: _("the stick could not be read or written (it may be failing)"),
    }
    return words.get(exc.errno or 0, exc.strerror or str(exc))


class PackageError(UserError):
    """A package that cannot be used; ``code`` names the check, the message says why."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class RawPackage:
    path: Path
    sha256: str  # of the whole file
    manifest: dict[str, Any]
    members: dict[str, bytes]  # the other members, by name


def read(path: Path, expected_members: tuple[str, ...]) -> RawPackage:
    """Open a package and return its manifest and members, or raise :class:`PackageError`.

    ``expected_members`` are the names besides the manifest that must be there (and nothing
    else may be).
    """
    path = Path(path)
    name = path.name
    try:
        info = path.lstat()
    except OSError as exc:
        raise PackageError("unreadable", _("Cannot read {file}: {reason}").format(
            file=name, reason=os_reason(exc))) from exc
    if stat.S_ISLNK(info.st_mode):
        raise PackageError("symlink", _("{file} is a link to another file, not a package; copy the package "
                                        "itself onto the stick.").format(file=name))
    if info.st_size == 0:
        raise PackageError("empty", _("{file} is empty: the copy onto the stick did not finish. Ask the "
                                      "sending office for the package again.").format(file=name))
    if info.st_size > MAX_PACKAGE_BYTES:
        raise PackageError("too_large", _("{file} is {size} MB, larger than any dbcomm package; it is not one.").format(
            file=name, size=info.st_size // (1024 * 1024)))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackageError("unreadable", _("Cannot read {file}: {reason}").format(
            file=name, reason=os_reason(exc))) from exc
    if data.startswith(b"%PDF"):
        raise PackageError("pdf", _("{file} is a PDF, not a dbcomm package. To check its signatures, use "
                                    "“Verify a signed PDF”; to import a report, ask for its .dbcpkg package.").format(
            file=name))
    if not data.startswith(b"PK"):
        raise PackageError("not_zip", _("{file} is not a dbcomm package.").format(file=name))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise PackageError("truncated", _("{file} is damaged or incomplete (the copy may have been cut off). "
                                          "Ask the office that sent it for the package again.").format(
            file=name)) from exc
    wanted = {MANIFEST, *expected_members}
    names = [e.filename for e in entries]
    for entry in entries:
        member = entry.filename
        if member.startswith(("/", "\\")) or ".." in member.replace("\\", "/").split("/") or ":" in member:
            raise PackageError("traversal", _("{file} contains an entry that points outside the package "
                                              "(“{entry}”); it is refused.").format(file=name, entry=member))
        mode = entry.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise PackageError("symlink", _("{file} contains a link (“{entry}”); packages never do. It is refused.").format(
                file=name, entry=member))
    if len(names) != len(set(names)) or set(names) != wanted:
        unexpected = sorted(set(names) - wanted)
        missing = sorted(wanted - set(names))
        raise PackageError("members", _("{file} does not hold what a package holds (unexpected: {extra}; "
                                        "missing: {missing}).").format(
            file=name, extra=", ".join(unexpected) or "—", missing=", ".join(missing) or "—"))
    members: dict[str, bytes] = {}
    for entry in entries:
        limit = MAX_MANIFEST_BYTES if entry.filename == MANIFEST else MAX_MEMBER_BYTES
        if entry.file_size > limit or (entry.compress_size and entry.file_size / entry.compress_size > MAX_RATIO
                                       and entry.file_size > 1024 * 1024):
            raise PackageError("bomb", _("{file}: “{entry}” would unpack to {size} MB; it is refused.").format(
                file=name, entry=entry.filename, size=entry.file_size // (1024 * 1024)))
        try:
            with archive.open(entry) as fh:
                content = fh.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise PackageError("truncated", _("{file} is damaged or incomplete (the copy may have been cut off). "
                                              "Ask the office that sent it for the package again.").format(
                file=name)) from exc
        if len(content) > limit:
            raise PackageError("bomb", _("{file}: “{entry}” unpacks to more than it declares; it is refused.").format(
                file=name, entry=entry.filename))
        members[entry.filename] = content
    manifest_bytes = members.pop(MANIFEST)
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError("manifest", _("The manifest of {file} cannot be read: {reason}").format(
            file=name, reason=exc)) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PackageError("manifest", _("{file} is not a dbcomm package (its manifest is not one).").format(file=name))
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise PackageError("manifest", _("The manifest of {file} does not say its format version.").format(file=name))
    if version > FORMAT_VERSION:
        raise PackageError("newer", _("{file} was written by a newer dbcomm (package format {got}; this one reads up "
                                      "to {max}). Update dbcomm on this computer, then import it again.").format(
            file=name, got=version, max=FORMAT_VERSION))
    parts = manifest.get("parts")
    if not isinstance(parts, dict):
        raise PackageError("manifest", _("The manifest of {file} does not list its parts.").format(file=name))
    for member, content in members.items():
        declared = parts.get(member)
        if not isinstance(declared, dict) or declared.get("sha256") != hashlib.sha256(content).hexdigest() \
                or declared.get("size") != len(content):
            raise PackageError("hash", _("{file}: “{entry}” is not the file the manifest describes (its SHA-256 "
                                         "or size differs): it was changed or damaged on the way.").format(
                file=name, entry=member))
    return RawPackage(path, hashlib.sha256(data).hexdigest(), manifest, members)


def build(manifest: dict[str, Any], members: dict[str, bytes]) -> bytes:
    """A package's bytes: the manifest (with ``parts`` filled in) and the members, deterministic."""
    manifest = {**manifest, "format": FORMAT, "format_version": FORMAT_VERSION,
                "parts": {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                          for name, data in sorted(members.items())}}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in [(MANIFEST, json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode()),
                           *sorted(members.items())]:
            entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return out.getvalue()


def write_safely(folder: Path, file_name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/file_name`` so that a stick pulled out mid-way never leaves a
    half file under that name: temporary file, flush to the device, rename, read back, compare.
    Returns the path; raises :class:`UserError` saying what to do if anything fails."""
    folder = Path(folder)
    target = folder / file_name
    tmp = folder / f".{file_name}.part"
    digest = hashlib.sha256(data).hexdigest()
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        if hasattr(os, "O_DIRECTORY"):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        back = target.read_bytes()
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise UserError(_("Could not write {file} on {folder}: {reason}. Check the stick is plugged in and not "
                          "full or write-protected, then try again.").format(
            file=file_name, folder=folder, reason=os_reason(exc))) from exc
    if hashlib.sha256(back).hexdigest() != digest:
        raise UserError(_("{file} was written on {folder} but reads back differently: the stick may be failing. "
                          "Use another stick.").format(file=file_name, folder=folder))
    return target


def find(folder: Path) -> list[Path]:
    """Package files in a folder and its first level of sub-folders (a stick's root and, say,
    ``BaoCao/``), newest first; links are skipped."""
    folder = Path(folder)
    found: list[Path] = []
    try:
        candidates = [*folder.glob(f"*{SUFFIX}"), *folder.glob(f"*/*{SUFFIX}")]
    except OSError:
        return []
    for path in candidates:
        try:
            if path.is_file() and not path.is_symlink():
                found.append(path)
        except OSError:
            continue
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
