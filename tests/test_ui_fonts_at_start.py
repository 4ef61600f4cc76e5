"""A damaged installation (a font file missing) is said at start-up, not found later as boxes in a PDF."""

from __future__ import annotations

import shutil

from dbcomm import app as app_module
from dbcomm.services import fonts
from ui_helpers import install_fake


def test_a_missing_font_file_stops_the_start_with_a_message_naming_it(qtbot, db_path, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    fake = install_fake(monkeypatch)
    folder = tmp_path / "fonts"
    folder.mkdir()
    for name in fonts.FONT_FILES.values():
        if name != "LiberationSerif-Bold.ttf":
            shutil.copy(fonts.FONT_DIR / name, folder / name)
    monkeypatch.setattr(fonts, "FONT_DIR", folder)

    code = app_module.run_gui(db_path)

    assert code == 3
    errors = [a for a in fake.asked if a.kind == "error"]
    assert len(errors) == 1
    assert "LiberationSerif-Bold.ttf" in errors[0].text
    assert "cài đặt lại" in errors[0].text.casefold() or "reinstall" in errors[0].text.casefold()


def test_the_shipped_fonts_pass_the_check():
    fonts.check_fonts()
    assert all((fonts.FONT_DIR / name).stat().st_size > 100_000 for name in fonts.FONT_FILES.values())
