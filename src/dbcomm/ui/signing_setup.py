"""Signing → Digital signatures: the leader's certificate and signature image, and the
office's certificate and seal, set up by office staff.

The main dialog has a tab for each role with the identities set up (who holds the
certificate, who issued it, until when, where the key is), buttons to add one from a
certificate file (.p12/.pfx) or a USB token (PKCS#11), to change its image and to remove it,
and the optional timestamp server.  Every change goes through ``services/identities.py`` and
``services/report_signing.py``, which check the person's permission; a refusal is shown in a
message box.  Passwords and PINs open the key once, to read its certificate, and are not kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPen, QPixmap, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import Perm
from dbcomm.errors import UserError
from dbcomm.i18n import N_, _, format_date
from dbcomm.services import auth, identities, report_signing, signing, tokens
from dbcomm.services.identities import IdentityInfo
from dbcomm.store.engine import Database
from dbcomm.ui import interaction

VIETNAM = timedelta(hours=7)
RED = "#b00020"  # text on white, WCAG AA
AMBER = "#8a5300"
GREEN = "#1b7f3b"
PAPER = "#fbfaf4"  # the light background the images are previewed on

ROLES = {"person": N_("Leader's signature"), "office": N_("Office seal (registry)")}
ROLE_HINTS = {
    "person": N_("The leader signs reports with this certificate. Its image is the handwritten "
                 "signature: blue, on a transparent background (PNG)."),
    "office": N_("The registry (văn thư) seals signed reports with the office's certificate. Its image "
                 "is the seal: red, on a transparent background (PNG), printed at its real diameter."),
}
COLUMNS = [N_("Name"), N_("Holder"), N_("Certificate issuer"), N_("Valid from – to"), N_("Status"), N_("Image"), N_("Where")]
NAME, HOLDER, ISSUER, VALID, STATUS, IMAGE, WHERE = range(len(COLUMNS))
STATUS_TEXT = {"valid": N_("Valid")}
P12_FILTER = N_("Certificate files (*.p12 *.pfx);;All files (*)")
PNG_FILTER = N_("PNG images (*.png);;All files (*)")
MODULE_FILTER = N_("Token drivers (*.dll *.so *.dylib);;All files (*)")
PASSWORD_HINT = N_("The password only opens the file now, to read the certificate. It is not stored: "
                   "it is asked each time a report is signed.")
PIN_HINT = N_("The PIN only opens the token now, to read the certificate. It is not stored: it is asked "
              "each time a report is signed. After a few wrong PINs the token locks itself.")
TIMESTAMP_HINT = N_("Used only when this computer can reach the server when signing. Without it, "
                    "signatures are PAdES B-B (signed, without a trusted time).")

SEAL_DEFAULT_MM = 36.0


# --- small helpers ---------------------------------------------------------------------------


@contextlib.contextmanager
def wait_cursor() -> Iterator[None]:
    """An hourglass while a call to a file or a token blocks the window."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


def local_date(value: datetime | None) -> str:
    """dd/mm/yyyy in Vietnam's time (stored times are UTC, naive or aware)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_date((value.astimezone(UTC) + VIETNAM).date())


def validity_text(not_before: datetime | None, not_after: datetime | None) -> str:
    return f"{local_date(not_before)} – {local_date(not_after)}"


def status_of(not_before: datetime | None, not_after: datetime | None, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)

    def aware(value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    if not_after is not None and now > aware(not_after):
        return "expired"
    if not_before is not None and now < aware(not_before):
        return "not_yet"
    return "valid"


def status_short(status: str) -> str:
    """The status in a table cell, in words (the colour only repeats it)."""
    if status == "expired":
        return "✕ " + _("Expired: cannot sign")
    if status == "not_yet":
        return "✕ " + _("Not valid yet: cannot sign")
    return "✓ " + _(STATUS_TEXT["valid"])


def status_words(status: str, not_before: datetime | None, not_after: datetime | None) -> str:
    if status == "expired":
        return _("Expired on {date}: cannot sign").format(date=local_date(not_after))
    if status == "not_yet":
        return _("Not valid until {date}: cannot sign yet").format(date=local_date(not_before))
    return _(STATUS_TEXT["valid"])


def buddy(text: str, widget: QWidget) -> QLabel:
    """A field's caption whose Alt+letter moves to the field."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def image_kind(role: str) -> str:
    return "signature" if role == "person" else "seal"


def px_per_mm(widget: QWidget) -> float:
    return max(widget.logicalDpiX(), 72) / 25.4


def signature_space_mm() -> tuple[float, float]:
    """The blank space between the signer's title and name in the report, in mm."""
    from dbcomm.services.report_pdf import BODY_W, SIGNATURE_SPACE_MM

    return (BODY_W * 0.55 - 8) * 25.4 / 72, float(SIGNATURE_SPACE_MM)


def printed_size_mm(role: str, png: bytes, diameter_mm: float) -> tuple[float, float]:
    """Width and height of the image on the printed report, in mm."""
    pixmap = QPixmap()
    pixmap.loadFromData(png)
    if pixmap.isNull():
        return 0.0, 0.0
    if role == "office":
        return diameter_mm, diameter_mm * pixmap.height() / pixmap.width()
    w, h = signature_space_mm()
    _x, _y, sw, sh = report_signing.signature_rect((0, 0, w, h), png)
    return sw, sh


# --- the image part: choose, check, preview at printed size --------------------------------------


class ImagePreview(QWidget):
    """The image on a light, paper-like background at the size it will be printed
    (the signature within the signature space of the report, the seal at its diameter)."""

    def __init__(self, role: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role
        self.png: bytes | None = None
        self.pixmap = QPixmap()
        self.diameter_mm = SEAL_DEFAULT_MM
        self.setObjectName("preview")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFixedSize(self.sizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        k = px_per_mm(self)
        if self.role == "office":
            side = int(identities.SEAL_MM_RANGE[1] * k) + 16
            return QSize(side, side)
        w, h = signature_space_mm()
        return QSize(int(w * k) + 16, int(h * k) + 16)

    def set_image(self, png: bytes | None, diameter_mm: float | None = None) -> None:
        self.png = png
        self.pixmap = QPixmap()
        if png:
            self.pixmap.loadFromData(png)
        if diameter_mm is not None:
            self.diameter_mm = diameter_mm
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image is drawn, in pixels (empty without an image)."""
        if self.png is None or self.pixmap.isNull():
            return QRectF()
        k = px_per_mm(self)
        w_mm, h_mm = printed_size_mm(self.role, self.png, self.diameter_mm)
        w, h = w_mm * k, h_mm * k
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, _event: object) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), QColor(PAPER))
        painter.setPen(QPen(QColor("#c8c8c0")))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if self.role == "person":  # the signature space of the report, dashed
            k = px_per_mm(self)
            w, h = signature_space_mm()
            pen = QPen(QColor("#b0b0a8"))
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(QRectF((self.width() - w * k) / 2, (self.height() - h * k) / 2, w * k, h * k))
        rect = self.image_rect()
        if rect.isEmpty():
            painter.setPen(QColor("#707070"))
            painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             _("No image chosen"))
        else:
            painter.drawPixmap(rect, self.pixmap, QRectF(self.pixmap.rect()))
        painter.end()


class ImagePicker(QWidget):
    """Choose the PNG, see it at printed size with the checks' warnings; the seal's diameter."""

    def __init__(self, role: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role
        self.png: bytes | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.choose_button = QPushButton(_("Choose the signature image…") if role == "person"
                                         else _("Choose the seal image…"))
        self.choose_button.setObjectName("choose_image")
        self.choose_button.clicked.connect(self.choose)
        row.addWidget(self.choose_button)
        self.file_label = QLabel()
        self.file_label.setObjectName("image_file")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.file_label, 1)
        lay.addLayout(row)
        self.diameter = QDoubleSpinBox()
        self.diameter.setObjectName("diameter")
        lo, hi = identities.SEAL_MM_RANGE
        self.diameter.setRange(lo, hi)
        self.diameter.setDecimals(1)
        self.diameter.setSingleStep(0.5)
        self.diameter.setValue(SEAL_DEFAULT_MM)
        self.diameter.setSuffix(" mm")
        self.diameter.valueChanged.connect(self._update_preview)
        if role == "office":
            d_row = QHBoxLayout()
            d_label = QLabel(_("Seal &diameter:"))
            d_label.setBuddy(self.diameter)
            d_row.addWidget(d_label)
            d_row.addWidget(self.diameter)
            d_hint = QLabel(_("Measure the seal on a stamped paper (usually 30–42 mm)."))
            d_hint.setStyleSheet("color: #505050;")
            d_row.addWidget(d_hint, 1)
            lay.addLayout(d_row)
        else:
            self.diameter.hide()
        self.preview = ImagePreview(role)
        lay.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignLeft)
        self.size_label = QLabel()
        self.size_label.setObjectName("printed_size")
        self.size_label.setStyleSheet("color: #505050;")
        lay.addWidget(self.size_label)
        self.warning_label = QLabel()
        self.warning_label.setObjectName("image_warning")
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(f"color: {AMBER};")
        self.warning_label.hide()
        lay.addWidget(self.warning_label)
        self._update_preview()

    def set_image(self, png: bytes | None, name: str = "", diameter_mm: float | None = None) -> None:
        """Show an image already checked (or none)."""
        self.png = png
        self.file_label.setText(name)
        if diameter_mm:
            self.diameter.setValue(diameter_mm)
        self.warning_label.clear()
        self.warning_label.hide()
        self._update_preview()

    def choose(self) -> None:
        title = _("Choose the signature image") if self.role == "person" else _("Choose the seal image")
        path = interaction.get().open_file(self, title, _(PNG_FILTER))
        if not path:
            return
        try:
            png = Path(path).read_bytes()
        except OSError as exc:
            interaction.get().error(self, title, _("Cannot read {file}: {reason}").format(
                file=Path(path).name, reason=exc.strerror or exc))
            return
        try:
            checked = identities.check_image(png, image_kind(self.role))
        except UserError as exc:
            interaction.get().error(self, title, str(exc))
            return
        self.set_image(png, Path(path).name)
        if checked.warnings:
            self.warning_label.setText("⚠ " + _("Check the image:") + " " + " ".join(checked.warnings))
            self.warning_label.show()

    @property
    def diameter_mm(self) -> float:
        return float(self.diameter.value()) if self.role == "office" else 0.0

    def _update_preview(self) -> None:
        self.preview.set_image(self.png, self.diameter.value())
        if self.png is None:
            self.size_label.setText(_("The image is shown here at the size it will be printed."))
            return
        w, h = printed_size_mm(self.role, self.png, self.diameter.value())
        if self.role == "office":
            self.size_label.setText(_("Printed at its real size: {d} mm across, over the left third of "
                                      "the leader's signature.").format(d=f"{self.diameter.value():g}"))
        else:
            self.size_label.setText(_("Printed about {w} × {h} mm, centred between the leader's title and "
                                      "name.").format(w=round(w), h=round(h)))


# --- adding an identity ------------------------------------------------------------------------


class AddIdentityDialog(QDialog):
    """Add the leader's or the office's certificate from a .p12/.pfx file (``source="file"``) or a
    USB token (``source="token"``), with its image."""

    def __init__(self, db: Database, role: str, source: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.db, self.role, self.source = db, role, source
        self.added: IdentityInfo | None = None
        self.path: Path | None = None
        self.cert_status = ""  # valid / expired / not_yet once a certificate was read
        self.setObjectName("add_identity")
        self.setWindowTitle(_("Add from a certificate file") if source == "file" else _("Add from a USB token"))
        self.setMinimumWidth(700)
        lay = QVBoxLayout(self)
        intro = QLabel(_(ROLES[role]) + ": " + _(ROLE_HINTS[role]))
        intro.setWordWrap(True)
        lay.addWidget(intro)

        key_box = QGroupBox(_("1. The certificate"))
        form = QFormLayout(key_box)
        if source == "file":
            self._build_file(form)
        else:
            self._build_token(form)
        self.details = QLabel()
        self.details.setObjectName("details")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(_("Certificate:"), self.details)
        self.label_edit = QLineEdit()
        self.label_edit.setObjectName("label")
        self.label_edit.setPlaceholderText(_("The holder's name, if left empty"))
        form.addRow(_("&Name shown:"), self.label_edit)
        lay.addWidget(key_box)

        image_box = QGroupBox(_("2. The signature image") if role == "person" else _("2. The seal image"))
        image_lay = QVBoxLayout(image_box)
        self.picker = ImagePicker(role)
        image_lay.addWidget(self.picker)
        lay.addWidget(image_box)

        buttons = QDialogButtonBox()
        self.add_button = buttons.addButton(_("Add"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setObjectName("add")
        self.add_button.setDefault(False)
        self.add_button.setAutoDefault(False)
        cancel = buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setAutoDefault(False)
        self.add_button.clicked.connect(self.add)
        cancel.clicked.connect(self.reject)
        lay.addWidget(buttons)
        self._show_details(None)

    def fit_height(self) -> None:
        """Tall enough for the wrapped hints at the dialog's width (Qt's minimum size leaves
        them out, and the image preview then overlaps them)."""
        layout = self.layout()
        if layout is None:
            return
        needed = layout.totalHeightForWidth(self.width())
        if needed > 0:
            self.setMinimumHeight(needed)
            if self.height() < needed:
                self.resize(self.width(), needed)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        # Enter in the password or PIN box reads the certificate (its own signal); it must not
        # also press "Add", which would add the certificate before the person has seen it.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.isVisible():
            self.fit_height()

    # --- a certificate file ------------------------------------------------------------------

    def _build_file(self, form: QFormLayout) -> None:
        row = QHBoxLayout()
        self.file_label = QLabel(_("No file chosen yet."))
        self.file_label.setObjectName("file")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_file_button = QPushButton(_("&Choose…"))
        self.choose_file_button.setObjectName("choose_file")
        self.choose_file_button.setAutoDefault(False)
        self.choose_file_button.clicked.connect(self.choose_file)
        row.addWidget(self.file_label, 1)
        row.addWidget(self.choose_file_button)
        form.addRow(_("Certificate file:"), row)
        self.secret = QLineEdit()
        self.secret.setObjectName("password")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.returnPressed.connect(self.read_certificate)
        self.read_button = QPushButton(_("&Read the certificate"))
        self.read_button.setObjectName("read")
        self.read_button.setAutoDefault(False)
        self.read_button.clicked.connect(self.read_certificate)
        prow = QHBoxLayout()
        prow.addWidget(self.secret, 1)
        prow.addWidget(self.read_button)
        form.addRow(buddy(_("&Password:"), self.secret), prow)
        hint = QLabel(_(PASSWORD_HINT))
        hint.setObjectName("secret_hint")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #505050;")
        form.addRow("", hint)

    def choose_file(self) -> None:
        path = interaction.get().open_file(self, _("Choose the certificate file"), _(P12_FILTER))
        if not path:
            return
        self.path = Path(path)
        self.file_label.setText(self.path.name)
        self.file_label.setToolTip(str(self.path))
        self._show_details(None)
        self.secret.setFocus()

    # --- a USB token ---------------------------------------------------------------------------

    def _build_token(self, form: QFormLayout) -> None:
        self.module_combo = QComboBox()
        self.module_combo.setObjectName("module")
        self.module_combo.setEditable(True)
        self.module_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.module_combo.setMinimumContentsLength(40)
        for module in tokens.known_modules():
            self._add_module(module)
        edit = self.module_combo.lineEdit()
        if self.module_combo.count() == 0 and edit is not None:
            edit.setPlaceholderText(_("The token's PKCS#11 driver file"))
        browse = QPushButton(_("&Browse…"))
        browse.setObjectName("browse_module")
        browse.setAutoDefault(False)
        browse.clicked.connect(self.browse_module)
        find = QPushButton(_("&Find tokens"))
        find.setObjectName("find_tokens")
        find.setAutoDefault(False)
        find.clicked.connect(self.find_tokens)
        row = QHBoxLayout()
        row.addWidget(self.module_combo, 1)
        row.addWidget(browse)
        row.addWidget(find)
        form.addRow(buddy(_("Token &driver:"), self.module_combo), row)
        self.token_combo = QComboBox()
        self.token_combo.setObjectName("token")
        form.addRow(_("&Token:"), self.token_combo)
        self.secret = QLineEdit()
        self.secret.setObjectName("pin")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.returnPressed.connect(self.list_keys)
        keys = QPushButton(_("&List keys"))
        keys.setObjectName("list_keys")
        keys.setAutoDefault(False)
        keys.clicked.connect(self.list_keys)
        prow = QHBoxLayout()
        prow.addWidget(self.secret, 1)
        prow.addWidget(keys)
        form.addRow(buddy(_("&PIN:"), self.secret), prow)
        hint = QLabel(_(PIN_HINT))
        hint.setObjectName("secret_hint")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #505050;")
        form.addRow("", hint)
        self.key_combo = QComboBox()
        self.key_combo.setObjectName("key")
        self.key_combo.activated.connect(lambda _i: self.read_certificate())
        form.addRow(_("&Key:"), self.key_combo)

    def _add_module(self, module: str) -> int:
        vendor = tokens.module_vendor(module)
        text = f"{vendor} — {module}" if vendor else module
        index = self.module_combo.findData(module)
        if index < 0:
            self.module_combo.addItem(text, module)
            index = self.module_combo.count() - 1
        return index

    def module_path(self) -> str:
        """The module chosen in the list, or the path typed in the box."""
        text = self.module_combo.currentText().strip()
        index = self.module_combo.currentIndex()
        if index >= 0 and self.module_combo.itemText(index) == text:
            return str(self.module_combo.itemData(index))
        return text

    def browse_module(self) -> None:
        path = interaction.get().open_file(self, _("Choose the token's driver (PKCS#11 module)"),
                                           _(MODULE_FILTER))
        if path:
            self.module_combo.setCurrentIndex(self._add_module(str(path)))

    def _token_title(self) -> str:
        return _("Add from a USB token")

    def find_tokens(self) -> None:
        module = self.module_path()
        if not module:
            interaction.get().error(self, self._token_title(), _("Choose the token's driver first."))
            return
        self.token_combo.clear()
        self.key_combo.clear()
        self._show_details(None)
        try:
            with wait_cursor():
                found = tokens.list_tokens(module)
        except UserError as exc:
            interaction.get().error(self, self._token_title(), str(exc))
            return
        if not found:
            interaction.get().error(self, self._token_title(),
                                    _("No token is plugged in. Plug in the token and try again."))
            return
        for t in found:
            extra = " ".join(x for x in (t.manufacturer.strip(), t.model.strip()) if x)
            text = t.label + (f" ({extra}, {t.serial})" if extra else f" ({t.serial})")
            self.token_combo.addItem(text, t.label)
        self.secret.setFocus()

    def list_keys(self) -> None:
        if self.token_combo.currentIndex() < 0:
            interaction.get().error(self, self._token_title(), _("Find the token first."))
            return
        self.key_combo.clear()
        self._show_details(None)
        try:
            with wait_cursor():
                keys = tokens.list_keys(self.module_path(), self.token_combo.currentData(), self.secret.text())
        except UserError as exc:
            interaction.get().error(self, self._token_title(), str(exc))
            return
        if not keys:
            interaction.get().error(self, self._token_title(),
                                    _("This token holds no signing key with a certificate."))
            return
        for key in keys:
            self.key_combo.addItem(key, key)
        self.read_certificate()

    # --- the certificate ----------------------------------------------------------------------

    def _open(self) -> signing.Identity:
        if self.source == "file":
            if self.path is None:
                raise UserError(_("Choose the certificate file first."))
            return signing.load_pkcs12(self.path, self.secret.text())
        if self.key_combo.currentIndex() < 0:
            raise UserError(_("Enter the PIN and list the token's keys first."))
        return tokens.load_pkcs11(self.module_path(), self.token_combo.currentData(),
                                  self.key_combo.currentData(), self.secret.text())

    def read_certificate(self) -> None:
        """Open the key once to show whose certificate it is; say at once if it cannot sign."""
        try:
            with wait_cursor():
                identity = self._open()
                identity.close()
        except UserError as exc:
            self._show_details(None)
            interaction.get().error(self, self.windowTitle(), str(exc))
            return
        self._show_details(identity)
        try:
            signing.check_usable(identity)
        except UserError as exc:
            interaction.get().error(self, self.windowTitle(), str(exc))

    def _show_details(self, identity: signing.Identity | None) -> None:
        if identity is None:
            self.cert_status = ""
            self.details.setText(_("Not read yet: enter the password and click “Read the certificate”.")
                                 if self.source == "file" else
                                 _("Not read yet: find the token, enter the PIN and list its keys."))
            self.details.setStyleSheet("color: #505050;")
            return
        status = status_of(identity.not_before, identity.not_after)
        self.cert_status = status
        colour = GREEN if status == "valid" else RED
        mark = "✓" if status == "valid" else "✕"
        self.details.setStyleSheet("")
        rows = [
            (_("Holder"), identity.holder_name),
            (_("Certificate issuer"), identity.issuer),
            (_("Valid from – to"), validity_text(identity.not_before, identity.not_after)),
        ]
        html = "".join(f"{escape(k)}: <b>{escape(v)}</b><br>" for k, v in rows)
        html += (f"<span style='color:{colour}; font-weight:bold'>{mark} "
                 f"{escape(status_words(status, identity.not_before, identity.not_after))}</span>")
        self.details.setText(html)
        if not self.label_edit.text().strip():
            self.label_edit.setPlaceholderText(identity.holder_name)
        if self.isVisible():  # the details grew: make room, or the validity line is cut off
            self.fit_height()

    # --- adding --------------------------------------------------------------------------------

    def add(self) -> None:
        title = self.windowTitle()
        if self.source == "file" and self.path is None:
            interaction.get().error(self, title, _("Choose the certificate file first."))
            return
        if self.source == "token" and self.key_combo.currentIndex() < 0:
            interaction.get().error(self, title, _("Enter the PIN and list the token's keys first."))
            return
        if self.picker.png is None:
            interaction.get().error(self, title, _("Choose the signature image: it is printed on the signed report.")
                                    if self.role == "person" else
                                    _("Choose the seal image: it is printed on the sealed report."))
            return
        label = self.label_edit.text().strip()
        try:
            with wait_cursor():
                if self.source == "file":
                    assert self.path is not None
                    self.added = identities.add_file_identity(
                        self.db, self.role, self.path, self.secret.text(), label=label,
                        image_png=self.picker.png, seal_diameter_mm=self.picker.diameter_mm)
                else:
                    self.added = identities.add_token_identity(
                        self.db, self.role, self.module_path(), self.token_combo.currentData(),
                        self.key_combo.currentData(), self.secret.text(), label=label,
                        image_png=self.picker.png, seal_diameter_mm=self.picker.diameter_mm)
        except UserError as exc:
            interaction.get().error(self, title, str(exc))
            return
        self.secret.clear()
        self.accept()

    def done(self, result: int) -> None:
        self.secret.clear()  # the password or PIN does not outlive the dialog
        super().done(result)


class ChangeImageDialog(QDialog):
    """Choose another signature or seal image (and the seal's diameter) for an identity."""

    def __init__(self, db: Database, info: IdentityInfo, parent: QWidget | None = None):
        super().__init__(parent)
        self.db, self.info = db, info
        self.setObjectName("change_image")
        self.setWindowTitle(_("Change the image of {name}").format(name=info.label))
        lay = QVBoxLayout(self)
        self.picker = ImagePicker(info.role)
        self.picker.set_image(identities.image_of(db, info.id), _("(the current image)") if info.has_image else "",
                              info.seal_diameter_mm or None)
        lay.addWidget(self.picker)
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(_("Save"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("save")
        cancel = buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.clicked.connect(self.save)
        cancel.clicked.connect(self.reject)
        lay.addWidget(buttons)

    def save(self) -> None:
        if self.picker.png is None:
            interaction.get().error(self, self.windowTitle(), _("Choose an image first."))
            return
        try:
            identities.set_image(self.db, self.info.id, self.picker.png,
                                 self.picker.diameter_mm if self.info.role == "office" else None)
        except UserError as exc:
            interaction.get().error(self, self.windowTitle(), str(exc))
            return
        self.accept()


# --- the main dialog -------------------------------------------------------------------------------


class RolePage(QWidget):
    """The identities of one role, with the buttons that act on them."""

    def __init__(self, role: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role
        self.rows: list[IdentityInfo] = []
        lay = QVBoxLayout(self)
        hint = QLabel(_(ROLE_HINTS[role]))
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName(f"{role}_table")
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for i, width in enumerate((170, 140, 150, 160, 180, 90)):
            header.resizeSection(i, width)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long path keeps its file name
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_file_button = QPushButton(_("Add from a certificate &file…"))
        self.add_file_button.setObjectName(f"{role}_add_file")
        self.add_token_button = QPushButton(_("Add from a USB &token…"))
        self.add_token_button.setObjectName(f"{role}_add_token")
        self.image_button = QPushButton(_("Change &image…"))
        self.image_button.setObjectName(f"{role}_image")
        self.remove_button = QPushButton(_("&Remove"))
        self.remove_button.setObjectName(f"{role}_remove")
        for b in (self.add_file_button, self.add_token_button, self.image_button, self.remove_button):
            b.setAutoDefault(False)
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)

    def fill(self, rows: list[IdentityInfo]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, info in enumerate(rows):
            status = info.status()
            if info.role == "office" and info.has_image:
                image = _("Seal, {d} mm").format(d=f"{info.seal_diameter_mm:g}")
            else:
                image = _("Yes") if info.has_image else _("None: choose one")
            cells = [info.label, info.holder, info.issuer, validity_text(info.not_before, info.not_after),
                     status_short(status), image, info.where]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                if status != "valid" and c in (VALID, STATUS):
                    item.setForeground(QColor(RED))
                if c == STATUS:
                    item.setToolTip(status_words(status, info.not_before, info.not_after))
                    if status == "valid":
                        item.setForeground(QColor(GREEN))
                if c == IMAGE and not info.has_image:
                    item.setForeground(QColor(RED))
                self.table.setItem(r, c, item)
        if rows and not self.table.selectionModel().selectedRows():
            self.table.selectRow(0)

    def selected(self) -> IdentityInfo | None:
        chosen = self.table.selectionModel().selectedRows()
        return self.rows[chosen[0].row()] if chosen else None


class SigningSetupDialog(QDialog):
    """The leader's signature, the office's seal, and the timestamp server."""

    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.setObjectName("signing_setup")
        self.setWindowTitle(_("Digital signatures"))
        self.resize(1080, 560)
        self.setMinimumSize(760, 420)
        try:
            self.allowed = auth.current(db).can(Perm.MANAGE_SIGNING)
        except UserError:
            self.allowed = False
        lay = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("roles")
        self.pages: dict[str, RolePage] = {}
        for role in identities.ROLES:
            page = RolePage(role)
            page.add_file_button.clicked.connect(lambda _c=False, r=role: self.add_identity(r, "file"))
            page.add_token_button.clicked.connect(lambda _c=False, r=role: self.add_identity(r, "token"))
            page.image_button.clicked.connect(lambda _c=False, r=role: self.change_image(r))
            page.remove_button.clicked.connect(lambda _c=False, r=role: self.remove(r))
            page.table.itemSelectionChanged.connect(self._update_buttons)
            page.table.doubleClicked.connect(lambda _i, r=role: self.change_image(r))
            self.pages[role] = page
            self.tabs.addTab(page, _(ROLES[role]))
        lay.addWidget(self.tabs, 1)

        ts_box = QGroupBox(_("Timestamp server (optional)"))
        ts_lay = QVBoxLayout(ts_box)
        ts_row = QHBoxLayout()
        ts_caption = QLabel(_("&Address:"))
        self.timestamp_edit = QLineEdit(report_signing.timestamp_url(db))
        self.timestamp_edit.setObjectName("timestamp_url")
        self.timestamp_edit.setPlaceholderText("http://…")
        ts_caption.setBuddy(self.timestamp_edit)
        self.timestamp_save = QPushButton(_("&Save"))
        self.timestamp_save.setObjectName("timestamp_save")
        self.timestamp_save.setAutoDefault(False)
        self.timestamp_save.clicked.connect(self.save_timestamp)
        self.timestamp_edit.returnPressed.connect(self.save_timestamp)
        ts_row.addWidget(ts_caption)
        ts_row.addWidget(self.timestamp_edit, 1)
        ts_row.addWidget(self.timestamp_save)
        ts_lay.addLayout(ts_row)
        ts_hint = QLabel(_(TIMESTAMP_HINT))
        ts_hint.setWordWrap(True)
        ts_hint.setStyleSheet("color: #505050;")
        ts_lay.addWidget(ts_hint)
        lay.addWidget(ts_box)

        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)
        if not self.allowed:
            self.status.setText(_("Your role does not allow changing this set-up: the leader, the registry clerk or "
                                  "the administrator can."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        buttons.button(QDialogButtonBox.StandardButton.Close).setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.reload()

    # --- showing -------------------------------------------------------------------------------

    def reload(self) -> None:
        for role, page in self.pages.items():
            page.fill(identities.list_identities(self.db, role))
            count = len(page.rows)
            self.tabs.setTabText(list(self.pages).index(role),
                                 _(ROLES[role]) + (f" ({count})" if count else ""))
        self._update_buttons()

    def _update_buttons(self) -> None:
        for page in self.pages.values():
            has = page.selected() is not None
            page.add_file_button.setEnabled(self.allowed)
            page.add_token_button.setEnabled(self.allowed)
            page.image_button.setEnabled(self.allowed and has)
            page.remove_button.setEnabled(self.allowed and has)
        self.timestamp_save.setEnabled(self.allowed)
        self.timestamp_edit.setReadOnly(not self.allowed)

    def rows(self, role: str) -> list[list[str]]:
        """What each row of a role's table shows (for tests and accessibility checks)."""
        table = self.pages[role].table
        return [[(item.text() if (item := table.item(r, c)) is not None else "") for c in range(table.columnCount())]
                for r in range(table.rowCount())]

    # --- actions -------------------------------------------------------------------------------

    def add_identity(self, role: str, source: str) -> None:
        dialog = AddIdentityDialog(self.db, role, source, self)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted.value and dialog.added is not None
        if accepted and dialog.added is not None:
            added = dialog.added
            self.status.setText(_("Added: {name}.").format(name=added.label) if added.label == added.holder
                                else _("Added: {name} ({holder}).").format(name=added.label, holder=added.holder))
        self.reload()
        if accepted and dialog.added is not None:
            self._select(role, dialog.added.id)

    def _select(self, role: str, identity_id: int) -> None:
        page = self.pages[role]
        for r, info in enumerate(page.rows):
            if info.id == identity_id:
                page.table.selectRow(r)

    def change_image(self, role: str) -> None:
        info = self.pages[role].selected()
        if info is None or not self.allowed:
            return
        dialog = ChangeImageDialog(self.db, info, self)
        if dialog.exec() == QDialog.DialogCode.Accepted.value:
            self.status.setText(_("The image of {name} was changed.").format(name=info.label))
        self.reload()
        self._select(role, info.id)

    def remove(self, role: str) -> None:
        info = self.pages[role].selected()
        if info is None:
            return
        title = _("Remove a signing certificate")
        if not interaction.get().confirm(
                self, title,
                _("Remove “{name}” ({holder}) from the signing set-up? The certificate file or the token "
                  "itself is not changed: it can be added again later.").format(name=info.label,
                                                                             holder=info.holder),
                _("Remove")):
            return
        try:
            identities.remove_identity(self.db, info.id)
        except UserError as exc:
            interaction.get().error(self, title, str(exc))
        else:
            self.status.setText(_("Removed: {name}.").format(name=info.label))
        self.reload()

    def save_timestamp(self) -> None:
        try:
            report_signing.set_timestamp_url(self.db, self.timestamp_edit.text())
        except UserError as exc:
            interaction.get().error(self, _("Timestamp server (optional)"), str(exc))
            return
        url = report_signing.timestamp_url(self.db)
        self.timestamp_edit.setText(url)
        self.status.setText(_("Timestamp server saved: {url}.").format(url=url) if url
                            else _("No timestamp server: signatures will be PAdES B-B."))


def open_signing_setup(parent: QWidget, db: Database) -> None:
    """Show the "Digital signatures" dialog (modal) over ``parent``."""
    dialog = SigningSetupDialog(db, parent)
    dialog.exec()
    dialog.deleteLater()


__all__ = ["AddIdentityDialog", "ChangeImageDialog", "SigningSetupDialog", "open_signing_setup"]
