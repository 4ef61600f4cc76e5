"""A small test PKI, made at test time: root → intermediate → signers, a CRL, .p12 files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = "Mật-khẩu 123"


@dataclass
class TestPKI:
    folder: Path
    root_pem: bytes
    root_pem_path: Path
    crl_der: bytes
    leader: Path  # "Lò Văn Thắng"
    office: Path  # "UBND xã Mường Phăng"
    expired: Path
    no_signing: Path
    revoked: Path
    password: str = PASSWORD


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tỉnh Điện Biên (thử nghiệm)"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _ku(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign, content_commitment=sign, key_encipherment=not ca and not sign,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False)


def _cert(subject, key, issuer, issuer_key, *, ca: bool, sign: bool, start: datetime, end: datetime,
          serial: int) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(serial).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_ku(sign=sign, ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                       critical=False)
    )
    if not ca:  # signers declare where their CRL is, as real certificates do
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier("http://crl.invalid/test-intermediate.crl")],
            relative_name=None, reasons=None, crl_issuer=None)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def build(folder: Path) -> TestPKI:
    now = datetime.now(UTC)
    start, end = now - timedelta(days=30), now + timedelta(days=365)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Test Root CA Điện Biên")
    root = _cert(root_name, root_key, root_name, root_key, ca=True, sign=False, start=start - timedelta(days=1),
                 end=end + timedelta(days=365), serial=1)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter_name = _name("Test Intermediate CA")
    inter = _cert(inter_name, inter_key, root_name, root_key, ca=True, sign=False, start=start,
                  end=end + timedelta(days=30), serial=2)

    def leaf(cn: str, serial: int, *, sign: bool = True, begin: datetime = start, finish: datetime = end) -> Path:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(_name(cn), key, inter_name, inter_key, ca=False, sign=sign, start=begin, end=finish,
                     serial=serial)
        blob = pkcs12.serialize_key_and_certificates(
            cn.encode("utf-8"), key, cert, [inter],
            serialization.BestAvailableEncryption(PASSWORD.encode("utf-8")))
        path = folder / f"signer-{serial}.p12"
        path.write_bytes(blob)
        return path

    leader = leaf("Lò Văn Thắng", 100)
    office = leaf("UBND xã Mường Phăng", 101)
    expired = leaf("Cán bộ hết hạn", 102, begin=now - timedelta(days=400), finish=now - timedelta(days=10))
    no_signing = leaf("Khóa mã hóa", 103, sign=False)
    revoked = leaf("Chứng thư bị thu hồi", 104)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(inter_name).last_update(now - timedelta(hours=1)).next_update(now + timedelta(days=7))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(104)
            .revocation_date(now - timedelta(days=2)).build())
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()),
                       critical=False)
        .add_extension(x509.CRLNumber(1), critical=False)
        .sign(inter_key, hashes.SHA256())
    )
    root_pem = root.public_bytes(serialization.Encoding.PEM)
    root_path = folder / "root.pem"
    root_path.write_bytes(root_pem)
    return TestPKI(folder=folder, root_pem=root_pem, root_pem_path=root_path,
                   crl_der=crl.public_bytes(serialization.Encoding.DER),
                   leader=leader, office=office, expired=expired, no_signing=no_signing, revoked=revoked)
