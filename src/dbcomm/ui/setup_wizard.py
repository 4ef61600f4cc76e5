"""First run: language, the office's identity, the signer, and the demo register offer."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from dbcomm.domain.models import ActivityFilter
from dbcomm.errors import ValidationFailed
from dbcomm.i18n import LANGUAGES, _, format_number, language
from dbcomm.services import activities, demo, settings
from dbcomm.store.engine import Database
from dbcomm.ui.office_form import OfficeForm


class _OfficePage(QWizardPage):
    def __init__(self, wizard: SetupWizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle(_("Your office"))
        self.setSubTitle(_("These details appear at the top of every report. You can change them later "
                           "in Settings."))
        self.form = OfficeForm(with_signer=False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.form)

    def validatePage(self) -> bool:  # noqa: N802 - Qt's name
        office = self.form.value()
        current = settings.get_office(self.wiz.db)
        office.signer_title, office.signer_name = current.signer_title, current.signer_name
        try:
            settings.save_office(self.wiz.db, office)
        except ValidationFailed as exc:
            self.form.show_errors(exc)
            return False
        self.form.show_errors(None)
        self.wiz.signer_page.form.kind_combo.setCurrentIndex(
            self.wiz.signer_page.form.kind_combo.findData(office.kind))
        return True


class _SignerPage(QWizardPage):
    def __init__(self, wizard: SetupWizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle(_("Who signs the reports"))
        self.setSubTitle(_("The usual title block and name under the signature, e.g. "
                           "“TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH”. Each report can change it."))
        self.form = OfficeForm(with_identity=False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.form)

    def initializePage(self) -> None:  # noqa: N802
        office = settings.get_office(self.wiz.db)
        self.form.set_value(office)

    def validatePage(self) -> bool:  # noqa: N802
        office = settings.get_office(self.wiz.db)
        signer = self.form.value()
        office.signer_title, office.signer_name = signer.signer_title, signer.signer_name
        try:
            settings.save_office(self.wiz.db, office)
        except ValidationFailed as exc:
            self.form.show_errors(exc)
            return False
        return True


class _FinishPage(QWizardPage):
    def __init__(self, wizard: SetupWizard):
        super().__init__()
        self.setTitle(_("Ready"))
        lay = QVBoxLayout(self)
        text = QLabel(_("dbcomm has loaded Plan 386/KH-UBND with its five communication forms, seven "
                        "integrated programmes, objectives, tasks and indicators, and the directory of "
                        "Điện Biên's units.\n\nIf you are trying dbcomm out, load a demo register: several "
                        "hundred activities from 2022 to today, in many forms, languages and communes. "
                        "Demo activities can be deleted later like any other."))
        text.setWordWrap(True)
        lay.addWidget(text)
        self.demo_check = QCheckBox(_("Load the demo register"))
        self.demo_check.setObjectName("load_demo")
        lay.addWidget(self.demo_check)
        existing = activities.totals(wizard.db, ActivityFilter()).count
        if existing:
            self.demo_check.setEnabled(False)
            self.demo_check.setText(_("The register already holds {n} activities.").format(n=format_number(existing)))
        lay.addStretch(1)


class SetupWizard(QWizard):
    """Shown when the database has no office identity yet."""

    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.setWindowTitle(_("Welcome to dbcomm"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setMinimumSize(680, 520)
        self.setButtonText(QWizard.WizardButton.NextButton, _("Next >"))
        self.setButtonText(QWizard.WizardButton.BackButton, _("< Back"))
        self.setButtonText(QWizard.WizardButton.FinishButton, _("Finish"))
        self.setButtonText(QWizard.WizardButton.CancelButton, _("Cancel"))

        welcome = QWizardPage()
        welcome.setTitle(_("Welcome"))
        wl = QVBoxLayout(welcome)
        intro = QLabel(_("dbcomm keeps your office's register of communication activities for the plan "
                         "“Building a learning society to 2030” (Plan 386/KH-UBND of Điện Biên province) "
                         "and prepares the period reports.\n\nThis short setup asks who your office is. "
                         "It takes about a minute."))
        intro.setWordWrap(True)
        wl.addWidget(intro)
        lang_row = QWidget()
        lf = QFormLayout(lang_row)
        self.language_combo = QComboBox()
        self.language_combo.setObjectName("language")
        for code, name in LANGUAGES.items():
            self.language_combo.addItem(name, code)
        self.language_combo.setCurrentIndex(self.language_combo.findData(language()))
        lf.addRow(_("Language / Ngôn ngữ"), self.language_combo)
        wl.addWidget(lang_row)
        wl.addStretch(1)
        self.addPage(welcome)
        self.office_page = _OfficePage(self)
        self.signer_page = _SignerPage(self)
        self.finish_page = _FinishPage(self)
        self.addPage(self.office_page)
        self.addPage(self.signer_page)
        self.addPage(self.finish_page)

    @property
    def chosen_language(self) -> str:
        return self.language_combo.currentData()

    def accept(self) -> None:
        settings.set_language(self.db, self.chosen_language)
        if self.finish_page.demo_check.isChecked() and self.finish_page.demo_check.isEnabled():
            demo.generate(self.db, 600)
        settings.mark_setup_done(self.db)
        super().accept()
