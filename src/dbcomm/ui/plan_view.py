"""The plan: forms, programmes, objectives and tasks, indicators with targets; editing and files."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.models import IndicatorInfo, PlanNodeInfo, PlanTree
from dbcomm.domain.periods import Cutoff
from dbcomm.domain.roles import Perm
from dbcomm.domain.vocab import INDICATOR_MEASURES
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.i18n import N_, _, format_date, format_number
from dbcomm.services import plans
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.widgets import DateEdit, ErrorLabel, add_buttons, enable_for

CUTOFF_LABELS = {
    Cutoff.CALENDAR.value: N_("Calendar periods (1st to end of month)"),
    Cutoff.DAY15.value: N_("Data windows from the 15th to the 14th"),
}

KIND_ROLE = Qt.ItemDataRole.UserRole + 1


class _Form(QDialog):
    """A small form dialog whose fields show the service's messages."""

    def __init__(self, title: str, parent: QWidget | None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self.form = QFormLayout()
        self.error = ErrorLabel()
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton(_("Save"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._try_save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.saver = lambda: None

    def _try_save(self) -> None:
        try:
            self.saver()
        except ValidationFailed as exc:
            self.error.show_message(str(exc))
            return
        except UserError as exc:
            self.error.show_message(str(exc))
            return
        self.accept()


class NodeDialog(_Form):
    def __init__(self, db: Database, tree: PlanTree, node: PlanNodeInfo | None, kind: str,
                 parent_id: int | None, parent: QWidget | None = None):
        super().__init__(_("Objective") if kind == "objective" else _("Task"), parent)
        self.code_edit = QLineEdit(node.code if node else "")
        self.code_edit.setObjectName("code")
        self.title_edit = QLineEdit(node.title if node else "")
        self.title_edit.setObjectName("title")
        self.parent_combo = QComboBox()
        self.parent_combo.setObjectName("parent")
        for o in tree.objectives:
            self.parent_combo.addItem(f"{o.code}. {o.title}", o.id)
        self.parent_combo.setCurrentIndex(max(0, self.parent_combo.findData(parent_id)))
        self.form.addRow(_("Number"), self.code_edit)
        self.form.addRow(_("Title"), self.title_edit)
        if kind == "task":
            self.form.addRow(_("Objective"), self.parent_combo)
            if node is None and parent_id is not None:
                siblings = next((o.children for o in tree.objectives if o.id == parent_id), [])
                parent_code = next((o.code for o in tree.objectives if o.id == parent_id), "")
                self.code_edit.setText(f"{parent_code}.{len(siblings) + 1}")
        elif node is None:
            self.code_edit.setText(str(len(tree.objectives) + 1))
        self.saver = lambda: plans.save_node(
            db, tree.plan.id, node.id if node else None, kind=kind, code=self.code_edit.text(),
            title=self.title_edit.text(), parent_id=self.parent_combo.currentData() if kind == "task" else None,
        )


class IndicatorDialog(_Form):
    def __init__(self, db: Database, tree: PlanTree, ind: IndicatorInfo | None, parent: QWidget | None = None):
        super().__init__(_("Indicator"), parent)
        self.code_edit = QLineEdit(ind.code if ind else f"CT{len(tree.indicators) + 1}")
        self.code_edit.setObjectName("code")
        self.name_edit = QLineEdit(ind.name if ind else "")
        self.name_edit.setObjectName("name")
        self.unit_edit = QLineEdit(ind.unit if ind else "%")
        self.unit_edit.setObjectName("unit")
        self.node_combo = QComboBox()
        self.node_combo.addItem(_("— none —"), None)
        for o in tree.objectives:
            self.node_combo.addItem(f"{o.code}. {o.title}", o.id)
        self.node_combo.setCurrentIndex(max(0, self.node_combo.findData(ind.node_id if ind else None)))
        self.measure_combo = QComboBox()
        self.measure_combo.setObjectName("measure")
        for code, text in INDICATOR_MEASURES.items():
            self.measure_combo.addItem(_(text), code)
        self.measure_combo.setCurrentIndex(max(0, self.measure_combo.findData(ind.measure if ind else "manual")))
        self.measure_combo.setToolTip(_("Where the achieved value comes from: a figure the office reports "
                                        "each year, or a sum over the activity register"))
        self.baseline_edit = QLineEdit("" if not ind or ind.baseline is None else f"{ind.baseline:g}")
        self.baseline_edit.setObjectName("baseline")
        self.baseline_year = QSpinBox()
        self.baseline_year.setRange(0, 2100)
        self.baseline_year.setSpecialValueText(_("—"))
        self.baseline_year.setValue(ind.baseline_year or 0 if ind else 0)
        years = list(range(tree.plan.start_year, tree.plan.end_year + 1))
        self.targets = QTableWidget(1, len(years))
        self.targets.setObjectName("targets")
        self.targets.setHorizontalHeaderLabels([str(y) for y in years])
        self.targets.setVerticalHeaderLabels([_("Target")])
        self.targets.setFixedHeight(64)
        self.targets.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for col, y in enumerate(years):
            v = ind.targets.get(y) if ind else None
            self.targets.setItem(0, col, QTableWidgetItem("" if v is None else f"{v:g}"))
        self._years = years
        self.form.addRow(_("Code"), self.code_edit)
        self.form.addRow(_("Name"), self.name_edit)
        self.form.addRow(_("Unit of measure"), self.unit_edit)
        self.form.addRow(_("Objective"), self.node_combo)
        self.form.addRow(_("Measured by"), self.measure_combo)
        self.form.addRow(_("Baseline"), self.baseline_edit)
        self.form.addRow(_("Baseline year"), self.baseline_year)
        self.form.addRow(_("Targets by year"), self.targets)
        self.saver = lambda: plans.save_indicator(
            db, tree.plan.id, ind.id if ind else None, code=self.code_edit.text(), name=self.name_edit.text(),
            unit=self.unit_edit.text(), baseline=self._number(self.baseline_edit.text()),
            baseline_year=self.baseline_year.value() or None, node_id=self.node_combo.currentData(),
            targets=self._target_values(), measure=self.measure_combo.currentData(),
        )

    @staticmethod
    def _number(text: str) -> float | None:
        text = text.strip().replace(",", ".")
        if not text:
            return None
        try:
            return float(text)
        except ValueError as exc:
            raise UserError(_("'{value}' is not a number.").format(value=text)) from exc

    def _target_values(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for col, y in enumerate(self._years):
            item = self.targets.item(0, col)
            value = self._number(item.text() if item else "")
            if value is not None:
                out[y] = value
        return out


class PlanDialog(_Form):
    def __init__(self, db: Database, info=None, copy_choices=None, parent: QWidget | None = None):  # type: ignore[no-untyped-def]
        super().__init__(_("Plan") if info else _("New plan"), parent)
        self.code_edit = QLineEdit(info.code if info else "")
        self.code_edit.setObjectName("code")
        self.title_edit = QLineEdit(info.title if info else "")
        self.title_edit.setObjectName("title")
        self.issuer_edit = QLineEdit(info.issuer if info else "")
        self.issued_edit = DateEdit()
        if info and info.issued_on:
            self.issued_edit.set_value(info.issued_on)
        self.start_spin, self.end_spin = QSpinBox(), QSpinBox()
        for sp in (self.start_spin, self.end_spin):
            sp.setRange(2000, 2100)
        self.start_spin.setValue(info.start_year if info else 2026)
        self.end_spin.setValue(info.end_year if info else 2026)
        self.cutoff_combo = QComboBox()
        for code, text in CUTOFF_LABELS.items():
            self.cutoff_combo.addItem(_(text), code)
        self.cutoff_combo.setCurrentIndex(max(0, self.cutoff_combo.findData(info.cutoff if info else "calendar")))
        self.recipient_edit = QLineEdit(info.recipient if info else "")
        self.copy_combo = QComboBox()
        self.copy_combo.addItem(_("— start empty —"), None)
        for p in copy_choices or []:
            self.copy_combo.addItem(p.code, p.id)
        if copy_choices:
            self.copy_combo.setCurrentIndex(1)
        self.form.addRow(_("Number and symbol"), self.code_edit)
        self.form.addRow(_("Title"), self.title_edit)
        self.form.addRow(_("Issued by"), self.issuer_edit)
        self.form.addRow(_("Issued on"), self.issued_edit)
        self.form.addRow(_("From year"), self.start_spin)
        self.form.addRow(_("To year"), self.end_spin)
        self.form.addRow(_("Reporting cut-off"), self.cutoff_combo)
        self.form.addRow(_("Reports go to (Kính gửi)"), self.recipient_edit)
        if info is None:
            self.form.addRow(_("Copy forms, programmes, objectives from"), self.copy_combo)

        def save():  # type: ignore[no-untyped-def]
            fields = plans.PlanFields(
                code=self.code_edit.text(), title=self.title_edit.text(), start_year=self.start_spin.value(),
                end_year=self.end_spin.value(), issued_on=self.issued_edit.value(), issuer=self.issuer_edit.text(),
                cutoff=self.cutoff_combo.currentData(), recipient=self.recipient_edit.text(),
                note=info.note if info else "",
            )
            if info:
                return plans.update_plan(db, info.id, fields)
            return plans.create_plan(db, fields, copy_from=self.copy_combo.currentData())

        self.saver = save


class PlanView(QWidget):
    """Emits ``changed`` when the plan's structure changes (the register reloads its lists)."""

    changed = Signal()

    def __init__(self, db: Database, plan_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.plan_id = plan_id
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.plan_combo = QComboBox()
        self.plan_combo.setObjectName("plan")
        self.plan_combo.currentIndexChanged.connect(self._on_plan_chosen)
        top.addWidget(QLabel(_("Plan:")))
        top.addWidget(self.plan_combo, 1)
        add_buttons(top, [
            (_("New plan…"), self.new_plan, "new_plan"),
            (_("Plan details…"), self.edit_plan, "edit_plan"),
            (_("Make default"), self.make_default, "make_default"),
            (_("Import plan file…"), self.import_plan, "import_plan"),
            (_("Export plan file…"), self.export_plan, "export_plan"),
            (_("Send plan update to USB…"), self.export_plan_package, "export_plan_package"),
        ], stretch=False)
        lay.addLayout(top)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.header)
        self.tree_widget = QTreeWidget()
        self.tree_widget.setObjectName("plan_tree")
        self.tree_widget.setColumnCount(4)
        self.tree_widget.setHeaderLabels([_("Item"), _("Unit of measure"), _("Baseline"), _("Targets")])
        self.tree_widget.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            self.tree_widget.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree_widget.header().setStretchLastSection(False)
        self.tree_widget.setUniformRowHeights(False)
        self.tree_widget.setWordWrap(True)
        self.tree_widget.itemDoubleClicked.connect(lambda _i, _c: self.edit_item())
        lay.addWidget(self.tree_widget, 1)
        buttons = QHBoxLayout()
        add_buttons(buttons, [
            (_("Add objective"), self.add_objective, "add_objective"),
            (_("Add task"), self.add_task, "add_task"),
            (_("Add indicator"), self.add_indicator, "add_indicator"),
            (_("Edit…"), self.edit_item, "edit_item"),
            (_("Delete"), self.delete_item, "delete_item"),
        ])
        lay.addLayout(buttons)
        enable_for(db, self, {
            Perm.EDIT_PLAN: ("new_plan", "edit_plan", "make_default", "add_objective", "add_task",
                             "add_indicator", "edit_item", "delete_item"),
            Perm.IMPORT: ("import_plan",), Perm.EXPORT: ("export_plan", "export_plan_package"),
        })
        self.reload()

    # --- showing ---------------------------------------------------------------
    def reload(self) -> None:
        self.plan_combo.blockSignals(True)
        self.plan_combo.clear()
        for p in plans.list_plans(self.db):
            self.plan_combo.addItem(p.code + (" ★" if p.is_default else ""), p.id)
        self.plan_combo.setCurrentIndex(max(0, self.plan_combo.findData(self.plan_id)))
        self.plan_combo.blockSignals(False)
        self.tree = plans.get_tree(self.db, self.plan_id)
        p = self.tree.plan
        cutoff = _(CUTOFF_LABELS.get(p.cutoff, p.cutoff))
        issued = format_date(p.issued_on) if p.issued_on else "—"
        self.header.setText(
            f"<b>{p.code}</b> — {p.title}<br>"
            + _("Issued by {issuer} on {date}; {start}–{end}. Cut-off: {cutoff}. Reports go to: {recipient}.").format(
                issuer=p.issuer or "—", date=issued, start=p.start_year, end=p.end_year, cutoff=cutoff,
                recipient=p.recipient or "—")
            + (f"<br><i>{p.note}</i>" if p.note else "")
        )
        t = self.tree_widget
        t.clear()

        def group(title: str) -> QTreeWidgetItem:
            g = QTreeWidgetItem([title])
            f = g.font(0)
            f.setBold(True)
            g.setFont(0, f)
            t.addTopLevelItem(g)
            return g

        forms = group(_("Communication forms ({n})").format(n=len(self.tree.forms)))
        for f in self.tree.forms:
            forms.addChild(QTreeWidgetItem([f"{f.code}. {f.name}"]))
        progs = group(_("Integrated programmes ({n})").format(n=len(self.tree.programmes)))
        for g in self.tree.programmes:
            progs.addChild(QTreeWidgetItem([f"{g.code}. {g.name}"]))
        objs = group(_("Objectives and tasks"))
        for o in self.tree.objectives:
            oi = QTreeWidgetItem([f"{o.code}. {o.title}"])
            oi.setToolTip(0, o.title)
            oi.setData(0, Qt.ItemDataRole.UserRole, o)
            oi.setData(0, KIND_ROLE, "objective")
            for task in o.children:
                ti = QTreeWidgetItem([f"{task.code}. {task.title}"])
                ti.setToolTip(0, task.title)
                ti.setData(0, Qt.ItemDataRole.UserRole, task)
                ti.setData(0, KIND_ROLE, "task")
                oi.addChild(ti)
            objs.addChild(oi)
        inds = group(_("Indicators"))
        for ind in self.tree.indicators:
            targets = ", ".join(f"{y}: {format_number(v)}" for y, v in sorted(ind.targets.items()))
            baseline = "" if ind.baseline is None else format_number(ind.baseline) + (
                f" ({ind.baseline_year})" if ind.baseline_year else "")
            ii = QTreeWidgetItem([f"{ind.code}. {ind.name}", ind.unit, baseline, targets])
            ii.setData(0, Qt.ItemDataRole.UserRole, ind)
            ii.setData(0, KIND_ROLE, "indicator")
            inds.addChild(ii)
        t.expandAll()

    def _on_plan_chosen(self) -> None:
        pid = self.plan_combo.currentData()
        if pid is not None and pid != self.plan_id:
            self.plan_id = pid
            self.reload()

    def _selected(self) -> tuple[str | None, object]:
        item = self.tree_widget.currentItem()
        if item is None:
            return None, None
        return item.data(0, KIND_ROLE), item.data(0, Qt.ItemDataRole.UserRole)

    def _run(self, dialog: QDialog) -> bool:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.reload()
            self.changed.emit()
            return True
        return False

    # --- editing ----------------------------------------------------------------
    def add_objective(self) -> None:
        self._run(NodeDialog(self.db, self.tree, None, "objective", None, self))

    def add_task(self) -> None:
        kind, obj = self._selected()
        parent_id = None
        if kind == "objective":
            parent_id = obj.id  # type: ignore[attr-defined]
        elif kind == "task":
            parent_id = obj.parent_id  # type: ignore[attr-defined]
        elif self.tree.objectives:
            parent_id = self.tree.objectives[0].id
        self._run(NodeDialog(self.db, self.tree, None, "task", parent_id, self))

    def add_indicator(self) -> None:
        self._run(IndicatorDialog(self.db, self.tree, None, self))

    def edit_item(self) -> None:
        kind, obj = self._selected()
        if kind in ("objective", "task"):
            self._run(NodeDialog(self.db, self.tree, obj, kind, getattr(obj, "parent_id", None), self))  # type: ignore[arg-type]
        elif kind == "indicator":
            self._run(IndicatorDialog(self.db, self.tree, obj, self))  # type: ignore[arg-type]

    def delete_item(self) -> None:
        kind, obj = self._selected()
        if kind is None:
            return
        name = f"{obj.code}. {getattr(obj, 'title', None) or getattr(obj, 'name', '')}"  # type: ignore[attr-defined]
        if not interaction.get().confirm(self, _("Delete"), _("Delete {name}?").format(name=name), yes=_("Delete")):
            return
        try:
            if kind == "indicator":
                plans.delete_indicator(self.db, obj.id)  # type: ignore[attr-defined]
            else:
                plans.delete_node(self.db, obj.id)  # type: ignore[attr-defined]
        except UserError as exc:
            interaction.get().error(self, _("Delete"), str(exc))
            return
        self.reload()
        self.changed.emit()

    def new_plan(self) -> None:
        if self._run(PlanDialog(self.db, None, plans.list_plans(self.db), self)):
            newest = max(plans.list_plans(self.db), key=lambda p: p.id)
            self.plan_id = newest.id
            self.reload()

    def edit_plan(self) -> None:
        self._run(PlanDialog(self.db, self.tree.plan, None, self))

    def make_default(self) -> None:
        plans.set_default_plan(self.db, self.plan_id)
        self.reload()
        self.changed.emit()

    def import_plan(self) -> None:
        path = interaction.get().open_file(self, _("Import plan file"), _("Plan files (*.json);;All files (*)"))
        if not path:
            return
        try:
            result = plans.import_plan_file(self.db, path)
        except UserError as exc:
            interaction.get().error(self, _("Import plan file"), str(exc))
            return
        self.plan_id = result.plan.id
        self.reload()
        self.changed.emit()
        msg = (_("Added plan {code}.") if result.created else _("Updated plan {code}.")).format(code=result.plan.code)
        if result.kept:
            msg += "\n\n" + _("Kept because activities still use them:") + "\n" + "\n".join(result.kept)
        interaction.get().info(self, _("Import plan file"), msg)

    def export_plan_package(self) -> None:
        """The plan as an update package for the offices below, with its next revision number."""
        from dbcomm.services import plan_packages

        title = _("Send plan update to USB")
        folder = interaction.get().choose_folder(self, _("Choose the USB stick or folder for the plan update"))
        if not folder:
            return
        try:
            path = plan_packages.export_plan_package(self.db, self.plan_id, folder)
        except UserError as exc:
            interaction.get().error(self, title, str(exc))
            return
        interaction.get().info(self, title, _("Wrote {path}. The offices import it with “Import from USB…”; "
                                              "the stick can now be removed safely.").format(path=path))

    def export_plan(self) -> None:
        suggested = self.tree.plan.code.replace("/", "-") + ".json"
        path = interaction.get().save_file(self, _("Export plan file"), suggested, _("Plan files (*.json)"))
        if not path:
            return
        try:
            plans.export_plan(self.db, self.plan_id, path)
        except UserError as exc:
            interaction.get().error(self, _("Export plan file"), str(exc))
            return
        interaction.get().info(self, _("Export plan file"), _("Wrote {path}.").format(path=path))
