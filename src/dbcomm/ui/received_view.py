"""The "Received reports" tab: for the office that collects the reports of other offices.

Top: who has reported — the completeness grid (``services.completeness``) of offices × the
periods of one kind in a year, each cell worded and coloured, with "received / expected" per
period and the reporting deadline (days after a period ends).  Below: the reports received
(newest first), to open (the signed PDF, read-only), accept, return with a note, and answer:
the signed receipt written onto the USB stick (``services.receipts``), off the GUI thread.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.periods import PeriodKind
from dbcomm.domain.roles import Perm
from dbcomm.domain.vocab import SIGNATURE_VERDICTS
from dbcomm.errors import UserError
from dbcomm.i18n import N_, _, format_date, format_datetime, format_number
from dbcomm.services import auth, completeness, plans
from dbcomm.services.completeness import CompletenessCell, CompletenessGrid
from dbcomm.services.received import ReceivedRow, list_received, received_pdf
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.pdf_preview import PdfPreviewDialog
from dbcomm.ui.tasks import BackgroundTask
from dbcomm.ui.widgets import ErrorLabel

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
PERIOD_KINDS: list[tuple[str, str]] = [
    (PeriodKind.MONTH.value, N_("Month")),
    (PeriodKind.QUARTER.value, N_("Quarter")),
    (PeriodKind.HALF.value, N_("First 6 months")),
    (PeriodKind.NINE.value, N_("First 9 months")),
    (PeriodKind.YEAR.value, N_("Year")),
]

# status → (background, text colour, symbol, word).  The word and the symbol say it all; the
# colour only helps the eye (and is never the only sign).
STATUS_LOOK: dict[str, tuple[str, str, str, str]] = {
    "accepted": ("#c8e6c9", "#1b5e20", "✓", N_("Accepted")),
    "received_on_time": ("#e3f0fb", "#0b4f8a", "●", N_("Received")),
    "received_late": ("#ffe2b3", "#7a4100", "!", N_("Received late")),
    "returned": ("#f8d0d0", "#9b1c1c", "↩", N_("Returned")),
    "missing": ("#fff6f6", "#b00020", "✗", N_("Missing")),
    "not_due": ("#f1f2f4", "#5f6368", "…", N_("Not due yet")),
    "not_expected": ("#fafafa", "#9aa0a6", "", "—"),
}
STATUS_HELP: dict[str, str] = {
    "accepted": N_("accepted"),
    "received_on_time": N_("received on time, waiting for your decision"),
    "received_late": N_("received after the deadline, waiting for your decision"),
    "returned": N_("returned for correction; waiting for the corrected report"),
    "missing": N_("not received, and the deadline has passed"),
    "not_due": N_("not received yet; the deadline has not passed"),
    "not_expected": N_("the office did not exist during this period"),
}
MISSING_OUTLINE = "#d93025"
TOTAL_COLOUR = "#eceff1"

# the state of a received report (ReceivedReport.state) as the list says it
STATE_WORDS: dict[str, str] = {
    "received": N_("Waiting for your decision"),
    "accepted": N_("Accepted"),
    "returned": N_("Returned"),
    "superseded": N_("Replaced by a newer version"),
}
STATE_COLOURS = {"received": "#0b4f8a", "accepted": "#1b5e20", "returned": "#9b1c1c", "superseded": "#80868b"}
VERDICT_LOOK = {"valid": ("✓", "#1b7f3b"), "untrusted": ("!", "#a15c00"), "modified": ("✕", "#c62828"),
                "invalid": ("✕", "#c62828")}

STATUS_ROLE = Qt.ItemDataRole.UserRole + 1
REPORT_ROLE = Qt.ItemDataRole.UserRole + 2
ROW_ROLE = Qt.ItemDataRole.UserRole + 3

_VIETNAM = timedelta(hours=7)

if TYPE_CHECKING:
    from dbcomm.services.identities import IdentityInfo


def _bold() -> QFont:
    f = QFont()
    f.setBold(True)
    return f


def cell_text(status: str) -> str:
    """``✓ Accepted``: the symbol and the word of a cell."""
    _bg, _fg, symbol, word = STATUS_LOOK.get(status, STATUS_LOOK["not_expected"])
    word = _(word) if word != "—" else word
    return f"{symbol} {word}" if symbol else word


def period_title(key: str) -> str:
    """``Quý III/2026``, ``Tháng 5/2026``, ``6 tháng đầu năm 2026``, ``Năm 2026``."""
    year = key[:4]
    rest = key[5:]
    if len(key) == 4:
        return f"{_('Year')} {year}"
    if rest.startswith("Q") and rest[1:].isdigit():
        return f"{_('Quarter {q}').format(q=ROMAN.get(int(rest[1:]), rest[1:]))}/{year}"
    if rest == "H1":
        return f"{_('First 6 months')} {year}"
    if rest == "9M":
        return f"{_('First 9 months')} {year}"
    if rest.isdigit():
        return f"{_('Month {n}').format(n=int(rest))}/{year}"
    return key.replace("..", " – ")



# --- the completeness grid -------------------------------------------------------------------


class CompletenessModel(QAbstractTableModel):
    """Rows: the offices, then "received / expected"; columns: the periods."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.grid: CompletenessGrid | None = None

    def set_grid(self, grid: CompletenessGrid | None) -> None:
        self.beginResetModel()
        self.grid = grid
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid() or self.grid is None or not self.grid.columns:
            return 0
        return len(self.grid.rows) + 1

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() or self.grid is None else len(self.grid.columns)

    def is_total_row(self, row: int) -> bool:
        return self.grid is not None and row == len(self.grid.rows)

    def cell(self, row: int, column: int) -> CompletenessCell | None:
        if self.grid is None or self.is_total_row(row):
            return None
        return self.grid.rows[row].cells[column]

    def total_text(self, column: int) -> str:
        assert self.grid is not None
        return f"{format_number(self.grid.received[column])} / {format_number(self.grid.expected[column])}"

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        g = self.grid
        if g is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            col = g.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{period_title(col.key)}\n" + _("due {date}").format(date=format_date(col.due))
            if role == Qt.ItemDataRole.ToolTipRole:
                return _("{period}: {start} – {end}; the report is due by {due}.").format(
                    period=period_title(col.key), start=format_date(col.start), end=format_date(col.end),
                    due=format_date(col.due))
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _("Received / expected") if self.is_total_row(section) else g.rows[section].name
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.is_total_row(section):
                return _("Reports in hand that were not returned, out of the offices expected to report.")
            return g.rows[section].name
        if role == Qt.ItemDataRole.FontRole and self.is_total_row(section):
            return _bold()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        g = self.grid
        if not index.isValid() or g is None:
            return None
        row, column = index.row(), index.column()
        if self.is_total_row(row):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.total_text(column)
            if role == Qt.ItemDataRole.FontRole:
                return _bold()
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(TOTAL_COLOUR))
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
            if role == Qt.ItemDataRole.ToolTipRole:
                return _("{period}: {received} of {expected} offices have reported.").format(
                    period=period_title(g.columns[column].key), received=format_number(g.received[column]),
                    expected=format_number(g.expected[column]))
            return None
        cell = g.rows[row].cells[column]
        bg, fg, _symbol, _word = STATUS_LOOK.get(cell.status, STATUS_LOOK["not_expected"])
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(cell.status)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(bg))
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(fg))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.FontRole and cell.status in ("missing", "received_late", "returned"):
            return _bold()
        if role == Qt.ItemDataRole.ToolTipRole:
            text = _("{office} — {period}: {status}").format(
                office=g.rows[row].name, period=period_title(g.columns[column].key),
                status=_(STATUS_HELP.get(cell.status, cell.status)))
            if cell.received_at is not None:
                text += "\n" + _("Received {time}").format(time=format_datetime(cell.received_at))
                if cell.late and cell.status in ("accepted", "returned"):
                    text += " " + _("(after the deadline)")
            if cell.report_id is not None:
                text += "\n" + _("Click to select the report in the list below.")
            return text
        if role == STATUS_ROLE:
            return cell.status
        if role == REPORT_ROLE:
            return cell.report_id
        return None


class _CellDelegate(QStyledItemDelegate):
    """Draws a red outline around a missing report's cell, over the usual drawing."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)
        if index.data(STATUS_ROLE) == "missing":
            painter.save()
            pen = QPen(QColor(MISSING_OUTLINE))
            pen.setWidth(2)
            painter.setPen(pen)
            r: QRect = option.rect.adjusted(2, 2, -2, -2)  # type: ignore[attr-defined]
            painter.drawRect(r)
            painter.restore()


# --- the list of received reports ------------------------------------------------------------

COLUMNS: list[str] = [N_("Sender"), N_("Period"), N_("Number"), N_("Document date"), N_("Received at"),
                      N_("Deadline"), N_("Signature"), N_("State")]


class ReceivedModel(QAbstractTableModel):
    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.rows: list[ReceivedRow] = []

    def set_rows(self, rows: list[ReceivedRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def row_of(self, received_id: int) -> int:
        return next((i for i, r in enumerate(self.rows) if r.id == received_id), -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(COLUMNS[section])
        return None

    @staticmethod
    def text(r: ReceivedRow, column: int) -> str:
        if column == 0:
            return r.sender_name
        if column == 1:
            return period_title(r.period_key)
        if column == 2:
            return r.number or "—"
        if column == 3:
            return format_date(r.doc_date) or "—"
        if column == 4:
            return format_datetime(r.received_at)
        if column == 5:
            return "! " + _("Late") if r.late else _("On time")
        if column == 6:
            symbol = VERDICT_LOOK.get(r.verdict, ("?", ""))[0]
            word = _(SIGNATURE_VERDICTS[r.verdict]) if r.verdict in SIGNATURE_VERDICTS else (r.verdict or "—")
            return f"{symbol} {word}"
        if r.state == "returned" and r.note:
            return f"{_(STATE_WORDS['returned'])}: {r.note.splitlines()[0]}"
        return _(STATE_WORDS.get(r.state, r.state))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(r, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if r.state == "superseded":
                return QBrush(QColor("#80868b"))
            if column == 5 and r.late:
                return QBrush(QColor("#7a4100"))
            if column == 6 and r.verdict in VERDICT_LOOK:
                return QBrush(QColor(VERDICT_LOOK[r.verdict][1]))
            if column == 7:
                return QBrush(QColor(STATE_COLOURS.get(r.state, "#202124")))
            return None
        if role == Qt.ItemDataRole.BackgroundRole and column == 5 and r.late and r.state != "superseded":
            return QBrush(QColor("#fff1d6"))
        if role == Qt.ItemDataRole.FontRole and column == 7 and r.state == "received":
            return _bold()
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 5:
                return _("Due by {date}").format(date=format_date(r.due))
            if column == 7 and r.decided_at is not None:
                tip = _("{state} by {name} on {time}").format(
                    state=_(STATE_WORDS.get(r.state, r.state)), name=r.decided_by,
                    time=format_datetime(r.decided_at))
                return tip + (f"\n{r.note}" if r.note else "")
            return self.text(r, column)
        if role == ROW_ROLE:
            return r
        return None


# --- dialogs ---------------------------------------------------------------------------------


class DecisionDialog(QDialog):
    """Accept a received report, or return it with a note (required) that goes back with the answer."""

    def __init__(self, db: Database, row: ReceivedRow, decision: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.db, self.row, self.decision = db, row, decision
        self.setObjectName("decision_dialog")
        returning = decision == "returned"
        self.setWindowTitle(_("Return the report") if returning else _("Accept the report"))
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        what = QLabel(_("{office}: report {number} on {period}, received {time}.").format(
            office=row.sender_name, number=row.number or "—", period=period_title(row.period_key),
            time=format_datetime(row.received_at)))
        what.setWordWrap(True)
        lay.addWidget(what)
        hint = QLabel(_("Say what must be corrected. The note goes back to the office with the answer; the "
                        "office then sends a correction report.") if returning else
                      _("A note is not needed; if you write one, it goes back to the office with the answer."))
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #5f6368;")
        lay.addWidget(hint)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setObjectName("note")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setMinimumHeight(self.fontMetrics().lineSpacing() * 5 + 14)
        if row.note and row.state == decision:
            self.note_edit.setPlainText(row.note)
        lay.addWidget(QLabel(_("Note") + (" *" if returning else "")))
        lay.addWidget(self.note_edit, 1)
        self.error_label = ErrorLabel()
        self.error_label.setObjectName("error")
        lay.addWidget(self.error_label)
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton(_("Return the report") if returning else _("Accept the report"),
                                           QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("ok")
        buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.note_edit.setFocus()

    def save(self) -> bool:
        """Record the decision; a refusal (no note, decision already answered…) keeps the dialog open."""
        self.error_label.show_message("")
        try:
            from dbcomm.services import receipts  # signing and PDF libraries: loaded when used

            receipts.decide(self.db, self.row.id, self.decision, self.note_edit.toPlainText())
        except UserError as exc:
            self.error_label.show_message(str(exc))
            self.note_edit.setFocus()
            return False
        self.accept()
        return True


class ReceiptDialog(QDialog):
    """Write the answer (the signed receipt) for a decided report onto a USB stick.

    The office's certificate is chosen and its password or PIN typed (used once, never kept);
    the stick is chosen among the drives found, or another folder through the interaction seam
    (``usb_dialogs.choose_folder``); the drives are listed, and the answer signed and written,
    off the GUI thread.  ``written`` is the file written.
    """

    def __init__(self, db: Database, row: ReceivedRow, parent: QWidget | None = None):
        super().__init__(parent)
        self.db, self.row = db, row
        self.task: BackgroundTask | None = None
        self.drive_task: BackgroundTask | None = None
        self.written: Path | None = None
        self.setObjectName("receipt_dialog")
        self.setWindowTitle(_("Write the answer to USB"))
        self.setMinimumWidth(600)
        lay = QVBoxLayout(self)
        decision = _("accepted") if row.state == "accepted" else _("returned")
        text = QLabel(_("The answer tells {office} that its report on {period} was {decision}. It is signed "
                        "with the office's certificate and written onto the USB stick that goes back to "
                        "them.").format(office=row.sender_name, period=period_title(row.period_key),
                                        decision=decision))
        text.setWordWrap(True)
        lay.addWidget(text)
        form = QFormLayout()
        self.identity_combo = QComboBox()
        self.identity_combo.setObjectName("identity")
        from dbcomm.services import identities  # signing and PDF libraries: loaded when used

        self.identities: list[IdentityInfo] = identities.list_identities(db, "office")
        for ident in self.identities:
            label = f"{ident.label} — {ident.holder}"
            if ident.status() == "expired":
                label += " " + _("(expired)")
            self.identity_combo.addItem(label, ident.id)
        form.addRow(_("Office's certificate"), self.identity_combo)
        self.secret_edit = QLineEdit()
        self.secret_edit.setObjectName("secret")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_("Password or PIN"), self.secret_edit)
        hint = QLabel(_("The password or PIN is used for this signature only; it is never saved."))
        hint.setStyleSheet("color: #5f6368;")
        hint.setWordWrap(True)
        form.addRow("", hint)
        self.drive_combo = QComboBox()
        self.drive_combo.setObjectName("drive")
        self.drive_combo.setMinimumWidth(360)
        self.drive_combo.setPlaceholderText(_("Looking for USB sticks…"))
        where = QWidget()
        wl = QHBoxLayout(where)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addWidget(self.drive_combo, 1)
        self.look_button = QPushButton(_("Look again"))
        self.look_button.setObjectName("look_again")
        self.look_button.clicked.connect(self.refresh_drives)
        wl.addWidget(self.look_button)
        self.folder_button = QPushButton(_("Choose another folder…"))
        self.folder_button.setObjectName("choose_folder")
        self.folder_button.clicked.connect(self.choose_other_folder)
        wl.addWidget(self.folder_button)
        form.addRow(_("Where to write it:"), where)
        lay.addLayout(form)
        self.error_label = ErrorLabel()
        self.error_label.setObjectName("error")
        lay.addWidget(self.error_label)
        self.busy_label = QLabel(_("Signing and writing the answer…"))
        self.busy_label.setObjectName("busy")
        self.busy_label.hide()
        lay.addWidget(self.busy_label)
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton(_("Sign and write"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("write")
        self.ok_button.setDefault(True)
        buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.write)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        if not self.identities:
            self.error_label.show_message(_("No certificate is set up for the office yet: set one up in "
                                            "File → Signing certificates, then come back."))
            self.ok_button.setEnabled(False)
            self.secret_edit.setEnabled(False)
        self.refresh_drives()

    # --- where ------------------------------------------------------------------------------
    def refresh_drives(self) -> None:
        """List the drives (in the background: a slow network drive must not freeze the window)."""
        from dbcomm.ui.usb_dialogs import list_drives

        self.look_button.setEnabled(False)

        def listed(drives: list[Any]) -> None:
            chosen = self.folder()
            folders = [self.drive_combo.itemData(i) for i in range(self.drive_combo.count())]
            folders = [d for d in folders if d is not None and not d.removable and d.name == str(d.path)
                       and d.path not in {x.path for x in drives}]  # folders the person chose stay listed
            self.drive_combo.clear()
            for drive in [*drives, *folders]:
                self._add_drive(drive)
            if chosen is not None:
                self.drive_combo.setCurrentIndex(max(0, self._index_of(chosen)))
            self.drive_combo.setPlaceholderText(_("No USB stick found"))
            self.drive_combo.setToolTip(_("Plug in the USB stick and click “Look again”, or choose a folder."))
            self.look_button.setEnabled(True)

        def failed(message: str) -> None:
            self.look_button.setEnabled(True)
            self.error_label.show_message(message)

        self.drive_task = BackgroundTask(lambda _p, _c: list_drives(), listed, failed, owner=self)

    def _add_drive(self, drive: Any) -> None:
        from dbcomm.ui.usb_dialogs import drive_label

        self.drive_combo.addItem(drive_label(drive), drive)
        self.drive_combo.setItemData(self.drive_combo.count() - 1, str(drive.path), Qt.ItemDataRole.ToolTipRole)

    def _index_of(self, folder: Path) -> int:
        return next((i for i in range(self.drive_combo.count())
                     if getattr(self.drive_combo.itemData(i), "path", None) == folder), -1)

    def folder(self) -> Path | None:
        drive = self.drive_combo.currentData()
        return getattr(drive, "path", None)

    def choose_other_folder(self) -> None:
        from dbcomm.ui.usb_dialogs import choose_folder, describe_folder

        folder = choose_folder(self, _("Choose the USB stick or folder for the answer"))
        if folder is None:
            return
        index = self._index_of(Path(folder))
        if index < 0:
            self._add_drive(describe_folder(Path(folder)))
            index = self.drive_combo.count() - 1
        self.drive_combo.setCurrentIndex(index)

    # --- writing ----------------------------------------------------------------------------
    def write(self) -> None:
        index = self.identity_combo.currentIndex()
        if not 0 <= index < len(self.identities):
            return
        folder = self.folder()
        if folder is None:
            self.error_label.show_message(_("Choose where to write the answer: plug in the USB stick and "
                                            "click “Look again”, or choose a folder."))
            return
        secret = self.secret_edit.text()
        if not secret:
            self.error_label.show_message(_("Enter the password or PIN."))
            self.secret_edit.setFocus()
            return
        row = self.row
        db, received_id, identity_id = self.db, row.id, self.identities[index].id

        def work() -> Path:
            from dbcomm.services import (  # signing and PDF libraries: loaded when used
                identities,
                receipts,
            )

            key = identities.open_identity(db, identity_id, secret, now=datetime.now(UTC))
            try:
                return receipts.write_receipt(db, received_id, key, folder)
            finally:
                key.close()

        self.secret_edit.clear()  # not kept in the window either
        self.ok_button.setEnabled(False)
        self.error_label.show_message("")
        self.busy_label.show()

        def done(path: Path) -> None:
            self.busy_label.hide()
            self.written = path
            interaction.get().info(self, self.windowTitle(), _(
                "The answer was written to {path} and read back without error. You may now remove the "
                "USB stick and take it back to {office}.").format(path=path, office=row.sender_name))
            self.accept()

        def failed(message: str) -> None:
            self.busy_label.hide()
            self.ok_button.setEnabled(True)
            self.error_label.show_message(message)
            self.secret_edit.setFocus()

        self.task = BackgroundTask(lambda _progress, _cancelled: work(), done, failed, owner=self)

    def reject(self) -> None:
        if self.task is not None and self.task.running:
            return  # the answer is being written: wait for it
        super().reject()


# --- the tab ---------------------------------------------------------------------------------


class ReceivedView(QWidget):
    """The "Received reports" tab.  ``today`` fixes the day the grid is drawn for (tests)."""

    changed = Signal()  # a decision was recorded or an answer written

    def __init__(self, db: Database, plan_id: int, parent: QWidget | None = None, *, today: date | None = None):
        super().__init__(parent)
        self.db = db
        self.plan_id = plan_id
        self.fixed_today = today
        self.rows: list[ReceivedRow] = []
        self.dialog: QDialog | None = None  # the last dialog opened (tests look at it)
        self._due_days: int = completeness.DEFAULT_DUE_DAYS
        self._shared_rows: int | None = None  # the grid's row count when the height was last shared
        self.setObjectName("received_view")
        self._build()
        self._set_years()
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.reload_grid())
        self.year_spin.valueChanged.connect(lambda _v: self.reload_grid())

    def today(self) -> date:
        return self.fixed_today or date.today()

    # --- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel(_("Period kind")))
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("period_kind")
        for code, text in PERIOD_KINDS:
            self.kind_combo.addItem(_(text), code)
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(PeriodKind.QUARTER.value))
        top.addWidget(self.kind_combo)
        top.addSpacing(12)
        top.addWidget(QLabel(_("Year")))
        self.year_spin = QSpinBox()
        self.year_spin.setObjectName("year")
        self.year_spin.setRange(2000, 2100)
        top.addWidget(self.year_spin)
        top.addSpacing(24)
        top.addWidget(QLabel(_("Reports are due")))
        self.due_spin = QSpinBox()
        self.due_spin.setObjectName("due_days")
        self.due_spin.setRange(completeness.MIN_DUE_DAYS, completeness.MAX_DUE_DAYS)
        self.due_spin.setToolTip(_("How many days after the end of a period its report is due."))
        top.addWidget(self.due_spin)
        top.addWidget(QLabel(_("days after the period ends")))
        self.due_save = QPushButton(_("Save"))
        self.due_save.setObjectName("save_due_days")
        self.due_save.setEnabled(False)
        self.due_save.clicked.connect(self.save_due_days)
        self.due_spin.valueChanged.connect(lambda v: self.due_save.setEnabled(v != self._due_days))
        top.addWidget(self.due_save)
        top.addStretch(1)
        refresh = QPushButton(_("Refresh"))
        refresh.setObjectName("refresh")
        refresh.clicked.connect(self.reload)
        top.addWidget(refresh)

        self.grid_model = CompletenessModel(self)
        self.grid_view = QTableView()
        self.grid_view.setObjectName("completeness")
        self.grid_view.setModel(self.grid_model)
        self.grid_view.setItemDelegate(_CellDelegate(self.grid_view))
        self.grid_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid_view.setWordWrap(False)
        self.grid_view.setShowGrid(True)
        self.grid_view.setStyleSheet("QTableView { gridline-color: #ffffff; }")
        vh = self.grid_view.verticalHeader()
        vh.setDefaultSectionSize(self.fontMetrics().height() + 10)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.grid_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.grid_view.clicked.connect(self._cell_clicked)
        self.grid_note = QLabel()
        self.grid_note.setObjectName("grid_note")
        self.grid_note.setWordWrap(True)
        self.grid_note.setStyleSheet("color: #5f6368;")
        self.grid_error = ErrorLabel()
        self.grid_error.setObjectName("grid_error")
        upper = self.upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.setSpacing(2)
        ul.addLayout(top)
        ul.addWidget(self.grid_error)
        ul.addWidget(self.grid_view, 1)
        ul.addWidget(self.grid_note)

        list_bar = QHBoxLayout()
        title = QLabel(_("Reports received"))
        title.setStyleSheet("font-weight: bold;")
        list_bar.addWidget(title)
        list_bar.addSpacing(16)
        self.superseded_check = QCheckBox(_("Show earlier versions"))
        self.superseded_check.setObjectName("show_superseded")
        self.superseded_check.setToolTip(_("Also list the reports an office replaced by sending a newer "
                                           "version for the same period."))
        self.superseded_check.toggled.connect(lambda _on: self.reload_list())
        list_bar.addWidget(self.superseded_check)
        list_bar.addStretch(1)
        self.list_model = ReceivedModel(self)
        self.list_view = QTableView()
        self.list_view.setObjectName("received_list")
        self.list_view.setModel(self.list_model)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.setWordWrap(False)
        self.list_view.setAlternatingRowColors(True)
        self.list_view.verticalHeader().hide()
        self.list_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.list_view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.list_view.selectionModel().selectionChanged.connect(lambda *_a: self._update_buttons())
        self.list_view.doubleClicked.connect(lambda _i: self.open_selected())
        self.empty_label = QLabel(_("No report has been received yet. Reports arrive on USB sticks: "
                                    "import them from the File menu."))
        self.empty_label.setObjectName("empty")
        self.empty_label.setStyleSheet("color: #5f6368;")
        self.empty_label.setWordWrap(True)
        self.detail_label = QLabel()
        self.detail_label.setObjectName("detail")
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QHBoxLayout()
        self.open_button = QPushButton(_("Open…"))
        self.open_button.setObjectName("open")
        self.open_button.setToolTip(_("Show the signed report as it was received."))
        self.open_button.clicked.connect(self.open_selected)
        self.accept_button = QPushButton(_("Accept…"))
        self.accept_button.setObjectName("accept")
        self.accept_button.clicked.connect(lambda: self.decide_selected("accepted"))
        self.return_button = QPushButton(_("Return…"))
        self.return_button.setObjectName("return")
        self.return_button.clicked.connect(lambda: self.decide_selected("returned"))
        self.answer_button = QPushButton(_("Write the answer to USB…"))
        self.answer_button.setObjectName("write_answer")
        self.answer_button.clicked.connect(self.write_answer)
        for b in (self.open_button, self.accept_button, self.return_button, self.answer_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.setSpacing(4)
        ll.addLayout(list_bar)
        ll.addWidget(self.empty_label)
        ll.addWidget(self.list_view, 1)
        ll.addWidget(self.detail_label)
        ll.addLayout(buttons)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(upper)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.splitter, 1)
        self._update_buttons()

    # --- data -------------------------------------------------------------------------------
    def _set_years(self) -> None:
        plan = plans.get_tree(self.db, self.plan_id).plan
        self.year_spin.blockSignals(True)
        self.year_spin.setRange(min(plan.start_year, self.today().year), max(plan.end_year, plan.start_year))
        self.year_spin.setValue(max(self.year_spin.minimum(), min(self.year_spin.maximum(), self.today().year)))
        self.year_spin.blockSignals(False)

    def set_plan(self, plan_id: int) -> None:
        self.plan_id = plan_id
        self._set_years()
        if self.isVisible():
            self.reload()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        self.reload()  # reports may have been imported meanwhile: the queries are small
        super().showEvent(event)

    def _may(self, perm: Perm) -> bool:
        try:
            return auth.current(self.db).can(perm)
        except UserError:
            return True

    def reload(self) -> None:
        self._due_days = completeness.get_due_days(self.db)
        self.due_spin.blockSignals(True)
        self.due_spin.setValue(self._due_days)
        self.due_spin.blockSignals(False)
        self.due_save.setEnabled(False)
        self.due_spin.setEnabled(self._may(Perm.EDIT_SETTINGS))
        self.reload_grid()
        self.reload_list()

    def reload_grid(self) -> None:
        self.grid_error.show_message("")
        try:
            grid = completeness.completeness(self.db, self.plan_id, str(self.kind_combo.currentData()),
                                             self.year_spin.value(), today=self.today())
        except UserError as exc:
            self.grid_model.set_grid(None)
            self.grid_error.show_message(str(exc))
            return
        self.grid_model.set_grid(grid)
        self._size_grid()
        self._share_height()
        if not grid.columns:
            note = _("No period of {year} has begun yet.").format(year=grid.year)
        elif not grid.rows:
            note = _("No office is expected to report yet: offices appear here when the directory marks "
                     "them as in the area, or when their first report is imported.")
        else:
            note = _("A report is due {n} days after its period ends. Returned reports are not counted as "
                     "received. Click a cell to find its report below.").format(n=grid.due_days)
        self.grid_note.setText(note)

    def _size_grid(self) -> None:
        header = self.grid_view.horizontalHeader()
        metrics = QFontMetrics(_bold())
        model = self.grid_model
        present = {c.status for r in model.grid.rows for c in r.cells} if model.grid is not None else set()
        words = [cell_text(s) for s in present] or [cell_text("missing")]  # only the words shown
        need = max(metrics.horizontalAdvance(w) for w in words) + 24
        for c in range(model.columnCount()):
            title = str(model.headerData(c, Qt.Orientation.Horizontal) or "")
            width = max([need] + [QFontMetrics(header.font()).horizontalAdvance(line) + 20
                                  for line in title.split("\n")])
            header.resizeSection(c, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        names = [str(model.headerData(r, Qt.Orientation.Vertical) or "") for r in range(model.rowCount())]
        longest = max((metrics.horizontalAdvance(n) for n in names), default=200) + 24
        self.grid_view.verticalHeader().setFixedWidth(max(220, min(longest, 420)))

    def _share_height(self) -> None:
        """Give the grid the height of all its rows (the totals included), up to 60% of the tab;
        the list of reports takes the rest."""
        view = self.grid_view
        rows = self.grid_model.rowCount()
        if rows == self._shared_rows:
            return  # the same grid's height: keep where the person put the divider
        self._shared_rows = rows
        grid_height = (view.horizontalHeader().sizeHint().height() + rows * view.verticalHeader().defaultSectionSize()
                       + 2 * view.frameWidth() + 2)
        if view.horizontalHeader().length() + view.verticalHeader().width() > view.viewport().width() > 0:
            grid_height += view.horizontalScrollBar().sizeHint().height()
        others = self.upper.sizeHint().height() - view.sizeHint().height()
        total = self.splitter.height() or self.height()
        want = max(160, min(others + grid_height, int(total * 0.6)))
        self.splitter.setSizes([want, max(120, total - want)])

    def reload_list(self) -> None:
        selected = self.selected()
        self.rows = list_received(self.db, self._due_days, include_superseded=self.superseded_check.isChecked())
        self.list_model.set_rows(self.rows)
        self.empty_label.setVisible(not self.rows)
        header = self.list_view.horizontalHeader()
        self.list_view.resizeColumnsToContents()
        if header.sectionSize(0) > 340:
            header.resizeSection(0, 340)
        if selected is not None:
            self.select_report(selected.id)
        self._update_buttons()

    # --- selection --------------------------------------------------------------------------
    def selected(self) -> ReceivedRow | None:
        indexes = self.list_view.selectionModel().selectedRows()
        if not indexes:
            return None
        row = indexes[0].row()
        return self.list_model.rows[row] if 0 <= row < len(self.list_model.rows) else None

    def select_report(self, received_id: int) -> bool:
        row = self.list_model.row_of(received_id)
        if row < 0:
            return False
        index = self.list_model.index(row, 0)
        self.list_view.selectRow(row)
        self.list_view.scrollTo(index)
        return True

    def _cell_clicked(self, index: QModelIndex) -> None:
        report_id = index.data(REPORT_ROLE)
        if report_id is not None:
            self.select_report(int(report_id))

    def _update_buttons(self) -> None:
        r = self.selected()
        decide = self._may(Perm.APPROVE_PERIOD)
        export = self._may(Perm.EXPORT)
        self.open_button.setEnabled(r is not None)
        self.accept_button.setEnabled(r is not None and decide and r.state in ("received", "returned"))
        self.return_button.setEnabled(r is not None and decide and r.state in ("received", "accepted"))
        self.answer_button.setEnabled(r is not None and export and r.state in ("accepted", "returned"))
        no_right = _("Your role does not allow this.")
        self.accept_button.setToolTip(_("Accept the report; then write the answer for the office.")
                                      if decide else no_right)
        self.return_button.setToolTip(_("Send the report back for correction, with a note.") if decide else no_right)
        self.answer_button.setToolTip(_("Sign the answer (accepted or returned) and write it onto the USB "
                                        "stick that goes back to the office.") if export else no_right)
        self.detail_label.setText(self._details(r) if r is not None else "")
        self.detail_label.setVisible(r is not None)

    @staticmethod
    def _details(r: ReceivedRow) -> str:
        parts = [r.subject] if r.subject else []
        if r.signers:
            parts.append(_("Signed by {names}.").format(names=", ".join(r.signers.splitlines())))
        if r.state in ("accepted", "returned") and r.decided_at is not None:
            decided = _("{state} by {name} on {time}").format(
                state=_(STATE_WORDS[r.state]), name=r.decided_by, time=format_datetime(r.decided_at))
            parts.append(decided + (f": {r.note}" if r.note else "."))
        return " ".join(parts)

    # --- actions ----------------------------------------------------------------------------
    def open_selected(self) -> PdfPreviewDialog | None:
        """Show the signed PDF as it was received (read-only: no signing buttons)."""
        r = self.selected()
        if r is None:
            return None
        try:
            pdf = received_pdf(self.db, r.id)
            dialog = PdfPreviewDialog(self.db, pdf, info=None, parent=self)
        except UserError as exc:
            interaction.get().error(self, _("Open"), str(exc))
            return None
        dialog.setWindowTitle(_("{office} — {period}").format(office=r.sender_name,
                                                              period=period_title(r.period_key)))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog

    def decide_selected(self, decision: str) -> bool:
        r = self.selected()
        if r is None:
            return False
        dialog = DecisionDialog(self.db, r, decision, self)
        self.dialog = dialog
        done = dialog.exec() == QDialog.DialogCode.Accepted
        if done:
            self.reload()
            self.select_report(r.id)
            self.changed.emit()
        return done

    def write_answer(self) -> ReceiptDialog | None:
        r = self.selected()
        if r is None:
            return None
        dialog = ReceiptDialog(self.db, r, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._answer_written)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _answer_written(self) -> None:
        self.reload()
        self.changed.emit()

    def save_due_days(self) -> None:
        try:
            completeness.set_due_days(self.db, self.due_spin.value())
        except UserError as exc:
            interaction.get().error(self, _("Reports are due"), str(exc))
            return
        self.reload()


__all__ = ["CompletenessModel", "DecisionDialog", "ReceiptDialog", "ReceivedModel", "ReceivedRow", "ReceivedView",
           "cell_text", "list_received", "period_title", "received_pdf"]
