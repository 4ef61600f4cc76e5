"""Setting up the shared server from the window, and copying an office's database file onto it.

The office is real: a department with its own register, an account for the administrator and one
for data entry, an evidence file, a signed and sealed report of its own, and a commune's signed
report received on a USB stick. The server is the throwaway cluster of ``pg_server``; one role on
it needs a password (the others are trusted), so that a wrong password can be typed.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import inspect, select

import exchange_fixtures as fx
from dbcomm import i18n
from dbcomm.domain.models import ActivityFilter, ActivityInput
from dbcomm.domain.roles import Role
from dbcomm.errors import UserError
from dbcomm.services import (
    activities,
    attachments,
    audit,
    auth,
    demo,
    identities,
    packages,
    plans,
    received,
    report_signing,
    reports,
    server_copy,
    server_setup,
)
from dbcomm.services.database import open_database
from dbcomm.services.server_setup import ServerAddress
from dbcomm.store.engine import Database
from dbcomm.store.models import Attachment, Base
from ui_helpers import click, click_check, install_fake, type_text

ADMIN, ADMIN_PASSWORD = "quantri", "Quản-trị-2026"
CLERK, CLERK_PASSWORD = "nhaplieu", "Nhập-liệu-2026"
SEARCHES = ("hoc tap", "HỌC TẬP", "mông", "khuyen hoc", "đọc sách", "50%")


@pytest.fixture(autouse=True)
def _own_password_file(tmp_path, monkeypatch):
    """The server's client library reads PGPASSFILE: the person's own password file is never touched."""
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "pgpass.conf"))
    monkeypatch.delenv("DBCOMM_DATABASE", raising=False)


# --- the office ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def office_template(tmp_path_factory) -> Path:
    """A department's database file, built once: copied for each test with its evidence files."""
    folder = tmp_path_factory.mktemp("office")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBCOMM_DATA_DIR", str(folder / "userdata"))
        signers = fx.make_signers(folder / "pki")
        stick = folder / "usb"
        stick.mkdir()
        commune = fx.sending_office(folder / "commune.sqlite3", count=40, seed=5)
        sent = packages.send(commune, fx.issue_report(commune, signers, number="12"), stick)
        commune.close()
        office = fx.receiving_office(folder / "so-gd.sqlite3", signers.pki.root_pem)
        demo.generate(office, 400, seed=2030, start=date(2026, 1, 1), end=date(2026, 9, 30))
        packages.apply_import(office, sent)  # a received report, its signed PDF and its activities
        identities.add_file_identity(office, "office", signers.pki.office, signers.pki.password,
                                     image_png=fx.SEAL, seal_diameter_mm=36)
        fx.issue_report(office, signers, number="31")  # built, signed by the leader, sealed by the registry
        plan = plans.get_tree(office, plans.default_plan(office).id)
        evidence = folder / "biên bản họp bản.pdf"
        evidence.write_bytes(b"%PDF-1.4 bien ban hop ban Muong Phang\n")
        f3 = next(f.id for f in plan.forms if f.code == "F3")
        activities.create(office, ActivityInput(
            plan_id=plan.plan.id, date_start=date(2026, 10, 12), form_id=f3, title="Họp bản về khuyến học",
            subtype="loudspeaker", minutes=20, reach_total=150, new_attachments=[evidence]))
        auth.create_user(office, ADMIN, "Lường Văn Quản", Role.ADMIN, ADMIN_PASSWORD)
        auth.authenticate(office, ADMIN, ADMIN_PASSWORD)
        auth.create_user(office, CLERK, "Lò Thị Nhập", Role.ENTRY, CLERK_PASSWORD)
        return fx.close_to_file(office)


@pytest.fixture
def office_file(office_template, tmp_path) -> Path:
    from dbcomm.paths import attachments_dir_for

    path = tmp_path / "office" / "dbcomm.sqlite3"
    path.parent.mkdir()
    shutil.copyfile(office_template, path)
    shutil.copytree(attachments_dir_for(office_template), attachments_dir_for(path))
    return path


@pytest.fixture
def office(office_file):
    db = open_database(office_file)
    auth.authenticate(db, ADMIN, ADMIN_PASSWORD)
    yield db
    db.close()


# --- server databases ---------------------------------------------------------------------------


@pytest.fixture
def empty_server(pg_server):
    url = pg_server.url(pg_server.empty_database())
    yield url
    pg_server.drop(url)


@pytest.fixture
def set_up_server(pg_server):
    """A database a workstation has already opened: dbcomm's tables, the shipped plan and directory."""
    url = pg_server.new_database()
    yield url
    pg_server.drop(url)


@pytest.fixture(scope="module")
def password_role(pg_server):
    """A role that must give its password (scram), and its own empty database."""
    role = "kt_" + uuid.uuid4().hex[:8]
    password = "Mật:khẩu\\đúng-386"  # a colon and a backslash: escaped in the password file
    quoted = password.replace("'", "''")
    pg_server.admin(f"CREATE ROLE {role} LOGIN PASSWORD '{quoted}'")
    hba = pg_server.data / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + original)
    pg_server.admin("SELECT pg_reload_conf()")
    database = "csdl_" + uuid.uuid4().hex[:8]
    pg_server.admin(f'CREATE DATABASE "{database}" OWNER {role}')
    yield role, password, database
    hba.write_text(original)
    pg_server.admin("SELECT pg_reload_conf()")
    pg_server.admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    pg_server.admin(f"DROP ROLE IF EXISTS {role}")


def rows_of(db: Database) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order (compared in Python: the server's own
    collation orders text keys differently)."""
    out: dict[str, list[tuple]] = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            keys = [table.columns.keys().index(c.name) for c in table.primary_key.columns]
            rows = [tuple(r) for r in conn.execute(select(table))]
            out[table.name] = sorted(rows, key=lambda r, k=keys: tuple(r[i] for i in k))
    return out


def schema_of(db: Database) -> set[tuple[str, str]]:
    """The server's indexes and constraints, as the server itself writes them out."""
    with db.engine.connect() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()").all()
        constraints = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace").all()
    return {(name, definition) for name, definition in [*indexes, *constraints]}


def titles(db: Database, search: str, sort: str) -> list[str]:
    f = ActivityFilter(plan_id=plans.default_plan(db).id, text=search)
    return [r.title for r in activities.list_rows(db, f, sort=sort, limit=80)]


# --- the copy --------------------------------------------------------------------------------------


def test_server_copy_puts_the_whole_office_on_the_server_as_it_was(office_file, empty_server, set_up_server,
                                                                   tmp_path, monkeypatch, capsys):
    from dbcomm import cli

    shared = tmp_path / "may-chu" / "dbcomm-tep"
    shared.mkdir(parents=True)
    monkeypatch.setenv("DBCOMM_PASSWORD", ADMIN_PASSWORD)
    code = cli.main(["--lang", "en", "--user", ADMIN, "server", "copy", "--from", str(office_file),
                     "--files", str(shared), empty_server])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Copied" in out and "The audit trail is intact" in out and "100%" in err

    file_db, server = open_database(office_file), open_database(empty_server)
    try:
        before, after = rows_of(file_db), rows_of(server)
        for table in before:
            if table in ("audit_entry", "app_setting"):
                continue
            assert after[table] == before[table], table  # every row, every column, the same identifiers
        assert after["audit_entry"][:-1] == before["audit_entry"]  # the chain as it was, then the copy itself
        copy_entry = dict(zip(Base.metadata.tables["audit_entry"].columns.keys(), after["audit_entry"][-1],
                              strict=True))
        assert (copy_entry["action"], copy_entry["entity"], copy_entry["username"]) == ("import", "database", ADMIN)
        kept = {k: v for k, v in before["app_setting"] if k != "audit_head"}
        assert {k: v for k, v in after["app_setting"] if k not in ("audit_head", "shared_attachments_folder")} == kept
        assert all(before[t] for t in ("activity", "activity_reach", "report", "received_report", "user_account",
                                       "signing_identity", "attachment", "period_status"))

        chain = audit.verify(server)
        assert chain.ok and chain.count == len(before["audit_entry"]) + 1
        fresh = Database(set_up_server)
        try:  # every index, foreign key and trigger-backed rule as in a database dbcomm set up itself
            assert schema_of(server) == schema_of(fresh)
        finally:
            fresh.close()
        for search in SEARCHES:
            for sort in ("title", "place", "date"):
                assert titles(server, search, sort) == titles(file_db, search, sort), (search, sort)
        plan_id = plans.default_plan(server).id
        assert activities.totals(server, ActivityFilter(plan_id=plan_id)) == activities.totals(
            file_db, ActivityFilter(plan_id=plan_id))
        signed = [r for r in reports.list_reports(file_db) if r.is_signed]
        assert signed
        for r in signed:
            assert report_signing.signed_file(server, r.id) == report_signing.signed_file(file_db, r.id)
        [incoming] = received.list_received(file_db, 15)
        assert received.received_pdf(server, incoming.id) == received.received_pdf(file_db, incoming.id)

        # the office's accounts log in on the server; what is saved there follows the copied rows
        assert server.attachments_dir == shared
        auth.authenticate(server, CLERK, CLERK_PASSWORD)
        id_at = Base.metadata.tables["activity"].columns.keys().index("id")
        last = max(r[id_at] for r in before["activity"])
        plan = plans.get_tree(server, plan_id)
        added = activities.create(server, ActivityInput(
            plan_id=plan_id, date_start=date(2026, 10, 2), form_id=plan.forms[0].id, title="Sau khi chuyển lên máy chủ",
            subtype="event", sessions=1, reach_total=60))
        assert added.id == last + 1
        assert audit.verify(server).ok
        with file_db.read() as s:
            evidence = s.scalars(select(Attachment)).one()
        [info] = activities.get(server, evidence.activity_id).attachments
        assert info.sha256 == evidence.sha256
        out_file = tmp_path / "ban-sao.pdf"
        attachments.export_copy(server.attachments_dir, info.sha256, out_file)
        assert out_file.read_bytes().startswith(b"%PDF-1.4 bien ban hop ban")
    finally:
        file_db.close()
        server.close()


def test_a_copy_into_a_database_that_already_holds_an_office_is_refused_and_changes_nothing(
        office, set_up_server, capsys, monkeypatch):
    i18n.set_language("en")
    first = server_copy.copy_to_server(office, set_up_server)  # a database dbcomm had only set up: accepted
    assert first.activities == len(rows_of(office)["activity"])
    server = open_database(set_up_server)
    try:
        before = rows_of(server)
        with pytest.raises(UserError, match="already holds an office's data") as refused:
            server_copy.copy_to_server(office, set_up_server)
        assert "Nothing was copied" in str(refused.value)
        from dbcomm import cli

        monkeypatch.setenv("DBCOMM_PASSWORD", ADMIN_PASSWORD)
        assert cli.main(["--lang", "en", "--user", ADMIN, "server", "copy", "--from", str(office.path),
                         set_up_server]) == 2
        assert "already holds an office's data" in capsys.readouterr().err
        assert rows_of(server) == before
    finally:
        server.close()


def test_stopping_the_copy_midway_leaves_the_server_database_empty(office, empty_server):
    calls: list[tuple[int, int]] = []
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if done > total // 2:
            stop.set()  # the person clicks Stop with half the rows sent

    with pytest.raises(server_copy.CopyCancelled):
        server_copy.copy_to_server(office, empty_server, progress=progress, cancelled=stop.is_set)
    assert any(0 < done < total for done, total in calls)
    server = Database(empty_server)
    try:
        assert all(not rows for rows in rows_of(server).values())
    finally:
        server.close()


def test_only_an_administrator_copies_the_office(office_file, empty_server):
    i18n.set_language("en")
    db = open_database(office_file)
    try:
        auth.authenticate(db, CLERK, CLERK_PASSWORD)
        with pytest.raises(UserError, match="may not change the settings"):
            server_copy.copy_to_server(db, empty_server)
    finally:
        db.close()
    server = Database(empty_server)
    try:
        assert inspect(server.engine).get_table_names() == []  # not even dbcomm's tables were made
    finally:
        server.close()


# --- the window --------------------------------------------------------------------------------


def open_dialog(qtbot, db: Database):  # type: ignore[no-untyped-def]
    """The dialog, in English (the words its messages are checked against)."""
    from dbcomm.ui.server_dialog import ServerDialog

    i18n.set_language("en")
    dialog = ServerDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def fill(qtbot, dialog, *, host: str, port: int, database: str, user: str, password: str) -> None:  # type: ignore[no-untyped-def]
    if not dialog.server_radio.isChecked():
        click_check(qtbot, dialog.server_radio)
    for edit, value in ((dialog.host_edit, host), (dialog.database_edit, database), (dialog.user_edit, user),
                        (dialog.password_edit, password)):
        edit.setFocus()
        qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(edit, Qt.Key.Key_Delete)
        type_text(edit, value)
    dialog.port_spin.setFocus()
    dialog.port_spin.selectAll()
    type_text(dialog.port_spin, str(port))


def test_connection(qtbot, dialog) -> str:  # type: ignore[no-untyped-def]
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: not dialog._busy() and dialog.test_status.text() != "", timeout=20000)
    return dialog.test_status.text()


test_connection.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def test_the_administrator_tests_the_server_and_saves_it_the_password_goes_to_the_password_file(
        qtbot, office, pg_server, password_role, monkeypatch):
    from dbcomm.paths import default_database, server_setting_file
    from pg_server import _free_port

    fake = install_fake(monkeypatch)
    role, password, database = password_role
    dialog = open_dialog(qtbot, office)
    assert dialog.file_radio.isChecked() and not dialog.server_box.isEnabled()

    fill(qtbot, dialog, host="127.0.0.1", port=pg_server.port, database=database, user=role, password="sai-mat-khau")
    assert dialog.address_edit.text() == f"postgresql://{role}@127.0.0.1:{pg_server.port}/{database}"
    said = test_connection(qtbot, dialog)
    assert "refused the user name or password" in said

    fill(qtbot, dialog, host="127.0.0.1", port=_free_port(), database=database, user=role, password=password)
    said = test_connection(qtbot, dialog)
    assert "127.0.0.1" in said and "cannot be reached" in said

    fill(qtbot, dialog, host="127.0.0.1", port=pg_server.port, database=database, user=role, password=password)
    said = test_connection(qtbot, dialog)
    assert said.startswith("Connected") and database in said and "empty" in said
    assert not server_setting_file().exists()  # a test saves nothing
    assert not Path(os.environ["PGPASSFILE"]).exists()

    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=30000)
    address = f"postgresql://{role}@127.0.0.1:{pg_server.port}/{database}"
    assert server_setting_file().read_text(encoding="utf-8").strip() == address  # no password in it
    assert password not in server_setting_file().read_text(encoding="utf-8")
    pgpass = Path(os.environ["PGPASSFILE"])
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600
    assert fake.of_kind("info") and address in fake.of_kind("info")[-1].text
    assert default_database() == address
    db = open_database(default_database())  # the password comes from the password file alone
    try:
        assert db.is_server and plans.default_plan(db).code
    finally:
        db.close()


def test_server_use_moves_a_password_out_of_the_address_into_the_password_file(pg_server, password_role, capsys):
    from dbcomm import cli
    from dbcomm.paths import default_database, server_setting_file

    role, password, database = password_role
    plain = f"postgresql://{role}@127.0.0.1:{pg_server.port}/{database}"
    with_password = ServerAddress("127.0.0.1", pg_server.port, database, role, password).address(with_password=True)
    wrong = ServerAddress("127.0.0.1", pg_server.port, database, role, "sai-mat-khau").address(with_password=True)
    assert cli.main(["--lang", "en", "server", "use", wrong]) == 2
    assert "refused the user name or password" in capsys.readouterr().err
    assert not server_setting_file().exists() and not Path(os.environ["PGPASSFILE"]).exists()

    assert cli.main(["--lang", "en", "server", "use", with_password]) == 0
    out = capsys.readouterr().out
    assert "password file" in out and password not in out
    assert server_setting_file().read_text(encoding="utf-8").strip() == plain == default_database()
    db = open_database(default_database())  # the password from the password file alone
    db.close()


def test_a_pasted_address_fills_the_fields_and_the_file_can_be_chosen_again(qtbot, office, set_up_server,
                                                                          monkeypatch):
    from dbcomm.paths import default_database, default_db_path, server_setting_file

    install_fake(monkeypatch)
    server_setup.use_server(set_up_server)
    dialog = open_dialog(qtbot, office)
    assert dialog.server_radio.isChecked()  # the saved choice is shown
    assert dialog.address_edit.text() == set_up_server

    dialog.address_edit.setFocus()
    dialog.address_edit.selectAll()
    type_text(dialog.address_edit, "postgresql://ke_toan:bi-mat@may-chu.local:5433/so_gd")
    assert (dialog.host_edit.text(), dialog.port_spin.value(), dialog.database_edit.text(),
            dialog.user_edit.text(), dialog.password_edit.text()) == ("may-chu.local", 5433, "so_gd", "ke_toan",
                                                                      "bi-mat")
    assert "bi-mat" not in dialog.address_edit.text()

    click_check(qtbot, dialog.file_radio)
    assert not dialog.server_box.isEnabled()
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert not server_setting_file().exists()
    assert default_database() == default_db_path()


def test_only_an_administrator_may_change_the_database(qtbot, office_file):
    db = open_database(office_file)
    try:
        auth.authenticate(db, CLERK, CLERK_PASSWORD)
        dialog = open_dialog(qtbot, db)
        assert not dialog.server_radio.isEnabled() and not dialog.save_button.isEnabled()
        assert dialog.findChild(type(dialog.test_status), "not_allowed") is not None
    finally:
        db.close()


def test_the_copy_from_the_window_shows_progress_can_be_stopped_and_then_completes(
        qtbot, office, set_up_server, tmp_path, monkeypatch):
    from dbcomm.paths import default_database

    fake = install_fake(monkeypatch)
    server = Database(set_up_server)
    before, schema = rows_of(server), schema_of(server)
    server.close()
    real_copy_files = server_copy._copy_files
    paused = {"on": True}
    waiting = threading.Event()

    def slow_network(*args, **kwargs):  # type: ignore[no-untyped-def]
        """The evidence files are copied; then the copy waits (as on a slow network) until Stop."""
        result = real_copy_files(*args, **kwargs)
        stop = args[5]
        waiting.set()
        began = time.monotonic()
        while paused["on"] and not stop() and time.monotonic() - began < 30:
            time.sleep(0.02)
        return result

    monkeypatch.setattr(server_copy, "_copy_files", slow_network)
    dialog = open_dialog(qtbot, office)
    click_check(qtbot, dialog.server_radio)
    dialog.address_edit.setFocus()
    type_text(dialog.address_edit, set_up_server)
    shared = tmp_path / "tep-chung"
    shared.mkdir()
    fake.choose_folder_result = shared
    click(qtbot, dialog.files_button)
    assert dialog.files_edit.text() == str(shared)

    click(qtbot, dialog.copy_button)
    qtbot.waitUntil(waiting.is_set, timeout=20000)  # the evidence files are on the server's side, the rows not yet
    qtbot.waitUntil(lambda: dialog.progress.maximum() > 0, timeout=5000)  # the bar knows how much there is to copy
    assert dialog.progress.isVisible() and dialog.stop_button.isVisible() and not dialog.save_button.isEnabled()
    click(qtbot, dialog.stop_button)
    qtbot.waitUntil(lambda: not dialog._busy(), timeout=30000)
    assert "nothing was written" in dialog.copy_status.text()
    assert not dialog.progress.isVisible()
    server = Database(set_up_server)
    try:
        assert rows_of(server) == before and schema_of(server) == schema  # the server database is as it was
    finally:
        server.close()

    paused["on"] = False
    fake.confirm_answers = [True, False]  # use the server from now on: yes; open it now: later
    click(qtbot, dialog.copy_button)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=60000)
    assert dialog.copied is not None and dialog.copied.files_shared
    assert dialog.copied.activities == len(rows_of(office)["activity"])
    assert default_database() == set_up_server
    server = open_database(set_up_server)
    try:
        assert audit.verify(server).ok
        assert server.attachments_dir == shared
        assert any(shared.rglob("*")) and all(attachments.verify(shared, p.name) for p in shared.rglob("*")
                                               if p.is_file())
    finally:
        server.close()


def test_long_messages_in_the_dialog_are_shown_whole(qtbot, office, tmp_path):
    from PySide6.QtWidgets import QLabel

    dialog = open_dialog(qtbot, office)
    click_check(qtbot, dialog.server_radio)
    check = server_setup.ServerCheck("postgresql://dbcomm@192.168.1.10:5432/dbcomm", "in_use", 12345)
    dialog._say(dialog.test_status, check.message, ok=True)
    done = server_copy.CopyResult(
        source=str(office.path), server=check.label, rows={"activity": 12345, "report": 4, "audit_entry": 900},
        audit=audit.verify(office), files_folder=tmp_path / "một thư mục rất dài" / "tệp minh chứng",
        files_shared=False, files_copied=37, files_missing=["ảnh hội nghị.jpg", "biên bản.pdf"])
    dialog._say(dialog.copy_status, done.message, ok=False)
    qtbot.wait(20)
    wrapped = [w for w in dialog.findChildren(QLabel) if w.wordWrap() and w.isVisible() and w.text()]
    assert dialog.test_status in wrapped and dialog.copy_status in wrapped
    for label in wrapped:
        assert label.height() >= label.heightForWidth(label.width()), label.text()[:40]


def test_from_the_administration_menu_the_saved_server_opens_in_the_window_at_once(
        qtbot, office, set_up_server, monkeypatch):
    from dbcomm.store.engine import server_label, server_url
    from dbcomm.ui.main_window import MainWindow
    from dbcomm.ui.server_dialog import ServerDialog
    from ui_helpers import drive_modal

    server_copy.copy_to_server(office, set_up_server)  # the office is on the server already
    fake = install_fake(monkeypatch)
    fake.confirm_answers = [True]  # open it now
    window = MainWindow(office)
    qtbot.addWidget(window)
    window.show()
    assert window.admin_menu.menuAction().isVisible() and window.server_action.isEnabled()
    replaced: list[Database] = []
    window.database_replaced.connect(replaced.append)

    def fill(dialog: ServerDialog) -> None:
        click_check(qtbot, dialog.server_radio)
        dialog.address_edit.setFocus()
        type_text(dialog.address_edit, set_up_server)
        click(qtbot, dialog.save_button)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=20000)

    opened = drive_modal(monkeypatch, ServerDialog, fill)
    window.server_action.trigger()
    assert len(opened) == 1
    qtbot.waitUntil(lambda: bool(replaced), timeout=20000)
    [new_db] = replaced
    try:
        assert new_db.is_server and new_db.label == server_label(server_url(set_up_server))
        plan_id = plans.default_plan(office).id
        assert activities.totals(new_db, ActivityFilter(plan_id=plan_id)) == activities.totals(
            office, ActivityFilter(plan_id=plan_id))
        assert auth.has_accounts(new_db) and new_db.actor is None  # the app asks for a login to it next
    finally:
        new_db.close()


def test_a_data_entry_account_does_not_see_the_database_setting(qtbot, office_file):
    from dbcomm.ui.main_window import MainWindow

    db = open_database(office_file)
    try:
        auth.authenticate(db, CLERK, CLERK_PASSWORD)
        window = MainWindow(db)
        qtbot.addWidget(window)
        window.show()
        assert not window.admin_menu.menuAction().isVisible() and not window.server_action.isEnabled()
        window.close()
    finally:
        db.close()
