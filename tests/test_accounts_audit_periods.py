"""Accounts, roles, the audit trail and the period workflow, through the services and the command line."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest

from dbcomm import cli
from dbcomm.domain.models import ActivityFilter, ActivityInput
from dbcomm.domain.roles import PeriodState, Perm, Role
from dbcomm.errors import AuthError, PeriodLockedError, PermissionDenied, ValidationFailed
from dbcomm.services import activities, audit, auth, periods, plans, settings
from dbcomm.store.models import utcnow

BOTH_ENGINES = True  # the same on a shared PostgreSQL server

ADMIN_PW, ENTRY_PW, LEADER_PW, CLERK_PW = "quantri-2026", "nhaplieu-2026", "lanhdao-2026", "vanthu-2026"


@pytest.fixture
def office(db):
    """An office with four accounts; returns a function to log in as one of them."""
    auth.create_user(db, "quantri", "Nguyễn Văn Quản", Role.ADMIN, ADMIN_PW)
    auth.authenticate(db, "quantri", ADMIN_PW)
    auth.create_user(db, "lan", "Lò Thị Lan", Role.ENTRY, ENTRY_PW)
    auth.create_user(db, "thang", "Lò Văn Thắng", Role.LEADER, LEADER_PW)
    auth.create_user(db, "hoa", "Quàng Thị Hoa", Role.CLERK, CLERK_PW)
    passwords = {"quantri": ADMIN_PW, "lan": ENTRY_PW, "thang": LEADER_PW, "hoa": CLERK_PW}

    def login(name: str):
        auth.logout(db)
        return auth.authenticate(db, name, passwords[name])

    return login


def log(db, day: date, title: str = "Phát thanh tiếng Mông về học tập suốt đời") -> int:
    plan = plans.default_plan(db)
    form = activities.forms(db, plan.id)[2]
    return activities.create(db, ActivityInput(plan_id=plan.id, date_start=day, form_id=form.id, title=title,
                                               subtype="loudspeaker", languages=["hmong"])).id


# --- accounts ---------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_passwords_are_stored_only_as_argon2_hashes(db, db_path, office):
    rows = sqlite3.connect(db_path).execute("SELECT username, password_hash FROM user_account").fetchall()
    assert len(rows) == 4
    for _username, hashed in rows:
        assert hashed.startswith("$argon2id$")
        assert ADMIN_PW not in hashed and ENTRY_PW not in hashed


def test_a_wrong_password_is_refused_and_recorded(db, office):
    auth.logout(db)
    with pytest.raises(AuthError):
        auth.authenticate(db, "lan", "sai-mat-khau")
    assert db.actor is None
    office("quantri")
    failed = [e for e in audit.entries(db) if e.action == "login_failed"]
    assert failed and failed[0].username == "lan"


def test_five_wrong_passwords_lock_the_account_until_a_stated_time(db, office):
    auth.logout(db)
    now = utcnow()
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(AuthError):
            auth.authenticate(db, "lan", "sai", now=now)
    with pytest.raises(AuthError) as locked:
        auth.authenticate(db, "lan", "sai", now=now)
    unlock_at = (now + timedelta(minutes=auth.LOCK_MINUTES, hours=7)).strftime("%H:%M")
    assert unlock_at in str(locked.value)
    # even the right password is refused while locked …
    with pytest.raises(AuthError):
        auth.authenticate(db, "lan", ENTRY_PW, now=now + timedelta(minutes=1))
    # … and accepted once the time has passed
    actor = auth.authenticate(db, "lan", ENTRY_PW, now=now + timedelta(minutes=auth.LOCK_MINUTES + 1))
    assert actor.username == "lan"


def test_an_administrator_unlocks_and_resets_a_forgotten_password(db, office):
    auth.logout(db)
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(AuthError):
            auth.authenticate(db, "lan", "sai")
    office("quantri")
    lan = next(u for u in auth.list_users(db) if u.username == "lan")
    auth.reset_password(db, lan.id, "tam-thoi-123")
    auth.logout(db)
    auth.authenticate(db, "lan", "tam-thoi-123")
    assert auth.must_change_password(db)
    auth.change_password(db, "tam-thoi-123", "moi-cua-lan-1")
    assert not auth.must_change_password(db)


def test_the_first_account_must_be_an_administrator(db):
    with pytest.raises(ValidationFailed) as caught:
        auth.create_user(db, "lan", "Lò Thị Lan", Role.ENTRY, ENTRY_PW)
    assert [e.field for e in caught.value.errors] == ["role"]


def test_short_passwords_and_the_user_name_as_password_are_refused(db):
    for pw in ("ngan", "quantri"):
        with pytest.raises(ValidationFailed):
            auth.create_user(db, "quantri", "", Role.ADMIN, pw if pw != "quantri" else "QUANTRI")


def test_once_accounts_exist_nothing_runs_without_a_login(db, office):
    auth.logout(db)
    plan = plans.default_plan(db)
    with pytest.raises(PermissionDenied):
        activities.delete(db, [1])
    with pytest.raises(PermissionDenied):
        periods.transition(db, plan.id, "2026-Q3", PeriodState.SUBMITTED)


def test_single_user_mode_is_an_explicit_administrator_choice(db, office):
    assert not auth.single_user_enabled(db)
    office("lan")
    with pytest.raises(PermissionDenied):
        auth.set_single_user(db, True)
    office("quantri")
    auth.set_single_user(db, True)
    auth.logout(db)
    actor = auth.enter_single_user(db)
    assert actor is not None and actor.can(Perm.APPROVE_PERIOD)


# --- role boundaries ------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "reopen", "manage_users", "edit_plan", "import"])
def test_an_entry_clerk_cannot_do_what_belongs_to_others(db, office, action):
    plan = plans.default_plan(db)
    office("lan")
    periods.transition(db, plan.id, "2026-Q1", PeriodState.SUBMITTED)
    with pytest.raises(PermissionDenied):
        if action == "approve":
            periods.transition(db, plan.id, "2026-Q1", PeriodState.APPROVED)
        elif action == "reopen":
            periods.transition(db, plan.id, "2026-Q1", PeriodState.DRAFT, note="sửa số liệu")
        elif action == "manage_users":
            auth.create_user(db, "moi", "", Role.ENTRY, "mat-khau-moi")
        elif action == "edit_plan":
            plans.save_node(db, plan.id, None, kind="objective", code="9", title="Mục tiêu mới")
        else:
            plans.import_plan_dict(db, {"format": "dbcomm-plan"})
    assert periods.state_of(db, plan.id, "2026-Q1") == PeriodState.SUBMITTED


def test_a_registry_clerk_cannot_edit_activities(db, office):
    office("hoa")
    with pytest.raises(PermissionDenied):
        log(db, date(2026, 2, 3))


def test_the_administrator_does_not_approve_reports(db, office):
    plan = plans.default_plan(db)
    office("lan")
    periods.transition(db, plan.id, "2026-Q1", PeriodState.SUBMITTED)
    office("quantri")
    with pytest.raises(PermissionDenied):
        periods.transition(db, plan.id, "2026-Q1", PeriodState.APPROVED)


# --- the period workflow ---------------------------------------------------------------------


def test_a_submitted_period_freezes_its_activities_and_says_why(db, office):
    plan = plans.default_plan(db)
    office("lan")
    activity_id = log(db, date(2026, 8, 5))
    periods.transition(db, plan.id, "2026-Q3", PeriodState.SUBMITTED)
    before = activities.get(db, activity_id)

    with pytest.raises(PeriodLockedError) as caught:
        activities.update(db, activity_id, before, before.version)
    assert "2026-Q3" in str(caught.value) and "Lò Thị Lan" in str(caught.value)
    with pytest.raises(PeriodLockedError):
        activities.delete(db, [activity_id])
    with pytest.raises(PeriodLockedError):
        log(db, date(2026, 9, 1), "Bài mới trong kỳ đã trình")
    assert activities.get(db, activity_id).version == before.version

    # the next period is open for amendments
    assert periods.next_open_day(db, plan.id, date(2026, 8, 5)) == date(2026, 10, 1)
    log(db, date(2026, 10, 1), "Điều chỉnh bổ sung cho kỳ 2026-Q3")


def test_the_whole_workflow_with_a_return_and_a_reopen(db, office):
    plan = plans.default_plan(db)
    office("lan")
    activity_id = log(db, date(2026, 5, 12))
    periods.transition(db, plan.id, "2026-Q2", PeriodState.SUBMITTED)
    office("thang")
    with pytest.raises(ValidationFailed):
        periods.transition(db, plan.id, "2026-Q2", PeriodState.RETURNED)  # a note is required
    periods.transition(db, plan.id, "2026-Q2", PeriodState.RETURNED, note="Thiếu số người được tiếp cận")
    office("lan")
    rec = activities.get(db, activity_id)
    rec.reach_total = 250
    activities.update(db, activity_id, rec, rec.version)  # returned: editable again
    periods.transition(db, plan.id, "2026-Q2", PeriodState.SUBMITTED)
    office("thang")
    periods.transition(db, plan.id, "2026-Q2", PeriodState.APPROVED)
    office("hoa")
    periods.transition(db, plan.id, "2026-Q2", PeriodState.LOCKED)
    office("thang")
    periods.transition(db, plan.id, "2026-Q2", PeriodState.DRAFT, note="Bổ sung theo yêu cầu của Sở")
    rows = {p.key: p for p in periods.list_periods(db, plan.id)}
    assert rows["2026-Q2"].state == PeriodState.DRAFT and rows["2026-Q2"].activities == 1
    states = [e.changes["state"] for e in audit.entries(db) if e.action == "status"]
    assert states[::-1] == [["draft", "submitted"], ["submitted", "returned"], ["returned", "submitted"],
                            ["submitted", "approved"], ["approved", "locked"], ["locked", "draft"]]


@pytest.mark.sqlite_only
def test_a_locked_period_is_refused_through_the_command_line(db, db_path, office, capsys, monkeypatch):
    plan = plans.default_plan(db)
    office("lan")
    periods.transition(db, plan.id, "2026-Q1", PeriodState.SUBMITTED)
    db.close()
    monkeypatch.setenv("DBCOMM_PASSWORD", ENTRY_PW)
    code = cli.main(["--db", str(db_path), "--user", "lan", "activities", "add", "--date", "10/02/2026",
                     "--form", "F3", "--title", "Phát thanh tiếng Thái"])
    assert code == 2
    assert "2026-Q1" in capsys.readouterr().err


@pytest.mark.sqlite_only
def test_the_command_line_needs_a_login_once_accounts_exist(db, db_path, office, capsys):
    db.close()
    assert cli.main(["--db", str(db_path), "activities", "list"]) == 2
    assert "--user" in capsys.readouterr().err


# --- the audit trail -------------------------------------------------------------------------


def test_every_change_is_recorded_with_old_and_new_values(db, office):
    office("lan")
    activity_id = log(db, date(2026, 3, 2))
    rec = activities.get(db, activity_id)
    rec.title = "Phát thanh tiếng Mông: Ngày Sách và Văn hóa đọc"
    rec.minutes = 20
    activities.update(db, activity_id, rec, rec.version)
    activities.delete(db, [activity_id])
    history = audit.entries(db, entity_uuid=rec.uuid)
    assert [e.action for e in history] == ["delete", "update", "create"]
    assert history[1].changes["title"] == ["Phát thanh tiếng Mông về học tập suốt đời",
                                           "Phát thanh tiếng Mông: Ngày Sách và Văn hóa đọc"]
    assert history[1].changes["minutes"] == [0, 20]
    assert history[1].full_name == "Lò Thị Lan"


def test_the_application_cannot_edit_or_delete_the_audit_trail(db, db_path, office):
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("UPDATE audit_entry SET summary = 'x' WHERE id = 1")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("DELETE FROM audit_entry WHERE id = 1")


def _tamper(db_path, sql: str) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER audit_entry_no_update")
    conn.execute("DROP TRIGGER audit_entry_no_delete")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.sqlite_only
def test_an_edited_audit_entry_is_detected(db, db_path, office):
    office("lan")
    log(db, date(2026, 3, 2))
    assert audit.verify(db).ok
    _tamper(db_path, "UPDATE audit_entry SET username = 'someone' WHERE id = 3")
    report = audit.verify(db)
    assert not report.ok and report.bad_id == 3


@pytest.mark.sqlite_only
def test_a_deleted_audit_entry_is_detected(db, db_path, office):
    office("lan")
    log(db, date(2026, 3, 2))
    _tamper(db_path, "DELETE FROM audit_entry WHERE id = 4")
    report = audit.verify(db)
    assert not report.ok and report.bad_id == 5


@pytest.mark.sqlite_only
def test_removing_the_last_entries_is_detected(db, db_path, office):
    office("lan")
    log(db, date(2026, 3, 2))
    last = audit.entries(db, limit=1)[0].id
    _tamper(db_path, f"DELETE FROM audit_entry WHERE id >= {last - 1}")
    assert not audit.verify(db).ok


def test_office_settings_changes_are_audited(db, office):
    office("quantri")
    identity = settings.get_office(db)
    identity.name, identity.parent_agency, identity.place_name, identity.symbol = (
        "UBND xã Mường Phăng", "UBND tỉnh Điện Biên", "Mường Phăng", "UBND")
    settings.save_office(db, identity)
    entry = next(e for e in audit.entries(db) if e.action == "settings")
    assert entry.changes["name"][1] == "UBND xã Mường Phăng"


def test_exports_are_audited(db, office, tmp_path):
    office("lan")
    log(db, date(2026, 3, 2))
    activities.export_csv(db, ActivityFilter(), tmp_path / "q1.csv")
    assert any(e.action == "export" for e in audit.entries(db))
