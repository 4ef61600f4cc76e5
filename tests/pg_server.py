"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder, on a
loopback port, started once per test run when the server binaries are installed."""

from __future__ import annotations

import glob
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path


def server_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are (Debian keeps them out of PATH)."""
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(shutil.which("initdb") or "").parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One running server. ``new_database()`` gives a fresh, migrated dbcomm database's URL.

    With ``ready`` > 0, a background thread keeps that many copies of the migrated template made
    in advance, and ``drop`` leaves the dropping to it: the server copies and drops databases on
    the other core while the tests run, instead of each test waiting 0.2–0.6 s for it.
    """

    def __init__(self, bin_dir: Path, *, durable: bool = False, ready: int = 0) -> None:
        self.durable = durable  # a test that stops the server needs what was committed to stay
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="dbcomm-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.template: str | None = None
        self.ready = ready
        self._copies: queue.Queue[str | BaseException] = queue.Queue()  # made in advance (or why not)
        self._to_drop: queue.Queue[str] = queue.Queue()
        self._wanted = threading.Semaphore(ready)  # copies still to make in advance
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._gave_one = False

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_root:  # the server refuses to run as root: use the postgres system account
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        # --no-sync: initdb does not wait for its 40 MB to reach the disk (2 s), which matters only if
        # the computer itself crashed; the server's own settings (``durable``) are unchanged by it
        self._run(str(self.bin / "initdb"), "--no-sync", "-D", str(self.data), "-U", "dbcomm", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8")
        options = self._options()
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "60",
                  "-l", str(self.folder / "server.log"), "start")

    def _options(self) -> str:
        fast = "" if self.durable else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=60{fast}"

    def stop(self) -> None:
        self._stop_worker()
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        options = self._options()
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "60",
                  "-l", str(self.folder / "server.log"), "start")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://dbcomm@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="dbcomm", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def empty_database(self) -> str:
        """A new database whose own collation is Vietnamese (ICU), as an office's server might be set
        up: dbcomm's order must not depend on it."""
        name = "t_" + uuid.uuid4().hex[:12]
        try:
            self.admin(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'vi-VN' "
                       "LOCALE 'C.UTF-8'")
        except Exception:  # noqa: BLE001 - a server built without ICU: its default collation
            self.admin(f'CREATE DATABASE "{name}"')
        return name

    def new_database(self) -> str:
        """A migrated database (copied from a template migrated once per run, in advance with ``ready``)."""
        from dbcomm.services.database import open_database

        if self.template is None and self.ready == 0 and not self._gave_one:
            # the first database of a cluster that may need no other (a test's own server): migrated
            # in place, rather than migrating a template and then copying it
            self._gave_one = True
            name = self.empty_database()
            open_database(self.url(name)).close()
            return self.url(name)
        if self.template is None:
            self.template = self.empty_database()
            open_database(self.url(self.template)).close()
        if self.ready > 0:
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="pg-database-copies", daemon=True)
                self._worker.start()
            made: str | BaseException | None = None
            while made is None and self._worker.is_alive():
                try:
                    made = self._copies.get(timeout=1)
                except queue.Empty:
                    continue
                self._wanted.release()  # the next one
            if isinstance(made, str):
                return self.url(made)
            # the copy made in advance failed (say the server was stopped meanwhile): make it here,
            # so that a real problem is raised in the test that needs the database
        return self.url(self._copy_template())

    def _copy_template(self) -> str:
        assert self.template is not None
        name = "t_" + uuid.uuid4().hex[:12]
        for _attempt in range(50):  # the template must have no connection left while it is copied
            try:
                self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY')
                break
            except Exception as exc:  # noqa: BLE001 - "being accessed by other users": wait a moment
                if "being accessed" not in str(exc):
                    raise
                time.sleep(0.1)
        return name

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        if self._worker is not None and self._worker.is_alive():
            self._to_drop.put(name)
            return
        self._drop(name)

    def _drop(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _work(self) -> None:
        """The background thread: drops what the tests are done with, then makes the next copies."""
        while not self._stopping.is_set():
            try:
                self._drop(self._to_drop.get(timeout=0.05))
                continue
            except queue.Empty:
                pass
            except Exception:  # noqa: BLE001,S112 - a database left behind goes with the cluster's folder
                continue
            if not self._wanted.acquire(timeout=0.05):
                continue
            try:
                self._copies.put(self._copy_template())
            except BaseException as exc:  # noqa: BLE001 - given to the test that asks for the copy
                self._copies.put(exc)

    def _stop_worker(self) -> None:
        """Stop the background thread (the copies it made stay on the server, ready for later)."""
        if self._worker is None:
            return
        self._stopping.set()
        self._worker.join()
        while True:  # what was still to drop
            try:
                name = self._to_drop.get_nowait()
            except queue.Empty:
                break
            try:
                self._drop(name)
            except Exception:  # noqa: BLE001 - the server is already gone: so is the database
                break
        self._worker = None
        self._stopping.clear()
