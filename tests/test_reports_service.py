"""Period reports: the figures come from the register, exactly; reports are stored and rebuilt."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import replace
from datetime import date

import pytest

from dbcomm.domain.models import (
    ActivityFilter,
    ActivityInput,
    OfficeIdentity,
    PlanTree,
    ReachBreakdown,
)
from dbcomm.domain.report import Narrative, ReportContent
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.services import activities, orgs, plans, reports, settings
from dbcomm.services.orgs import OrgFields

BOTH_ENGINES = True  # the same on a shared PostgreSQL server


@pytest.fixture
def db_path(copied_db_path):
    return copied_db_path


OFFICE = OfficeIdentity(
    name="Ủy ban nhân dân xã Mường Phăng", parent_agency="UBND tỉnh Điện Biên", kind="commune",
    place_name="Mường Phăng", symbol="UBND", signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
    signer_name="Lò Văn Thắng")


def code_id(plan: PlanTree, code: str) -> int:
    for f in plan.forms:
        if f.code == code:
            return f.id
    for g in plan.programmes:
        if g.code == code:
            return g.id
    for o in plan.objectives:
        if o.code == code:
            return o.id
        for t in o.children:
            if t.code == code:
                return t.id
    raise KeyError(code)


def log(db, plan: PlanTree, day: date, form: str, title: str, *, nodes=(), programmes=(), place=None,
        languages=("vi",), items=0, sessions=0, minutes=0, reach=0, breakdown=None) -> int:
    value = ActivityInput(
        plan_id=plan.plan.id, date_start=day, form_id=code_id(plan, form), title=title,
        subtype="other", node_ids=[code_id(plan, n) for n in nodes],
        programme_ids=[code_id(plan, p) for p in programmes], place_id=place,
        languages=list(languages), items=items, sessions=sessions, minutes=minutes, reach_total=reach,
        reach=ReachBreakdown(breakdown or {}))
    return activities.create(db, value).id


@pytest.fixture
def office(db):
    settings.save_office(db, OFFICE)
    return OFFICE


@pytest.fixture
def register(db, plan, office):
    """A small register with known figures: four activities in Q3 2026, others around it."""
    muong_phang = orgs.save_org(db, None, OrgFields(name="Xã Mường Phăng", kind="commune", in_area=True)).id
    na_tau = orgs.save_org(db, None, OrgFields(name="Xã Nà Tấu", kind="commune", in_area=True)).id
    ids = {
        "radio": log(db, plan, date(2026, 7, 3), "F1", "Chuyên mục Xã hội học tập trên sóng phát thanh",
                     nodes=["4.1"], programmes=["P4"], place=muong_phang, items=3, minutes=45, reach=1200),
        "loud": log(db, plan, date(2026, 8, 14), "F3", "Phát thanh loa bằng tiếng Thái và tiếng Mông",
                    nodes=["4.3", "1.1"], place=na_tau, languages=("thai", "hmong"), sessions=12, minutes=120,
                    reach=3400, breakdown={"sex": {"female": 1800, "male": 1600}}),
        "school": log(db, plan, date(2026, 9, 30), "F4", "Ngày hội đọc sách tại trường tiểu học",
                      nodes=["2.2"], place=muong_phang, sessions=1, reach=450,
                      breakdown={"audience": {"pupils": 400, "public": 50}}),
        "post": log(db, plan, date(2026, 9, 1), "F2", "Bài đăng trang Facebook của xã", nodes=["4.2", "4.1"],
                    items=1, reach=800),
        # outside the quarter
        "june": log(db, plan, date(2026, 6, 30), "F1", "Tin bài tháng Sáu", nodes=["1.2"], items=2, reach=90),
        "october": log(db, plan, date(2026, 10, 1), "F5", "Pa-nô tháng Mười", items=1, reach=10),
        # the same quarter a year earlier
        "last_year": log(db, plan, date(2025, 8, 20), "F3", "Phát thanh năm trước", sessions=5, reach=700),
    }
    return ids


def settings_for(db, plan, key="2026-Q3", **changes):
    cfg = reports.default_settings(db, plan.plan.id, key)
    return replace(cfg, doc_date=date(2026, 10, 5), **changes)


def figures(rows, code):
    return next(r for r in rows if r.code == code)


# --- the figures ------------------------------------------------------------------------------


def test_totals_and_every_table_match_the_register(db, plan, register):
    c = reports.compute(db, settings_for(db, plan), Narrative())
    register_totals = activities.totals(db, ActivityFilter(plan_id=plan.plan.id, date_from=date(2026, 7, 1),
                                                          date_to=date(2026, 9, 30)))
    assert (c.totals.activities, c.totals.items, c.totals.sessions, c.totals.minutes, c.totals.reach) == (
        register_totals.count, register_totals.items, register_totals.sessions, register_totals.minutes,
        register_totals.reach) == (4, 4, 13, 165, 5850)
    # by form: every form listed, in the plan's order; zeros included
    assert [f.code for f in c.by_form] == ["F1", "F2", "F3", "F4", "F5"]
    assert [f.activities for f in c.by_form] == [1, 1, 1, 1, 0]
    assert figures(c.by_form, "F3").reach == 3400
    assert sum(f.reach for f in c.by_form) == c.totals.reach
    # by objective: an activity linked to two tasks of objective 4 counts once for the objective
    assert figures(c.by_objective, "4").activities == 3
    assert figures(c.by_objective, "4.1").activities == 2
    assert figures(c.by_objective, "4").reach == 1200 + 3400 + 800
    assert figures(c.by_objective, "1").activities == 1
    assert figures(c.by_objective, "1.2").activities == 0  # June is outside the quarter
    assert figures(c.by_objective, "2.2").level == 1 and figures(c.by_objective, "2").level == 0
    assert figures(c.by_programme, "P4").activities == 1
    # by place, Vietnamese order, activities without a place last
    assert [(f.label, f.activities) for f in c.by_place] == [
        ("Xã Mường Phăng", 2), ("Xã Nà Tấu", 1), ("Không ghi địa bàn", 1)]
    # by language: one broadcast in two languages counts under both
    assert [(f.label, f.activities) for f in c.by_language] == [
        ("Tiếng Việt", 3), ("Tiếng Thái", 1), ("Tiếng Mông", 1)]
    assert c.reach_by["Giới tính"] == [("Nữ", 1800), ("Nam", 1600)]
    assert dict(c.reach_by["Đối tượng"]) == {"Học sinh, sinh viên": 400, "Nhân dân": 50}


def test_the_annex_lists_every_activity_of_the_period_and_none_outside(db, plan, register):
    c = reports.compute(db, settings_for(db, plan), Narrative())
    titles = [a.title for a in c.annex]
    assert titles == ["Chuyên mục Xã hội học tập trên sóng phát thanh", "Phát thanh loa bằng tiếng Thái và tiếng Mông",
                      "Bài đăng trang Facebook của xã", "Ngày hội đọc sách tại trường tiểu học"]  # by date
    loud = c.annex[1]
    assert loud.languages == "Tiếng Thái, Tiếng Mông" and loud.place == "Xã Nà Tấu"
    assert set(loud.objectives.split(", ")) == {"1.1", "4.3"}
    assert len(c.activity_versions) == 4
    assert reports.compute(db, settings_for(db, plan, include_annex=False), Narrative()).annex == []


def test_deleted_activities_are_not_counted(db, plan, register):
    activities.delete(db, [register["post"]])
    c = reports.compute(db, settings_for(db, plan), Narrative())
    assert c.totals.activities == 3
    assert "Bài đăng trang Facebook của xã" not in [a.title for a in c.annex]


def test_gaps_name_the_objectives_tasks_and_forms_without_activity(db, plan, register):
    activities.add_nil_statement(db, plan.plan.id, "2026-Q3", "Chưa có kinh phí in pa-nô", code_id(plan, "F5"))
    activities.add_nil_statement(db, plan.plan.id, "2026-Q3", "Mùa mưa lũ, nhiều thôn bị chia cắt")
    c = reports.compute(db, settings_for(db, plan), Narrative())
    gaps = {(g.kind, g.code) for g in c.gaps}
    assert ("form", "F5") in gaps and ("objective", "3") in gaps and ("task", "1.2") in gaps
    assert ("objective", "4") not in gaps and ("form", "F1") not in gaps
    assert next(g for g in c.gaps if g.code == "F5").nil_reason == "Chưa có kinh phí in pa-nô"
    assert c.nil_statements == ["Mùa mưa lũ, nhiều thôn bị chia cắt"]


def test_comparison_with_the_same_period_last_year(db, plan, register):
    c = reports.compute(db, settings_for(db, plan), Narrative())
    assert c.comparison_label == "cùng kỳ năm 2025"
    first = c.comparison[0]
    assert (first.current, first.previous) == (4, 1)
    assert next(x for x in c.comparison if x.label.startswith("F3")).previous == 1
    assert reports.compute(db, settings_for(db, plan, compare_last_year=False), Narrative()).comparison == []


def test_indicators_from_the_register_and_reported_by_the_office(db, plan, register):
    ct6 = next(i for i in plan.indicators if i.code == "CT6")
    ct1 = next(i for i in plan.indicators if i.code == "CT1")
    assert ct6.measure == "items" and ct1.measure == "manual"
    plans.save_indicator(db, plan.plan.id, ct6.id, code="CT6", name=ct6.name, unit=ct6.unit, baseline=None,
                         baseline_year=None, node_id=ct6.node_id, targets={2026: 20, 2030: 100}, measure="items")
    reports.set_indicator_value(db, ct1.id, 2026, 47.5, "Điều tra của xã")
    c = reports.compute(db, settings_for(db, plan), Narrative())
    p6 = next(i for i in c.indicators if i.code == "CT6")
    # year to the end of the quarter: June (2) + Q3 (4); October is after the period
    assert (p6.year_target, p6.year_value) == (20, 6)
    assert p6.percent_of_year == pytest.approx(30.0)
    assert p6.cumulative == 6 and (2030, 100) in p6.milestones
    p1 = next(i for i in c.indicators if i.code == "CT1")
    assert (p1.year_value, p1.year_target) == (47.5, None)
    assert (2025, 50) in p1.milestones and (2030, 70) in p1.milestones
    reports.set_indicator_value(db, ct1.id, 2026, None)
    assert next(i for i in reports.indicator_progress(db, plan.plan.id, 2026) if i.code == "CT1").year_value is None


# --- bad input -----------------------------------------------------------------------------


def test_a_period_without_activities_gives_a_report_not_an_error(db, plan, register):
    c = reports.compute(db, settings_for(db, plan, "2024-Q1"), Narrative())
    assert c.totals.activities == 0 and c.annex == []
    assert {g.code for g in c.gaps if g.kind == "form"} == {"F1", "F2", "F3", "F4", "F5"}
    assert "chưa tổ chức" in reports.draft_narrative(c).assessment


def test_a_period_past_the_plans_end_is_said_in_the_report(db, plan, office):
    c = reports.compute(db, settings_for(db, plan, "2030-12-01..2031-01-31"), Narrative())
    assert c.notes and "vượt ra ngoài thời gian thực hiện Kế hoạch (2022–2030)" in c.notes[0]
    assert c.period_label == "từ ngày 01/12/2030 đến ngày 31/01/2031"


def test_missing_office_settings_are_named_with_where_to_fill_them(db, plan):
    with pytest.raises(UserError) as err:
        reports.compute(db, settings_for(db, plan), Narrative())
    message = str(err.value)
    assert "Cài đặt" in message or "Settings" in message
    for name in ("Tên đơn vị", "Họ tên người ký"):  # as the settings page names them
        assert name in message


def test_a_period_that_is_not_one_is_refused_with_examples(db, plan, office):
    with pytest.raises(ValidationFailed) as err:
        reports.default_settings(db, plan.plan.id, "quý 3")
    assert "2026-Q3" in str(err.value)


def test_nfd_text_is_stored_and_shown_as_nfc(db, plan, register):
    nfd = unicodedata.normalize("NFD", "Kết quả truyền thông quý III")
    cfg = settings_for(db, plan, subject=nfd, recipient=unicodedata.normalize("NFD", "Sở Giáo dục và Đào tạo"))
    info = reports.save_draft(db, None, cfg, Narrative(direction=unicodedata.normalize("NFD", "Đã triển khai")))
    detail = reports.get_report(db, info.id)
    assert detail.settings.subject == unicodedata.normalize("NFC", nfd)
    assert detail.narrative.direction == "Đã triển khai"
    c = reports.compute(db, detail.settings, detail.narrative)
    assert c.header.recipients == ["Sở Giáo dục và Đào tạo"]


def test_day15_cutoff_windows(db, plan, register):
    p = plans.get_plan(db, plan.plan.id)
    plans.update_plan(db, p.id, plans.PlanFields(
        code=p.code, title=p.title, issued_on=p.issued_on, issuer=p.issuer, start_year=p.start_year,
        end_year=p.end_year, cutoff="day15", recipient=p.recipient, note=p.note))
    c = reports.compute(db, settings_for(db, plan), Narrative())
    assert (c.date_from, c.date_to) == (date(2026, 6, 15), date(2026, 9, 14))
    # June 30 is now in Q3; Sept 30 is not
    titles = {a.title for a in c.annex}
    assert "Tin bài tháng Sáu" in titles and "Ngày hội đọc sách tại trường tiểu học" not in titles


# --- labels and numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(("key", "label"), [
    ("2026-Q3", "quý III năm 2026"), ("2026", "năm 2026"), ("2026-05", "tháng 5 năm 2026"),
    ("2026-H1", "6 tháng đầu năm 2026"), ("2026-9M", "9 tháng đầu năm 2026"),
])
def test_period_labels(key, label):
    from dbcomm.domain.periods import parse_period

    assert reports.period_label(parse_period(key)) == label


@pytest.mark.parametrize(("typed", "shown"), [("5", "05"), ("05", "05"), ("12", "12"), (" 7 ", "07"), ("", "")])
def test_document_numbers_are_zero_padded_below_ten(typed, shown):
    assert reports.document_number(typed) == shown


# --- stored reports ----------------------------------------------------------------------------


def test_drafts_are_saved_updated_and_deleted(db, plan, register):
    info = reports.save_draft(db, None, settings_for(db, plan, number="5"), Narrative(direction="Chỉ đạo"))
    assert info.number == "05" and info.pdf_sha256 == ""
    detail = reports.get_report(db, info.id)
    updated = reports.save_draft(db, info.id, replace(detail.settings, subject="Báo cáo sửa"), detail.narrative,
                                 expected_version=info.version)
    assert updated.subject == "Báo cáo sửa"
    from dbcomm.errors import ConflictError

    with pytest.raises(ConflictError):
        reports.save_draft(db, info.id, detail.settings, detail.narrative, expected_version=info.version)
    with pytest.raises(ValidationFailed):
        reports.save_draft(db, None, settings_for(db, plan, subject="  "), Narrative())
    reports.delete_report(db, info.id)
    assert reports.list_reports(db) == []


def test_build_stores_content_versions_and_the_pdf_hash_and_rebuilds_identically(db, plan, register):
    info = reports.save_draft(db, None, settings_for(db, plan), Narrative(direction="Chỉ đạo kịp thời."))
    built = reports.build(db, info.id)
    assert built.info.pdf_sha256 == hashlib.sha256(built.pdf).hexdigest()
    assert built.info.activity_count == 4 and built.info.pdf_pages >= 2
    stored = reports.stored_content(db, info.id)
    assert isinstance(stored, ReportContent) and stored == built.content
    again = reports.render_stored(db, info.id)
    assert again.identical and again.pdf == built.pdf
    # the register moves on; the stored report does not
    assert reports.changed_since_build(db, info.id) == 0
    rec = activities.get(db, register["radio"])
    activities.update(db, rec.id, replace(rec, reach_total=9999), expected_version=rec.version)
    log(db, plan, date(2026, 7, 20), "F5", "Hoạt động thêm sau khi lập báo cáo")
    assert reports.changed_since_build(db, info.id) == 2
    assert reports.render_stored(db, info.id).pdf == built.pdf
    rebuilt = reports.build(db, info.id)
    assert rebuilt.info.activity_count == 5 and rebuilt.info.pdf_sha256 != built.info.pdf_sha256


def test_a_cancelled_build_stores_nothing(db, plan, register):
    info = reports.save_draft(db, None, settings_for(db, plan), Narrative())
    with pytest.raises(reports.BuildCancelled):
        reports.build(db, info.id, cancelled=lambda: True)
    assert reports.get_report(db, info.id).info.pdf_sha256 == ""


def test_save_pdf_writes_safely_and_adds_the_extension(db, plan, register, tmp_path):
    info = reports.save_draft(db, None, settings_for(db, plan), Narrative())
    built = reports.build(db, info.id)
    out = tmp_path / "usb"
    out.mkdir()
    path = reports.save_pdf(db, built.pdf, out / "bao-cao", report_id=info.id)
    assert path.name == "bao-cao.pdf" and path.read_bytes() == built.pdf
    assert [p.name for p in out.iterdir()] == ["bao-cao.pdf"]  # no temporary file left


# --- coverage ------------------------------------------------------------------------------------


def test_coverage_by_month_and_by_place(db, plan, register):
    grid = reports.coverage(db, plan.plan.id, 2026)
    assert grid.columns == [f"{m:02d}" for m in range(1, 13)]
    row = {r.code: r for r in grid.rows}
    assert row["4"].counts[6:9] == [1, 1, 1]  # July radio, August loudspeaker, September post
    assert row["1"].counts[5:9] == [1, 0, 1, 0]  # June (task 1.2), August (task 1.1)
    assert row["4.1"].counts[8] == 1
    assert row["F1"].counts[5] == 1 and row["F1"].counts[6] == 1  # June and July
    assert row["F5"].counts[9] == 1
    assert row["3"].total == 0
    assert sum(grid.column_totals) == 6  # 2026 activities (the 2025 one is not in the year)
    by_place = reports.coverage(db, plan.plan.id, 2026, by="place")
    assert by_place.columns == ["Xã Mường Phăng", "Xã Nà Tấu"]
    f3 = next(r for r in by_place.rows if r.code == "F3")
    assert f3.counts == [0, 1]


# --- the PDF, read back --------------------------------------------------------------------------


def pdf_text(pdf: bytes, tmp_path, first: int | None = None, last: int | None = None) -> str:
    import subprocess

    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    return subprocess.run(["pdftotext", "-raw", *pages, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_the_pdf_built_from_the_register_shows_its_totals_annex_and_gaps(db, plan, register, tmp_path):
    activities.add_nil_statement(db, plan.plan.id, "2026-Q3", "Chưa có kinh phí in pa-nô", code_id(plan, "F5"))
    info = reports.save_draft(db, None, settings_for(db, plan, number="5"), Narrative())
    built = reports.build(db, info.id)
    text = pdf_text(built.pdf, tmp_path)
    page1 = pdf_text(built.pdf, tmp_path, 1, 1)
    assert "Số: 05/BC-UBND" in page1
    assert "Mường Phăng, ngày 05 tháng 10 năm 2026" in page1
    assert "ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG" in page1.replace("\n", " ")
    # the general results sentence carries the register's totals (5.850 people, Vietnamese grouping)
    flat = " ".join(text.split())
    assert "4 hoạt động truyền thông" in flat
    assert "5.850 lượt người" in flat
    # the annex: every activity of the quarter, none outside it
    annex = flat[flat.index("DANH SÁCH HOẠT ĐỘNG TRUYỀN THÔNG"):]
    for title in ("Chuyên mục Xã hội học tập trên sóng phát thanh", "Phát thanh loa bằng tiếng Thái và tiếng Mông",
                  "Bài đăng trang Facebook của xã", "Ngày hội đọc sách tại trường tiểu học"):
        assert title in annex
    for outside in ("Tin bài tháng Sáu", "Pa-nô tháng Mười", "Phát thanh năm trước"):
        assert outside not in flat
    # the gap list: form F5 with the office's reason, objective 3 without activity
    assert "Chưa có kinh phí in pa-nô" in flat
    gaps = flat[flat.index("chưa có hoạt động trong kỳ"):]
    assert "Lồng ghép truyền thông vào các chương trình, đề án của tỉnh" in gaps


# --- what the person is told before building; what they typed is cleaned ------------------------


def test_warnings_before_building(db, plan, register):
    cfg = settings_for(db, plan)
    assert reports.warnings(db, cfg) == []
    early = replace(cfg, doc_date=date(2026, 9, 1))
    assert any("30/09/2026" in w for w in reports.warnings(db, early))
    outside = settings_for(db, plan, "2031")
    texts = reports.warnings(db, outside)
    assert any("2022–2030" in w for w in texts)
    assert any("không có hoạt động" in w.casefold() or "no activity" in w for w in texts)
    first = reports.save_draft(db, None, cfg, Narrative())
    again = reports.warnings(db, cfg)
    assert any(f"#{first.id}" in w for w in again)
    assert reports.warnings(db, cfg, report_id=first.id) == []  # itself is not "another"


def test_the_last_complete_period_is_the_one_reported_on():
    from dbcomm.domain.periods import PeriodKind

    assert reports.last_complete_period("calendar", PeriodKind.QUARTER, date(2026, 11, 27)).key == "2026-Q3"
    assert reports.last_complete_period("calendar", PeriodKind.QUARTER, date(2026, 10, 1)).key == "2026-Q3"
    assert reports.last_complete_period("calendar", PeriodKind.MONTH, date(2026, 1, 3)).key == "2025-12"
    # 15th→14th windows: on 20/11 the November window (15/10–14/11) has ended
    assert reports.last_complete_period("day15", PeriodKind.MONTH, date(2026, 11, 20)).key == "2026-11"


@pytest.mark.parametrize(("typed", "archive", "lines", "unit"), [
    (["Như trên", "- UBND tỉnh (b/c);", "Lưu: VT"], "VHXH", ["UBND tỉnh (b/c)"], "VHXH"),
    (["Sở GD&ĐT;", "- Lưu: VT, VP."], "", ["Sở GD&ĐT"], "VP"),
    (["Sở GD&ĐT", "Sở GD&ĐT", "  "], "", ["Sở GD&ĐT"], ""),
])
def test_typed_distribution_lines_lose_what_the_document_adds_itself(typed, archive, lines, unit):
    assert reports.clean_distribution(typed, archive) == (lines, unit)


def test_indicator_values_must_be_finite_and_percentages_at_most_100(db, plan):
    ct1 = next(i for i in plan.indicators if i.code == "CT1")  # unit %
    ct6 = next(i for i in plan.indicators if i.code == "CT6")
    for bad in (float("inf"), float("nan"), 150.0, -1.0):
        with pytest.raises(ValidationFailed):
            reports.set_indicator_value(db, ct1.id, 2026, bad)
    reports.set_indicator_value(db, ct6.id, 2026, 150.0)  # a count may exceed 100
    assert next(i for i in reports.indicator_progress(db, plan.plan.id, 2026) if i.code == "CT1").year_value is None


def test_a_reversed_range_is_explained(db, plan):
    with pytest.raises(ValidationFailed) as err:
        reports.resolve_period(db, plan.plan.id, "2026-10-05..2026-10-01")
    assert "2026-10-01" in str(err.value) and "2026-10-05" in str(err.value)


def test_a_subject_of_a_page_is_refused(db, plan, office):
    with pytest.raises(ValidationFailed) as err:
        reports.save_draft(db, None, settings_for(db, plan, subject="Kết quả " * 100), Narrative())
    assert err.value.for_field("subject")


def test_the_draft_names_every_form_tied_for_first_and_the_gaps(db, plan, register):
    c = reports.compute(db, settings_for(db, plan), Narrative())
    draft = reports.draft_narrative(c)
    assert "F1, F2, F3 và F4" in draft.assessment  # one activity each
    assert "hình thức F5" in draft.assessment and "hình thức F5" in draft.next_steps
    assert "tiếng Thái và tiếng Mông" in draft.assessment
    empty = reports.draft_narrative(reports.compute(db, settings_for(db, plan, "2024-Q1"), Narrative()))
    assert empty.direction == "" and "chưa tổ chức" in empty.assessment
