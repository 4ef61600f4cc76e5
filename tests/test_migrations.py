"""Schema migrations: a new file gets the whole schema, an old one is copied first."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from dbcomm.domain.models import ActivityFilter, ActivityInput
from dbcomm.errors import DatabaseOpenError
from dbcomm.services import activities, plans
from dbcomm.services.database import open_database
from dbcomm.store import migrate
from dbcomm.store.engine import Database
from dbcomm.store.models import Base


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_empty_file_is_brought_to_head_with_every_table(db_path):
    # given a database file that does not exist yet
    assert not db_path.exists()

    # when it is opened
    db = open_database(db_path)
    try:
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        revision = migrate.current_revision(db)
    finally:
        db.close()

    # then every table of the models is there, at the newest revision
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    assert revision == migrate.HEAD_REVISION


def test_first_migration_of_a_new_file_takes_no_safety_copy(tmp_path):
    db = Database(tmp_path / "new.sqlite3")
    try:
        assert migrate.upgrade(db) is None
    finally:
        db.close()
    assert sorted(p.name for p in tmp_path.iterdir() if "before" in p.name) == []


def test_migrated_schema_matches_the_models_exactly(db):
    # objects the models do not describe (a search index) are skipped the way env.py skips them
    include = getattr(migrate, "include_object", None)
    opts = {"compare_type": True, "render_as_batch": True}
    if include is not None:
        opts["include_object"] = include
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert differences == []


def test_head_revision_constant_is_the_head_of_the_migration_scripts():
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_heads() == [migrate.HEAD_REVISION]
    assert migrate.HEAD_REVISION in migrate.known_revisions()


def test_reopening_an_up_to_date_database_changes_no_schema_and_takes_no_copy(db_path):
    open_database(db_path).close()
    before = set(db_path.parent.iterdir())

    db = open_database(db_path)
    try:
        assert migrate.upgrade(db) is None
    finally:
        db.close()

    assert {p for p in db_path.parent.iterdir() if "before" in p.name} == set()
    assert {p.name for p in set(db_path.parent.iterdir()) - before} <= {
        f"{db_path.name}-wal",
        f"{db_path.name}-shm",
    }


def test_database_from_a_newer_dbcomm_is_refused_and_left_unchanged(db_path):
    # given a dbcomm database whose schema revision this version does not know
    open_database(db_path).close()
    con = sqlite3.connect(db_path)
    con.execute("UPDATE alembic_version SET version_num = 'zzzz'")
    con.commit()
    con.close()
    digest = sha256(db_path)
    files_before = sorted(p.name for p in db_path.parent.iterdir())

    # when it is opened
    with pytest.raises(DatabaseOpenError) as caught:
        open_database(db_path)

    # then it is refused as too new, and neither the file nor the folder changed
    assert caught.value.reason == "newer_version"
    assert "zzzz" in str(caught.value)
    assert sha256(db_path) == digest
    assert sorted(p.name for p in db_path.parent.iterdir()) == files_before


# --- an upgrade from an older schema, with a migration written for this test -------


SHIPPED = migrate.HEAD_REVISION
NEXT = f"{int(SHIPPED) + 1:04d}"


@pytest.fixture
def install_next_revision(tmp_path, monkeypatch):
    """Call it to make dbcomm know one more revision (adds a table) beyond the shipped ones."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / f"{NEXT}_test_marker.py").write_text(
        f'"""test marker\n\nRevision ID: {NEXT}\nRevises: {SHIPPED}\n"""\n'
        "from alembic import op\n"
        "import sqlalchemy as sa\n\n"
        f"revision = '{NEXT}'\ndown_revision = '{SHIPPED}'\nbranch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade():\n"
        "    op.create_table('test_marker', sa.Column('id', sa.Integer(), primary_key=True))\n\n\n"
        "def downgrade():\n"
        "    op.drop_table('test_marker')\n",
        encoding="utf-8",
    )

    def install() -> None:
        monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)
        monkeypatch.setattr(migrate, "HEAD_REVISION", NEXT)

    return install


def test_upgrading_an_existing_database_takes_a_copy_of_it_first(db_path, install_next_revision):
    # given a register at the shipped revision with one activity in it
    db = open_database(db_path)
    plan = plans.default_plan(db)
    form = activities.forms(db, plan.id)[0]
    activities.create(
        db,
        ActivityInput(
            plan_id=plan.id,
            date_start=date(2025, 4, 21),
            form_id=form.id,
            title="Ngày hội đọc sách tại Trường PTDTBT Tiểu học Mường Phăng",
        ),
    )
    assert migrate.current_revision(db) == SHIPPED

    # when a version of dbcomm that knows the next revision opens it
    install_next_revision()
    copy = migrate.upgrade(db)

    # then the file is at the next revision, and a copy at the shipped one sits beside it
    assert migrate.current_revision(db) == NEXT
    with db.engine.connect() as conn:
        assert inspect(conn).has_table("test_marker")
    assert activities.totals(db, ActivityFilter()).count == 1
    db.close()

    assert copy is not None and copy.exists()
    assert copy.parent == db_path.parent
    assert f"before-{NEXT}" in copy.name
    assert sqlite_rows(copy, "SELECT version_num FROM alembic_version") == [(SHIPPED,)]
    assert sqlite_rows(copy, "SELECT title FROM activity") == [
        ("Ngày hội đọc sách tại Trường PTDTBT Tiểu học Mường Phăng",)
    ]
    assert sqlite_rows(copy, "SELECT name FROM sqlite_master WHERE name='test_marker'") == []
    assert sqlite_rows(copy, "PRAGMA integrity_check") == [("ok",)]


def test_a_new_database_is_created_directly_at_the_newest_revision(db_path, install_next_revision):
    install_next_revision()
    db = Database(db_path)
    try:
        assert migrate.upgrade(db) is None
        assert migrate.current_revision(db) == NEXT
    finally:
        db.close()


def test_a_register_made_at_revision_0001_is_upgraded_with_its_activities_kept(db_path):
    # given a database created by the first release (revision 0001) with one activity
    from alembic import command

    db = Database(db_path)
    with db.engine.begin() as conn:
        command.upgrade(migrate._alembic_config(conn), "0001")
    db.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO plan (id, uuid, created_at, updated_at, version, code, title, issuer, start_year, "
                     "end_year, cutoff, recipient, is_default, note) VALUES (1, 'p', '2025-01-01', '2025-01-01', 1, "
                     "'386/KH-UBND', 'Kế hoạch', '', 2022, 2030, 'calendar', '', 1, '')")
        conn.execute("INSERT INTO comm_form (id, uuid, created_at, updated_at, version, plan_id, code, name, ordinal) "
                     "VALUES (1, 'f', '2025-01-01', '2025-01-01', 1, 1, 'F3', 'Hệ thống thông tin cơ sở', 3)")
        conn.execute("INSERT INTO activity (id, uuid, created_at, updated_at, version, plan_id, form_id, subtype, "
                     "date_start, title, title_fold, title_sort, description, languages, items, minutes, sessions, "
                     "reach_total, partner, cost, funding, notes, search_text) VALUES (1, 'a', '2025-01-01', "
                     "'2025-01-01', 1, 1, 1, 'loudspeaker', '2025-04-21', 'Phát thanh tiếng Thái', 'phat thanh tieng "
                     "thai', '', '', 'thai', 1, 15, 0, 300, '', 0, '', '', 'phat thanh tieng thai')")

    # when today's dbcomm opens it
    db = open_database(db_path)

    # then the schema is at head, the activity is there and findable, and a copy was kept
    assert migrate.current_revision(db) == migrate.HEAD_REVISION
    rows = activities.list_rows(db, ActivityFilter(text="tieng thai"))
    assert [r.title for r in rows] == ["Phát thanh tiếng Thái"]
    db.close()
    # (the app takes it through services.backup: a checked .dbcbak in the backups folder)
    from dbcomm.services import backup

    copies = list(backup.backup_dir_for(db_path).glob(f"*before-migration-{migrate.HEAD_REVISION}*"))
    assert len(copies) == 1
    with backup.OpenedBackup(copies[0]) as opened:
        assert sqlite_rows(opened.db_file, "SELECT version_num FROM alembic_version") == [("0001",)]
