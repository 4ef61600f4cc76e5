"""The reports tab, the report editor and the PDF preview, driven like a person."""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import date

import pypdfium2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QPushButton

from dbcomm.domain.models import ActivityFilter
from dbcomm.domain.report import Narrative
from dbcomm.i18n import _, format_datetime, format_number, ngettext
from dbcomm.services import activities, demo, plans, reports, settings
from dbcomm.store.models import Report
from dbcomm.ui import report_editor
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.pdf_preview import PdfPreviewDialog, suggested_file_name
from dbcomm.ui.report_editor import ReportEditor
from dbcomm.ui.reports_view import ReportsView
from ui_helpers import (
    FakeInteraction,
    choose,
    click,
    click_row,
    install_fake,
    replace_text,
    type_date,
    type_text,
)

SUBJECT = "Kết quả tuyên truyền xây dựng xã hội học tập, hưởng ứng Tuần lễ học tập suốt đời quý III năm 2026"
Q3 = date(2026, 7, 1), date(2026, 9, 30)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def office_db(demo_db):  # type: ignore[no-untyped-def]
    """The demo register (300 activities) and a complete office identity."""
    demo.set_demo_office(demo_db)
    return demo_db


@pytest.fixture
def plan_id(db) -> int:  # type: ignore[no-untyped-def]
    return plans.default_plan(db).id


@pytest.fixture
def view(qtbot, office_db, plan_id, fake) -> ReportsView:  # type: ignore[no-untyped-def]
    v = ReportsView(office_db, plan_id)
    qtbot.addWidget(v)
    v.resize(1200, 600)
    v.show()
    return v


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return [tuple(doc.get_page_size(i)) for i in range(len(doc))]
    finally:
        doc.close()


def settle(qtbot, editor: ReportEditor) -> None:  # type: ignore[no-untyped-def]
    """Wait for the quiet draft a new report writes in the background."""
    qtbot.waitUntil(lambda: not editor.drafting(), timeout=20000)


def today_is(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """The editor's calendar shows ``day``."""
    monkeypatch.setattr(report_editor, "today", lambda: day)


def open_new(qtbot, view: ReportsView) -> ReportEditor:  # type: ignore[no-untyped-def]
    click(qtbot, view.new_button)
    editor = view.editor
    assert editor is not None and editor.isVisible()
    settle(qtbot, editor)
    return editor  # closed with the view that owns it


def choose_q3(editor: ReportEditor) -> None:
    choose(editor.kind_combo, "quarter")
    editor.year_spin.setValue(2026)
    choose(editor.quarter_combo, 3)


def stored_report(db) -> reports.ReportInfo:  # type: ignore[no-untyped-def]
    (info,) = reports.list_reports(db)
    return info


# --- the editor ----------------------------------------------------------------------------


def test_a_report_for_quarter_three_is_saved_with_the_settings_chosen(qtbot, office_db, view, fake):  # type: ignore[no-untyped-def]
    editor = open_new(qtbot, view)
    choose_q3(editor)
    assert editor.period_dates.text() == "01/07/2026 – 30/09/2026"
    assert editor.subject_text().endswith("quý III năm 2026")  # the subject follows the period
    assert editor.sections["assessment"].toPlainText()  # a new report starts with the draft

    replace_text(qtbot, editor.subject_edit, SUBJECT)
    choose(editor.quarter_combo, 2)  # the person changed the subject: it no longer follows
    choose(editor.quarter_combo, 3)
    assert editor.number_edit.text() == ""
    type_text(editor.distribution_edit, "Phòng Văn hóa - Xã hội huyện;")
    click(qtbot, editor.save_button)

    info = stored_report(office_db)
    assert (info.period_key, info.date_from, info.date_to) == ("2026-Q3", *Q3)
    assert info.subject == SUBJECT and info.number == "" and info.pdf_sha256 == ""
    detail = reports.get_report(office_db, info.id)
    assert detail.settings.distribution == ["Phòng Văn hóa - Xã hội huyện"]  # the document adds the ";"
    assert detail.settings.doc_date is None  # "the day it is built"
    assert detail.settings.recipient == "Sở Giáo dục và Đào tạo tỉnh Điện Biên"
    assert detail.narrative.assessment == editor.sections["assessment"].toPlainText()
    assert not editor.is_dirty()
    assert view.table.item(0, 0).text() == "2026-Q3"
    assert view.table.item(0, 2).text() == SUBJECT
    assert view.table.item(0, 8).text() == _("Draft, not built")


def test_a_custom_range_ending_before_it_starts_is_refused_and_nothing_saved(qtbot, office_db, view, fake):  # type: ignore[no-untyped-def]
    editor = open_new(qtbot, view)
    choose(editor.kind_combo, "custom")
    assert editor.from_edit.isVisible() and not editor.quarter_combo.isVisible()
    type_date(qtbot, editor.from_edit, "15032026")
    type_date(qtbot, editor.to_edit, "01032026")
    click(qtbot, editor.save_button)

    assert editor.period_error.isVisible()
    assert editor.period_error.text() == _(
        "The range ends before it starts: choose an end date on or after the start date.")
    assert reports.list_reports(office_db) == []

    editor.to_edit.set_value(date(2026, 4, 14))  # picked in the calendar
    assert editor.period_dates.text() == "15/03/2026 – 14/04/2026"
    click(qtbot, editor.save_button)
    assert stored_report(office_db).period_key == "2026-03-15..2026-04-14"
    assert not editor.period_error.isVisible()


def test_an_empty_subject_is_shown_next_to_the_field(qtbot, office_db, view, fake):  # type: ignore[no-untyped-def]
    editor = open_new(qtbot, view)
    editor.subject_edit.clear()
    click(qtbot, editor.save_button)
    assert editor._errors["subject"].text() == _("Enter the subject line of the report.")
    assert reports.list_reports(office_db) == []


def test_closing_with_unsaved_changes_asks_first(qtbot, office_db, view, fake):  # type: ignore[no-untyped-def]
    editor = open_new(qtbot, view)
    type_text(editor.sections["proposals"], "Đề nghị cấp loa truyền thanh cho bản Co Mỵ.")
    fake.confirm_answers = [False]
    click(qtbot, editor.close_button)
    assert editor.isVisible()  # the person went back
    fake.confirm_answers = [True]
    click(qtbot, editor.close_button)
    assert not editor.isVisible()
    assert reports.list_reports(office_db) == []


def test_the_draft_button_fills_empty_sections_and_asks_before_replacing_text(qtbot, office_db, view, fake):  # type: ignore[no-untyped-def]
    editor = open_new(qtbot, view)
    choose_q3(editor)
    mine = "Đảng ủy, UBND xã đã ban hành Kế hoạch số 12/KH-UBND."
    editor.sections["direction"].clear()
    type_text(editor.sections["direction"], mine)
    editor.sections["next_steps"].clear()

    fake.confirm_answers = [False]  # keep my text
    click(qtbot, editor.draft_button)
    qtbot.waitUntil(lambda: editor.task is not None and editor.task.state != "running", timeout=20000)

    assert [a.kind for a in fake.asked] == ["confirm"]
    assert _("I. Direction") in fake.asked[0].text
    assert editor.sections["direction"].toPlainText() == mine
    assert editor.sections["next_steps"].toPlainText()  # the empty section was filled
    expected = reports.draft_narrative(reports.compute(office_db, editor.settings(), editor.narrative()))
    assert editor.sections["assessment"].toPlainText() == expected.assessment
    assert "quý III năm 2026" in expected.direction


def test_a_new_report_starts_on_the_last_quarter_that_has_ended(qtbot, office_db, view, fake, monkeypatch):  # type: ignore[no-untyped-def]
    today_is(monkeypatch, date(2026, 8, 20))  # in quarter III: quarter II is the one to report on
    editor = open_new(qtbot, view)
    assert editor.period_key() == "2026-Q2"
    assert editor.period_dates.text() == "01/04/2026 – 30/06/2026"
    assert editor.subject_text().endswith("quý II năm 2026")
    editor.reject()

    today_is(monkeypatch, date(2027, 1, 3))
    editor = open_new(qtbot, view)
    assert editor.period_key() == "2026-Q4"


def test_a_draft_for_the_period_left_behind_is_not_written_in(qtbot, office_db, view, fake, monkeypatch):  # type: ignore[no-untyped-def]
    today_is(monkeypatch, date(2026, 8, 20))  # opens on quarter II
    gate = threading.Event()
    real_compute = reports.compute

    def slow_for_q2(db, cfg, narrative, **kwargs):  # type: ignore[no-untyped-def]
        if cfg.period_key == "2026-Q2":  # finishes late, and does not notice being cancelled
            gate.wait(20)
            kwargs["cancelled"] = None
        return real_compute(db, cfg, narrative, **kwargs)

    monkeypatch.setattr(reports, "compute", slow_for_q2)
    click(qtbot, view.new_button)
    editor = view.editor
    assert editor is not None and editor.period_key() == "2026-Q2"
    choose(editor.quarter_combo, 3)  # at once, before the draft for quarter II arrives
    gate.set()
    qtbot.waitUntil(lambda: "quý III năm 2026" in editor.sections["direction"].toPlainText(), timeout=20000)
    settle(qtbot, editor)

    written = editor.narrative()
    assert not any("quý II năm 2026" in text for text in vars(written).values())
    expected = reports.draft_narrative(real_compute(office_db, editor.settings(), Narrative()))
    assert written == expected
    assert editor.subject_text().endswith("quý III năm 2026")
    editor.done(0)  # waits for the draft left behind, which still reads the database


def test_a_draft_the_person_has_changed_stays_when_the_period_changes(qtbot, office_db, view, fake, monkeypatch):  # type: ignore[no-untyped-def]
    today_is(monkeypatch, date(2026, 8, 20))
    editor = open_new(qtbot, view)
    mine = "Ban Chỉ đạo xã đã họp triển khai kế hoạch quý."
    editor.sections["direction"].clear()
    type_text(editor.sections["direction"], mine)
    choose(editor.quarter_combo, 3)
    qtbot.wait(800)
    settle(qtbot, editor)
    assert editor.sections["direction"].toPlainText() == mine  # the person's text is never replaced…
    q2 = reports.draft_narrative(reports.compute(
        office_db, reports.default_settings(office_db, editor.plan_id, "2026-Q2"), Narrative()))
    assert editor.sections["assessment"].toPlainText() == q2.assessment  # …nor redrafted around it


def shown_warnings(editor: ReportEditor) -> str:
    return editor.warnings_label.text() if editor.warnings_box.isVisible() else ""


def test_notices_before_building_follow_the_period_and_the_date(qtbot, office_db, view, fake, monkeypatch):  # type: ignore[no-untyped-def]
    day = date(2026, 10, 5)
    today_is(monkeypatch, day)
    editor = open_new(qtbot, view)  # quarter III, dated the day it is built: nothing to say
    assert editor.period_key() == "2026-Q3"
    assert shown_warnings(editor) == ""

    click(qtbot, editor.build_day_check)  # a date of its own…
    type_date(qtbot, editor.doc_date_edit, "15092026")  # …before the quarter ends
    late = _("The document date ({day}) is before the end of the period ({end}).").format(
        day="15/09/2026", end="30/09/2026")
    qtbot.waitUntil(lambda: late in shown_warnings(editor), timeout=3000)

    editor.year_spin.setValue(2019)  # before the plan, and nothing in the register
    assert late in shown_warnings(editor)  # the notices wait until the person pauses
    expected = reports.warnings(office_db, editor.settings(), None, day)
    assert _("The register holds no activity in this period: the report will say so.") in expected
    assert any("2022" in text for text in expected)  # the plan's years
    qtbot.waitUntil(lambda: editor.warning_texts == expected, timeout=3000)
    assert all(text in shown_warnings(editor) for text in expected)
    assert editor.build_button.isEnabled()  # a notice, not a barrier

    editor.year_spin.setValue(2026)
    click(qtbot, editor.build_day_check)
    qtbot.waitUntil(lambda: shown_warnings(editor) == "", timeout=3000)


def test_saving_a_second_report_for_a_period_asks_once(qtbot, office_db, view, fake, plan_id, monkeypatch):  # type: ignore[no-untyped-def]
    first = reports.save_draft(office_db, None, reports.default_settings(office_db, plan_id, "2026-Q3"),
                               Narrative())
    today_is(monkeypatch, date(2026, 10, 5))
    editor = open_new(qtbot, view)
    assert editor.period_key() == "2026-Q3"
    qtbot.waitUntil(lambda: f"#{first.id}" in shown_warnings(editor), timeout=3000)

    fake.confirm_answers = [False]  # no: go back
    click(qtbot, editor.save_button)
    assert len(reports.list_reports(office_db)) == 1
    assert editor.isVisible() and editor.report_id is None

    fake.confirm_answers = [True]  # yes: another one
    click(qtbot, editor.save_button)
    assert len(reports.list_reports(office_db)) == 2
    assert editor.report_id is not None and editor.report_id != first.id

    type_text(editor.sections["proposals"], "Đề nghị cấp thêm tài liệu.")
    click(qtbot, editor.save_button)  # saving it again asks nothing
    assert len(fake.of_kind("confirm")) == 2
    assert editor.status_label.text() == _("Draft saved.")


# --- building and the preview ------------------------------------------------------------------


def test_build_preview_save_as_pdf_and_reopen_identical(qtbot, office_db, view, fake, tmp_path):  # type: ignore[no-untyped-def]
    editor = open_new(qtbot, view)
    choose_q3(editor)
    click(qtbot, editor.build_button)
    qtbot.waitUntil(lambda: editor.preview is not None, timeout=60000)
    preview = editor.preview
    qtbot.addWidget(preview)

    info = stored_report(office_db)
    assert info.pdf_sha256 and info.activity_count > 0
    assert preview.page_count() == len(pdf_pages(preview.pdf)) == info.pdf_pages > 1
    assert preview.page_label.text() == _("of {n}").format(n=format_number(info.pdf_pages))
    qtbot.waitUntil(lambda: 0 in preview.view.rendered)  # the first page is drawn, not all of them
    assert len(preview.view.rendered) < info.pdf_pages

    fake.save_file_result = tmp_path / "bao-cao-quy-3"
    click(qtbot, preview.save_button)
    written = tmp_path / "bao-cao-quy-3.pdf"
    assert fake.of_kind("save_file")[0].text == suggested_file_name("2026-Q3") == "BC-2026-Q3.pdf"
    assert hashlib.sha256(written.read_bytes()).hexdigest() == info.pdf_sha256
    preview.close()
    editor.close()
    assert view.table.item(0, 8).text() == _("Built")

    click_row(qtbot, view.table, 0)
    click(qtbot, view.preview_button)
    qtbot.waitUntil(lambda: view.preview is not None, timeout=30000)
    again = view.preview
    qtbot.addWidget(again)
    assert again.identical is True
    assert again.identical_label.isVisible()
    assert again.identical_label.text() == _("✓ Identical to the PDF that was built (check code {code}…).").format(
        code=info.pdf_sha256[:8])
    assert "SHA" not in again.state_label.text() + again.identical_label.text()
    assert again.pdf == written.read_bytes()
    assert not again.notice.isVisible()


def test_a_report_built_without_accounts_names_nobody(qtbot, office_db, view, fake, plan_id):  # type: ignore[no-untyped-def]
    info = reports.save_draft(office_db, None, reports.default_settings(office_db, plan_id, "2026-Q2"), Narrative())
    reports.build(office_db, info.id)  # a workstation without accounts
    older = reports.save_draft(office_db, None, reports.default_settings(office_db, plan_id, "2026-Q1"),
                               Narrative())
    reports.build(office_db, older.id)
    with office_db.write() as s:  # built by an earlier version, which wrote its own name
        s.get(Report, older.id).built_by = "dbcomm"
    view.reload()
    assert [view.table.item(r, 7).text() for r in range(2)] == ["—", "—"]

    for row in range(2):
        click_row(qtbot, view.table, row)
        view.preview = None
        click(qtbot, view.preview_button)
        qtbot.waitUntil(lambda: view.preview is not None, timeout=30000)
        preview = view.preview
        state = preview.state_label.text()
        stored = reports.get_report(office_db, view.selected_id()).info
        pages = preview.page_count()
        assert state == _("Built on {time}: {pages}, {activities}.").format(
            time=format_datetime(stored.built_at),
            pages=ngettext("{n} page", "{n} pages", pages).format(n=format_number(pages)),
            activities=ngettext("{n} activity", "{n} activities", stored.activity_count).format(
                n=format_number(stored.activity_count)))
        assert "dbcomm" not in state
        assert preview.identical_label.text() == _(
            "✓ Identical to the PDF that was built (check code {code}…).").format(code=stored.pdf_sha256[:8])
        preview.close()  # deleted when closed


def test_activities_changed_after_the_build_are_announced_and_a_rebuild_counts_them(qtbot, office_db, view, fake):  # type: ignore[no-untyped-def]
    plan = plans.default_plan(office_db).id
    info = reports.save_draft(office_db, None, reports.default_settings(office_db, plan, "2026-Q3"), Narrative())
    first = reports.build(office_db, info.id)
    in_q3 = activities.list_ids(office_db, ActivityFilter(plan_id=plan, date_from=Q3[0], date_to=Q3[1]))
    activities.delete(office_db, in_q3[:2])
    view.reload()

    click_row(qtbot, view.table, 0)
    click(qtbot, view.preview_button)
    qtbot.waitUntil(lambda: view.preview is not None, timeout=30000)
    preview = view.preview
    qtbot.addWidget(preview)
    assert preview.notice.isVisible() and preview.rebuild_button.isVisible()
    assert preview.notice_label.text().startswith("2 ")

    click(qtbot, preview.rebuild_button)
    qtbot.waitUntil(lambda: not preview.notice.isVisible(), timeout=60000)
    now = stored_report(office_db)
    assert now.activity_count == first.info.activity_count - 2
    assert now.pdf_sha256 != first.info.pdf_sha256
    assert hashlib.sha256(preview.pdf).hexdigest() == now.pdf_sha256
    assert reports.changed_since_build(office_db, now.id) == 0


def test_cancelling_a_build_stores_no_content(qtbot, office_db, view, fake, monkeypatch):  # type: ignore[no-untyped-def]
    started, go_on = threading.Event(), threading.Event()
    real_compute = reports.compute

    def slow_compute(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("progress") is not None:  # the build, not the quiet draft
            started.set()
            go_on.wait(20)
        return real_compute(*args, **kwargs)

    editor = open_new(qtbot, view)
    choose_q3(editor)
    monkeypatch.setattr(reports, "compute", slow_compute)
    click(qtbot, editor.build_button)
    qtbot.waitUntil(started.is_set, timeout=10000)
    task = editor.task
    qtbot.waitUntil(task.dialog.isVisible, timeout=5000)  # the progress window appears
    cancel = task.dialog.findChild(QPushButton)
    assert cancel is not None and cancel.text() == _("Cancel")
    click(qtbot, cancel)
    go_on.set()
    qtbot.waitUntil(lambda: task.state != "running", timeout=20000)

    assert task.state == "cancelled"
    assert editor.preview is None
    info = stored_report(office_db)  # the draft was saved before building…
    assert info.pdf_sha256 == "" and info.built_at is None  # …but nothing was built
    assert editor.status_label.text() == _("The report was not built: cancelled.")
    assert fake.of_kind("error") == []


def test_missing_office_settings_are_named_and_nothing_is_built(qtbot, db, plan_id, fake):  # type: ignore[no-untyped-def]
    demo.generate(db, 40, seed=3)
    view = ReportsView(db, plan_id)
    qtbot.addWidget(view)
    view.show()
    editor = open_new(qtbot, view)
    assert editor.draft_note.text()  # the quiet draft already said why it could not be written
    click(qtbot, editor.build_button)
    qtbot.waitUntil(lambda: fake.of_kind("error") != [], timeout=20000)

    message = fake.of_kind("error")[0].text
    missing = reports.missing_office_fields(settings.get_office(db))
    assert missing and all(name in message for name in missing)
    assert editor.summary_error.text() == message
    assert editor.preview is None
    assert stored_report(db).pdf_sha256 == ""


def test_deleting_asks_and_only_drafts_can_be_deleted(qtbot, office_db, view, fake, plan_id):  # type: ignore[no-untyped-def]
    reports.save_draft(office_db, None, reports.default_settings(office_db, plan_id, "2026-05"), Narrative())
    view.reload()
    click_row(qtbot, view.table, 0)
    fake.confirm_answers = [False]
    click(qtbot, view.delete_button)
    assert len(reports.list_reports(office_db)) == 1
    fake.confirm_answers = [True]
    click(qtbot, view.delete_button)
    assert reports.list_reports(office_db) == []
    assert view.table.rowCount() == 0 and view.empty_label.isVisible()


def test_double_click_opens_the_stored_report(qtbot, office_db, view, fake, plan_id):  # type: ignore[no-untyped-def]
    cfg = reports.default_settings(office_db, plan_id, "2026-9M")
    cfg.subject, cfg.number = SUBJECT, "7"
    reports.save_draft(office_db, None, cfg, Narrative(proposals="Đề nghị hỗ trợ kinh phí in tài liệu song ngữ."))
    view.reload()
    click_row(qtbot, view.table, 0, 2)
    rect = view.table.visualRect(view.table.model().index(0, 2))
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    editor = view.editor
    assert editor is not None
    assert editor.kind() == "nine" and editor.year_spin.value() == 2026
    assert editor.subject_text() == SUBJECT and editor.number_edit.text() == "07"
    assert editor.sections["proposals"].toPlainText() == "Đề nghị hỗ trợ kinh phí in tài liệu song ngữ."
    assert editor.draft_task is None  # a stored report keeps its own text
    assert not editor.is_dirty()


def test_new_report_from_the_file_menu(qtbot, office_db, fake):  # type: ignore[no-untyped-def]
    w = MainWindow(office_db)
    qtbot.addWidget(w)
    w.show()
    assert w.tabs.tabText(1) == _("Reports")
    assert w.new_report_action.shortcut().toString() == "Ctrl+R"
    w.new_report_action.trigger()
    assert w.tabs.currentWidget() is w.reports_view
    editor = w.reports_view.editor
    assert editor is not None and editor.isVisible()
    settle(qtbot, editor)


# --- the preview on its own ----------------------------------------------------------------------


def big_pdf(pages: int) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i in range(pages):
        if i % 3 == 2:
            c.setPageSize((842, 595))  # an annex page in landscape
        else:
            c.setPageSize((595, 842))
        c.drawString(72, 500, f"Trang {i + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def test_a_long_pdf_opens_at_once_and_draws_only_the_pages_in_view(qtbot, db, fake):  # type: ignore[no-untyped-def]
    pdf = big_pdf(2500)
    dialog = PdfPreviewDialog(db, pdf)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: 0 in dialog.view.rendered)
    assert dialog.page_count() == 2500
    assert dialog.page_label.text() == _("of {n}").format(n=format_number(2500))
    assert len(dialog.view.rendered) <= 3

    qtbot.keyClick(dialog.view, Qt.Key.Key_PageDown)
    assert dialog.page_spin.value() == 2
    qtbot.keyClick(dialog.view, Qt.Key.Key_End)
    assert dialog.page_spin.value() == 2500
    qtbot.waitUntil(lambda: 2499 in dialog.view.rendered)
    assert len(dialog.view.rendered) <= 8

    before = dialog.view.zoom
    click(qtbot, dialog.findChild(type(dialog.prev_button), "zoom_in"))
    assert dialog.view.zoom == pytest.approx(before * 1.25)
    assert dialog.page_spin.value() == 2500  # zooming keeps the page in view


def test_printing_produces_a_pdf_with_the_same_pages(qtbot, db, fake, tmp_path):  # type: ignore[no-untyped-def]
    pdf = big_pdf(7)
    dialog = PdfPreviewDialog(db, pdf)
    qtbot.addWidget(dialog)
    dialog.show()
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = tmp_path / "in-ra.pdf"
    printer.setOutputFileName(str(out))

    job = dialog.print_to(printer)
    qtbot.waitUntil(lambda: job.state != "running", timeout=30000)

    assert job.state == "done" and job.printed == 7
    printed = pdf_pages(out.read_bytes())
    source = pdf_pages(pdf)
    assert len(printed) == len(source) == 7
    assert [w > h for w, h in printed] == [w > h for w, h in source]  # landscape pages stay landscape
    assert fake.of_kind("error") == []
