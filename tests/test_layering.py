"""The layers point one way: ui → services → store → domain; Qt widgets only in the ui."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

import dbcomm

PACKAGE = Path(dbcomm.__file__).resolve().parent


def imported_modules(source: str, module: str) -> set[str]:
    """Every module a file imports (``from x import y`` counts as x and x.y), relative ones resolved."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: -node.level]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@functools.cache
def modules() -> dict[str, set[str]]:
    result = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        result[name] = imported_modules(path.read_text(encoding="utf-8"), name)
    return result


def uses(imports: set[str], prefix: str) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in imports)


def offenders(layer: str, forbidden: str) -> list[str]:
    return sorted(
        name
        for name, imports in modules().items()
        if (name == layer or name.startswith(layer + ".")) and uses(imports, forbidden)
    )


def is_ui(name: str) -> bool:
    return name in ("dbcomm.app",) or name == "dbcomm.ui" or name.startswith("dbcomm.ui.")


def test_the_scanner_sees_the_whole_package():
    names = set(modules())
    assert {
        "dbcomm.domain.text",
        "dbcomm.store.engine",
        "dbcomm.services.activities",
        "dbcomm.cli",
    } <= names


def test_the_scanner_catches_every_way_of_importing_qt_widgets():
    for source in (
        "from PySide6.QtWidgets import QMessageBox",
        "from PySide6 import QtWidgets",
        "import PySide6.QtWidgets",
        "def f():\n    from PySide6.QtWidgets import QApplication",
    ):
        assert uses(imported_modules(source, "dbcomm.services.x"), "PySide6.QtWidgets"), source
    assert imported_modules("from ..store import engine", "dbcomm.services.x") >= {
        "dbcomm.store",
        "dbcomm.store.engine",
    }


def test_only_the_ui_imports_qt_widgets():
    outside = [
        n for n, imports in modules().items() if not is_ui(n) and uses(imports, "PySide6.QtWidgets")
    ]
    assert outside == []


@pytest.mark.parametrize("layer", ["dbcomm.domain", "dbcomm.store", "dbcomm.services"])
def test_non_ui_layers_import_no_qt_at_all(layer):
    assert offenders(layer, "PySide6") == []
    assert offenders(layer, "dbcomm.ui") == []
    assert offenders(layer, "dbcomm.app") == []


@pytest.mark.parametrize(
    "forbidden", ["sqlalchemy", "alembic", "dbcomm.store", "dbcomm.services", "sqlite3"]
)
def test_domain_is_pure(forbidden):
    assert offenders("dbcomm.domain", forbidden) == []


def test_store_does_not_reach_up_into_services():
    assert offenders("dbcomm.store", "dbcomm.services") == []


def test_the_command_line_and_services_run_without_loading_qt():
    code = (
        "import sys\n"
        "import dbcomm.cli, dbcomm.services.activities, dbcomm.services.plans, dbcomm.services.orgs\n"
        "import dbcomm.services.settings, dbcomm.services.database, dbcomm.services.demo\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('PySide6') or m.startswith('dbcomm.ui'))\n"
        "print(loaded)\n"
        "raise SystemExit(1 if loaded else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
