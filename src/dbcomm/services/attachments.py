"""Evidence files: copied into the database's attachment folder, named by their SHA-256."""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import shutil
import tempfile
from pathlib import Path

from dbcomm.errors import AttachmentError
from dbcomm.i18n import _, format_number

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


def stored_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def check_file(path: Path, limit: int | None = None) -> int:
    limit = MAX_ATTACHMENT_BYTES if limit is None else limit
    path = Path(path)
    if not path.is_file():
        raise AttachmentError(_("The file {name} does not exist or is not a file.").format(name=path.name))
    size = path.stat().st_size
    if size > limit:
        raise AttachmentError(
            _("{name} is {size} MB; evidence files may be at most {limit} MB. Reduce the photo or "
              "scan resolution, or attach a smaller extract.").format(
                name=path.name, size=format_number(round(size / 1048576, 1)), limit=limit // 1048576
            )
        )
    return size


def store_file(root: Path, source: Path, limit: int | None = None) -> tuple[str, int, str]:
    """Copy ``source`` into the store; returns (sha256, size, mime).  Idempotent."""
    size = check_file(source, limit)
    root.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=root)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, Path(source).open("rb") as src:
            while block := src.read(1 << 20):
                h.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        target = stored_path(root, digest)
        if target.exists():
            tmp.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise AttachmentError(
            _("Could not store {name}: {error}").format(name=Path(source).name, error=exc.strerror or exc)
        ) from exc
    mime = mimetypes.guess_type(str(source))[0] or "application/octet-stream"
    return digest, size, mime


def verify(root: Path, sha256: str) -> bool:
    path = stored_path(root, sha256)
    if not path.is_file():
        return False
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest() == sha256


def export_copy(root: Path, sha256: str, target: Path) -> None:
    if not verify(root, sha256):
        raise AttachmentError(_("The stored evidence file is missing or damaged (checksum mismatch)."))
    shutil.copyfile(stored_path(root, sha256), target)
