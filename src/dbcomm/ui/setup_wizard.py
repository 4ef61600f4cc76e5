"""First run: language, the office's identity, the signer, and the demo register offer."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from dbcomm.domain.models import ActivityFilter
from dbcomm.domain.roles import Role
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.i18n import LANGUAGES, _, format_number, language, ngettext
from dbcomm.services import activities, auth, demo, settings
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.office_form import OfficeForm
from dbcomm.ui.widgets import ErrorLabel


class _AdminPage(QWizardPage):
    """The first account: an administrator, logged in at once so the rest of the setup is theirs."""

    def __init__(self, wizard: SetupWizard):
        super().__init__()
        self.wiz = wizard
        self.created = False
        self.setTitle(_("Administrator account"))
        self.setSubTitle(_("The person who keeps this workstation: adds the accounts of colleagues, makes "
                           "backups. Each person then logs in with their own name and password."))
        lay = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.username_edit = QLineEdit()
        self.username_edit.setPlaceholderText(_("e.g. quantri"))
        self.full_name_edit = QLineEdit()
        self.full_name_edit.setPlaceholderText(_("e.g. Lò Văn Đức"))
        self.password_edit = QLineEdit()
        self.repeat_edit = QLineEdit()
        for e in (self.password_edit, self.repeat_edit):
            e.setEchoMode(QLineEdit.EchoMode.Password)
        self.errors: dict[str, ErrorLabel] = {}
        for name, caption, edit in (
            ("username", _("User name") + " *", self.username_edit),
            ("full_name", _("Full name"), self.full_name_edit),
            ("password", _("Password") + " *", self.password_edit),
            ("repeat", _("Password again") + " *", self.repeat_edit),
        ):
            edit.setObjectName(name)
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(edit)
            err = ErrorLabel()
            v.addWidget(err)
            self.errors[name] = err
            form.addRow(caption, box)
            edit.textChanged.connect(lambda _t, e=err: e.show_message(""))
        lay.addLayout(form)
        hint = QLabel(_("At least {n} characters, not your user name.").format(n=auth.MIN_PASSWORD))
        hint.setStyleSheet("color: #555;")
        lay.addWidget(hint)
        lay.addSpacing(12)
        self.single_user_check = QCheckBox(_("Single-user mode: this office has one person; open without login"))
        self.single_user_check.setObjectName("single_user")
        self.single_user_check.setChecked(False)
        lay.addWidget(self.single_user_check)
        explain = QLabel(_("Leave this unticked if more than one person uses dbcomm. In single-user mode dbcomm "
                           "opens without asking for a password and every change is recorded under the "
                           "administrator's name: choose it deliberately, for a one-person office. The "
                           "administrator can turn it off later under Administration → Accounts."))
        explain.setWordWrap(True)
        explain.setStyleSheet("color: #555;")
        lay.addWidget(explain)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        lay.addStretch(1)

    def validatePage(self) -> bool:  # noqa: N802 - Qt's name
        for err in (*self.errors.values(), self.error):
            err.show_message("")
        try:
            if not self.created:
                if self.password_edit.text() != self.repeat_edit.text():
                    self.errors["repeat"].show_message(_("The two passwords differ."))
                    return False
                username = self.username_edit.text()
                auth.create_user(self.wiz.db, username, self.full_name_edit.text(), Role.ADMIN,
                                 self.password_edit.text())
                auth.authenticate(self.wiz.db, username, self.password_edit.text())
                self.created = True
                for e in (self.username_edit, self.full_name_edit, self.password_edit, self.repeat_edit):
                    e.setEnabled(False)
            if self.single_user_check.isChecked() != auth.single_user_enabled(self.wiz.db):
                auth.set_single_user(self.wiz.db, self.single_user_check.isChecked())
        except ValidationFailed as exc:
            for e in exc.errors:
                self.errors.get(e.field, self.error).show_message(e.message)
            return False
        except UserError as exc:
            self.error.show_message(str(exc))
            return False
        return True


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
        lay.addStretch(1)

    def validatePage(self) -> bool:  # noqa: N802 - Qt's name
        office = self.form.value()
        current = settings.get_office(self.wiz.db)
        office.signer_title, office.signer_name = current.signer_title, current.signer_name
        try:
            settings.save_office(self.wiz.db, office)
        except ValidationFailed as exc:
            self.form.show_errors(exc)
            return False
        except UserError as exc:  # e.g. a colleague without the right to change the settings
            interaction.get().error(self, _("Welcome to dbcomm"), str(exc))
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
        lay.addStretch(1)

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
        except UserError as exc:  # e.g. a colleague without the right to change the settings
            interaction.get().error(self, _("Welcome to dbcomm"), str(exc))
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
            self.demo_check.setText(ngettext("The register already holds {n} activity.", "The register already holds {n} activities.", existing).format(n=format_number(existing)))
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
        # A database that already has accounts (made with the command line) keeps them; the person
        # logged in before the wizard opened.
        self.admin_page: _AdminPage | None = None
        if not auth.has_accounts(db):
            self.admin_page = _AdminPage(self)
            self.addPage(self.admin_page)
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
