"""File → Verify a signed PDF: who signed, whether it was changed since, and whether the
signer's certificate chains to an authority the office trusts.

The PDF is chosen with a button or dropped on the dialog; the check runs in a background
thread.  "Trusted authorities…" opens the trust list (``services/trust.py``); after a
change there the file is checked again.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import Perm
from dbcomm.domain.vocab import SIGNATURE_VERDICTS
from dbcomm.errors import UserError
from dbcomm.i18n import N_, _, format_date, format_datetime, format_number
from dbcomm.services import auth, trust
from dbcomm.services.signing import SignatureResult, Verification
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.tasks import BackgroundTask

# Colours: strong enough for text on white (WCAG AA), a light tint for the verdict banner.
COLOURS = {
    "valid": ("#1b7f3b", "#e7f4ea"),
    "untrusted": ("#a15c00", "#fff4db"),
    "modified": ("#c62828", "#fdeaea"),
    "invalid": ("#c62828", "#fdeaea"),
    "unsigned": ("#616161", "#f0f0f0"),
    "error": ("#616161", "#f0f0f0"),
    "checking": ("#616161", "#f7f7f7"),
    "none": ("#616161", "#f7f7f7"),
}
SYMBOLS = {"valid": "✓", "untrusted": "!", "modified": "✕", "invalid": "✕", "unsigned": "–", "error": "?",
           "checking": "…", "none": ""}

MODIFICATIONS = {
    "none": N_("None"),
    "form_fill": N_("Only allowed changes"),
    "other": N_("Other changes"),
}
MODIFICATION_DETAILS = {
    "none": N_("No"),
    "form_fill": N_("Only what the signer allowed: later signatures or filling in form fields"),
    "other": N_("Yes: content was added or changed after this signature"),
}
COLUMNS = [N_("Signed by"), N_("Signed at"), N_("Result"), N_("Certificate issued by"),
           N_("Certificate valid"), N_("Trusted"), N_("Changed after signing"), N_("Timestamp")]
PDF_FILTER = N_("PDF files (*.pdf);;All files (*)")


def verdict_icon(verdict: str, size: int = 40) -> QPixmap:
    """A filled circle in the verdict's colour with a white sign: ✓ ! ✕ –."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    if verdict == "none":
        return pixmap
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(COLOURS[verdict][0]))
    painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    pen = QPen(QColor("white"))
    pen.setWidthF(size / 10)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    s = float(size)

    def at(x: float, y: float) -> QPointF:
        return QPointF(s * x, s * y)

    if verdict == "valid":  # drawn, not a glyph: no font needed
        painter.drawPolyline([at(.28, .52), at(.44, .68), at(.73, .34)])
    elif verdict in ("modified", "invalid"):
        painter.drawLine(at(.33, .33), at(.67, .67))
        painter.drawLine(at(.67, .33), at(.33, .67))
    elif verdict == "untrusted":
        painter.drawLine(at(.5, .24), at(.5, .56))
        painter.drawPoint(at(.5, .74))
    elif verdict == "unsigned":
        painter.drawLine(at(.3, .5), at(.7, .5))
    else:
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(size * .55))
        painter.setFont(font)
        painter.drawText(QRectF(0, 0, s, s), Qt.AlignmentFlag.AlignCenter, SYMBOLS[verdict])
    painter.end()
    return pixmap


def _when(value: datetime | None) -> str:
    return format_datetime(value) if value else ""


def _validity(sig: SignatureResult) -> str:
    if sig.not_before is None or sig.not_after is None:
        return ""
    return f"{format_date(sig.not_before)} – {format_date(sig.not_after)}"


def short_name(name: str) -> str:
    """The first part of a certificate name ("X, Organization, VN" → "X"; the verifier lists
    the common name first)."""
    match = re.search(r"Common Name: (.*?)(?:, [A-Z][A-Za-z ]+: |$)", name)
    if match:
        return match.group(1)
    return name.split(", ")[0] if name else name


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def local_file(event: Any) -> Path | None:
    """The first local file a drag carries, or None."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            return Path(url.toLocalFile())
    return None


class VerifyDialog(QDialog):
    """Choose or drop a PDF; see the verdict, each signature, and its details."""

    def __init__(self, db: Database, parent: QWidget | None = None, path: Path | None = None):
        super().__init__(parent)
        self.db = db
        self.path: Path | None = None
        self.result: Verification | None = None
        self.error = ""
        self.task: BackgroundTask | None = None
        self._generation = 0
        self.setObjectName("verify_dialog")
        self.setWindowTitle(_("Check signatures"))
        self.setAcceptDrops(True)
        self.resize(1060, 680)
        self.setMinimumSize(720, 460)
        lay = QVBoxLayout(self)

        top = QHBoxLayout()
        caption = QLabel(_("File:"))
        self.file_label = QLabel(_("No file chosen yet."))
        self.file_label.setObjectName("file")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.file_label.setMinimumWidth(200)
        self.choose_button = QPushButton(_("&Choose a PDF…"))
        self.choose_button.setObjectName("choose")
        self.choose_button.clicked.connect(self.choose_file)
        self.recheck_button = QPushButton(_("Check &again"))
        self.recheck_button.setObjectName("recheck")
        self.recheck_button.clicked.connect(self.check)
        self.recheck_button.setEnabled(False)
        top.addWidget(caption)
        top.addWidget(self.file_label, 1)
        top.addWidget(self.choose_button)
        top.addWidget(self.recheck_button)
        lay.addLayout(top)

        self.banner = QFrame()
        self.banner.setObjectName("banner")
        banner_lay = QHBoxLayout(self.banner)
        banner_lay.setContentsMargins(12, 10, 12, 10)
        banner_lay.setSpacing(12)
        self.icon_label = QLabel()
        self.icon_label.setObjectName("verdict_icon")
        self.icon_label.setFixedSize(QSize(40, 40))
        self.verdict_label = QLabel()
        self.verdict_label.setObjectName("verdict")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.verdict_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.verdict_label.setFont(font)
        banner_lay.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        banner_lay.addWidget(self.verdict_label, 1)
        lay.addWidget(self.banner)
        self.policy_label = QLabel()
        self.policy_label.setObjectName("policy")
        self.policy_label.setWordWrap(True)
        self.policy_label.setStyleSheet("color: #505050;")
        lay.addWidget(self.policy_label)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("signatures")
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move in it
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for i, width in enumerate((175, 120, 125, 155, 165, 95, 160)):
            header.resizeSection(i, width)
        self.table.setColumnHidden(len(COLUMNS) - 1, True)  # shown when a signature has a timestamp
        self.table.itemSelectionChanged.connect(self._show_details)
        lay.addWidget(self.table, 2)

        details_caption = QLabel(_("&Details of the selected signature:"))
        self.details = QTextBrowser()
        self.details.setObjectName("details")
        self.details.setOpenLinks(False)
        details_caption.setBuddy(self.details)
        lay.addWidget(details_caption)
        lay.addWidget(self.details, 3)

        bottom = QHBoxLayout()
        self.trust_button = QPushButton(_("&Trusted authorities…"))
        self.trust_button.setObjectName("trust")
        self.trust_button.setToolTip(_("The certificate authorities this office trusts, and their revocation lists"))
        self.trust_button.clicked.connect(self.open_trust)
        bottom.addWidget(self.trust_button)
        bottom.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        buttons.rejected.connect(self.reject)
        bottom.addWidget(buttons)
        lay.addLayout(bottom)

        self.setTabOrder(self.choose_button, self.recheck_button)
        self.setTabOrder(self.recheck_button, self.table)
        self.setTabOrder(self.table, self.details)
        self.setTabOrder(self.details, self.trust_button)
        self._set_verdict("none", _("Choose a PDF file, or drop one on this window, to check its signatures."))
        self.choose_button.setFocus()
        if path is not None:
            self.open_file(path)

    # --- the file -------------------------------------------------------------------------

    def choose_file(self) -> None:
        path = interaction.get().open_file(self, _("Choose a signed PDF"), _(PDF_FILTER))
        if path:
            self.open_file(path)

    def open_file(self, path: Path) -> None:
        self.path = Path(path)
        self.file_label.setText(self.path.name)
        self.file_label.setToolTip(str(self.path))
        self.recheck_button.setEnabled(True)
        self.check()

    @property
    def checking(self) -> bool:
        return self.task is not None and self.task.running

    def check(self) -> None:
        """Check the file again, in the background; a result of an earlier check is dropped."""
        if self.path is None:
            return
        if self.task is not None and self.task.running:
            self.task.cancel()
        self._generation += 1
        generation, path, db = self._generation, self.path, self.db
        self.result, self.error = None, ""
        self.table.setRowCount(0)
        self.details.clear()
        self.policy_label.clear()
        self._set_verdict("checking", _("Checking the signatures…"))

        def work(_progress: Any, _cancelled: Any) -> Verification:
            return trust.verify_file(db, path)

        def done(result: Verification) -> None:
            if generation == self._generation:
                self.show_result(result)

        def failed(message: str) -> None:
            if generation == self._generation:
                self.show_error(message)

        self.task = BackgroundTask(work, done, failed, owner=self)

    # --- showing ----------------------------------------------------------------------------

    def _set_verdict(self, verdict: str, text: str) -> None:
        fg, bg = COLOURS[verdict]
        self.banner.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border: 1px solid {fg}; border-left: 6px solid {fg};"
            f" border-radius: 4px; }} QLabel#verdict {{ color: {fg if verdict in ('valid', 'untrusted') else '#202020'}; }}")
        self.banner.setProperty("verdict", verdict)
        self.icon_label.setPixmap(verdict_icon(verdict, 40))
        self.icon_label.setAccessibleName(_(SIGNATURE_VERDICTS.get(verdict, "")) if verdict in SIGNATURE_VERDICTS else "")
        self.verdict_label.setText(text)
        self.verdict_label.setAccessibleName(text)

    @property
    def verdict(self) -> str:
        """What the banner shows: valid, untrusted, modified, invalid, unsigned, error, checking, none."""
        return str(self.banner.property("verdict"))

    def show_error(self, message: str) -> None:
        self.error = message
        self._set_verdict("error", message)

    def show_result(self, result: Verification) -> None:
        self.result = result
        self._set_verdict(result.verdict, result.message())
        roots = trust.list_roots(self.db)
        crls = trust.list_crls(self.db)
        if result.signatures:
            self.policy_label.setText(_(
                "Checked without the Internet against this office's trust list ({roots} authorities) and "
                "revocation lists ({crls}). Without a revocation list for the signer's authority, revocation "
                "is not checked.").format(roots=format_number(len(roots)), crls=format_number(len(crls))))
        self.table.setRowCount(len(result.signatures))
        for row, sig in enumerate(result.signatures):
            timestamp = getattr(sig, "timestamp_time", None)
            cells = [
                sig.signer_name or sig.field_name,
                _when(sig.signing_time),
                _(SIGNATURE_VERDICTS.get(sig.verdict, sig.verdict)),
                short_name(sig.issuer),
                _validity(sig),
                # a broken signature is not judged further: its trust and later changes are unknown
                ("—" if sig.problem or not (sig.intact and sig.valid) else
                 _("No: revoked") if sig.revoked else _yes_no(sig.trusted)),
                (_(MODIFICATIONS.get(sig.modification, sig.modification))
                 if not sig.problem and sig.intact and sig.valid else "—"),
                _when(timestamp) if isinstance(timestamp, datetime) else "",
            ]
            tips = {0: sig.subject, 3: sig.issuer,
                    6: _(MODIFICATION_DETAILS.get(sig.modification, "")) if not sig.problem else ""}
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tips.get(col) or text)
                if col == 2:
                    item.setIcon(verdict_icon(sig.verdict, 16))
                    item.setForeground(QColor(COLOURS[sig.verdict][0]))
                if col == 5 and not sig.trusted and not sig.problem:
                    item.setForeground(QColor(COLOURS["invalid" if sig.revoked else "untrusted"][0]))
                if col == 6 and sig.modification == "other" and not sig.covers_whole_file:
                    item.setForeground(QColor(COLOURS["modified"][0]))
                self.table.setItem(row, col, item)
        stamped = any(self.cell(row, len(COLUMNS) - 1) for row in range(self.table.rowCount()))
        self.table.setColumnHidden(len(COLUMNS) - 1, not stamped)  # the timestamp, when there is one
        if result.signatures:
            self.table.selectRow(0)
        else:
            self.details.setPlainText(result.problem and _("Reason: {reason}").format(reason=result.problem))

    def _show_details(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if self.result is None or not rows or rows[0].row() >= len(self.result.signatures):
            self.details.clear()
            return
        self.details.setHtml(self.details_html(self.result.signatures[rows[0].row()]))

    def details_html(self, sig: SignatureResult) -> str:
        lines: list[tuple[str, str]] = [
            (_("Signature field"), sig.field_name),
            (_("Result"), _(SIGNATURE_VERDICTS.get(sig.verdict, sig.verdict))),
        ]
        if sig.problem:
            lines.append((_("Why it cannot be checked"), sig.problem))
        else:
            timestamp = getattr(sig, "timestamp_time", None)
            level = getattr(sig, "level", "")
            lines += [
                (_("Signer"), sig.subject or sig.signer_name),
                (_("Signed at"), _("{time} (as stated by the signer's computer)").format(time=_when(sig.signing_time))
                 if sig.signing_time else ""),
                (_("Timestamp"), _when(timestamp) if isinstance(timestamp, datetime) else _("None")),
                (_("Certificate issued by"), sig.issuer),
                (_("Certificate valid"), _validity(sig)),
                (_("Chains to a trusted authority"), _yes_no(sig.trusted) if sig.intact and sig.valid
                 else _("not checked: the signature itself is broken")),
                (_("Revoked"), _("Yes") if sig.revoked else _("No (as far as the kept revocation lists show)")),
                (_("Signed content unaltered"), _yes_no(sig.intact and sig.valid)),
                (_("Covers"), _("the whole file") if sig.covers_whole_file
                 else _("an earlier version of the file")),
                (_("Changed after signing"), _(MODIFICATION_DETAILS.get(sig.modification, sig.modification))
                 if sig.intact and sig.valid else _("not checked: the signature itself is broken")),
            ]
            if level:
                lines.append((_("Signature level"), str(level)))
        rows = "".join(
            f"<tr><td style='padding-right:14px; color:#555'>{escape(k)}</td><td>{escape(v)}</td></tr>"
            for k, v in lines if v)
        return f"<table cellspacing='2'>{rows}</table>"

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    # --- the trust list ------------------------------------------------------------------

    def open_trust(self) -> None:
        dialog = TrustDialog(self.db, self)
        dialog.exec()
        if dialog.changed and self.path is not None:
            self.check()

    # --- dropping a file -----------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if local_file(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        path = local_file(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_file(path)

    def done(self, result: int) -> None:  # closing: a check still running is forgotten
        self._generation += 1
        if self.task is not None and self.task.running:
            self.task.cancel()
        super().done(result)


ROOT_COLUMNS = [N_("Authority"), N_("Certificate issuer"), N_("Valid from"), N_("Valid to"), N_("SHA-256 fingerprint"),
                N_("Added")]
CRL_COLUMNS = [N_("Authority"), N_("Issued on"), N_("Next update"), N_("Revoked certificates"), N_("Note"),
               N_("Added")]
CERT_FILTER = N_("Certificates (*.cer *.crt *.pem *.der *.p7b *.p7c);;All files (*)")
CRL_FILTER = N_("Revocation lists (*.crl *.pem *.der);;All files (*)")


class TrustDialog(QDialog):
    """The office's trusted certificate authorities and revocation lists: list, import, remove."""

    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.changed = False
        self.roots: list[trust.RootInfo] = []
        self.crls: list[trust.CrlInfo] = []
        self.setObjectName("trust_dialog")
        self.setWindowTitle(_("Trusted certificate authorities"))
        self.resize(960, 460)
        lay = QVBoxLayout(self)
        intro = QLabel(_(
            "A signature is trusted only when its certificate chains to one of these authorities. The "
            "Government's and the public certificate authorities are not built into the computer: import the "
            "root certificates your province uses. Revocation lists let the check see revoked certificates "
            "without the Internet."))
        intro.setWordWrap(True)
        lay.addWidget(intro)
        try:
            allowed = auth.current(db).can(Perm.EDIT_SETTINGS)
        except UserError:
            allowed = False

        self.tabs = QTabWidget()
        self.root_table = self._table("roots", ROOT_COLUMNS, (210, 170, 90, 90, 230))
        self.crl_table = self._table("crls", CRL_COLUMNS, (210, 100, 110, 130, 230))
        self.import_root_button = QPushButton(_("&Import…"))
        self.import_root_button.setObjectName("import_root")
        self.import_root_button.clicked.connect(self.import_roots)
        self.remove_root_button = QPushButton(_("&Remove"))
        self.remove_root_button.setObjectName("remove_root")
        self.remove_root_button.clicked.connect(self.remove_root)
        self.import_crl_button = QPushButton(_("&Import…"))
        self.import_crl_button.setObjectName("import_crl")
        self.import_crl_button.clicked.connect(self.import_crl)
        self.remove_crl_button = QPushButton(_("&Remove"))
        self.remove_crl_button.setObjectName("remove_crl")
        self.remove_crl_button.clicked.connect(self.remove_crl)
        self.tabs.addTab(self._page(self.root_table, self.import_root_button, self.remove_root_button),
                         _("Certificate authorities"))
        self.tabs.addTab(self._page(self.crl_table, self.import_crl_button, self.remove_crl_button),
                         _("Revocation lists"))
        lay.addWidget(self.tabs, 1)
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)
        if not allowed:
            self.status.setText(_("Only an administrator can change this list."))
        self.allowed = allowed
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.root_table.itemSelectionChanged.connect(self._update_buttons)
        self.crl_table.itemSelectionChanged.connect(self._update_buttons)
        self.reload()

    def _table(self, name: str, columns: list[str], widths: tuple[int, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setObjectName(name)
        table.setHorizontalHeaderLabels([_(c) for c in columns])
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)
        table.verticalHeader().setVisible(False)
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for i, width in enumerate(widths):
            header.resizeSection(i, width)
        return table

    def _page(self, table: QTableWidget, import_button: QPushButton, remove_button: QPushButton) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.addWidget(table, 1)
        row = QHBoxLayout()
        row.addWidget(import_button)
        row.addWidget(remove_button)
        row.addStretch(1)
        v.addLayout(row)
        return page

    def reload(self) -> None:
        self.roots = trust.list_roots(self.db)
        self.crls = trust.list_crls(self.db)
        self.root_table.setRowCount(len(self.roots))
        for row, root in enumerate(self.roots):
            cells = [root.subject, root.issuer if not root.self_signed else _("itself (a root)"),
                     format_date(root.not_before), format_date(root.not_after), root.fingerprint_display,
                     format_datetime(root.added_at)]
            self._fill(self.root_table, row, cells)
        self.crl_table.setRowCount(len(self.crls))
        for row, crl in enumerate(self.crls):
            notes = []
            if not crl.issuer_known:
                notes.append(_("Its authority is not in the list"))
            if crl.outdated:
                notes.append(_("Out of date: import a newer list"))
            cells = [crl.issuer, format_date(crl.last_update), format_date(crl.next_update) if crl.next_update else "",
                     format_number(crl.revoked_count), "; ".join(notes), format_datetime(crl.added_at)]
            self._fill(self.crl_table, row, cells)
            if notes:
                item = self.crl_table.item(row, 4)
                item.setForeground(QColor(COLOURS["untrusted"][0]))
        self._update_buttons()

    @staticmethod
    def _fill(table: QTableWidget, row: int, cells: list[str]) -> None:
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(row, col, item)

    def _selected(self, table: QTableWidget) -> int | None:
        rows = table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _update_buttons(self) -> None:
        for button in (self.import_root_button, self.import_crl_button):
            button.setEnabled(self.allowed)
        self.remove_root_button.setEnabled(self.allowed and self._selected(self.root_table) is not None)
        self.remove_crl_button.setEnabled(self.allowed and self._selected(self.crl_table) is not None)

    def import_roots(self) -> None:
        path = interaction.get().open_file(self, _("Import a certificate authority"), _(CERT_FILTER))
        if not path:
            return
        try:
            added = trust.import_roots(self.db, path)
        except UserError as exc:
            interaction.get().error(self, _("Import a certificate authority"), str(exc))
            return
        if added:
            self.changed = True
            self.status.setText(_("Added: {names}.").format(names=", ".join(r.subject for r in added)))
        else:
            self.status.setText(_("{file}: already in the list; nothing was added.").format(file=path.name))
        self.reload()

    def remove_root(self) -> None:
        row = self._selected(self.root_table)
        if row is None:
            return
        root = self.roots[row]
        if not interaction.get().confirm(
                self, _("Remove a trusted authority"),
                _("Stop trusting “{name}”? Signatures whose certificates chain to it will show as not trusted.").format(
                    name=root.subject), _("Remove")):
            return
        try:
            trust.remove_root(self.db, root.fingerprint)
        except UserError as exc:
            interaction.get().error(self, _("Remove a trusted authority"), str(exc))
        else:
            self.changed = True
            self.status.setText(_("Removed: {name}.").format(name=root.subject))
        self.reload()

    def import_crl(self) -> None:
        path = interaction.get().open_file(self, _("Import a revocation list"), _(CRL_FILTER))
        if not path:
            return
        before = {c.fingerprint for c in self.crls}
        try:
            info = trust.import_crl(self.db, path)
        except UserError as exc:
            interaction.get().error(self, _("Import a revocation list"), str(exc))
            return
        if info.fingerprint in before:
            self.status.setText(_("{file}: already kept; nothing was added.").format(file=path.name))
        else:
            self.changed = True
            self.status.setText(_("Added the revocation list of {issuer}.").format(issuer=info.issuer))
        self.reload()

    def remove_crl(self) -> None:
        row = self._selected(self.crl_table)
        if row is None:
            return
        crl = self.crls[row]
        if not interaction.get().confirm(
                self, _("Remove a revocation list"),
                _("Remove the revocation list of “{issuer}” of {date}?").format(
                    issuer=crl.issuer, date=format_date(crl.last_update)), _("Remove")):
            return
        try:
            trust.remove_crl(self.db, crl.fingerprint)
        except UserError as exc:
            interaction.get().error(self, _("Remove a revocation list"), str(exc))
        else:
            self.changed = True
            self.status.setText(_("Removed the revocation list of {issuer}.").format(issuer=crl.issuer))
        self.reload()
