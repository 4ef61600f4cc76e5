"""The self-test's window step: the main window opens over the test database and draws itself."""

from __future__ import annotations

from typing import Any

from dbcomm.i18n import _


def show_register(db: Any) -> str:
    from PySide6.QtWidgets import QApplication

    from dbcomm.ui.app_fonts import register_bundled_fonts
    from dbcomm.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(["dbcomm"])
    register_bundled_fonts(app)
    window = MainWindow(db)
    window.resize(1200, 760)
    window.show()
    app.processEvents()
    image = window.grab().toImage()
    rows = window.register.model.rowCount() if window.register else 0
    platform = QApplication.platformName()
    window.close()
    window.deleteLater()
    app.processEvents()
    if image.isNull() or image.width() < 100:
        raise RuntimeError(_("the window could not be drawn"))
    if rows == 0:
        raise RuntimeError(_("the register shows no activities"))
    return _("{rows} rows on screen ({platform})").format(rows=rows, platform=platform)
