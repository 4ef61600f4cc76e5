"""Someone else saved the same activity first: both versions side by side, and a choice."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.models import ConflictDetails
from dbcomm.i18n import _, format_datetime

KEEP_THEIRS, SAVE_MINE, BACK = "keep_theirs", "save_mine", "back"


class ConflictDialog(QDialog):
    """``choice`` after ``exec()``: KEEP_THEIRS, SAVE_MINE or BACK (the default, and Esc)."""

    def __init__(self, message: str, details: ConflictDetails, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(_("Someone else saved this activity"))
        self.choice = BACK
        lay = QVBoxLayout(self)
        text = QLabel(message)
        text.setWordWrap(True)
        lay.addWidget(text)
        self.table = QTableWidget(len(details.differences), 3, self)
        saved = (_("Saved by {who} at {time}").format(who=details.saved_by, time=format_datetime(details.saved_at))
                 if details.saved_by else _("Saved at {time}").format(time=format_datetime(details.saved_at)))
        self.table.setHorizontalHeaderLabels([_("Field"), _("Your version"), saved])
        for row, (label, mine, theirs) in enumerate(details.differences):
            for col, value in enumerate((label, mine, theirs)):
                item = QTableWidgetItem(value)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                if col:
                    item.setToolTip(value)
                self.table.setItem(row, col, item)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        if not details.differences:
            self.table.hide()
            lay.addWidget(QLabel(_("The saved version has the same values as yours.")))
        lay.addWidget(self.table)
        buttons = QHBoxLayout()
        self.keep_button = QPushButton(_("Keep the saved version (discard mine)"))
        self.save_button = QPushButton(_("Save my version over it"))
        self.back_button = QPushButton(_("Back to editing"))
        self.back_button.setDefault(True)
        for button, choice in ((self.keep_button, KEEP_THEIRS), (self.save_button, SAVE_MINE),
                               (self.back_button, BACK)):
            button.clicked.connect(lambda _checked=False, c=choice: self._choose(c))
            buttons.addWidget(button)
        buttons.insertStretch(2)
        lay.addLayout(buttons)
        self.resize(820, 200 + 34 * max(1, len(details.differences)))

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept() if choice != BACK else self.reject()
