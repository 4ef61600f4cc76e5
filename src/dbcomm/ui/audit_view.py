"""The audit trail: who did what and when, each change old → new, and the integrity check."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.errors import UserError
from dbcomm.i18n import N_, _, format_datetime, format_number, ngettext
from dbcomm.services import audit
from dbcomm.services.audit import ENTITY_LABELS, FIELD_LABELS, AuditRow
from dbcomm.store.engine import Database
from dbcomm.ui.widgets import DateEdit

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


COLUMNS = [N_("Time"), N_("Person"), N_("Action"), N_("Affected record"), N_("Summary")]


def show_value(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show_value(v)}" for k, v in value.items())
    if isinstance(value, int):
        return format_number(value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        y, m, d = value.split("-")
        return f"{d}/{m}/{y}"
    return str(value)


def action_label(action: str) -> str:
    return _(audit.ACTIONS[action]) if action in audit.ACTIONS else action


def record_label(row: AuditRow) -> str:
    entity = _(ENTITY_LABELS[row.entity]) if row.entity in ENTITY_LABELS else row.entity
    period = row.changes.get("period")
    if row.entity == "period" and isinstance(period, list) and period[-1]:
        return f"{entity} {period[-1]}"  # the key people know, not the record's UUID
    return f"{entity} {row.entity_uuid[:8]}" if row.entity_uuid else entity


def person_label(row: AuditRow) -> str:
    return f"{row.full_name} ({row.username})" if row.full_name else row.username


class AuditView(QWidget):
    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.rows: list[AuditRow] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.reload)

        filters = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("audit_search")
        self.search_edit.setPlaceholderText(_("Record UUID or text…"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _t: self._timer.start())
        filters.addWidget(self.search_edit, 2)
        self.person_combo = QComboBox()
        self.person_combo.setObjectName("audit_person")
        self.person_combo.setMinimumContentsLength(14)
        self.person_combo.currentIndexChanged.connect(lambda _i: self.reload())
        filters.addWidget(self.person_combo)
        self.from_check = QCheckBox(_("From"))
        self.from_edit = DateEdit()
        self.to_check = QCheckBox(_("To"))
        self.to_edit = DateEdit()
        for check, edit in ((self.from_check, self.from_edit), (self.to_check, self.to_edit)):
            edit.setEnabled(False)
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(lambda _on: self.reload())
            edit.dateChanged.connect(lambda _d: self._timer.start())
            filters.addWidget(check)
            filters.addWidget(edit)
        self.from_edit.set_value(date.today().replace(day=1))

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("audit")
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        for i, width in enumerate((130, 200, 210, 190)):
            header.resizeSection(i, width)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.itemSelectionChanged.connect(self._show_details)

        details = QWidget()
        dl = QVBoxLayout(details)
        dl.setContentsMargins(0, 4, 0, 0)
        self.details_label = QLabel()
        self.details_label.setObjectName("audit_details")
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dl.addWidget(self.details_label)
        self.changes_table = QTableWidget(0, 3)
        self.changes_table.setObjectName("audit_changes")
        self.changes_table.setHorizontalHeaderLabels([_("Field"), _("Before"), _("After")])
        self.changes_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changes_table.verticalHeader().setVisible(False)
        self.changes_table.setWordWrap(True)
        ch = self.changes_table.horizontalHeader()
        ch.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        ch.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        ch.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        dl.addWidget(self.changes_table, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([520, 200])

        bottom = QHBoxLayout()
        self.count_label = QLabel()
        bottom.addWidget(self.count_label)
        bottom.addStretch(1)
        self.verify_label = QLabel()
        self.verify_label.setObjectName("verify_result")
        self.verify_label.setWordWrap(True)
        bottom.addWidget(self.verify_label, 3)
        self.verify_button = QPushButton(_("Check integrity"))
        self.verify_button.setObjectName("verify")
        self.verify_button.setToolTip(_("Recompute the chain of the audit trail: an edited, inserted or deleted "
                                        "entry is found"))
        self.verify_button.clicked.connect(self.check_integrity)
        bottom.addWidget(self.verify_button)

        lay = QVBoxLayout(self)
        lay.addLayout(filters)
        lay.addWidget(splitter, 1)
        lay.addLayout(bottom)
        # Filled when the tab is first shown: the trail can be long and most sessions never look.

    # --- filters -------------------------------------------------------------------------
    def _fill_people(self) -> None:
        current = self.person_combo.currentData()
        self.person_combo.blockSignals(True)
        self.person_combo.clear()
        self.person_combo.addItem(_("Everyone"), "")
        for name in audit.usernames(self.db):
            self.person_combo.addItem(name, name)
        self.person_combo.setCurrentIndex(max(0, self.person_combo.findData(current)))
        self.person_combo.blockSignals(False)

    def show_record(self, entity_uuid: str) -> None:
        """The history of one record (the register's History action)."""
        self.person_combo.setCurrentIndex(0)
        self.from_check.setChecked(False)
        self.to_check.setChecked(False)
        self.search_edit.setText(entity_uuid)
        self.reload()
        if self.rows:
            self.table.selectRow(0)

    def reload(self) -> None:
        self._timer.stop()
        text = self.search_edit.text().strip()
        is_uuid = bool(UUID_RE.match(text))
        try:
            self.rows = audit.entries(
                self.db, entity_uuid=text.lower() if is_uuid else "", text="" if is_uuid else text,
                username=self.person_combo.currentData() or "",
                date_from=self.from_edit.value() if self.from_check.isChecked() else None,
                date_to=self.to_edit.value() if self.to_check.isChecked() else None)
        except UserError as exc:
            self.rows = []
            self.count_label.setText(str(exc))
        else:
            self.count_label.setText(ngettext("{n} entry", "{n} entries", len(self.rows)).format(
                n=format_number(len(self.rows))))
        self.table.setRowCount(len(self.rows))
        for r, e in enumerate(self.rows):
            cells = [format_datetime(e.at), person_label(e), action_label(e.action), record_label(e), e.summary]
            for c, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if c == 3 and e.entity_uuid:
                    item.setToolTip(e.entity_uuid)
                if c == 4:
                    item.setToolTip(e.summary)
                self.table.setItem(r, c, item)
        self._show_details()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        """New entries since the tab was last shown."""
        self._fill_people()
        self.reload()
        super().showEvent(event)

    # --- details ---------------------------------------------------------------------------
    def selected(self) -> AuditRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        r = rows[0].row()
        return self.rows[r] if 0 <= r < len(self.rows) else None

    def _show_details(self) -> None:
        e = self.selected()
        if e is None:
            self.details_label.setText(_("Select an entry to see what changed."))
            self.changes_table.setRowCount(0)
            return
        text = _("#{id} · {time} · {person} {action} {record}").format(
            id=e.id, time=format_datetime(e.at), person=person_label(e), action=action_label(e.action),
            record=record_label(e))
        if e.summary:
            text += "\n" + e.summary
        if e.entity_uuid:
            text += "\n" + _("Record: {uuid}").format(uuid=e.entity_uuid)
        self.details_label.setText(text)
        self.changes_table.setRowCount(len(e.changes))
        for r, (field, pair) in enumerate(e.changes.items()):
            old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
            name = _(FIELD_LABELS[field]) if field in FIELD_LABELS else field
            for c, value in enumerate((name, show_value(old), show_value(new))):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.changes_table.setItem(r, c, item)
        self.changes_table.resizeRowsToContents()

    def check_integrity(self) -> audit.ChainReport:
        report = audit.verify(self.db)
        self.verify_label.setText(report.message)
        self.verify_label.setStyleSheet("color: #1b5e20;" if report.ok else "color: #b00020; font-weight: bold;")
        return report
