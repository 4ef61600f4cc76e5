"""The Data menu, driven like a person: restore preview, another office's backup, bad files, back up to."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from dbcomm.domain.models import ActivityFilter, ActivityInput, OfficeIdentity
from dbcomm.i18n import _, format_number
from dbcomm.services import activities, backup, plans, settings
from dbcomm.services.database import open_database
from dbcomm.store import migrate
from dbcomm.ui.backup_dialogs import RestorePreviewDialog
from dbcomm.ui.main_window import MainWindow
from ui_helpers import FakeInteraction, click, drive_modal, install_fake

MUONG_PHANG = OfficeIdentity(name="UBND xã Mường Phăng", parent_agency="UBND huyện Điện Biên",
                             kind="commune", place_name="Mường Phăng", symbol="UBND")
NA_TAU = OfficeIdentity(name="UBND xã Nà Tấu", parent_agency="UBND huyện Điện Biên",
                        kind="commune", place_name="Nà Tấu", symbol="UBND")


def add(db, title: str, day: date = date(2025, 11, 3)) -> None:  # type: ignore[no-untyped-def]
    plan_id = plans.default_plan(db).id
    activities.create(db, ActivityInput(plan_id=plan_id, date_start=day,
                                        form_id=activities.forms(db, plan_id)[0].id, title=title))


def titles(db) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(r.title for r in activities.list_rows(db, ActivityFilter(), limit=1000))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def office(db):  # type: ignore[no-untyped-def]
    settings.save_office(db, MUONG_PHANG)
    settings.mark_setup_done(db)
    add(db, "Tuyên truyền trên loa truyền thanh xã")
    return db


@pytest.fixture
def na_tau_backup(tmp_path) -> Path:
    """A backup made by the office of Nà Tấu: three activities."""
    path = tmp_path / "na-tau.sqlite3"
    other = open_database(path)
    settings.save_office(other, NA_TAU)
    settings.mark_setup_done(other)
    for title in ("Ngày hội đọc sách", "Ấn phẩm tuyên truyền tiếng Mông", "Đối thoại với thanh niên"):
        add(other, title)
    other.close()
    return backup.create(path, tmp_path / "USB" / "sao-luu-na-tau.dbcbak").path


def window(qtbot, db) -> MainWindow:  # type: ignore[no-untyped-def]
    w = MainWindow(db)
    qtbot.addWidget(w)
    w.show()
    return w


def action(w: MainWindow, name: str) -> QAction:
    found = w.findChild(QAction, name)
    assert found is not None, name
    return found


def test_the_data_menu_offers_backup_restore_and_hand_over(qtbot, office, fake):
    w = window(qtbot, office)
    texts = [a.text() for a in w.data_menu.actions() if not a.isSeparator()]
    english = ["Back up to…", "Restore from…", "Export hand-over file…", "Import hand-over file…"]
    assert texts == [_(t) for t in english]
    assert all(t != e for t, e in zip(texts, english, strict=True)), "the menu is shown in Vietnamese"
    assert w.data_menu.title() == "&Dữ liệu"
    assert all(a.isEnabled() for a in w.data_menu.actions())  # no accounts yet: the system may do all


def test_the_preview_shows_another_offices_backup_and_declining_changes_nothing(
        qtbot, office, fake, na_tau_backup, monkeypatch):
    # given Mường Phăng's window, and Nà Tấu's backup chosen in the file dialog
    w = window(qtbot, office)
    fake.open_file_result = na_tau_backup
    fake.confirm_answers = [False]  # "Replace anyway?" → no
    seen: dict[str, str | bool] = {}

    def look_and_click_restore(d: RestorePreviewDialog) -> None:
        for name in ("office", "activities", "schema", "created"):
            seen[name] = d.findChild(type(d.warning), name).text()
        seen["warning"] = d.warning.isVisible()
        seen["warning_text"] = d.warning.text()
        click(qtbot, d.restore_button)

    opened = drive_modal(monkeypatch, RestorePreviewDialog, look_and_click_restore)
    replaced: list[object] = []
    w.database_replaced.connect(replaced.append)

    # when the person chooses Data → Restore from…
    action(w, "restore_from").trigger()
    qtbot.waitUntil(lambda: bool(opened) and bool(fake.of_kind("confirm")), timeout=10_000)

    # then the preview said what the file holds, before anything changed
    assert seen["office"] == "UBND xã Nà Tấu"
    assert seen["activities"] == format_number(3)
    assert seen["schema"] == migrate.HEAD_REVISION
    assert seen["warning"] is True and "UBND xã Mường Phăng" in str(seen["warning_text"])
    # and the question names both offices; answering no leaves the register as it was
    question = fake.of_kind("confirm")[0].text
    assert "UBND xã Nà Tấu" in question and "UBND xã Mường Phăng" in question
    qtbot.wait(200)
    assert replaced == []
    assert titles(office) == ["Tuyên truyền trên loa truyền thanh xã"]
    assert not any("before-restore" in p.name for p in backup.backup_dir_for(office.path).glob("*"))


def test_restoring_from_the_menu_replaces_the_data_and_hands_over_a_new_database(
        qtbot, office, fake, na_tau_backup, monkeypatch):
    w = window(qtbot, office)
    fake.open_file_result = na_tau_backup
    fake.confirm_answers = [True]  # "Replace anyway?" → yes
    drive_modal(monkeypatch, RestorePreviewDialog, lambda d: click(qtbot, d.restore_button))

    with qtbot.waitSignal(w.database_replaced, timeout=15_000) as caught:
        action(w, "restore_from").trigger()

    new_db = caught.args[0]
    try:
        assert titles(new_db) == sorted(["Ngày hội đọc sách", "Ấn phẩm tuyên truyền tiếng Mông",
                                         "Đối thoại với thanh niên"])
        assert settings.get_office(new_db).name == "UBND xã Nà Tấu"
    finally:
        new_db.close()
    info = fake.of_kind("info")[-1].text
    assert "before-restore" in info  # where the previous state was kept
    assert any("before-restore" in p.name for p in backup.backup_dir_for(office.path).glob("*"))


def test_a_file_that_is_not_a_backup_is_refused_with_a_message_and_no_preview(
        qtbot, office, fake, tmp_path, monkeypatch):
    not_backup = tmp_path / "Kế hoạch 386.pdf"
    not_backup.write_bytes(b"%PDF-1.4\n" + b"0" * 2000)
    fake.open_file_result = not_backup
    opened = drive_modal(monkeypatch, RestorePreviewDialog, lambda d: None)
    w = window(qtbot, office)

    action(w, "restore_from").trigger()
    qtbot.waitUntil(lambda: bool(fake.of_kind("error")), timeout=10_000)

    assert opened == []
    message = fake.of_kind("error")[0].text
    assert "Kế hoạch 386.pdf" in message and "không phải" in message
    assert titles(office) == ["Tuyên truyền trên loa truyền thanh xã"]


def test_back_up_to_a_usb_stick_writes_one_checked_file_and_says_so(qtbot, office, fake, tmp_path):
    usb = tmp_path / "USB"
    usb.mkdir()
    fake.save_file_result = usb / "sao-luu-muong-phang"  # the person typed a name without extension
    w = window(qtbot, office)

    action(w, "backup_to").trigger()
    qtbot.waitUntil(lambda: bool(fake.of_kind("info")), timeout=10_000)

    [written] = list(usb.iterdir())
    assert written.name == "sao-luu-muong-phang.dbcbak"
    info = backup.inspect(written)
    assert info.office_name == "UBND xã Mường Phăng" and info.activity_count == 1
    assert str(written) in fake.of_kind("info")[0].text
    suggested = fake.of_kind("save_file")[0].text
    assert suggested.startswith("sao-luu-ubnd-xa-muong-phang-") and suggested.endswith(".dbcbak")


def test_hand_over_export_then_import_through_the_menu(qtbot, office, fake, tmp_path, monkeypatch):
    # given a hand-over file exported from Mường Phăng's window
    (tmp_path / "USB").mkdir()
    target = tmp_path / "USB" / "ban-giao.dbcbak"
    fake.save_file_result = target
    w = window(qtbot, office)
    action(w, "export_handover").trigger()
    qtbot.waitUntil(lambda: bool(fake.of_kind("info")), timeout=10_000)
    assert target.is_file()
    digest = hashlib.sha256(target.read_bytes()).hexdigest()

    # when a new PC, set up but empty, imports it
    new_db = open_database(tmp_path / "may-moi" / "dbcomm.sqlite3")
    settings.save_office(new_db, MUONG_PHANG)
    settings.mark_setup_done(new_db)
    w2 = window(qtbot, new_db)
    fake.open_file_result = target
    drive_modal(monkeypatch, RestorePreviewDialog, lambda d: click(qtbot, d.restore_button))
    with qtbot.waitSignal(w2.database_replaced, timeout=15_000) as caught:
        action(w2, "import_handover").trigger()

    # then the new PC holds the register, and the file is unchanged
    imported = caught.args[0]
    try:
        assert titles(imported) == ["Tuyên truyền trên loa truyền thanh xã"]
    finally:
        imported.close()
        new_db.close()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest


def test_at_start_a_damaged_database_is_explained_and_the_latest_good_backup_offered(
        qtbot, db_path, fake, monkeypatch):
    # given a register with yesterday's backup, damaged overnight
    from datetime import datetime

    from dbcomm.errors import DatabaseOpenError
    from dbcomm.services import demo
    from dbcomm.ui.backup_dialogs import recover_at_start

    db = open_database(db_path)
    settings.save_office(db, MUONG_PHANG)
    settings.mark_setup_done(db)
    demo.generate(db, 300, seed=3)
    before = titles(db)
    db.close()
    monkeypatch.setattr(backup, "now", lambda: datetime(2026, 5, 4, 8, 0))
    open_database(db_path).close()
    data = bytearray(db_path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle:middle + 8 * 4096] = b"\x5a" * (8 * 4096)
    db_path.write_bytes(bytes(data))
    monkeypatch.setattr(backup, "now", lambda: datetime(2026, 5, 5, 8, 0))
    with pytest.raises(DatabaseOpenError) as caught:
        open_database(db_path)

    # when dbcomm starts on it and the person accepts the offer
    fake.confirm_answers = [True]
    restored = recover_at_start(caught.value, db_path)

    # then the question said what is wrong and which backup it would restore; the data is back
    question = fake.of_kind("confirm")[0].text
    assert str(caught.value) in question and "04/05/2026" in question and "UBND xã Mường Phăng" in question
    assert restored is not None
    try:
        assert titles(restored) == before
    finally:
        restored.close()


def test_at_start_a_damaged_database_without_any_backup_is_explained(qtbot, office_path_damaged, fake):
    from dbcomm.ui.backup_dialogs import recover_at_start

    path, error = office_path_damaged
    assert recover_at_start(error, path) is None
    [shown] = fake.of_kind("error")
    assert str(error) in shown.text and str(backup.backup_dir_for(path)) in shown.text


@pytest.fixture
def office_path_damaged(tmp_path):  # type: ignore[no-untyped-def]
    from dbcomm.errors import DatabaseOpenError
    from dbcomm.services import demo

    path = tmp_path / "dbcomm.sqlite3"
    db = open_database(path)
    demo.generate(db, 300, seed=4)
    db.close()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle:middle + 8 * 4096] = b"\xa5" * (8 * 4096)
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseOpenError) as caught:
        open_database(path)
    assert caught.value.reason == "damaged"
    return path, caught.value
