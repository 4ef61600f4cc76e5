"""The organisation directory: units with their validity dates; the office's own communes."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.models import OrgInfo
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import fold
from dbcomm.domain.vocab import ORG_KINDS, label
from dbcomm.errors import UserError
from dbcomm.i18n import _, format_date, format_number, ngettext
from dbcomm.services import orgs
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.plan_view import _Form
from dbcomm.ui.widgets import DateEdit, add_buttons, enable_for


class _OptionalDate(QWidget):
    def __init__(self, value: date | None):
        super().__init__()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox()
        self.edit = DateEdit()
        self.check.toggled.connect(self.edit.setEnabled)
        self.check.setChecked(value is not None)
        self.edit.setEnabled(value is not None)
        if value:
            self.edit.set_value(value)
        lay.addWidget(self.check)
        lay.addWidget(self.edit)
        lay.addStretch(1)

    def value(self) -> date | None:
        return self.edit.value() if self.check.isChecked() else None


class OrgDialog(_Form):
    def __init__(self, db: Database, org: OrgInfo | None, parent: QWidget | None = None):
        super().__init__(_("Unit") if org else _("New unit"), parent)
        self.name_edit = QLineEdit(org.name if org else "")
        self.name_edit.setObjectName("name")
        self.code_edit = QLineEdit(org.code if org else "")
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("kind")
        for code, text in ORG_KINDS.items():
            self.kind_combo.addItem(_(text), code)
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(org.kind if org else "commune")))
        self.parent_combo = QComboBox()
        self.parent_combo.addItem(_("— none —"), None)
        for o in orgs.list_orgs(db):
            if not org or o.id != org.id:
                self.parent_combo.addItem(o.name, o.id)
        self.parent_combo.setCurrentIndex(max(0, self.parent_combo.findData(org.parent_id if org else None)))
        self.from_edit = _OptionalDate(org.valid_from if org else None)
        self.to_edit = _OptionalDate(org.valid_to if org else None)
        self.area_check = QCheckBox(_("A place where this office works (offered as an activity's place)"))
        self.area_check.setObjectName("in_area")
        self.area_check.setChecked(org.in_area if org else True)
        self.form.addRow(_("Name"), self.name_edit)
        self.form.addRow(_("Code"), self.code_edit)
        self.form.addRow(_("Kind"), self.kind_combo)
        self.form.addRow(_("Parent unit"), self.parent_combo)
        self.form.addRow(_("Valid from"), self.from_edit)
        self.form.addRow(_("Valid to"), self.to_edit)
        self.form.addRow("", self.area_check)
        self.saver = lambda: orgs.save_org(db, org.id if org else None, orgs.OrgFields(
            name=self.name_edit.text(), kind=self.kind_combo.currentData(), code=self.code_edit.text(),
            parent_id=self.parent_combo.currentData(), valid_from=self.from_edit.value(),
            valid_to=self.to_edit.value(), in_area=self.area_check.isChecked()))


class OrgsView(QWidget):
    changed = Signal()

    COLUMNS = ["code", "name", "kind", "parent", "valid_from", "valid_to", "in_area"]

    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self._rows: list[OrgInfo] = []
        lay = QVBoxLayout(self)
        intro = QLabel(_("Units are date-effective: the ten district-level units were valid until "
                         "30/06/2025. Tick “my area” for the communes where your office works; they are "
                         "offered as the place of an activity."))
        intro.setWordWrap(True)
        lay.addWidget(intro)
        top = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(_("Find a unit…"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _t: self._fill())
        self.current_check = QCheckBox(_("Only units valid today"))
        self.current_check.toggled.connect(lambda _b: self._fill())
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.current_check)
        lay.addLayout(top)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("orgs")
        self.table.setHorizontalHeaderLabels([_("Code"), _("Name"), _("Kind"), _("Parent unit"),
                                              _("Valid from"), _("Valid to"), _("My area")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        for col in range(len(self.COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.doubleClicked.connect(lambda _i: self.edit())
        lay.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        add_buttons(buttons, [(_("Add unit…"), self.add, "add"), (_("Edit…"), self.edit, "edit"),
                              (_("Delete"), self.delete, "delete"),
                              (_("Import from CSV…"), self.import_csv, "import")])
        lay.addLayout(buttons)
        enable_for(db, self, {Perm.EDIT_DIRECTORY: ("add", "edit", "delete"), Perm.IMPORT: ("import",)})
        self.reload()

    def reload(self) -> None:
        self._rows = orgs.list_orgs(self.db)
        self._fill()

    def _fill(self) -> None:
        key = fold(self.search_edit.text())
        today = date.today()
        rows = [o for o in self._rows if (not key or key in fold(o.name) or key in fold(o.code))
                and (not self.current_check.isChecked() or o.valid_on(today))]
        self.table.setRowCount(len(rows))
        for r, o in enumerate(rows):
            values = [o.code, o.name, label(ORG_KINDS, o.kind), o.parent_name, format_date(o.valid_from),
                      format_date(o.valid_to), "✓" if o.in_area else ""]
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, o)
                if not o.valid_on(today):
                    item.setForeground(Qt.GlobalColor.darkGray)
                self.table.setItem(r, c, item)
        self._shown = rows

    def _current(self) -> OrgInfo | None:
        row = self.table.currentRow()
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def add(self) -> None:
        if OrgDialog(self.db, None, self).exec():
            self.reload()
            self.changed.emit()

    def edit(self) -> None:
        o = self._current()
        if o and OrgDialog(self.db, o, self).exec():
            self.reload()
            self.changed.emit()

    def delete(self) -> None:
        o = self._current()
        if not o or not interaction.get().confirm(self, _("Delete"), _("Delete {name}?").format(name=o.name), yes=_("Delete")):
            return
        try:
            orgs.delete_org(self.db, o.id)
        except UserError as exc:
            interaction.get().error(self, _("Delete"), str(exc))
            return
        self.reload()
        self.changed.emit()

    def import_csv(self) -> None:
        path = interaction.get().open_file(
            self, _("Import units"),
            _("CSV files (*.csv);;All files (*)"))
        if not path:
            return
        try:
            n = orgs.import_orgs_csv(self.db, path)
        except UserError as exc:
            interaction.get().error(self, _("Import units"), str(exc))
            return
        self.reload()
        self.changed.emit()
        interaction.get().info(self, _("Import units"), ngettext("Imported {n} unit.", "Imported {n} units.", n).format(n=format_number(n)))
