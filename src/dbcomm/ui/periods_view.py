"""The reporting periods of the plan and their workflow: submit, approve or return, lock, reopen."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.periods import PeriodKind
from dbcomm.domain.roles import PERIOD_STATE_LABELS, TRANSITIONS, PeriodState
from dbcomm.errors import UserError
from dbcomm.i18n import N_, _, format_date, format_datetime, format_number
from dbcomm.services import auth, periods
from dbcomm.services.periods import PeriodRow
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.widgets import ErrorLabel

# Background and text colour of the state cell.
STATE_COLOURS: dict[PeriodState, tuple[str, str]] = {
    PeriodState.DRAFT: ("#f1f3f4", "#3c4043"),
    PeriodState.SUBMITTED: ("#dbe9fb", "#0b4a8b"),
    PeriodState.APPROVED: ("#d7f0dc", "#1b5e20"),
    PeriodState.RETURNED: ("#fde7cf", "#8a4b00"),
    PeriodState.LOCKED: ("#e0e0e0", "#202124"),
}

KIND_FILTERS: list[tuple[str, tuple[PeriodKind, ...]]] = [
    (N_("All kinds of period"), (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF, PeriodKind.NINE,
                                 PeriodKind.YEAR)),
    (N_("Months"), (PeriodKind.MONTH,)),
    (N_("Quarters"), (PeriodKind.QUARTER,)),
    (N_("6 months"), (PeriodKind.HALF,)),
    (N_("9 months"), (PeriodKind.NINE,)),
    (N_("Years"), (PeriodKind.YEAR,)),
]

COLUMNS = [N_("Period"), N_("From"), N_("To"), N_("State"), N_("Changed by"), N_("Changed on"),
           N_("Activities"), N_("Note")]


class NoteDialog(QDialog):
    """Asks why (returning or reopening a period): the note is kept with the period."""

    def __init__(self, title: str, prompt: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        label = QLabel(prompt)
        label.setWordWrap(True)
        lay.addWidget(label)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setObjectName("note")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setFixedHeight(90)
        lay.addWidget(self.note_edit)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton(title, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("ok")
        buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def note(self) -> str:
        return self.note_edit.toPlainText().strip()

    def _accept(self) -> None:
        if not self.note():
            self.error.show_message(_("Say why (the note is kept with the period)."))
            return
        self.accept()


class PeriodsView(QWidget):
    """Emits ``changed`` after a period changed state (the register and the audit trail reload)."""

    changed = Signal()

    def __init__(self, db: Database, plan_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.plan_id = plan_id
        self.rows: list[PeriodRow] = []

        top = QHBoxLayout()
        top.addWidget(QLabel(_("Show:")))
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("period_kind")
        for i, (label, _kinds) in enumerate(KIND_FILTERS):
            self.kind_combo.addItem(_(label), i)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.reload() if self.isVisible() else None)
        top.addWidget(self.kind_combo)
        top.addStretch(1)
        self.refresh_button = QPushButton(_("Refresh"))
        self.refresh_button.clicked.connect(self.reload)
        top.addWidget(self.refresh_button)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("periods")
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for i, width in enumerate((90, 95, 95, 120, 180, 130, 90)):
            header.resizeSection(i, width)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.info = QLabel()
        self.info.setObjectName("period_info")
        self.info.setWordWrap(True)
        self.error = ErrorLabel()

        buttons = QHBoxLayout()
        self.submit_button = QPushButton(_("Submit"))
        self.approve_button = QPushButton(_("Approve"))
        self.return_button = QPushButton(_("Return…"))
        self.lock_button = QPushButton(_("Lock"))
        self.reopen_button = QPushButton(_("Reopen…"))
        self.submit_button.setToolTip(_("Send the period to the leader; its activities can no longer change"))
        self.approve_button.setToolTip(_("Approve the submitted period"))
        self.return_button.setToolTip(_("Send the period back for corrections, with a note"))
        self.lock_button.setToolTip(_("Close the approved period for good"))
        self.reopen_button.setToolTip(_("Make the period a draft again, with a note (recorded in the audit trail)"))
        self.targets: dict[QPushButton, PeriodState] = {
            self.submit_button: PeriodState.SUBMITTED,
            self.approve_button: PeriodState.APPROVED,
            self.return_button: PeriodState.RETURNED,
            self.lock_button: PeriodState.LOCKED,
            self.reopen_button: PeriodState.DRAFT,
        }
        for button, target in self.targets.items():
            button.setObjectName(f"to_{target.value}")
            button.clicked.connect(lambda _c=False, t=target: self.move_to(t))
            buttons.addWidget(button)
        buttons.addStretch(1)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.info)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        self._update_buttons()
        # Filled when the tab is shown (and each time again: counts change as activities are logged).

    # --- data ---------------------------------------------------------------------------
    def set_plan(self, plan_id: int) -> None:
        self.plan_id = plan_id
        if self.isVisible():
            self.reload()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        self.reload()
        super().showEvent(event)

    def reload(self) -> None:
        keep = self.selected_key()
        kinds = KIND_FILTERS[self.kind_combo.currentIndex()][1]
        try:
            self.rows = periods.list_periods(self.db, self.plan_id, kinds)
        except UserError as exc:
            self.rows = []
            self.error.show_message(str(exc))
        self.table.setRowCount(len(self.rows))
        for r, p in enumerate(self.rows):
            bg, fg = STATE_COLOURS[p.state]
            cells = [p.key, format_date(p.start), format_date(p.end), _(PERIOD_STATE_LABELS[p.state]),
                     p.changed_by, format_datetime(p.changed_at), format_number(p.activities), p.note]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, p.key)
                if c == 3:
                    item.setBackground(QBrush(QColor(bg)))
                    item.setForeground(QBrush(QColor(fg)))
                if c == 6:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 7:
                    item.setToolTip(p.note)
                self.table.setItem(r, c, item)
        if keep:
            self.select_key(keep)
        self._update_buttons()

    def selected_key(self) -> str | None:
        row = self.selected_row()
        return row.key if row else None

    def selected_row(self) -> PeriodRow | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        r = rows[0].row()
        return self.rows[r] if 0 <= r < len(self.rows) else None

    def select_key(self, key: str) -> bool:
        for r, p in enumerate(self.rows):
            if p.key == key:
                self.table.selectRow(r)
                self.table.scrollToItem(self.table.item(r, 0))
                return True
        return False

    # --- the workflow ---------------------------------------------------------------------
    def allowed(self, state: PeriodState, target: PeriodState) -> bool:
        """Whether the person may move a period from ``state`` to ``target`` (the service checks again)."""
        perm = TRANSITIONS.get((state, target))
        return perm is not None and auth.current(self.db).can(perm)

    def _update_buttons(self) -> None:
        row = self.selected_row()
        for button, target in self.targets.items():
            button.setEnabled(row is not None and self.allowed(row.state, target))
        if row is None:
            self.info.setText(_("Select a period to submit, approve, return, lock or reopen it."))
            return
        state = _(PERIOD_STATE_LABELS[row.state]).lower()
        text = _("Period {key} ({start} – {end}) is {state}.").format(
            key=row.key, start=format_date(row.start), end=format_date(row.end), state=state)
        if row.changed_by:
            text += " " + _("Last change by {name} on {time}.").format(
                name=row.changed_by, time=format_datetime(row.changed_at))
        if row.note:
            text += " " + _("Note: {note}").format(note=row.note)
        if not any(b.isEnabled() for b in self.targets):
            possible = [t for (s, t) in TRANSITIONS if s == row.state]
            if possible:
                text += " " + _("Your role cannot change it now.")
        self.info.setText(text)

    def move_to(self, target: PeriodState) -> bool:
        row = self.selected_row()
        if row is None:
            return False
        self.error.show_message("")
        note = ""
        if target in (PeriodState.RETURNED, PeriodState.DRAFT):
            if target == PeriodState.RETURNED:
                title = _("Return")
                prompt = _("Return period {key} for corrections. What must be corrected?").format(key=row.key)
            else:
                title = _("Reopen")
                prompt = _("Reopen period {key}: its activities can be changed again. Why is it reopened?").format(
                    key=row.key)
            d = NoteDialog(title, prompt, self)
            if not d.exec():
                return False
            note = d.note()
        try:
            periods.transition(self.db, self.plan_id, row.key, target, note)
        except UserError as exc:
            interaction.get().error(self, _("Periods"), str(exc))
            self.reload()
            return False
        self.reload()
        self.changed.emit()
        return True
