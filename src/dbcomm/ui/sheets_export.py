"""File → Spreadsheet (Bảng tính): import an Excel/CSV log, write the blank template, export the
register (as filtered on screen) and a report's tables to .xlsx or CSV.

Files are written off the GUI thread (``ui/tasks.run_with_progress``); the file chooser goes
through ``ui/interaction`` so tests answer it.  The default names are Vietnamese, ASCII, with
the date (``so-hoat-dong-2026-11-27.xlsx``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from dbcomm.domain.roles import Perm
from dbcomm.domain.text import fold
from dbcomm.errors import UserError
from dbcomm.i18n import N_, VIETNAM, _, format_number, ngettext
from dbcomm.services import auth
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.tasks import (
    CancellableTask,
    IsCancelled,
    Progress,
    run_cancellable,
    run_with_progress,
)

if TYPE_CHECKING:
    from dbcomm.services import sheets


def _sheets() -> Any:
    """The spreadsheet service, loaded when first used (it brings openpyxl: a quarter of a
    second that the window's start need not wait for)."""
    from dbcomm.services import sheets as service

    return service


if TYPE_CHECKING:
    from dbcomm.ui.main_window import MainWindow

XLSX_FILTER = N_("Excel workbook (*.xlsx)")
CSV_FILTER = N_("CSV, UTF-8 (*.csv)")
SUFFIXES = (".xlsx", ".csv")


def today() -> date:
    """Today in Vietnam (tests may replace it)."""
    return datetime.now(VIETNAM).date()


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def default_name(kind: str, extra: str = "", suffix: str = ".xlsx") -> str:
    """``so-hoat-dong-2026-11-27.xlsx``, ``mau-nhap-hoat-dong-…``, ``bang-bao-cao-2026-q3-…``."""
    stem = {"register": "so-hoat-dong", "template": "mau-nhap-hoat-dong", "report": "bang-bao-cao"}[kind]
    if extra:
        stem += "-" + _slug(extra)
    return f"{stem}-{today():%Y-%m-%d}{suffix}"


def with_suffix(path: Path, allowed: tuple[str, ...] = SUFFIXES) -> Path:
    """The chosen name, with .xlsx added when the person typed none of the allowed extensions."""
    return path if path.suffix.lower() in allowed else path.with_name(path.name + allowed[0])


def _may(db: Database, perm: Perm) -> bool:
    try:
        return auth.current(db).can(perm)
    except UserError:
        return True


def _filters(csv: bool = True) -> str:
    return ";;".join([_(XLSX_FILTER), _(CSV_FILTER)] if csv else [_(XLSX_FILTER)])


def _wrote(parent: QWidget, title: str, paths: list[Path], rows: int | None = None) -> None:
    where = "\n".join(str(p) for p in paths)
    if rows is None:
        text = _("Wrote {path}.").format(path=where)
    else:
        text = ngettext("Wrote {n} row to {path}.", "Wrote {n} rows to {path}.", rows).format(
            n=format_number(rows), path=where)
    interaction.get().info(parent, title, text)


# --- the register ------------------------------------------------------------------------------


def export_register(window: MainWindow) -> CancellableTask | None:
    """The register as filtered on screen (the deleted ones when the recycle bin is shown), with
    a progress bar and Stop (a province's register takes a while)."""
    title = _("Export the register to Excel/CSV")
    register = window.register
    if register is None:
        return None
    f = register.current_filter()
    chosen = interaction.get().save_file(window, title, default_name("register"), _filters())
    if not chosen:
        return None
    path = with_suffix(chosen)
    db = window.db

    def done(result: sheets.ExportResult) -> None:
        interaction.get().info(window, title, ngettext(
            "Wrote {n} activity to {path}.", "Wrote {n} activities to {path}.", result.rows).format(
            n=format_number(result.rows), path=result.path))

    def work(progress: Progress, cancelled: IsCancelled) -> sheets.ExportResult:
        return _sheets().export_register(db, f, path, progress=progress, cancelled=cancelled)

    return run_cancellable(
        window, title, work, done, label=_("Exporting the register…"),
        on_cancel=lambda: window.statusBar().showMessage(_("Export stopped: no file was written."), 8000))


# --- the blank template ------------------------------------------------------------------------


def write_template(window: MainWindow) -> None:
    title = _("Blank template for Excel")
    chosen = interaction.get().save_file(window, title, default_name("template"), _filters(csv=False))
    if not chosen:
        return
    path = with_suffix(chosen, (".xlsx",))
    db, plan_id = window.db, window.plan_id
    run_with_progress(window, _("Writing the template…"), lambda: _sheets().write_template(db, plan_id, path),
                      lambda written: _wrote(window, title, [Path(written)]))


# --- a report's tables -------------------------------------------------------------------------


def export_report_tables(parent: QWidget, db: Database, report_id: int, period_key: str,
                         on_done: Callable[[sheets.ExportResult], None] | None = None) -> None:
    """Every table of a stored report (as it was built) to one .xlsx, or one CSV per table."""
    title = _("Export tables to Excel")
    chosen = interaction.get().save_file(parent, title, default_name("report", period_key), _filters())
    if not chosen:
        return
    path = with_suffix(chosen)

    def done(result: sheets.ExportResult) -> None:
        _wrote(parent, title, result.paths, result.rows)
        if on_done is not None:
            on_done(result)

    run_with_progress(parent, _("Exporting the report's tables…"),
                      lambda: _sheets().export_report(db, path, report_id=report_id), done)


# --- the menu ----------------------------------------------------------------------------------


def open_import(window: MainWindow) -> Any:
    from dbcomm.ui.sheets_import import open_import as open_dialog

    dialog = open_dialog(window, window.db, window.plan_id)
    if dialog is not None:
        def imported(_result: Any) -> None:
            if window.register is not None:
                window.register.refresh()
            if window.dashboard is not None:
                window.dashboard.mark_stale()

        dialog.imported.connect(imported)
    return dialog


def install_sheets_menu(window: MainWindow) -> QMenu:
    """File → Spreadsheet: the import, the template and the register's export, after "Import from USB…"."""
    db = window.db
    menu = QMenu(_("Spreadsheet (Excel, CSV)"), window)
    menu.setObjectName("sheets_menu")
    items: list[tuple[str, str, Callable[[], Any], Perm]] = [
        ("sheets_import", _("Import from Excel/CSV…"), lambda: open_import(window), Perm.EDIT_ACTIVITIES),
        ("sheets_template", _("Blank template for Excel…"), lambda: write_template(window), Perm.EXPORT),
        ("sheets_export", _("Export the register to Excel/CSV…"), lambda: export_register(window), Perm.EXPORT),
    ]
    for name, text, slot, perm in items:
        action = QAction(text, window)
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False, run=slot: run())
        allowed = _may(db, perm)
        action.setEnabled(allowed)
        if not allowed:
            action.setToolTip(_("Your role does not allow this."))
        menu.addAction(action)
    file_menu = window.menuBar().actions()[0].menu()
    assert isinstance(file_menu, QMenu)
    actions = file_menu.actions()
    usb = next((i for i, a in enumerate(actions) if a.objectName() == "usb_import"), None)
    before = actions[usb + 1] if usb is not None and usb + 1 < len(actions) else None
    if before is not None:
        file_menu.insertMenu(before, menu)
    else:
        file_menu.addMenu(menu)
    return menu


__all__ = ["default_name", "export_register", "export_report_tables", "install_sheets_menu", "open_import",
           "with_suffix", "write_template"]
