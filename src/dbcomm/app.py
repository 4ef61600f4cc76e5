"""Starting the window: open the database, first-run setup, the main window."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()


def _peak_memory_mb() -> float:
    """This process's peak resident memory (Linux); 0 where unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _install_qt_translator(app, language: str) -> None:  # type: ignore[no-untyped-def]
    """Qt's own texts (context menus, calendar) in the chosen language, where Qt ships them.

    Qt ships no Vietnamese catalog for its base widgets; dbcomm labels the buttons of its
    own dialogs itself, so only Qt's built-in context menus stay in English.
    """
    from PySide6.QtCore import QLibraryInfo, QTranslator

    translator = QTranslator(app)
    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if translator.load(f"qtbase_{language}", path):
        app.installTranslator(translator)


def _start_daily_checks(app, db, holder, replace_database) -> None:  # type: ignore[no-untyped-def]
    """First start of the day: full integrity check and daily backup, in the background.

    The register is usable meanwhile (SQLite's WAL lets it read while the check runs). If the
    check finds damage, the person is told at once and offered the latest good backup.
    """
    import threading

    from PySide6.QtCore import QObject, Signal

    from dbcomm.errors import DatabaseOpenError
    from dbcomm.services.database import daily_checks

    class _Relay(QObject):
        damaged = Signal(object)

    relay = _Relay(app)

    def on_damaged(exc: DatabaseOpenError) -> None:
        from dbcomm.ui.backup_dialogs import recover_at_start

        window = holder.get("w")
        if window is not None:
            window.hide()
        db.close()
        recovered = recover_at_start(exc, db.path)
        if recovered is None:
            app.quit()
        else:
            replace_database(recovered)

    relay.damaged.connect(on_damaged)

    def work() -> None:
        try:
            daily_checks(db)
        except DatabaseOpenError as exc:
            if exc.reason == "damaged":
                relay.damaged.emit(exc)
        except Exception:  # noqa: BLE001 - a failed daily backup must never stop the work
            import logging

            logging.getLogger(__name__).exception("daily checks failed")

    app._dbcomm_daily = relay  # type: ignore[attr-defined]  # keep the relay alive
    threading.Thread(target=work, name="daily-checks", daemon=True).start()


def _announce_running() -> None:
    """On Windows, a named mutex tells the installer that dbcomm is open (it then asks to close it)."""
    if sys.platform == "win32":
        import ctypes

        handle = ctypes.windll.kernel32.CreateMutexW(None, False, "dbcomm-running")  # type: ignore[attr-defined]
        globals()["_RUNNING_MUTEX"] = handle  # held until the process ends


def run_gui(db_path: Path | str | None = None, lang: str | None = None) -> int:
    _announce_running()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dbcomm import i18n
    from dbcomm.errors import UserError
    from dbcomm.services import settings
    from dbcomm.services.database import open_database

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("dbcomm")
    app.setOrganizationName("dbcomm")
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(Path(__file__).with_name("icons") / "dbcomm.png")))
    from dbcomm.ui.app_fonts import register_bundled_fonts

    register_bundled_fonts(app)  # shipped fonts first: a system without fonts draws no boxes
    from dbcomm.ui import collector

    collector.install(app)  # Qt objects must never be freed from a worker thread
    try:
        db = open_database(db_path, defer_daily=True)
    except UserError as exc:
        from dbcomm.ui.backup_dialogs import recover_at_start

        recovered = recover_at_start(exc, db_path)  # says why; if damaged, offers the latest good backup
        if recovered is None:
            return 2
        db = recovered
    if lang:
        i18n.set_language(lang)
    elif saved := settings.get_language(db):
        i18n.set_language(saved)

    _install_qt_translator(app, i18n.language())

    from dbcomm.services.fonts import check_fonts

    try:
        check_fonts()  # a damaged installation is said at once, not found later as boxes in a PDF
    except UserError as exc:
        from dbcomm.ui import interaction

        interaction.get().error(None, i18n._("dbcomm cannot start"), str(exc))
        db.close()
        return 3

    from dbcomm.ui.login_dialog import ensure_logged_in

    # Accounts: single-user mode or the login dialog (a database without accounts needs none;
    # the first-run wizard creates the administrator and logs them in).
    if not ensure_logged_in(db):
        db.close()
        return 0

    if not settings.is_setup_done(db):
        from dbcomm.ui.setup_wizard import SetupWizard

        wizard = SetupWizard(db)
        if not wizard.exec():
            db.close()
            return 0
        if not lang:
            i18n.set_language(wizard.chosen_language)

    from dbcomm.ui.main_window import MainWindow

    holder: dict[str, MainWindow] = {}

    def open_window() -> None:
        old = holder.get("w")
        window = MainWindow(db)
        window.language_changed.connect(lambda: relaunch())
        window.logged_out.connect(lambda: relogin())
        window.database_replaced.connect(lambda new_db: replace_database(new_db))
        if old is not None:
            window.restoreGeometry(old.saveGeometry())
            old.hide()
            old.deleteLater()
        holder["w"] = window
        window.show()

    def relaunch() -> None:
        i18n.set_language(settings.get_language(db) or i18n.DEFAULT_LANGUAGE)
        open_window()

    def relogin() -> None:
        old = holder.get("w")
        if old is not None:
            old.hide()
        app.setQuitOnLastWindowClosed(False)  # between the window and the login dialog
        try:
            ok = ensure_logged_in(db)
        finally:
            app.setQuitOnLastWindowClosed(True)
        if ok:
            open_window()
        else:
            app.quit()

    def replace_database(new_db) -> None:  # type: ignore[no-untyped-def]
        """After a restore or a hand-over import: the new content, and a login to it."""
        nonlocal db
        db = new_db
        relogin()

    open_window()
    _start_daily_checks(app, db, holder, replace_database)
    if os.environ.get("DBCOMM_EXIT_WHEN_READY"):
        # Used by the benchmark: report when the register is on screen, then quit.
        def ready() -> None:
            app.processEvents()
            w = holder["w"]
            rows = w.register.model.rowCount() if w.register else 0
            peak = _peak_memory_mb()
            print(f"ready {time.perf_counter() - _T0:.3f} rows={rows} peak_mb={peak:.1f}", flush=True)
            app.quit()

        QTimer.singleShot(0, ready)
    code = app.exec()
    db.close()
    return code
