"""Administration → Accounts: add, edit, reset, unlock, disable; single-user mode."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import ROLE_LABELS, Role
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.i18n import N_, _, format_datetime
from dbcomm.services import auth
from dbcomm.services.auth import UserInfo
from dbcomm.store.engine import Database
from dbcomm.store.models import utcnow
from dbcomm.ui import interaction
from dbcomm.ui.widgets import ErrorLabel

COLUMNS = [N_("User name"), N_("Full name"), N_("Role"), N_("Active"), N_("Locked until"), N_("Last login")]


class _FieldsDialog(QDialog):
    """A small form whose fields each have an error line under them."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(480)
        self.lay = QVBoxLayout(self)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.lay.addLayout(self.form)
        self.errors: dict[str, ErrorLabel] = {}
        self.error = ErrorLabel()

    def add_field(self, name: str, caption: str, widget: QWidget) -> None:
        widget.setObjectName(name)
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        v.addWidget(widget)
        err = ErrorLabel()
        v.addWidget(err)
        self.errors[name] = err
        self.form.addRow(caption, box)

    def finish(self, save_text: str) -> None:
        self.lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(save_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("save")
        buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.lay.addWidget(buttons)
        self.save_button.setDefault(True)

    def clear_errors(self) -> None:
        for err in (*self.errors.values(), self.error):
            err.show_message("")

    def show_errors(self, exc: UserError) -> None:
        if isinstance(exc, ValidationFailed):
            for e in exc.errors:
                self.errors.get(e.field, self.error).show_message(e.message)
        else:
            self.error.show_message(str(exc))

    def save(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError


def _password_edit() -> QLineEdit:
    e = QLineEdit()
    e.setEchoMode(QLineEdit.EchoMode.Password)
    return e


class UserDialog(_FieldsDialog):
    """Add an account (``user=None``) or change a person's name and role."""

    def __init__(self, db: Database, user: UserInfo | None = None, parent: QWidget | None = None):
        super().__init__(_("Edit account") if user else _("Add an account"), parent)
        self.db, self.user = db, user
        self.username_edit = QLineEdit(user.username if user else "")
        self.username_edit.setEnabled(user is None)
        self.full_name_edit = QLineEdit(user.full_name if user else "")
        self.role_combo = QComboBox()
        for role, label in ROLE_LABELS.items():
            self.role_combo.addItem(_(label), str(role))
        self.role_combo.setCurrentIndex(self.role_combo.findData(str(user.role) if user else str(Role.ENTRY)))
        self.add_field("username", _("User name"), self.username_edit)
        self.add_field("full_name", _("Full name"), self.full_name_edit)
        self.add_field("role", _("Role"), self.role_combo)
        self.password_edit = _password_edit()
        self.repeat_edit = _password_edit()
        if user is None:
            self.add_field("password", _("Password"), self.password_edit)
            self.add_field("repeat", _("Password again"), self.repeat_edit)
            hint = QLabel(_("At least {n} characters, not the user name. Give it to the person; they can "
                            "change it under File → Change my password.").format(n=auth.MIN_PASSWORD))
            hint.setWordWrap(True)
            hint.setStyleSheet("color: #555;")
            self.lay.addWidget(hint)
        self.finish(_("Save"))

    def save(self) -> bool:
        self.clear_errors()
        try:
            if self.user is None:
                if self.password_edit.text() != self.repeat_edit.text():
                    self.errors["repeat"].show_message(_("The two passwords differ."))
                    return False
                auth.create_user(self.db, self.username_edit.text(), self.full_name_edit.text(),
                                 self.role_combo.currentData(), self.password_edit.text())
            else:
                auth.update_user(self.db, self.user.id, full_name=self.full_name_edit.text(),
                                 role=self.role_combo.currentData())
        except UserError as exc:
            self.show_errors(exc)
            return False
        self.accept()
        return True


class ResetPasswordDialog(_FieldsDialog):
    """A temporary password, which the person must change at the next login."""

    def __init__(self, db: Database, user: UserInfo, parent: QWidget | None = None):
        super().__init__(_("Reset the password of {name}").format(name=user.username), parent)
        self.db, self.user = db, user
        note = QLabel(_("Give the temporary password to {name}. dbcomm asks them to choose their own password "
                        "at the next login. Resetting also unlocks the account.").format(
                            name=user.full_name or user.username))
        note.setWordWrap(True)
        self.lay.insertWidget(0, note)
        self.password_edit = _password_edit()
        self.repeat_edit = _password_edit()
        self.add_field("password", _("Temporary password"), self.password_edit)
        self.add_field("repeat", _("Password again"), self.repeat_edit)
        self.finish(_("Reset password"))

    def save(self) -> bool:
        self.clear_errors()
        if self.password_edit.text() != self.repeat_edit.text():
            self.errors["repeat"].show_message(_("The two passwords differ."))
            return False
        try:
            auth.reset_password(self.db, self.user.id, self.password_edit.text())
        except UserError as exc:
            self.show_errors(exc)
            return False
        self.accept()
        return True


class UsersDialog(QDialog):
    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.users: list[UserInfo] = []
        self.setWindowTitle(_("Accounts"))
        self.resize(920, 480)
        lay = QVBoxLayout(self)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("users")
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for i, width in enumerate((120, 190, 190, 120, 130)):
            header.resizeSection(i, width)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _i: self.edit_user())
        lay.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.add_button = QPushButton(_("Add…"))
        self.edit_button = QPushButton(_("Edit…"))
        self.reset_button = QPushButton(_("Reset password…"))
        self.unlock_button = QPushButton(_("Unlock"))
        self.active_button = QPushButton(_("Disable"))
        for name, button, slot in (
            ("add", self.add_button, self.add_user), ("edit", self.edit_button, self.edit_user),
            ("reset", self.reset_button, self.reset_password), ("unlock", self.unlock_button, self.unlock),
            ("active", self.active_button, self.toggle_active),
        ):
            button.setObjectName(name)
            button.clicked.connect(lambda _c=False, s=slot: s())
            row.addWidget(button)
        row.addStretch(1)
        lay.addLayout(row)

        self.single_user_check = QCheckBox(_("Single-user mode: this office has one person; open without login"))
        self.single_user_check.setObjectName("single_user")
        self.single_user_check.setChecked(auth.single_user_enabled(db))
        self.single_user_check.clicked.connect(self._on_single_user)
        lay.addWidget(self.single_user_check)
        explain = QLabel(_("In single-user mode dbcomm opens without asking for a password and works as the "
                           "administrator. Keep it off when more than one person uses this workstation."))
        explain.setWordWrap(True)
        explain.setStyleSheet("color: #555;")
        lay.addWidget(explain)
        buttons = QDialogButtonBox()
        buttons.addButton(_("Close"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.reload()

    def reload(self) -> None:
        keep = self.selected()
        self.users = auth.list_users(self.db)
        now = utcnow()
        self.table.setRowCount(len(self.users))
        for r, u in enumerate(self.users):
            locked = u.locked_until if u.locked_until and u.locked_until > now else None
            cells = [u.username, u.full_name, _(ROLE_LABELS[u.role]), _("yes") if u.active else _("no"),
                     format_datetime(locked), format_datetime(u.last_login_at)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not u.active:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(r, c, item)
        if keep is not None:
            self.select_user(keep.username)
        self._update_buttons()

    def select_user(self, username: str) -> bool:
        for r, u in enumerate(self.users):
            if u.username == username:
                self.table.selectRow(r)
                return True
        return False

    def selected(self) -> UserInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        r = rows[0].row()
        return self.users[r] if 0 <= r < len(self.users) else None

    def _update_buttons(self) -> None:
        u = self.selected()
        for b in (self.edit_button, self.reset_button, self.active_button):
            b.setEnabled(u is not None)
        self.unlock_button.setEnabled(u is not None and u.locked_until is not None and u.locked_until > utcnow())
        self.active_button.setText(_("Enable") if u is not None and not u.active else _("Disable"))

    def _run(self, action) -> bool:  # type: ignore[no-untyped-def]
        try:
            action()
        except UserError as exc:
            interaction.get().error(self, _("Accounts"), str(exc))
            return False
        self.reload()
        return True

    # --- actions --------------------------------------------------------------------------
    def add_user(self) -> bool:
        d = UserDialog(self.db, None, self)
        if not d.exec():
            return False
        self.reload()
        self.select_user(d.username_edit.text().strip().lower())
        return True

    def edit_user(self) -> bool:
        u = self.selected()
        if u is None:
            return False
        if not UserDialog(self.db, u, self).exec():
            return False
        self.reload()
        return True

    def reset_password(self) -> bool:
        u = self.selected()
        if u is None:
            return False
        if not ResetPasswordDialog(self.db, u, self).exec():
            return False
        self.reload()
        interaction.get().info(self, _("Accounts"), _(
            "The password of {name} was reset. They must choose a new one at the next login.").format(
                name=u.username))
        return True

    def unlock(self) -> bool:
        u = self.selected()
        return u is not None and self._run(lambda: auth.unlock(self.db, u.id))

    def toggle_active(self) -> bool:
        u = self.selected()
        return u is not None and self._run(lambda: auth.update_user(self.db, u.id, active=not u.active))

    def _on_single_user(self, on: bool) -> None:
        if not self._run(lambda: auth.set_single_user(self.db, on)):
            self.single_user_check.setChecked(not on)
