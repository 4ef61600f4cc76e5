"""A shared PostgreSQL server: two workstations at once, the same search and sort as SQLite, and
plain messages for a wrong address, a server that is down or goes away, another application's
database and a newer dbcomm's schema."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import text

from dbcomm.domain.models import ActivityFilter, ActivityInput
from dbcomm.errors import ConflictError, DatabaseOpenError, ServerUnavailableError
from dbcomm.services import activities, audit, demo, plans
from dbcomm.services.database import open_database


@pytest.fixture
def server_db(pg_server):
    url = pg_server.new_database()
    yield url
    pg_server.drop(url)


def a_title(plan_id: int, form_id: int, title: str, day: date) -> ActivityInput:
    return ActivityInput(plan_id=plan_id, date_start=day, form_id=form_id, title=title, subtype="loudspeaker",
                         minutes=15, reach_total=100)


def f3(plan) -> int:  # type: ignore[no-untyped-def]
    return next(f.id for f in plan.forms if f.code == "F3")


def test_two_workstations_saving_the_same_activity_at_once_never_lose_an_edit(server_db):
    first, second = open_database(server_db), open_database(server_db)
    try:
        plan = plans.get_tree(first, plans.default_plan(first).id)
        saved = activities.create(first, a_title(plan.plan.id, f3(plan), "Phát thanh về học tập suốt đời",
                                                 date(2026, 10, 5)))
        edits = {
            "first": replace(activities.get(first, saved.id), title="Bản của máy thứ nhất", minutes=20),
            "second": replace(activities.get(second, saved.id), title="Bản của máy thứ hai", minutes=30),
        }
        outcome: dict[str, object] = {}
        start = threading.Barrier(2)

        def save(name: str, db) -> None:  # type: ignore[no-untyped-def]
            start.wait()
            try:
                outcome[name] = activities.update(db, saved.id, edits[name], expected_version=saved.version)
            except ConflictError as exc:
                outcome[name] = exc

        workers = [threading.Thread(target=save, args=("first", first)),
                   threading.Thread(target=save, args=("second", second))]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)

        refused = [name for name, result in outcome.items() if isinstance(result, ConflictError)]
        accepted = [name for name in outcome if name not in refused]
        assert len(refused) == 1 and len(accepted) == 1
        stored = activities.get(first, saved.id)
        assert (stored.title, stored.version) == (edits[accepted[0]].title, saved.version + 1)
        conflict = outcome[refused[0]]
        assert isinstance(conflict, ConflictError) and conflict.details is not None
        labels = {label for label, _mine, _theirs in conflict.details.differences}
        assert {"Tiêu đề", "Số phút"} <= labels
        assert audit.verify(first).ok  # the audit chain stays one chain with two writers
    finally:
        first.close()
        second.close()


def test_search_and_vietnamese_order_are_the_same_as_in_sqlite(server_db, tmp_path):
    server, local = open_database(server_db), open_database(tmp_path / "same.sqlite3")
    try:
        for db in (server, local):
            demo.generate(db, 400, seed=2030, end=date(2026, 11, 1))
        plan_id = plans.default_plan(local).id
        for search in ("hoc tap", "HỌC TẬP", "mông", "khuyen hoc", "đọc sách", "xa", "lò", "50%", "a_b"):
            for sort in ("title", "place", "date"):
                f = ActivityFilter(plan_id=plan_id, text=search)
                mine = [r.title for r in activities.list_rows(local, f, sort=sort, limit=60)]
                theirs = [r.title for r in activities.list_rows(server, f, sort=sort, limit=60)]
                assert mine == theirs, (search, sort)
        assert activities.totals(server, ActivityFilter(plan_id=plan_id)) == activities.totals(
            local, ActivityFilter(plan_id=plan_id))
    finally:
        server.close()
        local.close()


def test_a_wrong_address_is_said_plainly(pg_server):
    with pytest.raises(DatabaseOpenError) as bad:
        open_database("postgresql://")
    assert bad.value.reason == "bad_url"
    with pytest.raises(DatabaseOpenError) as bad_port:  # a port that is not a number
        open_database("postgresql://van_thu@may-chu:abc/dbcomm")
    assert bad_port.value.reason == "bad_url" and "may-chu:abc" in str(bad_port.value)
    with pytest.raises(DatabaseOpenError) as missing:
        open_database(pg_server.url("khong_co_csdl_nay"))
    assert missing.value.reason == "server_no_database" and "khong_co_csdl_nay" in str(missing.value)


def test_a_server_that_is_not_running_is_said_plainly():
    from pg_server import _free_port

    with pytest.raises(DatabaseOpenError) as down:
        open_database(f"postgresql://dbcomm@127.0.0.1:{_free_port()}/dbcomm")
    assert down.value.reason == "server_unreachable"
    assert "postgresql://dbcomm@127.0.0.1" in str(down.value)


def test_another_applications_database_is_refused_and_left_alone(pg_server):
    name = pg_server.empty_database()
    url = pg_server.url(name)
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=pg_server.port, user="dbcomm", dbname=name, autocommit=True) as c:
        c.execute("CREATE TABLE khach_hang (id integer primary key, ten text)")
    with pytest.raises(DatabaseOpenError) as other:
        open_database(url)
    assert other.value.reason == "not_a_database"
    with psycopg.connect(host="127.0.0.1", port=pg_server.port, user="dbcomm", dbname=name) as c:
        tables = {r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"khach_hang"}
    pg_server.drop(url)


def test_a_database_from_a_newer_dbcomm_is_refused_unchanged(server_db):
    db = open_database(server_db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9001'"))
    db.close()
    with pytest.raises(DatabaseOpenError) as newer:
        open_database(server_db)
    assert newer.value.reason == "newer_version" and "9001" in str(newer.value)


def test_the_server_going_away_loses_nothing_and_dbcomm_carries_on_when_it_is_back(tmp_path):
    from pg_server import Cluster, server_bin_dir

    bin_dir = server_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not installed")
    cluster = Cluster(bin_dir, durable=True)  # its own server: this test stops it
    cluster.start()
    try:
        db = open_database(cluster.new_database())
        plan = plans.get_tree(db, plans.default_plan(db).id)
        kept = activities.create(db, a_title(plan.plan.id, f3(plan), "Trước khi máy chủ tắt", date(2026, 9, 1)))
        cluster.stop()
        with pytest.raises(ServerUnavailableError):
            activities.create(db, a_title(plan.plan.id, f3(plan), "Khi máy chủ tắt", date(2026, 9, 2)))
        with pytest.raises(ServerUnavailableError):
            activities.list_rows(db, ActivityFilter(plan_id=plan.plan.id))
        cluster.restart()
        again = activities.create(db, a_title(plan.plan.id, f3(plan), "Sau khi máy chủ chạy lại",
                                              date(2026, 9, 3)))
        titles = [r.title for r in activities.list_rows(db, ActivityFilter(plan_id=plan.plan.id))]
        assert sorted(titles) == sorted(["Trước khi máy chủ tắt", "Sau khi máy chủ chạy lại"])
        assert activities.get(db, kept.id).title == "Trước khi máy chủ tắt" and again.id != kept.id
        db.close()
    finally:
        cluster.remove()


def test_backups_of_a_server_database_are_the_servers(server_db, tmp_path):
    from dbcomm.errors import UserError
    from dbcomm.services import backup

    db = open_database(server_db)
    try:
        with pytest.raises(UserError, match="pg_dump"):
            backup.backup_to(db, tmp_path / "sao-luu.dbcbak")
        assert not list(tmp_path.glob("*.dbcbak"))
    finally:
        db.close()


def test_a_workstation_is_pointed_at_the_server_once_and_opens_it_from_then_on(server_db, capsys, tmp_path):
    from dbcomm import cli
    from dbcomm.paths import default_database, server_setting_file

    assert cli.main(["--lang", "en", "server", "use", "postgresql://"]) == 2
    assert not server_setting_file().exists()
    assert cli.main(["--lang", "en", "server", "use", server_db]) == 0
    assert "now opens postgresql://dbcomm@127.0.0.1" in capsys.readouterr().out
    assert default_database() == server_db
    assert cli.main(["--lang", "en", "demo-data", "--count", "25", "--demo-office"]) == 0
    db = open_database(server_db)  # another workstation sees what this one wrote
    try:
        assert activities.totals(db, ActivityFilter(plan_id=plans.default_plan(db).id)).count == 25
    finally:
        db.close()
    assert cli.main(["--lang", "en", "server", "local"]) == 0
    assert default_database() == tmp_path / "userdata" / "dbcomm.sqlite3"


def test_evidence_files_go_to_the_offices_shared_folder_for_every_workstation(server_db, tmp_path):
    from dbcomm.services import database as database_service

    shared = tmp_path / "may-chu" / "dbcomm-tep"
    shared.mkdir(parents=True)
    evidence = tmp_path / "biên bản.pdf"
    evidence.write_bytes(b"%PDF-1.4 bien ban hop ban\n")
    first = open_database(server_db)
    try:
        database_service.set_shared_attachments(first, shared)
        plan = plans.get_tree(first, plans.default_plan(first).id)
        saved = activities.create(first, replace(a_title(plan.plan.id, f3(plan), "Họp bản", date(2026, 10, 1)),
                                                 new_attachments=[evidence]))
    finally:
        first.close()
    second = open_database(server_db)  # another workstation, opened afterwards
    try:
        assert second.attachments_dir == shared
        [info] = activities.get(second, saved.id).attachments
        out = tmp_path / "ban-sao.pdf"
        from dbcomm.services import attachments

        attachments.export_copy(second.attachments_dir, info.sha256, out)
        assert out.read_bytes() == evidence.read_bytes()
    finally:
        second.close()


def test_the_demo_register_on_a_server_leaves_room_for_the_next_activity(server_db):
    """The demo gives its activities their ids: the server's own counter must follow, or the next
    activity logged by hand would collide with one of them."""
    db = open_database(server_db)
    try:
        added = demo.generate(db, count=40)
        plan = plans.get_tree(db, plans.default_plan(db).id)
        new = activities.create(db, a_title(plan.plan.id, f3(plan), "Phát thanh sau bộ dữ liệu mẫu", date(2025, 6, 2)))
        assert len(activities.list_ids(db, ActivityFilter())) == added + 1
        assert activities.get(db, new.id).title == "Phát thanh sau bộ dữ liệu mẫu"
    finally:
        db.close()
