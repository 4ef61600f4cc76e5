"""Signing a report from its preview, as the leader and then the registry would."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PySide6.QtWidgets import QWidget

import pki
import signature_images as images
from dbcomm.domain.report import Narrative
from dbcomm.domain.roles import PeriodState
from dbcomm.services import (
    demo,
    identities,
    pdf_fields,
    periods,
    plans,
    report_signing,
    reports,
    signing,
)
from dbcomm.ui.pdf_preview import PdfPreviewDialog
from dbcomm.ui.reports_view import ReportsView
from dbcomm.ui.sign_dialog import AnnexSignDialog, SignDialog
from ui_helpers import FakeInteraction, click, install_fake, type_text


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory) -> pki.TestPKI:
    return pki.build(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def office_db(demo_db, test_pki):
    demo.set_demo_office(demo_db)
    identities.add_file_identity(demo_db, "person", test_pki.leader, test_pki.password, label="Chủ tịch",
                                 image_png=images.blue_signature())
    identities.add_file_identity(demo_db, "office", test_pki.office, test_pki.password, label="Văn thư",
                                 image_png=images.red_seal(), seal_diameter_mm=36)
    return demo_db


@pytest.fixture
def built_id(office_db) -> int:
    plan_id = plans.default_plan(office_db).id
    cfg = reports.default_settings(office_db, plan_id, "2026-Q3")
    cfg.number, cfg.date_by_registry = "", True
    info = reports.save_draft(office_db, None, cfg, Narrative(direction="Đã triển khai kế hoạch."))
    return reports.build(office_db, info.id).info.id


def preview(qtbot, db, report_id: int) -> PdfPreviewDialog:  # type: ignore[no-untyped-def]
    info = reports.get_report(db, report_id).info
    pdf = (report_signing.signed_file(db, report_id) if info.is_signed
           else reports.render_stored(db, report_id).pdf)
    dialog = PdfPreviewDialog(db, pdf, info=info, identical=None)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def sign_through(qtbot, dialog: PdfPreviewDialog, button: QWidget, secret: str,  # type: ignore[no-untyped-def]
                 number: str = "") -> SignDialog:
    click(qtbot, button)
    signer = dialog.sign_dialog
    assert isinstance(signer, SignDialog)
    if number:
        type_text(signer.number_edit, number)
    type_text(signer.secret_edit, secret)
    click(qtbot, signer.ok_button)
    assert signer.secret_edit.text() == ""  # the password does not stay in the window
    return signer


def test_the_leader_signs_and_the_registry_seals_from_the_preview(qtbot, office_db, built_id, fake, test_pki):  # type: ignore[no-untyped-def]
    dialog = preview(qtbot, office_db, built_id)
    assert dialog.sign_button.isVisible() and not dialog.seal_button.isVisible()

    click(qtbot, dialog.sign_button)
    assert "Lò Văn Thắng" in dialog.sign_dialog.cert_label.text()
    dialog.sign_dialog.reject()
    sign_through(qtbot, dialog, dialog.sign_button, test_pki.password)
    qtbot.waitUntil(lambda: reports.get_report(office_db, built_id).info.state == "signed", timeout=15_000)
    qtbot.waitUntil(lambda: dialog.seal_button.isVisible(), timeout=5_000)
    assert not dialog.sign_button.isVisible()
    assert "Lò Văn Thắng" in dialog.signature_label.text()
    assert periods.state_of(office_db, plans.default_plan(office_db).id, "2026-Q3") == PeriodState.LOCKED
    assert "Lò Văn Thắng" in fake.of_kind("info")[-1].text  # says who signed and what comes next

    sign_through(qtbot, dialog, dialog.seal_button, test_pki.password, number="15")
    qtbot.waitUntil(lambda: reports.get_report(office_db, built_id).info.state == "issued", timeout=15_000)
    qtbot.waitUntil(lambda: dialog.annex_button.isVisible(), timeout=5_000)
    info = reports.get_report(office_db, built_id).info
    assert info.number == "15" and info.doc_date == date.today()
    assert "15" in dialog.signature_label.text()
    result = signing.verify_pdf(dialog.pdf, [test_pki.root_pem])
    assert result.verdict == "valid" and len(result.signatures) == 2
    assert pdf_fields.field_values(dialog.pdf)["so"] == "15"


def test_a_wrong_password_is_said_in_the_dialog_and_nothing_is_signed(qtbot, office_db, built_id, fake):  # type: ignore[no-untyped-def]
    dialog = preview(qtbot, office_db, built_id)
    signer = sign_through(qtbot, dialog, dialog.sign_button, "sai-mat-khau")
    qtbot.waitUntil(lambda: signer.error_label.isVisible(), timeout=15_000)
    assert "signer-100.p12" in signer.error_label.text()
    assert signer.ok_button.isEnabled()
    assert reports.get_report(office_db, built_id).info.state == "draft"
    assert periods.state_of(office_db, plans.default_plan(office_db).id, "2026-Q3") == PeriodState.DRAFT


def test_sealing_without_a_number_is_refused_before_signing_and_keeps_the_password(  # type: ignore[no-untyped-def]
        qtbot, office_db, built_id, fake, test_pki):
    key = signing.load_pkcs12(test_pki.leader, test_pki.password)
    report_signing.sign_report(office_db, built_id, key, images.blue_signature())
    dialog = preview(qtbot, office_db, built_id)
    click(qtbot, dialog.seal_button)
    signer = dialog.sign_dialog
    type_text(signer.secret_edit, test_pki.password)
    click(qtbot, signer.ok_button)
    assert signer.error_label.isVisible() and signer.focusWidget() is signer.number_edit
    assert signer.secret_edit.text() == test_pki.password  # nothing to type again
    assert signer.task is None  # nothing was started
    assert reports.get_report(office_db, built_id).info.state == "signed"


def test_without_a_certificate_set_up_the_dialog_says_so(qtbot, office_db, built_id, fake):  # type: ignore[no-untyped-def]
    for ident in identities.list_identities(office_db, "person"):
        identities.remove_identity(office_db, ident.id)
    dialog = preview(qtbot, office_db, built_id)
    click(qtbot, dialog.sign_button)
    signer = dialog.sign_dialog
    assert not signer.ok_button.isEnabled()
    assert signer.cert_label.text()


def test_an_annex_file_is_signed_and_saved_under_a_new_name(qtbot, office_db, built_id, fake, test_pki, tmp_path):  # type: ignore[no-untyped-def]
    from reportlab.pdfgen import canvas

    leader = signing.load_pkcs12(test_pki.leader, test_pki.password)
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    report_signing.sign_report(office_db, built_id, leader, images.blue_signature())
    report_signing.seal_report(office_db, built_id, office, images.red_seal(), 36, number="3")
    source = tmp_path / "phu-luc.pdf"
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 700, "Annex")
    c.showPage()
    c.save()
    source.write_bytes(buf.getvalue())
    fake.open_file_result = source
    fake.save_file_result = tmp_path / "phu-luc-ky-so.pdf"
    dialog = preview(qtbot, office_db, built_id)
    click(qtbot, dialog.annex_button)
    annex = next(w for w in dialog.findChildren(AnnexSignDialog))
    type_text(annex.secret_edit, test_pki.password)
    click(qtbot, annex.ok_button)
    qtbot.waitUntil(lambda: annex.written is not None, timeout=15_000)
    signed = fake.save_file_result.read_bytes()
    assert signing.verify_pdf(signed, [test_pki.root_pem]).verdict == "valid"
    assert source.read_bytes() == buf.getvalue()  # the original is untouched


def test_a_signed_report_opens_as_its_signed_file_and_offers_a_correction(qtbot, office_db, built_id, fake, test_pki):  # type: ignore[no-untyped-def]
    leader = signing.load_pkcs12(test_pki.leader, test_pki.password)
    report_signing.sign_report(office_db, built_id, leader, images.blue_signature())
    view = ReportsView(office_db, plans.default_plan(office_db).id)
    qtbot.addWidget(view)
    view.show()
    assert view.select_id(built_id)
    view.open_selected()
    qtbot.waitUntil(lambda: getattr(view, "preview", None) is not None, timeout=15_000)
    shown = view.preview
    assert shown.pdf == report_signing.signed_file(office_db, built_id)
    fake.confirm_answers = [True]
    click(qtbot, shown.correct_button)
    newest = reports.list_reports(office_db)
    fix = next(r for r in newest if r.supersedes_id == built_id)
    assert fix.state == "draft"
    view.reload(select_id=fix.id)
    from dbcomm.i18n import _

    states = [view.table.item(r, view.table.columnCount() - 1).text() for r in range(view.table.rowCount())]
    assert _("Correction, not built") in states  # told apart from the report it corrects


def test_the_preview_draws_the_signature_and_the_seal(qtbot, office_db, built_id, fake, test_pki):  # type: ignore[no-untyped-def]
    import json

    from dbcomm.store.models import Report

    leader = signing.load_pkcs12(test_pki.leader, test_pki.password)
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    report_signing.sign_report(office_db, built_id, leader, images.blue_signature())
    report_signing.seal_report(office_db, built_id, office, images.red_seal(), 36, number="3")
    with office_db.read() as s:
        layout = json.loads(s.get(Report, built_id).signature_layout)
    dialog = preview(qtbot, office_db, built_id)
    page = dialog.view.pages.render(layout["page"], 1.0)  # one pixel a point
    x, y, w, h = layout["signature"]
    top = page.height() - (y + h)
    blue = red = 0
    for px in range(int(x - w), int(x + w), 2):
        for py in range(int(top), int(top + h), 2):
            c = page.pixelColor(px, py)
            blue += c.blue() > 150 and c.red() < 100
            red += c.red() > 150 and c.green() < 100 and c.blue() < 100
    assert blue > 20 and red > 20  # both images are drawn, not only their signatures' data
