"""Logging in, the administrator made by the first-run setup, and the accounts dialog, driven like a person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWizard

from dbcomm import app as app_module
from dbcomm.domain.models import OfficeIdentity
from dbcomm.domain.roles import Role
from dbcomm.errors import AuthError
from dbcomm.i18n import _
from dbcomm.services import audit, auth, settings
from dbcomm.store.models import utcnow
from dbcomm.ui.login_dialog import ChangePasswordDialog, LoginDialog, ensure_logged_in
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.setup_wizard import SetupWizard
from dbcomm.ui.users_dialog import ResetPasswordDialog, UserDialog, UsersDialog
from ui_helpers import (
    FakeInteraction,
    choose,
    click,
    click_check,
    click_row,
    drive_modal,
    install_fake,
    type_text,
)

ADMIN_PW, ENTRY_PW, CLERK_PW = "quantri-2026", "nhaplieu-2026", "vanthu-2026"
OFFICE = OfficeIdentity(name="UBND xã Mường Phăng", parent_agency="UBND huyện Điện Biên", kind="commune",
                        place_name="Mường Phăng", symbol="UBND")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def office(db):  # type: ignore[no-untyped-def]
    """A set-up office with an administrator, a data-entry person and a registry clerk; nobody logged in."""
    auth.create_user(db, "quantri", "Nguyễn Văn Quản", Role.ADMIN, ADMIN_PW)
    auth.authenticate(db, "quantri", ADMIN_PW)
    settings.save_office(db, OFFICE)
    settings.mark_setup_done(db)
    auth.create_user(db, "lan", "Lò Thị Lan", Role.ENTRY, ENTRY_PW)
    auth.create_user(db, "hoa", "Quàng Thị Hoa", Role.CLERK, CLERK_PW)
    auth.logout(db)
    return db


def log_in(qtbot, d: LoginDialog, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    d.username_edit.clear()
    qtbot.keyClicks(d.username_edit, username)
    d.password_edit.clear()
    qtbot.keyClicks(d.password_edit, password)
    click(qtbot, d.login_button)


def main_windows() -> list[MainWindow]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]


# --- logging in ---------------------------------------------------------------------------


def test_a_wrong_password_shows_the_reason_and_opens_no_window(qtbot, office, db_path, fake, monkeypatch):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def fill(d: LoginDialog) -> None:
        log_in(qtbot, d, "lan", "sai-mat-khau")
        assert d.isVisible()  # the dialog stays open
        assert d.error.isVisible()
        seen.append(d.error.text())
        assert d.password_edit.text() == ""  # typed again, not kept
        click(qtbot, d.cancel_button)  # the person gives up

    opened = drive_modal(monkeypatch, LoginDialog, fill)
    code = app_module.run_gui(db_path)

    assert code == 0
    assert len(opened) == 1
    assert seen == [_("Wrong user name or password.")]
    assert main_windows() == []
    failed = [e for e in _entries_as_admin(office) if e.action == "login_failed"]
    assert failed and failed[0].username == "lan"


def _entries_as_admin(db):  # type: ignore[no-untyped-def]
    auth.authenticate(db, "quantri", ADMIN_PW)
    try:
        return audit.entries(db)
    finally:
        auth.logout(db)


def test_enter_in_the_password_box_logs_in(qtbot, office, fake):  # type: ignore[no-untyped-def]
    d = LoginDialog(office)
    qtbot.addWidget(d)
    d.show()
    qtbot.keyClicks(d.username_edit, "lan")
    qtbot.keyClicks(d.password_edit, ENTRY_PW)
    qtbot.keyClick(d.password_edit, Qt.Key.Key_Return)

    assert d.result() == LoginDialog.DialogCode.Accepted
    assert office.actor is not None and office.actor.username == "lan"


def test_five_wrong_passwords_lock_the_account_with_the_time_it_opens_again(qtbot, office, fake):  # type: ignore[no-untyped-def]
    d = LoginDialog(office)
    qtbot.addWidget(d)
    d.show()
    before = utcnow()
    for _attempt in range(auth.MAX_FAILURES - 1):
        log_in(qtbot, d, "lan", "sai")
        assert d.error.text() == _("Wrong user name or password.")
    log_in(qtbot, d, "lan", "sai")
    after = utcnow()

    times = {(t + timedelta(minutes=auth.LOCK_MINUTES, hours=7)).strftime("%H:%M") for t in (before, after)}
    message = d.error.text()
    assert "lan" in message
    assert any(t in message for t in times), message
    # the right password is refused while the account is locked, with the same reason
    log_in(qtbot, d, "lan", ENTRY_PW)
    assert d.isVisible()
    assert office.actor is None
    assert any(t in d.error.text() for t in times)


def test_single_user_mode_opens_without_the_login_dialog(qtbot, office, fake, monkeypatch):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "quantri", ADMIN_PW)
    auth.set_single_user(office, True)
    auth.logout(office)
    opened = drive_modal(monkeypatch, LoginDialog, lambda d: None)

    assert ensure_logged_in(office)

    assert opened == []
    assert office.actor is not None and office.actor.username == "quantri" and office.actor.single_user


# --- first-run setup ------------------------------------------------------------------------


def test_the_first_run_setup_creates_the_administrator_and_logs_them_in(qtbot, db, fake):  # type: ignore[no-untyped-def]
    w = SetupWizard(db)
    qtbot.addWidget(w)
    w.show()
    click(qtbot, w.button(QWizard.WizardButton.NextButton))
    page = w.admin_page
    assert page is not None and w.currentPage() is page
    assert not page.single_user_check.isChecked()  # a deliberate choice, never the default
    qtbot.keyClicks(page.username_edit, "QuanTri")
    type_text(page.full_name_edit, "Nguyễn Văn Quản")
    qtbot.keyClicks(page.password_edit, ADMIN_PW)
    qtbot.keyClicks(page.repeat_edit, "something-else")
    click(qtbot, w.button(QWizard.WizardButton.NextButton))

    assert w.currentPage() is page  # the two passwords differ
    assert page.errors["repeat"].isVisible()
    assert not auth.has_accounts(db)

    page.repeat_edit.clear()
    qtbot.keyClicks(page.repeat_edit, ADMIN_PW)
    click(qtbot, w.button(QWizard.WizardButton.NextButton))

    assert w.currentPage() is w.office_page
    assert db.actor is not None
    assert (db.actor.username, db.actor.full_name, db.actor.role) == ("quantri", "Nguyễn Văn Quản", Role.ADMIN)
    assert not db.actor.single_user
    assert not auth.single_user_enabled(db)
    [user] = auth.list_users(db)
    assert user.username == "quantri" and user.role == Role.ADMIN

    form = w.office_page.form
    type_text(form.name_edit, OFFICE.name)
    type_text(form.parent_edit, OFFICE.parent_agency)
    type_text(form.place_edit, OFFICE.place_name)
    type_text(form.symbol_edit, "UBND")
    click(qtbot, w.button(QWizard.WizardButton.NextButton))
    click(qtbot, w.button(QWizard.WizardButton.NextButton))
    click(qtbot, w.button(QWizard.WizardButton.FinishButton))

    assert settings.is_setup_done(db)
    office_saved = [e for e in audit.entries(db) if e.entity == "office"]
    assert office_saved and {e.username for e in office_saved} == {"quantri"}  # saved by the administrator


def test_single_user_mode_ticked_in_the_setup_is_saved(qtbot, db, fake):  # type: ignore[no-untyped-def]
    w = SetupWizard(db)
    qtbot.addWidget(w)
    w.show()
    click(qtbot, w.button(QWizard.WizardButton.NextButton))
    page = w.admin_page
    assert page is not None
    qtbot.keyClicks(page.username_edit, "lan")
    qtbot.keyClicks(page.password_edit, ADMIN_PW)
    qtbot.keyClicks(page.repeat_edit, ADMIN_PW)
    click_check(qtbot, page.single_user_check)
    click(qtbot, w.button(QWizard.WizardButton.NextButton))

    assert w.currentPage() is w.office_page
    assert auth.single_user_enabled(db)
    auth.logout(db)
    assert ensure_logged_in(db)  # no dialog: single-user mode
    assert db.actor is not None and db.actor.username == "lan"


def test_a_database_with_accounts_gets_no_second_administrator_page(qtbot, office, fake):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "quantri", ADMIN_PW)
    w = SetupWizard(office)
    qtbot.addWidget(w)
    assert w.admin_page is None


# --- the accounts dialog -------------------------------------------------------------------


def test_a_password_reset_by_the_administrator_must_be_changed_at_the_next_login(qtbot, office, fake, monkeypatch):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "quantri", ADMIN_PW)
    d = UsersDialog(office)
    qtbot.addWidget(d)
    d.show()
    names = [u.username for u in d.users]
    click_row(qtbot, d.table, names.index("lan"))
    assert d.reset_button.isEnabled()

    def fill_reset(r: ResetPasswordDialog) -> None:
        qtbot.keyClicks(r.password_edit, "tam-thoi-123")
        qtbot.keyClicks(r.repeat_edit, "tam-thoi-123")
        click(qtbot, r.save_button)

    drive_modal(monkeypatch, ResetPasswordDialog, fill_reset)
    click(qtbot, d.reset_button)
    assert [a.kind for a in fake.asked] == ["info"]
    auth.logout(office)

    # lan logs in with the temporary password: she must choose her own before the window opens
    def fill_login(ld: LoginDialog) -> None:
        log_in(qtbot, ld, "lan", "tam-thoi-123")

    forced: list[ChangePasswordDialog] = []

    def fill_change(c: ChangePasswordDialog) -> None:
        forced.append(c)
        assert c.findChild(QLabel, "forced_note") is not None  # says why
        qtbot.keyClicks(c.old_edit, "tam-thoi-123")
        qtbot.keyClicks(c.new_edit, "mat-khau-moi-2026")
        qtbot.keyClicks(c.repeat_edit, "mat-khau-khac")
        click(qtbot, c.save_button)
        assert c.isVisible() and c.errors["repeat"].isVisible()  # the repeat differs
        c.repeat_edit.clear()
        qtbot.keyClicks(c.repeat_edit, "mat-khau-moi-2026")
        click(qtbot, c.save_button)

    drive_modal(monkeypatch, LoginDialog, fill_login)
    drive_modal(monkeypatch, ChangePasswordDialog, fill_change)
    assert ensure_logged_in(office)

    assert len(forced) == 1
    assert not auth.must_change_password(office)
    auth.logout(office)
    with pytest.raises(AuthError):
        auth.authenticate(office, "lan", "tam-thoi-123")
    assert auth.authenticate(office, "lan", "mat-khau-moi-2026").username == "lan"


def test_refusing_to_change_a_reset_password_logs_out(qtbot, office, fake, monkeypatch):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "quantri", ADMIN_PW)
    lan = next(u for u in auth.list_users(office) if u.username == "lan")
    auth.reset_password(office, lan.id, "tam-thoi-123")
    auth.logout(office)
    drive_modal(monkeypatch, LoginDialog, lambda ld: log_in(qtbot, ld, "lan", "tam-thoi-123"))
    drive_modal(monkeypatch, ChangePasswordDialog, lambda c: None)  # closed without changing

    assert not ensure_logged_in(office)
    assert office.actor is None


def test_the_administrator_adds_an_account_and_disables_another(qtbot, office, fake, monkeypatch):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "quantri", ADMIN_PW)
    d = UsersDialog(office)
    qtbot.addWidget(d)
    d.show()

    def fill(u: UserDialog) -> None:
        qtbot.keyClicks(u.username_edit, "thang")
        type_text(u.full_name_edit, "Lò Văn Thắng")
        choose(u.role_combo, str(Role.LEADER))
        qtbot.keyClicks(u.password_edit, "short")
        qtbot.keyClicks(u.repeat_edit, "short")
        click(qtbot, u.save_button)
        assert u.isVisible() and u.errors["password"].isVisible()  # too short
        u.password_edit.clear()
        u.repeat_edit.clear()
        qtbot.keyClicks(u.password_edit, "lanhdao-2026")
        qtbot.keyClicks(u.repeat_edit, "lanhdao-2026")
        click(qtbot, u.save_button)

    drive_modal(monkeypatch, UserDialog, fill)
    click(qtbot, d.add_button)

    users = {u.username: u for u in auth.list_users(office)}
    assert users["thang"].role == Role.LEADER and users["thang"].full_name == "Lò Văn Thắng"
    assert d.selected() is not None and d.selected().username == "thang"  # type: ignore[union-attr]

    click_row(qtbot, d.table, [u.username for u in d.users].index("hoa"))
    assert d.active_button.text() == _("Disable")
    click(qtbot, d.active_button)
    assert not {u.username: u for u in auth.list_users(office)}["hoa"].active
    assert d.active_button.text() == _("Enable")
    auth.logout(office)
    with pytest.raises(AuthError, match="hoa"):
        auth.authenticate(office, "hoa", CLERK_PW)


def test_the_last_administrator_cannot_be_disabled(qtbot, office, fake):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "quantri", ADMIN_PW)
    d = UsersDialog(office)
    qtbot.addWidget(d)
    d.show()
    click_row(qtbot, d.table, [u.username for u in d.users].index("quantri"))
    click(qtbot, d.active_button)

    assert [a.kind for a in fake.asked] == ["error"]
    assert _("At least one active administrator must remain.") in fake.asked[0].text
    assert {u.username: u for u in auth.list_users(office)}["quantri"].active


def test_a_locked_account_is_unlocked_by_the_administrator(qtbot, office, fake):  # type: ignore[no-untyped-def]
    for _attempt in range(auth.MAX_FAILURES):
        with pytest.raises(AuthError):
            auth.authenticate(office, "lan", "sai")
    auth.authenticate(office, "quantri", ADMIN_PW)
    d = UsersDialog(office)
    qtbot.addWidget(d)
    d.show()
    row = [u.username for u in d.users].index("lan")
    assert d.table.item(row, 4).text()  # "locked until" shown
    click_row(qtbot, d.table, row)
    assert d.unlock_button.isEnabled()
    click(qtbot, d.unlock_button)

    assert d.table.item(row, 4).text() == ""
    auth.logout(office)
    assert auth.authenticate(office, "lan", ENTRY_PW).username == "lan"


def test_the_administration_menu_is_for_administrators_only(qtbot, office, fake):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "lan", ENTRY_PW)
    w = MainWindow(office)
    qtbot.addWidget(w)
    w.show()
    assert not w.admin_menu.menuAction().isVisible()
    assert not w.accounts_action.isEnabled()
    assert w.logout_action.isVisible() and w.change_password_action.isVisible()
    w.close()

    auth.logout(office)
    auth.authenticate(office, "quantri", ADMIN_PW)
    w2 = MainWindow(office)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.admin_menu.menuAction().isVisible()
    assert w2.accounts_action.isEnabled()


def test_log_out_forgets_the_person_and_asks_the_app_to_log_in_again(qtbot, office, fake):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "lan", ENTRY_PW)
    w = MainWindow(office)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.logged_out, timeout=1000):
        w.logout_action.trigger()
    assert office.actor is None


def test_change_my_password_from_the_file_menu(qtbot, office, fake, monkeypatch):  # type: ignore[no-untyped-def]
    auth.authenticate(office, "lan", ENTRY_PW)
    w = MainWindow(office)
    qtbot.addWidget(w)
    w.show()

    def fill(c: ChangePasswordDialog) -> None:
        qtbot.keyClicks(c.old_edit, "sai-mat-khau")
        qtbot.keyClicks(c.new_edit, "mat-khau-moi-2026")
        qtbot.keyClicks(c.repeat_edit, "mat-khau-moi-2026")
        click(qtbot, c.save_button)
        assert c.errors["old_password"].text() == _("The current password is wrong.")
        c.old_edit.clear()
        qtbot.keyClicks(c.old_edit, ENTRY_PW)
        click(qtbot, c.save_button)

    drive_modal(monkeypatch, ChangePasswordDialog, fill)
    w.change_password_action.trigger()

    assert [a.kind for a in fake.asked] == ["info"]
    auth.logout(office)
    assert auth.authenticate(office, "lan", "mat-khau-moi-2026").username == "lan"
