"""Where dbcomm keeps its files (per user, via platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

APP_NAME = "dbcomm"


def data_dir() -> Path:
    override = os.environ.get("DBCOMM_DATA_DIR")
    path = Path(override) if override else user_data_path(APP_NAME, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    return data_dir() / "dbcomm.sqlite3"


def server_setting_file() -> Path:
    """This workstation's choice of a shared database server (one line: its address)."""
    return data_dir() / "database-server.txt"


def default_database() -> Path | str:
    """The database this workstation opens: DBCOMM_DATABASE, else the server address saved in
    the settings, else the SQLite file in the user data folder."""
    chosen = os.environ.get("DBCOMM_DATABASE", "").strip()
    if not chosen:
        try:
            chosen = server_setting_file().read_text(encoding="utf-8").strip()
        except OSError:
            chosen = ""
    return chosen or default_db_path()


def attachments_dir_for(db_path: Path) -> Path:
    """Evidence files live beside the database they belong to."""
    return db_path.parent / f"{db_path.stem}-attachments"


def server_folder(host: str, port: int | None, database: str) -> Path:
    """This workstation's own folder for a shared server database (named after the server)."""
    import re

    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{host}-{port or 5432}-{database}")
    return data_dir() / "servers" / name / "server.db"
