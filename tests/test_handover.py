"""Hand-over: the whole office in one file, imported on a new PC."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import date
from pathlib import Path

import pytest

from dbcomm.domain.models import ActivityFilter, ActivityInput, OfficeIdentity, ReachBreakdown
from dbcomm.services import activities, backup, handover, plans, settings
from dbcomm.services.attachments import stored_path
from dbcomm.services.database import open_database

OFFICE = OfficeIdentity(name="Trung tâm Văn hóa - Thể thao huyện Mường Ảng", parent_agency="UBND huyện Mường Ảng",
                        kind="district", place_name="Mường Ảng", symbol="TTVHTT")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(db) -> list[tuple]:  # type: ignore[no-untyped-def]
    """What a person would compare: every activity with its numbers, reach and evidence."""
    out = []
    for row in activities.list_rows(db, ActivityFilter(), limit=10_000):
        rec = activities.get(db, row.id)
        out.append((rec.uuid, rec.title, rec.date_start, rec.reach_total, rec.reach.values,
                    sorted((a.filename, a.sha256) for a in rec.attachments)))
    return sorted(out)


@pytest.fixture
def old_pc(tmp_path):  # type: ignore[no-untyped-def]
    """The office's old PC: a register with evidence photos and a scanned clipping."""
    path = tmp_path / "may-cu" / "dbcomm.sqlite3"
    db = open_database(path)
    settings.save_office(db, OFFICE)
    settings.mark_setup_done(db)
    evidence = tmp_path / "ảnh"
    evidence.mkdir()
    photo = evidence / "Ảnh buổi tuyên truyền.jpg"
    photo.write_bytes(bytes(range(256)) * 400)
    clipping = evidence / "Bài báo Điện Biên Phủ.pdf"
    clipping.write_bytes(b"%PDF-1.4\n" + "Học tập suốt đời".encode() * 300)
    plan_id = plans.default_plan(db).id
    form_id = activities.forms(db, plan_id)[0].id
    for i, files in enumerate([[photo], [photo, clipping], []]):
        activities.create(db, ActivityInput(
            plan_id=plan_id, date_start=date(2025, 3, 10 + i), form_id=form_id, subtype="other",
            title=f"Tuyên truyền xây dựng xã hội học tập, đợt {i + 1}", reach_total=120,
            reach=ReachBreakdown({"sex": {"female": 70, "male": 50}}), new_attachments=files))
    yield db
    db.close()


def test_a_hand_over_file_imported_on_a_new_pc_reproduces_the_office(old_pc, tmp_path):
    # given the old PC's register, exported as a hand-over file to a USB stick
    before = snapshot(old_pc)
    (tmp_path / "USB").mkdir()  # the stick is plugged in
    target = tmp_path / "USB" / "ban-giao.dbcbak"
    info = handover.export(old_pc, target)
    assert info.kind == "handover" and info.activity_count == 3 and info.attachment_count == 2

    # when it is imported on a new PC, into a database that does not exist yet
    new_path = tmp_path / "may-moi" / "Dữ liệu" / "dbcomm.sqlite3"
    handover.import_file(new_path, target)

    # then the new PC holds the same activities, settings and evidence files, byte for byte
    db = open_database(new_path)
    try:
        assert snapshot(db) == before
        assert settings.get_office(db).name == OFFICE.name
        assert settings.is_setup_done(db)
        for _uuid, _title, _day, _reach, _values, files in snapshot(db):
            for _name, digest in files:
                stored = stored_path(db.attachments_dir, digest)
                assert stored.is_file() and sha256(stored) == digest
    finally:
        db.close()


def test_the_hand_over_file_carries_each_evidence_file_once(old_pc, tmp_path):
    target = tmp_path / "ban-giao.dbcbak"
    handover.export(old_pc, target)
    with zipfile.ZipFile(target) as zf:
        names = [n for n in zf.namelist() if n.startswith("attachments/")]
    assert len(names) == 2
    for name in names:
        with zipfile.ZipFile(target) as zf:
            assert hashlib.sha256(zf.read(name)).hexdigest() == name.rsplit("/", 1)[1]


def test_importing_over_a_register_with_activities_needs_a_confirmation(old_pc, tmp_path):
    # given a hand-over file, and a PC whose register already holds activities
    target = tmp_path / "ban-giao.dbcbak"
    handover.export(old_pc, target)
    busy = tmp_path / "may-khac" / "dbcomm.sqlite3"
    db = open_database(busy)
    settings.save_office(db, OFFICE)
    plan_id = plans.default_plan(db).id
    activities.create(db, ActivityInput(plan_id=plan_id, date_start=date(2025, 6, 1),
                                        form_id=activities.forms(db, plan_id)[1].id, title="Hội thi tìm hiểu pháp luật"))
    db.close()
    digest = sha256(busy)

    # when it is imported without confirming the replacement
    with pytest.raises(handover.NotEmptyError) as caught:
        handover.import_file(busy, target)

    # then the person is told why, and nothing changed
    assert "1" in str(caught.value)
    assert sha256(busy) == digest

    # and with the confirmation, the old content is kept in a backup first
    result = handover.import_file(busy, target, replace_existing=True)
    assert result.safety_copy is not None and "before-handover-import" in result.safety_copy.name


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut short", "Biên bản bàn giao".encode()])
def test_a_bad_hand_over_file_creates_no_database(tmp_path, content):
    bad = tmp_path / "ban-giao.dbcbak"
    bad.write_bytes(content)
    new_path = tmp_path / "may-moi" / "dbcomm.sqlite3"

    with pytest.raises(backup.BackupFileError) as caught:
        handover.import_file(new_path, bad)

    assert "ban-giao.dbcbak" in str(caught.value)
    assert not new_path.exists()
