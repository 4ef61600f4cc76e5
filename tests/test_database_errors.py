"""Opening the wrong file, a read-only file, a busy file, two windows on one file."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from dbcomm.domain.models import ActivityFilter, ActivityInput
from dbcomm.errors import BusyError, DatabaseOpenError
from dbcomm.services import activities, plans
from dbcomm.services.database import open_database
from dbcomm.store import engine as engine_module


@pytest.fixture
def db_path(copied_db_path):
    """A new database, copied from one made once per run (no migration each time)."""
    return copied_db_path


RUNNING_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def an_activity(db, title: str, day: date = date(2025, 10, 2)) -> ActivityInput:
    plan = plans.default_plan(db)
    form = activities.forms(db, plan.id)[2]
    return ActivityInput(plan_id=plan.id, date_start=day, form_id=form.id, title=title)


def assert_refused_and_untouched(path: Path, reason: str) -> DatabaseOpenError:
    digest, listing = sha256(path), folder_listing(path.parent)
    with pytest.raises(DatabaseOpenError) as caught:
        open_database(path)
    assert caught.value.reason == reason
    assert sha256(path) == digest, "the file was modified"
    assert folder_listing(path.parent) == listing, "files were added beside it"
    return caught.value


def test_a_text_file_is_not_a_database_and_is_left_alone(tmp_path):
    notes = tmp_path / "ghi chú.txt"
    notes.write_text("Danh sách xã: Mường Phăng, Thanh Nưa, Nà Tấu\n", encoding="utf-8")
    assert_refused_and_untouched(notes, "not_a_database")


def test_a_spreadsheet_renamed_to_sqlite_is_refused(tmp_path):
    fake = tmp_path / "baocao.sqlite3"
    fake.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    assert_refused_and_untouched(fake, "not_a_database")


def test_a_folder_is_not_a_database(tmp_path):
    folder = tmp_path / "Hồ sơ"
    folder.mkdir()
    with pytest.raises(DatabaseOpenError) as caught:
        open_database(folder)
    assert caught.value.reason == "not_a_database"
    assert list(folder.iterdir()) == []


def test_an_sqlite_file_of_another_application_is_refused_and_left_unchanged(tmp_path):
    # given an SQLite database made by some other program
    other = tmp_path / "ketoan.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE foo (id INTEGER PRIMARY KEY, ten TEXT)")
    con.execute("INSERT INTO foo (ten) VALUES ('Phiếu chi số 12')")
    con.commit()
    con.close()

    # then dbcomm refuses it, changes not a byte, and leaves no journal files behind
    assert_refused_and_untouched(other, "not_a_database")
    assert sqlite3.connect(other).execute("SELECT ten FROM foo").fetchall() == [
        ("Phiếu chi số 12",)
    ]


def test_a_damaged_database_is_refused(tmp_path, db_path):
    # given a dbcomm database whose pages after the header were overwritten
    open_database(db_path).close()
    data = bytearray(db_path.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)
    db_path.write_bytes(bytes(data))

    with pytest.raises(DatabaseOpenError) as caught:
        open_database(db_path)
    assert caught.value.reason == "not_a_database"


@pytest.mark.skipif(RUNNING_AS_ROOT, reason="root ignores file permissions")
def test_a_read_only_file_is_refused_with_reason_read_only(db_path):
    open_database(db_path).close()
    db_path.chmod(0o444)
    try:
        assert_refused_and_untouched(db_path, "read_only")
    finally:
        db_path.chmod(0o644)


def test_a_file_without_write_permission_is_refused_simulated(db_path, monkeypatch):
    # root may write anywhere, so the permission answer is simulated here; the real
    # chmod test above runs for any other user
    real_access = os.access
    monkeypatch.setattr(
        engine_module.os,
        "access",
        lambda path, mode: False if mode == os.W_OK else real_access(path, mode),
    )
    assert_refused_and_untouched(db_path, "read_only")


@pytest.mark.skipif(RUNNING_AS_ROOT, reason="root ignores folder permissions")
def test_a_new_database_in_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "chi-doc"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(DatabaseOpenError) as caught:
            open_database(folder / "dbcomm.sqlite3")
        assert caught.value.reason == "read_only"
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_a_missing_folder_is_created_for_a_new_database(tmp_path):
    path = tmp_path / "Tài liệu" / "Sổ theo dõi" / "dbcomm.sqlite3"
    db = open_database(path)
    try:
        assert plans.default_plan(db).code == "386/KH-UBND"
    finally:
        db.close()
    assert path.is_file()


def test_a_database_in_a_vietnamese_folder_with_spaces_and_hash_reopens_with_its_data(tmp_path):
    path = tmp_path / "Phòng Văn hóa #2 (Tủa Chùa)" / "sổ theo dõi.sqlite3"
    db = open_database(path)
    activities.create(db, an_activity(db, "Họp thôn bản tuyên truyền về học tập suốt đời"))
    db.close()

    db = open_database(path)
    try:
        rows = activities.list_rows(db, ActivityFilter())
    finally:
        db.close()
    assert [r.title for r in rows] == ["Họp thôn bản tuyên truyền về học tập suốt đời"]


def test_two_windows_saving_at_the_same_time_lose_nothing(db_path):
    # given two open Database objects on one file, as two windows would have
    first, second = open_database(db_path), open_database(db_path)
    per_writer = 25
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def log_activities(db, who: str) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                day = date(2025, 1, 1) + timedelta(days=i)
                activities.create(db, an_activity(db, f"Phát thanh số {i} của {who}", day))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    # when both write concurrently
    threads = [
        threading.Thread(target=log_activities, args=(first, "Xã Thanh Nưa")),
        threading.Thread(target=log_activities, args=(second, "Xã Mường Phăng")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    first.close()
    second.close()

    # then every activity is there, each once, and the file is sound
    assert failures == []
    db = open_database(db_path)
    try:
        rows = activities.list_rows(db, ActivityFilter(), limit=1000)
    finally:
        db.close()
    titles = sorted(r.title for r in rows)
    expected = sorted(
        f"Phát thanh số {i} của {who}"
        for who in ("Xã Thanh Nưa", "Xã Mường Phăng")
        for i in range(per_writer)
    )
    assert titles == expected
    con = sqlite3.connect(db_path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def test_saving_while_another_program_holds_the_write_lock_reports_busy_and_saves_nothing(
    db_path, monkeypatch
):
    # given another connection in the middle of a write transaction
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 0.2)
    db = open_database(db_path)
    value = an_activity(db, "Treo băng rôn hưởng ứng Ngày Sách")
    blocker = sqlite3.connect(db_path, timeout=0.1, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        # when this window saves
        with pytest.raises(BusyError):
            activities.create(db, value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    # then nothing was saved, and saving works once the lock is gone
    try:
        assert activities.totals(db, ActivityFilter()).count == 0
        activities.create(db, value)
        assert activities.totals(db, ActivityFilter()).count == 1
    finally:
        db.close()
