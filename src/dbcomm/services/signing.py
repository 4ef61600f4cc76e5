"""Digital signatures on report PDFs: PAdES B-B signing and verification.

Signing takes the PDF as bytes and returns new bytes: the signature is an
incremental update, so a signature made earlier stays valid, and the input
is never modified.  Verification never raises for a damaged signature: a
signature that cannot be checked is reported as invalid.

Trust: only the roots the caller supplies (the user's imported trust list)
are trusted; the operating system's list is never used.  Revocation: no
network access.  The CRLs supplied by the caller are checked for every
certificate that declares a CRL distribution point (as issued certificates
do); without revocation data the check soft-fails
(the signature is not refused for lack of a CRL), but a certificate listed
as revoked in a supplied CRL makes the signature invalid.  A signature is
judged at the time of verification, since a B-B signature carries no
trusted timestamp.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from dbcomm.errors import UserError
from dbcomm.i18n import _

# pyHanko logs every failed check with a traceback; the results say it all.
for _logger in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_logger).addHandler(logging.NullHandler())

Box = tuple[int, float, float, float, float]
"""A visible signature's place: page index (0 = first), x, y, width, height in points."""

VERDICTS = ("valid", "untrusted", "modified", "invalid", "unsigned")
_SEVERITY = {"valid": 0, "untrusted": 1, "modified": 2, "invalid": 3}


@dataclass(frozen=True)
class Identity:
    """A signing key and its certificate, loaded from a PKCS#12 (.p12/.pfx) file."""

    signer: Any = field(repr=False)  # pyhanko.sign.signers.SimpleSigner
    holder_name: str
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime
    key_usage: frozenset[str] | None
    """Key usages of the certificate; ``None`` when it has no key-usage extension (unrestricted)."""


def _name_text(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    text = str(cns[0].value) if cns else name.rfc4514_string()
    return unicodedata.normalize("NFC", text)


def _key_usage(cert: x509.Certificate) -> frozenset[str] | None:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    names = {
        "digital_signature": ku.digital_signature,
        "non_repudiation": ku.content_commitment,
        "key_encipherment": ku.key_encipherment,
        "data_encipherment": ku.data_encipherment,
        "key_agreement": ku.key_agreement,
        "key_cert_sign": ku.key_cert_sign,
        "crl_sign": ku.crl_sign,
    }
    return frozenset(k for k, v in names.items() if v)


def load_pkcs12(path: str | Path, password: str) -> Identity:
    """Open a .p12/.pfx file; a wrong password or another kind of file raises :class:`UserError`."""
    from pyhanko.sign.signers import SimpleSigner

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(_("Cannot read the certificate file {file}: {reason}").format(
            file=path.name, reason=exc.strerror or exc)) from exc
    try:
        _key, cert, _others = pkcs12.load_key_and_certificates(data, password.encode("utf-8"))
        if _key is None or cert is None:
            raise ValueError("no key or certificate")
        signer = SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=password.encode("utf-8"))
    except Exception as exc:
        raise UserError(_("Cannot open the certificate file {file}: the password is wrong, or it is not "
                          "a PKCS#12 (.p12, .pfx) file.").format(file=path.name)) from exc
    return Identity(
        signer=signer,
        holder_name=_name_text(cert.subject),
        issuer=_name_text(cert.issuer),
        serial=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_usage=_key_usage(cert),
    )


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d/%m/%Y %H:%M UTC")


def check_usable(identity: Identity, now: datetime | None = None) -> None:
    """Refuse a certificate that is expired, not yet valid, or not meant for signing."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if now > identity.not_after:
        raise UserError(_("The certificate of {name} expired on {end} (valid from {start} to {end}).").format(
            name=identity.holder_name, start=_fmt(identity.not_before), end=_fmt(identity.not_after)))
    if now < identity.not_before:
        raise UserError(_("The certificate of {name} is not valid yet: it is valid from {start} to {end}.").format(
            name=identity.holder_name, start=_fmt(identity.not_before), end=_fmt(identity.not_after)))
    usage = identity.key_usage
    if usage is not None and not usage & {"digital_signature", "non_repudiation"}:
        raise UserError(_("The certificate of {name} is not meant for signing documents "
                          "(its key usage has neither digital signature nor non-repudiation).").format(
            name=identity.holder_name))


def sign_pdf(
    pdf: bytes,
    identity: Identity,
    *,
    field_name: str,
    box: Box | None = None,
    image_png: bytes | None = None,
    reason: str = "",
    location: str = "",
    signing_time: datetime | None = None,
) -> bytes:
    """Sign ``pdf`` (PAdES B-B, SHA-256) as an incremental update and return the signed bytes.

    With ``box`` and ``image_png`` the signature is visible there, showing the image (a
    transparent PNG) stretched to the box; without an image it is invisible (on the page of
    ``box``, if given).  ``signing_time`` (default: now) is the time the signer claims; a
    naive time is taken as UTC.
    """
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle

    class _Signer(signers.PdfSigner):
        def init_signing_session(self, pdf_out, existing_fields_only=False):  # type: ignore[no-untyped-def]
            session = super().init_signing_session(pdf_out, existing_fields_only)
            if signing_time is not None:
                session.system_time = (signing_time if signing_time.tzinfo
                                       else signing_time.replace(tzinfo=UTC))
            return session

    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)), strict=False)
        existing = {name: filled for name, filled, _ref in fields.enumerate_sig_fields(
            PdfFileReader(io.BytesIO(bytes(pdf)), strict=False))}
    except Exception as exc:
        raise UserError(_("The file is not a readable PDF: {reason}").format(reason=exc)) from exc
    if existing.get(field_name) is not None:
        raise UserError(_("The signature field “{field}” is signed already.").format(field=field_name))
    if box is not None and (box[3] <= 0 or box[4] <= 0):
        raise UserError(_("The signature box must have a width and a height."))
    style = None
    if box is not None and image_png is not None:
        from PIL import Image

        try:
            image: Image.Image = Image.open(io.BytesIO(image_png))
            image.load()
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")
        except Exception as exc:
            raise UserError(_("The signature image cannot be read: {reason}").format(reason=exc)) from exc
        style = StaticStampStyle(background=PdfImage(image), background_opacity=1.0, border_width=0)
    spec = None
    if field_name not in existing:
        if box is None:
            spec = fields.SigFieldSpec(field_name)
        elif style is None:
            spec = fields.SigFieldSpec(field_name, on_page=box[0])
        else:
            page, x, y, w, h = box
            spec = fields.SigFieldSpec(field_name, on_page=page, box=(int(x), int(y), int(x + w), int(y + h)))
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
    )
    try:
        out = _Signer(meta, identity.signer, stamp_style=style, new_field_spec=spec).sign_pdf(
            writer, in_place=False)
        return bytes(out.getvalue())
    except UserError:
        raise
    except Exception as exc:
        raise UserError(_("The document could not be signed: {reason}").format(reason=exc)) from exc


@dataclass(frozen=True)
class SignatureResult:
    field_name: str
    verdict: str  # valid | untrusted | modified | invalid
    signer_name: str = ""
    signing_time: datetime | None = None
    subject: str = ""
    issuer: str = ""
    not_before: datetime | None = None
    not_after: datetime | None = None
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    revoked: bool = False
    modification: str = "other"  # none | form_fill | other
    covers_whole_file: bool = False
    problem: str = ""  # why the signature could not be checked, if it could not


@dataclass(frozen=True)
class Verification:
    signatures: list[SignatureResult]
    verdict: str  # valid | untrusted | modified | invalid | unsigned
    problem: str = ""

    def message(self) -> str:
        """One plain, translated sentence about the whole file."""
        n = len(self.signatures)
        if self.verdict == "unsigned":
            return _("The document has no digital signature.")
        if self.verdict == "valid":
            return _("All {n} signatures are valid and trusted, and the document was not changed after signing.").format(
                n=n) if n > 1 else _("The signature is valid and trusted, and the document was not changed after signing.")
        if self.verdict == "untrusted":
            return _("The signatures are intact, but a signer's certificate does not chain to a trusted root: "
                     "import the certificate authority's root to trust it.")
        if self.verdict == "modified":
            return _("The document was changed after it was signed.")
        if self.problem:
            return _("The signatures cannot be verified: the file is damaged ({reason}).").format(reason=self.problem)
        return _("At least one signature is invalid: the document or the signature was altered, "
                 "or the certificate was revoked.")


def _certs(blobs: list[bytes] | tuple[bytes, ...]) -> list[Any]:
    from asn1crypto import pem
    from asn1crypto import x509 as ax509

    out: list[Any] = []
    for blob in blobs:
        if pem.detect(blob):
            out.extend(ax509.Certificate.load(der) for _t, _h, der in pem.unarmor(blob, multiple=True))
        else:
            out.append(ax509.Certificate.load(blob))
    return out


def _crls(blobs: list[bytes] | tuple[bytes, ...]) -> list[Any]:
    from asn1crypto import crl, pem

    out: list[Any] = []
    for blob in blobs:
        if pem.detect(blob):
            out.extend(crl.CertificateList.load(der) for _t, _h, der in pem.unarmor(blob, multiple=True))
        else:
            out.append(crl.CertificateList.load(blob))
    return out


def _contents_well_formed(sig: Any) -> bool:
    """The signature value is one DER-encoded CMS object followed by zero padding only.

    PDF requires the signature value to be DER-encoded; the padding is not hashed, and a
    re-encoding that differs means bytes of the value were altered.
    """
    from asn1crypto import cms, parser

    raw = bytes(sig.sig_object["/Contents"])
    _cls, _method, _tag, header, body, trailer = parser.parse(raw, strict=False)
    used = len(header) + len(body) + len(trailer)
    if raw[used:].strip(b"\x00"):
        return False
    der = raw[:used]
    return bool(cms.ContentInfo.load(der, strict=True).dump(force=True) == der)


def _cms_consistent(sig: Any, cert: Any) -> bool:
    """The unsigned parts of the signature value agree with what was signed and who signed it.

    The signer identifier and the list of digest algorithms are not covered by the
    signature itself; a damaged one must not pass unnoticed.
    """
    signed_data = sig.signed_data
    info = sig.signer_info
    sid = info["sid"]
    if sid.name == "issuer_and_serial_number":  # RFC 5652 5.3: version 1 goes with issuer+serial
        same_signer = (info["version"].native == "v1"
                       and sid.chosen["issuer"].dump() == cert.issuer.dump()
                       and sid.chosen["serial_number"].native == cert.serial_number)
    else:
        same_signer = info["version"].native == "v3" and sid.chosen.native == cert.key_identifier
    digests = [*signed_data["digest_algorithms"], info["digest_algorithm"]]
    if any(a["parameters"].native is not None for a in digests):  # absent or NULL only (RFC 5754)
        return False
    algorithms = {a["algorithm"].dotted for a in signed_data["digest_algorithms"]}
    return (same_signer and signed_data["version"].native in ("v1", "v3", "v4", "v5")
            and info["digest_algorithm"]["algorithm"].dotted in algorithms)


def _modification(status: Any) -> str:
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = status.modification_level
    if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return "none"
    if level == ModificationLevel.FORM_FILLING:
        return "form_fill"
    return "other"


def _one(sig: Any, context_args: dict[str, Any]) -> SignatureResult:
    from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    try:
        name = str(sig.field_name)
    except Exception:
        name = "?"
    try:
        ctx = ValidationContext(**context_args)
        status = validate_pdf_signature(
            sig, ctx, key_usage_settings=KeyUsageConstraints(
                key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False))
        cert = status.signing_cert
        padding_ok = _contents_well_formed(sig) and _cms_consistent(sig, cert)
        modification = _modification(status)
        covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        intact = bool(status.intact) and padding_ok
        valid = bool(status.valid) and padding_ok
        if not (intact and valid) or status.revoked:
            verdict = "invalid"
        elif (modification == "other" and not covers) or status.docmdp_ok is False:
            verdict = "modified"
        elif not status.trusted:
            verdict = "untrusted"
        else:
            verdict = "valid"
        validity = cert["tbs_certificate"]["validity"]
        when = status.signer_reported_dt
        return SignatureResult(
            field_name=name, verdict=verdict,
            signer_name=unicodedata.normalize("NFC", cert.subject.native.get("common_name", "") or ""),
            signing_time=when, subject=unicodedata.normalize("NFC", cert.subject.human_friendly),
            issuer=unicodedata.normalize("NFC", cert.issuer.human_friendly),
            not_before=validity["not_before"].native, not_after=validity["not_after"].native,
            intact=intact, valid=valid, trusted=bool(status.trusted), revoked=bool(status.revoked),
            modification=modification, covers_whole_file=covers,
        )
    except Exception as exc:  # a damaged signature must never stop the check of the others
        return SignatureResult(field_name=name, verdict="invalid", problem=str(exc) or type(exc).__name__)


def verify_pdf(
    pdf: bytes,
    trust_roots: list[bytes] | tuple[bytes, ...] = (),
    crls: list[bytes] | tuple[bytes, ...] = (),
) -> Verification:
    """Check every signature of ``pdf``.

    ``trust_roots`` are PEM or DER certificates (only these are trusted); ``crls`` are PEM
    or DER certificate revocation lists.  No network is used: without revocation data the
    revocation check soft-fails; a certificate revoked in a supplied CRL is invalid.
    A file that is not a PDF at all raises :class:`UserError`; a damaged PDF gives the
    verdict "invalid".
    """
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = bytes(pdf)
    try:
        roots = _certs(trust_roots)
        revocation = _crls(crls)
    except Exception as exc:
        raise UserError(_("A trusted root or revocation list cannot be read: {reason}").format(reason=exc)) from exc
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = list(reader.embedded_signatures)
    except Exception as exc:
        if b"%PDF-" not in data[:1024] and b"startxref" not in data[-2048:]:
            raise UserError(_("This is not a PDF file.")) from exc
        return Verification([], "invalid", problem=str(exc) or type(exc).__name__)
    if not sigs:
        return Verification([], "unsigned")
    context_args: dict[str, Any] = {
        "trust_roots": roots, "crls": revocation, "allow_fetching": False,
        "revocation_mode": "soft-fail",
    }
    results = [_one(sig, context_args) for sig in sigs]
    verdict = max((r.verdict for r in results), key=_SEVERITY.__getitem__)
    # Bytes added after the last signature that no signature covers count as a change.
    if verdict == "valid" and not any(r.covers_whole_file for r in results):
        verdict = "modified"
    return Verification(results, verdict)
