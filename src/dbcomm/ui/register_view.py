"""The register: filters, the activity table, totals, and the actions on activities."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.models import ActivityFilter, PlanTree
from dbcomm.domain.periods import Cutoff, PeriodKind, parse_period, period_containing
from dbcomm.domain.roles import Perm
from dbcomm.domain.vocab import LANGUAGES
from dbcomm.errors import UserError
from dbcomm.i18n import _, format_number, ngettext
from dbcomm.services import activities, auth, orgs
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.activity_dialog import ActivityDialog
from dbcomm.ui.register_model import COLUMNS, RegisterModel
from dbcomm.ui.widgets import DateEdit


class _Table(QTableView):
    """The register's table; says when it has painted, so that the count of the whole set
    starts only once the rows the person waits for are on screen."""

    painted = Signal()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        self.painted.emit()


class RegisterView(QWidget):
    """Emits ``status(text)`` with the totals of the filtered set."""

    status = Signal(str)
    history_requested = Signal(str)  # the selected activity's uuid, for the audit trail

    def __init__(self, db: Database, tree: PlanTree, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.tree = tree
        self._undo_ids: list[int] = []
        # Scoped to this plan from the first query (the filter widgets start at "all").
        self.model = RegisterModel(db, self, ActivityFilter(plan_id=tree.plan.id))
        self.model.totals_changed.connect(self._update_status)
        self._select_after_refresh: int | None = None
        self.model.totals_changed.connect(self._select_pending)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(60)
        self._timer.timeout.connect(self.apply_filter)
        self._build()
        self.table.setSortingEnabled(True)  # newest first; runs the first query

    # --- building -------------------------------------------------------------
    def _build(self) -> None:
        self.toolbar = QToolBar(_("Activities"))
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

        def act(text: str, shortcut: str | QKeySequence.StandardKey | None, slot, tip: str = "") -> QAction:  # type: ignore[no-untyped-def]
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            a.triggered.connect(slot)
            if tip or shortcut:
                a.setToolTip(f"{tip or text} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})" if shortcut else tip)
            self.addAction(a)
            return a

        self.new_action = act(_("New activity"), "Ctrl+N", self.new_activity)
        self.edit_action = act(_("Edit"), "Return", self.edit_selected)
        self.duplicate_action = act(_("Duplicate"), "Ctrl+D", self.duplicate_selected,
                                    _("Log the selected activity again, e.g. a weekly broadcast"))
        self.delete_action = act(_("Delete"), QKeySequence.StandardKey.Delete, self.delete_selected)
        self.undo_action = act(_("Undo delete"), QKeySequence.StandardKey.Undo, self.undo_delete)
        self.undo_action.setEnabled(False)
        self.restore_action = act(_("Restore"), None, self.restore_selected)
        self.nil_action = act(_("No activity this period…"), None, self.nil_statement,
                              _("Record that there was no activity in a period, and why"))
        self.search_action = act(_("Search"), "Ctrl+F", lambda: self.search_edit.setFocus())
        self.refresh_action = act(_("Refresh"), "F5", self.refresh,
                                  _("Show changes saved from another window or workstation"))
        self.history_action = act(_("History"), "Ctrl+H", self.show_history,
                                  _("Who changed the selected activity, and what"))
        for a in (self.new_action, self.edit_action, self.duplicate_action, self.delete_action,
                  self.undo_action, self.restore_action, self.nil_action, self.history_action):
            self.toolbar.addAction(a)
        self.restore_action.setVisible(False)
        # The services refuse anyway; a person without the right does not see the buttons.
        self.can_edit = auth.current(self.db).can(Perm.EDIT_ACTIVITIES)
        for a in (self.new_action, self.duplicate_action, self.delete_action, self.undo_action,
                  self.nil_action):
            a.setVisible(self.can_edit)

        filters = QWidget()
        fl = QHBoxLayout(filters)
        fl.setContentsMargins(4, 0, 4, 0)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("search")
        self.search_edit.setPlaceholderText(_("Search (diacritics not needed)…"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _t: self._timer.start())
        self.search_edit.returnPressed.connect(self._focus_table)

        self.period_combo = QComboBox()
        self.period_combo.setObjectName("period")
        self._fill_periods()
        self.from_edit, self.to_edit = DateEdit(), DateEdit()
        self.from_edit.set_value(date(self.tree.plan.start_year, 1, 1))
        for e in (self.from_edit, self.to_edit):
            e.setVisible(False)
            e.dateChanged.connect(lambda _d: self._timer.start())

        self.form_combo = QComboBox()
        self.form_combo.setObjectName("filter_form")
        self.form_combo.addItem(_("All forms"), None)
        for f in self.tree.forms:
            self.form_combo.addItem(f"{f.code}. {f.name}", f.id)
            self.form_combo.setItemData(self.form_combo.count() - 1, f.name, Qt.ItemDataRole.ToolTipRole)
        self.node_combo = QComboBox()
        self.node_combo.setObjectName("filter_objective")
        self.node_combo.addItem(_("All objectives"), None)
        for o in self.tree.objectives:
            self.node_combo.addItem(f"{o.code}. {o.title}", o.id)
            for t in o.children:
                self.node_combo.addItem(f"    {t.code}. {t.title}", t.id)
        self.programme_combo = QComboBox()
        self.programme_combo.setObjectName("filter_programme")
        self.programme_combo.addItem(_("All programmes"), None)
        for p in self.tree.programmes:
            self.programme_combo.addItem(f"{p.code}. {p.name}", p.id)
        self.place_combo = QComboBox()
        self.place_combo.setObjectName("filter_place")
        self.reload_places()
        self.language_combo = QComboBox()
        self.language_combo.setObjectName("filter_language")
        self.language_combo.addItem(_("All languages"), None)
        for code, text in LANGUAGES.items():
            self.language_combo.addItem(_(text), code)
        self.deleted_check = QCheckBox(_("Recycle bin"))
        self.deleted_check.setObjectName("filter_deleted")
        self.deleted_check.toggled.connect(self._on_deleted_toggled)
        for combo in (self.period_combo, self.form_combo, self.node_combo, self.programme_combo,
                      self.place_combo, self.language_combo):
            combo.setMaximumWidth(220)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
            combo.currentIndexChanged.connect(lambda _i: self.apply_filter())
        fl.addWidget(self.search_edit, 2)
        for w in (self.period_combo, self.from_edit, self.to_edit, self.form_combo, self.node_combo,
                  self.programme_combo, self.place_combo, self.language_combo, self.deleted_check):
            fl.addWidget(w)

        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setVisible(False)
        self.table = _Table()
        self.table.setObjectName("register")
        self.table.setModel(self.model)
        self.table.painted.connect(self.model.start_counting)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        widths = {"date": 165, "form": 80, "subtype": 170, "title": 400, "place": 140, "languages": 140,
                  "items": 90, "minutes": 70, "reach": 110, "partner": 200}
        for i, (key, _label) in enumerate(COLUMNS):
            header.resizeSection(i, widths.get(key, 100))
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.toolbar)
        lay.addWidget(filters)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.empty_label)

    def _fill_periods(self) -> None:
        today = date.today()
        cutoff = Cutoff(self.tree.plan.cutoff)
        c = self.period_combo
        c.addItem(_("All periods"), None)
        this_month = period_containing(today, PeriodKind.MONTH, cutoff)
        c.addItem(_("This month ({key})").format(key=this_month.key), this_month.key)
        this_q = period_containing(today, PeriodKind.QUARTER, cutoff)
        c.addItem(_("This quarter ({key})").format(key=this_q.key), this_q.key)
        last_q_day = parse_period(this_q.key, cutoff).start.replace(day=1)
        last_q = period_containing(date.fromordinal(last_q_day.toordinal() - 20), PeriodKind.QUARTER, cutoff)
        c.addItem(_("Last quarter ({key})").format(key=last_q.key), last_q.key)
        c.addItem(_("6 months {year}").format(year=today.year), f"{today.year}-H1")
        c.addItem(_("9 months {year}").format(year=today.year), f"{today.year}-9M")
        for year in range(min(today.year, self.tree.plan.end_year), self.tree.plan.start_year - 1, -1):
            c.addItem(_("Year {year}").format(year=year), str(year))
        c.addItem(_("Custom range…"), "custom")

    def reload_places(self) -> None:
        current = self.place_combo.currentData()
        self.place_combo.blockSignals(True)
        self.place_combo.clear()
        self.place_combo.addItem(_("All places"), None)
        for o in orgs.places(self.db):
            self.place_combo.addItem(o.name, o.id)
        self.place_combo.setCurrentIndex(max(0, self.place_combo.findData(current)))
        self.place_combo.blockSignals(False)

    # --- filtering -------------------------------------------------------------
    def current_filter(self) -> ActivityFilter:
        f = ActivityFilter(plan_id=self.tree.plan.id, text=self.search_edit.text(),
                           deleted=self.deleted_check.isChecked())
        key = self.period_combo.currentData()
        custom = key == "custom"
        self.from_edit.setVisible(custom)
        self.to_edit.setVisible(custom)
        if custom:
            f.date_from, f.date_to = self.from_edit.value(), self.to_edit.value()
        elif key:
            p = parse_period(key, Cutoff(self.tree.plan.cutoff))
            f.date_from, f.date_to = p.start, p.end
        f.form_id = self.form_combo.currentData()
        f.node_id = self.node_combo.currentData()
        f.programme_id = self.programme_combo.currentData()
        f.place_id = self.place_combo.currentData()
        f.language = self.language_combo.currentData()
        return f

    def apply_filter(self) -> None:
        self._timer.stop()
        try:
            self.model.set_filter(self.current_filter())
        except UserError as exc:
            self.status.emit(str(exc))

    def refresh(self) -> None:
        self.model.refresh()

    def _update_status(self) -> None:
        t = self.model.totals
        if t is None:
            self.empty_label.setVisible(False)
            self.status.emit(_("Counting…"))
            return
        if t.count == 0:
            f = self.model.current_filter
            filtered = bool(f.text or f.form_id or f.node_id or f.programme_id or f.place_id or f.language or f.date_from)
            if f.deleted:
                msg = _("The recycle bin is empty.")
            elif filtered:
                msg = _("No activity matches these filters.")
            else:
                msg = _("The register is empty. Press Ctrl+N to log the first activity.")
            self.empty_label.setText(msg)
        self.empty_label.setVisible(t.count == 0)
        self.status.emit(
            ngettext("{count} activity", "{count} activities", t.count).format(count=format_number(t.count))
            + " · " + _("{items} items").format(items=format_number(t.items))
            + " · " + _("{minutes} minutes").format(minutes=format_number(t.minutes))
            + " · " + _("{sessions} sessions").format(sessions=format_number(t.sessions))
            + " · " + _("{reach} people reached").format(reach=format_number(t.reach))
            + " · " + _("{cost} VND").format(cost=format_number(t.cost))
        )

    def _on_deleted_toggled(self, on: bool) -> None:
        self.restore_action.setVisible(on and self.can_edit)
        for a in (self.edit_action, self.duplicate_action, self.delete_action):
            a.setEnabled(not on)
        self.apply_filter()

    def _focus_table(self) -> None:
        self.table.setFocus()
        if self.model.rowCount() and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)

    # --- actions -----------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [i for i in (self.model.id_at(r) for r in rows) if i is not None]

    def _open_dialog(self, dialog: ActivityDialog) -> ActivityDialog:
        dialog.saved.connect(self._on_saved)
        dialog.open()
        return dialog

    def _on_saved(self, activity_id: int) -> None:
        self._select_after_refresh = activity_id
        self.refresh()
        self._select_pending()

    def _select_pending(self) -> None:
        """Select the activity just saved, once the model knows where it is."""
        activity_id = self._select_after_refresh
        if activity_id is None or not self.model.complete:
            return
        self._select_after_refresh = None
        row = self.model.row_of_id(activity_id)
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    def new_activity(self) -> ActivityDialog:
        return self._open_dialog(ActivityDialog(self.db, self.tree, parent=self))

    def edit_selected(self) -> ActivityDialog | None:
        ids = self.selected_ids()
        if not ids or self.deleted_check.isChecked():
            return None
        try:
            rec = activities.get(self.db, ids[0])
        except UserError as exc:
            interaction.get().error(self, _("Edit activity"), str(exc))
            return None
        return self._open_dialog(ActivityDialog(self.db, self.tree, record=rec, parent=self))

    def duplicate_selected(self) -> ActivityDialog | None:
        ids = self.selected_ids()
        if not ids:
            return None
        template = activities.duplicate_input(self.db, ids[0], new_date=date.today())
        d = ActivityDialog(self.db, self.tree, template=template, parent=self)
        d.setWindowTitle(_("Log again (copy of #{id})").format(id=ids[0]))
        return self._open_dialog(d)

    def delete_selected(self) -> int:
        ids = self.selected_ids()
        if not ids:
            return 0
        first = self.model.row(self.table.currentIndex().row())
        what = (f"«{first.title}»" if len(ids) == 1 and first else
                ngettext("{n} activity", "{n} activities", len(ids)).format(n=len(ids)))
        if not interaction.get().confirm(
            self, _("Delete"),
            _("Move {what} to the recycle bin? You can undo this with Ctrl+Z or restore it from the "
              "recycle bin later.").format(what=what),
            yes=_("Delete"),
        ):
            return 0
        try:
            n = activities.delete(self.db, ids)
        except UserError as exc:
            interaction.get().error(self, _("Delete"), str(exc))
            return 0
        self._undo_ids = ids
        self.undo_action.setEnabled(True)
        self.refresh()
        return n

    def undo_delete(self) -> int:
        if not self._undo_ids:
            return 0
        try:
            n = activities.restore(self.db, self._undo_ids)
        except UserError as exc:
            interaction.get().error(self, _("Undo delete"), str(exc))
            return 0
        self._undo_ids = []
        self.undo_action.setEnabled(False)
        self.refresh()
        return n

    def restore_selected(self) -> int:
        ids = self.selected_ids()
        if not ids:
            return 0
        try:
            n = activities.restore(self.db, ids)
        except UserError as exc:
            interaction.get().error(self, _("Restore"), str(exc))
            return 0
        self.refresh()
        return n

    def show_history(self) -> str | None:
        ids = self.selected_ids()
        row = self.model.row(self.table.currentIndex().row()) if ids else None
        if row is None or row.id != ids[0]:
            rows = activities.rows_by_ids(self.db, ids[:1])
            row = rows[0] if rows else None
        if row is None:
            return None
        self.history_requested.emit(row.uuid)
        return row.uuid

    def nil_statement(self) -> None:
        from dbcomm.ui.nil_dialog import NilDialog

        NilDialog(self.db, self.tree, self).open()
