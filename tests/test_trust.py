"""The office's trust list (certificate authorities and revocation lists) and verifying with it."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7, pkcs12

import pki
from dbcomm import i18n
from dbcomm.domain.roles import Role
from dbcomm.errors import PermissionDenied, UserError
from dbcomm.services import audit, auth, signing, trust
from dbcomm.services.report_pdf import render_pdf
from report_samples import sample_content


@dataclass
class Samples:
    """The test PKI's files, as an office receives them, and PDFs signed with it."""

    pki: pki.TestPKI
    root_pem: Path
    root_der: Path  # the same root, as a .cer in DER
    intermediate_p7b: Path  # the intermediate authority, as a PKCS#7 bundle
    leaf_pem: Path  # the leader's own certificate: not an authority
    expired_root: Path
    crl: Path
    unsigned: Path
    signed: Path  # signed by "Lò Văn Thắng"
    signed_by_revoked: Path
    not_pdf: Path


def make_samples(folder: Path) -> Samples:
    test_pki = pki.build(folder)
    root = x509.load_pem_x509_certificate(test_pki.root_pem)
    root_der = folder / "root-ca.cer"
    root_der.write_bytes(root.public_bytes(Encoding.DER))
    _key, leaf, chain = pkcs12.load_key_and_certificates(test_pki.leader.read_bytes(),
                                                         test_pki.password.encode("utf-8"))
    assert leaf is not None and chain
    leaf_pem = folder / "lo-van-thang.pem"
    leaf_pem.write_bytes(leaf.public_bytes(Encoding.PEM))
    p7b = folder / "intermediate.p7b"
    p7b.write_bytes(pkcs7.serialize_certificates([chain[0]], Encoding.DER))
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    old_name = pki._name("CA cũ đã hết hạn")
    old = pki._cert(old_name, key, old_name, key, ca=True, sign=False, start=now - timedelta(days=800),
                    end=now - timedelta(days=5), serial=9)
    expired = folder / "old-root.crt"
    expired.write_bytes(old.public_bytes(Encoding.PEM))
    crl = folder / "intermediate.crl"
    crl.write_bytes(test_pki.crl_der)
    report = bytes(render_pdf(sample_content(annex_rows=3)))
    unsigned = folder / "bao-cao-chua-ky.pdf"
    unsigned.write_bytes(report)
    leader = signing.load_pkcs12(test_pki.leader, test_pki.password)
    signed = folder / "bao-cao-da-ky.pdf"
    signed.write_bytes(signing.sign_pdf(report, leader, field_name="Leader", reason="Ký ban hành"))
    revoked_id = signing.load_pkcs12(test_pki.revoked, test_pki.password)
    revoked = folder / "ky-boi-chung-thu-bi-thu-hoi.pdf"
    revoked.write_bytes(signing.sign_pdf(report, revoked_id, field_name="Sig"))
    not_pdf = folder / "ghi-chu.txt"
    not_pdf.write_text("Báo cáo quý IV — chưa phải PDF\n", encoding="utf-8")
    return Samples(test_pki, test_pki.root_pem_path, root_der, p7b, leaf_pem, expired, crl, unsigned, signed,
                   revoked, not_pdf)


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> Samples:
    return make_samples(tmp_path_factory.mktemp("trust-samples"))


@pytest.fixture
def tdb(copied_db_path):
    from dbcomm.services.database import open_database

    database = open_database(copied_db_path)
    yield database
    database.close()


def settings_entries(db) -> list[str]:
    return [e.summary for e in audit.entries(db) if e.entity == "settings"]


# --- importing authorities -----------------------------------------------------------------

def test_a_root_in_pem_is_listed_with_its_name_fingerprint_and_dates(tdb, samples):
    added = trust.import_roots(tdb, samples.root_pem)
    assert [r.subject for r in added] == ["Test Root CA Điện Biên"]
    [root] = trust.list_roots(tdb)
    assert root.subject == "Test Root CA Điện Biên" == unicodedata.normalize("NFC", root.subject)
    assert root.issuer == root.subject and root.self_signed
    cert = x509.load_pem_x509_certificate(samples.pki.root_pem)
    assert root.fingerprint == cert.fingerprint(hashes.SHA256()).hex().upper()
    assert root.not_before < datetime.now(UTC) < root.not_after
    assert datetime.now(UTC) - root.added_at < timedelta(minutes=1)
    assert len(root.fingerprint_display.split(":")) == 32
    assert any("Test Root CA Điện Biên" in s and root.fingerprint_display in s for s in settings_entries(tdb))


def test_the_same_root_in_der_is_not_added_twice(tdb, samples):
    assert len(trust.import_roots(tdb, samples.root_der)) == 1
    assert trust.import_roots(tdb, samples.root_pem) == []
    assert trust.import_roots(tdb, samples.pki.root_pem) == []  # bytes, not a path
    assert len(trust.list_roots(tdb)) == 1
    assert len(settings_entries(tdb)) == 1  # nothing changed, nothing recorded


def test_a_pem_with_several_certificates_and_a_p7b_bundle(tdb, samples, tmp_path):
    both = tmp_path / "chain.pem"
    inter = pkcs7.load_der_pkcs7_certificates(samples.intermediate_p7b.read_bytes())[0]
    both.write_bytes(samples.pki.root_pem + inter.public_bytes(Encoding.PEM))
    added = trust.import_roots(tdb, both)
    assert [r.subject for r in added] == ["Test Root CA Điện Biên", "Test Intermediate CA"]
    assert [r.self_signed for r in added] == [True, False]
    assert trust.import_roots(tdb, samples.intermediate_p7b) == []


def test_a_signers_own_certificate_is_refused_and_names_its_authority(tdb, samples):
    i18n.set_language("en")
    with pytest.raises(UserError) as caught:
        trust.import_roots(tdb, samples.leaf_pem)
    message = str(caught.value)
    assert "Lò Văn Thắng" in message and "not the certificate of a certificate authority" in message
    assert "Test Intermediate CA" in message
    assert trust.list_roots(tdb) == [] and settings_entries(tdb) == []


def test_a_file_mixing_an_authority_and_a_signer_is_refused_whole(tdb, samples, tmp_path):
    mixed = tmp_path / "mixed.pem"
    mixed.write_bytes(samples.pki.root_pem + samples.leaf_pem.read_bytes())
    with pytest.raises(UserError):
        trust.import_roots(tdb, mixed)
    assert trust.list_roots(tdb) == []


def test_a_file_that_is_not_a_certificate_is_refused(tdb, samples):
    i18n.set_language("en")
    for path in (samples.not_pdf, samples.unsigned):
        with pytest.raises(UserError, match=f"{path.name} is not a certificate file"):
            trust.import_roots(tdb, path)
    with pytest.raises(UserError, match="is a certificate revocation list"):
        trust.import_roots(tdb, samples.crl)
    with pytest.raises(UserError, match="Cannot read"):
        trust.import_roots(tdb, samples.not_pdf.with_name("khong-co.cer"))
    assert trust.list_roots(tdb) == []


def test_an_expired_root_is_refused_with_its_dates(tdb, samples):
    i18n.set_language("en")
    with pytest.raises(UserError) as caught:
        trust.import_roots(tdb, samples.expired_root)
    message = str(caught.value)
    cert = x509.load_pem_x509_certificate(samples.expired_root.read_bytes())
    assert "CA cũ đã hết hạn" in message and "expired on" in message
    assert cert.not_valid_after_utc.strftime("%d/%m/%Y") in message
    assert trust.list_roots(tdb) == []


def test_a_name_written_decomposed_in_the_certificate_is_shown_composed(tdb, tmp_path):
    nfd = unicodedata.normalize("NFD", "CA Sở Thông tin và Truyền thông Điện Biên")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = pki._cert(pki._name(nfd), key, pki._name(nfd), key, ca=True, sign=False,
                     start=now - timedelta(days=1), end=now + timedelta(days=30), serial=7)
    path = tmp_path / "so-tttt.cer"
    path.write_bytes(cert.public_bytes(Encoding.DER))
    [root] = trust.import_roots(tdb, path)
    assert root.subject == unicodedata.normalize("NFC", nfd) != nfd


def test_removing_a_root_is_recorded(tdb, samples):
    i18n.set_language("en")
    [root] = trust.import_roots(tdb, samples.root_pem)
    removed = trust.remove_root(tdb, root.fingerprint_display)  # as shown, with colons
    assert removed.subject == "Test Root CA Điện Biên"
    assert trust.list_roots(tdb) == []
    removal, addition = settings_entries(tdb)  # newest first
    assert removal == f"Trusted certificate authority removed: Test Root CA Điện Biên (SHA-256 {root.fingerprint_display})"
    assert addition.startswith("Trusted certificate authority added: Test Root CA Điện Biên")
    with pytest.raises(UserError):
        trust.remove_root(tdb, root.fingerprint)


def test_only_who_may_change_the_settings_changes_the_trust_list(tdb, samples):
    auth.create_user(tdb, "quantri", "Nguyễn Văn Quản", Role.ADMIN, "quantri-2026")
    auth.authenticate(tdb, "quantri", "quantri-2026")
    trust.import_roots(tdb, samples.root_pem)
    auth.create_user(tdb, "lan", "Lò Thị Lan", Role.ENTRY, "nhaplieu-2026")
    auth.logout(tdb)
    auth.authenticate(tdb, "lan", "nhaplieu-2026")
    with pytest.raises(PermissionDenied):
        trust.import_roots(tdb, samples.intermediate_p7b)
    with pytest.raises(PermissionDenied):
        trust.remove_root(tdb, trust.list_roots(tdb)[0].fingerprint)
    with pytest.raises(PermissionDenied):
        trust.import_crl(tdb, samples.crl)
    assert [r.subject for r in trust.list_roots(tdb)] == ["Test Root CA Điện Biên"]  # reading is for all
    assert trust.list_crls(tdb) == []
    [entry] = settings_entries(tdb)
    assert [e.full_name for e in audit.entries(tdb) if e.entity == "settings"] == ["Nguyễn Văn Quản"]
    assert "Test Root CA Điện Biên" in entry


# --- revocation lists ----------------------------------------------------------------------

def test_a_crl_of_an_unknown_authority_is_kept_but_flagged(tdb, samples):
    trust.import_roots(tdb, samples.root_pem)  # the root only: the CRL is the intermediate's
    info = trust.import_crl(tdb, samples.crl)
    assert info.issuer == "Test Intermediate CA"
    assert info.revoked_count == 1
    assert not info.issuer_known and not info.outdated
    trust.import_roots(tdb, samples.intermediate_p7b)
    [kept] = trust.list_crls(tdb)
    assert kept.issuer_known and kept.fingerprint == info.fingerprint


def test_the_same_crl_twice_is_kept_once_and_removing_it(tdb, samples):
    trust.import_crl(tdb, samples.crl)
    trust.import_crl(tdb, samples.pki.crl_der)
    [info] = trust.list_crls(tdb)
    assert len(settings_entries(tdb)) == 1
    trust.remove_crl(tdb, info.fingerprint)
    assert trust.list_crls(tdb) == []
    assert len(settings_entries(tdb)) == 2


def test_a_file_that_is_not_a_crl_is_refused(tdb, samples):
    i18n.set_language("en")
    with pytest.raises(UserError, match="is not a certificate revocation list"):
        trust.import_crl(tdb, samples.root_pem)
    assert trust.list_crls(tdb) == []


# --- verifying with the trust list ---------------------------------------------------------

def test_a_signed_pdf_is_untrusted_until_its_root_is_imported(tdb, samples):
    before = trust.verify_file(tdb, samples.signed)
    assert before.verdict == "untrusted"
    assert [s.signer_name for s in before.signatures] == ["Lò Văn Thắng"]
    trust.import_roots(tdb, samples.root_der)
    after = trust.verify_file(tdb, samples.signed)
    assert after.verdict == "valid" and after.signatures[0].trusted


def test_a_revoked_signer_is_invalid_once_the_crl_is_imported(tdb, samples):
    trust.import_roots(tdb, samples.root_pem)
    assert trust.verify_file(tdb, samples.signed_by_revoked).verdict == "valid"  # no revocation data
    trust.import_crl(tdb, samples.crl)
    result = trust.verify_file(tdb, samples.signed_by_revoked)
    assert result.verdict == "invalid" and result.signatures[0].revoked
    assert trust.verify_file(tdb, samples.signed).verdict == "valid"  # not in the list


def test_unsigned_missing_and_non_pdf_files(tdb, samples):
    i18n.set_language("en")
    assert trust.verify_file(tdb, samples.unsigned).verdict == "unsigned"
    with pytest.raises(UserError, match="not a PDF"):
        trust.verify_file(tdb, samples.not_pdf)
    with pytest.raises(UserError, match="Cannot read"):
        trust.verify_file(tdb, samples.unsigned.with_name("mat-roi.pdf"))
