"""Settings: the office's identity and signer, and the interface language."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import Perm
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.i18n import LANGUAGES, _, language
from dbcomm.services import auth, settings
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.office_form import OfficeForm


class SettingsDialog(QDialog):
    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.language_changed = False
        self.setWindowTitle(_("Settings"))
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        self.form = OfficeForm()
        self.form.set_value(settings.get_office(db))
        lay.addWidget(self.form)
        # Only the language is each person's own; the office belongs to those who may change settings.
        self.can_edit_office = auth.current(db).can(Perm.EDIT_SETTINGS)
        self.form.setEnabled(self.can_edit_office)
        row = QFormLayout()
        self.language_combo = QComboBox()
        self.language_combo.setObjectName("language")
        for code, name in LANGUAGES.items():
            self.language_combo.addItem(name, code)
        self.language_combo.setCurrentIndex(self.language_combo.findData(language()))
        row.addRow(_("Language / Ngôn ngữ"), self.language_combo)
        lay.addLayout(row)
        lay.addWidget(QLabel(_("Database: {path}").format(path=db.path)))
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(_("Save"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def save(self) -> bool:
        try:
            if self.can_edit_office:
                settings.save_office(self.db, self.form.value())
        except ValidationFailed as exc:
            self.form.show_errors(exc)
            return False
        except UserError as exc:
            interaction.get().error(self, _("Settings"), str(exc))
            return False
        chosen = self.language_combo.currentData()
        self.language_changed = chosen != language()
        settings.set_language(self.db, chosen)
        self.accept()
        return True
