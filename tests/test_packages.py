"""Report packages on a USB stick: send, inspect, dry run, import — and refuse bad packages.

One sending commune (a demo register) issues its Q3 2026 report and a correction; a province
department imports them.  The world is built once per module; each test works on its own copy
of the department's database file.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

import exchange_fixtures as xf
import package_corpus as corpus
from dbcomm.domain.models import ActivityFilter, ActivityInput, Totals
from dbcomm.domain.report import Narrative
from dbcomm.domain.text import fold, vi_sort_key
from dbcomm.errors import UserError
from dbcomm.services import (
    activities,
    audit,
    exchange_data,
    packages,
    report_signing,
    reports,
    signing,
)
from dbcomm.services.package_files import PackageError
from dbcomm.store.engine import Database
from dbcomm.store.models import Activity, Organisation, ReceivedReport, Report


@pytest.fixture(autouse=True)
def _english():
    """The messages are checked in English here (the Vietnamese ones by the translation tests)."""
    from dbcomm import i18n

    i18n.set_language("en")


@dataclass
class World:
    sender: Database
    report_id: int
    correction_id: int
    stick: Path  # where the first report was sent
    package: Path  # the first report's package
    correction: Path  # the correction's package
    totals_v1: Totals  # the sender's register for the period when each was issued
    totals_v2: Totals
    changed_uuid: str  # the activity the correction changes
    deleted_uuid: str  # … and the one it deletes
    receiving_template: Path
    own_uuid: str
    corpus: dict[str, Path]
    nfd: Path
    base: corpus.Base


def _period_filter(db: Database, origin: int | str | None = None) -> ActivityFilter:
    f = activities.filter_for_period(db, xf.default_plan_id(db), xf.PERIOD)
    return replace(f, origin=origin)


def _own_activity(db: Database) -> str:
    plan_id = xf.default_plan_id(db)
    form = next(f for f in activities.forms(db, plan_id) if f.code == "F1")
    return activities.create(db, ActivityInput(
        plan_id=plan_id, date_start=date(2026, 8, 12), form_id=form.id, subtype="press",
        title="Bài viết về Tuần lễ hưởng ứng học tập suốt đời trên Cổng thông tin của Sở", items=1)).uuid


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("exchange")
    signers = xf.make_signers(root / "pki")
    sender = xf.sending_office(root / "xa-muong-phang.sqlite3", count=200, seed=2026)
    report_id = xf.issue_report(sender, signers)
    totals_v1 = activities.totals(sender, _period_filter(sender))

    # the correction: one activity's figures change, one activity is deleted
    with sender.read() as s:
        r = sender_rows = list(s.scalars(select(Activity).where(
            Activity.deleted_at.is_(None), Activity.date_start >= date(2026, 7, 1),
            Activity.date_start <= date(2026, 9, 30)).order_by(Activity.id)))
        changed, deleted = r[0], r[1]
        changed_id, changed_uuid, reach = changed.id, changed.uuid, changed.reach_total
        deleted_id, deleted_uuid = deleted.id, deleted.uuid
    assert len(sender_rows) > 20
    correction_id = xf.correct_report(sender, signers, report_id, change={changed_id: {"reach_total": reach + 777}},
                                      delete=[deleted_id])
    totals_v2 = activities.totals(sender, _period_filter(sender))
    # both are sent after the correction is made: a sent report cannot be corrected yet (see
    # test_a_sent_report_can_be_corrected)
    stick = root / "stick"
    stick.mkdir()
    package = packages.send(sender, report_id, stick)
    stick2 = root / "stick2"
    stick2.mkdir()
    correction = packages.send(sender, correction_id, stick2)

    receiving = xf.receiving_office(root / "so-gddt.sqlite3", signers.pki.root_pem)
    own_uuid = _own_activity(receiving)
    template = xf.close_to_file(receiving)

    stranger_leader, stranger_office = corpus.stranger_signers(root / "other-pki")
    pdf = report_signing.signed_file(sender, report_id)
    base = corpus.Base(
        package=package.read_bytes(), pdf=pdf, unsigned_pdf=reports.render_stored(sender, report_id).pdf,
        data=json.loads(signing.attachments_of(pdf)[exchange_data.DATA_FILE]),
        leader=signers.leader, office=signers.office, stranger_leader=stranger_leader,
        stranger_office=stranger_office, own_uuid=own_uuid)
    paths = corpus.build(root / "corpus", base)
    nfd = root / "nfd.dbcpkg"
    nfd.write_bytes(corpus.nfd_package(base))
    return World(sender, report_id, correction_id, stick, package, correction, totals_v1, totals_v2,
                 changed_uuid, deleted_uuid, template, own_uuid, paths, nfd, base)


@pytest.fixture
def province(world, tmp_path) -> Database:
    """The department's database, fresh for each test (a copy of the template file)."""
    db = xf.copy_database(world.receiving_template, tmp_path / "so-gddt.sqlite3")
    yield db
    db.close()


def sender_org_id(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(Organisation.id).where(Organisation.name_fold == fold(xf.SENDER_IN_DIRECTORY)))


def received_totals(db: Database) -> Totals:
    return activities.totals(db, _period_filter(db, origin=sender_org_id(db)))


# --- sending --------------------------------------------------------------------------------


def test_sending_writes_one_package_that_reads_back_equal_and_marks_the_report_sent(world, tmp_path):
    files = list(world.stick.iterdir())
    assert files == [world.package]  # one file, no temporary left behind
    assert re.fullmatch(r"MuongPhang_2026-Q3_[0-9a-f]{8}\.dbcpkg", world.package.name)
    assert world.package.read_bytes() == packages.build_report_package(world.sender, world.report_id)
    info = reports.get_report(world.sender, world.report_id).info
    assert info.state == "sent"
    with world.sender.read() as s:
        r = s.get(Report, world.report_id)
        assert r.sent_at is not None
        assert world.package.name.split("_")[2].startswith(r.uuid[:8])
    exported = [e for e in audit.entries(world.sender, entity_uuid=info.uuid) if e.action == "export"]
    assert len(exported) == 1 and world.package.name in exported[0].summary

    again = packages.send(world.sender, world.report_id, tmp_path)  # a re-send: same bytes, still "sent"
    assert again.read_bytes() == world.package.read_bytes()
    assert reports.get_report(world.sender, world.report_id).info.state == "sent"

    with zipfile.ZipFile(world.package) as archive:
        assert sorted(archive.namelist()) == ["manifest.json", "report.pdf"]
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("report.pdf") == report_signing.signed_file(world.sender, world.report_id)
    assert manifest["kind"] == "report" and manifest["sender"]["name"] == xf.SENDER.name
    assert manifest["sender"]["uuid"] == exchange_data.office_uuid(world.sender)
    assert manifest["report"]["number"] == "07" and manifest["report"]["date"] == "2026-10-06"
    assert manifest["counts"]["activities"] == world.totals_v1.count


def test_a_report_that_is_not_issued_cannot_be_sent(world, tmp_path):
    plan_id = xf.default_plan_id(world.sender)
    cfg = reports.default_settings(world.sender, plan_id, "2026-Q2")
    draft = reports.save_draft(world.sender, None, cfg, Narrative())
    with pytest.raises(UserError, match="Only an issued report"):
        packages.send(world.sender, draft.id, tmp_path)
    assert list(tmp_path.iterdir()) == []
    reports.delete_report(world.sender, draft.id)


def test_a_sent_report_can_be_corrected(world):
    assert reports.get_report(world.sender, world.report_id).info.state == "sent"
    fix = report_signing.make_correction(world.sender, world.report_id)
    reports.delete_report(world.sender, fix.id)


# --- receiving ------------------------------------------------------------------------------


def test_a_new_package_is_inspected_as_new_with_what_the_signed_report_says(world, province):
    info = packages.inspect(province, world.package)
    assert (info.status, info.problem) == ("new", "")
    assert info.sender_name == xf.SENDER.name and info.sender_uuid == exchange_data.office_uuid(world.sender)
    assert (info.period_key, info.date_from, info.date_to) == ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))
    assert (info.number, info.doc_date) == ("07", date(2026, 10, 6))  # the registry's form fields
    assert info.signers == ["Lò Văn Thắng", "UBND xã Mường Phăng"] and info.verdict == "valid"
    assert info.activity_count == world.totals_v1.count
    assert info.sha256 == hashlib.sha256(world.package.read_bytes()).hexdigest()


def test_the_dry_run_counts_what_would_be_added_and_writes_nothing(world, province):
    before = xf.file_digest(province)
    plan = packages.plan_import(province, world.package)
    assert plan.counts == {"add": world.totals_v1.count, "change": 0, "unchanged": 0, "remove": 0,
                           "conflicts": 0}
    assert xf.file_digest(province) == before


def test_importing_adds_the_activities_with_their_origin_and_the_senders_totals(world, province):
    from dbcomm.services import backup

    info = packages.inspect(province, world.package)
    result = packages.apply_import(province, world.package, info.sha256)
    assert result.changed and result.added == world.totals_v1.count
    # the database as it was just before the import is in the backups folder, as before any import
    assert [b.reason for b in backup.list_backups(province.path)].count("before-report-import") == 1
    sender_id = sender_org_id(province)
    assert received_totals(province) == world.totals_v1
    assert activities.totals(province, _period_filter(province)).count == 1  # its own register: unchanged
    with province.read() as s:
        row = s.get(ReceivedReport, result.received_id)
        assert (row.sender_id, row.state, row.number, row.doc_date) == (sender_id, "received", "07",
                                                                         date(2026, 10, 6))
        assert row.signers.splitlines() == ["Lò Văn Thắng", "UBND xã Mường Phăng"]
        assert row.signed_pdf == report_signing.signed_file(world.sender, world.report_id)
        assert row.package_sha256 == info.sha256 and row.sealed_at is not None
        got = list(s.scalars(select(Activity).where(Activity.origin_id == sender_id)))
        assert {a.origin_report_id for a in got} == {row.id}
        a = got[0]
        assert a.title_fold == fold(a.title) and a.title_sort == vi_sort_key(a.title)
        assert fold(a.title) in a.search_text
        places = [a.place for a in got if a.place is not None]
        assert places and all(p.parent_id == sender_id and not p.in_area for p in places)
    signed = exchange_data.parse(signing.attachments_of(report_signing.signed_file(
        world.sender, world.report_id))[exchange_data.DATA_FILE])  # what the sender signed, version for version
    assert {(a.uuid, a.version, a.reach_total, a.title) for a in signed.activities} == {
        (a.uuid, a.version, a.reach_total, a.title) for a in got}
    imported = [e for e in audit.entries(province) if e.action == "import" and e.entity == "report"]
    assert len(imported) == 1


def test_received_activities_are_stored_as_the_sending_office_stored_them(world, province):
    """The bulk import writes the same cleaned text, keys and links as the activity service did
    at the sending office, field for field."""
    packages.apply_import(province, world.package)

    def stored(db: Database, origin: int | None) -> dict[str, tuple]:
        with db.read() as s:
            rows = s.scalars(select(Activity).where(Activity.origin_id.is_(None) if origin is None
                                                    else Activity.origin_id == origin))
            return {a.uuid: (a.version, a.date_start, a.date_end, a.form.code, a.subtype, a.title, a.title_fold,
                             a.title_sort, a.description, a.partner, a.notes, a.search_text, a.languages, a.items,
                             a.minutes, a.sessions, a.reach_total, a.cost, a.funding,
                             a.place.name if a.place else None,
                             sorted(n.code for n in a.nodes), sorted(p.code for p in a.programmes),
                             sorted((r.dimension, r.category, r.count) for r in a.reach))
                    for a in rows}

    received = stored(province, sender_org_id(province))
    own = stored(world.sender, None)
    assert len(received) == world.totals_v1.count
    # the same versions (a few were edited at the sending office after this package was sent)
    same = {u for u in received if own[u][0] == received[u][0]}
    assert len(same) >= len(received) - 3
    assert {u: received[u] for u in same} == {u: own[u] for u in same}


def test_reimporting_a_package_adds_nothing(world, province):
    packages.apply_import(province, world.package)
    before = xf.file_digest(province)
    info = packages.inspect(province, world.package)
    assert info.status == "already"
    again = packages.apply_import(province, world.package)
    assert not again.changed and again.added == 0
    assert xf.file_digest(province) == before
    assert received_totals(province) == world.totals_v1


def test_a_correction_replaces_the_figures_and_keeps_both_reports(world, province):
    first = packages.apply_import(province, world.package)
    info = packages.inspect(province, world.correction)
    assert info.status == "newer" and info.number == "09"
    plan = packages.plan_import(province, world.correction)
    assert plan.to_change == [world.changed_uuid] and plan.to_remove == [world.deleted_uuid]
    assert len(plan.unchanged) == world.totals_v2.count - 1 and plan.to_add == []
    result = packages.apply_import(province, world.correction)
    assert (result.updated, result.removed) == (1, 1)
    assert received_totals(province) == world.totals_v2
    with province.read() as s:
        rows = {r.id: r for r in s.scalars(select(ReceivedReport))}
        assert rows[first.received_id].state == "superseded"
        assert rows[result.received_id].state == "received"
        assert rows[result.received_id].supersedes_id == first.received_id
        gone = s.scalar(select(Activity).where(Activity.uuid == world.deleted_uuid))
        assert gone.deleted_at is not None  # kept, in the recycle bin: the history stays
        changed = s.scalar(select(Activity).where(Activity.uuid == world.changed_uuid))
        assert changed.version == 2 and changed.origin_report_id == result.received_id


def test_the_older_version_afterwards_is_refused_and_changes_nothing(world, province):
    packages.apply_import(province, world.package)
    packages.apply_import(province, world.correction)
    before = xf.file_digest(province)
    info = packages.inspect(province, world.package)
    assert info.status == "older" and "earlier version" in info.problem and "09" in info.problem
    with pytest.raises(PackageError) as caught:
        packages.apply_import(province, world.package)
    assert caught.value.code == "older"
    assert xf.file_digest(province) == before
    assert received_totals(province) == world.totals_v2


def test_the_original_read_after_its_correction_is_older(world, province):
    packages.apply_import(province, world.correction)
    assert packages.inspect(province, world.package).status == "older"
    assert received_totals(province) == world.totals_v2


def signed_data_v1(world: World) -> exchange_data.PeriodData:
    pdf = report_signing.signed_file(world.sender, world.report_id)
    return exchange_data.parse(signing.attachments_of(pdf)[exchange_data.DATA_FILE])


def test_nfd_text_in_the_signed_data_is_stored_as_nfc(world, province):
    with zipfile.ZipFile(world.nfd) as archive:
        raw = json.loads(signing.attachments_of(archive.read("report.pdf"))[exchange_data.DATA_FILE])
    assert raw["activities"][0]["title"] != unicodedata.normalize("NFC", raw["activities"][0]["title"])  # NFD indeed
    info = packages.inspect(province, world.nfd)
    assert info.status == "new", info.problem
    assert info.sender_name == xf.SENDER.name  # NFC again
    packages.apply_import(province, world.nfd)
    expected = signed_data_v1(world)  # the same report, as the sender wrote it (NFC)
    with province.read() as s:
        got = list(s.scalars(select(Activity).where(Activity.origin_id == sender_org_id(province))))
        assert sorted(a.title for a in got) == sorted(a.title for a in expected.activities)
        assert sorted(a.description for a in got) == sorted(a.description for a in expected.activities)
        assert all(a.title_fold == fold(a.title) for a in got)
        places = {a.place.name for a in got if a.place is not None}
        assert places == {a.place for a in expected.activities if a.place}
        received = s.scalar(select(ReceivedReport))
        assert received.sender_name == xf.SENDER.name


def test_the_same_version_of_an_activity_with_other_content_is_a_conflict(world, province, tmp_path):
    packages.apply_import(province, world.package)
    original = world.base.data["activities"][0]

    def change(data):
        data["report"]["supersedes"] = data["report"]["uuid"]
        data["report"]["uuid"] = str(uuid.uuid4())
        data["activities"][0]["reach_total"] += 5  # the version number stays the same

    path = tmp_path / "sua-lai.dbcpkg"
    path.write_bytes(corpus.signed_package(world.base, change))
    before = xf.file_digest(province)
    plan = packages.plan_import(province, path)
    assert [c.uuid for c in plan.conflicts] == [original["uuid"]]
    assert plan.info.code == "conflict" and "different content" in plan.info.problem
    with pytest.raises(PackageError) as caught:
        packages.apply_import(province, path)
    assert caught.value.code == "conflict"
    assert xf.file_digest(province) == before


def test_importing_needs_the_import_permission(world, province):
    from dbcomm.domain.roles import Role
    from dbcomm.errors import PermissionDenied
    from dbcomm.services import auth

    auth.create_user(province, "quantri", "Nguyễn Văn Quản", Role.ADMIN, "Quản-trị 2026!")
    auth.authenticate(province, "quantri", "Quản-trị 2026!")
    auth.create_user(province, "lan", "Lò Thị Lan", Role.ENTRY, "Nhập-liệu 2026!")
    auth.authenticate(province, "lan", "Nhập-liệu 2026!")
    before = xf.file_digest(province)
    assert packages.inspect(province, world.package).status == "new"  # looking is allowed
    with pytest.raises(PermissionDenied):
        packages.apply_import(province, world.package)
    assert xf.file_digest(province) == before


def test_an_office_does_not_import_its_own_report(world, province):
    from dbcomm.services import settings

    settings.set_value(province, "office.uuid", exchange_data.office_uuid(world.sender))
    before = xf.file_digest(province)
    info = packages.inspect(province, world.package)
    assert (info.status, info.code) == ("invalid", "own_report") and "this office itself" in info.problem
    with pytest.raises(PackageError):
        packages.apply_import(province, world.package)
    assert xf.file_digest(province) == before


def test_a_package_changed_since_it_was_inspected_is_refused(world, province):
    before = xf.file_digest(province)
    with pytest.raises(PackageError) as caught:
        packages.apply_import(province, world.package, expected_sha256="0" * 64)
    assert caught.value.code == "changed"
    assert xf.file_digest(province) == before


# --- the bad-package corpus -----------------------------------------------------------------


def test_the_corpus_is_large_and_each_case_has_its_own_message():
    assert len(corpus.CASES) >= 25
    assert len({c.name for c in corpus.CASES}) == len(corpus.CASES)
    assert len({(c.code, c.fragment) for c in corpus.CASES}) == len(corpus.CASES)


@pytest.mark.parametrize("case", corpus.CASES, ids=lambda c: c.name)
def test_a_bad_package_is_refused_with_its_own_message_and_changes_nothing(world, province, case):
    path = world.corpus[case.name]
    before = xf.file_digest(province)
    info = packages.inspect(province, path)
    assert info.status == "invalid"
    assert (info.code, case.fragment in info.problem) == (case.code, True), info.problem
    assert path.name in info.problem  # the message names the file
    assert packages.plan_import(province, path).info.status == "invalid"
    with pytest.raises(PackageError) as caught:
        packages.apply_import(province, path)
    assert caught.value.code == case.code and case.fragment in str(caught.value)
    assert xf.file_digest(province) == before
    with province.read() as s:
        assert s.scalar(select(func.count(ReceivedReport.id))) == 0
