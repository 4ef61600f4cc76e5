"""The two signing steps of a report: the leader signs; the registry numbers, dates and seals.

The dialog asks which certificate (set up in Tools → Signing certificates), the password of
the certificate file or the token's PIN (never kept), and for the registry the number and
the date of issue.  The signing runs off the GUI thread; it is one transaction at the end,
so it is not offered for cancelling half-way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dbcomm.errors import UserError
from dbcomm.i18n import _, format_date
from dbcomm.services import identities, report_signing, reports
from dbcomm.services.identities import IdentityInfo
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.widgets import DateEdit, ErrorLabel

LEADER, SEAL = "leader", "seal"


def _day(moment: datetime | None) -> str:
    return format_date(moment.date()) if moment else "?"


class SignDialog(QDialog):
    """Sign (``step="leader"``) or number and seal (``step="seal"``) a stored report.

    Emits ``signed(SignedReport)`` once the signed file is kept with the report.
    """

    signed = Signal(object)

    def __init__(self, db: Database, info: reports.ReportInfo, step: str, parent: QWidget | None = None,
                 setup: Callable[[QWidget], None] | None = None):
        super().__init__(parent)
        self.db = db
        self.info = info
        self.step = step
        self.setup = setup
        self.result_value: report_signing.SignedReport | None = None
        self.task: Any = None
        self.setObjectName("sign_dialog")
        self.setWindowTitle(_("Sign the report") if step == LEADER else _("Number and seal the report"))
        self.setMinimumWidth(620)
        self.role = "person" if step == LEADER else "office"
        self.content = reports.stored_content(db, info.id)
        self._build()
        self._fill_identities()

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        intro = QLabel(self._intro())
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.identity_combo = QComboBox()
        self.identity_combo.setObjectName("identity")
        self.identity_combo.currentIndexChanged.connect(self._identity_changed)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.identity_combo, 1)
        self.setup_button = QPushButton(_("Set up…"))
        self.setup_button.setObjectName("setup")
        self.setup_button.clicked.connect(self._open_setup)
        rl.addWidget(self.setup_button)
        form.addRow(_("Leader's certificate") if self.step == LEADER else _("Office's certificate"), row)
        self.cert_label = QLabel()
        self.cert_label.setObjectName("certificate")
        self.cert_label.setWordWrap(True)
        form.addRow("", self.cert_label)
        self.image_label = QLabel()
        self.image_label.setObjectName("image")
        self.image_label.setMinimumHeight(90)
        self.image_label.setStyleSheet("background: white; border: 1px solid #ccc;")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        form.addRow(_("Signature image") if self.step == LEADER else _("Seal image"), self.image_label)
        if self.step == SEAL:
            self.number_edit = QLineEdit()
            self.number_edit.setObjectName("number")
            self.number_edit.setMaximumWidth(120)
            if self.info.number:
                self.number_edit.setText(self.info.number)
                self.number_edit.setReadOnly(True)
                self.number_edit.setToolTip(_("The number was printed when the report was built."))
            else:
                self.number_edit.setPlaceholderText(_("e.g. 15"))
            form.addRow(_("Document number"), self.number_edit)
            self.date_edit = DateEdit()
            self.date_edit.setObjectName("doc_date")
            if self.content.header.date_blank:
                self.date_edit.set_value(date.today())
            else:
                self.date_edit.set_value(self.content.header.doc_date)
                self.date_edit.setEnabled(False)
                self.date_edit.setToolTip(_("The date was printed when the report was built."))
            form.addRow(_("Date of issue"), self.date_edit)
        self.secret_edit = QLineEdit()
        self.secret_edit.setObjectName("secret")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_label = QLabel(_("Password"))
        form.addRow(self.secret_label, self.secret_edit)
        hint = QLabel(_("The password or PIN is used for this signature only; it is never saved."))
        hint.setStyleSheet("color: #555;")
        hint.setWordWrap(True)
        form.addRow("", hint)
        lay.addLayout(form)
        self.error_label = ErrorLabel()
        self.error_label.setObjectName("error")
        lay.addWidget(self.error_label)
        self.busy_label = QLabel()
        self.busy_label.setObjectName("busy")
        self.busy_label.hide()
        lay.addWidget(self.busy_label)
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(
            _("Sign") if self.step == LEADER else _("Number and seal"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("sign")
        self.ok_button.setDefault(True)
        cancel = self.buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setObjectName("cancel")
        self.buttons.accepted.connect(self.sign)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def _intro(self) -> str:
        period = self.content.period_label
        if self.step == LEADER:
            return _("You sign the report on {period} ({n} activities). Once signed, the period is locked "
                     "and the report cannot be rebuilt; a correction is a new report.").format(
                period=period, n=self.info.activity_count)
        if self.content.header.date_blank:
            return _("The registry writes in the number and the date of issue, then applies the office's "
                     "seal as a second signature. The leader's signature stays valid.")
        return _("The registry writes in the number, then applies the office's seal as a second signature. "
                 "The leader's signature stays valid.")

    def _fill_identities(self) -> None:
        self.identities = identities.list_identities(self.db, self.role)
        self.identity_combo.clear()
        for ident in self.identities:
            self.identity_combo.addItem(f"{ident.label} — {ident.holder}", ident.id)
        has = bool(self.identities)
        self.identity_combo.setEnabled(has)
        self.secret_edit.setEnabled(has)
        self.ok_button.setEnabled(has)
        if not has:
            self.cert_label.setText(_("No certificate is set up for this yet: click “Set up…”."))
            self.cert_label.setStyleSheet("color: #8a4b00;")
            self.image_label.clear()
        self._identity_changed()

    def current(self) -> IdentityInfo | None:
        index = self.identity_combo.currentIndex()
        return self.identities[index] if 0 <= index < len(self.identities) else None

    def _identity_changed(self, _index: int = 0) -> None:
        ident = self.current()
        if ident is None:
            return
        status = ident.status()
        text = _("{holder}, issued by {issuer}; valid {start} – {end}.").format(
            holder=ident.holder, issuer=ident.issuer, start=_day(ident.not_before), end=_day(ident.not_after))
        if status == "expired":
            text += " " + _("EXPIRED: it cannot sign.")
        elif status == "not_yet":
            text += " " + _("NOT VALID YET: it cannot sign.")
        self.cert_label.setText(text)
        self.cert_label.setStyleSheet("color: #b00020;" if status != "valid" else "")
        self.secret_label.setText(_("Password of the certificate file") if ident.source == "file"
                                  else _("PIN of the token"))
        png = identities.image_of(self.db, ident.id)
        if png:
            pix = QPixmap()
            pix.loadFromData(png)
            self.image_label.setPixmap(pix.scaled(260, 110, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation))
        else:
            self.image_label.setText(_("No image: set one up first."))
        self.error_label.show_message("")

    def _open_setup(self) -> None:
        if self.setup is not None:
            self.setup(self)
            self._fill_identities()

    # --- signing --------------------------------------------------------------------------
    def sign(self) -> None:
        from dbcomm.ui.tasks import BackgroundTask

        ident = self.current()
        if ident is None:
            return
        png = identities.image_of(self.db, ident.id)
        if not png:
            self.error_label.show_message(_("This certificate has no image; set one up first."))
            return
        if ident.status() != "valid":
            self.error_label.show_message(_("This certificate cannot sign now: see its dates above."))
            return
        if self.step == SEAL and not self.number_edit.text().strip():
            self.error_label.show_message(_("Enter the document number from the registry's book."))
            self.number_edit.setFocus()
            return
        secret = self.secret_edit.text()
        if not secret:
            self.error_label.show_message(_("Enter the password or PIN."))
            self.secret_edit.setFocus()
            return
        db, report_id, step = self.db, self.info.id, self.step
        number = self.number_edit.text().strip() if step == SEAL else ""
        day = self.date_edit.value() if step == SEAL and self.content.header.date_blank else None
        diameter = ident.seal_diameter_mm
        identity_id = ident.id

        def work() -> Any:
            key = identities.open_identity(db, identity_id, secret, now=datetime.now(UTC))
            try:
                if step == LEADER:
                    return report_signing.sign_report(db, report_id, key, png)
                return report_signing.seal_report(db, report_id, key, png, diameter, number=number, doc_date=day)
            finally:
                key.close()

        self.ok_button.setEnabled(False)
        self.secret_edit.clear()  # not kept in the window either
        self.error_label.show_message("")
        self.busy_label.setText(_("Signing… (with a timestamp server this may take up to a minute)")
                                if report_signing.timestamp_url(db) else _("Signing…"))
        self.busy_label.show()

        def done(result: report_signing.SignedReport) -> None:
            self.busy_label.hide()
            self.result_value = result
            if step == LEADER:
                note = _("The report is signed by {name}. Its period is now locked; the registry numbers "
                         "and seals it next.").format(name=result.info.signed_by)
            else:
                note = _("The report is numbered {number} and sealed. Save it as PDF, print it, or send "
                         "it.").format(number=result.info.number)
            if result.level == "B-T":
                note += " " + _("The signature carries a trusted time from the timestamp server.")
            if result.timestamp_problem:
                note += " " + _("No trusted time was added ({reason}); the signature is valid without it.").format(
                    reason=result.timestamp_problem)
            self.signed.emit(result)
            interaction.get().info(self, self.windowTitle(), note)
            self.accept()

        def failed(message: str) -> None:
            self.busy_label.hide()
            self.ok_button.setEnabled(True)
            self.error_label.show_message(message)

        # one transaction at the end: nothing to cancel half-way; the window stays responsive
        self.task = BackgroundTask(lambda _progress, _cancelled: work(), done, failed, owner=self)

    def reject(self) -> None:
        if self.task is not None and self.task.running:
            return  # the signature is being written: wait for it
        super().reject()


class AnnexSignDialog(QDialog):
    """Sign a separate annex file with the office's certificate: no image, the number and the
    signing time at the top right of page 1 (Decree 30, Appendix I)."""

    def __init__(self, db: Database, info: reports.ReportInfo, source: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.db, self.info, self.source = db, info, source
        self.task: Any = None
        self.written: Path | None = None
        self.setObjectName("annex_sign_dialog")
        self.setWindowTitle(_("Sign an annex file"))
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        text = QLabel(_("“{file}” will carry the office's signature, with “Số: {number}” and the signing "
                        "time at the top right of its first page.").format(
            file=source.name, number=report_signing.document_reference(db, info.id)))
        text.setWordWrap(True)
        lay.addWidget(text)
        form = QFormLayout()
        self.identity_combo = QComboBox()
        self.identity_combo.setObjectName("identity")
        self.identities = [i for i in identities.list_identities(db, "office") if i.status() == "valid"]
        for ident in self.identities:
            self.identity_combo.addItem(f"{ident.label} — {ident.holder}", ident.id)
        form.addRow(_("Office's certificate"), self.identity_combo)
        self.secret_edit = QLineEdit()
        self.secret_edit.setObjectName("secret")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_("Password or PIN"), self.secret_edit)
        lay.addLayout(form)
        self.error_label = ErrorLabel()
        self.error_label.setObjectName("error")
        lay.addWidget(self.error_label)
        if not self.identities:
            self.error_label.show_message(_("No valid certificate is set up for the office."))
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton(_("Sign and save…"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("sign")
        self.ok_button.setEnabled(bool(self.identities))
        buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.sign)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def sign(self) -> None:
        from dbcomm.services.files import atomic_write_bytes
        from dbcomm.ui.tasks import BackgroundTask

        index = self.identity_combo.currentIndex()
        if not 0 <= index < len(self.identities):
            return
        secret = self.secret_edit.text()
        if not secret:
            self.error_label.show_message(_("Enter the password or PIN."))
            return
        target = interaction.get().save_file(self, _("Save the signed annex"),
                                             self.source.stem + "-ky-so.pdf", _("PDF files (*.pdf)"))
        if not target:
            return
        target = Path(target)
        if target.resolve() == self.source.resolve():
            self.error_label.show_message(_("Save the signed annex under another name: the original stays as it is."))
            return
        db, report_id, identity_id, source = self.db, self.info.id, self.identities[index].id, self.source

        def work() -> Path:
            try:
                data = source.read_bytes()
            except OSError as exc:
                raise UserError(_("Cannot read {file}: {reason}").format(
                    file=source.name, reason=exc.strerror or exc)) from exc
            key = identities.open_identity(db, identity_id, secret, now=datetime.now(UTC))
            try:
                outcome = report_signing.sign_annex(db, report_id, data, key)
            finally:
                key.close()
            atomic_write_bytes(target, outcome.data)
            return target

        self.secret_edit.clear()
        self.ok_button.setEnabled(False)

        def done(path: Path) -> None:
            self.written = path
            interaction.get().info(self, self.windowTitle(), _("Wrote {path}.").format(path=path))
            self.accept()

        def failed(message: str) -> None:
            self.ok_button.setEnabled(True)
            self.error_label.show_message(message)

        self.task = BackgroundTask(lambda _p, _c: work(), done, failed, owner=self)


def sign_annex_file(db: Database, info: reports.ReportInfo, parent: QWidget) -> AnnexSignDialog | None:
    path = interaction.get().open_file(parent, _("Choose the annex file to sign"), _("PDF files (*.pdf)"))
    if not path:
        return None
    dialog = AnnexSignDialog(db, info, Path(path), parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def ask_sign(db: Database, info: reports.ReportInfo, step: str, parent: QWidget,
             setup: Callable[[QWidget], None] | None = None) -> SignDialog:
    """Open the dialog (window-modal); connect to ``signed`` for the outcome."""
    dialog = SignDialog(db, info, step, parent, setup)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


__all__ = ["LEADER", "SEAL", "AnnexSignDialog", "SignDialog", "ask_sign", "sign_annex_file"]
