"""Writing files safely: a temporary file, flushed, renamed, then read back and checked."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dbcomm.errors import UserError
from dbcomm.i18n import _


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class _HashingWriter:
    """Writes to the file and hashes what it wrote."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self._fh.write(data)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it holds either the old or the whole new content."""
    atomic_write_stream(path, lambda out: out.write(data))


def atomic_write_stream(path: Path, write: Callable[[_HashingWriter], object]) -> None:
    """``write(out)`` writes the file's content piece by piece (``out.write(bytes)``), into a
    temporary file beside ``path`` that replaces it once whole; then it is read back and
    checked.  Whatever ``write`` raises leaves ``path`` as it was and no temporary file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                out = _HashingWriter(fh)
                write(out)
                fh.flush()
                os.fsync(fh.fileno())
            expected = out.digest.hexdigest()
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # a file to hand on, not a private one
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if hasattr(os, "O_DIRECTORY"):
            with contextlib.suppress(OSError):
                dfd = os.open(path.parent, os.O_DIRECTORY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
    except OSError as exc:
        raise UserError(
            _("Could not write {path}: {error}. Nothing was written.").format(path=path, error=exc.strerror or exc)
        ) from exc
    if sha256_file(path) != expected:
        raise UserError(
            _("{path} was written but reads back differently: the disk may be faulty.").format(path=path)
        )


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))
