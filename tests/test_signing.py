"""Signing report PDFs (PAdES B-B) and verifying them, against a test PKI made at run time."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image

import pki
import tsa
from dbcomm import i18n
from dbcomm.cli import main
from dbcomm.errors import UserError
from dbcomm.services import signing
from dbcomm.services.report_pdf import render_pdf
from report_samples import sample_content


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory) -> pki.TestPKI:
    return pki.build(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def report_pdf() -> bytes:
    return bytes(render_pdf(sample_content(annex_rows=5)))


def blue_signature_png() -> bytes:
    image = Image.new("RGBA", (160, 80), (0, 0, 0, 0))
    for x in range(10, 150):
        for dy in range(3):
            image.putpixel((x, 40 + dy + (x // 20) % 3), (20, 40, 200, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def signed_twice(test_pki, report_pdf) -> tuple[bytes, bytes]:
    """(signed by the leader, then also by the office) — the registry signs after the signer."""
    leader = signing.load_pkcs12(test_pki.leader, test_pki.password)
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    once = signing.sign_pdf(report_pdf, leader, field_name="Leader", box=(0, 340, 90, 120, 60),
                            image_png=blue_signature_png(), reason="Ký ban hành", location="Mường Phăng")
    twice = signing.sign_pdf(once, office, field_name="Office", box=None, image_png=None,
                             reason="Đóng dấu", location="Mường Phăng")
    return once, twice


def flipped(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


# --- identities -----------------------------------------------------------------------

def test_a_p12_file_gives_the_holder_and_the_certificate_facts(test_pki):
    identity = signing.load_pkcs12(test_pki.leader, test_pki.password)
    assert identity.holder_name == "Lò Văn Thắng"
    assert identity.issuer == "Test Intermediate CA"
    assert identity.serial == 100
    assert identity.not_before < datetime.now(UTC) < identity.not_after
    assert {"digital_signature", "non_repudiation"} <= identity.key_usage
    signing.check_usable(identity)


def test_a_wrong_password_or_another_file_is_a_clear_error(test_pki, report_pdf, tmp_path):
    i18n.set_language("en")
    with pytest.raises(UserError, match="password is wrong"):
        signing.load_pkcs12(test_pki.leader, "sai mật khẩu")
    other = tmp_path / "report.pdf"
    other.write_bytes(report_pdf)
    with pytest.raises(UserError, match="PKCS#12"):
        signing.load_pkcs12(other, test_pki.password)
    with pytest.raises(UserError, match="Cannot read"):
        signing.load_pkcs12(tmp_path / "missing.p12", test_pki.password)


def test_an_expired_certificate_is_refused_with_its_dates(test_pki):
    i18n.set_language("en")
    identity = signing.load_pkcs12(test_pki.expired, test_pki.password)
    with pytest.raises(UserError) as caught:
        signing.check_usable(identity)
    message = str(caught.value)
    assert "expired" in message
    # the dates are said in Vietnam's time, whatever the hour of the day in UTC
    assert identity.not_after.astimezone(signing.VN_TIME).strftime("%d/%m/%Y") in message
    assert identity.not_before.astimezone(signing.VN_TIME).strftime("%d/%m/%Y") in message


def test_a_certificate_not_valid_yet_is_refused(test_pki):
    identity = signing.load_pkcs12(test_pki.leader, test_pki.password)
    with pytest.raises(UserError, match=identity.not_before.astimezone(signing.VN_TIME).strftime("%d/%m/%Y")):
        signing.check_usable(identity, identity.not_before - timedelta(days=1))


def test_a_certificate_without_signing_key_usage_is_refused(test_pki):
    identity = signing.load_pkcs12(test_pki.no_signing, test_pki.password)
    with pytest.raises(UserError):
        signing.check_usable(identity)


# --- signing and verifying -------------------------------------------------------------

def test_two_signatures_are_both_valid_and_trusted_with_the_root(signed_twice, test_pki):
    _once, twice = signed_twice
    result = signing.verify_pdf(twice, [test_pki.root_pem])
    assert result.verdict == "valid"
    assert [s.field_name for s in result.signatures] == ["Leader", "Office"]
    assert [s.signer_name for s in result.signatures] == ["Lò Văn Thắng", "UBND xã Mường Phăng"]
    for sig in result.signatures:
        assert (sig.intact, sig.valid, sig.trusted, sig.revoked) == (True, True, True, False)
        assert sig.verdict == "valid"
        assert "Test Intermediate CA" in sig.issuer
        assert sig.not_before is not None and sig.not_after is not None
        assert sig.signing_time is not None
    leader, office = result.signatures
    # The office's signature is a later revision: pyHanko classes it as form filling.
    assert leader.modification == "form_fill" and not leader.covers_whole_file
    assert office.modification == "none" and office.covers_whole_file
    assert result.message()


def test_the_visible_signature_shows_the_blue_image_in_its_box(signed_twice, report_pdf):
    import pypdfium2

    once = signed_twice[0]
    assert b"/Subtype /Image" in once[len(report_pdf):]
    document = pypdfium2.PdfDocument(once)
    document.init_forms()  # the signature's appearance is a form widget
    page = document[0]
    height = page.get_height()
    image = page.render(scale=1, may_draw_forms=True).to_pil().convert("RGB")
    x, y, w, h = 340, 90, 120, 60
    inside = image.crop((x, int(height - y - h), x + w, int(height - y)))
    blue = [p for p in inside.get_flattened_data() if p[2] > 150 and p[0] < 100]
    assert len(blue) > 100
    outside = image.crop((x, int(height - y - 2 * h), x + w, int(height - y - h)))
    assert not [p for p in outside.get_flattened_data() if p[2] > 150 and p[0] < 100]


def test_without_the_root_the_signatures_are_untrusted(signed_twice):
    result = signing.verify_pdf(signed_twice[1])
    assert result.verdict == "untrusted"
    assert all(s.intact and s.valid and not s.trusted for s in result.signatures)


def test_the_root_may_be_given_as_der(signed_twice, test_pki):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = x509.load_pem_x509_certificate(test_pki.root_pem).public_bytes(Encoding.DER)
    assert signing.verify_pdf(signed_twice[1], [der]).verdict == "valid"


def test_signing_keeps_the_input_and_appends_to_it(signed_twice, report_pdf):
    once, twice = signed_twice
    assert once.startswith(report_pdf)  # incremental update: the original bytes are kept
    assert twice.startswith(once)


def test_an_invisible_signature_with_a_given_time(test_pki, report_pdf):
    identity = signing.load_pkcs12(test_pki.office, test_pki.password)
    when = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    original = bytes(report_pdf)
    signed = signing.sign_pdf(report_pdf, identity, field_name="Sig", signing_time=when)
    assert report_pdf == original
    result = signing.verify_pdf(signed, [test_pki.root_pem])
    assert result.verdict == "valid"
    assert result.signatures[0].signing_time == when


def test_a_box_without_an_image_gives_an_invisible_signature(test_pki, report_pdf):
    identity = signing.load_pkcs12(test_pki.office, test_pki.password)
    signed = signing.sign_pdf(report_pdf, identity, field_name="Sig", box=(0, 340, 90, 120, 60))
    assert b"/Rect [ 0 0 0 0 ]" in signed[len(report_pdf):]
    assert signing.verify_pdf(signed, [test_pki.root_pem]).verdict == "valid"


def test_a_box_on_a_page_that_does_not_exist_is_a_user_error(test_pki, report_pdf):
    identity = signing.load_pkcs12(test_pki.office, test_pki.password)
    with pytest.raises(UserError):
        signing.sign_pdf(report_pdf, identity, field_name="Sig", box=(99, 340, 90, 120, 60),
                         image_png=blue_signature_png())


def test_the_same_field_cannot_be_signed_twice(signed_twice, test_pki):
    identity = signing.load_pkcs12(test_pki.office, test_pki.password)
    with pytest.raises(UserError):
        signing.sign_pdf(signed_twice[1], identity, field_name="Leader")


def test_signing_something_that_is_not_a_pdf_is_a_user_error(test_pki):
    identity = signing.load_pkcs12(test_pki.office, test_pki.password)
    with pytest.raises(UserError):
        signing.sign_pdf(b"hello, not a PDF", identity, field_name="Sig")


def test_an_unsigned_pdf_is_unsigned(report_pdf):
    result = signing.verify_pdf(report_pdf)
    assert result.verdict == "unsigned" and result.signatures == []
    assert result.message()


def test_one_flipped_byte_anywhere_is_never_valid(signed_twice, test_pki):
    twice = signed_twice[1]
    positions = [round(i * (len(twice) - 1) / 29) for i in range(30)]
    # and a few inside the second signature's value and its zero padding
    start = twice.rindex(b"/Contents <") + len(b"/Contents <")
    positions += [start + 5, start + 300, twice.index(b">", start) - 3]
    for position in positions:
        result = signing.verify_pdf(flipped(twice, position), [test_pki.root_pem])
        assert result.verdict != "valid", position
        assert result.message()


def _signature_value(pdf: bytes, which: int = -1) -> tuple[int, int, bytes]:
    """(start, end, bytes) of a signature value (the hex string of /Contents) in ``pdf``."""
    starts = [m.end() for m in re.finditer(rb"/Contents <", pdf)]
    start = starts[which]
    end = pdf.index(b">", start)
    return start, end, bytes.fromhex(pdf[start:end].decode())


def _with_value(pdf: bytes, start: int, end: int, value: bytes) -> bytes:
    text = value.hex().encode()
    assert len(text) <= end - start
    return pdf[:start] + text + b"0" * (end - start - len(text)) + pdf[end:]


def test_a_signature_value_not_in_strict_der_is_never_valid(signed_twice, test_pki):
    """The value must be the one DER encoding of its CMS object: the same object written
    differently (BER lengths, an unsorted set, a wrong tag where nothing else looks) is refused."""
    from asn1crypto import cms

    twice = signed_twice[1]
    start, end, value = _signature_value(twice)
    der = value.rstrip(b"\x00")
    signed_data = cms.ContentInfo.load(der)["content"]
    certs = [c.dump() for c in signed_data["certificates"]]
    info = signed_data["signer_infos"][0].dump()
    assert len(certs) == 2 and der[1] == 0x82  # a long-form length of two octets, as DER wants here
    variants = {
        "longer length form": der[:1] + b"\x83\x00" + der[2:],
        "indefinite length": der[:1] + b"\x80" + der[4:] + b"\x00\x00",
        "certificates out of order": der.replace(b"".join(sorted(certs)), b"".join(sorted(certs, reverse=True))),
        "signer's version with another tag": der.replace(info, b"\x30" + info[1:].replace(b"\x02\x01\x01", b"\x42\x01\x01", 1), 1),
        "data after the object": der + b"\x05\x00",
    }
    for label, changed in variants.items():
        assert changed != der, label
        result = signing.verify_pdf(_with_value(twice, start, end, changed), [test_pki.root_pem])
        assert result.verdict != "valid", label
    assert signing.verify_pdf(_with_value(twice, start, end, der), [test_pki.root_pem]).verdict == "valid"


@pytest.mark.parametrize("annex_rows", [5, 400])
def test_the_quick_table_of_paths_is_the_one_pyhanko_builds(test_pki, annex_rows):
    """Difference analysis relies on the table of every path to every object of the signed
    revision; dbcomm builds it faster, and it must be the very same table."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    from dbcomm.services import pdf_fields

    leader = signing.load_pkcs12(test_pki.leader, test_pki.password)
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    pdf = bytes(render_pdf(sample_content(annex_rows=annex_rows, header={"number": ""})))
    once = signing.sign_pdf(pdf, leader, field_name="Leader", box=(0, 340, 90, 120, 60),
                            image_png=blue_signature_png())
    filled = pdf_fields.fill_fields(once, {"so": "07"})  # the registry's number: a form fill
    twice = signing.sign_pdf(filled, office, field_name="Office")
    revisions = PdfFileReader(io.BytesIO(twice), strict=False).xrefs.total_revisions
    assert revisions == 4
    for revision in range(revisions):
        theirs = PdfFileReader(io.BytesIO(twice), strict=False).get_historical_resolver(revision)
        theirs._load_reverse_xref_cache()
        ours = PdfFileReader(io.BytesIO(twice), strict=False).get_historical_resolver(revision)
        assert signing._paths_to_objects(ours) == theirs._indirect_object_access_cache, revision
    assert signing.verify_pdf(twice, [test_pki.root_pem]).verdict == "valid"


def test_appended_bytes_after_the_last_signature_are_a_change(signed_twice, test_pki):
    twice = signed_twice[1]
    result = signing.verify_pdf(twice + b"\n% appended\n", [test_pki.root_pem])
    assert result.verdict != "valid"


def test_a_later_revision_that_changes_the_page_is_modified(signed_twice, test_pki):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed_twice[1]))
    box = writer.add_object(generic.StreamObject(stream_data=b"0 0 1 rg 100 100 200 200 re f"))
    writer.add_stream_to_page(0, box)
    out = io.BytesIO()
    writer.write(out)
    result = signing.verify_pdf(out.getvalue(), [test_pki.root_pem])
    assert result.verdict == "modified"
    assert all(s.intact and s.valid and s.modification == "other" for s in result.signatures)
    assert not any(s.covers_whole_file for s in result.signatures)


def test_a_truncated_file_is_invalid_and_does_not_raise(signed_twice, test_pki):
    twice = signed_twice[1]
    for size in (len(twice) // 3, len(twice) - 200):
        result = signing.verify_pdf(twice[:size], [test_pki.root_pem])
        assert result.verdict in ("invalid", "modified", "unsigned")
        assert result.verdict != "valid"


def test_a_file_that_is_not_a_pdf_is_a_user_error():
    with pytest.raises(UserError):
        signing.verify_pdf(b"PK\x03\x04 a zip file, not a PDF" * 10)


def test_a_revoked_certificate_with_its_crl_is_not_valid(test_pki, report_pdf):
    identity = signing.load_pkcs12(test_pki.revoked, test_pki.password)
    signed = signing.sign_pdf(report_pdf, identity, field_name="Sig")
    revoked = signing.verify_pdf(signed, [test_pki.root_pem], [test_pki.crl_der])
    assert revoked.verdict == "invalid"
    assert revoked.signatures[0].revoked
    # The policy: without revocation data there is no network, and the check soft-fails.
    assert signing.verify_pdf(signed, [test_pki.root_pem]).verdict == "valid"


def test_a_signer_not_in_the_crl_stays_valid_with_it(signed_twice, test_pki):
    assert signing.verify_pdf(signed_twice[1], [test_pki.root_pem], [test_pki.crl_der]).verdict == "valid"


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="pdfsig (poppler-utils) is not installed")
def test_poppler_agrees(signed_twice, tmp_path):
    twice = signed_twice[1]
    good = tmp_path / "signed.pdf"
    good.write_bytes(twice)
    out = subprocess.run(["pdfsig", str(good)], capture_output=True, text=True, timeout=60).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2
    bad = tmp_path / "changed.pdf"
    bad.write_bytes(flipped(twice, 2000))  # inside the first revision, covered by both signatures
    out = subprocess.run(["pdfsig", str(bad)], capture_output=True, text=True, timeout=60).stdout
    assert "Signature Validation: Signature is Valid." not in out


# --- the command line ------------------------------------------------------------------

def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--lang", "en", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_verify(capsys, signed_twice, test_pki, tmp_path):
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(signed_twice[1])
    code, out, _err = run_cli(capsys, "verify", str(signed), "--trust", str(test_pki.root_pem_path))
    assert code == 0
    assert "Lò Văn Thắng" in out and "UBND xã Mường Phăng" in out

    code, out, err = run_cli(capsys, "verify", str(signed))
    assert code == 3
    assert "not trusted" in out and "trusted root" in err

    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(flipped(signed_twice[1], 2000))
    code, _out, _err = run_cli(capsys, "verify", str(tampered), "--trust", str(test_pki.root_pem_path))
    assert code != 0

    not_pdf = tmp_path / "notes.txt"
    not_pdf.write_text("Báo cáo quý IV\n", encoding="utf-8")
    code, _out, err = run_cli(capsys, "verify", str(not_pdf))
    assert code == 2
    assert "not a PDF" in err

    code, _out, err = run_cli(capsys, "verify", str(tmp_path / "missing.pdf"))
    assert code == 2 and "Cannot read" in err


def test_cli_verify_opens_no_database(capsys, signed_twice, tmp_path, monkeypatch):
    import dbcomm.services.database as database

    def refuse(*_a, **_k):
        raise AssertionError("verify must not open a database")

    monkeypatch.setattr(database, "open_database", refuse)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(signed_twice[1])
    db = tmp_path / "never.sqlite3"
    code, _out, _err = run_cli(capsys, "--db", str(db), "verify", str(signed))
    assert code == 3
    assert not db.exists()


# --- the annex text stamp (Nghị định 30/2020, Phụ lục I) ------------------------------

MM = 72 / 25.4
VN = timezone(timedelta(hours=7))


def annex_pdf(page_size: tuple[float, float], rotation: int = 0) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=page_size)
    if rotation:
        pdf.setPageRotation(rotation)
    pdf.setFont("Helvetica", 12)
    pdf.drawString(90, page_size[1] / 2, "PHU LUC - annex table")
    pdf.showPage()
    pdf.drawString(90, 400, "page 2")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def render_page1(pdf: bytes, tmp_path, dpi: int, name: str) -> Image.Image:
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(tmp_path / name)], check=True, timeout=60)
    return Image.open(tmp_path / f"{name}.png").convert("L")


def test_the_annex_stamp_text_is_the_number_and_the_time_at_plus_seven():
    when = datetime(2026, 11, 27, 7, 5, 9, 654321, tzinfo=UTC)
    assert signing.annex_stamp_text("05/BC-UBND", when) == "Số: 05/BC-UBND\n2026-11-27T14:05:09+07:00"
    assert signing.annex_stamp_text("05/BC-UBND", when.astimezone(timezone(timedelta(hours=-5)))) == \
        "Số: 05/BC-UBND\n2026-11-27T14:05:09+07:00"
    naive = datetime(2026, 12, 31, 20, 0, 0)  # taken as UTC: the next day in Việt Nam
    assert signing.annex_stamp_text("7/QĐ-UBND", naive).endswith("\n2027-01-01T03:00:00+07:00")
    assert signing.annex_stamp_text(" Số: 05/BC-UBND", when) == "Số: 05/BC-UBND\n2026-11-27T14:05:09+07:00"
    decomposed = unicodedata.normalize("NFD", "12/TB-UBND xã Mường Phăng")
    text = signing.annex_stamp_text(decomposed, when)
    assert text == unicodedata.normalize("NFC", text) and "Mường" in text


@pytest.mark.parametrize(("size", "rotation"), [((595.28, 841.89), 0), ((841.89, 595.28), 0),
                                                ((841.89, 595.28), 90), ((595.28, 841.89), 270)])
def test_the_stamp_box_is_in_the_top_right_margin_as_seen(size, rotation):
    pdf = annex_pdf(size, rotation)
    page, x, y, w, h = signing.stamp_box(pdf, 120, 30)
    assert page == 0
    width, height = size  # as seen; ReportLab swaps the MediaBox of a turned page
    user_width, user_height = (height, width) if rotation in (90, 270) else (width, height)
    # where the box's corners land on the page as seen (0,0 = top left)
    corners = [(x, y), (x + w, y + h)]
    if rotation == 0:
        seen = [(cx, height - cy) for cx, cy in corners]
    elif rotation == 90:  # the user space's left edge is seen at the top
        seen = [(cy, cx) for cx, cy in corners]
    else:  # 270: its right edge is seen at the top
        seen = [(user_height - cy, user_width - cx) for cx, cy in corners]
    seen_left, seen_right = sorted(p[0] for p in seen)
    seen_top, seen_bottom = sorted(p[1] for p in seen)
    assert (round(seen_right - seen_left), round(seen_bottom - seen_top)) == (120, 30)
    assert seen_right == pytest.approx(width - 15 * MM, abs=0.5)
    assert seen_top == pytest.approx(6 * MM, abs=0.5)
    assert seen_bottom < 20 * MM  # inside the smallest top margin of the decree


def test_the_stamp_box_needs_an_existing_page(test_pki):
    with pytest.raises(UserError):
        signing.stamp_box(annex_pdf((595.28, 841.89)), 120, 30, page=5)


needs_poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                                   reason="poppler-utils is not installed")


@needs_poppler
@pytest.mark.parametrize(("size", "rotation"), [((595.28, 841.89), 0), ((841.89, 595.28), 0),
                                                ((841.89, 595.28), 90)],
                         ids=["portrait", "landscape", "turned-page"])
def test_an_annex_signed_with_the_text_stamp(test_pki, tmp_path, size, rotation):
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    pdf = annex_pdf(size, rotation)
    when = datetime.now(UTC).replace(microsecond=0)
    text = signing.annex_stamp_text("05/BC-UBND", when)
    signed = signing.sign_pdf(pdf, office, field_name="Office", stamp_text=text, signing_time=when)
    assert signed.startswith(pdf)

    result = signing.verify_pdf(signed, [test_pki.root_pem])
    assert result.verdict == "valid"
    sig = result.signatures[0]
    assert sig.signing_time == when
    iso = sig.signing_time.astimezone(VN).isoformat()

    source = tmp_path / "annex.pdf"
    source.write_bytes(signed)
    page1 = subprocess.run(["pdftotext", "-raw", "-f", "1", "-l", "1", str(source), "-"],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    lines = page1.splitlines()
    assert "Số: 05/BC-UBND" in lines and unicodedata.is_normalized("NFC", page1)
    assert iso in lines and iso.endswith("+07:00")
    page2 = subprocess.run(["pdftotext", "-raw", "-f", "2", "-l", "2", str(source), "-"],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert "05/BC-UBND" not in page2

    # What the stamp added to the page, as seen: dark pixels, all in the top-right margin.
    dpi = 50
    before = render_page1(pdf, tmp_path, dpi, "before")
    after = render_page1(signed, tmp_path, dpi, "after")
    assert before.size == after.size
    width, height = after.size
    assert (width > height) == (size[0] > size[1])
    added = [(i % width, i // width) for i, (a, b) in enumerate(zip(
        before.get_flattened_data(), after.get_flattened_data(), strict=True))
             if b < 128 <= a]
    assert len(added) > 150
    left, right = min(x for x, _y in added), max(x for x, _y in added)
    top, bottom = min(y for _x, y in added), max(y for _x, y in added)
    px = dpi / 25.4  # pixels per mm
    assert left > width / 2 and bottom < 20 * px  # nothing added outside the top-right margin
    assert abs(right - (width - 15 * px)) <= 3  # ends at the right margin
    assert 6 * px - 1 <= top <= 10 * px  # the box starts 6 mm from the top; the ink a little lower
    # upright Noto Serif 10: two lines about 22 pt high, the time line about 127 pt wide
    assert 18 <= (bottom - top + 1) * 72 / dpi <= 32
    assert 110 <= (right - left + 1) * 72 / dpi <= 140


def test_a_text_stamp_and_an_image_exclude_each_other(test_pki):
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    with pytest.raises(UserError):
        signing.sign_pdf(annex_pdf((595.28, 841.89)), office, field_name="Office", stamp_text="Số: 1/BC",
                         image_png=blue_signature_png(), box=(0, 400, 780, 120, 30))
    with pytest.raises(UserError):
        signing.sign_pdf(annex_pdf((595.28, 841.89)), office, field_name="Office", stamp_text="\n \n")


def test_the_stamp_font_is_shipped_checked_and_licensed(tmp_path):
    from fontTools.ttLib import TTFont

    from dbcomm.services import fonts

    path = fonts.font_path(fonts.STAMP_FONT)
    with TTFont(str(path)) as font:
        assert font["head"].unitsPerEm == 1000  # pyHanko lays out stamps as if it were 1000
        cmap = font.getBestCmap()
    assert all(ord(ch) in cmap for ch in "Số ĐđƯưƠơẠạẶặỆệỰựỸỹ")
    licence = (fonts.FONT_DIR / "LICENSE-NotoSerif.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Google" in licence
    for name in fonts.FONT_FILES.values():
        shutil.copy(fonts.FONT_DIR / name, tmp_path / name)
    with pytest.raises(UserError, match="NotoSerif-Regular.ttf"):
        fonts.check_fonts(tmp_path)
    shutil.copy(path, tmp_path / path.name)
    fonts.check_fonts(tmp_path)


# --- B-T: signatures with an RFC 3161 timestamp --------------------------------------------

@pytest.fixture(scope="session")
def tsa_keys() -> tsa.TSAKeys:
    return tsa.make_keys()


def test_signing_with_a_timestamp_server_gives_b_t(test_pki, report_pdf, tsa_keys, tmp_path):
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    before = datetime.now(UTC)
    with tsa.TimestampServer(tsa_keys) as server:
        outcome = signing.sign_pdf_ex(report_pdf, office, field_name="Office", timestamp_url=server.url)
        assert server.requests >= 1
    after = datetime.now(UTC)
    assert (outcome.level, outcome.timestamp_problem) == ("B-T", "")
    assert outcome.data.startswith(report_pdf)

    result = signing.verify_pdf(outcome.data, [test_pki.root_pem], timestamp_roots=[tsa_keys.root_pem])
    assert result.verdict == "valid"
    sig = result.signatures[0]
    assert sig.level == "B-T" and sig.timestamp_trusted
    assert sig.timestamp_time is not None and before - timedelta(seconds=1) <= sig.timestamp_time <= after
    # The supplied trust roots serve for timestamps too.
    both = signing.verify_pdf(outcome.data, [test_pki.root_pem, tsa_keys.root_pem]).signatures[0]
    assert both.timestamp_trusted and both.timestamp_time == sig.timestamp_time
    # A timestamp from an authority nobody trusts: still B-T and a sound token, but not trusted.
    alone = signing.verify_pdf(outcome.data, [test_pki.root_pem])
    assert alone.verdict == "valid"
    assert alone.signatures[0].level == "B-T" and not alone.signatures[0].timestamp_trusted

    if shutil.which("pdfsig"):
        path = tmp_path / "b-t.pdf"
        path.write_bytes(outcome.data)
        out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
        assert out.count("Signature Validation: Signature is Valid.") == 1


def test_a_b_b_signature_has_no_timestamp(signed_twice, test_pki):
    for sig in signing.verify_pdf(signed_twice[1], [test_pki.root_pem]).signatures:
        assert (sig.level, sig.timestamp_time, sig.timestamp_trusted) == ("B-B", None, False)


@pytest.mark.parametrize("mode", ["closed", "garbage", "error", "slow"])
def test_without_a_usable_timestamp_server_the_signature_is_b_b_and_says_why(
        mode, test_pki, report_pdf, tsa_keys):
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    timeout = 0.5
    started = time.monotonic()
    if mode == "closed":
        outcome = signing.sign_pdf_ex(report_pdf, office, field_name="Office", timestamp_url=tsa.closed_port_url(),
                                      timestamp_timeout=timeout)
    else:
        with tsa.TimestampServer(tsa_keys, mode, delay=5) as server:
            outcome = signing.sign_pdf_ex(report_pdf, office, field_name="Office", timestamp_url=server.url,
                                          timestamp_timeout=timeout)
            assert server.requests >= 1
    elapsed = time.monotonic() - started
    assert outcome.level == "B-B"
    assert outcome.timestamp_problem
    if mode == "slow":
        assert elapsed < 4  # the timeout cut the wait short
        assert "0.5" in outcome.timestamp_problem
    if mode == "error":
        assert "500" in outcome.timestamp_problem
    result = signing.verify_pdf(outcome.data, [test_pki.root_pem])
    assert result.verdict == "valid"
    assert result.signatures[0].level == "B-B" and result.signatures[0].timestamp_time is None
    # sign_pdf, the thin wrapper, gives the same kind of bytes
    plain = signing.sign_pdf(report_pdf, office, field_name="Office", timestamp_url=tsa.closed_port_url())
    assert signing.verify_pdf(plain, [test_pki.root_pem]).signatures[0].level == "B-B"


def test_a_trusted_timestamp_before_the_revocation_keeps_the_signature_valid(test_pki, report_pdf, tsa_keys):
    revoked = signing.load_pkcs12(test_pki.revoked, test_pki.password)  # revoked two days ago
    earlier = datetime.now(UTC) - timedelta(days=3)
    with tsa.TimestampServer(tsa_keys, fixed_time=earlier) as server:
        outcome = signing.sign_pdf_ex(report_pdf, revoked, field_name="Sig", timestamp_url=server.url,
                                      signing_time=earlier)
    assert outcome.level == "B-T"
    judged = signing.verify_pdf(outcome.data, [test_pki.root_pem], [test_pki.crl_der],
                                timestamp_roots=[tsa_keys.root_pem])
    assert judged.verdict == "valid"
    assert judged.signatures[0].timestamp_time == earlier and not judged.signatures[0].revoked
    # An untrusted timestamp proves nothing: judged now, the certificate is revoked.
    assert signing.verify_pdf(outcome.data, [test_pki.root_pem], [test_pki.crl_der]).verdict == "invalid"

    with tsa.TimestampServer(tsa_keys) as server:
        late = signing.sign_pdf_ex(report_pdf, revoked, field_name="Sig", timestamp_url=server.url)
    result = signing.verify_pdf(late.data, [test_pki.root_pem], [test_pki.crl_der],
                                timestamp_roots=[tsa_keys.root_pem])
    assert late.level == "B-T" and result.verdict == "invalid" and result.signatures[0].revoked


def test_a_trusted_timestamp_from_before_the_expiry_keeps_the_signature_valid(test_pki, report_pdf, tsa_keys):
    expired = signing.load_pkcs12(test_pki.expired, test_pki.password)  # expired ten days ago
    earlier = datetime.now(UTC) - timedelta(days=20)
    with tsa.TimestampServer(tsa_keys, fixed_time=earlier) as server:
        outcome = signing.sign_pdf_ex(report_pdf, expired, field_name="Sig", timestamp_url=server.url,
                                      signing_time=earlier)
    assert signing.verify_pdf(outcome.data, [test_pki.root_pem],
                              timestamp_roots=[tsa_keys.root_pem]).verdict == "valid"
    assert signing.verify_pdf(outcome.data, [test_pki.root_pem]).verdict != "valid"


def test_a_damaged_timestamp_token_is_not_valid(test_pki, report_pdf, tsa_keys):
    from asn1crypto import cms

    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    with tsa.TimestampServer(tsa_keys) as server:
        signed = signing.sign_pdf(report_pdf, office, field_name="Office", timestamp_url=server.url)
    start = signed.rindex(b"/Contents <") + len(b"/Contents <")
    value = bytes.fromhex(signed[start:signed.index(b">", start)].decode())
    info = cms.ContentInfo.load(value)["content"]["signer_infos"][0]
    token = info["unsigned_attrs"][0]["values"][0]
    tsa_signature = token["content"]["signer_infos"][0]["signature"].native
    at = signed.lower().index(tsa_signature.hex().encode(), start) + 10
    damaged = bytearray(signed)
    damaged[at:at + 1] = b"0" if damaged[at:at + 1] != b"0" else b"1"
    result = signing.verify_pdf(bytes(damaged), [test_pki.root_pem], timestamp_roots=[tsa_keys.root_pem])
    assert result.verdict == "invalid"
    assert result.signatures[0].timestamp_time is None
    assert result.signatures[0].problem
