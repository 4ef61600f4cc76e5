"""Importing an office's Excel log: the mapping proposed, the values matched, the dry run's reasons,
one transaction, the same audit as logging by hand, and a re-import that adds nothing."""

from __future__ import annotations

import sqlite3
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from dbcomm.domain.models import ActivityFilter
from dbcomm.domain.roles import PeriodState
from dbcomm.services import activities, audit, demo, periods, plans, sheets
from dbcomm.services.sheets import mapping as M
from dbcomm.store.models import Activity, AuditEntry, SheetSource
from sheet_files import big_log, million_rows, office_log, workbook

# The import's writing, its checks against the register and its audit, on a shared PostgreSQL server
# too; the rest reads files and runs on SQLite only.
on_both_engines = pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def office(db):
    """A commune office with the demo communes in its directory and no activity yet."""
    demo.ensure_demo_communes(db)
    return db


def plan_id(db) -> int:
    return plans.default_plan(db).id


def request_for(db, path, sheet=None, *, propose_values=True, **kwargs) -> sheets.ImportRequest:
    """What the wizard builds when the person accepts every proposal."""
    info = sheets.open_source(path)
    pv = sheets.preview(info, sheet)
    mapping = sheets.propose_mapping(db, pv)
    request = sheets.ImportRequest(path, plan_id(db), mapping, sheet=pv.sheet, **kwargs)
    if propose_values:
        request.value_map = sheets.proposed_value_map(sheets.value_suggestions(db, request))
    return request


def register(db) -> list[activities.ActivityRecord]:
    ids = activities.list_ids(db, ActivityFilter(), sort="date", descending=False)
    return [activities.get(db, i) for i in ids]


def count(db, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


# --- the mapping and the values ---------------------------------------------------------------


def test_columns_are_mapped_from_their_vietnamese_names(office, tmp_path):
    pv = sheets.preview(sheets.open_source(office_log(tmp_path / "so.xlsx")))
    mapping = sheets.propose_mapping(office, pv)
    letters = {key: pv.columns[i].letter for key, i in mapping.columns.items()}
    assert letters == {"date_start": "B", "form": "C", "title": "D", "place": "E", "objectives": "F",
                       "reach_total": "G", "reach.sex.female": "H", "reach.sex.male": "I", "minutes": "J",
                       "cost": "K", "funding": "L", "notes": "M"}


@pytest.mark.parametrize(("header", "field"), [
    ("Ngày", "date_start"), ("ngay thuc hien", "date_start"), ("Date", "date_start"), ("NGÀY THÁNG", "date_start"),
    ("Hình thức", "form"), ("Form", "form"), ("hinh thuc truyen thong", "form"),
    ("Số người", "reach_total"), ("Lượt người nghe", "reach_total"), ("People reached", "reach_total"),
    ("Địa bàn", "place"), ("dia ban", "place"), ("Place", "place"), ("Xã", "place"),
    ("Nội dung tuyên truyền", "title"), ("Title", "title"), ("Thời lượng (phút)", "minutes"),
    ("Nam", "reach.sex.male"), ("Nữ", "reach.sex.female"), ("Kinh phí (VNĐ)", "cost"), ("Ghi chú", "notes"),
])
def test_header_synonyms_in_vietnamese_and_english(office, tmp_path, header, field):
    path = workbook(tmp_path / "h.xlsx", [[header, "Tên hoạt động"], ["05/03/2025" if "date" in field else "1",
                                                                     "Phát thanh"]])
    mapping = sheets.propose_mapping(office, sheets.preview(sheets.open_source(path)))
    assert mapping.columns.get(field) == 0


def test_the_year_is_not_taken_for_men(office, tmp_path):
    path = workbook(tmp_path / "nam.xlsx", [["Năm", "Ngày", "Tên hoạt động", "Nam"],
                                            [2025, "05/03/2025", "Phát thanh", 12]])
    mapping = sheets.propose_mapping(office, sheets.preview(sheets.open_source(path)))
    assert mapping.columns["reach.sex.male"] == 3
    assert 0 not in mapping.columns.values()


def test_free_text_values_are_matched_without_diacritics_and_suggested(office, tmp_path):
    request = request_for(office, office_log(tmp_path / "so.xlsx"), propose_values=False)
    found = {(s.field, s.text): s for s in sheets.value_suggestions(office, request)}
    assert found[("form", "F4")].how == "exact"
    assert found[("form", "Loa truyền thanh")].proposed == "F3"  # one of the examples in F3's name
    assert found[("form", "Loa truyền thanh")].how == "exact"
    place = found[("place", "Mường Phăng")]
    assert place.how == "exact"
    assert sheets.choices(office, plan_id(office), "place")[0].label  # the list the person picks from
    places = {c.target: c.label for c in sheets.choices(office, plan_id(office), "place")}
    assert places[place.proposed] == "Xã Mường Phăng"
    assert found[("place", "Bản Co Líu")].proposed is None  # a village not in the directory: the person says
    assert found[("objectives", "2.1")].proposed == "2.1"
    assert ("objectives", "2.3") in found  # "2.1; 2.3" is two values


def test_forms_written_as_offices_write_them_are_proposed_from_the_plans_examples(office, tmp_path):
    """The plan names each form with examples in brackets ("loa truyền thanh, bảng tin, họp thôn
    bản", "… ấn phẩm, pa-nô"): what a log writes is matched against them, words in any order."""
    rows = [["Ngày", "Hình thức", "Nội dung"]]
    for i, form in enumerate(["Họp bản", "Pano, áp phích", "Facebook", "Bảng tin", "Trường học", "Hội nghị"]):
        rows.append([f"0{i + 1}/03/2025", form, f"Hoạt động {i + 1}"])
    request = request_for(office, workbook(tmp_path / "hinh-thuc.xlsx", rows), propose_values=False)
    proposed = {s.text: s.proposed for s in sheets.value_suggestions(office, request) if s.field == "form"}
    assert proposed == {"Họp bản": "F3", "Pano, áp phích": "F5", "Facebook": "F2", "Bảng tin": "F3",
                        "Trường học": "F4", "Hội nghị": None}  # a meeting could be any: the person says


# --- the dry run -------------------------------------------------------------------------------


def test_the_dry_run_lists_every_row_that_cannot_be_imported_and_why(office, tmp_path):
    request = request_for(office, office_log(tmp_path / "so.xlsx"))
    dry = sheets.dry_run(office, request)

    assert dry.counts["new"] == 3 and dry.counts["blank"] == 1 and dry.counts["skipped"] == 1
    by_row = {o.row: o for o in dry.outcomes}
    assert {o.row for o in dry.outcomes if o.status == "error"} == {10, 11, 12, 13}
    assert [(p.column, p.code, p.value) for p in by_row[10].problems] == [("B", "bad_date", "31/02/2025")]
    assert [(p.column, p.code) for p in by_row[11].problems] == [("E", "not_mapped")]
    assert "Bản Co Líu" in by_row[11].reason()
    assert {(p.field, p.code) for p in by_row[12].problems} >= {("form", "not_mapped"), ("funding", "invalid")}
    assert [(p.column, p.code) for p in by_row[13].problems] == [("G", "formula")]
    assert by_row[14].status == "skipped"  # the totals row
    assert [(s.row, s.form, s.place) for s in dry.sample] == [(6, "F3", "Xã Mường Phăng"), (7, "F4", "Xã Nà Tấu"),
                                                              (9, "F1", "Xã Thanh Nưa")]
    assert count(office, Activity) == 0  # a dry run changes nothing


@on_both_engines
def test_the_good_rows_are_imported_in_one_transaction_with_their_source(office, tmp_path):
    path = office_log(tmp_path / "so-theo-doi.xlsx")
    request = request_for(office, path)
    dry = sheets.dry_run(office, request)

    result = sheets.apply_import(office, request, expected_sha256=dry.sha256)

    assert result.added == 3 and result.counts["error"] == 4
    rows = register(office)
    assert [(r.date_start, r.title) for r in rows] == [
        (date(2025, 3, 5), "Tuyên truyền Ngày Sách và Văn hóa đọc"),
        (date(2025, 4, 21), "Hội thi “Gia đình học tập” cấp xã"),  # NFD in the file, NFC in the register
        (date(2025, 5, 7), "Bài viết về mô hình Dòng họ học tập"),
    ]
    first, second, _third = rows
    assert (first.reach_total, first.reach.values, first.minutes) == (1234, {"sex": {"female": 600, "male": 634}}, 30)
    assert first.subtype == "loudspeaker" and first.languages == ["vi"]
    assert (second.cost, second.funding, second.notes) == (1_500_000, "state", "Phối hợp với Hội Khuyến học")
    tree = plans.get_tree(office, plan_id(office))
    codes = {t.id: t.code for o in tree.objectives for t in [o, *o.children]}
    assert sorted(codes[n] for n in second.node_ids) == ["2.1", "2.3"]
    mark = sheets.source_of(office, first.id)
    assert mark is not None and (mark.file_name, mark.sheet, mark.row) == ("so-theo-doi.xlsx", "Năm 2025", 6)
    assert "so-theo-doi.xlsx" in mark.describe()


@on_both_engines
def test_imported_activities_are_audited_as_if_logged_by_hand(office, tmp_path):
    request = request_for(office, office_log(tmp_path / "so.xlsx"))
    sheets.apply_import(office, request)

    first = register(office)[0]
    history = audit.entries(office, entity_uuid=first.uuid)
    assert [e.action for e in history] == ["create"]
    changes = history[0].changes
    assert changes["title"] == [None, first.title] and changes["form"] == [None, "F3"]
    assert changes["place"] == [None, "Xã Mường Phăng"] and changes["reach_total"] == [None, 1234]
    assert "so.xlsx" in changes["source"][1]
    summary = [e for e in audit.entries(office) if e.action == "import" and e.entity == "register"]
    assert len(summary) == 1 and summary[0].changes["added"] == [None, 3]
    assert audit.verify(office).ok


@on_both_engines
def test_reimporting_the_same_file_adds_nothing(office, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    sheets.apply_import(office, request_for(office, path))
    before = count(office, Activity), count(office, AuditEntry)

    dry = sheets.dry_run(office, request_for(office, path))
    again = sheets.apply_import(office, request_for(office, path))

    assert dry.counts["already"] == 3 and dry.counts["new"] == 0
    assert "so.xlsx" in next(o for o in dry.outcomes if o.status == "already").note
    assert again.added == 0
    assert (count(office, Activity), count(office, AuditEntry)) == before  # not even an audit entry


def test_rows_appended_to_the_file_later_are_the_only_ones_imported(office, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    sheets.apply_import(office, request_for(office, path))
    # the office fixes a row, adds two, and sends the same file again
    office_log(path, extra_rows=[
        [8, "01/07/2025", "F3", "Phát thanh tháng 7", "Mường Phăng", "4.3", 60, None, None, 15, None, None, None],
        [9, "02/07/2025", "F3", "Phát thanh tháng 7", "Mường Phăng", "4.3", 60, None, None, 15, None, None, None],
    ])
    result = sheets.apply_import(office, request_for(office, path))
    assert result.added == 2  # two identical rows are two broadcasts
    assert result.counts["already"] == 3


def test_a_deleted_activity_is_not_brought_back_by_a_reimport(office, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    sheets.apply_import(office, request_for(office, path))
    gone = register(office)[0]
    activities.delete(office, [gone.id])

    dry = sheets.dry_run(office, request_for(office, path))
    assert dry.counts["already"] == 3 and dry.counts["new"] == 0


def test_a_formula_with_its_computed_value_is_imported(office, tmp_path):
    path = office_log(tmp_path / "so.xlsx", with_formula_values=True)
    dry = sheets.dry_run(office, request_for(office, path))
    assert 13 not in {o.row for o in dry.outcomes}
    sheets.apply_import(office, request_for(office, path))
    assert any(r.title == "Phát thanh tổng hợp" and r.reach_total == 1484 for r in register(office))


def test_values_chosen_by_the_person_are_used_and_remembered(office, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    request = request_for(office, path)
    co_liu = next(c.target for c in sheets.choices(office, plan_id(office), "place") if c.label == "Xã Mường Phăng")
    request.value_map.setdefault("place", {})["ban co liu"] = co_liu  # typed without diacritics
    request.value_map.setdefault("form", {})["Hội nghị"] = "F5"
    request.mapping.constants["funding"] = "Ngân sách nhà nước"
    request.mapping.columns.pop("funding")
    result = sheets.apply_import(office, request)
    assert result.added == 5  # rows 11 and 12 now import

    # the next file from the same office: the same names and values are proposed at once
    other = workbook(tmp_path / "quy-3.xlsx", [["Ngày thực hiện", "Hình thức", "Nội dung tuyên truyền", "Địa bàn"],
                                               ["01/08/2025", "Hội nghị", "Hội nghị sơ kết", "Bản Co Líu"]])
    again = request_for(office, other, propose_values=False)
    proposals = {(s.field, s.text): (s.proposed, s.how) for s in sheets.value_suggestions(office, again)}
    assert proposals[("place", "Bản Co Líu")] == (co_liu, "remembered")
    assert proposals[("form", "Hội nghị")] == ("F5", "remembered")

    # that next file brings a value of its own, chosen once: it is remembered too, beside the first ones
    third = workbook(tmp_path / "quy-4.xlsx", [["Ngày thực hiện", "Hình thức", "Nội dung tuyên truyền", "Địa bàn"],
                                               ["02/10/2025", "Họp dân", "Họp dân ở bản", "Bản Co Líu"]])
    request = request_for(office, third)
    request.value_map.setdefault("form", {})["Họp dân"] = "F3"
    assert sheets.apply_import(office, request).added == 1
    later = request_for(office, third, propose_values=False)
    proposals = {(s.field, s.text): (s.proposed, s.how) for s in sheets.value_suggestions(office, later)}
    assert proposals[("form", "Họp dân")] == ("F3", "remembered")
    assert proposals[("place", "Bản Co Líu")] == (co_liu, "remembered")


def test_a_mapping_remembered_by_column_name(office, tmp_path):
    path = workbook(tmp_path / "a.xlsx", [["Ngày", "Kênh", "Việc đã làm"], ["05/03/2025", "F3", "Phát thanh"]])
    info = sheets.open_source(path)
    pv = sheets.preview(info)
    assert "title" not in sheets.propose_mapping(office, pv).columns  # "Việc đã làm" is no known name
    mapping = sheets.mapping_from_columns(pv, {0: "date_start", 1: "form", 2: "title"})
    sheets.apply_import(office, sheets.ImportRequest(path, plan_id(office), mapping))

    later = workbook(tmp_path / "b.xlsx", [["Việc đã làm", "Ngày", "Kênh"], ["Họp bản", "06/03/2025", "F3"]])
    proposed = sheets.propose_mapping(office, sheets.preview(sheets.open_source(later)))
    assert (proposed.columns["title"], proposed.columns["form"]) == (0, 2)
    assert {"title", "form"} <= proposed.remembered


def test_a_row_in_a_locked_period_is_refused_with_the_reason(office, tmp_path):
    pid = plan_id(office)
    periods.transition(office, pid, "2025-03", PeriodState.SUBMITTED)
    dry = sheets.dry_run(office, request_for(office, office_log(tmp_path / "so.xlsx")))
    locked = next(o for o in dry.outcomes if o.row == 6)
    assert [p.code for p in locked.problems] == ["locked"]
    assert "2025-03" in locked.reason()


@on_both_engines
def test_a_likely_duplicate_of_a_logged_activity_is_left_out_unless_asked(office, tmp_path):
    path = workbook(tmp_path / "dup.xlsx", [["Ngày", "Hình thức", "Tên hoạt động"],
                                            ["05/03/2025", "F3", "Phát thanh về khuyến học"]])
    activities.create(office, activities.ActivityInput(
        plan_id=plan_id(office), date_start=date(2025, 3, 5), form_id=sheets.importing._plan_facts(
            office, plan_id(office))[0].form_ids["F3"], title="PHÁT THANH VỀ KHUYẾN HỌC", subtype="loudspeaker"))
    dry = sheets.dry_run(office, request_for(office, path))
    assert dry.counts["duplicate"] == 1 and dry.to_import == 0
    assert "#" in dry.outcomes[0].note
    result = sheets.apply_import(office, request_for(office, path, include_duplicates=True))
    assert result.added == 1


# --- refused: nothing imported ----------------------------------------------------------------


def test_a_column_mapped_twice_is_refused_and_nothing_imported(office, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    request = request_for(office, path)
    request.mapping.columns["date_end"] = request.mapping.columns["date_start"]
    with pytest.raises(sheets.MappingError) as caught:
        sheets.dry_run(office, request)
    assert "B" in str(caught.value)
    with pytest.raises(sheets.MappingError):
        sheets.apply_import(office, request)
    pv = sheets.preview(sheets.open_source(path))
    with pytest.raises(sheets.MappingError):
        sheets.mapping_from_columns(pv, {1: "date_start", 2: "form", 3: "title", 4: "title"})
    assert count(office, Activity) == 0


def test_a_required_field_without_a_column_is_refused(office, tmp_path):
    path = workbook(tmp_path / "no-form.xlsx", [["Ngày", "Tên hoạt động"], ["05/03/2025", "Phát thanh"]])
    pv = sheets.preview(sheets.open_source(path))
    mapping = sheets.propose_mapping(office, pv)
    with pytest.raises(sheets.MappingError):
        sheets.dry_run(office, sheets.ImportRequest(path, plan_id(office), mapping))
    mapping.constants["form"] = "F3"  # every row of this log is a loudspeaker broadcast
    assert sheets.apply_import(office, sheets.ImportRequest(path, plan_id(office), mapping)).added == 1


def test_a_million_rows_are_refused_before_anything_is_imported(office, tmp_path):
    path = million_rows(tmp_path / "trieu-dong.xlsx")
    info = sheets.open_source(path)
    pv = sheets.preview(info)
    mapping = sheets.propose_mapping(office, pv)
    assert {"date_start", "form", "title"} <= set(mapping.columns)
    began = time.perf_counter()
    with pytest.raises(sheets.SheetFileError) as caught:
        sheets.apply_import(office, sheets.ImportRequest(path, plan_id(office), mapping))
    assert caught.value.code == "too_many_rows"
    assert "200.000" in str(caught.value)
    assert time.perf_counter() - began < 60
    assert count(office, Activity) == 0 and count(office, SheetSource) == 0


def test_a_file_changed_since_the_dry_run_is_refused(office, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    request = request_for(office, path)
    dry = sheets.dry_run(office, request)
    office_log(path, extra_rows=[[8, "01/07/2025", "F3", "Phát thanh", "Mường Phăng", "4.3", 1, None, None, 1,
                                  None, None, None]])
    with pytest.raises(sheets.importing.UserError):
        sheets.apply_import(office, request, expected_sha256=dry.sha256)
    with pytest.raises(sheets.importing.UserError):
        sheets.apply_import(office, request, dry_run=dry)
    assert count(office, Activity) == 0


def test_a_failure_half_way_leaves_nothing_written(office, tmp_path, monkeypatch):
    path = big_log(tmp_path / "lon.xlsx", 1200, places=["Xã Mường Phăng"])
    request = request_for(office, path)
    real = sheets.importing._Writer.write
    calls = []

    def failing(self, parsed):
        calls.append(len(parsed))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(self, parsed)

    entries = count(office, AuditEntry)
    monkeypatch.setattr(sheets.importing._Writer, "write", failing)
    with pytest.raises(RuntimeError):
        sheets.apply_import(office, request)
    assert calls[0] > 0
    assert (count(office, Activity), count(office, SheetSource), count(office, AuditEntry)) == (0, 0, entries)


# --- size --------------------------------------------------------------------------------------


def test_twenty_thousand_rows_import_and_reimport(office, tmp_path):
    path = big_log(tmp_path / "20000.xlsx", 20_000, places=["Xã Mường Phăng", "Xã Nà Tấu", "Xã Thanh Nưa"])
    request = request_for(office, path, propose_values=False)  # every value names its choice exactly
    dry = sheets.dry_run(office, request)
    assert dry.counts["new"] == 20_000, dry.outcomes[:3]
    began = time.perf_counter()
    result = sheets.apply_import(office, request, dry_run=dry)
    took = time.perf_counter() - began
    assert result.added == 20_000, result.counts
    assert activities.totals(office, ActivityFilter()).count == 20_000
    assert took < 60  # `make bench` measures it against the 10 s target, on a machine of its own
    assert audit.verify(office).ok
    again = sheets.dry_run(office, request)
    assert again.counts["already"] == 20_000


def test_the_import_is_one_sqlite_transaction(office, tmp_path):
    """Another program reading the file during the import sees none of it until the end."""
    path = office_log(tmp_path / "so.xlsx")
    request = request_for(office, path)
    seen = []
    real = sheets.importing._Writer.write

    def peek(self, parsed):
        real(self, parsed)
        con = sqlite3.connect(office.path)
        seen.append(con.execute("SELECT count(*) FROM activity").fetchone()[0])
        con.close()

    import unittest.mock

    with unittest.mock.patch.object(sheets.importing._Writer, "write", peek):
        sheets.apply_import(office, request)
    assert seen and all(n == 0 for n in seen)
    assert count(office, Activity) == 3


def test_mapping_memory_is_bounded(office):
    with office.write() as s:
        for i in range(600):
            M.remember(s, sheets.ColumnMapping({"title": 0}, headers=[f"cột {i}"]), "plan", {})
    assert len(M._memory(office)["headers"]) == 500


# --- the import after its dry run --------------------------------------------------------------


@on_both_engines
def test_the_import_after_a_dry_run_reuses_it_and_checks_the_register_again(office, tmp_path, monkeypatch):
    path = office_log(tmp_path / "so.xlsx")
    request = request_for(office, path)
    dry = sheets.dry_run(office, request)
    # the period of the first row is submitted after the dry run
    periods.transition(office, plan_id(office), "2025-03", PeriodState.SUBMITTED)

    def not_again(*args, **kwargs):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(sheets.importing, "_scan", not_again)
    result = sheets.apply_import(office, request, dry_run=dry)
    assert result.added == 2 and result.counts["error"] == 5
    assert [r.date_start for r in register(office)] == [date(2025, 4, 21), date(2025, 5, 7)]


def test_the_dry_run_is_not_reused_when_the_choices_changed(office, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    request = request_for(office, path)
    dry = sheets.dry_run(office, request)
    request.value_map.setdefault("place", {})["Bản Co Líu"] = next(
        c.target for c in sheets.choices(office, plan_id(office), "place") if c.label == "Xã Mường Phăng")
    result = sheets.apply_import(office, request, dry_run=dry)
    assert result.added == 4  # read again with the new choice


# --- the file read once -------------------------------------------------------------------------


def count_reads(monkeypatch) -> list[str]:
    """Every time a sheet is read from its file (not from the rows read before)."""
    reads: list[str] = []
    real = sheets.reading._sheet_rows

    def reading(info, name, start):
        reads.append(name)
        return real(info, name, start)

    monkeypatch.setattr(sheets.reading, "_sheet_rows", reading)
    return reads


def test_a_log_is_read_once_from_its_values_to_its_import(office, tmp_path, monkeypatch):
    path = office_log(tmp_path / "so.xlsx", with_formula_values=True)
    reads = count_reads(monkeypatch)
    request = request_for(office, path)  # the header, then the values: the whole sheet read once
    after_values = len(reads)
    dry = sheets.dry_run(office, request)
    result = sheets.apply_import(office, request, dry_run=dry)
    assert len(reads) == after_values  # neither the dry run nor the import read the file again
    assert result.added == dry.counts["new"] == 4 and len(register(office)) == 4
    # done: what was read is let go, and the next dry run reads the file (all already imported)
    again = sheets.dry_run(office, request_for(office, path))
    assert len(reads) > after_values and again.counts["already"] == 4


def test_a_log_changed_between_the_steps_is_read_again(office, tmp_path, monkeypatch):
    path = office_log(tmp_path / "so.xlsx", with_formula_values=True)
    request = request_for(office, path)
    before = sheets.dry_run(office, request)
    # the person adds a row in Excel and saves, then looks at the dry run again
    office_log(path, with_formula_values=True, extra_rows=[
        [8, "25/06/2025", "Loa truyền thanh", "Phát thanh về học tập suốt đời", "Mường Phăng", "4.3", 70, None,
         None, 10, None, None, None]])
    reads = count_reads(monkeypatch)
    after = sheets.dry_run(office, request)
    assert reads and after.counts["new"] == before.counts["new"] + 1
    assert after.sha256 != before.sha256


def test_a_sheet_too_large_to_keep_is_read_at_each_step(office, tmp_path, monkeypatch):
    monkeypatch.setattr(sheets.reading, "REMEMBER_CELLS", 40)  # a sheet wider or longer than this is not kept
    path = office_log(tmp_path / "so.xlsx", with_formula_values=True)
    reads = count_reads(monkeypatch)
    request = request_for(office, path)
    after_values = len(reads)
    dry = sheets.dry_run(office, request)
    assert len(reads) == after_values + 1 and dry.counts["new"] == 4


@on_both_engines
def test_imported_activities_are_found_by_the_registers_search(office, tmp_path):
    """The search index is filled by the bulk write (many rows a statement) as it is by logging
    by hand: every row, found without its diacritics."""
    path = office_log(tmp_path / "so.xlsx", with_formula_values=True)
    request = request_for(office, path)
    sheets.apply_import(office, request, dry_run=sheets.dry_run(office, request))
    big = big_log(tmp_path / "lon.xlsx", 1200, places=["Xã Mường Phăng"])
    request = request_for(office, big)
    assert sheets.apply_import(office, request, dry_run=sheets.dry_run(office, request)).added == 1200
    found = activities.list_rows(office, ActivityFilter(text="gia dinh hoc tap"))
    assert [r.title for r in found] == ["Hội thi “Gia đình học tập” cấp xã"]
    for n in (517, 1117, 1200):  # rows of the bulk write, up to the last
        found = activities.list_rows(office, ActivityFilter(text=f"số {n}"))
        assert [r.title for r in found] == [f"Hoạt động truyền thông số {n} về học tập suốt đời"]
    assert len(activities.list_ids(office, ActivityFilter(text="hoc tap suot doi"))) == 1200


def test_a_value_repeated_on_many_rows_gives_each_row_its_reason(office, tmp_path):
    rows = [["Ngày", "Hình thức", "Nội dung", "Địa bàn"]]
    for i in range(6):
        rows.append([f"0{i + 1}/03/2025", "Loa truyền thanh", f"Phát thanh số {i + 1}",
                     "Bản Co Líu" if i % 2 else "Xã Mường Phăng"])
    request = request_for(office, workbook(tmp_path / "lap.xlsx", rows))
    dry = sheets.dry_run(office, request)
    refused = [o for o in dry.outcomes if o.status == "error"]
    assert [o.row for o in refused] == [3, 5, 7] and dry.counts["new"] == 3
    for o in refused:
        assert [(p.field, p.column, p.value, p.code) for p in o.problems] == [("place", "D", "Bản Co Líu", "not_mapped")]
        assert "Bản Co Líu" in o.reason()
