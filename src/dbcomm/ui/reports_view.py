"""The reports tab: the stored period reports; new, open, preview, delete."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import Perm
from dbcomm.errors import UserError
from dbcomm.i18n import N_, _, format_date, format_datetime, format_number
from dbcomm.services import auth, reports
from dbcomm.services.reports import ReportInfo
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.pdf_preview import builder_name
from dbcomm.ui.report_editor import ReportEditor

COLUMNS = [N_("Period"), N_("From – to"), N_("Subject"), N_("Doc. no."), N_("Document date"),
           N_("Activities"), N_("Built on"), N_("Built by"), N_("State")]

# Words and colours (background, text) of a report's state.
STATES: dict[str, tuple[str, str, str]] = {
    "unbuilt": (N_("Draft, not built"), "#f1f3f4", "#3c4043"),
    "built": (N_("Built"), "#dbe9fb", "#0b4a8b"),
    "correction_unbuilt": (N_("Correction, not built"), "#f1f3f4", "#3c4043"),
    "correction_built": (N_("Correction, built"), "#dbe9fb", "#0b4a8b"),
    "signed": (N_("Signed, to be sealed"), "#fff4ce", "#6b4e00"),
    "issued": (N_("Numbered and sealed"), "#d7f0dc", "#1b5e20"),
    "sent": (N_("Sent, waiting for the answer"), "#d7f0dc", "#1b5e20"),
    "accepted": (N_("Accepted"), "#c8e6c9", "#1b5e20"),
    "returned": (N_("Returned"), "#fde0dc", "#a50e0e"),
}


def state_of(info: ReportInfo) -> str:
    if info.state == "draft":
        state = "built" if info.pdf_sha256 else "unbuilt"
        return f"correction_{state}" if info.supersedes_id else state
    return info.state


class ReportsView(QWidget):
    """The reports of the current plan, newest period first."""

    def __init__(self, db: Database, plan_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.plan_id = plan_id
        self.rows: list[ReportInfo] = []
        self.editor: ReportEditor | None = None
        self.preview: Any = None
        self.task: Any = None

        buttons = QHBoxLayout()

        def button(text: str, slot: Any, name: str) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(name)
            b.clicked.connect(lambda: slot())
            buttons.addWidget(b)
            return b

        self.new_button = button(_("New report…"), self.new_report, "new_report")
        self.open_button = button(_("Open…"), self.open_selected, "open_report")
        self.preview_button = button(_("Preview…"), self.preview_selected, "preview_report")
        self.delete_button = button(_("Delete"), self.delete_selected, "delete_report")
        self.export_button = button(_("Export tables to Excel…"), self.export_selected, "export_tables")
        self.export_button.setToolTip(_("Every table of the report, one sheet each (or one CSV file each)"))
        buttons.addStretch(1)
        self.refresh_button = button(_("Refresh"), self.reload, "refresh")

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("reports")
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for i, width in enumerate((90, 175, 420, 70, 110, 90, 130, 150, 130)):
            header.resizeSection(i, width)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())

        self.empty_label = QLabel(_("No report yet. Press “New report…” to write the first one."))
        self.empty_label.setObjectName("empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #5f6368; padding: 24px;")

        lay = QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.empty_label)
        self._update_buttons()

    # --- data -------------------------------------------------------------------------
    def set_plan(self, plan_id: int) -> None:
        self.plan_id = plan_id
        if self.isVisible():
            self.reload()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        self.reload()
        super().showEvent(event)

    def reload(self, select_id: int | None = None) -> None:
        keep = select_id if select_id is not None else self.selected_id()
        self.rows = reports.list_reports(self.db, self.plan_id)
        self.table.setRowCount(len(self.rows))
        for r, info in enumerate(self.rows):
            words, bg, fg = STATES.get(state_of(info), (info.state, "#f1f3f4", "#3c4043"))
            cells = [
                info.period_key, f"{format_date(info.date_from)} – {format_date(info.date_to)}",
                info.subject, info.number or "—", format_date(info.doc_date) if info.doc_date else "",
                format_number(info.activity_count) if info.pdf_sha256 else "",
                format_datetime(info.built_at), builder_name(info.built_by) or "—", _(words),
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, info.id)
                if c == 2:
                    item.setToolTip(info.subject)
                if c == 3 and not info.number:
                    item.setToolTip(_("Left blank for the registry"))
                if c == 7 and not builder_name(info.built_by):
                    item.setToolTip(_("Nobody is on record: this workstation has no accounts.")
                                    if info.pdf_sha256 else _("Not built yet"))
                if c == 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 8:
                    item.setBackground(QBrush(QColor(bg)))
                    item.setForeground(QBrush(QColor(fg)))
                self.table.setItem(r, c, item)
        self.empty_label.setVisible(not self.rows)
        if keep is not None:
            self.select_id(keep)
        self._update_buttons()

    def selected(self) -> ReportInfo | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        r = rows[0].row()
        return self.rows[r] if 0 <= r < len(self.rows) else None

    def selected_id(self) -> int | None:
        info = self.selected()
        return info.id if info else None

    def select_id(self, report_id: int) -> bool:
        for r, info in enumerate(self.rows):
            if info.id == report_id:
                self.table.selectRow(r)
                self.table.scrollToItem(self.table.item(r, 0))
                return True
        return False

    def _update_buttons(self) -> None:
        info = self.selected()
        allowed = self._may(Perm.BUILD_REPORT)
        for button, ok, needs_right in (
                (self.new_button, True, True),
                (self.open_button, info is not None, False),
                (self.preview_button, info is not None and bool(info.pdf_sha256), False),
                (self.delete_button, info is not None and info.state == "draft", True)):
            button.setEnabled(ok and (allowed or not needs_right))
            if needs_right and not allowed:
                button.setToolTip(_("Your role does not allow this."))
        may_export = self._may(Perm.EXPORT)
        self.export_button.setEnabled(info is not None and may_export)
        if not may_export:
            self.export_button.setToolTip(_("Your role does not allow this."))

    def _may(self, perm: Perm) -> bool:
        try:
            return auth.current(self.db).can(perm)
        except UserError:
            return True

    # --- actions ------------------------------------------------------------------------
    def _open_editor(self, editor: ReportEditor) -> ReportEditor:
        editor.saved.connect(lambda report_id: self.reload(select_id=report_id))
        editor.finished.connect(lambda _r: self.reload())
        self.editor = editor
        editor.open()
        return editor

    def new_report(self, period_key: str | None = None) -> ReportEditor | None:
        try:
            editor = ReportEditor(self.db, self.plan_id, period_key=period_key, parent=self)
        except UserError as exc:
            interaction.get().error(self, _("New report"), str(exc))
            return None
        return self._open_editor(editor)

    def open_selected(self) -> Any:
        info = self.selected()
        if info is None:
            return None
        if info.is_signed:  # a signed report does not change: show it
            return self.preview_selected()
        try:
            editor = ReportEditor(self.db, self.plan_id, report_id=info.id, parent=self)
        except UserError as exc:
            interaction.get().error(self, _("Open report"), str(exc))
            self.reload()
            return None
        return self._open_editor(editor)

    def preview_selected(self) -> Any:
        """Render the stored report again (in the background) and show it."""
        from dbcomm.ui.pdf_preview import open_stored

        info = self.selected()
        if info is None or not info.pdf_sha256:
            return None

        def opened(dialog: Any) -> None:
            self.preview = dialog
            dialog.rebuilt.connect(lambda built: self.reload(select_id=built.id))

        self.task = open_stored(self.db, info.id, self, opened)
        return self.task

    def export_selected(self) -> None:
        """Every table of the selected report to .xlsx or CSV (as built; a draft as it reads now)."""
        from dbcomm.ui.sheets_export import export_report_tables

        info = self.selected()
        if info is None:
            return
        export_report_tables(self, self.db, info.id, info.period_key)

    def delete_selected(self) -> bool:
        info = self.selected()
        if info is None or info.state != "draft":
            return False
        if not interaction.get().confirm(
                self, _("Delete report"),
                _("Delete the report “{subject}” ({period})? Its settings, text and built PDF are "
                  "removed; the activities stay in the register.").format(
                    subject=info.subject, period=info.period_key),
                yes=_("Delete")):
            return False
        try:
            reports.delete_report(self.db, info.id)
        except UserError as exc:
            interaction.get().error(self, _("Delete report"), str(exc))
            return False
        self.reload()
        return True

