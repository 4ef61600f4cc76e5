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


def attachments_dir_for(db_path: Path) -> Path:
    """Evidence files live beside the database they belong to."""
    return db_path.parent / f"{db_path.stem}-attachments"
