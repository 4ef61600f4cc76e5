"""Shared fixtures: a fresh database per test, Vietnamese interface, Qt offscreen."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
# The register counts in a background thread; tests run that step at once (one test
# covers the background path explicitly).
os.environ.setdefault("DBCOMM_SYNC_REGISTER", "1")

import shutil
from pathlib import Path

import pytest

from dbcomm import i18n


@pytest.fixture(autouse=True)
def _vietnamese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest):
    """Every test starts in Vietnamese, with its own user data folder."""
    # What is alive now (modules, session and module fixtures) is set aside from the cyclic
    # collector, so that the collection below looks only at what this test made: a full
    # collection over the whole heap took 0.2–1.4 s after every test, more than half the run.
    gc.freeze()
    monkeypatch.setenv("DBCOMM_DATA_DIR", str(tmp_path / "userdata"))
    i18n.set_language("vi")
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        request.getfixturevalue("qapp")
    _collect_on_the_gui_thread()
    yield
    i18n.set_language("vi")
    # Free the test's windows now, on the GUI thread: left to the cyclic collector they could
    # be freed later from a worker thread of another test, and Qt objects must not be.
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "full_strength_passwords: hash passwords with dbcomm's own argon2 settings, not the quick ones")


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashing():
    """Passwords are hashed with argon2id at its lightest settings during the tests.

    dbcomm's own settings (64 MiB, three passes, four lanes) cost 0.1–0.4 s for each hash and each
    check, on purpose: in the suite that was 485 of them, a fifth of the run. What the tests check
    (argon2id hashes, wrong passwords refused, lock-out, resets) does not depend on the cost; the
    strength of the real settings is checked by the tests marked ``full_strength_passwords``, and
    the command-line and application processes that tests start use the real settings.
    Returns dbcomm's own hasher.
    """
    from argon2 import PasswordHasher

    from dbcomm.services import auth

    real = auth._hasher

    class QuickHasher(PasswordHasher):
        def check_needs_rehash(self, hash: str) -> bool:  # noqa: A002 - argon2's own name
            # what dbcomm would do: a hash made with its own settings is not redone at login
            return real.check_needs_rehash(hash) and super().check_needs_rehash(hash)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", QuickHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield real


@pytest.fixture(autouse=True)
def _full_strength_passwords(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("full_strength_passwords") is not None:
        from dbcomm.services import auth

        monkeypatch.setattr(auth, "_hasher", request.getfixturevalue("_quick_password_hashing"))


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


@pytest.fixture(scope="session")
def demo_database_file(tmp_path_factory, new_database_file):
    """The new database with ``demo_db``'s register (300 activities, seed 7), made once per run."""
    from dbcomm.services import demo
    from dbcomm.services.database import open_database

    path = tmp_path_factory.mktemp("demo-template") / "demo.sqlite3"
    shutil.copyfile(new_database_file, path)
    database = open_database(path, defer_daily=True)
    demo.generate(database, 300, seed=7)
    database.close()
    assert not Path(f"{path}-wal").exists(), "the demo register must be in the file itself"
    return path


_FROM_DEMO_FILE = pytest.StashKey[bool]()


@pytest.fixture
def copied_db_path(tmp_path: Path, new_database_file: Path) -> Path:
    """A copy of a new database: the same file open_database makes, without migrating again."""
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
    cluster = Cluster(bin_dir, ready=2)  # the next databases are copied while a test runs
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
    new = not db_path.exists() or (
        "copied_db_path" in request.fixturenames and db_path == request.getfixturevalue("copied_db_path"))
    if new:
        # The same file open_database makes, copied instead of migrated again (0.2 s each), or,
        # for demo_db, with the demo register already in it (0.6 s each).
        demo = "demo_db" in request.fixturenames
        shutil.copyfile(request.getfixturevalue("demo_database_file" if demo else "new_database_file"), db_path)
        request.node.stash[_FROM_DEMO_FILE] = demo
        database = open_database(db_path, defer_daily=True)  # new: nothing to check or back up yet
    else:  # a module's own database file
        database = open_database(db_path)
    yield database
    database.close()


@pytest.fixture
def plan(db):
    from dbcomm.services import plans

    return plans.get_tree(db, plans.default_plan(db).id)


@pytest.fixture
def demo_db(db, request: pytest.FixtureRequest):
    """``db`` with a demo register: 300 activities (seed 7)."""
    if not request.node.stash.get(_FROM_DEMO_FILE, False):
        from dbcomm.services import demo

        demo.generate(db, 300, seed=7)
    return db
