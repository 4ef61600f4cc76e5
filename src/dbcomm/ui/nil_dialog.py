"""'No activity this period, because …': statements the period report will show."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.models import PlanTree
from dbcomm.domain.periods import Cutoff, PeriodKind, period_containing
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import activities
from dbcomm.store.engine import Database
from dbcomm.ui.widgets import ErrorLabel


class NilDialog(QDialog):
    def __init__(self, db: Database, tree: PlanTree, parent: QWidget | None = None):
        super().__init__(parent)
        self.db, self.tree = db, tree
        self.setWindowTitle(_("No activity this period"))
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(_("Record that the office had no activity in a period (for one form, or at "
                               "all) and why. The period report shows these statements.")))
        form = QFormLayout()
        self.period_combo = QComboBox()
        self.period_combo.setObjectName("period")
        self.period_combo.setEditable(True)
        cutoff = Cutoff(tree.plan.cutoff)
        today = date.today()
        for kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR):
            self.period_combo.addItem(period_containing(today, kind, cutoff).key)
        form.addRow(_("Period (e.g. 2026-Q3, 2026-05, 2026)"), self.period_combo)
        self.form_combo = QComboBox()
        self.form_combo.setObjectName("form")
        self.form_combo.addItem(_("All forms"), None)
        for f in tree.forms:
            self.form_combo.addItem(f"{f.code}. {f.name}", f.id)
        form.addRow(_("Communication form"), self.form_combo)
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setObjectName("reason")
        self.reason_edit.setTabChangesFocus(True)
        self.reason_edit.setFixedHeight(80)
        form.addRow(_("Because"), self.reason_edit)
        lay.addLayout(form)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        add = QPushButton(_("Record"))
        add.setObjectName("record")
        add.clicked.connect(self.record)
        lay.addWidget(add)
        lay.addWidget(QLabel(_("Statements recorded for this plan:")))
        self.list = QListWidget()
        lay.addWidget(self.list)
        buttons = QDialogButtonBox()
        buttons.addButton(_("Close"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self._reload()

    def _reload(self) -> None:
        self.list.clear()
        names = {f.id: f.code for f in self.tree.forms}
        for s in activities.nil_statements(self.db, self.tree.plan.id):
            scope = names.get(s.form_id, _("all forms")) if s.form_id else _("all forms")
            self.list.addItem(f"{s.period_key} · {scope}: {s.reason}")

    def record(self) -> bool:
        self.error.show_message("")
        try:
            activities.add_nil_statement(self.db, self.tree.plan.id, self.period_combo.currentText(),
                                         self.reason_edit.toPlainText(), self.form_combo.currentData())
        except ValidationFailed as exc:
            self.error.show_message(str(exc))
            return False
        except UserError as exc:
            self.error.show_message(str(exc))
            return False
        self.reason_edit.clear()
        self._reload()
        return True
