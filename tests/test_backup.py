"""Backups: consistent copies while writing, rotation, damage and restore, refused files, the CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from dbcomm.cli import main
from dbcomm.domain.models import ActivityFilter, ActivityInput, OfficeIdentity, ReachBreakdown
from dbcomm.domain.roles import Role
from dbcomm.errors import DatabaseOpenError, PermissionDenied
from dbcomm.services import activities, auth, backup, lookup, plans, settings
from dbcomm.services.database import open_database
from dbcomm.store import migrate

MUONG_PHANG = OfficeIdentity(name="UBND xã Mường Phăng", parent_agency="UBND huyện Điện Biên",
                             kind="commune", place_name="Mường Phăng", symbol="UBND")
THANH_NUA = OfficeIdentity(name="UBND xã Thanh Nưa", parent_agency="UBND huyện Điện Biên",
                           kind="commune", place_name="Thanh Nưa", symbol="UBND")
REACH = {"sex": {"female": 31, "male": 19}, "audience": {"pupils": 40}}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def an_activity(db, title: str, day: date = date(2025, 9, 5)) -> ActivityInput:  # type: ignore[no-untyped-def]
    plan_id = plans.default_plan(db).id
    return ActivityInput(
        plan_id=plan_id, date_start=day, form_id=activities.forms(db, plan_id)[2].id, subtype="loudspeaker",
        title=title, languages=["vi", "thai"], node_ids=[lookup.node_id(db, plan_id, "2.1")],
        programme_ids=[lookup.programme_id(db, plan_id, "P4")], reach_total=50, reach=ReachBreakdown(REACH),
    )


def set_up_office(db, office: OfficeIdentity = MUONG_PHANG, count: int = 0) -> None:  # type: ignore[no-untyped-def]
    settings.save_office(db, office)
    settings.mark_setup_done(db)
    for i in range(count):
        activities.create(db, an_activity(db, f"Phát thanh tuyên truyền học tập suốt đời số {i + 1}"))


def titles(db) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(r.title for r in activities.list_rows(db, ActivityFilter(), limit=10_000))


def fixed_clock(when: datetime):  # type: ignore[no-untyped-def]
    return lambda: when


@pytest.fixture
def office_db(db_path, new_database_file):  # type: ignore[no-untyped-def]
    """A set-up office with 12 activities; closed, so the file on disk is complete."""
    shutil.copyfile(new_database_file, db_path)  # a new database, without migrating it again
    db = open_database(db_path)
    set_up_office(db, count=12)
    db.close()
    return db_path


# --- consistent copies ----------------------------------------------------------------


def test_a_backup_taken_while_another_connection_writes_is_a_consistent_copy(office_db, tmp_path):
    # given a writer saving activities (each with 3 reach rows, 1 objective, 1 programme) without pause
    db = open_database(office_db)
    stop = threading.Event()
    saved: list[int] = []

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            saved.append(activities.create(db, an_activity(db, f"Hội nghị tuyên truyền lần {n}")).id)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # when backups are taken from a separate connection while it writes
        infos = []
        for i in range(5):
            while len(saved) < 3 * (i + 1):
                threading.Event().wait(0.005)
            infos.append(backup.create(office_db, tmp_path / f"copy-{i}.dbcbak", reason="manual"))
    finally:
        stop.set()
        thread.join()
        db.close()

    # then every copy is intact, and each activity in it has all its rows: none half-written
    counts = []
    for info in infos:
        with backup.OpenedBackup(info.path) as opened:
            copy = opened.db_file
            assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
            n = rows(copy, "SELECT count(*) FROM activity")[0][0]
            assert n == info.activity_count
            assert rows(copy, "SELECT count(*) FROM activity a WHERE (SELECT count(*) FROM activity_reach r "
                              "WHERE r.activity_id = a.id) != 3") == [(0,)]
            assert rows(copy, "SELECT count(*) FROM activity a WHERE NOT EXISTS (SELECT 1 FROM activity_node n "
                              "WHERE n.activity_id = a.id)") == [(0,)]
            assert rows(copy, "SELECT count(*) FROM activity a WHERE NOT EXISTS (SELECT 1 FROM "
                              "activity_programme p WHERE p.activity_id = a.id)") == [(0,)]
            counts.append(n)
    assert counts == sorted(counts) and counts[-1] > counts[0] >= 12 + 3


def test_a_backup_file_holds_a_manifest_describing_it(office_db, tmp_path):
    info = backup.create(office_db, tmp_path / "usb" / "sao-luu.dbcbak", reason="manual",
                         clock=fixed_clock(datetime(2026, 5, 4, 9, 30)))

    with zipfile.ZipFile(info.path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert hashlib.sha256(zf.read("database.sqlite3")).hexdigest() == manifest["database"]["sha256"]
    assert manifest["format"] == "dbcomm-backup" and manifest["format_version"] == 1
    assert manifest["office_name"] == "UBND xã Mường Phăng"
    assert manifest["activity_count"] == 12
    assert manifest["schema_revision"] == migrate.HEAD_REVISION
    assert manifest["created_at"] == "2026-05-04T09:30:00"
    assert [p.name for p in (tmp_path / "usb").iterdir()] == ["sao-luu.dbcbak"]  # no temporary file left


def test_a_write_that_fails_half_way_leaves_no_file_and_no_temporary(office_db, tmp_path, monkeypatch):
    # given a disk that fails while the backup is read back
    target = tmp_path / "usb" / "sao-luu.dbcbak"
    monkeypatch.setattr(backup, "_verify_written", lambda path, manifest: (_ for _ in ()).throw(OSError(5, "I/O error")))

    # when a backup is written there
    with pytest.raises(backup.UserError) as caught:
        backup.create(office_db, target)

    # then the person is told, and nothing half-written is left
    assert "sao-luu.dbcbak" in str(caught.value)
    assert list((tmp_path / "usb").iterdir()) == []


# --- rotation -------------------------------------------------------------------------


def test_rotation_keeps_seven_daily_four_weekly_twelve_monthly_and_ten_before_a_change(tmp_path):
    # given daily backups from 1 January 2025 to Wednesday 18 March 2026, 13 taken before
    # plan imports, and files in the folder that are not dbcomm's backups of this database
    db_path = tmp_path / "dbcomm.sqlite3"
    folder = backup.backup_dir_for(db_path)
    folder.mkdir()
    day = date(2025, 1, 1)
    while day <= date(2026, 3, 18):
        (folder / f"dbcomm-{day:%Y%m%d}-080000-daily.dbcbak").write_bytes(b"")
        day += timedelta(days=1)
    for i in range(13):
        (folder / f"dbcomm-202603{i + 1:02d}-150000-before-plan-import.dbcbak").write_bytes(b"")
    strangers = ["ghi-chú.txt", "khac-20250101-080000-daily.dbcbak", "bao-cao-quy-1.pdf"]
    for name in strangers:
        (folder / name).write_bytes(b"x")

    # when the folder is rotated
    removed = backup.rotate(db_path)

    # then these are kept
    daily = [f"2026031{d}" for d in range(2, 9)]  # the last 7 days
    weekly = ["20260315", "20260308", "20260301"]  # Sundays ending ISO weeks 11, 10, 9 (week 12 = 18 March)
    monthly = ["20260228", "20260131", "20251231", "20251130", "20251031", "20250930", "20250831",
               "20250731", "20250630", "20250531", "20250430"]  # with March 2026: 12 months
    expected = {f"dbcomm-{d}-080000-daily.dbcbak" for d in daily + weekly + monthly}
    expected |= {f"dbcomm-202603{i:02d}-150000-before-plan-import.dbcbak" for i in range(4, 14)}
    left = {p.name for p in folder.iterdir()}
    assert left == expected | set(strangers)
    assert len(removed) == (date(2026, 3, 18) - date(2025, 1, 1)).days + 1 + 13 - len(expected)


def test_the_daily_backup_is_taken_at_the_first_start_of_each_day(office_db, monkeypatch):
    # given a register opened twice on 4 May, then once on 5 May
    clock = {"now": datetime(2026, 5, 4, 7, 45)}
    monkeypatch.setattr(backup, "now", lambda: clock["now"])
    open_database(office_db).close()
    clock["now"] = datetime(2026, 5, 4, 13, 30)
    open_database(office_db).close()
    clock["now"] = datetime(2026, 5, 5, 7, 50)
    open_database(office_db).close()

    # then there is one backup for each day, each named with its time and reason
    names = sorted(p.name for p in backup.backup_dir_for(office_db).iterdir() if p.suffix == ".dbcbak")
    assert names == ["register-20260504-074500-daily.dbcbak", "register-20260505-075000-daily.dbcbak"]


def test_a_new_database_nobody_has_set_up_gets_no_daily_backup(db_path):
    open_database(db_path).close()
    open_database(db_path).close()
    assert not backup.backup_dir_for(db_path).exists()


# --- damage and restore ---------------------------------------------------------------


def damage(path: Path) -> None:
    """Overwrite eight pages in the middle of the file with garbage (a failing disk sector)."""
    data = bytearray(path.read_bytes())
    page = 4096
    start = (len(data) // page // 2) * page
    data[start:start + 8 * page] = bytes((i * 37 + 11) % 256 for i in range(8 * page))
    path.write_bytes(bytes(data))


def test_a_damaged_database_is_reported_and_the_latest_good_backup_brings_the_data_back(db_path, monkeypatch):
    # given a register with 300 activities and yesterday's daily backup
    db = open_database(db_path)
    set_up_office(db)
    from dbcomm.services import demo

    demo.generate(db, 300, seed=11)
    before = titles(db)
    db.close()
    monkeypatch.setattr(backup, "now", lambda: datetime(2026, 5, 4, 8, 0))
    open_database(db_path).close()
    assert backup.has_daily_backup(db_path, date(2026, 5, 4))

    # when the disk damages the file, and dbcomm starts the next day
    damage(db_path)
    monkeypatch.setattr(backup, "now", lambda: datetime(2026, 5, 5, 8, 0))
    with pytest.raises(DatabaseOpenError) as caught:
        open_database(db_path)

    # then it says the database is damaged, and finds the good backup
    assert caught.value.reason == "damaged"
    assert "hỏng" in str(caught.value)
    good = backup.latest_good(db_path)
    assert good is not None and good.created_at == datetime(2026, 5, 4, 8, 0)

    # and restoring it brings every activity back, keeping the damaged state aside
    result = backup.restore(db_path, good.path)
    db = open_database(db_path)
    try:
        assert titles(db) == before
        assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    finally:
        db.close()
    assert result.safety_copy is not None and result.safety_copy.exists()


def make_backup_variant(source: Path, target: Path, *, manifest_changes: dict | None = None,
                        revision: str | None = None) -> Path:
    """A copy of a backup file with a changed manifest or schema revision (checksums kept right)."""
    with zipfile.ZipFile(source) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        data = zf.read("database.sqlite3")
    if revision is not None:
        tmp = target.with_suffix(".tmp.sqlite3")
        tmp.write_bytes(data)
        con = sqlite3.connect(tmp)
        con.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        con.commit()
        con.close()
        data = tmp.read_bytes()
        tmp.unlink()
        manifest["schema_revision"] = revision
    manifest["database"]["sha256"] = hashlib.sha256(data).hexdigest()
    manifest.update(manifest_changes or {})
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("database.sqlite3", data)
        zf.writestr("manifest.json", json.dumps(manifest))
    return target


def bad_file(kind: str, good: Path, folder: Path) -> Path:
    if kind == "truncated":
        path = folder / "sao-luu-cat-ngang.dbcbak"
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "not_a_backup":
        path = folder / "Báo cáo quý 1.docx"
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 26)
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("word/document.xml", "<w:document>Báo cáo</w:document>")
    elif kind == "text":
        path = folder / "ghi chú.txt"
        path.write_text("Danh sách xã: Mường Phăng, Thanh Nưa\n", encoding="utf-8")
    elif kind == "damaged":
        path = folder / "sao-luu-hong.dbcbak"
        data = bytearray(good.read_bytes())
        middle = len(data) // 3
        data[middle:middle + 64] = bytes(255 - b for b in data[middle:middle + 64])
        path.write_bytes(bytes(data))
    elif kind == "newer_schema":
        path = make_backup_variant(good, folder / "sao-luu-ban-moi.dbcbak", revision="0099")
    else:  # newer_format
        path = make_backup_variant(good, folder / "sao-luu-dinh-dang-moi.dbcbak",
                                   manifest_changes={"format_version": 2})
    return path


@pytest.mark.parametrize("kind, reason, words", [
    ("truncated", "truncated", "không đầy đủ"),
    ("not_a_backup", "not_a_backup", "không phải"),
    ("text", "not_a_backup", "không phải"),
    ("damaged", "damaged", "hỏng"),
    ("newer_schema", "newer_version", "0099"),
    ("newer_format", "newer_version", "mới hơn"),
])
def test_a_bad_file_is_refused_with_a_clear_message_and_the_database_is_untouched(
        office_db, tmp_path, kind, reason, words):
    # given a good backup, and a bad file made from it
    good = backup.create(office_db, tmp_path / "tot.dbcbak").path
    bad = bad_file(kind, good, tmp_path)
    digest = sha256(office_db)

    # when it is offered for restore
    with pytest.raises(backup.BackupFileError) as caught:
        backup.restore(office_db, bad)

    # then it is refused with a message naming the file, and not a byte of the database changed
    assert caught.value.reason == reason
    assert bad.name in str(caught.value)
    assert words in str(caught.value)
    assert sha256(office_db) == digest
    assert not any("before-restore" in p.name for p in backup.backup_dir_for(office_db).iterdir())


def test_a_backup_of_another_office_is_not_restored_without_asking(office_db, tmp_path):
    # given a backup made by the office of Thanh Nưa
    other_path = tmp_path / "thanh-nua.sqlite3"
    other = open_database(other_path)
    set_up_office(other, THANH_NUA, count=2)
    other.close()
    theirs = backup.create(other_path, tmp_path / "thanh-nua.dbcbak").path
    digest = sha256(office_db)

    # when Mường Phăng restores it without saying yes to the question
    with pytest.raises(backup.OtherOfficeError) as caught:
        backup.restore(office_db, theirs)

    # then it is asked about by name, and nothing changed
    assert "UBND xã Thanh Nưa" in str(caught.value) and "UBND xã Mường Phăng" in str(caught.value)
    assert sha256(office_db) == digest
    assert backup.other_office(office_db, backup.inspect(theirs)) == "UBND xã Mường Phăng"

    # and once the person says yes, it is restored
    backup.restore(office_db, theirs, accept_other_office=True)
    db = open_database(office_db)
    try:
        assert settings.get_office(db).name == "UBND xã Thanh Nưa"
        assert len(titles(db)) == 2
    finally:
        db.close()


def test_restoring_an_older_backup_brings_back_the_deleted_activities(office_db, tmp_path):
    saved = backup.create(office_db, tmp_path / "truoc-khi-xoa.dbcbak").path
    db = open_database(office_db)
    before = titles(db)
    ids = [r.id for r in activities.list_rows(db, ActivityFilter(), limit=100)]
    activities.delete(db, ids[:5])
    db.close()

    backup.restore(office_db, saved)

    db = open_database(office_db)
    try:
        assert titles(db) == before
    finally:
        db.close()


def test_data_entry_may_back_up_but_not_restore(db):
    set_up_office(db, count=1)
    auth.create_user(db, "quantri", "Nguyễn Văn Quản", Role.ADMIN, "quantri-2026")
    auth.authenticate(db, "quantri", "quantri-2026")
    auth.create_user(db, "lan", "Lò Thị Lan", Role.ENTRY, "nhaplieu-2026")
    auth.logout(db)
    auth.authenticate(db, "lan", "nhaplieu-2026")

    assert backup.backup_now(db).exists()
    with pytest.raises(PermissionDenied):
        backup.authorize_restore(db)


# --- the command line -------------------------------------------------------------------


def run(capsys, db_path: Path, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["--db", str(db_path), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_backup_now_list_to_check_and_restore(office_db, tmp_path, capsys):
    # backup now → a file in the backups folder, listed with its office and count
    code, out, _err = run(capsys, office_db, "backup", "now")
    assert code == 0 and "manual" in out
    code, out, _err = run(capsys, office_db, "backup", "list")
    assert code == 0 and "UBND xã Mường Phăng" in out and "\t12\t" in out

    # backup to a folder (a USB stick) → one file there, named after the office
    usb = tmp_path / "USB"
    usb.mkdir()
    code, out, _err = run(capsys, office_db, "backup", "to", str(usb))
    assert code == 0
    [copy] = list(usb.iterdir())
    assert copy.name.startswith("sao-luu-ubnd-xa-muong-phang-") and copy.suffix == ".dbcbak"

    # check → no problem
    code, out, _err = run(capsys, office_db, "backup", "check")
    assert code == 0

    # restore without --yes and without a terminal → nothing changes
    digest = sha256(office_db)
    code, out, err = run(capsys, office_db, "backup", "restore", str(copy))
    assert code == 5 and "--yes" in err
    assert sha256(office_db) == digest
    assert "UBND xã Mường Phăng" in out  # the preview was shown

    # restore --yes after deleting activities → they are back, and the restore is in the audit trail
    db = open_database(office_db)
    activities.delete(db, [r.id for r in activities.list_rows(db, ActivityFilter(), limit=100)])
    db.close()
    code, out, _err = run(capsys, office_db, "backup", "restore", str(copy), "--yes")
    assert code == 0
    db = open_database(office_db)
    try:
        assert len(titles(db)) == 12
        from dbcomm.services import audit

        assert [e.action for e in audit.entries(db)][:1] == ["restore_backup"]
    finally:
        db.close()


def test_cli_check_reports_a_damaged_database_and_the_backup_to_restore(office_db, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(backup, "now", lambda: datetime(2026, 5, 4, 8, 0))
    db = open_database(office_db)
    from dbcomm.services import demo

    demo.generate(db, 300, seed=5)
    db.close()
    open_database(office_db).close()  # today's backup
    damage(office_db)

    code, _out, err = run(capsys, office_db, "backup", "check")

    assert code == 1
    assert "register-20260504-080000-daily.dbcbak" in err


def test_cli_refuses_a_truncated_file_with_a_message(office_db, tmp_path, capsys):
    good = backup.create(office_db, tmp_path / "tot.dbcbak").path
    bad = bad_file("truncated", good, tmp_path)
    digest = sha256(office_db)

    code, _out, err = run(capsys, office_db, "backup", "restore", str(bad), "--yes")

    assert code == 2 and bad.name in err
    assert sha256(office_db) == digest


def test_a_bare_database_file_copied_by_hand_can_be_restored(office_db, tmp_path):
    by_hand = tmp_path / "USB" / "dbcomm-copy.sqlite3"
    by_hand.parent.mkdir()
    shutil.copyfile(office_db, by_hand)
    db = open_database(office_db)
    activities.delete(db, [r.id for r in activities.list_rows(db, ActivityFilter(), limit=100)])
    db.close()

    info = backup.inspect(by_hand)
    backup.restore(office_db, by_hand)

    assert info.kind == "database" and info.activity_count == 12
    db = open_database(office_db)
    try:
        assert len(titles(db)) == 12
    finally:
        db.close()


def test_the_window_checks_in_the_background_and_still_finds_damage(db_path, monkeypatch):
    # given a register with yesterday's daily backup
    from dbcomm.services import demo
    from dbcomm.services.database import daily_checks

    db = open_database(db_path)
    set_up_office(db)
    demo.generate(db, 300, seed=12)
    db.close()
    monkeypatch.setattr(backup, "now", lambda: datetime(2026, 5, 4, 8, 0))
    open_database(db_path).close()

    # when the file is damaged and the window opens it the next day (checks deferred)
    damage(db_path)
    monkeypatch.setattr(backup, "now", lambda: datetime(2026, 5, 5, 8, 0))
    try:
        db = open_database(db_path, defer_daily=True)
    except DatabaseOpenError as exc:  # the damage may already stop the migration step's reads
        assert exc.reason in ("damaged", "not_a_database")
        return

    # then the background check reports it, and no daily backup of the damaged file is taken
    with pytest.raises(DatabaseOpenError) as caught:
        daily_checks(db)
    db.close()
    assert caught.value.reason == "damaged"
    assert not backup.has_daily_backup(db_path, date(2026, 5, 5))


def test_the_background_check_takes_the_daily_backup_of_a_healthy_register(db_path, monkeypatch):
    from dbcomm.services import demo
    from dbcomm.services.database import daily_checks

    db = open_database(db_path)
    set_up_office(db)
    demo.generate(db, 50, seed=13)
    db.close()
    monkeypatch.setattr(backup, "now", lambda: datetime(2026, 5, 6, 8, 0))
    db = open_database(db_path, defer_daily=True)
    assert not backup.has_daily_backup(db_path, date(2026, 5, 6))
    daily_checks(db)
    db.close()
    assert backup.has_daily_backup(db_path, date(2026, 5, 6))


def test_a_backup_is_never_written_over_a_file_nor_into_a_missing_folder(office_db, tmp_path):
    # given the database and a file already on the stick
    db = open_database(office_db)
    usb = tmp_path / "USB"
    usb.mkdir()
    existing = usb / "so-cu.dbcbak"
    existing.write_bytes(b"an older backup")
    digest = hashlib.sha256(office_db.read_bytes()).hexdigest()
    try:
        # when a backup is aimed at the database itself, at the existing file, or at a mistyped stick
        for target in (office_db, existing, tmp_path / "USBB" / "so.dbcbak"):
            with pytest.raises(backup.UserError):
                backup.backup_to(db, target)
    finally:
        db.close()
    # then nothing was overwritten and no folder was made
    assert existing.read_bytes() == b"an older backup"
    assert hashlib.sha256(office_db.read_bytes()).hexdigest() == digest
    assert not (tmp_path / "USBB").exists()
