"""The fonts shipped with dbcomm, made known to Qt: a computer without fonts must not draw boxes.

The document fonts (Liberation Serif, Noto Serif) live in the package's ``fonts`` folder and
are registered wherever dbcomm runs, so previews and dialogs that name them find them.

The Linux bundle also carries an interface font, Noto Sans (OFL, with its licence), in
``fonts/ui``; it is copied there when the bundle is built and is not part of the source tree.
A bundle may start on a system with no fonts at all (or none with every Vietnamese letter), so
on Linux the frozen application uses Noto Sans for its interface, at the default point size.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
UI_FONT_SUBDIR = "ui"
UI_FAMILY = "Noto Sans"

_log = logging.getLogger(__name__)
_registered: dict[Path, list[str]] = {}  # font file -> its families, once per process


def _register(path: Path) -> list[str]:
    from PySide6.QtGui import QFontDatabase

    key = path.resolve()
    if key not in _registered:
        font_id = QFontDatabase.addApplicationFont(str(key))
        if font_id < 0:
            _log.warning("Qt could not load the font file %s", key)
            _registered[key] = []
        else:
            _registered[key] = list(QFontDatabase.applicationFontFamilies(font_id))
    return _registered[key]


def register_bundled_fonts(app: Any, folder: Path | None = None, *, frozen: bool | None = None,
                           platform: str | None = None) -> list[str]:
    """Register every shipped ``.ttf`` with Qt; return the font families they provide.

    ``folder`` is the package's ``fonts`` folder (its ``ui`` subfolder holds the interface
    font of a bundle). When running frozen on Linux and the interface font was registered, it
    becomes the application's font. ``frozen`` and ``platform`` default to this process's.
    """
    folder = FONT_DIR if folder is None else folder
    families: list[str] = []
    for path in sorted(folder.glob("*.ttf")):
        families += [f for f in _register(path) if f not in families]
    ui_families: list[str] = []
    for path in sorted((folder / UI_FONT_SUBDIR).glob("*.ttf")):
        ui_families += _register(path)
    families += [f for f in ui_families if f not in families]

    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    platform = sys.platform if platform is None else platform
    if frozen and platform.startswith("linux") and UI_FAMILY in ui_families:
        font = app.font()  # the platform's default size and style, with the shipped family
        font.setFamilies([UI_FAMILY])
        app.setFont(font)
    return families
