"""Shared fixtures: a fresh database per test, Vietnamese interface, Qt offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
# The register counts in a background thread; tests run that step at once (one test
# covers the background path explicitly).
os.environ.setdefault("DBCOMM_SYNC_REGISTER", "1")

from pathlib import Path

import pytest

from dbcomm import i18n


@pytest.fixture(autouse=True)
def _vietnamese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest):
    """Every test starts in Vietnamese, with its own user data folder."""
    monkeypatch.setenv("DBCOMM_DATA_DIR", str(tmp_path / "userdata"))
    i18n.set_language("vi")
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        request.getfixturevalue("qapp")
    _collect_on_the_gui_thread()
    yield
    i18n.set_language("vi")
    # Free the test's windows now, on the GUI thread: left to the cyclic collector they could
    # be freed later from a worker thread of another test, and Qt objects must not be.
    import gc

    gc.collect()


def _collect_on_the_gui_thread() -> None:
    """As the application does: once Qt is running, the cyclic collector runs on its thread."""
    import sys

    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is not None:
        from dbcomm.ui import collector

        collector.install()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "register.sqlite3"


@pytest.fixture(scope="session")
def new_database_file(tmp_path_factory):
    """One freshly created and migrated database per run, to copy for tests that need one."""
    from dbcomm.services.database import open_database

    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    open_database(path).close()
    return path


@pytest.fixture
def copied_db_path(tmp_path: Path, new_database_file: Path) -> Path:
    """A copy of a new database: the same file open_database makes, without migrating again."""
    import shutil

    path = tmp_path / "register.sqlite3"
    shutil.copyfile(new_database_file, path)
    return path


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server (skipped where its binaries are not installed)."""
    from pg_server import Cluster, server_bin_dir

    bin_dir = server_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian package postgresql)")
    cluster = Cluster(bin_dir)
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The database engine under test: SQLite, or also PostgreSQL in modules that ask for both."""
    return getattr(request, "param", "sqlite")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A module with BOTH_ENGINES = True runs every test that opens a database on both engines.
    # A test marked sqlite_only looks inside the SQLite file itself (its triggers, query plans, the
    # file given to the command line).
    if "engine" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_ENGINES", False):
        both = metafunc.definition.get_closest_marker("sqlite_only") is None
        metafunc.parametrize("engine", ["sqlite", "postgresql"] if both else ["sqlite"], indirect=True)


@pytest.fixture
def db(db_path: Path, engine: str, request: pytest.FixtureRequest):
    from dbcomm.services.database import open_database

    if engine == "postgresql":
        server = request.getfixturevalue("pg_server")
        url = server.new_database()
        database = open_database(url)
        yield database
        database.close()
        server.drop(url)
        return
    database = open_database(db_path)
    yield database
    database.close()


@pytest.fixture
def plan(db):
    from dbcomm.services import plans

    return plans.get_tree(db, plans.default_plan(db).id)


@pytest.fixture
def demo_db(db):
    from dbcomm.services import demo

    demo.generate(db, 300, seed=7)
    return db
