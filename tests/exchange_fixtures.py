"""Two offices and a test PKI, for tests of what travels between offices on a USB stick.

- ``sending_office``: a commune with a demo register (2026) and its own office identity;
- ``issue_report``: build, sign (the leader) and seal (the registry) a period report;
- ``correct_report``: reopen the period, change the register, and issue a correction;
- ``receiving_office``: a province department whose directory lists the sending office
  (spelled differently: upper case) and whose trust list holds the test PKI's root;
- ``file_digest``: the SHA-256 of a database file with its write-ahead log folded in, to
  assert that a refused package left the database byte-for-byte unchanged.

Building the world is slow (demo data, signatures): tests build it once per module and copy
the receiving database's file for each test (``copy_database``).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy import text

import pki
import signature_images as images
from dbcomm.domain.models import OfficeIdentity
from dbcomm.domain.report import Narrative
from dbcomm.domain.roles import PeriodState
from dbcomm.services import (
    activities,
    demo,
    orgs,
    periods,
    plans,
    report_signing,
    reports,
    settings,
    signing,
    trust,
)
from dbcomm.services.database import open_database
from dbcomm.services.orgs import OrgFields
from dbcomm.store.engine import Database

SIGNATURE = images.blue_signature()
SEAL = images.red_seal()
PERIOD = "2026-Q3"

SENDER = OfficeIdentity(
    name="Ủy ban nhân dân xã Mường Phăng", parent_agency="UBND tỉnh Điện Biên", kind="commune",
    place_name="Mường Phăng", symbol="UBND", signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
    signer_name="Lò Văn Thắng")
# how the province's directory spells the same office: case and diacritics differ only in form
SENDER_IN_DIRECTORY = "ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG"

RECEIVER = OfficeIdentity(
    name="Sở Giáo dục và Đào tạo tỉnh Điện Biên", parent_agency="UBND tỉnh Điện Biên", kind="department",
    place_name="Điện Biên Phủ", symbol="SGDĐT", signer_title="GIÁM ĐỐC", signer_name="Lường Thị Hoa")


@dataclass
class Signers:
    pki: pki.TestPKI
    leader: signing.Identity
    office: signing.Identity


def make_signers(folder: Path) -> Signers:
    folder.mkdir(parents=True, exist_ok=True)
    test_pki = pki.build(folder)
    return Signers(test_pki, signing.load_pkcs12(test_pki.leader, test_pki.password),
                   signing.load_pkcs12(test_pki.office, test_pki.password))


def open_db(path: Path) -> Database:
    """Open an existing database file (already migrated) without the daily checks."""
    return Database(path)


def sending_office(path: Path, *, count: int = 200, seed: int = 386,
                   office: OfficeIdentity = SENDER) -> Database:
    """A commune's database: its identity and ``count`` demo activities dated in 2026 up to 30/9."""
    db = open_database(path)
    settings.save_office(db, office)
    settings.mark_setup_done(db)
    demo.generate(db, count, seed=seed, start=date(2026, 1, 1), end=date(2026, 9, 30))
    return db


def default_plan_id(db: Database) -> int:
    return plans.default_plan(db).id


def issue_report(db: Database, signers: Signers, *, period_key: str = PERIOD, number: str = "7",
                 doc_date: date = date(2026, 10, 6), report_id: int | None = None) -> int:
    """Build (unless ``report_id`` is a built draft … it is built again), sign and seal a report;
    the number and the date are filled in by the registry when it seals."""
    if report_id is None:
        cfg = reports.default_settings(db, default_plan_id(db), period_key)
        cfg = replace(cfg, number="", date_by_registry=True)
        info = reports.save_draft(db, None, cfg, Narrative(
            direction="Ủy ban nhân dân xã đã ban hành kế hoạch và chỉ đạo các thôn, bản triển khai."))
        report_id = info.id
    reports.build(db, report_id)
    report_signing.sign_report(db, report_id, signers.leader, SIGNATURE)
    report_signing.seal_report(db, report_id, signers.office, SEAL, 36, number=number, doc_date=doc_date)
    return report_id


def correct_report(db: Database, signers: Signers, report_id: int, *, change: dict[int, dict[str, object]],
                   delete: list[int], number: str = "9", doc_date: date = date(2026, 10, 20)) -> int:
    """Reopen the period, change and delete activities (by id), then issue a correction report."""
    with db.read() as s:
        from dbcomm.store.models import Report

        r = s.get(Report, report_id)
        assert r is not None
        plan_id, key = r.plan_id, r.period_key
    periods.transition(db, plan_id, key, PeriodState.DRAFT, note="Sửa số liệu theo yêu cầu của Sở")
    for activity_id, fields in change.items():
        record = activities.get(db, activity_id)
        value = activities.duplicate_input(db, activity_id, record.date_start)
        value = replace(value, date_end=record.date_end, **fields)  # type: ignore[arg-type]
        activities.update(db, activity_id, value, record.version)
    if delete:
        activities.delete(db, delete)
    fix = report_signing.make_correction(db, report_id)
    return issue_report(db, signers, number=number, doc_date=doc_date, report_id=fix.id)


def receiving_office(path: Path, root_pem: bytes, *, directory: tuple[str, ...] = (SENDER_IN_DIRECTORY,)) -> Database:
    """A province department: its identity, the sending office in its directory, the PKI root trusted."""
    db = open_database(path)
    settings.save_office(db, RECEIVER)
    settings.mark_setup_done(db)
    for name in directory:
        orgs.save_org(db, None, OrgFields(name=name, kind="commune"))
    trust.import_roots(db, root_pem)
    return db


def checkpoint(db: Database) -> None:
    with db.engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def file_digest(db: Database) -> str:
    """The SHA-256 of the database file, with everything committed folded into it first."""
    checkpoint(db)
    return hashlib.sha256(Path(db.path).read_bytes()).hexdigest()


def close_to_file(db: Database) -> Path:
    """Close a database so that its file alone holds everything (a template to copy)."""
    checkpoint(db)
    db.close()
    return Path(db.path)


def copy_database(template: Path, target: Path) -> Database:
    shutil.copyfile(template, target)
    return open_db(target)
