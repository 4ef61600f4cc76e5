"""Spreadsheets out: the register and the report tables as .xlsx and CSV, the blank template, and
the round trip (export → import into an empty office) that gives back the same register."""

from __future__ import annotations

import csv
from datetime import date, datetime

import openpyxl
import pytest

from dbcomm.domain.models import ActivityFilter, OfficeIdentity
from dbcomm.services import activities, demo, orgs, plans, reports, settings, sheets
from dbcomm.services.database import open_database
from dbcomm.services.sheets import fields as F
from dbcomm.services.sheets import template as T
from dbcomm.store.models import Activity


def plan_id(db) -> int:
    return plans.default_plan(db).id


def whole_register(db) -> list[tuple]:
    """Every field the register keeps of each activity, by value (ids and UUIDs left out), sorted."""
    tree = plans.get_tree(db, plan_id(db))
    node_codes = {n.id: n.code for o in tree.objectives for n in [o, *o.children]}
    programme_codes = {p.id: p.code for p in tree.programmes}
    form_codes = {f.id: f.code for f in tree.forms}
    place_names = {o.id: o.name for o in orgs.list_orgs(db)}
    out = []
    for i in activities.list_ids(db, ActivityFilter(), sort="date", descending=False):
        a = activities.get(db, i)
        out.append((
            a.date_start, a.date_end, form_codes[a.form_id], a.subtype, a.title, a.description,
            place_names.get(a.place_id), tuple(a.languages), tuple(sorted(node_codes[n] for n in a.node_ids)),
            tuple(sorted(programme_codes[p] for p in a.programme_ids)), a.items, a.minutes, a.sessions,
            a.reach_total, tuple(sorted((d, c, n) for d, cats in a.reach.values.items() for c, n in cats.items())),
            a.partner, a.cost, a.funding, a.notes))
    return sorted(out, key=repr)


@pytest.fixture
def office(demo_db):
    settings.save_office(demo_db, OfficeIdentity(
        name="UBND xã Mường Phăng", parent_agency="UBND huyện Điện Biên", kind="commune",
        place_name="Mường Phăng", symbol="UBND", signer_title="CHỦ TỊCH", signer_name="Lò Văn Thắng"))
    return demo_db


# --- the register -------------------------------------------------------------------------------


def test_the_register_exports_with_real_types_headers_frozen_row_widths_and_totals(office, tmp_path):
    path = tmp_path / "so-hoat-dong.xlsx"
    result = sheets.export_register(office, ActivityFilter(), path)
    assert result.rows == 300

    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    assert ws.title == "Sổ hoạt động"
    headers = [c.value for c in ws[1]]
    assert headers == ["STT", *(f.header for f in F.FIELDS)]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(headers)).column_letter}301"
    col = {h: i + 1 for i, h in enumerate(headers)}
    first = ws.cell(2, col["Ngày thực hiện"])
    assert isinstance(first.value, datetime) and first.number_format == "dd/mm/yyyy"
    reach = ws.cell(2, col["Số lượt người được tiếp cận"])
    assert isinstance(reach.value, int) and reach.number_format == "#,##0"
    assert ws.column_dimensions[ws.cell(1, col["Tên hoạt động"]).column_letter].width == 50
    assert ws.cell(1, 2).font.bold
    # the totals row, under the last activity
    totals = activities.totals(office, ActivityFilter())
    assert ws.cell(302, col["Tên hoạt động"]).value == "Tổng cộng"
    assert ws.cell(302, col["Số lượt người được tiếp cận"]).value == totals.reach
    assert ws.cell(302, col["Kinh phí (đồng)"]).value == totals.cost
    assert ws.cell(302, col["Ngày thực hiện"]).value is None
    info = dict(wb["Thông tin"].iter_rows(values_only=True))
    assert info["Đơn vị"] == "UBND xã Mường Phăng" and info["Số hoạt động"] == 300
    assert info["Lọc"] == "Toàn bộ sổ (không lọc)"
    # printed on A4 landscape, the header row repeated, titled and numbered; thirty columns do not
    # fit one page legibly, so they are printed smaller across a few
    assert (ws.page_setup.orientation, ws.page_setup.paperSize, ws.page_setup.scale) == ("landscape", 9, 50)
    assert not ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$1:$1"
    assert ws.oddHeader.center.text == "UBND xã Mường Phăng – Sổ theo dõi hoạt động truyền thông"
    assert ws.oddFooter.center.text == "Trang &P / &N"


def test_the_export_follows_the_filter(office, tmp_path):
    f3 = plans.get_tree(office, plan_id(office)).forms[2].id
    flt = ActivityFilter(form_id=f3, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
    expected = activities.totals(office, flt).count
    result = sheets.export_register(office, flt, tmp_path / "f3-2024.xlsx")
    assert result.rows == expected > 0
    wb = openpyxl.load_workbook(tmp_path / "f3-2024.xlsx")
    ws = wb.worksheets[0]
    # whoever opens the file sees that it is a part of the register, and which part
    info = dict(wb["Thông tin"].iter_rows(values_only=True))
    assert info["Thời gian"] == "01/01/2024 – 31/12/2024" and info["Hình thức"].startswith("F3 – ")
    assert info["Số hoạt động"] == expected and "Lọc" not in info
    forms = {ws.cell(r, 4).value for r in range(2, expected + 2)}
    assert len(forms) == 1 and next(iter(forms)).startswith("F3 – ")
    years = {ws.cell(r, 2).value.year for r in range(2, expected + 2)}
    assert years == {2024}


def test_the_register_exports_to_csv_in_utf8_with_a_bom(office, tmp_path):
    path = tmp_path / "so.csv"
    result = sheets.export_register(office, ActivityFilter(), path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["STT", *(f.header for f in F.FIELDS)]
    assert len(rows) == result.rows + 1
    assert rows[1][1].count("/") == 2  # dd/mm/yyyy


def test_the_export_tells_its_progress_and_stopping_it_writes_nothing(office, tmp_path, monkeypatch):
    monkeypatch.setattr(sheets.export, "PAGE", 70)  # several pages of the 300 demo activities
    told: list[tuple[int, int]] = []
    path = tmp_path / "so.xlsx"
    result = sheets.export_register(office, ActivityFilter(), path, progress=lambda d, t: told.append((d, t)))
    assert told == [(70, 300), (140, 300), (210, 300), (280, 300), (300, 300)] and result.rows == 300

    # the person stops the next export half-way: the file already there is left as it was
    before = path.read_bytes()
    told.clear()
    with pytest.raises(sheets.ExportCancelled):
        sheets.export_register(office, ActivityFilter(), path, progress=lambda d, t: told.append((d, t)),
                               cancelled=lambda: len(told) >= 2)
    assert told == [(70, 300), (140, 300)] and path.read_bytes() == before
    from openpyxl.worksheet._writer import ALL_TEMP_FILES

    assert not ALL_TEMP_FILES  # the sheet's temporary file went too
    with pytest.raises(sheets.ExportCancelled):
        sheets.export_register(office, ActivityFilter(), tmp_path / "so.csv", cancelled=lambda: True)
    assert not (tmp_path / "so.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if "so" in p.name] == ["so.xlsx"]  # no half-written file


def test_a_title_starting_with_an_equals_sign_stays_text(office, tmp_path):
    pid = plan_id(office)
    form = plans.get_tree(office, pid).forms[0].id
    activities.create(office, activities.ActivityInput(plan_id=pid, date_start=date(2026, 1, 5), form_id=form,
                                                       title="=1+1 không phải công thức", subtype="press"))
    sheets.export_register(office, ActivityFilter(text="khong phai cong thuc"), tmp_path / "eq.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "eq.xlsx").worksheets[0]
    assert ws.cell(2, 6).value == "=1+1 không phải công thức" and ws.cell(2, 6).data_type == "s"


def test_a_csv_export_keeps_formula_like_text_from_running_in_excel_and_imports_back_as_written(
        office, tmp_path):
    pid = plan_id(office)
    form = plans.get_tree(office, pid).forms[0].id
    titles = ['=HYPERLINK("http://example.invalid","Bấm vào đây")', "+84 tin nhắn nhắc lịch học",
              "- Tuyên truyền Ngày Sách", "@Xã Mường Phăng trên Facebook", "Bình thường",
              "'= không phải công thức", "'Trích dẫn đầu dòng"]
    for title in titles:
        activities.create(office, activities.ActivityInput(plan_id=pid, date_start=date(2026, 1, 5), form_id=form,
                                                           title=title, subtype="press",
                                                           notes="=SUM(A1:A9)" if "Bình" in title else ""))
    flt = ActivityFilter(date_from=date(2026, 1, 5), date_to=date(2026, 1, 5))
    path = tmp_path / "so.csv"
    assert sheets.export_register(office, flt, path).rows == 7
    table = list(csv.reader(path.read_bytes().decode("utf-8-sig").splitlines()))
    column = table[0].index("Tên hoạt động")
    written = sorted(row[column] for row in table[1:])
    # every text Excel would take for a formula starts with an apostrophe; the rest is untouched
    assert written == sorted(["'" + t if t[0] in "=+-@'" else t for t in titles])
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table[1:] for cell in row)

    empty = open_database(tmp_path / "new-office.sqlite3")
    try:
        demo.ensure_demo_communes(empty)
        pv = sheets.preview(sheets.open_source(path))
        request = sheets.ImportRequest(path, plan_id(empty), sheets.propose_mapping(empty, pv))
        request.value_map = sheets.proposed_value_map(sheets.value_suggestions(empty, request))
        assert sheets.apply_import(empty, request).added == 7
        assert whole_register(empty) == sorted(
            (r for r in whole_register(office) if r[0] == date(2026, 1, 5)), key=repr)
    finally:
        empty.close()


# --- the round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_into_an_empty_office_gives_the_same_register(office, tmp_path, suffix):
    path = tmp_path / f"so-hoat-dong{suffix}"
    sheets.export_register(office, ActivityFilter(), path)

    empty = open_database(tmp_path / "new-office.sqlite3")
    try:
        demo.ensure_demo_communes(empty)  # the same directory of communes
        info = sheets.open_source(path)
        pv = sheets.preview(info)
        mapping = sheets.propose_mapping(empty, pv)
        assert set(mapping.columns) == {f.key for f in F.FIELDS}
        request = sheets.ImportRequest(path, plan_id(empty), mapping)
        suggestions = sheets.value_suggestions(empty, request)
        assert all(s.how == "exact" for s in suggestions), [s for s in suggestions if s.how != "exact"]
        request.value_map = sheets.proposed_value_map(suggestions)
        dry = sheets.dry_run(empty, request)
        assert dry.counts["new"] == 300 and dry.counts["error"] == 0, dry.outcomes[:3]
        assert dry.counts["skipped"] == (1 if suffix == ".xlsx" else 0)  # the totals row
        sheets.apply_import(empty, request)

        assert whole_register(empty) == whole_register(office)
    finally:
        empty.close()


def test_importing_an_export_back_into_its_own_office_adds_nothing(office, tmp_path):
    path = tmp_path / "so.xlsx"
    sheets.export_register(office, ActivityFilter(), path)
    pv = sheets.preview(sheets.open_source(path))
    request = sheets.ImportRequest(path, plan_id(office), sheets.propose_mapping(office, pv))
    request.value_map = sheets.proposed_value_map(sheets.value_suggestions(office, request))
    dry = sheets.dry_run(office, request)
    assert dry.counts["in_register"] == 300 and dry.to_import == 0


# --- report tables ---------------------------------------------------------------------------------


def test_every_report_table_is_exported_with_its_totals(office, tmp_path):
    path = tmp_path / "BC-2025.xlsx"
    result = sheets.export_report(office, path, plan_id=plan_id(office), period_key="2025")
    content = reports.compute(office, reports.default_settings(office, plan_id(office), "2025"), reports.Narrative())
    wb = openpyxl.load_workbook(path)
    names = wb.sheetnames
    assert names[:3] == ["Tổng hợp", "Theo hình thức", "Theo mục tiêu, nhiệm vụ"]
    assert {"Theo địa bàn", "Theo ngôn ngữ", "Đối tượng tiếp cận", "Chỉ tiêu", "Danh sách hoạt động",
            "Chưa có hoạt động", "Thông tin"} <= set(names)
    by_form = wb["Theo hình thức"]
    assert [c.value for c in by_form[1]][:3] == ["Mã", "Hình thức truyền thông", "Số hoạt động"]
    rows = list(by_form.iter_rows(min_row=2, values_only=True))
    assert rows[-1][1] == "Tổng cộng" and rows[-1][2] == content.totals.activities
    assert [r[2] for r in rows[:-1]] == [f.activities for f in content.by_form]
    objectives = list(wb["Theo mục tiêu, nhiệm vụ"].iter_rows(min_row=2, values_only=True))
    assert not any(r[1] == "Tổng cộng" for r in objectives)  # an activity serves several: no sum
    assert any(isinstance(r[0], str) and r[0].startswith("Ghi chú") for r in objectives)
    annex = wb["Danh sách hoạt động"]
    assert annex.max_row == len(content.annex) + 2
    assert isinstance(annex.cell(2, 2).value, datetime)
    assert annex.freeze_panes == "A2"
    assert result.rows >= len(content.annex)
    # each printed page says whose table it is, which table and which period
    assert by_form.oddHeader.center.text == f"UBND xã Mường Phăng – Theo hình thức, {content.period_label}"
    assert by_form.print_title_rows == "$1:$1" and by_form.sheet_properties.pageSetUpPr.fitToPage
    assert (by_form.page_setup.fitToWidth, by_form.page_setup.fitToHeight) == (1, 0)  # one page wide


def test_report_tables_to_csv_are_one_file_each(office, tmp_path):
    result = sheets.export_report(office, tmp_path / "BC-2025.csv", plan_id=plan_id(office), period_key="2025")
    names = sorted(p.name for p in result.paths)
    assert "BC-2025-theo-hinh-thuc.csv" in names and "BC-2025-danh-sach-hoat-dong.csv" in names
    assert all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in result.paths)


def test_a_stored_report_exports_as_it_was_built(office, tmp_path):
    cfg = reports.default_settings(office, plan_id(office), "2025-Q2")
    info = reports.save_draft(office, None, cfg, reports.Narrative())
    built = reports.build(office, info.id)
    form = plans.get_tree(office, plan_id(office)).forms[0].id
    activities.create(office, activities.ActivityInput(plan_id=plan_id(office), date_start=date(2025, 5, 5),
                                                       form_id=form, title="Thêm sau khi lập báo cáo",
                                                       subtype="press"))
    sheets.export_report(office, tmp_path / "bc.xlsx", report_id=built.info.id)
    ws = openpyxl.load_workbook(tmp_path / "bc.xlsx")["Tổng hợp"]
    assert ws.cell(2, 2).value == built.info.activity_count


# --- the template ----------------------------------------------------------------------------------


def test_the_template_has_lists_instructions_and_a_hidden_catalogue(office, tmp_path):
    path = sheets.write_template(office, plan_id(office), tmp_path / "mau-so-theo-doi.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [T.DATA_SHEET, T.HELP_SHEET, T.LISTS_SHEET]
    assert wb[T.LISTS_SHEET].sheet_state == "hidden" and wb.active.title == T.DATA_SHEET
    ws = wb[T.DATA_SHEET]
    headers = [c.value for c in ws[1]]
    assert headers == ["STT", *(f.header for f in F.FIELDS if f.key != "uuid")]
    assert ws.freeze_panes == "A2"
    lists = {str(dv.sqref).split(":")[0].rstrip("0123456789"): dv for dv in ws.data_validations.dataValidation}
    assert all(str(dv.sqref).endswith(str(T.ROWS + 1)) for dv in lists.values())
    col = {h: ws.cell(1, i + 1).column_letter for i, h in enumerate(headers)}
    form_list = lists[col["Hình thức truyền thông"]]
    assert form_list.type == "list" and "'Danh mục'!$A$2:$A$6" in form_list.formula1
    assert lists[col["Ngày thực hiện"]].type == "date"
    assert lists[col["Số lượt người được tiếp cận"]].type == "whole"
    catalogue = wb[T.LISTS_SHEET]
    assert catalogue["A2"].value.startswith("F1 – ")
    places = [c.value for c in catalogue["C"][1:] if c.value]
    assert "Xã Mường Phăng" in places
    help_text = " ".join(str(v) for row in wb[T.HELP_SHEET].iter_rows(values_only=True) for v in row if v)
    assert "ngày/tháng/năm" in help_text and ".xlsx" in help_text


def test_a_filled_in_template_imports_cleanly(office, tmp_path):
    path = sheets.write_template(office, plan_id(office), tmp_path / "mau.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[T.DATA_SHEET]
    catalogue = wb[T.LISTS_SHEET]
    headers = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(headers)}

    def fill(row: int, **values):
        for header, value in values.items():
            ws.cell(row, col[header], value)

    # what a commune clerk picks in the lists and types
    fill(2, **{"STT": 1, "Ngày thực hiện": datetime(2026, 3, 5), "Hình thức truyền thông": catalogue["A4"].value,
               "Loại hoạt động": catalogue["B4"].value, "Tên hoạt động": "Phát thanh về Tuần lễ học tập suốt đời",
               "Địa bàn": "Xã Mường Phăng", "Mục tiêu, nhiệm vụ": catalogue["D5"].value,
               "Ngôn ngữ": "Tiếng Việt; Tiếng Thái", "Số tin, bài, sản phẩm": 2, "Thời lượng (phút)": 30,
               "Số lượt người được tiếp cận": 450, "Nữ": 230, "Nam": 220})
    fill(3, **{"STT": 2, "Ngày thực hiện": "12/03/2026", "Hình thức truyền thông": catalogue["A5"].value,
               "Tên hoạt động": "Hội thi “Gia đình học tập”", "Địa bàn": "Xã Nà Tấu",
               "Chương trình, đề án lồng ghép": catalogue["E7"].value, "Kinh phí (đồng)": "2.500.000",
               "Nguồn kinh phí": catalogue["G3"].value, "Số lượt người được tiếp cận": 120})
    wb.save(path)

    info = sheets.open_source(path)
    pv = sheets.preview(info)
    assert pv.sheet == T.DATA_SHEET
    request = sheets.ImportRequest(path, plan_id(office), sheets.propose_mapping(office, pv))
    suggestions = sheets.value_suggestions(office, request)
    assert all(s.how == "exact" for s in suggestions), [s for s in suggestions if s.how != "exact"]
    request.value_map = sheets.proposed_value_map(suggestions)
    dry = sheets.dry_run(office, request)
    assert (dry.counts["new"], dry.counts["error"]) == (2, 0), dry.outcomes
    before = activities.totals(office, ActivityFilter()).count
    sheets.apply_import(office, request)
    assert activities.totals(office, ActivityFilter()).count == before + 2
    with office.read() as s:
        a = s.query(Activity).filter(Activity.title == "Phát thanh về Tuần lễ học tập suốt đời").one()
        assert (a.languages, a.minutes, a.subtype, a.form.code) == ("vi thai", 30, "loudspeaker", "F3")
        b = s.query(Activity).filter(Activity.title == "Hội thi “Gia đình học tập”").one()
        assert (b.cost, b.funding, [p.code for p in b.programmes]) == (2_500_000, "ntp", ["P6"])


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_an_export_shows_the_register_as_it_was_when_it_began(db, tmp_path, monkeypatch):
    from sqlalchemy import update

    pid = plan_id(db)
    form = plans.get_tree(db, pid).forms[0].id
    for i in range(6):
        activities.create(db, activities.ActivityInput(plan_id=pid, date_start=date(2025, 3, 1 + i), form_id=form,
                                                       title=f"Hoạt động {i + 1}", subtype="press"))
    monkeypatch.setattr(sheets.export, "PAGE", 2)
    changed: list[int] = []

    def progress(done: int, total: int) -> None:
        if not changed:  # a colleague saves while the export is half-way
            with db.engine.begin() as c:
                c.execute(update(Activity).where(Activity.title == "Hoạt động 5").values(title="Đổi tên giữa chừng"))
                c.execute(update(Activity).where(Activity.title == "Hoạt động 6").values(deleted_at=datetime(2026, 1, 1)))
            changed.append(done)

    path = tmp_path / "so.xlsx"
    assert sheets.export_register(db, ActivityFilter(), path, progress=progress).rows == 6
    ws = openpyxl.load_workbook(path).worksheets[0]
    column = [c.value for c in ws[1]].index("Tên hoạt động")
    titles = [row[column] for row in ws.iter_rows(min_row=2, values_only=True) if row[0] is not None]
    assert changed == [2] and titles == [f"Hoạt động {i}" for i in range(1, 7)]
