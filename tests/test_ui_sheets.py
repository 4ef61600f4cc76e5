"""The spreadsheet bridge through the windows: import an office's Excel log step by step (columns,
values, dry run, import, the register), CSV encodings, stopping, bad files, the blank template,
and the register's and a report's tables exported to .xlsx."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtGui import QAction
from sqlalchemy import func, select

from dbcomm.domain.models import ActivityFilter, ActivityInput, OfficeIdentity
from dbcomm.domain.report import Narrative
from dbcomm.domain.roles import Role
from dbcomm.services import activities, auth, demo, plans, reports, settings, sheets
from dbcomm.store.models import Activity, SheetSource
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.sheets_import import (
    STEP_COLUMNS,
    STEP_DONE,
    STEP_DRY,
    STEP_FILE,
    STEP_PREVIEW,
    STEP_VALUES,
    SheetImportDialog,
)
from sheet_files import big_log, encode_tcvn3, office_log, old_xls, protected_xlsx, workbook
from ui_helpers import FakeInteraction, choose, click, install_fake

WAIT = 20_000

MUONG_PHANG = OfficeIdentity(name="UBND xã Mường Phăng", parent_agency="UBND huyện Điện Biên",
                             kind="commune", place_name="Mường Phăng", symbol="UBND",
                             signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH", signer_name="Lò Văn Sơn")


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (the Vietnamese ones belong to the translation tests)."""
    from dbcomm import i18n

    i18n.set_language("en")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def office(db):  # type: ignore[no-untyped-def]
    """A commune office with the demo communes in its directory and no activity yet."""
    settings.save_office(db, MUONG_PHANG)
    settings.mark_setup_done(db)
    demo.ensure_demo_communes(db)
    return db


def plan_id(db) -> int:  # type: ignore[no-untyped-def]
    return plans.default_plan(db).id


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def titles(db) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(r.title for r in activities.list_rows(db, ActivityFilter(), limit=1000))


def dialog_for(qtbot, db) -> SheetImportDialog:  # type: ignore[no-untyped-def]
    d = SheetImportDialog(db, plan_id(db))
    qtbot.addWidget(d)
    d.show()
    return d


def idle(qtbot, d: SheetImportDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not d.working, timeout=WAIT)


def open_file(qtbot, d: SheetImportDialog, fake: FakeInteraction, path: Path) -> None:  # type: ignore[no-untyped-def]
    """The person presses "Choose a file…" and picks ``path``."""
    fake.open_file_result = path
    click(qtbot, d.choose_button)
    idle(qtbot, d)


def press_next(qtbot, d: SheetImportDialog) -> None:  # type: ignore[no-untyped-def]
    assert d.next_button.isEnabled(), d.message.text()
    click(qtbot, d.next_button)
    idle(qtbot, d)


def field_combo(d: SheetImportDialog, letter: str):  # type: ignore[no-untyped-def]
    return d.field_combos[[c.letter for c in d.pv.columns].index(letter)]  # type: ignore[union-attr]


def place_target(db, label: str) -> str:  # type: ignore[no-untyped-def]
    return next(c.target for c in sheets.choices(db, plan_id(db), "place") if c.label == label)


# --- the whole import, like a person ---------------------------------------------------------------


def test_an_office_log_is_imported_step_by_step_and_shows_in_the_register(qtbot, office, fake, tmp_path):
    path = office_log(tmp_path / "so-theo-doi-2025.xlsx")
    w = MainWindow(office)
    qtbot.addWidget(w)
    w.show()
    action = w.findChild(QAction, "sheets_import")
    assert action is not None and action.isEnabled()
    action.trigger()
    d = w.findChild(SheetImportDialog)
    assert d is not None and d.step == STEP_FILE

    # 1. the file: a workbook with two sheets, the first visible one chosen
    open_file(qtbot, d, fake, path)
    assert [d.sheet_combo.itemData(i) for i in range(d.sheet_combo.count())] == ["Năm 2025", "Ghi chú 2024"]
    assert not d.encodings.isVisible()  # no encoding to choose for a workbook
    press_next(qtbot, d)

    # 2. the first rows: the header found under the title, data from row 6
    assert d.step == STEP_PREVIEW
    assert d.header_spin.value() == 3
    assert d.preview_table.verticalHeaderItem(0).text() == "6"
    assert d.preview_table.item(0, 3).text() == "Tuyên truyền Ngày Sách và Văn hóa đọc"
    press_next(qtbot, d)

    # 3. the columns, proposed from their Vietnamese names; the person leaves out the notes
    assert d.step == STEP_COLUMNS
    assert field_combo(d, "B").currentData() == "date_start"
    assert field_combo(d, "E").currentData() == "place"
    assert field_combo(d, "A").currentData() is None  # "STT" is no field
    choose(field_combo(d, "M"), None)
    press_next(qtbot, d)

    # 4. the values: "Bản Co Líu" matches nothing; the person says it is in Mường Phăng
    assert d.step == STEP_VALUES
    row = d.value_row("place", "Bản Co Líu")
    _s, combo = d.value_combos[row]
    assert combo.currentData() is None and not d.values_table.isRowHidden(row)
    choose(combo, place_target(office, "Xã Mường Phăng"))
    loa = d.value_combos[d.value_row("form", "Loa truyền thanh")][1]
    assert loa.currentData() == "F3"  # the closest form, proposed
    press_next(qtbot, d)

    # 5. the dry run: the counts and every row that cannot be imported, with Excel's row numbers
    assert d.step == STEP_DRY
    assert d.count_labels["new"][0].text() == "4"
    assert d.count_labels["error"][0].text() == "3"
    problems = {int(row): (status, why) for row, status, _title, why in d.problem_rows()}
    assert "31/02/2025" in problems[10][1] and problems[10][0] == "error"
    assert "formula" in problems[13][1]
    assert problems[14][0] == "heading or totals, skipped"
    assert 11 not in problems  # the village is mapped now
    assert count(office, Activity) == 0  # nothing written yet
    assert d.next_button.text() == "Import 4 activities"
    statuses = [status for _row, status, _title, _why in d.problem_rows()]
    assert statuses == sorted(statuses, key=lambda st: st != "error")  # what must be corrected, first
    # the rows to import as they will be read: the kind and language filled in are seen beforehand
    assert d.dry_tabs.tabText(1) == "First rows to import (4 of 4)"
    first = [d.sample.item(0, c).text() for c in range(d.sample.columnCount())]
    assert first == ["6", "05/03/2025", "F3", "Loudspeaker broadcast", "Tuyên truyền Ngày Sách và Văn hóa đọc",
                     "Xã Mường Phăng", "Vietnamese"]
    assert d.sample.item(0, 2).toolTip().startswith("F3 – ")

    # 6. the import, then the result and the register
    press_next(qtbot, d)
    assert d.step == STEP_DONE
    assert d.result_label.text() == "4 added, 0 already imported, 3 with errors, 1 skipped."
    assert count(office, Activity) == 4 and count(office, SheetSource) == 4
    first = activities.get(office, activities.list_ids(office, ActivityFilter(), sort="date", descending=False)[0])
    assert first.title == "Tuyên truyền Ngày Sách và Văn hóa đọc" and first.reach_total == 1234
    assert first.notes in (None, "")  # the notes column was left out
    mark = sheets.source_of(office, first.id)
    assert mark is not None and (mark.file_name, mark.row) == ("so-theo-doi-2025.xlsx", 6)
    assert w.register is not None
    qtbot.waitUntil(lambda: w.register is not None and w.register.model.rowCount() == 4, timeout=WAIT)
    click(qtbot, d.close_button)


def test_an_import_is_backed_up_before_and_can_be_undone_from_its_last_step(qtbot, office, fake, tmp_path):
    from dbcomm.services import backup

    path = office_log(tmp_path / "so.xlsx", with_formula_values=True)
    d = dialog_for(qtbot, office)
    open_file(qtbot, d, fake, path)
    for _step in range(5):
        press_next(qtbot, d)
    assert d.step == STEP_DONE and d.result_value is not None and d.result_value.added == 4
    # the database as it was just before the import is in the backups folder
    safety = d.result_value.backup
    assert safety is not None and safety.exists() and "sheet-import" in safety.name
    assert safety in [b.path for b in backup.list_backups(office.path)]
    assert safety.name in d.result_details.text()  # the person is told where it is

    # the person sees it was the wrong file: undo
    assert d.undo_button.isVisible()
    fake.confirm_answers = [True]
    click(qtbot, d.undo_button)
    assert "Move the 4 activities this import added to the recycle bin?" in fake.of_kind("confirm")[0].text
    assert d.result_label.text() == "Undone: 4 activities moved to the recycle bin."
    assert not d.undo_button.isVisible()
    assert activities.list_ids(office, ActivityFilter()) == []
    assert len(activities.list_ids(office, ActivityFilter(deleted=True))) == 4  # restorable from the bin


def test_reimporting_the_same_file_adds_nothing_and_says_so(qtbot, office, fake, tmp_path):
    path = office_log(tmp_path / "so.xlsx", with_formula_values=True)
    for attempt in range(2):
        d = dialog_for(qtbot, office)
        open_file(qtbot, d, fake, path)
        for _step in range(4):
            press_next(qtbot, d)
        assert d.step == STEP_DRY
        if attempt == 0:
            press_next(qtbot, d)
            assert d.result_value is not None and d.result_value.added == 4
        else:
            assert d.count_labels["new"][0].text() == "0"
            assert d.count_labels["already"][0].text() == "4"
            assert not d.next_button.isEnabled()
            assert "Nothing new to import" in d.message.text()
            assert {status for _r, status, _t, _w in d.problem_rows()} >= {"imported before"}
    assert count(office, Activity) == 4


def test_a_field_chosen_for_two_columns_is_refused_in_plain_words(qtbot, office, fake, tmp_path):
    d = dialog_for(qtbot, office)
    open_file(qtbot, d, fake, office_log(tmp_path / "so.xlsx"))
    press_next(qtbot, d)
    press_next(qtbot, d)
    choose(field_combo(d, "D"), "date_start")  # the title column, mapped to the date as well

    assert not d.next_button.isEnabled()
    message = d.message.text()
    assert "Date is mapped to two columns" in message and "B “Ngày thực hiện”" in message
    assert "Traceback" not in message
    choose(field_combo(d, "D"), "title")
    assert d.next_button.isEnabled() and not d.message.isVisible()


def test_a_log_without_a_form_column_takes_one_form_for_every_row(qtbot, office, fake, tmp_path):
    path = workbook(tmp_path / "loa.xlsx", [["Ngày", "Tên hoạt động", "Địa bàn"],
                                            ["05/03/2025", "Phát thanh về khuyến học", "Mường Phăng"],
                                            ["12/03/2025", "Phát thanh về thư viện xã", "Nà Tấu"]])
    d = dialog_for(qtbot, office)
    open_file(qtbot, d, fake, path)
    press_next(qtbot, d)
    press_next(qtbot, d)
    assert not d.next_button.isEnabled() and "Form" in d.message.text()
    choose(d.form_constant, "F3")
    press_next(qtbot, d)
    assert d.no_values.isHidden() or d.values_table.rowCount() > 0
    press_next(qtbot, d)
    assert d.count_labels["new"][0].text() == "2"
    press_next(qtbot, d)
    assert d.result_value is not None and d.result_value.added == 2
    assert {r.form_code for r in activities.list_rows(office, ActivityFilter(), limit=10)} == {"F3"}


# --- CSV encodings ---------------------------------------------------------------------------------


def test_a_tcvn3_csv_is_detected_and_each_reading_is_shown(qtbot, office, fake, tmp_path):
    text = "Ngày,Hình thức,Tên hoạt động,Địa bàn\n05/03/2025,F3,Phát thanh về học tập suốt đời,Mường Phăng\n"
    path = tmp_path / "cu.csv"
    path.write_bytes(encode_tcvn3(text))
    d = dialog_for(qtbot, office)
    open_file(qtbot, d, fake, path)

    assert d.encodings.isVisible()
    lines = {d.encodings.item(i).data(256): d.encodings.item(i).text() for i in range(d.encodings.count())}
    assert set(lines) >= {"tcvn3", "cp1258"}
    assert d.encodings.currentItem().data(256) == "tcvn3"
    assert "Tên hoạt động" in lines["tcvn3"]  # the first line with diacritics, read each way
    assert "Tên hoạt động" not in lines["cp1258"]

    d.choose_encoding("cp1258")  # the person tries another reading …
    idle(qtbot, d)
    assert d.info is not None and d.info.encoding == "cp1258"
    d.choose_encoding("tcvn3")  # … and comes back to the right one
    idle(qtbot, d)
    press_next(qtbot, d)
    assert d.preview_table.item(0, 2).text() == "Phát thanh về học tập suốt đời"


def test_a_utf8_csv_with_bom_imports(qtbot, office, fake, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffNgày;Hình thức;Tên hoạt động\n05/03/2025;F3;Phát thanh ở bản Nà Nọi\n".encode())
    d = dialog_for(qtbot, office)
    open_file(qtbot, d, fake, path)
    assert d.info is not None and d.info.encoding == "utf-8-sig" and d.info.delimiter == ";"
    for _step in range(4):
        press_next(qtbot, d)
    press_next(qtbot, d)
    assert titles(office) == ["Phát thanh ở bản Nà Nọi"]


# --- bad files, stopping, rights -------------------------------------------------------------------


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: p.write_bytes(b"PK\x03\x04" + b"\0" * 200) and p, "damaged"),
    (protected_xlsx, "password"),
    (old_xls, "old Excel format (.xls)"),
])
def test_a_bad_file_shows_a_plain_message_and_nothing_moves_on(qtbot, office, fake, tmp_path, make, words):
    path = tmp_path / "bad.xlsx"
    make(path)
    d = dialog_for(qtbot, office)
    open_file(qtbot, d, fake, path)

    message = d.message.text()
    assert words in message and "bad.xlsx" in message
    assert "Traceback" not in message and "Unexpected" not in message
    assert d.step == STEP_FILE and not d.next_button.isEnabled()
    assert count(office, Activity) == 0


def test_stopping_the_import_writes_nothing(qtbot, office, fake, tmp_path, monkeypatch):
    path = big_log(tmp_path / "lon.xlsx", 1500, places=["Xã Mường Phăng"])
    d = dialog_for(qtbot, office)
    open_file(qtbot, d, fake, path)
    for _step in range(4):
        press_next(qtbot, d)
    assert d.step == STEP_DRY and d.dry is not None and d.dry.to_import == 1500
    # the person presses Stop while the import is writing (after its first batch)
    real = sheets.importing._Writer.write

    def write_then_stop(self, parsed):  # type: ignore[no-untyped-def]
        real(self, parsed)
        if d.task is not None:
            d.task.cancel()  # what the Stop button does

    monkeypatch.setattr(sheets.importing._Writer, "write", write_then_stop)
    click(qtbot, d.next_button)
    assert d.stop_button.isVisible() and not d.close_button.isEnabled()
    idle(qtbot, d)

    assert "nothing was imported" in d.message.text()
    assert d.step == STEP_DRY
    assert count(office, Activity) == 0 and count(office, SheetSource) == 0


def test_stopping_the_dry_run_keeps_the_values_step(qtbot, office, fake, tmp_path):
    path = big_log(tmp_path / "lon.xlsx", 3000, places=["Xã Mường Phăng"])
    d = dialog_for(qtbot, office)
    open_file(qtbot, d, fake, path)
    for _step in range(3):
        press_next(qtbot, d)
    assert d.step == STEP_VALUES
    click(qtbot, d.next_button)
    click(qtbot, d.stop_button)
    idle(qtbot, d)
    assert d.step in (STEP_VALUES, STEP_DRY)  # a fast machine may finish before it notices
    if d.step == STEP_VALUES:
        assert d.message.text() == "Stopped."


def test_a_clerk_may_export_but_not_import(qtbot, office, fake):
    auth.create_user(office, "quantri", "Quản trị", Role.ADMIN, "mat-khau-dai-1")
    auth.authenticate(office, "quantri", "mat-khau-dai-1")
    auth.create_user(office, "vanthu", "Lò Thị Văn", Role.CLERK, "mat-khau-dai-2")
    auth.authenticate(office, "vanthu", "mat-khau-dai-2")
    w = MainWindow(office)
    qtbot.addWidget(w)
    action = w.findChild(QAction, "sheets_import")
    assert action is not None and not action.isEnabled()
    export = w.findChild(QAction, "sheets_export")
    assert export is not None and export.isEnabled()  # a clerk may export


# --- template and exports --------------------------------------------------------------------------


def test_the_blank_template_is_written_where_the_person_says(qtbot, office, fake, tmp_path):
    w = MainWindow(office)
    qtbot.addWidget(w)
    fake.save_file_result = tmp_path / "mau"  # typed without an extension
    w.findChild(QAction, "sheets_template").trigger()
    qtbot.waitUntil(lambda: bool(fake.of_kind("info")), timeout=WAIT)
    suggested = fake.of_kind("save_file")[0].text
    assert suggested.startswith("mau-nhap-hoat-dong-") and suggested.endswith(".xlsx")
    book = openpyxl.load_workbook(tmp_path / "mau.xlsx")
    assert "Ngày thực hiện" in [c.value for c in next(book.worksheets[0].iter_rows(max_row=1))]


def test_the_register_is_exported_with_its_filter_to_xlsx(qtbot, office, fake, tmp_path):
    pid = plan_id(office)
    forms = {f.code: f.id for f in activities.forms(office, pid)}
    for day, form, title in ((date(2025, 3, 5), "F3", "Phát thanh về khuyến học"),
                             (date(2025, 4, 2), "F4", "Hội thi gia đình học tập"),
                             (date(2025, 5, 9), "F3", "Phát thanh lịch học cộng đồng")):
        activities.create(office, ActivityInput(plan_id=pid, date_start=day, form_id=forms[form], title=title,
                                                reach_total=120))
    w = MainWindow(office)
    qtbot.addWidget(w)
    w.show()
    reg = w.register
    assert reg is not None
    choose(reg.form_combo, forms["F3"])  # the person filters the register to the loudspeaker
    fake.save_file_result = tmp_path / "so.xlsx"
    w.findChild(QAction, "sheets_export").trigger()
    qtbot.waitUntil(lambda: bool(fake.of_kind("info")), timeout=WAIT)

    assert "Wrote 2 activities" in fake.of_kind("info")[0].text
    assert fake.of_kind("save_file")[0].text.startswith("so-hoat-dong-")
    ws = openpyxl.load_workbook(tmp_path / "so.xlsx").worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    body = [r for r in rows[1:] if r[header.index("Tên hoạt động")] not in (None, "Tổng cộng")]
    assert [r[header.index("Tên hoạt động")] for r in body] == ["Phát thanh về khuyến học",
                                                                 "Phát thanh lịch học cộng đồng"]
    when = body[0][header.index("Ngày thực hiện")]
    assert isinstance(when, datetime) and when.date() == date(2025, 3, 5)  # a date, not text
    assert body[0][header.index("Số lượt người được tiếp cận")] == 120  # a number


def test_a_reports_tables_are_exported_from_the_reports_tab(qtbot, office, fake, tmp_path):
    pid = plan_id(office)
    form = activities.forms(office, pid)[0].id
    activities.create(office, ActivityInput(plan_id=pid, date_start=date(2025, 8, 5), form_id=form,
                                            title="Phát thanh về khuyến học", reach_total=300))
    cfg = reports.default_settings(office, pid, "2025-Q3")
    reports.save_draft(office, None, cfg, Narrative())
    w = MainWindow(office)
    qtbot.addWidget(w)
    w.show()
    view = w.reports_view
    assert view is not None
    w.tabs.setCurrentWidget(view)
    view.reload()
    assert not view.export_button.isEnabled()  # nothing selected yet
    view.table.selectRow(0)
    fake.save_file_result = tmp_path / "bang.xlsx"
    click(qtbot, view.export_button)
    qtbot.waitUntil(lambda: bool(fake.of_kind("info")), timeout=WAIT)
    assert "2025-q3" in fake.of_kind("save_file")[0].text
    book = openpyxl.load_workbook(tmp_path / "bang.xlsx")
    assert "Theo hình thức" in book.sheetnames
    summary = book["Tổng hợp"]
    values = {r[0]: r[1] for r in summary.iter_rows(values_only=True) if r and r[0]}
    assert values.get("Số hoạt động") == 1 and values.get("Số lượt người được tiếp cận") == 300


def test_stopping_the_registers_export_writes_nothing_and_says_so(qtbot, office, fake, tmp_path, monkeypatch):
    from dbcomm.ui import sheets_export

    pid = plan_id(office)
    form = activities.forms(office, pid)[0].id
    for i in range(40):
        activities.create(office, ActivityInput(plan_id=pid, date_start=date(2025, 3, 1 + i % 28), form_id=form,
                                                title=f"Phát thanh số {i + 1}"))
    monkeypatch.setattr(sheets.export, "PAGE", 1)  # one activity a page: the export takes a while
    w = MainWindow(office)
    qtbot.addWidget(w)
    w.show()
    fake.save_file_result = tmp_path / "so.xlsx"
    task = sheets_export.export_register(w)
    assert task is not None
    task.cancel()  # the person presses Stop
    qtbot.waitUntil(lambda: not task.running, timeout=WAIT)
    assert task.state == "cancelled"
    assert w.statusBar().currentMessage() == "Export stopped: no file was written."
    assert not (tmp_path / "so.xlsx").exists() and not fake.of_kind("info") and not fake.of_kind("error")


def test_a_name_typed_without_an_extension_gets_the_file_type_chosen_in_the_dialog(tmp_path):
    from dbcomm.ui.interaction import with_chosen_suffix
    from dbcomm.ui.sheets_export import _filters

    filters = _filters()
    xlsx, csv_ = filters.split(";;")
    assert with_chosen_suffix(tmp_path / "so-hoat-dong", csv_, filters).name == "so-hoat-dong.csv"
    assert with_chosen_suffix(tmp_path / "so-hoat-dong", xlsx, filters).name == "so-hoat-dong.xlsx"
    assert with_chosen_suffix(tmp_path / "bao.cao", csv_, filters).name == "bao.cao.csv"
    # an extension the person typed, of a type offered, is theirs
    assert with_chosen_suffix(tmp_path / "so.XLSX", csv_, filters).name == "so.XLSX"
    assert with_chosen_suffix(tmp_path / "so.csv", xlsx, filters).name == "so.csv"
