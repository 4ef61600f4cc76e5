"""The window opens without loading what only some actions need: the PDF, spreadsheet, certificate
and server libraries are loaded when first used (each costs a tenth to a quarter of a second of
the start, which is measured in ``make bench``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("openpyxl", "reportlab", "cryptography", "pyhanko", "pypdfium2", "psycopg", "asn1crypto",
         "dbcomm.services.sheets")

SCRIPT = f"""
import json, sys, tempfile
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from dbcomm.services.database import open_database
from dbcomm.services import demo
from dbcomm.cli import build_parser
from dbcomm.ui.main_window import MainWindow
build_parser()  # every start reads its command line first
db = open_database(Path(tempfile.mkdtemp()) / "office.sqlite3")
demo.generate(db, 30)
window = MainWindow(db)
window.show()
app.processEvents()
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def test_the_window_opens_without_the_libraries_only_some_actions_need():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
