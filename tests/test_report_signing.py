"""Signing a report in two steps: the leader signs, the registry numbers and seals."""
# ruff: noqa: F811 - the register fixtures are shared with test_reports_service

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date

import pytest

import pki
import signature_images as images
from dbcomm.domain.report import Narrative
from dbcomm.domain.roles import PeriodState
from dbcomm.errors import PeriodLockedError, UserError, ValidationFailed
from dbcomm.services import (
    activities,
    identities,
    pdf_fields,
    periods,
    report_signing,
    reports,
    signing,
)
from dbcomm.services.report_pdf import layout_info
from dbcomm.store.models import Report
from test_reports_service import log, office, register, settings_for  # noqa: F401 - fixtures


@pytest.fixture
def db_path(copied_db_path):
    return copied_db_path


@pytest.fixture(autouse=True)
def _english():
    """The messages are checked in English here (the Vietnamese ones by the translation tests)."""
    from dbcomm import i18n

    i18n.set_language("en")


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory) -> pki.TestPKI:
    return pki.build(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def leader(test_pki):
    return signing.load_pkcs12(test_pki.leader, test_pki.password)


@pytest.fixture(scope="module")
def office_key(test_pki):
    return signing.load_pkcs12(test_pki.office, test_pki.password)


SIGNATURE = images.blue_signature()
SEAL = images.red_seal()


def built(db, plan, **changes) -> int:
    cfg = settings_for(db, plan, **changes)
    info = reports.save_draft(db, None, cfg, Narrative(direction="Ủy ban nhân dân xã đã chỉ đạo."))
    reports.build(db, info.id)
    return info.id


def widget_rects(pdf: bytes) -> dict[str, tuple[float, float, float, float]]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out = {}
    for ref in reader.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/FT") == "/Sig":
            x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
            out[str(field["/T"])] = (x1, y1, x2 - x1, y2 - y1)
    return out


def pdf_text(pdf: bytes, tmp_path, page: int = 1) -> str:
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-raw", "-f", str(page), "-l", str(page), str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def test_the_leader_signs_then_the_registry_numbers_dates_and_seals(db, plan, register, leader, office_key,
                                                                   test_pki, tmp_path):
    report_id = built(db, plan, number="", date_by_registry=True)
    blank = reports.render_stored(db, report_id).pdf
    assert pdf_fields.field_values(blank) == {"so": "", "ngay": "", "thang": "", "nam": ""}

    signed = report_signing.sign_report(db, report_id, leader, SIGNATURE)
    assert signed.info.state == "signed" and signed.level == "B-B"
    assert signed.info.signed_by == "Lò Văn Thắng"
    first = signing.verify_pdf(signed.pdf, [test_pki.root_pem])
    assert first.verdict == "valid" and [s.signer_name for s in first.signatures] == ["Lò Văn Thắng"]

    sealed = report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="7",
                                        doc_date=date(2026, 10, 6))
    info = sealed.info
    assert (info.state, info.number, info.doc_date) == ("issued", "07", date(2026, 10, 6))
    assert sealed.pdf.startswith(signed.pdf)  # an incremental update: the leader's bytes stay
    result = signing.verify_pdf(sealed.pdf, [test_pki.root_pem])
    assert result.verdict == "valid"
    assert [(s.signer_name, s.verdict) for s in result.signatures] == [
        ("Lò Văn Thắng", "valid"), ("UBND xã Mường Phăng", "valid")]
    assert result.signatures[0].modification == "form_fill"  # the number and date, nothing else
    assert pdf_fields.field_values(sealed.pdf) == {"so": "07", "ngay": "06", "thang": "10", "nam": "2026"}
    text = pdf_text(sealed.pdf, tmp_path)
    assert "Số: /BC-UBND" in text and "07" in text.split()

    assert report_signing.signed_file(db, report_id) == sealed.pdf
    with db.read() as s:
        row = s.get(Report, report_id)
        assert row.signed_sha256 == __import__("hashlib").sha256(sealed.pdf).hexdigest()
        assert row.sealed_by == "UBND xã Mường Phăng"


def test_the_images_sit_where_the_decree_puts_them(db, plan, register, leader, office_key):
    report_id = built(db, plan, number="3")
    space = layout_info(reports.stored_content(db, report_id))
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    pdf = report_signing.seal_report(db, report_id, office_key, SEAL, 36).pdf
    rects = widget_rects(pdf)
    sx, sy, sw, sh = rects[report_signing.LEADER_FIELD]
    x, y, w, h = space["signature_rect"]
    # the signature: inside the space between title and name, centred in it
    assert x <= sx and sx + sw <= x + w + 1 and y <= sy and sy + sh <= y + h + 1
    assert abs((sx + sw / 2) - (x + w / 2)) <= 1 and abs((sy + sh / 2) - (y + h / 2)) <= 1
    assert sw / sh == pytest.approx(2.0, rel=0.05)  # the image's proportions are kept
    # the seal: 36 mm across, over the left third of the signature, at its height
    cx, cy, cw, ch = rects[report_signing.SEAL_FIELD]
    assert cw == pytest.approx(36 * 72 / 25.4, abs=1.5)
    assert cx + cw == pytest.approx(sx + sw / 3, abs=1.5)
    assert cy + ch / 2 == pytest.approx(sy + sh / 2, abs=1.5)
    # and it prints at that size: the seal's red ring (98% of the image) measures 36 mm × 0.98
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    doc.init_forms()
    scale = 2.0
    image = doc[space["signature_page"]].render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
    doc.close()
    reds = [x for x in range(image.width) for y in range(0, image.height, 2)
            if (lambda p: p[0] > 150 and p[1] < 90 and p[2] < 90)(image.getpixel((x, y)))]
    assert (max(reds) - min(reds) + 1) / scale == pytest.approx(36 * 72 / 25.4 * 0.98, abs=2)


def test_signing_locks_the_period_and_the_report(db, plan, register, leader):
    report_id = built(db, plan)
    assert periods.state_of(db, plan.plan.id, "2026-Q3") == PeriodState.DRAFT
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    assert periods.state_of(db, plan.plan.id, "2026-Q3") == PeriodState.LOCKED
    with pytest.raises(PeriodLockedError):
        activities.delete(db, [register["radio"]])
    with pytest.raises(UserError, match="signed"):
        reports.build(db, report_id)
    detail = reports.get_report(db, report_id)
    with pytest.raises(UserError, match="signed"):
        reports.save_draft(db, report_id, detail.settings, detail.narrative)
    with pytest.raises(UserError, match="signed"):
        reports.delete_report(db, report_id)
    with pytest.raises(UserError, match="signed already"):
        report_signing.sign_report(db, report_id, leader, SIGNATURE)


def test_a_correction_is_a_new_report_that_names_the_old_one(db, plan, register, leader, office_key):
    report_id = built(db, plan, number="")
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    report_signing.seal_report(db, report_id, office_key, SEAL, 34, number="12")
    fix = report_signing.make_correction(db, report_id)
    assert fix.state == "draft" and fix.supersedes_id == report_id and fix.number == ""
    narrative = reports.get_report(db, fix.id).narrative
    assert narrative.direction.startswith("Báo cáo này thay thế Báo cáo số 12/BC-UBND ngày 05/10/2026.")
    assert report_signing.corrections_of(db, report_id) == [fix.id]


def test_an_expired_certificate_is_refused_and_nothing_changes(db, plan, register, test_pki):
    report_id = built(db, plan)
    expired = signing.load_pkcs12(test_pki.expired, test_pki.password)
    with pytest.raises(UserError, match="expired"):
        report_signing.sign_report(db, report_id, expired, SIGNATURE)
    assert reports.get_report(db, report_id).info.state == "draft"
    assert periods.state_of(db, plan.plan.id, "2026-Q3") == PeriodState.DRAFT


def test_a_register_changed_since_the_build_must_be_rebuilt_first(db, plan, register, leader):
    report_id = built(db, plan)
    log(db, plan, date(2026, 8, 1), "F1", "Tin bài thêm", items=1)
    with pytest.raises(UserError, match="1 activities"):
        report_signing.sign_report(db, report_id, leader, SIGNATURE)
    assert reports.get_report(db, report_id).info.state == "draft"


def test_the_registry_comes_second_and_needs_a_number(db, plan, register, leader, office_key):
    report_id = built(db, plan, number="")
    with pytest.raises(UserError, match="leader signs"):
        report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="5")
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    with pytest.raises(ValidationFailed, match="number"):
        report_signing.seal_report(db, report_id, office_key, SEAL, 36)
    with pytest.raises(UserError, match="digits"):
        report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="5 (bis)")
    assert reports.get_report(db, report_id).info.state == "signed"


def test_a_printed_number_cannot_be_changed_at_sealing(db, plan, register, leader, office_key):
    report_id = built(db, plan, number="4")
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    with pytest.raises(ValidationFailed, match="04"):
        report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="9")
    info = report_signing.seal_report(db, report_id, office_key, SEAL, 36).info
    assert info.number == "04"


def test_a_date_of_issue_before_the_period_ends_is_refused(db, plan, register, leader, office_key):
    report_id = built(db, plan, number="", date_by_registry=True)
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    with pytest.raises(ValidationFailed, match="30/09/2026"):
        report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="1", doc_date=date(2026, 9, 1))


@pytest.mark.parametrize(("image", "message"), [
    (images.opaque_png(), "transparent"), (images.jpeg(), "PNG"), (b"", "PNG"),
])
def test_a_seal_that_is_not_a_transparent_png_is_refused(db, plan, register, leader, office_key, image, message):
    report_id = built(db, plan, number="2")
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    with pytest.raises(UserError, match=message):
        report_signing.seal_report(db, report_id, office_key, image, 36)
    assert reports.get_report(db, report_id).info.state == "signed"


def test_the_kept_signed_file_is_checked_against_its_hash(db, plan, register, leader):
    report_id = built(db, plan)
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    with db.write() as s:
        row = s.get(Report, report_id)
        row.signed_pdf = row.signed_pdf[:-10] + b"0123456789"
    with pytest.raises(UserError, match="damaged"):
        report_signing.signed_file(db, report_id)


def test_flipping_a_byte_anywhere_in_the_issued_file_is_never_valid(db, plan, register, leader, office_key,
                                                                    test_pki):
    report_id = built(db, plan, number="", date_by_registry=True)
    once = report_signing.sign_report(db, report_id, leader, SIGNATURE).pdf
    twice = report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="8").pdf
    # spread over the first revision, the form fill and the seal's revision
    positions = sorted({*range(400, len(once), len(once) // 10), *range(len(once) + 50, len(twice) - 10, 1200)})
    for position in positions:
        changed = bytearray(twice)
        changed[position] ^= 0x01
        verdict = signing.verify_pdf(bytes(changed), [test_pki.root_pem]).verdict
        assert verdict in ("modified", "invalid"), position


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="pdfsig (poppler-utils) is not installed")
def test_poppler_agrees_on_the_issued_report(db, plan, register, leader, office_key, tmp_path):
    report_id = built(db, plan, number="", date_by_registry=True)
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    pdf = report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="8").pdf
    path = tmp_path / "issued.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2
    assert "Lò Văn Thắng" in out and "UBND xã Mường Phăng" in out


def test_identities_keep_no_secret_and_refuse_expired_certificates(db, test_pki):
    person = identities.add_file_identity(db, "person", test_pki.leader, test_pki.password, image_png=SIGNATURE)
    assert (person.holder, person.source, person.has_image) == ("Lò Văn Thắng", "file", True)
    office_id = identities.add_file_identity(db, "office", test_pki.office, test_pki.password,
                                             image_png=SEAL, seal_diameter_mm=36)
    assert office_id.seal_diameter_mm == 36
    with pytest.raises(UserError, match="expired"):
        identities.add_file_identity(db, "person", test_pki.expired, test_pki.password)
    with pytest.raises(ValidationFailed, match="diameter"):
        identities.add_file_identity(db, "office", test_pki.office, test_pki.password, image_png=SEAL,
                                     seal_diameter_mm=5)
    with pytest.raises(UserError, match="password"):
        identities.open_identity(db, person.id, "sai mật khẩu")
    opened = identities.open_identity(db, person.id, test_pki.password)
    assert opened.holder_name == "Lò Văn Thắng"
    raw = db.path.read_bytes()
    assert test_pki.password.encode() not in raw
    identities.remove_identity(db, person.id)
    assert [i.role for i in identities.list_identities(db)] == ["office"]


def test_image_checks_warn_on_colour_and_refuse_what_cannot_be_used():
    assert identities.check_image(SIGNATURE, "signature").warnings == []
    assert identities.check_image(SEAL, "seal").warnings == []
    assert identities.check_image(SEAL, "signature").warnings  # red is not a signature's colour
    with pytest.raises(UserError, match="transparent"):
        identities.check_image(images.opaque_png(), "seal")
    with pytest.raises(UserError, match="PNG"):
        identities.check_image(b"not an image", "seal")


def test_the_timestamp_server_setting_is_checked(db):
    report_signing.set_timestamp_url(db, " http://tsa.example.vn/tsr ")
    assert report_signing.timestamp_url(db) == "http://tsa.example.vn/tsr"
    with pytest.raises(ValidationFailed):
        report_signing.set_timestamp_url(db, "tsa.example.vn")
    report_signing.set_timestamp_url(db, "")
    assert report_signing.timestamp_url(db) == ""


def test_an_annex_file_carries_the_office_signature_and_the_text_stamp(db, plan, register, leader, office_key,
                                                                      test_pki, tmp_path):
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen import canvas

    report_id = built(db, plan, number="")
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=landscape(A4))
    c.drawString(100, 300, "Annex")
    c.showPage()
    c.save()
    with pytest.raises(UserError, match="seal the report first"):
        report_signing.sign_annex(db, report_id, buf.getvalue(), office_key)
    report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="15")
    from datetime import UTC, datetime, timedelta

    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    outcome = report_signing.sign_annex(db, report_id, buf.getvalue(), office_key, now=when)
    result = signing.verify_pdf(outcome.data, [test_pki.root_pem])
    assert result.verdict == "valid" and result.signatures[0].signer_name == "UBND xã Mường Phăng"
    text = pdf_text(outcome.data, tmp_path)
    local = (when + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S+07:00")
    assert "Số: 15/BC-UBND" in text and local in text



def test_the_period_data_travels_inside_the_signed_file(db, plan, register, leader, office_key, test_pki):
    from dbcomm.services import exchange_data

    report_id = built(db, plan, number="")
    report_signing.sign_report(db, report_id, leader, SIGNATURE)
    pdf = report_signing.seal_report(db, report_id, office_key, SEAL, 36, number="9").pdf
    data = exchange_data.parse(signing.attachments_of(pdf)[exchange_data.DATA_FILE])
    q3 = {register[k] for k in ("radio", "loud", "school", "post")}
    with db.read() as s:
        from dbcomm.store.models import Activity

        expected = {a.uuid: a for a in s.query(Activity).filter(Activity.id.in_(q3))}
    assert {a.uuid for a in data.activities} == set(expected)
    loud = next(a for a in data.activities if a.title.startswith("Phát thanh loa"))
    assert (loud.form, loud.sessions, loud.reach_total, loud.languages) == ("F3", 12, 3400, ["thai", "hmong"])
    assert loud.reach["sex"] == {"female": 1800, "male": 1600} and loud.objectives == ["1.1", "4.3"]
    assert (data.period_key, data.date_from, data.date_to) == ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))
    assert data.office_name == "Ủy ban nhân dân xã Mường Phăng"
    assert any(e.entity == "activity" and e.action == "create" for e in data.audit)
    assert signing.verify_pdf(pdf, [test_pki.root_pem]).verdict == "valid"
