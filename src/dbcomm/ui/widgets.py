"""Small widgets shared by the dialogs: dates, numbers, check lists, field errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtCore import QDate, QLocale, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QBoxLayout,
    QDateEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from dbcomm.i18n import _, format_number, language, parse_number


def qt_locale() -> QLocale:
    if language() == "vi":
        return QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)
    return QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom)


class DateEdit(QDateEdit):
    """A date typed as dd/MM/yyyy with a calendar pop-up."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDisplayFormat("dd/MM/yyyy")
        self.setCalendarPopup(True)
        self.setLocale(qt_locale())
        self.setDate(QDate.currentDate())

    def value(self) -> date:
        d = self.date()
        return date(d.year(), d.month(), d.day())

    def set_value(self, value: date) -> None:
        self.setDate(QDate(value.year, value.month, value.day))


class _NumberValidator(QValidator):
    def validate(self, text: str, pos: int):  # type: ignore[override]
        cleaned = text.replace(".", "").replace(",", "").replace(" ", "").replace("\u00a0", "")
        if cleaned == "" or cleaned.isdigit():
            return QValidator.State.Acceptable, text, pos
        if cleaned == "-":
            return QValidator.State.Intermediate, text, pos
        if cleaned.startswith("-") and cleaned[1:].isdigit():
            return QValidator.State.Acceptable, text, pos  # the service gives the clear message
        return QValidator.State.Invalid, text, pos


class NumberEdit(QLineEdit):
    """A whole number shown with the locale's group separators (1.234.567)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.setValidator(_NumberValidator(self))
        self.setPlaceholderText("0")
        self.editingFinished.connect(self._reformat)

    def value(self) -> int:
        try:
            return parse_number(self.text())
        except ValueError:
            return 0

    def set_value(self, value: int) -> None:
        self.setText(format_number(value) if value else "")

    def _reformat(self) -> None:
        if self.text().strip():
            self.set_value(self.value())


class CheckList(QListWidget):
    """A list of checkable entries keyed by a value (code or id)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.itemChanged.connect(lambda _item: self.changed.emit())

    def set_entries(self, entries: list[tuple[object, str]]) -> None:
        self.blockSignals(True)
        self.clear()
        for key, text in entries:
            item = QListWidgetItem(text, self)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setToolTip(text)
        self.blockSignals(False)

    def checked(self) -> list:  # type: ignore[type-arg]
        return [
            self.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.count())
            if self.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, keys: list) -> None:  # type: ignore[type-arg]
        wanted = set(keys)
        for i in range(self.count()):
            item = self.item(i)
            item.setCheckState(
                Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in wanted else Qt.CheckState.Unchecked
            )


class ErrorLabel(QLabel):
    """A red message shown under the field it is about; hidden when empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet("color: #b00020;")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_message(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))


def add_buttons(layout: QBoxLayout, specs: list[tuple[str, Callable[[], object], str]], stretch: bool = True) -> None:
    """Add (text, slot, object name) buttons to ``layout``, then a stretch."""
    for text, slot, name in specs:
        b = QPushButton(text)
        b.setObjectName(name)
        b.clicked.connect(slot)
        layout.addWidget(b)
    if stretch:
        layout.addStretch(1)


def enable_for(db: object, widget: QWidget, names_by_perm: dict[object, tuple[str, ...]]) -> None:
    """Turn off the buttons (by object name) whose permission the logged-in person lacks.

    The services refuse anyway; this only spares the person a refusal.
    """
    from dbcomm.errors import UserError
    from dbcomm.services.auth import current

    try:
        actor = current(db)  # type: ignore[arg-type]
    except UserError:
        return
    for perm, names in names_by_perm.items():
        allowed = actor.can(perm)  # type: ignore[arg-type]
        for name in names:
            button = widget.findChild(QPushButton, name)
            if button is not None:
                button.setEnabled(allowed)
                if not allowed:
                    button.setToolTip(_("Your role does not allow this."))


def may(db: object, perm: object) -> bool:
    """Whether the person logged in may do ``perm`` (True when nobody needs to log in)."""
    from dbcomm.errors import UserError
    from dbcomm.services import auth

    try:
        return auth.current(db).can(perm)  # type: ignore[arg-type]
    except UserError:
        return True


def message_label(name: str) -> QLabel:
    """A hidden, wrapping, selectable label for a dialog's messages (shown by ``say``)."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def say(label: QLabel, text: str, colour: str | None = None, bold: bool = False) -> None:
    """Show ``text`` in ``label`` (hidden when empty), in ``colour`` and bold if asked."""
    style = []
    if colour:
        style.append(f"color: {colour};")
    if bold:
        style.append("font-weight: bold;")
    label.setStyleSheet(" ".join(style))
    label.setText(text)
    label.setVisible(bool(text))
