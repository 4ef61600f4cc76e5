"""Render the main screens offscreen to PNG files (for the README and for review).

Usage: python scripts/screenshots.py OUTPUT_DIR [--lang vi|en]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
    lang = sys.argv[sys.argv.index("--lang") + 1] if "--lang" in sys.argv else "vi"
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtWidgets import QApplication

    from dbcomm import i18n
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.services import activities, demo, settings
    from dbcomm.services.database import open_database

    i18n.set_language(lang)
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    db = open_database(tmp / "demo.sqlite3")
    settings.save_office(db, OfficeIdentity(
        name="UBND xã Mường Phăng", parent_agency="UBND tỉnh Điện Biên", kind="commune",
        place_name="Mường Phăng", symbol="UBND", signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
        signer_name="Lò Văn Thắng"))
    settings.mark_setup_done(db)
    demo.generate(db, 600)
    from dbcomm.domain.roles import PeriodState
    from dbcomm.services import periods, plans

    plan_id = plans.default_plan(db).id
    for key, states in (("2026-Q1", [PeriodState.SUBMITTED, PeriodState.APPROVED, PeriodState.LOCKED]),
                        ("2026-Q2", [PeriodState.SUBMITTED, PeriodState.APPROVED]),
                        ("2026-Q3", [PeriodState.SUBMITTED])):
        for state in states:
            periods.transition(db, plan_id, key, state)

    from dbcomm.ui.activity_dialog import ActivityDialog
    from dbcomm.ui.main_window import MainWindow
    from dbcomm.ui.setup_wizard import SetupWizard

    w = MainWindow(db)
    w.resize(1400, 820)
    w.show()
    app.processEvents()
    w.grab().save(str(out / f"register-{lang}.png"))
    w.register.search_edit.setText("hoc tap suot doi")
    w.register.apply_filter()
    app.processEvents()
    w.grab().save(str(out / f"register-search-{lang}.png"))
    rows = activities.list_rows(db, w.register.current_filter(), limit=1)
    d = ActivityDialog(db, w.register.tree, record=activities.get(db, rows[0].id), parent=w)
    d.show()
    app.processEvents()
    d.grab().save(str(out / f"activity-dialog-{lang}.png"))
    d.tabs.setCurrentIndex(2)
    app.processEvents()
    d.grab().save(str(out / f"activity-dialog-people-{lang}.png"))
    d.close()
    w.tabs.setCurrentIndex(1)
    app.processEvents()
    w.grab().save(str(out / f"plan-{lang}.png"))
    w.tabs.setCurrentIndex(2)
    app.processEvents()
    w.grab().save(str(out / f"directory-{lang}.png"))
    w.tabs.setCurrentWidget(w.periods_view)
    app.processEvents()
    w.grab().save(str(out / f"periods-{lang}.png"))
    if getattr(w, "audit_view", None) is not None:
        w.tabs.setCurrentWidget(w.audit_view)
        app.processEvents()
        w.grab().save(str(out / f"audit-{lang}.png"))
    wiz = SetupWizard(db)
    wiz.show()
    wiz.next()
    app.processEvents()
    wiz.grab().save(str(out / f"setup-{lang}.png"))
    wiz.close()
    w.close()
    db.close()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
