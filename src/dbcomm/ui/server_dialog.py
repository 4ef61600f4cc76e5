"""Administration → Database: this computer's file or a shared server, a connection test, and
copying this office's data onto an empty server database.

Saving does what ``dbcomm server use`` / ``server local`` do (``services.server_setup``); the copy
is ``dbcomm server copy`` (``services.server_copy``). The connection test and the copy run off the
GUI thread; the copy shows its progress here and can be stopped (nothing is then written).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import Perm
from dbcomm.errors import UserError
from dbcomm.i18n import _
from dbcomm.services import auth, server_copy, server_setup
from dbcomm.services.server_setup import DEFAULT_PORT, ServerAddress
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.tasks import BackgroundTask

if TYPE_CHECKING:
    from dbcomm.ui.main_window import MainWindow

GOOD = "color: #1b5e20;"
BAD = "color: #b00020;"
NOTE = "color: #5f6368;"


def _note(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(NOTE)
    if name:
        label.setObjectName(name)
    return label


class _StepsTask(BackgroundTask):
    """A background task whose progress goes to ``on_step`` (on the GUI thread)."""

    def __init__(self, *args: Any, on_step: Callable[[int, int], None], **kwargs: Any):
        super().__init__(*args, **kwargs)
        # progress reaches the GUI thread queued, after this constructor has returned
        self._on_step: Callable[[int, int], None] | None = on_step

    def on_progress(self, done: int, total: int) -> None:
        if self._on_step is not None:
            self._on_step(done, total)

    def _finish_ui(self) -> None:
        self._on_step = None  # no reference back to the dialog once it has reported


class ServerDialog(QDialog):
    """``reopen(target)``, when given, opens the chosen database in the window at once (the
    choice is saved either way; without it, the new choice takes effect at the next start)."""

    def __init__(self, db: Database, parent: QWidget | None = None,
                 reopen: Callable[[str | Path], None] | None = None):
        super().__init__(parent)
        self.db = db
        self.reopen = reopen
        self.task: BackgroundTask | None = None
        self.saved: str | Path | None = None  # what Save remembered
        self.copied: server_copy.CopyResult | None = None
        self.setObjectName("server_dialog")
        self.setWindowTitle(_("Database: this computer or a shared server"))
        self.setMinimumWidth(640)
        self.allowed = auth.current(db).can(Perm.EDIT_SETTINGS)
        choice = server_setup.current_choice()
        lay = QVBoxLayout(self)
        lay.addWidget(_note(_(
            "Where this computer keeps the office's register. A shared server is for an office where several "
            "workstations log activities at the same time; it needs someone to look after it and its backups "
            "(see the deployment guide).")))

        self.file_radio = QRadioButton(_("This computer (a database file)"))
        self.file_radio.setObjectName("use_file")
        self.server_radio = QRadioButton(_("A shared server (PostgreSQL) on the office network"))
        self.server_radio.setObjectName("use_server")
        group = QButtonGroup(self)
        group.addButton(self.file_radio)
        group.addButton(self.server_radio)
        lay.addWidget(self.file_radio)
        file_note = _note(_("File: {path}").format(path=choice.file), "file_path")
        file_note.setContentsMargins(24, 0, 0, 0)
        lay.addWidget(file_note)
        lay.addWidget(self.server_radio)

        self.server_box = QGroupBox(_("The server"))
        form = QFormLayout(self.server_box)
        self.address_edit = QLineEdit()
        self.address_edit.setObjectName("address")
        self.address_edit.setPlaceholderText("postgresql://dbcomm@192.168.1.10/dbcomm")
        self.address_edit.setToolTip(_("Paste the whole address given by whoever set up the server: the fields "
                                       "below are filled from it."))
        form.addRow(_("Full address"), self.address_edit)
        self.host_edit = QLineEdit()
        self.host_edit.setObjectName("host")
        self.host_edit.setPlaceholderText(_("name or address, e.g. 192.168.1.10"))
        self.port_spin = QSpinBox()
        self.port_spin.setObjectName("port")
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(DEFAULT_PORT)
        self.port_spin.setGroupSeparatorShown(False)
        host_row = QHBoxLayout()
        host_row.addWidget(self.host_edit, 1)
        host_row.addWidget(QLabel(_("Port")))
        host_row.addWidget(self.port_spin)
        form.addRow(_("Server"), host_row)
        self.database_edit = QLineEdit("dbcomm")
        self.database_edit.setObjectName("database")
        form.addRow(_("Database"), self.database_edit)
        self.user_edit = QLineEdit("dbcomm")
        self.user_edit.setObjectName("user")
        form.addRow(_("User"), self.user_edit)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_("Password"), self.password_edit)
        form.addRow(_note(_(
            "dbcomm does not write the password in its own settings. When you save, it goes into your account's "
            "PostgreSQL password file ({path}), which the other users of this computer cannot read. Leave it "
            "empty if the password is already there.").format(path=server_setup.password_file()), "password_note"))
        test_row = QHBoxLayout()
        self.test_button = QPushButton(_("Test the connection"))
        self.test_button.setObjectName("test")
        self.test_button.clicked.connect(self.test_connection)
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        form.addRow(test_row)
        self.test_status = QLabel()
        self.test_status.setObjectName("test_status")
        self.test_status.setWordWrap(True)
        self.test_status.setVisible(False)
        form.addRow(self.test_status)
        lay.addWidget(self.server_box)

        self.copy_box = QGroupBox(_("Copy this office's data onto the server"))
        copy_lay = QVBoxLayout(self.copy_box)
        if db.is_server:
            intro = _("This window works on {server}. To copy a database file onto a server, start dbcomm on "
                      "that file.").format(server=db.label)
        else:
            intro = _("Copies everything in {file} (activities, plan, reports with their signed PDFs, the audit "
                      "trail, accounts, settings, received reports) into the server's database, which must be "
                      "empty. The file on this computer is not changed.").format(file=db.path)
        copy_lay.addWidget(_note(intro, "copy_intro"))
        files_row = QHBoxLayout()
        self.files_edit = QLineEdit()
        self.files_edit.setObjectName("shared_folder")
        self.files_edit.setPlaceholderText(_("e.g. \\\\may-chu\\dbcomm-tep"))
        self.files_button = QPushButton(_("Choose…"))
        self.files_button.clicked.connect(self._choose_folder)
        files_row.addWidget(QLabel(_("Shared folder for evidence files")))
        files_row.addWidget(self.files_edit, 1)
        files_row.addWidget(self.files_button)
        copy_lay.addLayout(files_row)
        copy_lay.addWidget(_note(_(
            "Evidence files (scans, photos) are files, not rows: they are copied into this network folder, which "
            "every workstation then uses. Left empty, they are copied to this computer only, and the other "
            "workstations cannot open them until a shared folder is set and they are copied there.")))
        run_row = QHBoxLayout()
        self.copy_button = QPushButton(_("Copy onto the server"))
        self.copy_button.setObjectName("copy")
        self.copy_button.clicked.connect(self.copy_data)
        self.progress = QProgressBar()
        self.progress.setObjectName("copy_progress")
        self.progress.setVisible(False)
        self.stop_button = QPushButton(_("Stop the copy"))
        self.stop_button.setObjectName("stop_copy")
        self.stop_button.setVisible(False)
        self.stop_button.clicked.connect(self.stop_copy)
        run_row.addWidget(self.copy_button)
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.stop_button)
        run_row.addStretch(0)
        copy_lay.addLayout(run_row)
        self.copy_status = QLabel()
        self.copy_status.setObjectName("copy_status")
        self.copy_status.setWordWrap(True)
        self.copy_status.setVisible(False)
        copy_lay.addWidget(self.copy_status)
        lay.addWidget(self.copy_box)

        self.override_note = QLabel(_(
            "On this computer DBCOMM_DATABASE is set ({value}): it is used instead of the choice saved here "
            "until IT staff remove it.").format(value=choice.overridden_by or ""))
        self.override_note.setObjectName("override_note")
        self.override_note.setWordWrap(True)
        self.override_note.setStyleSheet(BAD)
        self.override_note.setVisible(bool(choice.overridden_by))
        lay.addWidget(self.override_note)
        if not self.allowed:
            lay.addWidget(_note(_("Only an administrator may change where this computer keeps the data."),
                                "not_allowed"))
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(_("Save"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("save")
        self.close_button = buttons.addButton(_("Close"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

        if choice.server:
            try:
                self._show_address(ServerAddress.parse(choice.server))
            except UserError:
                self.address_edit.setText(choice.server)
        self.server_radio.setChecked(bool(choice.server))
        self.file_radio.setChecked(not choice.server)
        self.address_edit.textEdited.connect(self._address_typed)
        for edit in (self.host_edit, self.database_edit, self.user_edit):
            edit.textEdited.connect(self._parts_typed)
        self.port_spin.valueChanged.connect(self._parts_typed)
        self.server_radio.toggled.connect(self._enable)
        self._enable()

    # --- the address ---------------------------------------------------------------------
    def address(self) -> ServerAddress:
        return ServerAddress(self.host_edit.text().strip(), self.port_spin.value(), self.database_edit.text().strip(),
                             self.user_edit.text().strip(), self.password_edit.text())

    def _show_address(self, parts: ServerAddress, *, rewrite: bool = True) -> None:
        """The parts in their fields; the address field shows them without the password."""
        self.host_edit.setText(parts.host)
        self.port_spin.blockSignals(True)
        self.port_spin.setValue(parts.port)
        self.port_spin.blockSignals(False)
        self.database_edit.setText(parts.database)
        self.user_edit.setText(parts.user)
        if parts.password:
            self.password_edit.setText(parts.password)
        if rewrite or parts.password:
            self.address_edit.setText(ServerAddress(parts.host, parts.port, parts.database, parts.user).address())

    def _address_typed(self, text: str) -> None:
        """A pasted or typed address fills the fields (a password in it goes to the password field)."""
        try:
            parts = ServerAddress.parse(text)
        except UserError:
            return  # not a whole address yet
        self._show_address(parts, rewrite=False)
        self._forget_test()

    def _parts_typed(self, *_args: Any) -> None:
        parts = self.address()
        self.address_edit.setText(parts.address() if not parts.problems() else "")
        self._forget_test()

    def _forget_test(self) -> None:
        self.test_status.clear()
        self.test_status.setVisible(False)

    def _complete_address(self, status: QLabel) -> ServerAddress | None:
        parts = self.address()
        problems = parts.problems()
        if problems:
            self._say(status, " ".join(problems), ok=False)
            return None
        return parts

    # --- state ---------------------------------------------------------------------------
    def _busy(self) -> bool:
        return self.task is not None and self.task.running

    def _enable(self) -> None:
        busy = self._busy()
        server = self.server_radio.isChecked()
        self.file_radio.setEnabled(self.allowed and not busy)
        self.server_radio.setEnabled(self.allowed and not busy)
        self.server_box.setEnabled(self.allowed and server and not busy)
        self.copy_box.setEnabled(self.allowed and server and not self.db.is_server)
        for w in (self.files_edit, self.files_button, self.copy_button):
            w.setEnabled(not busy)
        self.save_button.setEnabled(self.allowed and not busy)

    def _say(self, label: QLabel, text: str, *, ok: bool | None) -> None:
        label.setStyleSheet(GOOD if ok else BAD if ok is False else NOTE)
        label.setText(text)
        label.setVisible(bool(text))
        self._fit()

    def _fit(self) -> None:
        """Tall enough for every wrapped line at the present width (Qt sizes a window by its
        labels' one-line hints, which cuts a long message off)."""
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)  # the group boxes' layouts first
        lay = self.layout()
        lay.activate()
        need = lay.totalHeightForWidth(self.width())
        if need > self.height():
            self.resize(self.width(), need)

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._fit()

    # --- test ----------------------------------------------------------------------------
    def test_connection(self) -> None:
        parts = self._complete_address(self.test_status)
        if parts is None or self._busy():
            return
        self._say(self.test_status, _("Connecting to {server}…").format(server=parts.address()), ok=None)

        def done(check: server_setup.ServerCheck) -> None:
            self._say(self.test_status, check.message, ok=True)
            self._enable()

        def failed(message: str) -> None:
            self._say(self.test_status, message, ok=False)
            self._enable()

        address = parts.address(with_password=True)
        self.task = BackgroundTask(lambda _p, _c: server_setup.check_server(address), done, failed, owner=self)
        self._enable()

    # --- copy ----------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        folder = interaction.get().choose_folder(self, _("Shared folder for evidence files"))
        if folder is not None:
            self.files_edit.setText(str(folder))

    def copy_data(self) -> None:
        parts = self._complete_address(self.copy_status)
        if parts is None or self._busy():
            return
        folder_text = self.files_edit.text().strip()
        folder = Path(folder_text) if folder_text else None
        address = parts.address(with_password=True)
        db = self.db
        self.progress.setRange(0, 0)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.stop_button.setVisible(True)
        self.stop_button.setEnabled(True)
        self._say(self.copy_status, _("Copying onto {server}… The copy is saved on the server only when it is "
                                      "complete and checked; until then it can be stopped.").format(
                                          server=parts.address()), ok=None)

        def work(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> server_copy.CopyResult:
            return server_copy.copy_to_server(db, address, shared_folder=folder, progress=progress,
                                              cancelled=cancelled)

        def ended() -> None:
            self.progress.setVisible(False)
            self.stop_button.setVisible(False)
            self._enable()

        def done(result: server_copy.CopyResult) -> None:
            self.copied = result
            ended()
            self._say(self.copy_status, result.message, ok=result.audit.ok and not result.files_missing)
            if self.allowed and interaction.get().confirm(self, self.windowTitle(), _(
                    "The office's data is on the server. Work on the server from now on, on this computer?"),
                    _("Use the server from now on"), _("Not now")):
                self.save()

        def failed(message: str) -> None:
            ended()
            self._say(self.copy_status, message, ok=False)

        def stopped() -> None:
            ended()
            self._say(self.copy_status, _("The copy was stopped; nothing was written to the server."), ok=None)

        self.task = _StepsTask(work, done, failed, stopped, owner=self, on_step=self._copy_progress)
        self._enable()

    def _copy_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def stop_copy(self) -> None:
        if self._busy() and self.task is not None:
            self.stop_button.setEnabled(False)
            self._say(self.copy_status, _("Stopping the copy…"), ok=None)
            self.task.cancel()

    # --- save ----------------------------------------------------------------------------
    def save(self) -> None:
        it = interaction.get()
        title = self.windowTitle()
        if self._busy():
            return
        try:
            auth.require(self.db, Perm.EDIT_SETTINGS)
        except UserError as exc:
            it.error(self, title, str(exc))
            return
        if self.file_radio.isChecked():
            try:
                path = server_setup.use_local_file()
            except UserError as exc:
                it.error(self, title, str(exc))
                return
            self.saved = path
            self._saved(_("This computer keeps the data in its own file again: {path}.").format(path=path), path)
            return
        parts = self._complete_address(self.test_status)
        if parts is None:
            return
        self._say(self.test_status, _("Checking {server} before saving…").format(server=parts.address()), ok=None)

        def done(chosen: server_setup.ServerChoice) -> None:
            self._enable()
            self.saved = chosen.address
            self._say(self.test_status, _("Saved."), ok=True)
            text = _("This computer works on {server} from now on.").format(server=chosen.label)
            if chosen.password_file is not None:
                text += " " + _("The password was put in the password file {path}, not in dbcomm's "
                                "settings.").format(path=chosen.password_file)
            self._saved(text, chosen.address)

        def failed(message: str) -> None:
            self._enable()
            self._say(self.test_status, message, ok=False)
            it.error(self, title, _("Nothing was saved: {message}").format(message=message))

        address, password = parts.address(), parts.password or None
        self.task = BackgroundTask(lambda _p, _c: server_setup.use_server(address, password), done, failed,
                                   owner=self)
        self._enable()

    def _saved(self, text: str, target: str | Path) -> None:
        """Saved: open it now in this window, or at the next start."""
        it = interaction.get()
        if self.reopen is not None and it.confirm(self, self.windowTitle(), text + "\n\n" + _(
                "Open it now? dbcomm asks you to log in again. Otherwise it is opened at the next start."),
                _("Open it now"), _("At the next start")):
            self.accept()
            self.reopen(target)
            return
        if self.reopen is None:
            it.info(self, self.windowTitle(), text + "\n\n" + _("Start dbcomm again to open it."))
        self.accept()

    def reject(self) -> None:
        if self._busy() and self.task is not None:  # the copy is rolled back; the test just ends
            self.task.cancel()
            self.task.wait(30000)
        super().reject()


def open_server_dialog(window: MainWindow) -> ServerDialog:
    """Administration → Database…: the dialog, and reopening the window on the database saved."""
    from dbcomm.services import settings
    from dbcomm.ui.tasks import run_with_progress

    def reopen(target: str | Path) -> None:
        def work() -> Database:
            from dbcomm.services.database import open_database

            return open_database(target)

        def opened(new_db: Database) -> None:
            if not settings.is_setup_done(new_db):  # a new server database: the first-run steps
                new_db.close()
                interaction.get().info(window, _("Database"), _(
                    "The office has not been set up in this database yet. Start dbcomm again: it asks for "
                    "the office's details first."))
                window.close()
                return
            old = window.db
            if window.register is not None:
                window.register.model.shutdown()
            window.database_replaced.emit(new_db)
            old.close()

        run_with_progress(window, _("Opening the database…"), work, opened)

    dialog = ServerDialog(window.db, window, reopen=reopen)
    dialog.exec()
    return dialog
