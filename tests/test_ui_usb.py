"""Reports on a USB stick, through the windows: send from the preview, import on the other side,
refuse what is not a package, and apply the receipt that comes back.

A commune (Mường Phăng) issues its Q3 2026 report; a province department imports it.  The two
databases are built once per module (demo data, signatures) and copied for each test.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtGui import QColor

import exchange_fixtures as xf
from dbcomm.domain.roles import PeriodState
from dbcomm.services import (
    activities,
    package_files,
    packages,
    periods,
    plan_packages,
    receipts,
    report_signing,
    reports,
    trust,
)
from dbcomm.store.engine import Database
from dbcomm.ui import interaction, usb_dialogs
from dbcomm.ui.pdf_preview import PdfPreviewDialog
from dbcomm.ui.usb_dialogs import Drive, ImportDialog, ImportPreviewDialog, SendDialog
from ui_helpers import Asked, FakeInteraction, click, click_row

RETURN_NOTE = "Đề nghị bổ sung số liệu thôn Nà Nọi và Huổi Hạ; kiểm tra lại số người tham gia."
WAIT = 30000  # ms: signatures are checked in the background


@pytest.fixture(autouse=True)
def _english():
    """The messages are checked in English (the Vietnamese ones belong to the translation tests)."""
    from dbcomm import i18n

    i18n.set_language("en")


@dataclass
class FolderFake(FakeInteraction):
    """The scripted seam, with the folder chooser the USB dialogs ask through."""

    folder_result: Path | None = None
    folders_asked: list[str] = field(default_factory=list)

    def choose_folder(self, parent, title: str) -> Path | None:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("choose_folder", title, ""))
        self.folders_asked.append(title)
        return self.folder_result


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FolderFake:
    f = FolderFake()
    monkeypatch.setattr(interaction, "current", f)
    return f


@pytest.fixture
def no_drives(monkeypatch: pytest.MonkeyPatch) -> None:
    """This computer has no USB stick plugged in (the person chooses a folder)."""
    monkeypatch.setattr(usb_dialogs, "list_drives", lambda: [])


@dataclass
class Built:
    signers: xf.Signers
    sender_file: Path
    receiver_file: Path
    report_id: int
    period_count: int  # activities the sender's register holds for the period


@dataclass
class World:
    b: Built
    sender: Database
    receiver: Database
    stick: Path

    def report_state(self) -> str:
        return reports.get_report(self.sender, self.b.report_id).info.state


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    root = tmp_path_factory.mktemp("usb")
    signers = xf.make_signers(root / "pki")
    sender = xf.sending_office(root / "xa-muong-phang.sqlite3", count=60, seed=7)
    trust.import_roots(sender, signers.pki.root_pem)  # to trust the receipt that comes back
    report_id = xf.issue_report(sender, signers)
    plan_id = xf.default_plan_id(sender)
    count = activities.totals(sender, activities.filter_for_period(sender, plan_id, xf.PERIOD)).count
    assert count > 5
    receiver = xf.receiving_office(root / "so-gddt.sqlite3", signers.pki.root_pem)
    return Built(signers, xf.close_to_file(sender), xf.close_to_file(receiver), report_id, count)


@pytest.fixture
def world(built: Built, tmp_path: Path):
    sender = xf.copy_database(built.sender_file, tmp_path / "sender.sqlite3")
    receiver = xf.copy_database(built.receiver_file, tmp_path / "receiver.sqlite3")
    stick = tmp_path / "KINGSTON"
    stick.mkdir()
    yield World(built, sender, receiver, stick)
    sender.close()
    receiver.close()


def preview_of(qtbot, db: Database, report_id: int) -> PdfPreviewDialog:  # type: ignore[no-untyped-def]
    info = reports.get_report(db, report_id).info
    dialog = PdfPreviewDialog(db, report_signing.signed_file(db, report_id), info=info, identical=None)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def import_dialog(qtbot, db: Database, folder: Path, fake: FolderFake) -> ImportDialog:  # type: ignore[no-untyped-def]
    """The import dialog, pointed at ``folder`` with "Choose another folder…", once it has looked."""
    dialog = ImportDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    fake.folder_result = folder
    click(qtbot, dialog.folder_button)
    qtbot.waitUntil(lambda: dialog.folder == folder and not dialog.scanning, timeout=WAIT)
    return dialog


def column(dialog: ImportDialog, col: int) -> list[str]:
    return [dialog.table.item(r, col).text() for r in range(dialog.table.rowCount())]


FILE, KIND, SENDER, PERIOD, NUMBER, SIGNATURES, STATUS = range(7)


# --- drives --------------------------------------------------------------------------------------


class _Volume:
    def __init__(self, root: str, *, fs: bytes = b"vfat", ready: bool = True, read_only: bool = False,
                 name: str = "", free: int = 8 * 1024 ** 3):
        self._root, self._fs, self._ready, self._ro, self._name, self._free = root, fs, ready, read_only, name, free

    def isValid(self) -> bool:  # noqa: N802 - Qt's names
        return True

    def isReady(self) -> bool:  # noqa: N802
        return self._ready

    def isReadOnly(self) -> bool:  # noqa: N802
        return self._ro

    def rootPath(self) -> str:  # noqa: N802
        return self._root

    def fileSystemType(self):  # type: ignore[no-untyped-def]  # noqa: N802
        from PySide6.QtCore import QByteArray

        return QByteArray(self._fs)

    def displayName(self) -> str:  # noqa: N802
        return self._name or self._root

    def name(self) -> str:
        return self._name

    def bytesAvailable(self) -> int:  # noqa: N802
        return self._free


def _fake_volumes(monkeypatch: pytest.MonkeyPatch, volumes: list[_Volume]) -> None:
    class FakeStorage:
        @staticmethod
        def mountedVolumes() -> list[_Volume]:  # noqa: N802
            return volumes

        @staticmethod
        def root() -> _Volume:
            return _Volume("/", fs=b"ext4")

    monkeypatch.setattr(usb_dialogs, "QStorageInfo", FakeStorage)
    monkeypatch.setattr(usb_dialogs.sys, "platform", "linux")
    monkeypatch.setattr(usb_dialogs, "_is_folder", lambda root: True)


def test_usb_sticks_come_first_and_system_volumes_are_left_out(monkeypatch: pytest.MonkeyPatch):
    _fake_volumes(monkeypatch, [
        _Volume("/", fs=b"ext4"),
        _Volume("/home", fs=b"ext4", name="home"),
        _Volume("/run/media/lan/Ổ_ĐĨA", name="Ổ_ĐĨA"),
        _Volume("/boot/efi"),
        _Volume("/dev/shm", fs=b"tmpfs"),
        _Volume("/media/lan/KINGSTON", name="KINGSTON", free=int(14.5 * 1024 ** 3)),
        _Volume("/media/lan/CDROM", read_only=True),
        _Volume("/media/lan/NOTREADY", ready=False),
    ])
    drives = usb_dialogs.list_drives()
    assert [str(d.path) for d in drives] == ["/media/lan/KINGSTON", "/run/media/lan/Ổ_ĐĨA", "/home"]
    assert [d.removable for d in drives] == [True, True, False]
    assert usb_dialogs.removable_drives() == [d.path for d in drives]
    assert "14.5 GB free" in usb_dialogs.drive_label(drives[0]) and "KINGSTON" in usb_dialogs.drive_label(drives[0])


def test_no_volume_at_all_is_an_empty_list(monkeypatch: pytest.MonkeyPatch):
    _fake_volumes(monkeypatch, [_Volume("/", fs=b"ext4")])
    assert usb_dialogs.removable_drives() == []


# --- sending -------------------------------------------------------------------------------------


def test_sending_from_the_preview_writes_the_file_and_says_the_stick_can_be_removed(
        qtbot, world: World, fake: FolderFake, no_drives):  # type: ignore[no-untyped-def]
    preview = preview_of(qtbot, world.sender, world.b.report_id)
    assert preview.send_button.isVisible()
    told: list[object] = []
    preview.rebuilt.connect(told.append)

    click(qtbot, preview.send_button)
    send = preview.send_dialog
    assert isinstance(send, SendDialog) and send.isVisible()
    qtbot.waitUntil(lambda: send.file_name != "", timeout=WAIT)
    assert send.no_drive.isVisible()  # no stick plugged in: it says so
    assert not send.write_button.isEnabled()  # nowhere chosen yet
    fake.folder_result = world.stick
    click(qtbot, send.folder_button)
    qtbot.waitUntil(lambda: send.chosen_folder() == world.stick, timeout=WAIT)
    click(qtbot, send.write_button)
    qtbot.waitUntil(lambda: send.written is not None, timeout=WAIT)

    files = list(world.stick.iterdir())
    assert files == [send.written] and files[0].name == send.file_name
    assert files[0].suffix == package_files.SUFFIX
    message = send.status.text()
    assert files[0].name in message and str(world.stick) in message
    assert "You can now remove the stick safely." in message
    assert world.report_state() == "sent"
    assert preview.info.state == "sent" and told and told[-1].state == "sent"  # the reports list is told
    assert "waiting for the receiving office" in preview.signature_label.text()
    assert not send.write_button.isEnabled()  # written once; Done closes
    assert fake.of_kind("error") == []


def test_a_stick_pulled_out_is_said_in_the_dialog_and_the_report_stays_issued(
        qtbot, world: World, fake: FolderFake, no_drives):  # type: ignore[no-untyped-def]
    info = reports.get_report(world.sender, world.b.report_id).info
    send = SendDialog(world.sender, info)
    qtbot.addWidget(send)
    send.show()
    gone = world.stick / "pulled-out"
    fake.folder_result = gone  # chosen, then the stick went away
    click(qtbot, send.folder_button)
    qtbot.waitUntil(lambda: send.chosen_folder() == gone, timeout=WAIT)
    click(qtbot, send.write_button)
    qtbot.waitUntil(lambda: not send.working and send.status.text().startswith("Could not write"), timeout=WAIT)
    assert "Check the stick is plugged in" in send.status.text()
    assert send.written is None and send.write_button.isEnabled()  # try again
    assert world.report_state() == "issued"


def test_the_send_button_is_only_for_an_issued_report(qtbot, world: World):  # type: ignore[no-untyped-def]
    preview = preview_of(qtbot, world.sender, world.b.report_id)
    assert preview.send_button.isVisible()
    issued = reports.get_report(world.sender, world.b.report_id).info
    for state, shown in (("draft", False), ("signed", False), ("sent", True), ("returned", False),
                         ("accepted", True)):
        preview.info = replace(issued, state=state)
        preview._show_state()
        assert preview.send_button.isVisible() is shown, state


# --- importing a report --------------------------------------------------------------------------


def test_a_new_package_is_previewed_imported_and_then_listed_as_already_imported(
        qtbot, world: World, fake: FolderFake, no_drives):  # type: ignore[no-untyped-def]
    path = packages.send(world.sender, world.b.report_id, world.stick)
    dialog = import_dialog(qtbot, world.receiver, world.stick, fake)
    changed: list[bool] = []
    dialog.changed.connect(lambda: changed.append(True))

    assert dialog.table.rowCount() == 1
    assert column(dialog, FILE) == [path.name]
    assert column(dialog, KIND) == ["Report"]
    assert column(dialog, SENDER) == [xf.SENDER.name]
    assert column(dialog, PERIOD) == [xf.PERIOD]
    assert column(dialog, NUMBER) == ["07 · 06/10/2026"]  # as the registry wrote it in
    assert column(dialog, SIGNATURES) == ["✓ Valid"]
    assert column(dialog, STATUS) == ["New"]
    assert dialog.preview_button.isEnabled()

    click(qtbot, dialog.preview_button)
    qtbot.waitUntil(lambda: dialog.preview_dialog is not None, timeout=WAIT)
    dry = dialog.preview_dialog
    assert isinstance(dry, ImportPreviewDialog)
    n = world.b.period_count
    counts = {k: dry.count_labels[k].text() for k in ("add", "change", "unchanged", "remove", "conflicts")}
    assert counts == {"add": str(n), "change": "0", "unchanged": "0", "remove": "0", "conflicts": "0"}
    added = dry.group("add")
    assert len(added) == n and all(" — " in line for line in added)  # dated titles, not UUIDs
    with world.sender.read() as s:
        from sqlalchemy import select

        from dbcomm.store.models import Activity

        some_title = s.scalar(select(Activity.title).where(Activity.date_start >= date(2026, 7, 1),
                                                           Activity.date_start <= date(2026, 9, 30)).limit(1))
    assert any(line.endswith(some_title) for line in added)
    assert xf.SENDER.name in dry.head.text()

    click(qtbot, dry.import_button)
    qtbot.waitUntil(lambda: dry.result_value is not None, timeout=WAIT)
    assert dry.result_value.added == n
    assert f"{n} added" in dry.status.text()
    period = activities.filter_for_period(world.receiver, xf.default_plan_id(world.receiver), xf.PERIOD)
    assert activities.totals(world.receiver, replace(period, origin="all")).count == n  # received …
    assert activities.totals(world.receiver, period).count == 0  # … not counted as the department's own
    qtbot.waitUntil(lambda: column(dialog, STATUS) == ["Already imported"], timeout=WAIT)
    assert changed

    # looking again (a new dialog, the same stick): nothing to do
    again = import_dialog(qtbot, world.receiver, world.stick, fake)
    assert column(again, STATUS) == ["Already imported"]
    assert not again.preview_button.isEnabled()
    assert "Nothing to do" in again.details.toPlainText()
    assert again.found[0].path == path


def test_files_that_are_not_packages_show_why_and_cannot_be_imported(
        qtbot, world: World, fake: FolderFake, no_drives):  # type: ignore[no-untyped-def]
    (world.stick / "BaoCao_rong.dbcpkg").write_bytes(b"")
    (world.stick / "BaoCao").mkdir()
    (world.stick / "BaoCao" / "bao-cao-quy-3.dbcpkg").write_bytes(
        report_signing.signed_file(world.sender, world.b.report_id))
    dialog = import_dialog(qtbot, world.receiver, world.stick, fake)

    assert dialog.table.rowCount() == 2
    by_name = {f.path.name: row for row, f in enumerate(dialog.found)}
    for name, reason in (("BaoCao_rong.dbcpkg", "is empty"), ("bao-cao-quy-3.dbcpkg", "is a PDF, not a dbcomm package")):
        row = by_name[name]
        status = dialog.table.item(row, STATUS)
        assert status.text().startswith("Invalid: this file ") and reason in status.text()
        assert dialog.table.item(row, FILE).text() == name and dialog.table.item(row, KIND).text() == "Not a package"
        assert reason in status.toolTip()
        assert status.foreground().color() == QColor(usb_dialogs.BAD_COLOUR)
        click_row(qtbot, dialog.table, row)
        assert dialog.selected() is dialog.found[row]
        assert "Why it cannot be used" in dialog.details.toPlainText()
        assert reason in dialog.details.toPlainText()
        assert not dialog.preview_button.isEnabled() and not dialog.apply_button.isEnabled()
    dialog.preview_import()  # even asked directly, nothing happens
    assert dialog.preview_dialog is None


def test_an_empty_folder_says_there_is_no_package(qtbot, world: World, fake: FolderFake, no_drives):  # type: ignore[no-untyped-def]
    dialog = import_dialog(qtbot, world.receiver, world.stick, fake)
    assert dialog.table.rowCount() == 0
    assert "No dbcomm package" in dialog.where_label.text()


def test_a_plugged_in_stick_is_looked_at_at_once(qtbot, world: World, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    packages.send(world.sender, world.b.report_id, world.stick)
    stick = Drive(world.stick, "KINGSTON", 14 * 1024 ** 3, True)
    monkeypatch.setattr(usb_dialogs, "list_drives", lambda: [stick])
    dialog = ImportDialog(world.receiver)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and not dialog.scanning, timeout=WAIT)
    assert dialog.drives.item(0).text().startswith("USB stick KINGSTON")
    assert column(dialog, STATUS) == ["New"]


# --- the answers that come back ------------------------------------------------------------------


def _receipt(world: World, decision: str, note: str = "") -> Path:
    """The department imports the package, decides, and writes its receipt on the stick."""
    package = packages.send(world.sender, world.b.report_id, world.stick)
    result = packages.apply_import(world.receiver, package)
    assert result.received_id is not None
    receipts.decide(world.receiver, result.received_id, decision, note)
    back = world.stick / "tra-ve"
    back.mkdir()
    return receipts.write_receipt(world.receiver, result.received_id, world.b.signers.office, back)


def test_a_returned_receipt_applied_reopens_the_period_and_shows_the_note(
        qtbot, world: World, fake: FolderFake, no_drives):  # type: ignore[no-untyped-def]
    path = _receipt(world, "returned", RETURN_NOTE)
    assert world.report_state() == "sent"
    dialog = import_dialog(qtbot, world.sender, path.parent, fake)

    assert column(dialog, KIND) == ["Receipt: returned"]
    assert column(dialog, SENDER) == [xf.RECEIVER.name]
    assert column(dialog, STATUS) == ["Not applied yet"]
    assert RETURN_NOTE in dialog.details.toPlainText()
    assert dialog.apply_button.isVisible() and dialog.apply_button.isEnabled()
    assert dialog.apply_button.text() == "Apply receipt"
    assert not dialog.preview_button.isVisible()

    click(qtbot, dialog.apply_button)
    qtbot.waitUntil(lambda: column(dialog, STATUS) == ["Applied already"], timeout=WAIT)
    assert world.report_state() == "returned"
    plan_id = xf.default_plan_id(world.sender)
    assert periods.state_of(world.sender, plan_id, xf.PERIOD) == PeriodState.DRAFT
    said = dialog.result_label.text()
    assert "returned the report of period" in said and RETURN_NOTE in said and "open again" in said
    assert not dialog.apply_button.isEnabled()


def test_an_accepted_receipt_applied_locks_the_period(qtbot, world: World, fake: FolderFake, no_drives):  # type: ignore[no-untyped-def]
    path = _receipt(world, "accepted")
    dialog = import_dialog(qtbot, world.sender, path.parent, fake)
    assert column(dialog, KIND) == ["Receipt: accepted"]
    click(qtbot, dialog.apply_button)
    qtbot.waitUntil(lambda: column(dialog, STATUS) == ["Applied already"], timeout=WAIT)
    assert world.report_state() == "accepted"
    assert periods.state_of(world.sender, xf.default_plan_id(world.sender), xf.PERIOD) == PeriodState.LOCKED
    assert "accepted the report" in dialog.result_label.text() and "locked" in dialog.result_label.text()


def test_a_plan_update_is_listed_with_its_revision_and_applied(qtbot, world: World, fake: FolderFake, no_drives):  # type: ignore[no-untyped-def]
    path = plan_packages.export_plan_package(world.receiver, xf.default_plan_id(world.receiver), world.stick)
    dialog = import_dialog(qtbot, world.sender, world.stick, fake)
    assert column(dialog, KIND) == ["Plan update"]
    assert "revision 1" in column(dialog, NUMBER)[0]
    assert column(dialog, STATUS) == ["New revision"]
    assert dialog.apply_button.text() == "Import plan update"
    click(qtbot, dialog.apply_button)
    qtbot.waitUntil(lambda: column(dialog, STATUS) == ["Already imported"], timeout=WAIT)
    assert "revision 1" in dialog.result_label.text()
    assert plan_packages.last_revision(world.sender, plan_packages.inspect_plan_package(world.sender, path).plan_code) == 1


def test_the_file_menu_opens_the_import_dialog(qtbot, world: World, no_drives):  # type: ignore[no-untyped-def]
    from dbcomm.ui.main_window import MainWindow

    window = MainWindow(world.receiver)
    qtbot.addWidget(window)
    file_menu = window.menuBar().actions()[0].menu()
    assert window.usb_import_action in file_menu.actions()
    window.usb_import_action.trigger()
    dialog = window.findChild(ImportDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.reject()


def test_import_all_imports_every_new_report_and_leaves_the_refused_ones(  # type: ignore[no-untyped-def]
        qtbot, world: World, fake: FolderFake, no_drives):
    packages.send(world.sender, world.b.report_id, world.stick)
    (world.stick / "cut-off.dbcpkg").write_bytes(b"PK\x03\x04 cut off")
    dialog = import_dialog(qtbot, world.receiver, world.stick, fake)
    assert dialog.import_all_button.isEnabled()
    click(qtbot, dialog.import_all_button)
    qtbot.waitUntil(lambda: "Imported 1 report" in dialog.result_label.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: not dialog.scanning and dialog.table.rowCount() == 2, timeout=WAIT)
    received = activities.totals(world.receiver, activities.ActivityFilter(origin="all")).count
    assert received == world.b.period_count  # every activity of the sender's quarter, once
    assert "Already imported" in column(dialog, STATUS)
    assert not dialog.import_all_button.isEnabled()  # nothing new left on the stick
    from dbcomm.services import backup

    reasons = [b.reason for b in backup.list_backups(world.receiver.path)]
    assert reasons.count("before-report-import") == 1  # one safety backup for the whole batch
