"""The "Received reports" tab: who has reported, and the answers to the reports received."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

import pki
from dbcomm.domain.models import OfficeIdentity
from dbcomm.domain.periods import parse_period
from dbcomm.i18n import _
from dbcomm.services import (
    completeness,
    demo,
    identities,
    orgs,
    plans,
    receipts,
    reports,
    settings,
    signing,
)
from dbcomm.services.orgs import OrgFields
from dbcomm.store.models import ReceivedReport
from dbcomm.ui import received_view
from dbcomm.ui.pdf_preview import PdfPreviewDialog
from dbcomm.ui.received_view import DecisionDialog, ReceiptDialog, ReceivedView, cell_text
from dbcomm.ui.report_editor import ReportEditor
from ui_helpers import (
    FakeInteraction,
    click,
    click_check,
    click_row,
    drive_modal,
    install_fake,
    type_text,
)

TODAY = date(2026, 10, 20)  # quarters due 10/04, 10/07, 10/10 and 10/01/2027 (10 days)
PROVINCE = OfficeIdentity(
    name="Sở Văn hóa, Thể thao và Du lịch tỉnh Điện Biên", parent_agency="UBND tỉnh Điện Biên",
    kind="department", place_name="Điện Biên Phủ", symbol="SVHTTDL", signer_title="GIÁM ĐỐC",
    signer_name="Lò Thị Hoa")
NOTE = "Thiếu số liệu hình thức truyền thông trên mạng xã hội; đề nghị bổ sung."


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def db_path(copied_db_path):
    return copied_db_path


@dataclass
class Signed:
    pki: pki.TestPKI
    pdf: bytes


def _one_page_report() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 760, "BAO CAO ket qua cong tac truyen thong quy III nam 2026")
    c.setFont("Helvetica", 12)
    c.drawString(72, 730, "So: 7/BC-UBND")
    c.showPage()
    c.save()
    return out.getvalue()


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> Signed:
    """A test PKI and a report PDF signed by the leader of the sending office (made once)."""
    test_pki = pki.build(tmp_path_factory.mktemp("pki"))
    leader = signing.load_pkcs12(test_pki.leader, test_pki.password)
    try:
        pdf = signing.sign_pdf(_one_page_report(), leader, field_name="ChuTich", reason="Báo cáo")
    finally:
        leader.close()
    return Signed(test_pki, pdf)


@dataclass
class World:
    orgs: dict[str, int]
    reports: dict[str, int]
    identity_id: int


def _receive(db, sender_id: int, sender_name: str, period_key: str, received_at: datetime, pdf: bytes, *,
             state: str = "received", number: str = "", note: str = "",
             supersedes: int | None = None) -> int:
    period = parse_period(period_key)
    with db.write() as s:
        row = ReceivedReport(
            sender_id=sender_id, sender_office_uuid=str(uuid.uuid4()), sender_name=sender_name,
            report_uuid=str(uuid.uuid4()), plan_code=plans.default_plan(db).code, period_key=period.key,
            date_from=period.start, date_to=period.end, number=number, doc_date=received_at.date(),
            subject=f"Báo cáo kết quả công tác truyền thông {period_key}", signers="Lò Văn Thắng",
            verdict="valid", activity_count=12, signed_pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            received_at=received_at, state=state, note=note, supersedes_id=supersedes,
            decided_at=received_at if state in ("accepted", "returned") else None,
            decided_by="Lò Thị Hoa" if state in ("accepted", "returned") else "")
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def world(db, signed) -> World:
    """Three communes that report to the province for 2026 (received times are UTC, as stored)."""
    settings.save_office(db, PROVINCE)
    settings.mark_setup_done(db)
    ids = {key: orgs.save_org(db, None, OrgFields(name=name, kind=kind, in_area=True)).id
           for key, name, kind in (("phang", "Xã Mường Phăng", "commune"), ("ang", "Xã Ẳng Cang", "commune"),
                                   ("thanh", "Phường Mường Thanh", "ward"))}
    pdf = signed.pdf
    r = {
        "phang_q1": _receive(db, ids["phang"], "Xã Mường Phăng", "2026-Q1", datetime(2026, 4, 5, 2), pdf,
                             state="accepted", number="3/BC-UBND"),
        "phang_q2": _receive(db, ids["phang"], "Xã Mường Phăng", "2026-Q2", datetime(2026, 7, 8, 2), pdf,
                             number="5/BC-UBND"),
        "phang_q3": _receive(db, ids["phang"], "Xã Mường Phăng", "2026-Q3", datetime(2026, 10, 15, 2), pdf,
                             number="7/BC-UBND"),
        "ang_q1": _receive(db, ids["ang"], "Xã Ẳng Cang", "2026-Q1", datetime(2026, 4, 8, 2), pdf,
                           state="returned", number="2/BC-UBND", note="Thiếu phụ lục."),
        "ang_q3_old": _receive(db, ids["ang"], "Xã Ẳng Cang", "2026-Q3", datetime(2026, 10, 8, 2), pdf,
                               state="superseded", number="8/BC-UBND"),
    }
    r["ang_q3"] = _receive(db, ids["ang"], "Xã Ẳng Cang", "2026-Q3", datetime(2026, 10, 18, 2), pdf,
                           number="9/BC-UBND", supersedes=r["ang_q3_old"])
    identity_id = identities.add_file_identity(db, "office", signed.pki.office, signed.pki.password,
                                               label="Văn thư Sở", seal_diameter_mm=36).id
    return World(ids, r, identity_id)


@pytest.fixture
def view(qtbot, db, world) -> ReceivedView:  # type: ignore[no-untyped-def]
    v = ReceivedView(db, plans.default_plan(db).id, today=TODAY)
    qtbot.addWidget(v)
    v.resize(1200, 760)
    v.show()
    return v


def grid_texts(view: ReceivedView) -> dict[str, list[str]]:
    m = view.grid_model
    names = [m.headerData(r, Qt.Orientation.Vertical) for r in range(m.rowCount())]
    return {names[r]: [m.index(r, c).data() for c in range(m.columnCount())] for r in range(m.rowCount())}


def cell_index(view: ReceivedView, office: str, column: int):  # type: ignore[no-untyped-def]
    m = view.grid_model
    row = next(r for r in range(m.rowCount()) if m.headerData(r, Qt.Orientation.Vertical) == office)
    return m.index(row, column)


def click_cell(qtbot, view: ReceivedView, office: str, column: int) -> None:  # type: ignore[no-untyped-def]
    index = cell_index(view, office, column)
    rect = view.grid_view.visualRect(index)
    assert rect.isValid()
    qtbot.mouseClick(view.grid_view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.center()))


def select(qtbot, view: ReceivedView, received_id: int) -> None:  # type: ignore[no-untyped-def]
    row = view.list_model.row_of(received_id)
    assert row >= 0, "the report is not listed"
    click_row(qtbot, view.list_view, row)
    assert view.selected() is not None and view.selected().id == received_id


def state_of(db, received_id: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        row = s.get(ReceivedReport, received_id)
        return row.state, row.note


# --- the grid -------------------------------------------------------------------------------


def test_the_grid_words_and_colours_each_office_and_quarter_and_counts_received_over_expected(view):  # type: ignore[no-untyped-def]
    received, late, accepted = cell_text("received_on_time"), cell_text("received_late"), cell_text("accepted")
    returned, missing, not_due = cell_text("returned"), cell_text("missing"), cell_text("not_due")
    total = _("Received / expected")
    # Vietnamese order: Phường before Xã, and Ẳ before M
    assert grid_texts(view) == {
        "Phường Mường Thanh": [missing, missing, missing, not_due],
        "Xã Ẳng Cang": [returned, missing, received, not_due],  # the newer Q3 came on time
        "Xã Mường Phăng": [accepted, received, late, not_due],
        total: ["1 / 3", "1 / 3", "2 / 3", "0 / 3"],  # a returned report is not counted as received
    }
    for text in (received, late, accepted, returned, missing, not_due):
        assert text.split(" ", 1)[0] in "●!✓↩✗…" and len(text) > 2  # a symbol and a word in every cell
    colour = {status: look[0] for status, look in received_view.STATUS_LOOK.items()}
    m = view.grid_model
    for office, column, status in (("Xã Mường Phăng", 0, "accepted"), ("Xã Mường Phăng", 2, "received_late"),
                                   ("Xã Ẳng Cang", 0, "returned"), ("Phường Mường Thanh", 1, "missing"),
                                   ("Phường Mường Thanh", 3, "not_due")):
        index = cell_index(view, office, column)
        assert index.data(received_view.STATUS_ROLE) == status
        assert index.data(Qt.ItemDataRole.BackgroundRole).color().name() == colour[status]
    assert colour["accepted"] != colour["received_late"] != colour["returned"] != colour["not_due"]
    header = m.headerData(2, Qt.Orientation.Horizontal)
    assert header.splitlines()[1].endswith("10/10/2026")  # Q3 is due on 10/10
    late_tip = cell_index(view, "Xã Mường Phăng", 2).data(Qt.ItemDataRole.ToolTipRole)
    assert "15/10/2026" in late_tip  # when it arrived (09:00 in Vietnam)


def test_clicking_a_cell_selects_its_report_and_earlier_versions_show_on_request(qtbot, view, world, db):  # type: ignore[no-untyped-def]
    listed = [r.id for r in view.list_model.rows]
    assert world.reports["ang_q3_old"] not in listed  # replaced: hidden by default
    assert listed[0] == world.reports["ang_q3"]  # newest first
    click_cell(qtbot, view, "Xã Mường Phăng", 1)
    assert view.selected() is not None and view.selected().id == world.reports["phang_q2"]
    assert view.accept_button.isEnabled() and view.return_button.isEnabled()
    assert not view.answer_button.isEnabled()  # nothing decided yet: no answer to write
    click_cell(qtbot, view, "Phường Mường Thanh", 1)  # missing: no report, the selection stays
    assert view.selected().id == world.reports["phang_q2"]

    click_check(qtbot, view.superseded_check)
    assert world.reports["ang_q3_old"] in [r.id for r in view.list_model.rows]
    assert view.selected().id == world.reports["phang_q2"]  # kept across the reload
    select(qtbot, view, world.reports["ang_q3_old"])
    assert not view.accept_button.isEnabled() and not view.return_button.isEnabled()
    row = view.list_model.row_of(world.reports["phang_q3"])
    assert view.list_model.index(row, 5).data() == "! " + _("Late")


# --- deciding -------------------------------------------------------------------------------


def test_accepting_records_it_and_the_cell_turns_accepted(qtbot, view, world, db, monkeypatch):  # type: ignore[no-untyped-def]
    select(qtbot, view, world.reports["phang_q2"])
    opened = drive_modal(monkeypatch, DecisionDialog, lambda d: click(qtbot, d.ok_button))
    click(qtbot, view.accept_button)

    assert len(opened) == 1
    assert state_of(db, world.reports["phang_q2"]) == ("accepted", "")
    index = cell_index(view, "Xã Mường Phăng", 1)
    assert index.data() == cell_text("accepted")
    assert index.data(received_view.STATUS_ROLE) == "accepted"
    assert view.grid_model.index(view.grid_model.rowCount() - 1, 1).data() == "1 / 3"
    assert view.selected().id == world.reports["phang_q2"]
    assert view.answer_button.isEnabled() and not view.accept_button.isEnabled()


def test_returning_needs_a_note_and_then_records_it(qtbot, view, world, db, monkeypatch):  # type: ignore[no-untyped-def]
    select(qtbot, view, world.reports["phang_q3"])
    seen: list[str] = []

    def fill(d: DecisionDialog) -> None:
        click(qtbot, d.ok_button)  # no note yet
        seen.append(d.error_label.text() if d.error_label.isVisible() else "")
        assert d.isVisible()  # refused: the dialog stays open
        type_text(d.note_edit, NOTE)
        click(qtbot, d.ok_button)

    opened = drive_modal(monkeypatch, DecisionDialog, fill)
    click(qtbot, view.return_button)

    assert len(opened) == 1
    assert seen == [_("Say why the report is returned: the note goes back to the sending office with the "
                      "receipt.")]
    assert state_of(db, world.reports["phang_q3"]) == ("returned", NOTE)
    assert cell_index(view, "Xã Mường Phăng", 2).data() == cell_text("returned")
    assert view.grid_model.index(view.grid_model.rowCount() - 1, 2).data() == "1 / 3"
    assert NOTE in view.detail_label.text()


def test_returning_without_a_note_and_giving_up_changes_nothing(qtbot, view, world, db, monkeypatch):  # type: ignore[no-untyped-def]
    select(qtbot, view, world.reports["phang_q3"])
    opened = drive_modal(monkeypatch, DecisionDialog, lambda d: click(qtbot, d.ok_button))
    click(qtbot, view.return_button)
    assert not opened[0].error_label.isHidden() and opened[0].error_label.text()  # said, then closed
    assert state_of(db, world.reports["phang_q3"]) == ("received", "")
    assert cell_index(view, "Xã Mường Phăng", 2).data() == cell_text("received_late")


# --- the answer on the stick ----------------------------------------------------------------


def write_answer(qtbot, view: ReceivedView, secret: str, fake: FakeInteraction,  # type: ignore[no-untyped-def]
                 stick: Path) -> ReceiptDialog:
    click(qtbot, view.answer_button)
    dialog = view.dialog
    assert isinstance(dialog, ReceiptDialog) and dialog.isVisible()
    assert "Văn thư Sở" in dialog.identity_combo.currentText()
    qtbot.waitUntil(lambda: dialog.look_button.isEnabled(), timeout=10_000)  # the drives are listed
    fake.choose_folder = lambda parent, title: stick  # type: ignore[attr-defined]  # the person picks the stick
    click(qtbot, dialog.folder_button)
    assert dialog.folder() == stick and str(stick) in dialog.drive_combo.currentText()
    type_text(dialog.secret_edit, secret)
    click(qtbot, dialog.ok_button)
    assert dialog.secret_edit.text() == ""  # the password does not stay in the window
    return dialog


def test_the_answer_is_signed_and_written_on_the_stick_and_says_where(qtbot, view, world, db, fake, tmp_path,  # type: ignore[no-untyped-def]
                                                                     signed):
    stick = tmp_path / "USB"
    stick.mkdir()
    receipts.decide(db, world.reports["phang_q2"], "accepted")
    view.reload()
    select(qtbot, view, world.reports["phang_q2"])
    dialog = write_answer(qtbot, view, signed.pki.password, fake, stick)
    qtbot.waitUntil(lambda: dialog.written is not None, timeout=20_000)

    (written,) = list(stick.iterdir())
    assert written == dialog.written and written.suffix == ".dbcpkg" and written.name.startswith("PhieuNhan_")
    with zipfile.ZipFile(written) as z:
        assert sorted(z.namelist()) == ["manifest.json", "receipt.pdf"]
    message = fake.of_kind("info")[-1].text
    assert str(written) in message and "USB" in message
    # the receipt is written: the decision can no longer change
    with pytest.raises(Exception, match="."):
        receipts.decide(db, world.reports["phang_q2"], "returned", NOTE)


def test_a_wrong_password_is_said_in_the_dialog_and_nothing_is_written(qtbot, view, world, db, fake, tmp_path):  # type: ignore[no-untyped-def]
    stick = tmp_path / "USB"
    stick.mkdir()
    receipts.decide(db, world.reports["ang_q3"], "returned", NOTE)
    view.reload()
    select(qtbot, view, world.reports["ang_q3"])
    dialog = write_answer(qtbot, view, "sai-mat-khau", fake, stick)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=20_000)

    assert dialog.error_label.text() and dialog.written is None
    assert dialog.isVisible() and dialog.ok_button.isEnabled()
    assert list(stick.iterdir()) == []
    assert not fake.of_kind("info")
    dialog.reject()


def test_without_an_office_certificate_the_dialog_says_so(qtbot, view, world, db, fake):  # type: ignore[no-untyped-def]
    identities.remove_identity(db, world.identity_id)
    receipts.decide(db, world.reports["phang_q2"], "accepted")
    view.reload()
    select(qtbot, view, world.reports["phang_q2"])
    click(qtbot, view.answer_button)
    dialog = view.dialog
    assert isinstance(dialog, ReceiptDialog)
    assert dialog.error_label.isVisible() and not dialog.ok_button.isEnabled()
    dialog.reject()


# --- opening --------------------------------------------------------------------------------


def test_open_shows_the_signed_pdf_as_received_without_signing_buttons(qtbot, view, world, signed, fake):  # type: ignore[no-untyped-def]
    select(qtbot, view, world.reports["ang_q3"])
    click(qtbot, view.open_button)
    dialog = view.dialog
    assert isinstance(dialog, PdfPreviewDialog) and dialog.isVisible()
    assert dialog.pdf == signed.pdf and dialog.page_count() == 1
    assert "Xã Ẳng Cang" in dialog.windowTitle()
    for button in (dialog.sign_button, dialog.seal_button, dialog.annex_button, dialog.correct_button):
        assert not button.isVisible()
    dialog.reject()


# --- the deadline ---------------------------------------------------------------------------


def test_a_longer_deadline_is_saved_and_a_late_report_becomes_on_time(qtbot, view, db):  # type: ignore[no-untyped-def]
    assert view.due_spin.value() == 10 and not view.due_save.isEnabled()
    view.due_spin.setValue(20)
    assert view.due_save.isEnabled()
    click(qtbot, view.due_save)
    assert completeness.get_due_days(db) == 20
    assert cell_index(view, "Xã Mường Phăng", 2).data() == cell_text("received_on_time")
    assert cell_index(view, "Phường Mường Thanh", 2).data() == cell_text("not_due")  # due today, 20/10
    assert not view.due_save.isEnabled()


def test_month_columns_run_up_to_today(qtbot, view):  # type: ignore[no-untyped-def]
    view.kind_combo.setCurrentIndex(view.kind_combo.findData("month"))
    assert view.grid_model.columnCount() == 10  # January to October
    assert cell_index(view, "Phường Mường Thanh", 9).data() == cell_text("not_due")


# --- the report editor ----------------------------------------------------------------------


def test_the_editor_saves_the_scope_all_when_received_reports_are_included(qtbot, db, fake):  # type: ignore[no-untyped-def]
    demo.set_demo_office(db)
    plan_id = plans.default_plan(db).id
    editor = ReportEditor(db, plan_id, period_key="2026-Q3")
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitUntil(lambda: not editor.drafting(), timeout=20_000)
    box = editor.findChild(QWidget, "scope_all")
    assert box is editor.scope_check and box.isVisible() and not box.isChecked() and box.toolTip()

    click_check(qtbot, box)
    click(qtbot, editor.save_button)

    (info,) = reports.list_reports(db)
    assert reports.get_report(db, info.id).settings.scope == "all"
    again = ReportEditor(db, plan_id, report_id=info.id)
    qtbot.addWidget(again)
    assert again.scope_check.isChecked()
    click_check(qtbot, again.scope_check)
    assert again.settings().scope == "own"


def test_the_main_window_shows_the_tab_after_the_reports(qtbot, db, world):  # type: ignore[no-untyped-def]
    from dbcomm.ui.main_window import MainWindow

    w = MainWindow(db)
    qtbot.addWidget(w)
    index = w.tabs.indexOf(w.received_view)
    assert index == w.tabs.indexOf(w.reports_view) + 1
    assert w.tabs.tabText(index) == _("Received reports")
    w.show()
    w.tabs.setCurrentIndex(index)
    assert w.received_view.list_model.rowCount() == 5  # loaded when shown


def test_a_clerk_may_write_the_answer_but_not_decide(qtbot, db, world):  # type: ignore[no-untyped-def]
    from dbcomm.domain.roles import Role
    from dbcomm.services import auth

    receipts.decide(db, world.reports["phang_q2"], "accepted")  # no account yet: the system decides
    auth.create_user(db, "quantri", "Nguyễn Văn Quản", Role.ADMIN, "Quan-tri-2026!")
    auth.authenticate(db, "quantri", "Quan-tri-2026!")
    auth.create_user(db, "hoa", "Quàng Thị Hoa", Role.CLERK, "Van-thu-2026!")
    auth.authenticate(db, "hoa", "Van-thu-2026!")
    v = ReceivedView(db, plans.default_plan(db).id, today=TODAY)
    qtbot.addWidget(v)
    v.show()
    for received_id, can_answer in ((world.reports["phang_q3"], False), (world.reports["phang_q2"], True)):
        select(qtbot, v, received_id)
        assert v.open_button.isEnabled()
        assert not v.accept_button.isEnabled() and not v.return_button.isEnabled()
        assert v.accept_button.toolTip() == _("Your role does not allow this.")
        assert v.answer_button.isEnabled() == can_answer
    assert not v.due_spin.isEnabled()  # the deadline is a setting


def test_ticking_the_scope_rewrites_an_untouched_draft_with_the_offices_received(  # type: ignore[no-untyped-def]
        qtbot, db, world, fake):
    plan_id = plans.default_plan(db).id
    editor = ReportEditor(db, plan_id, period_key="2026-Q2")
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitUntil(lambda: not editor.drafting(), timeout=20_000)
    drafted = " ".join(e.toPlainText() for e in editor.sections.values())
    assert drafted.strip() and "Mường Phăng" not in drafted  # the office's own figures only
    click_check(qtbot, editor.scope_check)
    qtbot.waitUntil(lambda: "Mường Phăng" in " ".join(e.toPlainText() for e in editor.sections.values()),
                    timeout=20_000)  # the untouched draft now names the offices whose reports it includes
    fake.confirm_answers = [True]  # closing the unsaved report at the end of the test
