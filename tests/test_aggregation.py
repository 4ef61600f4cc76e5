"""Activities received from other offices: the own register ignores them, an aggregated report
counts them office by office.

The importer of USB packages is written elsewhere; these tests put received reports and their
activities straight into the database (``receive`` below), as the importer will.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
import uuid
from dataclasses import replace
from datetime import date, datetime

import pytest

from dbcomm.domain.models import ActivityFilter
from dbcomm.domain.periods import parse_period
from dbcomm.domain.report import Narrative, ReportContent
from dbcomm.domain.text import fold, vi_sort_key
from dbcomm.errors import ValidationFailed
from dbcomm.services import activities, orgs, periods, reports
from dbcomm.services.activities import ReceivedActivityError
from dbcomm.services.orgs import OrgFields
from dbcomm.services.report_pdf import render_pdf
from dbcomm.store.models import Activity, Organisation, ReceivedReport
from test_reports_service import OFFICE, code_id, log, settings_for

BOTH_ENGINES = True  # the same on a shared PostgreSQL server

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")

ANG_CANG = "Ủy ban nhân dân xã Ẳng Cang"
CHIENG_DONG = "Ủy ban nhân dân xã Chiềng Đông"


@pytest.fixture
def db_path(copied_db_path):
    return copied_db_path


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                         check=True).stdout.decode("utf-8")
    return " ".join(out.split())


def receive(db, plan, sender_id: int, period_key: str, rows: list[dict], *, state: str = "received",
            received_at: datetime = datetime(2026, 10, 5, 3, 0), deleted: bool = False) -> int:
    """A report received from ``sender_id`` with its activities, as the package importer stores it."""
    period = parse_period(period_key)
    with db.write() as s:
        sender = s.get(Organisation, sender_id)
        rr = ReceivedReport(
            sender_id=sender_id, sender_office_uuid=str(uuid.uuid4()), sender_name=sender.name,
            report_uuid=str(uuid.uuid4()), plan_code=plan.plan.code, period_key=period.key,
            date_from=period.start, date_to=period.end, signed_pdf=b"%PDF-1.7", pdf_sha256="0" * 64,
            received_at=received_at, state=state, activity_count=len(rows))
        s.add(rr)
        s.flush()
        for r in rows:
            title = r["title"]
            s.add(Activity(
                plan_id=plan.plan.id, form_id=code_id(plan, r["form"]), subtype="other", date_start=r["day"],
                title=title, title_fold=fold(title), title_sort=vi_sort_key(title), search_text=fold(title),
                languages=r.get("languages", "vi"), items=r.get("items", 0), sessions=r.get("sessions", 0),
                minutes=r.get("minutes", 0), reach_total=r.get("reach", 0), origin_id=sender_id,
                origin_report_id=rr.id, deleted_at=datetime(2026, 10, 6) if deleted else None))
        return rr.id


@pytest.fixture
def office(db):
    from dbcomm.services import settings

    settings.save_office(db, OFFICE)
    return OFFICE


@pytest.fixture
def own(db, plan, office):
    """The office's own register: three activities in Q3 2026."""
    return {
        "radio": log(db, plan, date(2026, 7, 3), "F1", "Chuyên mục Xã hội học tập trên sóng phát thanh",
                     items=3, minutes=45, reach=1200),
        "loud": log(db, plan, date(2026, 8, 14), "F3", "Phát thanh loa bằng tiếng Thái", sessions=12,
                    minutes=120, reach=3400),
        "school": log(db, plan, date(2026, 9, 30), "F4", "Ngày hội đọc sách tại trường tiểu học", sessions=1,
                      reach=450),
    }


@pytest.fixture
def senders(db):
    """Two sending offices; one name typed in NFD."""
    ang = orgs.save_org(db, None, OrgFields(name=unicodedata.normalize("NFD", ANG_CANG), kind="commune",
                                            in_area=True)).id
    chieng = orgs.save_org(db, None, OrgFields(name=CHIENG_DONG, kind="commune", in_area=True)).id
    return {"ang": ang, "chieng": chieng}


@pytest.fixture
def received(db, plan, own, senders):
    """Q3 2026 reports of both senders, and a superseded older version of Chiềng Đông's."""
    ids = {}
    ids["ang"] = receive(db, plan, senders["ang"], "2026-Q3", [
        {"day": date(2026, 7, 10), "form": "F3", "title": "Phát thanh loa tiếng Mông ở bản Co Muông",
         "sessions": 8, "minutes": 60, "reach": 900, "languages": "hmong"},
        {"day": date(2026, 8, 2), "form": "F1", "title": "Chuyên mục Xã hội học tập trên sóng phát thanh",
         "items": 2, "minutes": 30, "reach": 500},
    ])
    ids["chieng_old"] = receive(db, plan, senders["chieng"], "2026-Q3", [
        {"day": date(2026, 9, 1), "form": "F4", "title": "Bản cũ bị thay thế", "sessions": 99, "reach": 9999},
    ], state="superseded", deleted=True)
    ids["chieng"] = receive(db, plan, senders["chieng"], "2026-Q3", [
        {"day": date(2026, 9, 5), "form": "F4", "title": "Ngày hội khuyến học của xã", "sessions": 1,
         "reach": 300},
    ])
    return ids


def received_ids(db) -> list[int]:
    with db.read() as s:
        return [a.id for a in s.query(Activity).filter(Activity.origin_id.is_not(None)).order_by(Activity.id)]


# --- the office's own register ---------------------------------------------------------------------


def test_the_register_shows_only_the_offices_own_activities_unless_asked(db, plan, own, senders, received):
    pid = plan.plan.id
    assert sorted(activities.list_ids(db, ActivityFilter(plan_id=pid))) == sorted(own.values())
    assert activities.totals(db, ActivityFilter(plan_id=pid)).count == 3
    assert {r.id for r in activities.list_rows(db, ActivityFilter(plan_id=pid))} == set(own.values())
    # a title both the office and a sender used is found once, the office's own
    found = activities.list_ids(db, ActivityFilter(plan_id=pid, text="xa hoi hoc tap"))
    assert found == [own["radio"]]

    everyone = activities.totals(db, ActivityFilter(plan_id=pid, origin="all"))
    assert (everyone.count, everyone.reach) == (3 + 3, 1200 + 3400 + 450 + 900 + 500 + 300)
    one = activities.list_rows(db, ActivityFilter(plan_id=pid, origin=senders["ang"]))
    assert sorted(r.title for r in one) == ["Chuyên mục Xã hội học tập trên sóng phát thanh",
                                            "Phát thanh loa tiếng Mông ở bản Co Muông"]
    # the recycle bin is the office's own too: a superseded package's rows are not in it
    assert activities.list_ids(db, ActivityFilter(plan_id=pid, deleted=True)) == []
    with pytest.raises(ValueError):
        activities.list_ids(db, ActivityFilter(plan_id=pid, origin="everyone"))


def test_period_counts_and_duplicate_hints_leave_received_activities_out(db, plan, own, received):
    rows = {r.key: r.activities for r in periods.list_periods(db, plan.plan.id, today=date(2026, 11, 1))}
    assert rows["2026-Q3"] == 3 and rows["2026-08"] == 1
    value = activities.get(db, own["loud"])
    copy = replace(value, date_start=date(2026, 7, 10), form_id=code_id(plan, "F3"),
                   title="Phát thanh loa tiếng Mông ở bản Co Muông")
    assert activities.likely_duplicates(db, copy) == []  # a sender's activity is not a duplicate


def test_an_activity_received_from_another_office_cannot_be_changed_or_deleted(db, plan, own, received):
    target = received_ids(db)[0]
    with db.read() as s:
        before = (s.get(Activity, target).version, s.get(Activity, target).title)
    with pytest.raises(ReceivedActivityError) as refused:
        activities.get(db, target)
    assert ANG_CANG in str(refused.value) and "Ủy ban" in str(refused.value)
    record = activities.get(db, target, include_received=True)  # shown read-only
    with pytest.raises(ReceivedActivityError):
        activities.update(db, target, replace(record, title="Sửa trộm"), record.version)
    with pytest.raises(ReceivedActivityError) as refused:
        activities.delete(db, [own["radio"], target])  # nothing of a mixed selection is deleted
    assert ANG_CANG in str(refused.value)
    superseded = next(i for i in received_ids(db) if activities.get(db, i, include_received=True).title
                      == "Bản cũ bị thay thế")
    with pytest.raises(ReceivedActivityError):
        activities.restore(db, [superseded])
    with db.read() as s:
        assert (s.get(Activity, target).version, s.get(Activity, target).title) == before
        assert s.get(Activity, own["radio"]).deleted_at is None
        assert s.get(Activity, superseded).deleted_at is not None


def test_the_refusal_is_translated(db, plan, own, received):
    from dbcomm import i18n

    i18n.set_language("en")
    with pytest.raises(ReceivedActivityError) as refused:
        activities.delete(db, received_ids(db)[:1])
    assert "belongs to that office" in str(refused.value)
    assert "correction must come from" in str(refused.value)


# --- the office's own reports ----------------------------------------------------------------------


def test_own_reports_dashboards_and_their_pdf_do_not_change_when_reports_come_in(db, plan, own, senders):
    cfg = settings_for(db, plan)
    before = reports.compute(db, cfg, Narrative())
    coverage_before = reports.coverage(db, plan.plan.id, 2026)
    progress_before = reports.indicator_progress(db, plan.plan.id, 2026)
    report = reports.save_draft(db, None, cfg, Narrative())
    reports.build(db, report.id, today=date(2026, 10, 5))
    receive(db, plan, senders["ang"], "2026-Q3", [
        {"day": date(2026, 7, 10), "form": "F3", "title": "Phát thanh loa tiếng Mông", "sessions": 8,
         "reach": 900}])
    after = reports.compute(db, cfg, Narrative())
    assert after.to_json() == before.to_json()
    assert render_pdf(after) == render_pdf(before)
    assert '"scope"' not in after.to_json() and '"by_office"' not in after.to_json()
    assert reports.coverage(db, plan.plan.id, 2026) == coverage_before
    assert reports.indicator_progress(db, plan.plan.id, 2026) == progress_before
    assert reports.changed_since_build(db, report.id) == 0
    assert reports.render_stored(db, report.id).identical


# --- a report over every office's data --------------------------------------------------------------


def test_a_report_over_all_offices_counts_own_and_received_activities_office_by_office(
        db, plan, own, senders, received):
    own_c = reports.compute(db, settings_for(db, plan), Narrative())
    c = reports.compute(db, settings_for(db, plan, scope="all"), Narrative())
    assert c.scope == "all"
    assert (c.totals.activities, c.totals.items, c.totals.sessions, c.totals.minutes, c.totals.reach) == (
        own_c.totals.activities + 3, own_c.totals.items + 2, own_c.totals.sessions + 9,
        own_c.totals.minutes + 90, own_c.totals.reach + 1700)
    # Vietnamese order (Ẳ before C before M), not code-point order (C, M, Ẳ)
    assert [f.label for f in c.by_office] == [ANG_CANG, CHIENG_DONG, OFFICE.name]
    assert [f.label for f in c.by_office] != sorted(f.label for f in c.by_office)
    assert [(f.activities, f.items, f.sessions, f.minutes, f.reach) for f in c.by_office] == [
        (2, 2, 8, 90, 1400), (1, 0, 1, 0, 300), (3, 3, 13, 165, 5050)]
    assert sum(f.activities for f in c.by_office) == c.totals.activities
    assert [f.activities for f in c.by_form] == [2, 0, 2, 2, 0]
    assert "Bản cũ bị thay thế" not in {a.title for a in c.annex}  # superseded: soft-deleted
    assert [(a.title, a.office) for a in c.annex if a.office != OFFICE.name] == [
        ("Phát thanh loa tiếng Mông ở bản Co Muông", ANG_CANG),
        ("Chuyên mục Xã hội học tập trên sóng phát thanh", ANG_CANG),
        ("Ngày hội khuyến học của xã", CHIENG_DONG)]
    assert len(c.activity_versions) == 6
    assert [f.label for f in c.by_language] == ["Tiếng Việt", "Tiếng Mông"]
    # the draft says whose reports it brings together
    draft = reports.draft_narrative(c)
    assert "2 đơn vị đã gửi về" in draft.direction and ANG_CANG in draft.direction
    assert "Báo cáo này tổng hợp" not in reports.draft_narrative(own_c).direction


def test_a_sender_with_a_report_but_no_activity_has_a_line_of_zeros(db, plan, own, senders):
    receive(db, plan, senders["chieng"], "2026-Q3", [])
    c = reports.compute(db, settings_for(db, plan, scope="all"), Narrative())
    assert [(f.label, f.activities) for f in c.by_office] == [(CHIENG_DONG, 0), (OFFICE.name, 3)]


def test_the_aggregated_content_is_stored_and_read_back_and_old_contents_still_load(
        db, plan, own, received):
    c = reports.compute(db, settings_for(db, plan, scope="all"), Narrative())
    again = ReportContent.from_json(c.to_json())
    assert again == c and again.by_office[0].label == ANG_CANG
    old = json.loads(reports.compute(db, settings_for(db, plan), Narrative()).to_json())
    assert "scope" not in old and "by_office" not in old and "office" not in old["annex"][0]
    loaded = ReportContent.from_json(json.dumps(old))
    assert (loaded.scope, loaded.by_office, loaded.annex[0].office) == ("own", [], "")


def test_building_and_checking_an_aggregated_report_keeps_its_scope(db, plan, own, senders, received):
    report = reports.save_draft(db, None, settings_for(db, plan, scope="all"), Narrative())
    assert reports.get_report(db, report.id).settings.scope == "all"
    built = reports.build(db, report.id, today=date(2026, 10, 5))
    assert built.info.activity_count == 6
    assert reports.changed_since_build(db, report.id) == 0
    receive(db, plan, senders["chieng"], "2026-Q3", [
        {"day": date(2026, 9, 20), "form": "F2", "title": "Bài đăng trên trang của xã", "items": 1}])
    assert reports.changed_since_build(db, report.id) == 1
    with pytest.raises(ValidationFailed):
        reports.save_draft(db, None, settings_for(db, plan, scope="everyone"), Narrative())


@needs_poppler
def test_the_pdf_of_an_aggregated_report_has_a_table_per_office_and_names_them_in_the_annex(
        db, plan, own, received):
    c = reports.compute(db, settings_for(db, plan, scope="all"), Narrative())
    text = pdf_text(render_pdf(c))
    assert "2. Kết quả theo đơn vị" in text
    table = text.split("Kết quả theo đơn vị", 2)[2]
    assert table.index("Ẳng Cang") < table.index("Chiềng Đông") < table.index("Mường Phăng")
    assert "Ủy ban nhân dân xã Ẳng Cang 2 2 8 90 1.400" in table
    assert "Ủy ban nhân dân xã Chiềng Đông 1 0 1 0 300" in table
    assert "Ủy ban nhân dân xã Mường Phăng 3 3 13 165 5.050" in table
    assert "Tổng cộng 6 5 22 255 6.750" in table
    assert "theo số liệu của 3 đơn vị" in text
    annex = text.split("DANH SÁCH HOẠT ĐỘNG TRUYỀN THÔNG", 1)[1]
    assert "Đơn vị" in annex and "UBND xã Ẳng Cang" in annex and "UBND xã Chiềng Đông" in annex
    own_text = pdf_text(render_pdf(reports.compute(db, settings_for(db, plan), Narrative())))
    assert "Kết quả theo đơn vị" not in own_text and "UBND xã Ẳng Cang" not in own_text


def test_a_year_report_over_all_offices_counts_indicators_and_comparison_with_received_data(
        db, plan, own, senders, received):
    receive(db, plan, senders["ang"], "2025-Q3", [
        {"day": date(2025, 8, 1), "form": "F1", "title": "Tin bài năm trước", "items": 4}])
    own_c = reports.compute(db, settings_for(db, plan), Narrative())
    c = reports.compute(db, settings_for(db, plan, scope="all"), Narrative())
    assert c.comparison[0].previous == own_c.comparison[0].previous + 1
    assert c.comparison[0].current == own_c.comparison[0].current + 3


@pytest.mark.sqlite_only
def test_register_queries_keep_their_indexes_and_a_sender_is_found_through_the_origin_index(
        db, plan, own, senders, received):
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    def plan_of(call) -> str:
        seen.clear()
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            call()
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = seen[-1]
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return " | ".join(r[3] for r in rows)

    pid = plan.plan.id
    own_ids = plan_of(lambda: activities.list_ids(db, ActivityFilter(plan_id=pid)))
    assert "COVERING INDEX ix_activity_live_date" in own_ids and "ix_activity_origin_id" in own_ids
    own_rows = plan_of(lambda: activities.list_rows(db, ActivityFilter(plan_id=pid)))
    assert "ix_activity_live_date" in own_rows and "ix_activity_origin_id" not in own_rows
    for call in (activities.list_ids, activities.list_rows, activities.totals):
        sender = plan_of(lambda call=call: call(db, ActivityFilter(plan_id=pid, origin=senders["ang"])))
        assert "INDEX ix_activity_origin_id (origin_id=?)" in sender


def test_a_report_is_never_addressed_to_the_office_itself(db):
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.services import plans, reports, settings

    plan = plans.default_plan(db)
    recipient = reports.default_settings(db, plan.id, "2026-Q3").recipient
    assert recipient  # the plan names who reports go to
    settings.save_office(db, OfficeIdentity(
        name=recipient.splitlines()[0].upper(), parent_agency="UBND tỉnh Điện Biên", kind="department",
        place_name="Điện Biên Phủ", symbol="SGDĐT", signer_title="GIÁM ĐỐC", signer_name="Lường Thị Hoa"))
    assert recipient.splitlines()[0] not in reports.default_settings(db, plan.id, "2026-Q3").recipient
