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
    shoot_conflict(app, db, rows[0].id, out, lang)
    w.tabs.setCurrentWidget(w.plan_view)
    app.processEvents()
    w.grab().save(str(out / f"plan-{lang}.png"))
    w.tabs.setCurrentWidget(w.orgs_view)
    app.processEvents()
    w.grab().save(str(out / f"directory-{lang}.png"))
    w.tabs.setCurrentWidget(w.periods_view)
    app.processEvents()
    w.grab().save(str(out / f"periods-{lang}.png"))
    if getattr(w, "audit_view", None) is not None:
        w.tabs.setCurrentWidget(w.audit_view)
        app.processEvents()
        w.grab().save(str(out / f"audit-{lang}.png"))
    shoot_reports(app, w, db, plan_id, out, lang)
    shoot_signing(app, w, db, plan_id, out, lang)
    shoot_exchange(app, out, lang)
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


def shoot_conflict(app, db, activity_id: int, out: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Two people saved the same activity: what the second one sees."""
    from dataclasses import replace

    from dbcomm.errors import ConflictError
    from dbcomm.services import activities
    from dbcomm.ui.conflict_dialog import ConflictDialog

    opened = activities.get(db, activity_id)
    colleague = replace(opened, title=opened.title + " (bản của đồng nghiệp)", minutes=opened.minutes + 15)
    activities.update(db, activity_id, colleague, expected_version=opened.version)
    mine = replace(opened, title=opened.title + " (bản của tôi)", reach_total=opened.reach_total + 200)
    try:
        activities.update(db, activity_id, mine, expected_version=opened.version)
    except ConflictError as exc:
        assert exc.details is not None
        dialog = ConflictDialog(str(exc), exc.details)
        dialog.show()
        app.processEvents()
        dialog.grab().save(str(out / f"conflict-dialog-{lang}.png"))
        dialog.close()


def shoot_reports(app, w, db, plan_id: int, out: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    """The reports tab, the report editor, the preview and the coverage tab."""
    import time

    from dbcomm.domain.report import Narrative
    from dbcomm.services import reports
    from dbcomm.ui.pdf_preview import PdfPreviewDialog
    from dbcomm.ui.report_editor import ReportEditor

    def settle(seconds: float = 0.6) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    ids = []
    for key, number in (("2026-Q1", "05"), ("2026-H1", "12"), ("2026-Q3", ""), ("2026-9M", "")):
        cfg = reports.default_settings(db, plan_id, key)
        cfg.number = number
        cfg.distribution = ["Phòng Văn hóa - Xã hội huyện;", "Đảng ủy, HĐND xã;"]
        cfg.archive_unit = "VHXH"
        draft = reports.draft_narrative(reports.compute(db, cfg, Narrative()))
        info = reports.save_draft(db, None, cfg, draft)
        if key != "2026-9M":
            reports.build(db, info.id)
        ids.append(info.id)
    w.tabs.setCurrentWidget(w.reports_view)
    w.reports_view.reload(select_id=ids[2])
    settle(0.2)
    w.grab().save(str(out / f"reports-{lang}.png"))

    editor = ReportEditor(db, plan_id, report_id=ids[2], parent=w)
    editor.resize(1180, 780)
    editor.show()
    editor.narrative_tabs.setCurrentIndex(2)
    settle(0.2)
    editor.grab().save(str(out / f"report-editor-{lang}.png"))
    editor.close()

    rendered = reports.render_stored(db, ids[2])
    preview = PdfPreviewDialog(db, rendered.pdf, info=reports.get_report(db, ids[2]).info,
                               identical=rendered.identical, changed=2, parent=w)
    preview.resize(1000, 1060)
    preview.show()
    settle()
    preview.grab().save(str(out / f"report-preview-{lang}.png"))
    preview.view.go_to_page(preview.page_count() - 1)
    settle()
    preview.grab().save(str(out / f"report-preview-annex-{lang}.png"))
    preview.close()

    w.tabs.setCurrentWidget(w.dashboard)
    w.dashboard.year_spin.setValue(2025)
    settle(0.2)
    w.grab().save(str(out / f"coverage-{lang}.png"))
    w.dashboard.by_place.setChecked(True)
    settle(0.2)
    w.grab().save(str(out / f"coverage-places-{lang}.png"))


def shoot_signing(app, w, db, plan_id: int, out: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    """The signing certificates, the two signing steps and the verify dialog.

    The certificates come from a throwaway test authority (the test suite's), not real ones.
    """
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import pki
    import signature_images
    from dbcomm.domain.report import Narrative
    from dbcomm.services import identities, report_signing, reports, signing, trust
    from dbcomm.ui.pdf_preview import PdfPreviewDialog
    from dbcomm.ui.sign_dialog import SignDialog
    from dbcomm.ui.signing_setup import SigningSetupDialog
    from dbcomm.ui.verify_dialog import VerifyDialog

    def settle(seconds: float = 0.6) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    authority = pki.build(Path(tempfile.mkdtemp()))
    identities.add_file_identity(db, "person", authority.leader, authority.password, label="Chủ tịch UBND xã",
                                 image_png=signature_images.blue_signature())
    identities.add_file_identity(db, "office", authority.office, authority.password, label="Văn thư UBND xã",
                                 image_png=signature_images.red_seal(), seal_diameter_mm=36)
    setup = SigningSetupDialog(db, w)
    setup.show()
    settle(0.3)
    setup.grab().save(str(out / f"signing-setup-{lang}.png"))
    setup.close()

    cfg = reports.default_settings(db, plan_id, "2025-Q4")
    cfg.number, cfg.date_by_registry = "", True
    info = reports.save_draft(db, None, cfg, reports.draft_narrative(reports.compute(db, cfg, Narrative())))
    reports.build(db, info.id)
    leader = signing.load_pkcs12(authority.leader, authority.password)
    signed = report_signing.sign_report(db, info.id, leader, signature_images.blue_signature())
    preview = PdfPreviewDialog(db, signed.pdf, info=signed.info, parent=w)
    preview.resize(1000, 900)
    preview.show()
    dialog = SignDialog(db, signed.info, "seal", preview)
    dialog.number_edit.setText("27")
    dialog.show()
    settle()
    dialog.grab().save(str(out / f"sign-dialog-{lang}.png"))
    dialog.close()
    office = signing.load_pkcs12(authority.office, authority.password)
    sealed = report_signing.seal_report(db, info.id, office, signature_images.red_seal(), 36, number="27")
    preview.info = sealed.info
    preview._signed(sealed)
    layout = __import__("json").loads(_layout(db, info.id))
    preview.view.go_to_page(layout["page"])
    settle()
    preview.grab().save(str(out / f"report-signed-preview-{lang}.png"))
    preview.close()

    trust.import_roots(db, authority.root_pem)
    target = Path(tempfile.mkdtemp()) / "BC-2025-Q4-ky-so.pdf"
    target.write_bytes(sealed.pdf)
    verify = VerifyDialog(db, w, target)
    verify.resize(1060, 640)
    verify.show()
    end = time.monotonic() + 15
    while verify.checking and time.monotonic() < end:
        settle(0.1)
    settle(0.3)
    verify.grab().save(str(out / f"verify-dialog-{lang}.png"))
    verify.close()


def shoot_exchange(app, out: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    """A province department with reports received from communes, and a stick to import."""
    import time
    from datetime import date

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import exchange_fixtures as fx
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.services import packages, receipts, received
    from dbcomm.ui.main_window import MainWindow
    from dbcomm.ui.usb_dialogs import ImportDialog

    def settle(seconds: float = 0.6) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    work = Path(tempfile.mkdtemp())
    signers = fx.make_signers(work / "pki")
    stick = work / "usb"
    stick.mkdir()
    communes = ["Mường Phăng", "Nà Tấu", "Thanh Nưa", "Mường Mươn", "Pú Nhi"]
    province = fx.receiving_office(work / "province.sqlite3", signers.pki.root_pem,
                                   directory=tuple(f"Ủy ban nhân dân xã {c}" for c in communes))
    sent = []
    for i, name in enumerate(communes[:3]):
        office = OfficeIdentity(name=f"Ủy ban nhân dân xã {name}", parent_agency="UBND tỉnh Điện Biên",
                                kind="commune", place_name=name, symbol="UBND",
                                signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH", signer_name="Lò Văn Thắng")
        db = fx.sending_office(work / f"office{i}.sqlite3", count=80, seed=40 + i, office=office)
        for quarter, number in (("2026-Q2", str(i + 3)), ("2026-Q3", str(i + 11))):
            report_id = fx.issue_report(db, signers, period_key=quarter, number=number,
                                        doc_date=date(2026, 7, 8) if quarter == "2026-Q2" else date(2026, 10, 6))
            sent.append(packages.send(db, report_id, stick))
        db.close()
    for path in sent[:-1]:  # the last one is still on the stick, new
        packages.apply_import(province, path)
    rows = received.list_received(province, 10)
    receipts.decide(province, rows[-1].id, "accepted")
    receipts.decide(province, rows[0].id, "returned", "Số người được truyền thông tại bản Co Mận chưa khớp.")
    (stick / "BanSao_bi_hong.dbcpkg").write_bytes(b"")  # a copy that did not finish
    w = MainWindow(province)
    w.resize(1400, 860)
    w.show()
    w.tabs.setCurrentWidget(w.received_view)
    settle(0.5)
    w.grab().save(str(out / f"received-{lang}.png"))
    dialog = ImportDialog(province, w)
    dialog.resize(1180, 560)
    dialog.show()
    dialog.scan_folder(stick)
    end = time.monotonic() + 30
    while dialog.scanning and time.monotonic() < end:
        settle(0.1)
    settle(0.3)
    dialog.grab().save(str(out / f"usb-import-{lang}.png"))
    dialog.close()
    w.close()


def _layout(db, report_id: int) -> str:  # type: ignore[no-untyped-def]
    from dbcomm.store.models import Report

    with db.read() as s:
        row = s.get(Report, report_id)
        return row.signature_layout if row else "{}"


if __name__ == "__main__":
    raise SystemExit(main())
