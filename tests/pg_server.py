"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder, on a
loopback port, started once per test run when the server binaries are installed."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
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
    """One running server. ``new_database()`` gives a fresh, migrated dbcomm database's URL."""

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        self.durable = durable  # a test that stops the server needs what was committed to stay
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="dbcomm-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.template: str | None = None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_root:  # the server refuses to run as root: use the postgres system account
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "dbcomm", "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        options = self._options()
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "60",
                  "-l", str(self.folder / "server.log"), "start")

    def _options(self) -> str:
        fast = "" if self.durable else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=60{fast}"

    def stop(self) -> None:
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
        """A migrated database (copied from a template migrated once per run)."""
        from dbcomm.services.database import open_database

        if self.template is None:
            self.template = self.empty_database()
            open_database(self.url(self.template)).close()
        name = "t_" + uuid.uuid4().hex[:12]
        for _attempt in range(50):  # the template must have no connection left while it is copied
            try:
                self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY')
                break
            except Exception as exc:  # noqa: BLE001 - "being accessed by other users": wait a moment
                if "being accessed" not in str(exc):
                    raise
                time.sleep(0.1)
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
