"""The fonts shipped with dbcomm for its documents (Liberation Serif: Times-metric, OFL).

Noto Serif (OFL) draws the text stamp of a signed annex: pyHanko lays stamp text out with
the font's units per em taken as 1000, which Noto Serif has (Liberation has 2048).

Kept apart from the PDF renderer so that the start-up check costs nothing: a missing or
damaged font file must be reported when the application starts, not discovered as a PDF
drawn with empty boxes.
"""

from __future__ import annotations

from pathlib import Path

from dbcomm.errors import UserError
from dbcomm.i18n import _

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"

FONT_FILES: dict[str, str] = {
    "DbcommSerif": "LiberationSerif-Regular.ttf",
    "DbcommSerif-Bold": "LiberationSerif-Bold.ttf",
    "DbcommSerif-Italic": "LiberationSerif-Italic.ttf",
    "DbcommSerif-BoldItalic": "LiberationSerif-BoldItalic.ttf",
}
STAMP_FONT = "DbcommStamp"
STAMP_FONT_FILES: dict[str, str] = {
    STAMP_FONT: "NotoSerif-Regular.ttf",
}
"""Fonts for signature stamps (not registered with ReportLab)."""
SFNT_MAGIC = (b"\x00\x01\x00\x00", b"true", b"OTTO")


def check_fonts(folder: Path | None = None) -> None:
    """Raise ``UserError`` naming the first font file that is missing or unreadable."""
    folder = folder or FONT_DIR
    for file_name in [*FONT_FILES.values(), *STAMP_FONT_FILES.values()]:
        try:
            with (folder / file_name).open("rb") as fh:
                magic = fh.read(4)
        except OSError:
            magic = b""
        if magic not in SFNT_MAGIC:
            raise UserError(_(
                "The font file {file} that reports need is missing or unreadable "
                "(folder: {folder}). Reinstall the application to restore it."
            ).format(file=file_name, folder=str(folder)))


def font_path(name: str) -> Path:
    """The file of the shipped font ``name`` (a key of ``FONT_FILES`` or ``STAMP_FONT_FILES``)."""
    return FONT_DIR / {**FONT_FILES, **STAMP_FONT_FILES}[name]
