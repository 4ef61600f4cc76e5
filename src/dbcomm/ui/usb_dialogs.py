"""Reports, receipts and plan updates on a USB stick: send a report, import what a stick holds.

- ``removable_drives()`` / ``list_drives()``: the mounted volumes a person is likely to mean
  (USB sticks first, then other writable volumes);
- ``SendDialog``: write an issued report's package onto a stick (opened from the report
  preview's "Send to USB…" button);
- ``ImportDialog``: look at the packages on a stick or in a folder (reports, receipts, plan
  updates), see what each is, preview a report's import, import it, apply a receipt or a plan
  update (File → Import from USB…);
- ``ImportPreviewDialog``: the dry run of a report package, and its Import button.

Every step that touches files, packages or the database runs off the GUI thread
(``ui/tasks.BackgroundTask``); the services decide everything, this module only shows it.
"""

from __future__ import annotations

import contextlib
import html
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStorageInfo, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import Perm
from dbcomm.domain.text import vi_sort_key
from dbcomm.errors import UserError
from dbcomm.i18n import N_, _, format_date, format_datetime, format_number, ngettext
from dbcomm.services import (
    exchange_data,
    package_files,
    packages,
    plan_packages,
    receipts,
    reports,
    signing,
)
from dbcomm.services.package_files import PackageError
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.tasks import BackgroundTask, IsCancelled, Progress
from dbcomm.ui.widgets import may as _may
from dbcomm.ui.widgets import message_label as _message_label
from dbcomm.ui.widgets import say as _say

OK_COLOUR = "#1b5e20"
BAD_COLOUR = "#b00020"
NOTE_COLOUR = "#6b4e00"
MUTED_COLOUR = "#80868b"
LIST_LIMIT = 300  # titles listed per group in the dry run; the counts are always complete

# --- drives ------------------------------------------------------------------------------------

# File systems that are never a place to put a file for another office.
_PSEUDO_FS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
    "efivarfs", "fusectl", "fuse.gvfsd-fuse", "fuse.portal", "hugetlbfs", "mqueue", "nsfs", "overlay",
    "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "squashfs", "sysfs", "tmpfs", "tracefs",
})
_SYSTEM_PREFIXES = ("/boot", "/dev", "/proc", "/run", "/snap", "/sys", "/tmp", "/var", "/etc", "/usr")
_REMOVABLE_PREFIXES = ("/media/", "/run/media/", "/mnt/", "/Volumes/")
DRIVE_REMOVABLE = 2  # GetDriveTypeW


@dataclass(frozen=True)
class Drive:
    """A place to write to or read from: a mounted volume or a folder the person chose."""

    path: Path
    name: str
    free_bytes: int  # -1 when unknown
    removable: bool


def _windows_removable(root: str) -> bool:
    try:
        import ctypes

        windll = ctypes.windll  # type: ignore[attr-defined]
        return bool(windll.kernel32.GetDriveTypeW(root.replace("/", "\\")) == DRIVE_REMOVABLE)
    except (AttributeError, OSError, ValueError):
        return False


def _is_removable(root: str) -> bool:
    if sys.platform == "win32":
        return _windows_removable(root)
    return any(root.startswith(prefix) for prefix in _REMOVABLE_PREFIXES)


def _system_roots() -> set[str]:
    roots = {"/"}
    with contextlib.suppress(RuntimeError):
        roots.add(QStorageInfo.root().rootPath())
    if sys.platform == "win32":
        drive = os.environ.get("SYSTEMDRIVE", "C:")  # Windows names are case-blind
        roots.update({drive + "/", drive + "\\", drive.upper() + "/"})
    return roots


def _fs_type(volume: QStorageInfo) -> str:
    try:
        return bytes(volume.fileSystemType().data()).decode("ascii", "replace").lower()
    except (AttributeError, TypeError, ValueError):
        return ""


def _is_folder(root: str) -> bool:
    try:
        return Path(root).is_dir()
    except OSError:
        return False


def list_drives() -> list[Drive]:
    """Mounted, ready, writable volumes: likely USB sticks first (by name), then the others.

    Never raises: a computer without any gives an empty list.
    """
    try:
        volumes = QStorageInfo.mountedVolumes()
    except RuntimeError:
        return []
    system = _system_roots()
    removable: list[Drive] = []
    other: list[Drive] = []
    seen: set[str] = set()
    for volume in volumes:
        try:
            if not volume.isValid() or not volume.isReady() or volume.isReadOnly():
                continue
            root = volume.rootPath()
            if not root or root in system or root in seen or _fs_type(volume) in _PSEUDO_FS:
                continue
            is_usb = _is_removable(root)
            if not is_usb and sys.platform != "win32" and root.startswith(_SYSTEM_PREFIXES):
                continue
            if not _is_folder(root):  # a file bind-mounted into a container, say
                continue
            seen.add(root)
            name = volume.displayName() or volume.name() or root
            drive = Drive(Path(root), name, int(volume.bytesAvailable()), is_usb)
        except (OSError, RuntimeError, ValueError):
            continue
        (removable if is_usb else other).append(drive)
    removable.sort(key=lambda d: d.name.casefold())
    return removable + other


def removable_drives() -> list[Path]:
    """The mounted volumes likely to be USB sticks first, then other writable volumes."""
    return [d.path for d in list_drives()]


def describe_folder(path: Path) -> Drive:
    """A folder the person chose, with the free space of the volume it is on."""
    path = Path(path)
    try:
        volume = QStorageInfo(str(path))
        free = int(volume.bytesAvailable()) if volume.isValid() else -1
        removable = _is_removable(volume.rootPath()) if volume.isValid() else False
    except (OSError, RuntimeError, ValueError):
        free, removable = -1, False
    return Drive(path, str(path), free, removable)


def free_space_text(free_bytes: int) -> str:
    if free_bytes < 0:
        return ""
    gb = Decimal(free_bytes) / Decimal(1024 ** 3)
    if gb >= 1:
        return _("{size} GB free").format(size=format_number(gb.quantize(Decimal("0.1"))))
    mb = free_bytes // (1024 * 1024)
    return _("{size} MB free").format(size=format_number(mb))


def drive_label(drive: Drive) -> str:
    """``USB stick KINGSTON (/media/an/KINGSTON) — 14,2 GB free``."""
    where = str(drive.path)
    text = drive.name if drive.name == where else f"{drive.name} ({where})"
    if drive.removable:
        text = _("USB stick {name}").format(name=text)
    free = free_space_text(drive.free_bytes)
    return f"{text} — {free}" if free else text


def choose_folder(parent: QWidget | None, title: str) -> Path | None:
    """A folder chooser, through the interaction seam (tests answer it)."""
    return interaction.get().choose_folder(parent, title)


# --- small shared pieces -----------------------------------------------------------------------


def _busy_bar(name: str) -> QProgressBar:
    bar = QProgressBar()
    bar.setObjectName(name)
    bar.setRange(0, 0)  # moving: the work has no steps to count
    bar.setTextVisible(False)
    bar.setMaximumHeight(10)
    bar.hide()
    return bar


def _run(owner: QWidget, fn: Callable[[Progress, IsCancelled], Any], done: Callable[[Any], None],
         failed: Callable[[str], None]) -> BackgroundTask:
    return BackgroundTask(fn, done, failed, owner=owner)


# --- sending -----------------------------------------------------------------------------------


class SendDialog(QDialog):
    """Write an issued report's package onto a USB stick (or into a folder).

    Emits ``sent(info)`` with the report's ``ReportInfo`` after the package was written and
    read back (the report is then "sent").
    """

    sent = Signal(object)

    def __init__(self, db: Database, report_info: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.info = report_info
        self.task: BackgroundTask | None = None
        self.file_name = ""
        self.written: Path | None = None
        self.setObjectName("send_usb")
        self.setWindowTitle(_("Send to USB — {period}").format(period=report_info.period_key))
        self.setMinimumWidth(560)
        self._build()
        self.refresh_drives()

    def _build(self) -> None:
        info = self.info
        number = info.number or "—"
        self.intro = QLabel(_(
            "The report of {period} (number {number}), signed and sealed, is written to the USB stick as one "
            "package file, with the period's data inside. Give the stick to the receiving office: it imports "
            "the file with File → Import from USB.").format(period=info.period_key, number=number))
        self.intro.setObjectName("intro")
        self.intro.setWordWrap(True)
        self.again_note = QLabel(_("This report was sent before; writing it again makes another copy of the "
                                   "same signed file."))
        self.again_note.setObjectName("again_note")
        self.again_note.setWordWrap(True)
        self.again_note.setStyleSheet(f"color: {NOTE_COLOUR};")
        self.again_note.setVisible(info.state != "issued")
        self.file_label = QLabel()
        self.file_label.setObjectName("file_name")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        where = QLabel(_("Where to write it:"))
        self.drives = QListWidget()
        self.drives.setObjectName("drives")
        self.drives.setMinimumHeight(120)
        self.drives.itemDoubleClicked.connect(lambda _item: self.write())
        self.drives.currentItemChanged.connect(lambda *_a: self._update_buttons())
        self.no_drive = QLabel(_("No USB stick was found. Plug one in and click “Look again”, or choose a "
                                 "folder."))
        self.no_drive.setObjectName("no_drive")
        self.no_drive.setWordWrap(True)
        self.no_drive.setStyleSheet(f"color: {NOTE_COLOUR};")
        self.no_drive.hide()
        self.look_button = QPushButton(_("Look again"))
        self.look_button.setObjectName("look_again")
        self.look_button.clicked.connect(self.refresh_drives)
        self.folder_button = QPushButton(_("Choose another folder…"))
        self.folder_button.setObjectName("choose_folder")
        self.folder_button.clicked.connect(self.choose_other_folder)
        row = QHBoxLayout()
        row.addWidget(self.look_button)
        row.addWidget(self.folder_button)
        row.addStretch(1)

        self.busy = _busy_bar("busy")
        self.status = _message_label("status")

        self.write_button = QPushButton(_("Write"))
        self.write_button.setObjectName("write")
        self.write_button.setDefault(True)
        self.write_button.clicked.connect(self.write)
        self.close_button = QPushButton(_("Close"))
        self.close_button.setObjectName("close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.write_button)
        buttons.addWidget(self.close_button)

        lay = QVBoxLayout(self)
        lay.addWidget(self.intro)
        lay.addWidget(self.again_note)
        lay.addWidget(self.file_label)
        lay.addSpacing(6)
        lay.addWidget(where)
        lay.addWidget(self.drives, 1)
        lay.addWidget(self.no_drive)
        lay.addLayout(row)
        lay.addWidget(self.busy)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self._update_buttons()

    # --- where --------------------------------------------------------------------------------
    def refresh_drives(self) -> None:
        """List the drives again (in the background: a slow network drive must not freeze)."""
        report_id = self.info.id
        self.look_button.setEnabled(False)

        def work(_progress: Progress, _cancelled: IsCancelled) -> tuple[list[Drive], str]:
            return list_drives(), packages.suggested_name(self.db, report_id)

        self.task = _run(self, work, self._drives_listed, self._failed)

    def _drives_listed(self, result: tuple[list[Drive], str]) -> None:
        drives, name = result
        self.file_name = name
        self.file_label.setText(_("File: {name}").format(name=name))
        chosen = self.chosen_folder()
        extra = [self.drives.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.drives.count())]
        extra = [d for d in extra if d is not None and d.path not in {x.path for x in drives}
                 and d.name == str(d.path)]  # folders the person chose stay listed
        self.drives.clear()
        for drive in [*drives, *extra]:
            self._add_drive(drive)
        self.no_drive.setVisible(not any(d.removable for d in drives))
        wanted = next((i for i in range(self.drives.count())
                       if self.drives.item(i).data(Qt.ItemDataRole.UserRole).path == chosen), 0)
        if self.drives.count():
            self.drives.setCurrentRow(wanted)
        self.look_button.setEnabled(True)
        self._update_buttons()

    def _add_drive(self, drive: Drive) -> QListWidgetItem:
        item = QListWidgetItem(drive_label(drive))
        item.setData(Qt.ItemDataRole.UserRole, drive)
        item.setToolTip(str(drive.path))
        if drive.removable:
            font = item.font()
            font.setBold(True)
            item.setFont(font)
        self.drives.addItem(item)
        return item

    def choose_other_folder(self) -> None:
        folder = choose_folder(self, _("Choose the folder to write the package to"))
        if folder is None:
            return

        def work(_progress: Progress, _cancelled: IsCancelled) -> Drive:
            return describe_folder(folder)

        def add(drive: Drive) -> None:
            for i in range(self.drives.count()):
                if self.drives.item(i).data(Qt.ItemDataRole.UserRole).path == drive.path:
                    self.drives.setCurrentRow(i)
                    return
            self.drives.setCurrentItem(self._add_drive(drive))
            self._update_buttons()

        self.task = _run(self, work, add, self._failed)

    def chosen_folder(self) -> Path | None:
        item = self.drives.currentItem()
        drive = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return drive.path if drive is not None else None

    # --- writing ------------------------------------------------------------------------------
    @property
    def working(self) -> bool:
        return self.task is not None and self.task.running

    def _update_buttons(self) -> None:
        busy = self.working
        self.write_button.setEnabled(not busy and self.chosen_folder() is not None and self.written is None)
        self.close_button.setEnabled(not busy or self.written is not None)
        self.drives.setEnabled(not busy)
        self.folder_button.setEnabled(not busy)

    def write(self) -> None:
        folder = self.chosen_folder()
        if folder is None or self.working or self.written is not None:
            return
        report_id = self.info.id

        def work(_progress: Progress, _cancelled: IsCancelled) -> tuple[Path, Any]:
            path = packages.send(self.db, report_id, folder)
            return path, reports.get_report(self.db, report_id).info

        _say(self.status, _("Writing {file} to {folder}, then reading it back to check it…").format(
            file=self.file_name or _("the package"), folder=folder))
        self.busy.show()
        self.task = _run(self, work, self._written, self._failed)
        self._update_buttons()
        self.close_button.setEnabled(False)

    def _written(self, result: tuple[Path, Any]) -> None:
        path, info = result
        self.busy.hide()
        self.written = path
        self.info = info
        _say(self.status, _("Written: {file}\nin {folder}.\nThe file was read back from the stick and it is "
                            "complete. You can now remove the stick safely.").format(
            file=path.name, folder=path.parent), OK_COLOUR, bold=True)
        self.write_button.setEnabled(False)
        self.close_button.setText(_("Done"))
        self.close_button.setDefault(True)
        self._update_buttons()
        self.sent.emit(info)

    def _failed(self, message: str) -> None:
        self.busy.hide()
        self.look_button.setEnabled(True)
        _say(self.status, message, BAD_COLOUR)
        self._update_buttons()

    def reject(self) -> None:
        if self.working and self.written is None and not self.close_button.isEnabled():
            return  # the package is being written: closing now would hide whether it worked
        super().reject()


# --- what is on a stick ------------------------------------------------------------------------

KINDS = ("report", "receipt", "plan")
TABLE_COLUMNS = (N_("File"), N_("Kind"), N_("Sender"), N_("Period"), N_("Number / date"), N_("Signatures"),
                 N_("Status"))
STATUS_COLUMN = len(TABLE_COLUMNS) - 1
_MEMBERS = ((packages.PDF_MEMBER, "report"), (receipts.MEMBER, "receipt"), (plan_packages.MEMBER, "plan"))


@dataclass
class Found:
    """One package file and what the services say about it."""

    path: Path
    kind: str  # report | receipt | plan | "" (not readable as a package)
    status: str  # new | already | newer | older | invalid
    problem: str = ""  # why it cannot be used (translated)
    info: Any = None  # packages.PackageInfo | receipts.ReceiptInfo | plan_packages.PlanPackageInfo

    @property
    def actionable(self) -> bool:
        return self.status in ("new", "newer")


def package_kind(path: Path) -> tuple[str, str]:
    """``(kind, "")`` from the manifest, or ``("", reason)`` for a file that is not a package."""
    first: PackageError | None = None
    for member, kind in _MEMBERS:
        try:
            raw = package_files.read(path, (member,))
        except PackageError as exc:
            if exc.code == "members":
                first = first or exc
                continue
            return "", str(exc)
        declared = raw.manifest.get("kind")
        return (declared if declared in KINDS else kind), ""
    return "", str(first) if first is not None else _("{file} is not a dbcomm package.").format(file=path.name)


def examine(db: Database, path: Path) -> Found:
    """What a package file is, asked of the service of its kind.  Never raises."""
    path = Path(path)
    try:
        kind, reason = package_kind(path)
        if not kind:
            return Found(path, "", "invalid", reason)
        if kind == "report":
            info: Any = packages.inspect(db, path)
            return Found(path, kind, info.status, info.problem, info)
        if kind == "receipt":
            info = receipts.inspect_receipt(db, path)
            return Found(path, kind, info.status, info.problem, info)
        info = plan_packages.inspect_plan_package(db, path)
        return Found(path, kind, info.status, info.problem, info)
    except Exception as exc:  # noqa: BLE001 - a bad file is shown as refused, never a crash
        return Found(path, "", "invalid", _("{file} could not be read: {reason}").format(file=path.name, reason=exc))


def scan(db: Database, folder: Path, progress: Progress | None = None,
         cancelled: IsCancelled | None = None) -> list[Found]:
    """Every package in ``folder`` (and its first level of sub-folders), examined."""
    paths = package_files.find(folder)
    found: list[Found] = []
    for i, path in enumerate(paths):
        if cancelled is not None and cancelled():
            break
        if progress is not None:
            progress(i, len(paths))
        found.append(examine(db, path))
    if progress is not None:
        progress(len(paths), len(paths))
    rank = {"new": 0, "newer": 0, "already": 1, "older": 2, "invalid": 3}
    return sorted(found, key=lambda f: rank.get(f.status, 3))  # stable: newest first in each group


def activity_titles(path: Path) -> dict[str, str]:
    """``uuid → "05/08/2026 — title"`` of the activities a report package carries, by date then
    title in Vietnamese order ({} if unreadable)."""
    try:
        raw = package_files.read(path, (packages.PDF_MEMBER,))
        data = signing.attachments_of(raw.members[packages.PDF_MEMBER]).get(exchange_data.DATA_FILE)
        if data is None:
            return {}
        parsed = exchange_data.parse(data)
    except Exception:  # noqa: BLE001 - the titles only help to read the list; the counts stand
        return {}
    ordered = sorted(parsed.activities, key=lambda a: (a.date_start, vi_sort_key(a.title)))
    return {a.uuid: f"{format_date(a.date_start)} — {a.title}" for a in ordered}


# --- how a package is shown ---------------------------------------------------------------------


def _kind_text(found: Found) -> str:
    if found.kind == "report":
        return _("Report")
    if found.kind == "receipt":
        receipt = found.info.receipt if found.info is not None else None
        if receipt is not None:
            return _("Receipt: accepted") if receipt.decision == "accepted" else _("Receipt: returned")
        return _("Receipt")
    if found.kind == "plan":
        return _("Plan update")
    return _("Not a package")


def _verdict_text(verdict: str) -> str:
    return {
        "valid": "✓ " + _("Valid"),
        "untrusted": "✗ " + _("Not from a trusted authority"),
        "modified": "✗ " + _("Changed after signing"),
        "invalid": "✗ " + _("Invalid"),
        "unsigned": "✗ " + _("Not signed"),
    }.get(verdict, "—")


def _period_text(key: str, start: date | None, end: date | None) -> str:
    if not key:
        return "—"
    if start and end:
        return f"{key} ({format_date(start)} – {format_date(end)})"
    return key


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _local_date(moment: datetime | None) -> str:
    return format_datetime(moment)[:10] if moment is not None else ""


@dataclass(frozen=True)
class RowText:
    file: str
    kind: str
    sender: str
    period: str
    number: str
    signatures: str
    status: str


def row_text(found: Found) -> RowText:
    """The words of a package's row in the import table."""
    status = found.status
    reason = found.problem.replace(found.path.name, _("this file"))  # the file has its own column
    invalid = _("Invalid: {reason}").format(reason=_short(reason, 80)) if reason else _("Invalid")
    info = found.info
    name = found.path.name
    if found.kind == "report" and info is not None:
        status_word = {"new": _("New"), "already": _("Already imported"), "newer": _("Newer version"),
                       "older": _("Older version — not imported")}.get(status, invalid)
        number = " · ".join(x for x in (info.number, format_date(info.doc_date)) if x) or "—"
        return RowText(name, _kind_text(found), info.sender_name or "—",
                       info.period_key or "—", number,
                       _verdict_text(info.verdict), status_word)
    if found.kind == "receipt" and info is not None:
        r = info.receipt
        status_word = {"new": _("Not applied yet"), "already": _("Applied already")}.get(status, invalid)
        verdict = {"untrusted": "untrusted", "signature": "invalid", "unsigned": "unsigned"}.get(info.code, "")
        signatures = _verdict_text("valid") if status in ("new", "already") else _verdict_text(verdict)
        if r is None:
            return RowText(name, _kind_text(found), "—", "—", "—", signatures, status_word)
        number = " · ".join(x for x in (r.number, _local_date(r.decided_at)) if x) or "—"
        return RowText(name, _kind_text(found), r.receiver_name or "—", r.period_key or "—", number, signatures,
                       status_word)
    if found.kind == "plan" and info is not None:
        status_word = {"new": _("New revision"), "already": _("Already imported"),
                       "older": _("Older revision — not imported")}.get(status, invalid)
        number = _("{code}, revision {revision}").format(code=info.plan_code, revision=info.revision) \
            if info.plan_code else "—"
        return RowText(name, _kind_text(found), info.sender_name or "—", "—", number, _("— (not signed)"), status_word)
    return RowText(name, _kind_text(found), "—", "—", "—", "—", invalid)


def _p(text: str, colour: str | None = None, bold: bool = False) -> str:
    style = (f"color:{colour};" if colour else "") + ("font-weight:bold;" if bold else "")
    body = html.escape(text).replace("\n", "<br>")
    return f'<p style="{style}">{body}</p>' if style else f"<p>{body}</p>"


def details_html(found: Found) -> str:
    """Everything known about a package, for the details area under the table."""
    out = [_p(_("File: {path}").format(path=found.path))]
    info = found.info
    if found.kind == "report" and info is not None and info.sender_name:
        out.append(_p(_("Report of {office} for {period}, number {number} of {date}: {n} activities.").format(
            office=info.sender_name, period=_period_text(info.period_key, info.date_from, info.date_to),
            number=info.number or "—", date=format_date(info.doc_date) or "—",
            n=format_number(info.activity_count)), bold=True))
        if info.subject:
            out.append(_p(_("Subject: {subject}").format(subject=info.subject)))
        if info.signers:
            out.append(_p(_("Signed by: {names}.").format(names="; ".join(info.signers))))
    elif found.kind == "receipt" and info is not None and info.receipt is not None:
        r = info.receipt
        decision = _("accepted") if r.decision == "accepted" else _("returned")
        out.append(_p(_("Answer of {office} to the report of period {period} (number {number}): {decision}.").format(
            office=r.receiver_name, period=r.period_key, number=r.number or "—", decision=decision), bold=True))
        out.append(_p(_("Decided on {time} by {name}.").format(time=format_datetime(r.decided_at),
                                                              name=r.decided_by or r.receiver_name)))
        if r.note:
            out.append(_p(_("Note: {note}").format(note=r.note), BAD_COLOUR if r.decision == "returned" else None))
        if info.signer:
            out.append(_p(_("Signed by: {names}.").format(names=info.signer)))
    elif found.kind == "plan" and info is not None and info.plan_code:
        out.append(_p(_("Plan {code} — {title}, revision {revision}.").format(
            code=info.plan_code, title=info.plan_title, revision=info.revision), bold=True))
        here = (_("This office has revision {n}.").format(n=info.last_revision) if info.last_revision
                else _("No revision of it was imported here yet."))
        change = _("Importing it updates this office's plan.") if info.exists_here else _(
            "This office does not have this plan: importing it adds it.")
        out.append(_p(f"{here} {change}"))
        if info.sender_name:
            out.append(_p(_("From: {office}.").format(office=info.sender_name)))
        out.append(_p(_("Plan updates are not signed: import them only from the stick the province gave you."),
                      NOTE_COLOUR))
    status = found.status
    said: list[str] = []  # what it means for the person: shown right under the heading
    if status == "invalid":
        said.append(_p(_("Why it cannot be used:"), BAD_COLOUR, bold=True))
        said.append(_p(found.problem or _("It is not a dbcomm package."), BAD_COLOUR))
    elif status == "already":
        said.append(_p(_("Nothing to do: this was imported or applied here already."), OK_COLOUR, bold=True))
    elif status == "older":
        said.append(_p(found.problem, BAD_COLOUR))
    elif found.kind == "report":
        if status == "newer":
            said.append(_p(_("It is a newer version (a correction) of a report imported before: importing it "
                            "replaces the earlier one.")))
        said.append(_p(_("Click “Preview import…” to see what importing it would change."), OK_COLOUR))
    elif found.kind == "receipt":
        said.append(_p(_("Click “Apply receipt” to record the decision on your report."), OK_COLOUR))
    elif found.kind == "plan":
        said.append(_p(_("Click “Import plan update” to bring this office's plan up to date."), OK_COLOUR))
    at = min(2, len(out))
    out[at:at] = said
    return "".join(out)


# --- importing -----------------------------------------------------------------------------------


class _MiddleElided(QStyledItemDelegate):
    def initStyleOption(self, option: QStyleOptionViewItem, index: Any) -> None:  # noqa: N802 - Qt's name
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class ImportDialog(QDialog):
    """The packages on a stick or in a folder, each examined, and what can be done with each.

    Emits ``changed()`` after something was imported or applied.
    """

    changed = Signal()

    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.folder: Path | None = None
        self.found: list[Found] = []
        self.task: BackgroundTask | None = None
        self.action_task: BackgroundTask | None = None
        self.preview_dialog: ImportPreviewDialog | None = None
        self.setObjectName("usb_import")
        self.setWindowTitle(_("Import from USB"))
        self.setSizeGripEnabled(True)
        self.resize(1040, 640)
        self._build()
        self.refresh_drives()

    def _build(self) -> None:
        intro = QLabel(_("Plug in the USB stick, choose it (or a folder), and dbcomm lists the reports, "
                         "receipts and plan updates on it. Nothing changes until you import or apply one."))
        intro.setWordWrap(True)
        self.drives = QListWidget()
        self.drives.setObjectName("drives")
        self.drives.setMaximumHeight(96)
        self.drives.itemClicked.connect(lambda item: self._drive_chosen(item))
        self.drives.itemActivated.connect(lambda item: self._drive_chosen(item))
        self.look_button = QPushButton(_("Look again"))
        self.look_button.setObjectName("look_again")
        self.look_button.clicked.connect(self.look_again)
        self.folder_button = QPushButton(_("Choose another folder…"))
        self.folder_button.setObjectName("choose_folder")
        self.folder_button.clicked.connect(self.choose_other_folder)
        side = QVBoxLayout()
        side.addWidget(self.look_button)
        side.addWidget(self.folder_button)
        side.addStretch(1)
        where = QHBoxLayout()
        where.addWidget(self.drives, 1)
        where.addLayout(side)

        self.where_label = QLabel()
        self.where_label.setObjectName("where")
        self.where_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setMaximumHeight(14)
        self.progress.hide()

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setObjectName("packages")
        self.table.setHorizontalHeaderLabels([_(c) for c in TABLE_COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setItemDelegateForColumn(0, _MiddleElided(self.table))  # file names differ at their end
        header = self.table.horizontalHeader()
        fit, free = QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Interactive
        for col, mode in enumerate((free, fit, free, fit, fit, free, QHeaderView.ResizeMode.Stretch)):
            header.setSectionResizeMode(col, mode)
        self.table.setColumnWidth(0, 230)
        self.table.setColumnWidth(2, 220)
        self.table.setColumnWidth(5, 110)  # the verdict is short; the status (and its reason) gets the room
        self.table.currentCellChanged.connect(lambda *_a: self._show_selected())
        self.empty_label = QLabel()
        self.empty_label.setObjectName("empty")
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()

        self.details = QTextBrowser()
        self.details.setObjectName("details")
        self.details.setOpenLinks(False)
        self.details.setMinimumHeight(150)
        self.details.setFrameShape(QFrame.Shape.StyledPanel)

        self.busy = _busy_bar("busy")
        self.result_label = _message_label("result")

        self.preview_button = QPushButton(_("Preview import…"))
        self.preview_button.setObjectName("preview_import")
        self.preview_button.clicked.connect(self.preview_import)
        self.apply_button = QPushButton(_("Apply receipt"))
        self.apply_button.setObjectName("apply")
        self.apply_button.clicked.connect(self.apply_selected)
        self.close_button = QPushButton(_("Close"))
        self.close_button.setObjectName("close")
        self.close_button.clicked.connect(self.reject)
        self.import_all_button = QPushButton(_("Import all new reports"))
        self.import_all_button.setObjectName("import_all")
        self.import_all_button.setToolTip(_("Import every new report (and newer version) on the stick, one after "
                                            "the other; each is checked again and written on its own."))
        self.import_all_button.clicked.connect(self.import_all)
        self.import_all_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.import_all_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(where)
        lay.addWidget(self.where_label)
        lay.addWidget(self.progress)
        lay.addWidget(self.table, 3)
        lay.addWidget(self.empty_label)
        lay.addWidget(self.details, 2)
        lay.addWidget(self.busy)
        lay.addWidget(self.result_label)
        lay.addLayout(buttons)
        self._show_selected()

    # --- where --------------------------------------------------------------------------------
    def refresh_drives(self) -> None:
        self.look_button.setEnabled(False)

        def work(_progress: Progress, _cancelled: IsCancelled) -> list[Drive]:
            return list_drives()

        self.drive_task = _run(self, work, self._drives_listed, self._failed)

    def _drives_listed(self, drives: list[Drive]) -> None:
        self.look_button.setEnabled(True)
        self.drives.clear()
        for drive in drives:
            item = QListWidgetItem(drive_label(drive))
            item.setData(Qt.ItemDataRole.UserRole, drive)
            item.setToolTip(str(drive.path))
            if drive.removable:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.drives.addItem(item)
        if self.folder is None:
            first_usb = next((i for i, d in enumerate(drives) if d.removable), None)
            if first_usb is not None:  # one stick plugged in: look at it at once
                self.drives.setCurrentRow(first_usb)
                self.scan_folder(drives[first_usb].path)
            else:
                _say(self.where_label, _("No USB stick was found. Plug one in and click “Look again”, or "
                                         "choose a folder."), NOTE_COLOUR)

    def _drive_chosen(self, item: QListWidgetItem) -> None:
        drive = item.data(Qt.ItemDataRole.UserRole)
        if drive is not None:
            self.scan_folder(drive.path)

    def look_again(self) -> None:
        self.refresh_drives()
        if self.folder is not None:
            self.scan_folder(self.folder)

    def choose_other_folder(self) -> None:
        folder = choose_folder(self, _("Choose the folder that holds the packages"))
        if folder is not None:
            self.drives.clearSelection()
            self.scan_folder(folder)

    # --- looking ------------------------------------------------------------------------------
    @property
    def scanning(self) -> bool:
        return self.task is not None and self.task.running

    def scan_folder(self, folder: Path, keep_result: bool = False) -> None:
        """Find and examine the packages in ``folder``, in the background (``keep_result``: the
        message of what was just done stays)."""
        if self.task is not None and self.task.running:
            self.task.cancel()
        self.folder = Path(folder)
        self.found = []
        self.table.setRowCount(0)
        self.empty_label.hide()
        if not keep_result:
            _say(self.result_label, "")
        _say(self.where_label, _("Looking in {folder}…").format(folder=self.folder))
        self.progress.setRange(0, 0)
        self.progress.show()
        self._show_selected()
        folder_now = self.folder
        task: BackgroundTask | None = None

        def work(progress: Progress, cancelled: IsCancelled) -> list[Found]:
            return scan(self.db, folder_now, progress, cancelled)

        def done(found: list[Found]) -> None:
            if self.task is task:
                self._listed(folder_now, found)

        def failed(message: str) -> None:
            if self.task is task:
                self.progress.hide()
                _say(self.where_label, message, BAD_COLOUR)

        task = _ScanTask(work, done, failed, self)
        self.task = task

    def _scan_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            _say(self.where_label, _("Checking the packages in {folder}: {done} of {total}…").format(
                folder=self.folder, done=format_number(done), total=format_number(total)))

    def _listed(self, folder: Path, found: list[Found]) -> None:
        self.progress.hide()
        self.found = found
        self.table.setRowCount(len(found))
        for row, item in enumerate(found):
            self._fill_row(row, item)
        ready = sum(1 for f in found if f.actionable)
        self.import_all_button.setEnabled(
            _may(self.db, Perm.IMPORT) and any(f.actionable and f.kind == "report" for f in found))
        if found:
            _say(self.where_label, ngettext("{n} package in {folder}", "{n} packages in {folder}", len(found)).format(
                n=format_number(len(found)), folder=folder) + " — " + _("{n} to import or apply.").format(
                n=format_number(ready)))
            first = next((i for i, f in enumerate(found) if f.actionable), 0)
            self.table.setCurrentCell(first, 0)
        else:
            _say(self.where_label, _("No dbcomm package (.dbcpkg file) in {folder} or its sub-folders.").format(
                folder=folder), NOTE_COLOUR)
        self._show_selected()

    def import_all(self) -> BackgroundTask | None:
        """Import every new report package in turn, with progress; Cancel stops between two
        packages (each one is its own transaction, so nothing is left half-written)."""
        from dbcomm.ui.tasks import run_cancellable

        todo = [f for f in self.found if f.actionable and f.kind == "report"]
        if not todo:
            return None
        db = self.db

        def work(progress: Progress, cancelled: IsCancelled) -> tuple[int, int, list[str]]:
            from dbcomm.services import backup

            done, activities, refused = 0, 0, []
            backup.before(db, "report-import")  # one safety backup before the whole batch
            for index, found in enumerate(todo):
                if cancelled():
                    break
                progress(index, len(todo))
                try:
                    result = packages.apply_import(db, found.path, expected_sha256=found.info.sha256,
                                                   backup_first=False)
                except UserError as exc:
                    refused.append(str(exc))
                    continue
                done += 1
                activities += result.added + result.updated
            progress(len(todo), len(todo))
            return done, activities, refused

        def finished(outcome: tuple[int, int, list[str]]) -> None:
            done, activities, refused = outcome
            text = ngettext("Imported {n} report ({m} activities added or changed).",
                            "Imported {n} reports ({m} activities added or changed).", done).format(
                n=format_number(done), m=format_number(activities))
            if refused:
                text += " " + _("Refused: {reasons}").format(reasons=" ".join(refused))
            _say(self.result_label, text, BAD_COLOUR if refused else OK_COLOUR)
            self.changed.emit()
            if self.folder is not None:
                self.scan_folder(self.folder, keep_result=True)

        def stopped(message: str | None = None) -> None:
            _say(self.result_label, message or _("Stopped; the reports imported so far are kept."), NOTE_COLOUR)
            self.changed.emit()
            if self.folder is not None:
                self.scan_folder(self.folder, keep_result=True)

        self.action_task = run_cancellable(
            self, _("Importing the reports"), work, finished, on_error=stopped, on_cancel=stopped,
            label=_("Checking the signatures and importing the reports…"))
        return self.action_task

    def _fill_row(self, row: int, found: Found) -> None:
        words = row_text(found)
        tip = found.problem or str(found.path)
        for col, text in enumerate((words.file, words.kind, words.sender, words.period, words.number,
                                    words.signatures, words.status)):
            cell = QTableWidgetItem(text)
            cell.setToolTip(tip if col == STATUS_COLUMN or found.status == "invalid" else
                            f"{text}\n{found.path}")
            cell.setData(Qt.ItemDataRole.UserRole, row)
            if found.status in ("invalid", "older"):
                cell.setForeground(QColor(BAD_COLOUR))
            elif found.status == "already":
                cell.setForeground(QColor(MUTED_COLOUR))
            elif col == STATUS_COLUMN:
                cell.setForeground(QColor(OK_COLOUR))
                font = QFont(cell.font())
                font.setBold(True)
                cell.setFont(font)
            self.table.setItem(row, col, cell)

    def selected(self) -> Found | None:
        row = self.table.currentRow()
        return self.found[row] if 0 <= row < len(self.found) else None

    def row_of(self, path: Path) -> int:
        return next((i for i, f in enumerate(self.found) if f.path == path), -1)

    def _show_selected(self) -> None:
        found = self.selected()
        if found is None:
            self.details.setHtml(_p(_("Choose a package in the list to see what it is.")))
        else:
            self.details.setHtml(details_html(found))
        self._update_buttons()

    def _update_buttons(self) -> None:
        found = self.selected()
        busy = self.action_task is not None and self.action_task.running
        allowed = _may(self.db, Perm.IMPORT)
        is_report = found is not None and found.kind == "report"
        self.preview_button.setVisible(found is None or is_report)
        self.apply_button.setVisible(found is not None and found.kind in ("receipt", "plan"))
        if found is not None and found.kind == "plan":
            self.apply_button.setText(_("Import plan update"))
        else:
            self.apply_button.setText(_("Apply receipt"))
        can = found is not None and found.actionable and allowed and not busy
        for b in (self.preview_button, self.apply_button):
            b.setEnabled(can)
            if found is not None and found.status == "already":
                b.setToolTip(_("Nothing to do: this was imported or applied here already."))
            elif found is not None and found.status in ("invalid", "older"):
                b.setToolTip(_short(found.problem, 200))
            elif not allowed:
                b.setToolTip(_("Your role does not allow this."))
            else:
                b.setToolTip("")
        self.look_button.setEnabled(not busy)
        self.folder_button.setEnabled(not busy)
        self.drives.setEnabled(not busy)

    def _failed(self, message: str) -> None:
        self.look_button.setEnabled(True)
        _say(self.result_label, message, BAD_COLOUR)

    # --- acting -------------------------------------------------------------------------------
    def _recheck(self, path: Path) -> None:
        """Examine one package again (after an import) and show its new status."""

        def work(_progress: Progress, _cancelled: IsCancelled) -> Found:
            return examine(self.db, path)

        def done(found: Found) -> None:
            row = self.row_of(path)
            if row >= 0:
                self.found[row] = found
                self._fill_row(row, found)
                if row == self.table.currentRow():
                    self._show_selected()

        self.recheck_task = _run(self, work, done, self._failed)

    def preview_import(self) -> None:
        """The dry run of the selected report package, then its dialog with the Import button."""
        found = self.selected()
        if found is None or found.kind != "report" or not found.actionable:
            return
        path = found.path

        def work(_progress: Progress, _cancelled: IsCancelled) -> tuple[packages.ImportPlan, dict[str, str]]:
            return packages.plan_import(self.db, path), activity_titles(path)

        def done(result: tuple[packages.ImportPlan, dict[str, str]]) -> None:
            self.busy.hide()
            plan, titles = result
            row = self.row_of(path)
            if row >= 0:  # the dry run checked again: its verdict is the latest
                self.found[row] = Found(path, "report", plan.info.status, plan.info.problem, plan.info)
                self._fill_row(row, self.found[row])
            self._update_buttons()
            self._show_selected()
            dialog = ImportPreviewDialog(self.db, plan, titles, self)

            def imported(_result: Any) -> None:
                self._recheck(path)
                self.changed.emit()

            dialog.imported.connect(imported)
            self.preview_dialog = dialog
            dialog.open()

        def failed(message: str) -> None:
            self.busy.hide()
            self._failed(message)
            self._update_buttons()

        _say(self.result_label, "")
        self.busy.show()
        self.action_task = _run(self, work, done, failed)
        self._update_buttons()

    def apply_selected(self) -> None:
        """Apply the selected receipt, or import the selected plan update."""
        found = self.selected()
        if found is None or found.kind not in ("receipt", "plan") or not found.actionable:
            return
        path, kind = found.path, found.kind

        def work(_progress: Progress, _cancelled: IsCancelled) -> Any:
            if kind == "receipt":
                return receipts.apply_receipt(self.db, path)
            return plan_packages.import_plan_package(self.db, path)

        def done(result: Any) -> None:
            self.busy.hide()
            if kind == "receipt":
                colour = OK_COLOUR if result.decision == "accepted" else BAD_COLOUR
                _say(self.result_label, result.message, colour, bold=True)
            else:
                _say(self.result_label, plan_result_text(result), OK_COLOUR, bold=True)
            self._update_buttons()
            self._recheck(path)
            self.changed.emit()

        def failed(message: str) -> None:
            self.busy.hide()
            self._failed(message)
            self._update_buttons()
            self._recheck(path)

        _say(self.result_label, _("Applying {file}…").format(file=path.name))
        self.busy.show()
        self.action_task = _run(self, work, done, failed)
        self._update_buttons()

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name
        if self.task is not None and self.task.running:
            self.task.cancel()
        super().done(result)


class _ScanTask(BackgroundTask):
    """The scan, reporting its progress to the dialog's bar."""

    def __init__(self, fn: Callable[[Progress, IsCancelled], Any], on_done: Callable[[Any], None],
                 on_error: Callable[[str], None], dialog: ImportDialog):
        super().__init__(fn, on_done, on_error, owner=dialog)
        self._dialog = dialog

    def on_progress(self, done: int, total: int) -> None:
        self._dialog._scan_progress(done, total)


def plan_result_text(result: plan_packages.PlanPackageResult) -> str:
    text = _("Plan {code} is now at revision {revision}: {added} items added, {updated} updated.").format(
        code=result.plan.code, revision=result.revision, added=format_number(result.added),
        updated=format_number(result.updated))
    if result.created:
        text = _("Plan {code} (revision {revision}) was added to this office.").format(
            code=result.plan.code, revision=result.revision)
    if result.kept:
        text += " " + _("Kept, because activities use them: {items}.").format(items=", ".join(result.kept[:10]))
    return text


# --- the dry run of a report package -------------------------------------------------------------


class ImportPreviewDialog(QDialog):
    """What importing a report package would do (from ``packages.plan_import``), and Import.

    Emits ``imported(result)`` with the ``packages.ImportResult`` once the import is done.
    """

    imported = Signal(object)

    def __init__(self, db: Database, plan: packages.ImportPlan, titles: dict[str, str] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.plan = plan
        self.titles = titles or {}
        self.task: BackgroundTask | None = None
        self.result_value: packages.ImportResult | None = None
        self.setObjectName("import_preview")
        self.setWindowTitle(_("Preview import — {file}").format(file=plan.info.path.name))
        self.setSizeGripEnabled(True)
        self.resize(760, 600)
        self._build()

    def _build(self) -> None:
        info, counts = self.plan.info, self.plan.counts
        head = QLabel(_("Report of {office} for {period}, number {number} of {date}.").format(
            office=info.sender_name or "—", period=_period_text(info.period_key, info.date_from, info.date_to),
            number=info.number or "—", date=format_date(info.doc_date) or "—"))
        head.setObjectName("summary_head")
        head.setWordWrap(True)
        font = head.font()
        font.setBold(True)
        head.setFont(font)
        self.head = head
        if info.status == "newer":
            what = _("It is a correction of the report imported before and replaces it. Importing it would:")
        elif info.status == "new":
            what = _("Importing it would:")
        elif info.status == "already":
            what = _("This package was imported already: there is nothing to do.")
        else:
            what = _("It cannot be imported: {reason}").format(reason=info.problem or "—")
        self.what = QLabel(what)
        self.what.setObjectName("what")
        self.what.setWordWrap(True)
        if not info.importable:
            self.what.setStyleSheet(f"color: {BAD_COLOUR if info.status != 'already' else OK_COLOUR};")

        form = QFormLayout()
        self.count_labels: dict[str, QLabel] = {}
        for key, label in (("add", _("add new activities")), ("change", _("change activities imported before")),
                           ("unchanged", _("leave unchanged")), ("remove", _("remove (no longer in the report)")),
                           ("conflicts", _("conflicts (block the import)"))):
            value = QLabel(format_number(counts[key]))
            value.setObjectName(f"count_{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setMinimumWidth(60)
            bold = value.font()
            bold.setBold(True)
            value.setFont(bold)
            words = QLabel(label)
            if key == "conflicts" and counts[key]:
                value.setStyleSheet(f"color: {BAD_COLOUR};")
                words.setStyleSheet(f"color: {BAD_COLOUR};")
            elif not counts[key]:  # nothing of this kind: read past it
                value.setStyleSheet(f"color: {MUTED_COLOUR};")
                words.setStyleSheet(f"color: {MUTED_COLOUR};")
            self.count_labels[key] = value
            form.addRow(value, words)

        self.tree = QTreeWidget()
        self.tree.setObjectName("changes")
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self._fill_tree()

        self.busy = _busy_bar("busy")
        self.status = _message_label("status")
        self.import_button = QPushButton(_("Import"))
        self.import_button.setObjectName("import")
        self.import_button.clicked.connect(self.do_import)
        self.import_button.setEnabled(info.importable and not self.plan.conflicts and _may(self.db, Perm.IMPORT))
        self.import_button.setDefault(self.import_button.isEnabled())
        self.close_button = QPushButton(_("Close"))
        self.close_button.setObjectName("close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.close_button)

        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(self.what)
        lay.addLayout(form)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.busy)
        lay.addWidget(self.status)
        lay.addLayout(buttons)

    def _fill_tree(self) -> None:
        plan = self.plan

        order = {uuid: i for i, uuid in enumerate(self.titles)}  # by date, then title

        def title(uuid: str) -> str:
            return self.titles.get(uuid, uuid)

        def ordered(uuids: list[str]) -> list[str]:
            return sorted(uuids, key=lambda u: (order.get(u, len(order)), u))

        groups: list[tuple[str, str, list[str]]] = [
            ("conflicts", _("Conflicts ({n})"), [f"{c.title} — {c.reason}" for c in plan.conflicts]),
            ("add", _("To add ({n})"), [title(u) for u in ordered(plan.to_add)]),
            ("change", _("To change ({n})"), [title(u) for u in ordered(plan.to_change)]),
            ("remove", _("To remove ({n})"), [self.titles.get(u, _("an activity of the earlier version ({uuid})").format(
                uuid=u[:8])) for u in ordered(plan.to_remove)]),
            ("unchanged", _("Unchanged ({n})"), [title(u) for u in ordered(plan.unchanged)]),
        ]
        for key, heading, lines in groups:
            if not lines:
                continue
            top = QTreeWidgetItem([heading.format(n=format_number(len(lines)))])
            top.setData(0, Qt.ItemDataRole.UserRole, key)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            if key == "conflicts":
                top.setForeground(0, QColor(BAD_COLOUR))
            for line in lines[:LIST_LIMIT]:
                QTreeWidgetItem(top, [line])
            if len(lines) > LIST_LIMIT:
                QTreeWidgetItem(top, [_("… and {n} more").format(n=format_number(len(lines) - LIST_LIMIT))])
            self.tree.addTopLevelItem(top)
            top.setExpanded(key != "unchanged" or len(lines) <= 20)

    def group(self, key: str) -> list[str]:
        """The lines listed under a group (``add``, ``change``, …), for tests and curiosity."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is not None and top.data(0, Qt.ItemDataRole.UserRole) == key:
                children = (top.child(k) for k in range(top.childCount()))
                return [child.text(0) for child in children if child is not None]
        return []

    @property
    def working(self) -> bool:
        return self.task is not None and self.task.running

    def do_import(self) -> None:
        if self.working or self.result_value is not None or not self.import_button.isEnabled():
            return
        path, sha = self.plan.info.path, self.plan.info.sha256

        def work(_progress: Progress, _cancelled: IsCancelled) -> packages.ImportResult:
            return packages.apply_import(self.db, path, expected_sha256=sha)

        self.import_button.setEnabled(False)
        self.close_button.setEnabled(False)
        self.busy.show()
        _say(self.status, _("Importing {file}…").format(file=path.name))
        self.task = _run(self, work, self._imported, self._failed)

    def _imported(self, result: packages.ImportResult) -> None:
        self.busy.hide()
        self.close_button.setEnabled(True)
        self.close_button.setText(_("Done"))
        self.close_button.setDefault(True)
        self.result_value = result
        if not result.changed:
            _say(self.status, _("Nothing to do: this package was imported already."), OK_COLOUR, bold=True)
        else:
            text = _("Imported: {added} added, {updated} changed, {unchanged} unchanged, {removed} removed.").format(
                added=format_number(result.added), updated=format_number(result.updated),
                unchanged=format_number(result.unchanged), removed=format_number(result.removed))
            if result.places_added:
                text += " " + ngettext("{n} new place was added to the directory.",
                                       "{n} new places were added to the directory.",
                                       result.places_added).format(n=format_number(result.places_added))
            _say(self.status, text, OK_COLOUR, bold=True)
        self.imported.emit(result)

    def _failed(self, message: str) -> None:
        self.busy.hide()
        self.close_button.setEnabled(True)
        _say(self.status, message, BAD_COLOUR)

    def reject(self) -> None:
        if self.working:
            return  # one transaction is being written: its outcome is shown when it ends
        super().reject()


__all__ = ["Drive", "Found", "ImportDialog", "ImportPreviewDialog", "SendDialog", "activity_titles",
           "choose_folder", "describe_folder", "details_html", "drive_label", "examine", "list_drives",
           "package_kind", "removable_drives", "row_text", "scan"]
