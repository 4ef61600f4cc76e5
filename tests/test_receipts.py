"""Receipts: the receiving office accepts or returns a report and the sending office applies
the signed answer it brings back on the stick."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest

import pki
import signature_images as images
from dbcomm.domain.models import OfficeIdentity
from dbcomm.domain.report import Narrative
from dbcomm.domain.roles import PeriodState
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.services import (
    demo,
    exchange_data,
    identities,
    orgs,
    package_files,
    periods,
    plans,
    receipts,
    report_signing,
    reports,
    settings,
    signing,
    trust,
)
from dbcomm.services.database import open_database
from dbcomm.store.models import ReceivedReport, Report

PROVINCE = OfficeIdentity(
    name="Sở Giáo dục và Đào tạo tỉnh Điện Biên", parent_agency="UBND tỉnh Điện Biên", kind="department",
    place_name="Điện Biên Phủ", symbol="SGDĐT", signer_title="KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC",
    signer_name="Nguyễn Thị Hoa")
PERIOD = "2025-Q3"


@pytest.fixture(autouse=True)
def _english():
    from dbcomm import i18n

    i18n.set_language("en")


@dataclass
class Built:
    folder: Path
    pki: pki.TestPKI
    other_pki: pki.TestPKI
    office_file: Path
    province_file: Path
    report_id: int
    report_uuid: str
    signed_sha256: str
    plan_id: int
    received_id: int
    identity_id: int


def _issued_report(db, test_pki: pki.TestPKI) -> int:
    plan_id = plans.default_plan(db).id
    cfg = replace(reports.default_settings(db, plan_id, PERIOD), doc_date=date(2025, 10, 6), number="7")
    info = reports.save_draft(db, None, cfg, Narrative(direction="Ủy ban nhân dân xã đã chỉ đạo triển khai."))
    reports.build(db, info.id)
    leader = signing.load_pkcs12(test_pki.leader, test_pki.password)
    seal = signing.load_pkcs12(test_pki.office, test_pki.password)
    report_signing.sign_report(db, info.id, leader, images.blue_signature())
    report_signing.seal_report(db, info.id, seal, images.red_seal(), 36)
    return info.id


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """An office with a demo register and an issued report for 2025-Q3, and a province that
    received it (one row in ``received_report``); made once, copied for each test."""
    folder = tmp_path_factory.mktemp("receipts")
    (folder / "pki").mkdir()
    (folder / "other").mkdir()
    test_pki, other_pki = pki.build(folder / "pki"), pki.build(folder / "other")
    office_file, province_file = folder / "office.sqlite3", folder / "province.sqlite3"

    db = open_database(office_file)
    demo.generate(db, 150, seed=11, end=date(2025, 12, 31))
    demo.set_demo_office(db)
    trust.import_roots(db, test_pki.root_pem)
    report_id = _issued_report(db, test_pki)
    pdf = report_signing.signed_file(db, report_id)
    office_uuid = exchange_data.office_uuid(db)
    office_name = settings.get_office(db).name
    with db.read() as s:
        r = s.get(Report, report_id)
        report_uuid, plan_id, number, doc_date, subject = r.uuid, r.plan_id, r.number, r.doc_date, r.subject
        date_from, date_to = r.date_from, r.date_to
    assert periods.state_of(db, plan_id, PERIOD) == PeriodState.LOCKED  # locked by the signature
    db.close()

    pdb = open_database(province_file)
    settings.save_office(pdb, PROVINCE)
    trust.import_roots(pdb, test_pki.root_pem)
    sender = orgs.save_org(pdb, None, orgs.OrgFields(name=office_name, kind="commune"))
    with pdb.write() as s:
        row = ReceivedReport(
            sender_id=sender.id, sender_office_uuid=office_uuid, sender_name=office_name, report_uuid=report_uuid,
            plan_code="386/KH-UBND", period_key=PERIOD, date_from=date_from, date_to=date_to,
            number=number, doc_date=doc_date, subject=subject, signers="Lò Văn Thắng",
            verdict="valid", activity_count=1, signed_pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest())
        s.add(row)
        s.flush()
        received_id = row.id
    identity_id = identities.add_file_identity(pdb, "office", test_pki.office, test_pki.password,
                                               seal_diameter_mm=36).id
    pdb.close()
    return Built(folder, test_pki, other_pki, office_file, province_file, report_id, report_uuid,
                 hashlib.sha256(pdf).hexdigest(), plan_id, received_id, identity_id)


@dataclass
class World:
    b: Built
    office: object  # Database
    province: object
    stick: Path

    def identity(self) -> signing.Identity:
        return identities.open_identity(self.province, self.b.identity_id, self.b.pki.password)

    def receipt(self, decision: str = "accepted", note: str = "") -> Path:
        receipts.decide(self.province, self.b.received_id, decision, note)
        return receipts.write_receipt(self.province, self.b.received_id, self.identity(), self.stick)

    def report(self) -> Report:
        with self.office.read() as s:
            r = s.get(Report, self.b.report_id)
            s.expunge(r)
            return r

    def period(self) -> periods.PeriodRow:
        rows = periods.list_periods(self.office, self.b.plan_id, today=date(2026, 1, 1))
        return next(p for p in rows if p.key == PERIOD)


@pytest.fixture
def world(built: Built, tmp_path: Path):
    shutil.copyfile(built.office_file, tmp_path / "office.sqlite3")
    shutil.copyfile(built.province_file, tmp_path / "province.sqlite3")
    office = open_database(tmp_path / "office.sqlite3")
    province = open_database(tmp_path / "province.sqlite3")
    stick = tmp_path / "stick"
    stick.mkdir()
    yield World(built, office, province, stick)
    office.close()
    province.close()


def _audit_count(db) -> int:
    from sqlalchemy import func, select

    from dbcomm.store.models import AuditEntry

    with db.read() as s:
        return s.scalar(select(func.count(AuditEntry.id)))


# --- the whole round trip -------------------------------------------------------------------


def test_an_accepted_report_comes_back_accepted_and_its_period_locked(world: World):
    path = world.receipt("accepted")
    assert path.parent == world.stick and path.name.startswith("PhieuNhan_") and path.name.isascii()
    assert path.name.endswith(".dbcpkg") and PERIOD in path.name
    periods.transition(world.office, world.b.plan_id, PERIOD, PeriodState.DRAFT, "Mở lại để bổ sung")
    assert world.period().state == PeriodState.DRAFT

    info = receipts.inspect_receipt(world.office, path)
    assert (info.status, info.problem) == ("new", "")
    assert info.receipt is not None and info.receipt.decision == "accepted"
    assert info.signer == "UBND xã Mường Phăng"
    result = receipts.apply_receipt(world.office, path)

    assert (result.status, result.decision, result.report_id) == ("applied", "accepted", world.b.report_id)
    report = world.report()
    assert report.state == "accepted" and report.decided_at is not None
    assert report.decided_by.startswith("Sở Giáo dục và Đào tạo tỉnh Điện Biên")
    row = world.period()
    assert row.state == PeriodState.LOCKED
    assert "Sở Giáo dục và Đào tạo tỉnh Điện Biên" in row.note


def test_a_returned_report_reopens_the_period_with_the_note(world: World):
    note = "Thiếu số liệu hình thức truyền thông xã hội; đề nghị bổ sung."
    path = world.receipt("returned", note)
    assert path.name.startswith("PhieuTraLai_")
    assert world.period().state == PeriodState.LOCKED

    result = receipts.apply_receipt(world.office, path)

    assert (result.status, result.decision) == ("applied", "returned")
    assert note in result.message
    report = world.report()
    assert (report.state, report.decision_note) == ("returned", note)
    row = world.period()
    assert row.state == PeriodState.DRAFT and note in row.note
    assert periods.frozen_notice(world.office, world.b.plan_id, date(2025, 8, 1)) is None  # editable again


def test_the_note_is_kept_in_nfc_whatever_the_keyboard_sent(world: World):
    import unicodedata

    note = unicodedata.normalize("NFD", "Bổ sung số liệu tiếng Mông")
    receipts.apply_receipt(world.office, world.receipt("returned", note))
    assert world.report().decision_note == unicodedata.normalize("NFC", note)


def test_the_same_receipt_twice_changes_nothing(world: World):
    path = world.receipt("accepted")
    receipts.apply_receipt(world.office, path)
    before = (world.report().version, world.period(), _audit_count(world.office))

    assert receipts.inspect_receipt(world.office, path).status == "already"
    again = receipts.apply_receipt(world.office, path)

    assert again.status == "already"
    assert (world.report().version, world.period(), _audit_count(world.office)) == before


def test_a_changed_mind_before_the_receipt_is_written_is_what_the_receipt_says(world: World):
    receipts.decide(world.province, world.b.received_id, "returned", "Thiếu phụ lục")
    path = world.receipt("accepted")
    receipts.apply_receipt(world.office, path)
    assert world.report().state == "accepted"


def test_the_decision_cannot_change_once_its_receipt_is_written(world: World):
    world.receipt("accepted")
    with pytest.raises(UserError, match="cannot change now"):
        receipts.decide(world.province, world.b.received_id, "returned", "Đổi ý")
    with world.province.read() as s:
        assert s.get(ReceivedReport, world.b.received_id).state == "accepted"


def test_an_older_receipt_after_a_newer_one_changes_nothing(world: World, tmp_path: Path):
    # a receipt written, then the decision changed in a copy of the province (a second stick)
    first = world.receipt("returned", "Thiếu số liệu")
    with world.province.write() as s:
        row = s.get(ReceivedReport, world.b.received_id)
        row.decided_at = row.decided_at.replace(year=row.decided_at.year + 1)  # a later decision
        row.state = "accepted"
    name, data = receipts.build_receipt(world.province, world.b.received_id, world.identity())
    newer = package_files.write_safely(tmp_path, name, data)
    receipts.apply_receipt(world.office, newer)
    assert world.report().state == "accepted"

    info = receipts.inspect_receipt(world.office, first)
    assert (info.status, info.code) == ("invalid", "older")
    with pytest.raises(UserError, match="older decision"):
        receipts.apply_receipt(world.office, first)
    assert world.report().state == "accepted" and world.period().state == PeriodState.LOCKED


# --- deciding ---------------------------------------------------------------------------------


def test_returning_without_a_note_is_refused(world: World):
    with pytest.raises(ValidationFailed) as err:
        receipts.decide(world.province, world.b.received_id, "returned", "   ")
    assert err.value.for_field("note")
    with world.province.read() as s:
        assert s.get(ReceivedReport, world.b.received_id).state == "received"


def test_no_receipt_before_a_decision(world: World):
    with pytest.raises(UserError, match="Accept or return"):
        receipts.build_receipt(world.province, world.b.received_id, world.identity())
    assert list(world.stick.iterdir()) == []


def test_deciding_needs_the_leaders_permission(world: World):
    from dbcomm.domain.roles import Role
    from dbcomm.errors import PermissionDenied
    from dbcomm.services import auth

    # the administrator keeps the workstation; approving stays with the leader
    auth.create_user(world.province, "quantri", "Lò Thị Mai", Role.ADMIN, "mat-khau-dai-1")
    auth.authenticate(world.province, "quantri", "mat-khau-dai-1")
    with pytest.raises(PermissionDenied):
        receipts.decide(world.province, world.b.received_id, "accepted")


def test_deciding_and_writing_are_in_the_audit_trail(world: World):
    from dbcomm.services import audit

    world.receipt("returned", "Thiếu phụ lục")
    with world.province.read() as s:
        uuid = s.get(ReceivedReport, world.b.received_id).uuid
    rows = audit.entries(world.province, entity_uuid=uuid)
    assert [r.action for r in rows] == ["export", "status"]
    assert "Thiếu phụ lục" in rows[1].summary and ".dbcpkg" in rows[0].summary


# --- what the receipt holds -------------------------------------------------------------------


def test_the_receipt_is_a_signed_pdf_with_its_data_in_a_package(world: World):
    receipts.decide(world.province, world.b.received_id, "returned", "Thiếu phụ lục")
    name, data = receipts.build_receipt(world.province, world.b.received_id, world.identity())
    path = world.stick / name
    path.write_bytes(data)
    raw = package_files.read(path, ("receipt.pdf",))
    assert raw.manifest["kind"] == "receipt" and raw.manifest["decision"] == "returned"
    pdf = raw.members["receipt.pdf"]
    check = signing.verify_pdf(pdf, [world.b.pki.root_pem])
    assert check.verdict == "valid" and [s.signer_name for s in check.signatures] == ["UBND xã Mường Phăng"]
    content = json.loads(signing.attachments_of(pdf)["dbcomm-receipt.json"])
    assert content["format"] == "dbcomm.receipt" and content["format_version"] == 1
    assert content["report"]["uuid"] == world.b.report_uuid
    assert content["report"]["sha256"] == world.b.signed_sha256
    assert content["decision"] == "returned" and content["note"] == "Thiếu phụ lục"
    assert content["receiver"]["name"] == "Sở Giáo dục và Đào tạo tỉnh Điện Biên"
    assert content["receiver"]["uuid"] == exchange_data.office_uuid(world.province)
    assert content["sender"]["uuid"] == exchange_data.office_uuid(world.office)
    text = _pdf_text(pdf, world.stick)
    assert "PHIẾU TRẢ LẠI BÁO CÁO" in text and "Thiếu phụ lục" in text
    assert "SỞ GIÁO DỤC VÀ ĐÀO TẠO" in text and "số 07/BC-UBND, ngày 06/10/2025" in text and "quý III năm 2025" in text
    assert _pdf_pages(pdf, world.stick) == 1


def _pdf_text(pdf: bytes, folder: Path) -> str:
    path = folder / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    path.unlink()
    return " ".join(out.split())


def _pdf_pages(pdf: bytes, folder: Path) -> int:
    path = folder / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    path.unlink()
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


# --- refusals ---------------------------------------------------------------------------------


def _unchanged(world: World):
    return world.report().state, world.period().state


def test_a_receipt_for_another_version_of_the_report_is_refused(world: World):
    with world.province.write() as s:  # the province answers a file this office does not keep
        s.get(ReceivedReport, world.b.received_id).pdf_sha256 = "ab" * 32
    path = world.receipt("accepted")
    before = _unchanged(world)
    info = receipts.inspect_receipt(world.office, path)
    assert (info.status, info.code) == ("invalid", "other_version")
    with pytest.raises(UserError, match=f"{path.name}.*another version"):
        receipts.apply_receipt(world.office, path)
    assert _unchanged(world) == before == ("issued", PeriodState.LOCKED)


def test_a_receipt_signed_by_an_untrusted_certificate_is_refused(world: World):
    stranger = signing.load_pkcs12(world.b.other_pki.office, world.b.other_pki.password)
    receipts.decide(world.province, world.b.received_id, "returned", "Thiếu phụ lục")
    name, data = receipts.build_receipt(world.province, world.b.received_id, stranger)
    path = package_files.write_safely(world.stick, name, data)
    info = receipts.inspect_receipt(world.office, path)
    assert (info.status, info.code) == ("invalid", "untrusted")
    with pytest.raises(UserError, match="root certificate"):
        receipts.apply_receipt(world.office, path)
    assert _unchanged(world) == ("issued", PeriodState.LOCKED)


def test_a_receipt_for_another_office_is_refused(world: World):
    with world.province.write() as s:
        s.get(ReceivedReport, world.b.received_id).sender_office_uuid = "00000000-0000-4000-8000-000000000001"
    path = world.receipt("accepted")
    info = receipts.inspect_receipt(world.office, path)
    assert (info.status, info.code) == ("invalid", "other_office")
    with pytest.raises(UserError, match="another office"):
        receipts.apply_receipt(world.office, path)
    assert world.report().state == "issued"


def test_a_tampered_receipt_is_refused(world: World):
    path = world.receipt("accepted")
    data = bytearray(path.read_bytes())
    raw = package_files.read(path, ("receipt.pdf",))
    pdf = raw.members["receipt.pdf"]
    # the index rewritten to say "returned" (a forger's easiest try): it disagrees with the signed data
    forged = package_files.build({**{k: v for k, v in raw.manifest.items() if k != "parts"},
                                  "decision": "returned"}, {"receipt.pdf": pdf})
    (world.stick / "forged.dbcpkg").write_bytes(forged)
    info = receipts.inspect_receipt(world.office, world.stick / "forged.dbcpkg")
    assert (info.status, info.code) == ("invalid", "manifest")
    # and the package itself with a flipped byte
    data[len(data) // 2] ^= 0x01
    (world.stick / "flipped.dbcpkg").write_bytes(bytes(data))
    info = receipts.inspect_receipt(world.office, world.stick / "flipped.dbcpkg")
    assert info.status == "invalid" and info.problem
    for name in ("forged.dbcpkg", "flipped.dbcpkg"):
        with pytest.raises(UserError):
            receipts.apply_receipt(world.office, world.stick / name)
    assert _unchanged(world) == ("issued", PeriodState.LOCKED)


def test_a_flipped_byte_in_the_pdf_is_refused_even_with_a_matching_manifest(world: World):
    path = world.receipt("returned", "Thiếu phụ lục")
    raw = package_files.read(path, ("receipt.pdf",))
    pdf = bytearray(raw.members["receipt.pdf"])
    pdf[len(pdf) // 3] ^= 0x20
    forged = package_files.build({k: v for k, v in raw.manifest.items() if k != "parts"},
                                 {"receipt.pdf": bytes(pdf)})
    target = world.stick / "PhieuTraLai_flip.dbcpkg"
    target.write_bytes(forged)
    info = receipts.inspect_receipt(world.office, target)
    assert info.status == "invalid"
    with pytest.raises(UserError):
        receipts.apply_receipt(world.office, target)
    assert world.report().state == "issued"


def test_a_report_package_is_not_a_receipt(world: World):
    pdf = report_signing.signed_file(world.office, world.b.report_id)
    package = package_files.build({"kind": "report"}, {"report.pdf": pdf})
    path = world.stick / "MuongPhang_2025-Q3_abcdef12.dbcpkg"
    path.write_bytes(package)
    info = receipts.inspect_receipt(world.office, path)
    assert (info.status, info.code) == ("invalid", "not_receipt")
    assert path.name in info.problem and "PhieuNhan_" in info.problem


def test_a_package_of_another_kind_with_a_receipt_member_is_not_a_receipt(world: World):
    pdf = report_signing.signed_file(world.office, world.b.report_id)
    path = world.stick / "plan.dbcpkg"
    path.write_bytes(package_files.build({"kind": "plan"}, {"receipt.pdf": pdf}))
    info = receipts.inspect_receipt(world.office, path)
    assert (info.status, info.code) == ("invalid", "not_receipt")


def test_a_signed_report_dressed_as_a_receipt_is_refused(world: World):
    pdf = report_signing.signed_file(world.office, world.b.report_id)  # signed and trusted, but no receipt data
    path = world.stick / "PhieuNhan_gia.dbcpkg"
    path.write_bytes(package_files.build({"kind": "receipt"}, {"receipt.pdf": pdf}))
    info = receipts.inspect_receipt(world.office, path)
    assert (info.status, info.code) == ("invalid", "not_receipt")


@pytest.mark.parametrize("content", [b"", b"not a package at all", b"%PDF-1.7\n...", b"PK\x03\x04broken"])
def test_random_files_are_refused_with_a_message(world: World, content: bytes):
    path = world.stick / "PhieuNhan_x.dbcpkg"
    path.write_bytes(content)
    info = receipts.inspect_receipt(world.office, path)
    assert info.status == "invalid" and path.name in info.problem
    with pytest.raises(UserError):
        receipts.apply_receipt(world.office, path)


def test_a_zip_with_other_members_is_refused(world: World):
    path = world.stick / "PhieuNhan_y.dbcpkg"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("manifest.json", "{}")
        z.writestr("evil.txt", "x")
    assert receipts.inspect_receipt(world.office, path).status == "invalid"


def test_the_file_name_is_ascii():
    name = receipts.file_name("Ủy ban nhân dân xã Đứa Mòn (dữ liệu mẫu)", "2025-Q3",
                              "0f1e2d3c-0000-4000-8000-000000000000", "returned")
    assert name == "PhieuTraLai_UyBanNhanDanXaDuaMonDuLieuMau_2025-Q3_0f1e2d3c.dbcpkg"
