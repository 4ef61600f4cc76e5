"""The period workflow tab and the audit trail tab, driven like a person, with several roles."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

import pytest
from PySide6.QtCore import Qt

from dbcomm.domain.models import ActivityInput, OfficeIdentity
from dbcomm.domain.roles import PeriodState, Role
from dbcomm.errors import PermissionDenied
from dbcomm.i18n import _, format_date
from dbcomm.services import activities, audit, auth, periods, plans, settings
from dbcomm.services.signing import VN_TIME
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.periods_view import NoteDialog, PeriodsView
from ui_helpers import (
    FakeInteraction,
    choose,
    click,
    click_row,
    click_tab,
    drive_modal,
    install_fake,
    replace_text,
    type_text,
)

PASSWORDS = {"quantri": "quantri-2026", "lan": "nhaplieu-2026", "thang": "lanhdao-2026", "hoa": "vanthu-2026"}
DAY = date(2025, 2, 10)
QUARTER = "2025-Q1"
TITLE = "Phát thanh tiếng Mông về học tập suốt đời"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def office(db):  # type: ignore[no-untyped-def]
    """Four accounts and one activity in 2025-Q1; returns a function that logs a person in."""
    auth.create_user(db, "quantri", "Nguyễn Văn Quản", Role.ADMIN, PASSWORDS["quantri"])
    auth.authenticate(db, "quantri", PASSWORDS["quantri"])
    settings.save_office(db, OfficeIdentity(name="UBND xã Mường Phăng", parent_agency="UBND huyện Điện Biên",
                                            kind="commune", place_name="Mường Phăng", symbol="UBND"))
    settings.mark_setup_done(db)
    auth.create_user(db, "lan", "Lò Thị Lan", Role.ENTRY, PASSWORDS["lan"])
    auth.create_user(db, "thang", "Lò Văn Thắng", Role.LEADER, PASSWORDS["thang"])
    auth.create_user(db, "hoa", "Quàng Thị Hoa", Role.CLERK, PASSWORDS["hoa"])

    def login(name: str) -> None:
        auth.logout(db)
        auth.authenticate(db, name, PASSWORDS[name])

    login("lan")
    plan = plans.default_plan(db)
    form = activities.forms(db, plan.id)[2]
    activities.create(db, ActivityInput(plan_id=plan.id, date_start=DAY, form_id=form.id, title=TITLE,
                                        subtype="loudspeaker", languages=["hmong"]))
    return login


@pytest.fixture
def open_window(qtbot, db, fake):  # type: ignore[no-untyped-def]
    def make() -> MainWindow:
        w = MainWindow(db)
        qtbot.addWidget(w)
        w.show()
        assert w.register is not None
        qtbot.waitUntil(lambda: w.register is not None and w.register.model.complete, timeout=5000)
        return w

    return make


def select_period(qtbot, view: PeriodsView, key: str) -> None:  # type: ignore[no-untyped-def]
    window = view.window()
    assert isinstance(window, MainWindow)
    if window.tabs.currentWidget() is not view:
        click_tab(qtbot, window.tabs, window.tabs.indexOf(view))
    row = next(i for i, p in enumerate(view.rows) if p.key == key)
    click_row(qtbot, view.table, row)
    assert view.selected_key() == key


def plan_id(db) -> int:  # type: ignore[no-untyped-def]
    return plans.default_plan(db).id


def the_activity(db):  # type: ignore[no-untyped-def]
    [row] = activities.list_rows(db, activities.ActivityFilter(plan_id=plan_id(db)))
    return activities.get(db, row.id)


# --- periods --------------------------------------------------------------------------------


def test_an_entry_clerk_can_submit_but_not_approve(qtbot, db, office, open_window):  # type: ignore[no-untyped-def]
    w = open_window()
    click_tab(qtbot, w.tabs, w.tabs.indexOf(w.periods_view))
    view = w.periods_view
    choose(view.kind_combo, 2)  # quarters
    assert {p.kind for p in view.rows} == {"quarter"}
    select_period(qtbot, view, QUARTER)
    assert view.submit_button.isEnabled()
    assert not view.approve_button.isEnabled()
    assert not view.lock_button.isEnabled()

    click(qtbot, view.submit_button)

    assert periods.state_of(db, plan_id(db), QUARTER) == PeriodState.SUBMITTED
    assert view.selected_key() == QUARTER  # the selection stays
    assert view.table.item(view.table.currentRow(), 3).text() == _("Submitted")
    assert not view.approve_button.isEnabled()  # the leader approves, not the entry clerk
    assert not view.return_button.isEnabled()
    assert not view.reopen_button.isEnabled()
    assert not view.submit_button.isEnabled()
    with pytest.raises(PermissionDenied):  # and the service refuses too
        periods.transition(db, plan_id(db), QUARTER, PeriodState.APPROVED)
    assert periods.state_of(db, plan_id(db), QUARTER) == PeriodState.SUBMITTED


def test_an_approved_period_refuses_edits_until_the_leader_reopens_it(qtbot, db, office, open_window, fake, monkeypatch):  # type: ignore[no-untyped-def]
    # the entry clerk submits …
    w = open_window()
    select_period(qtbot, w.periods_view, QUARTER)
    click(qtbot, w.periods_view.submit_button)
    w.close()
    # … the leader approves
    office("thang")
    w = open_window()
    view = w.periods_view
    select_period(qtbot, view, QUARTER)
    assert view.approve_button.isEnabled() and view.return_button.isEnabled()
    click(qtbot, view.approve_button)
    assert periods.state_of(db, plan_id(db), QUARTER) == PeriodState.APPROVED
    assert view.lock_button.isEnabled() and view.reopen_button.isEnabled()

    # editing the activity through the dialog is refused with the reason
    before = the_activity(db)
    reg = w.register
    assert reg is not None
    click_tab(qtbot, w.tabs, w.tabs.indexOf(reg))
    click_row(qtbot, reg.table, 0)
    d = reg.edit_selected()
    assert d is not None
    qtbot.addWidget(d)
    replace_text(qtbot, d.title_edit, "Tiêu đề đã sửa")
    click(qtbot, d.save_button)

    assert d.isVisible()
    expected = _("Period {key} was approved on {date} by {name}.").format(
        key=QUARTER, date=format_date(datetime.now(VN_TIME).date()), name="Lò Văn Thắng")  # said in Vietnam's time
    assert expected in d.summary_error.text()
    assert d.summary_error.isVisible()
    after = the_activity(db)
    assert (after.title, after.version) == (before.title, before.version)  # the database is unchanged
    d.reject()

    # deleting is refused with the same reason, shown to the person
    fake.confirm_answers.append(True)
    click_row(qtbot, reg.table, 0)
    assert reg.delete_selected() == 0
    [error] = fake.of_kind("error")
    assert expected in error.text
    assert the_activity(db).version == before.version

    # the leader reopens, with a note
    def fill(n: NoteDialog) -> None:
        click(qtbot, n.ok_button)
        assert n.isVisible() and n.error.isVisible()  # a note is needed
        type_text(n.note_edit, "Sửa số người nghe")
        click(qtbot, n.ok_button)

    drive_modal(monkeypatch, NoteDialog, fill)
    select_period(qtbot, view, QUARTER)
    click(qtbot, view.reopen_button)
    assert periods.state_of(db, plan_id(db), QUARTER) == PeriodState.DRAFT
    row = view.rows[view.table.currentRow()]
    assert (row.key, row.note, row.changed_by) == (QUARTER, "Sửa số người nghe", "Lò Văn Thắng")
    assert view.table.item(view.table.currentRow(), 7).text() == "Sửa số người nghe"

    # … and now the edit succeeds
    click_tab(qtbot, w.tabs, w.tabs.indexOf(reg))
    click_row(qtbot, reg.table, 0)
    d = reg.edit_selected()
    assert d is not None
    qtbot.addWidget(d)
    replace_text(qtbot, d.title_edit, "Tiêu đề đã sửa")
    click(qtbot, d.save_button)
    assert not d.isVisible()
    assert the_activity(db).title == "Tiêu đề đã sửa"


def test_a_returned_period_needs_a_note_and_can_be_submitted_again(qtbot, db, office, open_window, monkeypatch):  # type: ignore[no-untyped-def]
    periods.transition(db, plan_id(db), QUARTER, PeriodState.SUBMITTED)
    office("thang")
    w = open_window()
    view = w.periods_view
    select_period(qtbot, view, QUARTER)
    drive_modal(monkeypatch, NoteDialog, lambda n: None)  # cancelled
    click(qtbot, view.return_button)
    assert periods.state_of(db, plan_id(db), QUARTER) == PeriodState.SUBMITTED

    def fill(n: NoteDialog) -> None:
        type_text(n.note_edit, "Thiếu biên bản")
        click(qtbot, n.ok_button)

    drive_modal(monkeypatch, NoteDialog, fill)
    click(qtbot, view.return_button)
    assert periods.state_of(db, plan_id(db), QUARTER) == PeriodState.RETURNED
    assert view.submit_button.isEnabled()
    assert "Thiếu biên bản" in view.info.text()


def test_the_registry_clerk_sees_no_editing_buttons(qtbot, db, office, open_window):  # type: ignore[no-untyped-def]
    office("hoa")
    w = open_window()
    reg = w.register
    assert reg is not None
    for action in (reg.new_action, reg.duplicate_action, reg.delete_action, reg.nil_action):
        assert not action.isVisible()
    assert reg.edit_action.isVisible()  # to read an activity
    click_row(qtbot, reg.table, 0)
    d = reg.edit_selected()
    assert d is not None
    qtbot.addWidget(d)
    assert not d.save_button.isEnabled()
    assert d.summary_error.isVisible() and "Quàng Thị Hoa" in d.summary_error.text()
    d.reject()
    select_period(qtbot, w.periods_view, QUARTER)
    assert not any(b.isEnabled() for b in w.periods_view.targets)


# --- the audit trail ------------------------------------------------------------------------


def test_history_shows_the_entries_of_the_selected_activity(qtbot, db, office, open_window):  # type: ignore[no-untyped-def]
    rec = the_activity(db)
    value = activities.duplicate_input(db, rec.id)
    value.title = "Tiêu đề mới"
    activities.update(db, rec.id, value, rec.version)
    w = open_window()
    reg = w.register
    assert reg is not None and w.audit_view is not None
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)  # shortcuts act in the active window
    click_row(qtbot, reg.table, 0)

    qtbot.keyClick(reg.table, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)

    view = w.audit_view
    assert w.tabs.currentWidget() is view
    assert view.search_edit.text() == rec.uuid
    assert [e.action for e in view.rows] == ["update", "create"]
    assert {e.entity_uuid for e in view.rows} == {rec.uuid}
    assert view.table.item(0, 2).text() == _("edited")
    assert view.table.item(0, 1).text() == "Lò Thị Lan (lan)"
    # the details pane shows the change old → new
    click_row(qtbot, view.table, 0)
    cells = [[view.changes_table.item(r, c).text() for c in range(3)] for r in range(view.changes_table.rowCount())]
    assert [_("Title"), TITLE, "Tiêu đề mới"] in cells


def test_the_audit_trail_filters_by_person_and_text(qtbot, db, office, open_window):  # type: ignore[no-untyped-def]
    office("thang")
    w = open_window()
    view = w.audit_view
    assert view is not None
    click_tab(qtbot, w.tabs, w.tabs.indexOf(view))
    choose(view.person_combo, "lan")
    assert view.rows and {e.username for e in view.rows} == {"lan"}
    choose(view.person_combo, "")
    type_text(view.search_edit, "hoc tap suot doi")  # without diacritics
    view.reload()
    assert view.rows and all(e.entity == "activity" for e in view.rows)


def test_check_integrity_reports_an_intact_trail_then_the_tampered_entry(qtbot, db, db_path, office, open_window):  # type: ignore[no-untyped-def]
    w = open_window()
    view = w.audit_view
    assert view is not None
    click_tab(qtbot, w.tabs, w.tabs.indexOf(view))
    click(qtbot, view.verify_button)
    report = audit.verify(db)
    assert report.ok
    assert view.verify_label.text() == report.message
    assert "b00020" not in view.verify_label.styleSheet()

    con = sqlite3.connect(db_path)
    con.execute("DROP TRIGGER audit_entry_no_update")
    target = con.execute("SELECT id FROM audit_entry WHERE action = 'create' ORDER BY id LIMIT 1").fetchone()[0]
    con.execute("UPDATE audit_entry SET summary = 'không có gì' WHERE id = ?", (target,))
    con.commit()
    con.close()

    click(qtbot, view.verify_button)
    broken = audit.verify(db)
    assert not broken.ok and broken.bad_id == target
    assert view.verify_label.text() == broken.message
    assert f"#{target}" in view.verify_label.text()
    assert "b00020" in view.verify_label.styleSheet()  # shown as an error
