"""The Data menu: back up to a folder or USB stick, restore, hand-over export and import;
and, at start-up, the offer to restore the latest good backup of a damaged database.

Every slow step (checking a backup, writing, restoring) runs off the GUI thread with a
progress dialog.  A restore shows what the backup holds before anything changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEventLoop
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import Perm
from dbcomm.errors import UserError
from dbcomm.i18n import _, format_date, format_number
from dbcomm.services import auth, backup, handover, settings
from dbcomm.services.backup import BackupInfo
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.tasks import run_with_progress

if TYPE_CHECKING:
    from dbcomm.ui.main_window import MainWindow

def _filters() -> str:
    return _("dbcomm backup files (*.dbcbak *.sqlite3)") + ";;" + _("All files (*)")


class RestorePreviewDialog(QDialog):
    """What a backup or hand-over file holds, shown before anything changes."""

    def __init__(self, info: BackupInfo, *, current_office: str, current_count: int,
                 other_office: bool, handover_import: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.info = info
        self.setObjectName("restore_preview")
        self.setWindowTitle(_("Import hand-over file") if handover_import else _("Restore from backup"))
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        intro = QLabel(_("This file holds:"))
        lay.addWidget(intro)
        form = QFormLayout()

        def row(label: str, value: str, name: str) -> None:
            w = QLabel(value)
            w.setObjectName(name)
            w.setWordWrap(True)
            form.addRow(label, w)

        row(_("Office"), info.office_name or _("(not set)"), "office")
        row(_("Made on"), _("{day} at {time}").format(day=format_date(info.created_at.date()),
                                                      time=info.created_at.strftime("%H:%M")), "created")
        row(_("Activities"), format_number(info.activity_count), "activities")
        row(_("Schema version"), info.schema_revision or "?", "schema")
        if info.attachment_count:
            row(_("Evidence files"), format_number(info.attachment_count), "attachments")
        if info.app_version:
            row(_("Made by"), f"dbcomm {info.app_version}", "app_version")
        row(_("File"), str(info.path), "file")
        lay.addLayout(form)
        self.warning = QLabel(_("Warning: this file belongs to “{found}”, but this database belongs to "
                                "“{current}”.").format(found=info.office_name, current=current_office))
        self.warning.setObjectName("other_office_warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b00020; font-weight: bold")
        self.warning.setVisible(other_office)
        lay.addWidget(self.warning)
        if current_count:
            replace_text = _("The {n} activities now in this database will be replaced. A backup of them is "
                             "taken first.").format(n=format_number(current_count))
        else:
            replace_text = _("The current content of this database will be replaced. A backup of it is "
                             "taken first.")
        note = QLabel(replace_text)
        note.setObjectName("replace_note")
        note.setWordWrap(True)
        lay.addWidget(note)
        buttons = QDialogButtonBox()
        self.restore_button = buttons.addButton(
            _("Import") if handover_import else _("Restore"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.restore_button.setObjectName("restore_button")
        self.cancel_button = buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


# --- the Data menu ------------------------------------------------------------------


def install_data_menu(window: MainWindow) -> QMenu:
    """Add the Data menu (before Help) to the main window."""
    actor = auth.current(window.db)
    menu = QMenu(_("&Data"), window)
    menu.setObjectName("data_menu")
    items: list[tuple[str, str, Callable[[], None], Perm]] = [
        ("backup_to", _("Back up to…"), lambda: back_up_to(window), Perm.BACKUP),
        ("restore_from", _("Restore from…"), lambda: restore_from(window), Perm.RESTORE),
        ("", "", lambda: None, Perm.BACKUP),
        ("export_handover", _("Export hand-over file…"), lambda: export_handover(window), Perm.BACKUP),
        ("import_handover", _("Import hand-over file…"), lambda: restore_from(window, handover_import=True),
         Perm.RESTORE),
    ]
    for name, text, slot, perm in items:
        if not name:
            menu.addSeparator()
            continue
        action = QAction(text, window)
        action.setObjectName(name)
        action.triggered.connect(slot)
        action.setEnabled(actor.can(perm))
        menu.addAction(action)
    bar = window.menuBar()
    actions = bar.actions()
    if actions:
        bar.insertMenu(actions[-1], menu)  # before Help
    else:
        bar.addMenu(menu)
    return menu


def _with_suffix(path: Path) -> Path:
    return path if path.suffix.lower() == backup.SUFFIX else path.with_name(path.name + backup.SUFFIX)


def back_up_to(window: MainWindow) -> None:
    title = _("Back up to")
    office = settings.get_office(window.db).name
    path = interaction.get().save_file(window, title, backup.suggested_name(office, backup.now()), _filters())
    if not path:
        return
    path = _with_suffix(path)

    def done(info: BackupInfo) -> None:
        interaction.get().info(window, title, _(
            "The backup was written to {path} and read back without error: {n} activities, {files} "
            "evidence files. You may now remove the USB stick.").format(
                path=path, n=format_number(info.activity_count), files=format_number(info.attachment_count)))

    run_with_progress(window, _("Writing the backup…"), lambda: backup.backup_to(window.db, path), done)


def export_handover(window: MainWindow) -> None:
    title = _("Export hand-over file")
    path = interaction.get().save_file(window, title, handover.suggested_name(window.db), _filters())
    if not path:
        return
    path = _with_suffix(path)

    def done(info: BackupInfo) -> None:
        interaction.get().info(window, title, _(
            "The hand-over file {path} holds the whole office: {n} activities, {files} evidence files, "
            "the settings and the accounts. On the new PC, choose Data → Import hand-over file. Keep the "
            "file as safely as the PC itself.").format(
                path=path, n=format_number(info.activity_count), files=format_number(info.attachment_count)))

    run_with_progress(window, _("Writing the hand-over file…"), lambda: handover.export(window.db, path), done)


def restore_from(window: MainWindow, *, handover_import: bool = False) -> None:
    """Choose a file, check it off the GUI thread, show what it holds, ask, then restore."""
    it = interaction.get()
    title = _("Import hand-over file") if handover_import else _("Restore from backup")
    try:
        actor = backup.authorize_restore(window.db)
    except UserError as exc:
        it.error(window, title, str(exc))
        return
    path = it.open_file(window, title, _filters())
    if not path:
        return
    db_path = window.db.path
    run_with_progress(
        window, _("Checking the file…"),
        lambda: backup.inspect(path, work_dir=backup.backup_dir_for(db_path)),
        lambda info: confirm_and_restore(window, info, actor, handover_import=handover_import),
    )


def confirm_and_restore(window: MainWindow, info: BackupInfo, actor: Any, *, handover_import: bool = False) -> None:
    it = interaction.get()
    title = _("Import hand-over file") if handover_import else _("Restore from backup")
    db_path = window.db.path
    count = backup.activity_count_at(db_path)
    current_office = settings.get_office(window.db).name
    other = backup.other_office(db_path, info) is not None and not (handover_import and not count)
    dialog = RestorePreviewDialog(info, current_office=current_office, current_count=count,
                                  other_office=other, handover_import=handover_import, parent=window)
    if not dialog.exec():
        return
    if other and not it.confirm(window, title, _(
            "This file belongs to “{found}”, not to “{current}”. Replace this office's data with it "
            "anyway?").format(found=info.office_name, current=current_office), _("Replace anyway")):
        return

    def work() -> tuple[backup.RestoreResult, Database]:
        from dbcomm.services.database import restore_and_open

        return restore_and_open(db_path, info.path, actor, handover_import=handover_import)

    def done(outcome: tuple[backup.RestoreResult, Database]) -> None:
        result, new_db = outcome
        kept = (_("The previous state was kept in {path}.").format(path=result.safety_copy)
                if result.safety_copy else "")
        if window.register is not None:
            window.register.model.shutdown()
        it.info(window, title, (_("Restored the data of {day}: {n} activities.").format(
            day=format_date(info.created_at.date()), n=format_number(info.activity_count)) + " " + kept).strip())
        window.database_replaced.emit(new_db)

    window.db.close()  # the engine reconnects by itself if the restore fails and the window stays
    run_with_progress(window, _("Restoring…"), work, done)


# --- at start-up ----------------------------------------------------------------------


class _Failed:
    def __init__(self, message: str):
        self.message = message


def run_blocking(title: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` off the GUI thread with a progress dialog before any window exists; returns
    its result, or a _Failed after showing the error."""

    def guarded() -> Any:
        try:
            return fn()
        except UserError as exc:
            return _Failed(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the person
            return _Failed(_("Unexpected error: {error}").format(error=exc))

    holder = QWidget()  # owns the thread until it has finished (no window exists yet)
    loop = QEventLoop()
    box: dict[str, Any] = {}
    thread = run_with_progress(holder, title, guarded, lambda result: box.setdefault("result", result))
    thread.finished.connect(loop.quit)  # the thread can only finish inside loop.exec()
    loop.exec()
    result = box.get("result")
    if isinstance(result, _Failed):
        interaction.get().error(None, title, result.message)
    return result


def recover_at_start(exc: UserError, db_path: Path | str | None) -> Database | None:
    """The database did not open: say why and, if it is damaged, offer the latest good backup.

    Returns the restored, opened database, or None (the app then stops).
    """
    from dbcomm.paths import default_database, default_db_path
    from dbcomm.store.engine import is_server_url

    it = interaction.get()
    title = _("dbcomm cannot open the database")
    if is_server_url(db_path) or (db_path is None and is_server_url(default_database())):
        it.error(None, title, str(exc))  # a server's recovery is the server's (docs/deployment.md)
        return None
    path = Path(db_path or default_db_path()).resolve()
    reason = getattr(exc, "reason", "")
    if not (reason == "damaged" or (reason == "not_a_database" and backup.list_backups(path))):
        it.error(None, title, str(exc))
        return None
    good = run_blocking(_("Looking for a good backup…"), lambda: backup.latest_good(path))
    if isinstance(good, _Failed):
        return None
    if good is None:
        it.error(None, title, str(exc) + "\n\n" + _(
            "No good backup was found in {folder}. Keep the damaged file as it is and ask your IT "
            "support for help.").format(folder=backup.backup_dir_for(path)))
        return None
    question = "\n\n".join([str(exc), _("The latest good backup:"), backup.describe(good), _(
        "Restore it? The damaged file is kept in {folder}; work entered after the backup was made "
        "must be entered again.").format(folder=backup.backup_dir_for(path))])
    if not it.confirm(None, title, question, _("Restore the backup"), _("Quit")):
        return None

    def work() -> tuple[backup.RestoreResult, Database]:
        from dbcomm.services.database import restore_and_open

        return restore_and_open(path, good.path, None)

    outcome = run_blocking(_("Restoring…"), work)
    if isinstance(outcome, _Failed):
        return None
    result, new_db = outcome
    it.info(None, title, _("Restored the data of {day}: {n} activities.").format(
        day=format_date(good.created_at.date()), n=format_number(good.activity_count)))
    return new_db
