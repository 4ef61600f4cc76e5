"""Logging in, changing one's password, and the log-in step at start-up."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from dbcomm.errors import UserError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import auth, settings
from dbcomm.store.engine import Database
from dbcomm.ui.widgets import ErrorLabel


def _password_edit(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


class LoginDialog(QDialog):
    """User name and password; a refused login shows the reason (wrong password, locked, disabled)."""

    def __init__(self, db: Database, parent: QWidget | None = None, username: str = ""):
        super().__init__(parent)
        self.db = db
        self.setWindowTitle(_("Log in to dbcomm"))
        self.setMinimumWidth(420)
        lay = QVBoxLayout(self)
        office = settings.get_office(db).name
        intro = QLabel(office or "dbcomm")
        intro.setObjectName("office")
        intro.setStyleSheet("font-weight: bold;")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.username_edit = QLineEdit(username)
        self.username_edit.setObjectName("username")
        self.password_edit = _password_edit("password")
        form.addRow(_("User name"), self.username_edit)
        form.addRow(_("Password"), self.password_edit)
        lay.addLayout(form)
        self.error = ErrorLabel()
        self.error.setObjectName("login_error")
        lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.login_button = buttons.addButton(_("Log in"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.login_button.setObjectName("login")
        self.cancel_button = buttons.addButton(_("Quit"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.login)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.login_button.setDefault(True)  # Enter in either box logs in
        (self.password_edit if username else self.username_edit).setFocus()

    def login(self) -> bool:
        try:
            auth.authenticate(self.db, self.username_edit.text(), self.password_edit.text())
        except UserError as exc:
            self.error.show_message(str(exc))
            self.password_edit.clear()
            self.password_edit.setFocus()
            return False
        self.error.show_message("")
        self.accept()
        return True


class ChangePasswordDialog(QDialog):
    """The current password, the new one twice.  ``forced``: after a reset by the administrator."""

    def __init__(self, db: Database, parent: QWidget | None = None, forced: bool = False):
        super().__init__(parent)
        self.db = db
        self.setWindowTitle(_("Change my password"))
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        if forced:
            note = QLabel(_("The administrator set a temporary password for you. Choose your own password "
                            "before you continue."))
            note.setObjectName("forced_note")
            note.setWordWrap(True)
            lay.addWidget(note)
        form = QFormLayout()
        self.old_edit = _password_edit("old_password")
        self.new_edit = _password_edit("new_password")
        self.repeat_edit = _password_edit("repeat_password")
        self.errors: dict[str, ErrorLabel] = {}
        for name, caption, edit in (
            ("old_password", _("Current password"), self.old_edit),
            ("password", _("New password"), self.new_edit),
            ("repeat", _("New password again"), self.repeat_edit),
        ):
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(edit)
            err = ErrorLabel()
            v.addWidget(err)
            self.errors[name] = err
            form.addRow(caption, box)
        lay.addLayout(form)
        hint = QLabel(_("At least {n} characters, not your user name.").format(n=auth.MIN_PASSWORD))
        hint.setStyleSheet("color: #555;")
        lay.addWidget(hint)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(_("Change password"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("save")
        buttons.addButton(_("Quit") if forced else _("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.save_button.setDefault(True)

    def save(self) -> bool:
        for err in (*self.errors.values(), self.error):
            err.show_message("")
        if self.new_edit.text() != self.repeat_edit.text():
            self.errors["repeat"].show_message(_("The two new passwords differ."))
            return False
        try:
            auth.change_password(self.db, self.old_edit.text(), self.new_edit.text())
        except ValidationFailed as exc:
            placed = False
            for e in exc.errors:
                if e.field in self.errors:
                    self.errors[e.field].show_message(e.message)
                    placed = True
            if not placed:
                self.error.show_message(str(exc))
            return False
        except UserError as exc:
            self.error.show_message(str(exc))
            return False
        self.accept()
        return True


def ensure_logged_in(db: Database, parent: QWidget | None = None) -> bool:
    """At start-up and after logging out: single-user mode, or the login dialog.

    Returns False when the person gives up (the application then quits).  A database
    without any account (not set up yet) runs as the system and needs no login.
    """
    needs_login = db.actor is None and auth.has_accounts(db) and auth.enter_single_user(db) is None
    if needs_login and not LoginDialog(db, parent).exec():
        return False
    if auth.must_change_password(db) and not ChangePasswordDialog(db, parent, forced=True).exec():
        auth.logout(db)
        return False
    return True
