"""The shipped fonts are registered with Qt, so a computer without fonts still draws every letter."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dbcomm.ui import app_fonts

SYSTEM_NOTO_SANS = Path("/usr/share/fonts/truetype/noto")  # Debian's fonts-noto-core

# Runs in a fresh process whose fontconfig knows no font at all: what the frozen bundle meets
# on a bare system. Prints what Qt offers before and after the registration.
PROBE = r"""
import json, sys
from pathlib import Path
from PySide6.QtGui import QFontDatabase, QFontInfo, QFontMetrics
from PySide6.QtWidgets import QApplication
from dbcomm.ui.app_fonts import register_bundled_fonts

app = QApplication(["dbcomm"])
before = QFontDatabase.families()
size = app.font().pointSizeF()
folder = Path(sys.argv[1]) if len(sys.argv) > 1 else None
registered = register_bundled_fonts(app, folder, frozen=True, platform="linux")
font = app.font()
print(json.dumps({
    "before": before, "after": QFontDatabase.families(), "registered": registered,
    "size_before": size, "size_after": font.pointSizeF(), "resolved": QFontInfo(font).family(),
    "draws_vietnamese": all(QFontMetrics(font).inFontUcs4(ord(c)) for c in "ĐđƯưỰựẫỗ"),
}))
"""


def _probe_without_system_fonts(tmp_path: Path, folder: Path | None = None) -> dict:
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf), "QT_QPA_PLATFORM": "offscreen"}
    args = [sys.executable, "-c", PROBE, *([str(folder)] if folder else [])]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_registration_returns_the_families_of_the_shipped_files(qapp):  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QFontDatabase

    family_before = qapp.font().family()
    families = app_fonts.register_bundled_fonts(qapp, frozen=False)

    assert {"Liberation Serif", "Noto Serif"} <= set(families)
    assert {"Bold", "Italic", "Bold Italic"} <= set(QFontDatabase.styles("Liberation Serif"))
    assert qapp.font().family() == family_before  # from source, the desktop's own font stays


def test_on_a_system_without_fonts_registration_makes_the_shipped_families_available(tmp_path):  # type: ignore[no-untyped-def]
    seen = _probe_without_system_fonts(tmp_path)

    assert "Liberation Serif" not in seen["before"] and "Noto Serif" not in seen["before"]
    assert {"Liberation Serif", "Noto Serif"} <= set(seen["after"])
    assert {"Liberation Serif", "Noto Serif"} <= set(seen["registered"])
    assert seen["size_after"] == seen["size_before"]


@pytest.mark.skipif(not (SYSTEM_NOTO_SANS / "NotoSans-Regular.ttf").is_file(),
                    reason="needs Debian's fonts-noto-core (make sysdeps)")
def test_a_frozen_bundle_on_linux_uses_its_interface_font(tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "fonts"
    shutil.copytree(app_fonts.FONT_DIR, folder)
    (folder / app_fonts.UI_FONT_SUBDIR).mkdir()
    for name in ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"):
        shutil.copy(SYSTEM_NOTO_SANS / name, folder / app_fonts.UI_FONT_SUBDIR / name)

    seen = _probe_without_system_fonts(tmp_path, folder)

    assert "Noto Sans" not in seen["before"]
    assert "Noto Sans" in seen["registered"]
    assert seen["resolved"] == "Noto Sans"  # what Qt really draws with, not just what was asked
    assert seen["draws_vietnamese"]
    assert seen["size_after"] == seen["size_before"]
