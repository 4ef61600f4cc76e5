"""Digital signatures on report PDFs: PAdES B-B and B-T signing and verification.

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
as revoked in a supplied CRL makes the signature invalid.  A B-B signature is
judged at the time of verification, since it carries no trusted timestamp; a
B-T signature (RFC 3161 timestamp from a server trusted like the signers) can
be judged at its timestamp's time.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from dbcomm.errors import UserError
from dbcomm.i18n import _
from dbcomm.services import fonts

# pyHanko logs every failed check with a traceback; the results say it all.
for _logger in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_logger).addHandler(logging.NullHandler())
log = logging.getLogger(__name__)

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
    closer: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    """Releases what the identity holds open (a token session); ``None`` for a certificate file."""

    def close(self) -> None:
        if self.closer is not None:
            self.closer()


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
    """Vietnam's time, as people read it: ``27/11/2026 20:05``."""
    return moment.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M")


def check_usable(identity: Identity, now: datetime | None = None) -> None:
    """Refuse a certificate that is expired, not yet valid, or not meant for signing."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if now > identity.not_after:
        raise UserError(_("The certificate of {name} expired on {end} (valid from {start} to {end}). Choose a "
                          "certificate that is still valid, or ask the certificate provider to renew it.").format(
            name=identity.holder_name, start=_fmt(identity.not_before), end=_fmt(identity.not_after)))
    if now < identity.not_before:
        raise UserError(_("The certificate of {name} is not valid yet: it is valid from {start} to {end}. Check "
                          "the computer's date, or wait until then.").format(
            name=identity.holder_name, start=_fmt(identity.not_before), end=_fmt(identity.not_after)))
    usage = identity.key_usage
    if usage is not None and not usage & {"digital_signature", "non_repudiation"}:
        raise UserError(_("The certificate of {name} is not meant for signing documents "
                          "(its key usage has neither digital signature nor non-repudiation).").format(
            name=identity.holder_name))


# --- the text stamp of a signed annex (Nghị định 30/2020, Phụ lục I) ------------------

STAMP_FONT_SIZE = 10
"""Size of the annex stamp's text, in points (Times New Roman 10 in the decree)."""
_STAMP_LEADING = 12
_STAMP_PAD = 1.0
_MM = 72 / 25.4
STAMP_TOP_MM = 6.0
"""Distance from the top edge of the page to the top of the annex stamp."""
STAMP_RIGHT_MM = 15.0
"""Distance from the right edge of the page to the right end of the annex stamp (the smallest right margin)."""
VN_TIME = timezone(timedelta(hours=7))


def annex_stamp_text(number: str, when: datetime) -> str:
    """The annex stamp: ``Số: <number>`` and the signing time in ISO 8601 at +07:00, one per line.

    A naive ``when`` is taken as UTC; microseconds are dropped.  A ``number`` that already
    starts with "Số:" is not given the label twice.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    moment = when.astimezone(VN_TIME).replace(microsecond=0)
    number = unicodedata.normalize("NFC", number).strip()
    if number.casefold().startswith("số:"):
        number = number[3:].strip()
    return f"Số: {number}\n{moment.isoformat()}"


_advances: tuple[dict[int, str], dict[str, tuple[int, int]], int] | None = None


def text_stamp_size(text: str) -> tuple[float, float]:
    """Width and height in points that the text stamp ``text`` needs (upright, before any page rotation)."""
    global _advances
    if _advances is None:
        from fontTools.ttLib import TTFont

        with TTFont(str(fonts.font_path(fonts.STAMP_FONT)), lazy=True) as font:
            _advances = (dict(font.getBestCmap()), dict(font["hmtx"].metrics), int(font["head"].unitsPerEm))
    cmap, metrics, units = _advances
    missing = metrics.get(".notdef", (units // 2, 0))
    lines = unicodedata.normalize("NFC", text).split("\n")
    widest = max(sum(metrics.get(cmap.get(ord(ch), ".notdef"), missing)[0] for ch in line) for line in lines)
    width = widest * STAMP_FONT_SIZE / units + 2 * _STAMP_PAD + 2
    height = len(lines) * _STAMP_LEADING + 2 * _STAMP_PAD + 3
    return round(width, 1), round(height, 1)


def _page_geometry(pdf: bytes, page: int) -> tuple[tuple[float, float, float, float], int]:
    """The visible box (CropBox, else MediaBox) of a page as (llx, lly, urx, ury), and its rotation."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        count = int(reader.root["/Pages"]["/Count"])
    except Exception as exc:
        raise UserError(_("The file is not a readable PDF: {reason}").format(reason=exc)) from exc
    if not 0 <= page < count:
        raise UserError(_("The document has no page {page}.").format(page=page + 1))
    page_dict = reader.find_page_for_modification(page)[0].get_object()

    def inherited(key: str) -> Any:
        node = page_dict
        for _depth in range(64):  # a page tree deeper than this is damaged
            if key in node:
                return node[key]
            if "/Parent" not in node:
                break
            node = node["/Parent"].get_object()
        return None

    box = inherited("/CropBox") or inherited("/MediaBox")
    if box is None:
        raise UserError(_("The page {page} of the document has no size.").format(page=page + 1))
    x1, y1, x2, y2 = (float(v) for v in box)
    rotation = int(inherited("/Rotate") or 0) % 360
    if rotation not in (0, 90, 180, 270):
        rotation = 0  # not a multiple of 90: viewers ignore it
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), rotation


def stamp_box(pdf: bytes, width: float, height: float, *, page: int = 0) -> Box:
    """Where a stamp of ``width`` × ``height`` points goes: the top-right margin of the page as seen.

    The box is in the page's own coordinates: on a page turned by ``/Rotate`` 90 or 270 its
    width and height are swapped, and :func:`sign_pdf` turns the stamp's text to match.
    """
    (llx, lly, urx, ury), rotation = _page_geometry(pdf, page)
    top, right = STAMP_TOP_MM * _MM, STAMP_RIGHT_MM * _MM
    if rotation == 0:
        return page, urx - right - width, ury - top - height, width, height
    if rotation == 90:  # seen: the left edge is at the top, the top edge at the right
        return page, llx + top, ury - right - width, height, width
    if rotation == 180:
        return page, llx + right, lly + top, width, height
    return page, urx - top - height, lly + right, height, width


def _page_rotation(pdf: bytes, page: int) -> int:
    return _page_geometry(pdf, page)[1]


def _text_stamp_style(text: str, rotation: int) -> Any:
    from pyhanko.pdf_utils import generic, layout
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStamp, TextStampStyle

    class _TurnedTextStamp(TextStamp):
        def as_form_xobject(self) -> Any:
            xobject = super().as_form_xobject()
            if rotation:  # undo the page's turn, so that the text reads upright on screen
                c, s = {90: (0, 1), 180: (-1, 0), 270: (0, -1)}[rotation]
                xobject["/Matrix"] = generic.ArrayObject(generic.NumberObject(v) for v in (c, s, -s, c, 0, 0))
            return xobject

    @dataclass(frozen=True)
    class _TurnedTextStampStyle(TextStampStyle):
        def create_stamp(self, writer: Any, box: Any, text_params: dict[str, Any]) -> Any:
            if rotation in (90, 270) and box.width_defined and box.height_defined:
                box = layout.BoxConstraints(width=box.height, height=box.width)
            return _TurnedTextStamp(writer=writer, style=self, box=box, text_params=text_params)

    font = GlyphAccumulatorFactory(str(fonts.font_path(fonts.STAMP_FONT)), font_size=STAMP_FONT_SIZE)
    return _TurnedTextStampStyle(
        stamp_text=text.replace("%", "%%"),  # pyHanko fills in %(…)s parameters
        text_box_style=TextBoxStyle(
            font=font, font_size=STAMP_FONT_SIZE, leading=_STAMP_LEADING, text_color=(0, 0, 0),
            box_layout_rule=layout.SimpleBoxLayoutRule(  # no margin of its own around the text
                x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MIN,
                inner_content_scaling=layout.InnerScaling.NO_SCALING)),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MAX, y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins.uniform(_STAMP_PAD),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT),
        border_width=0, background=None,
    )


@dataclass(frozen=True)
class SignOutcome:
    """What :func:`sign_pdf_ex` made."""

    data: bytes = field(repr=False)
    level: str  # "B-B" | "B-T"
    timestamp_problem: str = ""
    """Why a timestamp was asked for and not obtained (translated); empty otherwise."""


class _TimestampFailed(Exception):
    pass


def _timestamper(url: str, timeout: float) -> Any:
    """An RFC 3161 client that remembers why it failed, so that signing can go on without it."""
    from pyhanko.sign.timestamps import HTTPTimeStamper

    class _Recording(HTTPTimeStamper):  # type: ignore[misc]
        failure: str = ""

        async def _guarded(self, call: Any) -> Any:
            try:
                return await call
            except _TimestampFailed:
                raise
            except Exception as exc:
                self.failure = _timestamp_reason(exc, timeout)
                raise _TimestampFailed(self.failure) from exc

        async def async_timestamp(self, message_digest: Any, md_algorithm: Any) -> Any:
            return await self._guarded(super().async_timestamp(message_digest, md_algorithm))

        async def async_dummy_response(self, md_algorithm: Any) -> Any:
            return await self._guarded(super().async_dummy_response(md_algorithm))

    return _Recording(url, timeout=timeout)


def _timestamp_reason(exc: BaseException, timeout: float) -> str:
    import asyncio

    import aiohttp

    seen: list[BaseException] = []  # pyHanko wraps the network error: look at the causes too
    cause: BaseException | None = exc
    while cause is not None and cause not in seen and len(seen) < 10:
        seen.append(cause)
        cause = cause.__cause__ or cause.__context__
    for cause in seen[1:]:
        if isinstance(cause, (asyncio.TimeoutError, TimeoutError, aiohttp.ClientError)):
            exc = cause
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return _("the timestamp server did not answer within {seconds:g} seconds").format(seconds=timeout)
    if isinstance(exc, aiohttp.ClientResponseError) and exc.status >= 400:
        return _("the timestamp server answered with an error (HTTP {status})").format(status=exc.status)
    if isinstance(exc, aiohttp.ClientConnectionError):
        return _("the timestamp server cannot be reached ({reason})").format(reason=str(exc) or type(exc).__name__)
    return _("the timestamp server gave an unusable answer ({reason})").format(
        reason=str(exc) or type(exc).__name__)


def _embed(writer: Any, name: str, data: bytes, mime: str) -> None:
    from pyhanko.pdf_utils import embed, generic

    stream = embed.EmbeddedFileObject.from_file_data(writer, data, mime_type=mime, params=embed.EmbeddedFileParams(
        embed_size=True, embed_checksum=True))
    embed.embed_file(writer, embed.FileSpec(file_spec_string=name, file_name=name, embedded_data=stream,
                                            af_relationship=generic.NameObject("/Data")))


def attachments_of(pdf: bytes) -> dict[str, bytes]:
    """The files embedded in a PDF (name → bytes); raises :class:`UserError` for a PDF that
    cannot be read."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        root = reader.root
        out: dict[str, bytes] = {}
        if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
            return out
        pending = [root["/Names"]["/EmbeddedFiles"]]
        while pending:
            node = pending.pop()
            node = node.get_object() if hasattr(node, "get_object") else node
            kids = node.get("/Kids")
            for kid in (kids.get_object() if kids is not None else []):
                pending.append(kid)
            names = node.get("/Names")
            names = names.get_object() if names is not None else []
            for i in range(0, len(names) - 1, 2):
                spec = names[i + 1].get_object()
                name = str(spec.get("/UF", spec.get("/F", names[i])))
                out[name] = spec["/EF"]["/F"].get_object().data
        return out
    except Exception as exc:
        raise UserError(_("The file is not a readable PDF: {reason}").format(reason=exc)) from exc


def sign_pdf_ex(
    pdf: bytes,
    identity: Identity,
    *,
    field_name: str,
    box: Box | None = None,
    image_png: bytes | None = None,
    stamp_text: str | None = None,
    reason: str = "",
    location: str = "",
    signing_time: datetime | None = None,
    timestamp_url: str | None = None,
    timestamp_timeout: float = 60,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> SignOutcome:
    """Sign ``pdf`` (PAdES, SHA-256) as an incremental update; say which level was reached.

    ``attachments`` — ``(file name, data, MIME type)`` — are embedded in the PDF in the
    revision the signature covers: a changed byte of them breaks the signature.

    Appearance: with ``box`` and ``image_png`` the signature is visible there, showing the image
    (a transparent PNG) stretched to the box.  With ``stamp_text`` it shows that text instead
    (Noto Serif 10, black, no border, no background — see :func:`annex_stamp_text`), in ``box``
    or, without a box, in the top-right margin of page 1 (:func:`stamp_box`); the text is drawn
    as given, so pass the time it shows as ``signing_time`` too.  Otherwise the signature is
    invisible (on the page of ``box``, if given).  ``image_png`` and ``stamp_text`` exclude each
    other.  ``signing_time`` (default: now) is the time the signer claims; a naive time is UTC.

    Level: with ``timestamp_url`` the signature gets an RFC 3161 timestamp from that server
    (PAdES B-T).  If the server cannot be reached within ``timestamp_timeout`` seconds or answers
    badly, the document is signed without one (B-B) and ``timestamp_problem`` says why.
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
        IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)), strict=False)
        existing = {name: filled for name, filled, _ref in fields.enumerate_sig_fields(
            PdfFileReader(io.BytesIO(bytes(pdf)), strict=False))}
    except Exception as exc:
        raise UserError(_("The file is not a readable PDF: {reason}").format(reason=exc)) from exc
    if existing.get(field_name) is not None:
        raise UserError(_("The signature field “{field}” is signed already.").format(field=field_name))
    if image_png is not None and stamp_text is not None:
        raise UserError(_("A signature shows either an image or a text stamp, not both."))
    if stamp_text is not None:
        stamp_text = unicodedata.normalize("NFC", stamp_text).strip("\n")
        if not stamp_text.strip():
            raise UserError(_("The text of the signature stamp is empty."))
        if box is None:
            box = stamp_box(pdf, *text_stamp_size(stamp_text))
    if box is not None and (box[3] <= 0 or box[4] <= 0):
        raise UserError(_("The signature box must have a width and a height."))
    style: Any = None
    if box is not None and image_png is not None:
        from PIL import Image

        try:
            image: Image.Image = Image.open(io.BytesIO(image_png))
            image.load()
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")
        except Exception as exc:
            raise UserError(_("The signature image cannot be read: {reason}").format(reason=exc)) from exc
        from pyhanko.pdf_utils import layout

        # The image fills the box exactly (no inner margin): the box is the image's real size
        # on paper — a seal's diameter must print as measured.
        edge_to_edge = layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(0, 0, 0, 0), inner_content_scaling=layout.InnerScaling.STRETCH_FILL)
        style = StaticStampStyle(background=PdfImage(image), background_opacity=1.0, border_width=0,
                                 background_layout=edge_to_edge)
    elif box is not None and stamp_text is not None:
        style = _text_stamp_style(stamp_text, _page_rotation(pdf, box[0]))
    spec = None
    if field_name not in existing:
        if box is None:
            spec = fields.SigFieldSpec(field_name)
        elif style is None:
            spec = fields.SigFieldSpec(field_name, on_page=box[0])
        else:
            page, x, y, w, h = box
            spec = fields.SigFieldSpec(field_name, on_page=page, box=(round(x), round(y), round(x + w), round(y + h)))
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
    )

    def attempt(timestamper: Any) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)), strict=False)
        for name, data, mime in attachments or ():
            _embed(writer, name, data, mime)
        out = _Signer(meta, identity.signer, timestamper=timestamper, stamp_style=style,
                      new_field_spec=spec).sign_pdf(writer, in_place=False)
        return bytes(out.getvalue())

    problem = ""
    try:
        if timestamp_url:
            stamper = _timestamper(timestamp_url, timestamp_timeout)
            try:
                return SignOutcome(attempt(stamper), "B-T")
            except Exception:
                if not stamper.failure:
                    raise
                problem = stamper.failure
                log.info("Signed without a timestamp: %s", problem)
        return SignOutcome(attempt(None), "B-B", problem)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(_("The document could not be signed: {reason}").format(reason=exc)) from exc


def sign_pdf(pdf: bytes, identity: Identity, **options: Any) -> bytes:
    """Sign ``pdf`` and return the signed bytes: :func:`sign_pdf_ex` (same options) without the
    report of the level reached."""
    return sign_pdf_ex(pdf, identity, **options).data


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
    timestamp_time: datetime | None = None
    """The time of the signature's timestamp token (RFC 3161), when it has a sound one."""
    timestamp_trusted: bool = False
    """The timestamp authority's certificate chains to a trusted root."""
    level: str = "B-B"  # PAdES level: "B-T" with a sound timestamp token, else "B-B"


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
            if self.signatures and all(r.verdict != "modified" for r in self.signatures):
                return _("Data was added to the file after its last signature: it is not the file that was "
                         "signed. Ask the sender for the original file.")
            return _("The document was changed after it was signed. Ask the sender for the original file.")
        if self.problem or (self.signatures and all(r.problem for r in self.signatures)):
            return _("The signatures cannot be verified: the file is damaged or incomplete (perhaps cut off while "
                     "being copied). Ask the sender for the file again.")
        return _("At least one signature is invalid: the document or the signature was altered, or the "
                 "certificate was revoked. Do not rely on this file; ask the sender for the original.")


def _friendly(name: Any) -> str:
    """``Lò Văn Thắng, Tỉnh Điện Biên, VN`` — the parts of a certificate name people read."""
    parts = name.native if isinstance(name.native, dict) else {}
    wanted = ("common_name", "organizational_unit_name", "organization_name", "locality_name",
              "state_or_province_name", "country_name")
    values = []
    for key in wanted:
        value = parts.get(key)
        for item in value if isinstance(value, list) else [value]:
            if item and str(item) not in values:
                values.append(str(item))
    return unicodedata.normalize("NFC", ", ".join(values) or name.human_friendly)


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


class _NotDer(Exception):
    """The bytes are not one strict DER encoding."""


# Universal tags that DER always encodes primitive (X.690 10.2: no constructed strings) and
# those that are always constructed.
_PRIMITIVE_TAGS = frozenset({1, 2, 3, 4, 5, 6, 9, 10, 12, 13, 14, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30})
_CONSTRUCTED_TAGS = frozenset({8, 11, 16, 17, 29})
_OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")  # 1.2.840.113549.1.7.2, with its header
_OID_TIMESTAMP_TOKEN = bytes.fromhex("060b2a864886f70d010910020e")  # 1.2.840.113549.1.9.16.2.14


def _der_element(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The DER identifier and length at ``pos``: (identifier octet, content start, element end).

    Strict: definite lengths only, in the shortest form; tag numbers in the shortest form.
    """
    if pos >= end:
        raise _NotDer
    first = data[pos]
    pos += 1
    if first & 0x1F == 0x1F:  # high tag number form: base 128, no leading 0x80, only for tags ≥ 31
        if pos >= end or data[pos] == 0x80:
            raise _NotDer
        tag = 0
        while True:
            if pos >= end or tag >= 1 << 21:
                raise _NotDer
            tag = tag << 7 | data[pos] & 0x7F
            pos += 1
            if not data[pos - 1] & 0x80:
                break
        if tag < 0x1F:
            raise _NotDer
    if pos >= end:
        raise _NotDer
    length = data[pos]
    pos += 1
    if length >= 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end or data[pos] == 0:  # indefinite, huge or padded
            raise _NotDer
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
        if length < 0x80:  # the short form was required
            raise _NotDer
    if pos + length > end:
        raise _NotDer
    return first, pos, pos + length


def _der_check(data: bytes, start: int, end: int, *, ordered: bool = False) -> None:
    """``data[start:end]`` is a run of strict DER elements, checked all the way down.

    Universal types are primitive or constructed as DER requires, with the basic content rules
    of BOOLEAN, INTEGER, NULL and OBJECT IDENTIFIER; the elements of a SET are in DER order
    (``ordered``: this run is the content of one).
    """
    previous = b""
    pos = start
    while pos < end:
        first, body, after = _der_element(data, pos, end)
        constructed = bool(first & 0x20)
        if first < 0x40:  # universal class
            tag = first & 0x1F
            if tag == 0 or (constructed and tag in _PRIMITIVE_TAGS) or (not constructed and tag in _CONSTRUCTED_TAGS):
                raise _NotDer
            size = after - body
            if (tag == 1 and size != 1) or (tag == 2 and size == 0) or (tag == 5 and size != 0) or (
                    tag == 6 and (size == 0 or data[after - 1] & 0x80)):
                raise _NotDer
        if constructed:
            _der_check(data, body, after, ordered=first == 0x31)
        if ordered:
            encoding = data[pos:after]
            if encoding < previous:
                raise _NotDer
            previous = encoding
        pos = after


def _der_items(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements of ``data[start:end]``: (identifier octet, start, content start, end)."""
    items = []
    while start < end:
        first, body, after = _der_element(data, start, end)
        items.append((first, start, body, after))
        start = after
    return items


def _der_set_of(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements of a SET OF whose tag is implicit (so ``_der_check`` cannot know it is one):
    in DER order too."""
    items = _der_items(data, start, end)
    encodings = [data[s:e] for _f, s, _b, e in items]
    if encodings != sorted(encodings):
        raise _NotDer
    return items


def _cms_order(data: bytes, start: int, end: int) -> None:
    """In the CMS ContentInfo ``data[start:end]`` (already checked by ``_der_check``), the SET OF
    fields that SignedData tags implicitly — certificates, revocation lists, signed and unsigned
    attributes — are in DER order, and so are those of a timestamp token among the unsigned
    attributes."""
    _first, body, after = _der_element(data, start, end)
    content_type, content = _der_items(data, body, after)  # a ContentInfo has exactly these two
    if data[content_type[1]:content_type[3]] != _OID_SIGNED_DATA or content[0] != 0xA0:
        return
    ((_f, _s, body, after),) = _der_items(data, content[2], content[3])
    fields = _der_items(data, body, after)
    for first, _s, field_body, field_end in fields:
        if first in (0xA0, 0xA1):  # certificates [0], crls [1]
            _der_set_of(data, field_body, field_end)
    signer_infos = fields[-1]
    for _f, _s, info_body, info_end in _der_items(data, signer_infos[2], signer_infos[3]):
        for first, _s, part_body, part_end in _der_items(data, info_body, info_end):
            if first not in (0xA0, 0xA1):  # signed [0] and unsigned [1] attributes
                continue
            for _f, _s, attribute_body, attribute_end in _der_set_of(data, part_body, part_end):
                kind, values = _der_items(data, attribute_body, attribute_end)
                if data[kind[1]:kind[3]] == _OID_TIMESTAMP_TOKEN:
                    for _f, token_start, _b, token_end in _der_items(data, values[2], values[3]):
                        _cms_order(data, token_start, token_end)


def _reencodes_the_same(value: Any) -> bool:
    original = value.dump()
    return bool(value.dump(force=True) == original)


def _cms_schema(info: Any) -> bool:
    """The parts of a CMS SignedData that no signature covers and pyHanko reads little or not
    at all — versions, algorithm lists, signer identifiers, revocation lists, unsigned
    attributes — follow the CMS syntax and encode back to the same DER; a timestamp token among
    the unsigned attributes is checked the same way.  The certificates are left out: re-encoding
    them costs a tenth of a second per signature, and each one the check relies on is verified
    against its issuer's signature (the DER walk checks how every one is encoded)."""
    if info["content_type"].native != "signed_data":
        return False
    signed_data = info["content"]
    for key in ("version", "digest_algorithms", "encap_content_info", "crls"):
        if not _reencodes_the_same(signed_data[key]):
            return False
    for signer in signed_data["signer_infos"]:
        for key in ("version", "sid", "digest_algorithm", "signed_attrs", "signature_algorithm", "signature"):
            if not _reencodes_the_same(signer[key]):
                return False
        for attribute in signer["unsigned_attrs"] if signer["unsigned_attrs"].native is not None else ():
            if attribute["type"].native == "signature_time_stamp_token":
                if not (_reencodes_the_same(attribute["type"])
                        and all(_cms_schema(token) for token in attribute["values"])):
                    return False
            elif not _reencodes_the_same(attribute):
                return False
    return True


def _contents_well_formed(sig: Any) -> bool:
    """The signature value is one CMS object in strict DER followed by zero padding only.

    PDF requires the signature value to be DER-encoded; the padding is not hashed, so a byte
    changed there, or in a part of the value that no signature covers, must show up here.  The
    encoding is walked once (``_der_check``, ``_cms_order``) and the unsigned parts are read
    against the CMS syntax (``_cms_schema``): re-encoding the whole parsed object with
    asn1crypto, certificates included, took a tenth of a second per signature.
    """
    raw = bytes(sig.sig_object["/Contents"])
    try:
        _first, _body, used = _der_element(raw, 0, len(raw))
        if raw[used:].strip(b"\x00"):
            return False
        _der_check(raw, 0, used)
        _cms_order(raw, 0, used)
        from asn1crypto import cms

        return _cms_schema(cms.ContentInfo.load(raw[:used], strict=True))
    except Exception:  # noqa: BLE001 - a part missing, or not what CMS has there: not well formed
        return False


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


def _paths_to_objects(resolver: Any) -> dict[Any, set[Any]]:
    """Every path from the trailer to each indirect object of a revision — the table pyHanko's
    difference analysis builds (``HistoricalResolver._load_reverse_xref_cache``) to judge what a
    later revision replaced, built the same way with one shortcut: a dictionary or array with
    no indirect reference inside is not walked.  pyHanko walks it once for every path that
    reaches it (a report's font widths, once per page), and that walk was nine tenths of
    checking a signed and sealed report; it adds nothing to the table.
    ``tests/test_signing.py`` compares the two tables."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import RawPdfPath

    Indirect, Dictionary, Array = generic.IndirectObject, generic.DictionaryObject, generic.ArrayObject
    collected: dict[Any, set[tuple[str | int, ...]]] = {}
    has_refs: dict[int, bool] = {}

    def refs_inside(obj: Any) -> bool:
        if isinstance(obj, Indirect):
            return True
        if not isinstance(obj, (Dictionary, Array)):
            return False
        known = has_refs.get(id(obj))
        if known is None:
            known = has_refs[id(obj)] = any(refs_inside(v) for v in (obj.values() if isinstance(obj, Dictionary)
                                                                       else obj))
        return known

    pages_ref = resolver.root.raw_get("/Pages")
    pages_path: tuple[str | int, ...] = ("/Root", "/Pages")
    page_tree: dict[Any, tuple[str | int, ...]] = {}
    if isinstance(pages_ref, Indirect):
        page_tree[pages_ref.reference] = pages_path

    def page_tree_refs(node: Any, path: tuple[str | int, ...]) -> Any:
        for ix, kid in enumerate(node["/Kids"]):
            kid_path = (*path, "/Kids", ix)
            if isinstance(kid, Indirect):
                yield kid.reference, kid_path
            kid = kid.get_object()
            if kid.get("/Type", None) == "/Pages":
                yield from page_tree_refs(kid, kid_path)

    for ref, path in page_tree_refs(pages_ref.get_object(), pages_path):
        if ref in page_tree:
            raise ValueError("circular page tree")
        page_tree[ref] = path
    struct_tree: set[Any] = set()

    def struct_tree_refs(element: Any) -> Any:
        try:
            children = element["/K"]
        except KeyError:
            return
        if not isinstance(children, Array):
            children = (children,)
        for child in children:
            child_ref = None
            if isinstance(child, Indirect):
                child_ref = child.reference
                child = child.get_object()
            if not isinstance(child, Dictionary):
                continue
            try:
                if child["/Type"] != "/StructElem":
                    continue
            except KeyError:
                pass
            if child_ref is not None:
                yield child_ref
            yield from struct_tree_refs(child)

    try:
        struct_root = resolver.root.raw_get("/StructTreeRoot").get_object()
        for ref in struct_tree_refs(struct_root):
            if ref in struct_tree:
                raise ValueError("circular structure tree")
            struct_tree.add(ref)
    except KeyError:
        pass

    def walk(obj: Any, path: tuple[str | int, ...], seen: tuple[Any, ...], in_struct_tree: bool) -> None:
        if isinstance(obj, Indirect):
            ref = obj.reference
            if ref in seen:
                return
            collected.setdefault(ref, set()).add(path)
            seen = (*seen, ref)
            obj = resolver(ref)
            if page_tree.get(ref, path) != path:  # a page tree node only through the page tree
                return
            if not in_struct_tree and ref in struct_tree:
                return
        if isinstance(obj, Dictionary):
            if not refs_inside(obj):
                return
            for key, value in obj.items():
                if key == "/Parent" or (in_struct_tree and key == "/P"):
                    continue
                walk(value, (*path, key), seen, in_struct_tree or (
                    key == "/K" and path == ("/Root", "/StructTreeRoot")))
        elif isinstance(obj, Array):
            if not refs_inside(obj):
                return
            for ix, value in enumerate(obj):
                walk(value, (*path, ix), seen, in_struct_tree)

    walk(resolver.trailer_view, (), (), False)
    return {ref: {RawPdfPath(*path) for path in paths} for ref, paths in collected.items()}


# pyHanko versions whose own table ``_paths_to_objects`` was compared with (the test does it for
# whichever version is installed); with any other, pyHanko builds the table itself.
_PATHS_CHECKED_WITH = ("0.38.",)


def _prepare_difference_analysis(sig: Any) -> None:
    """Give pyHanko the table of paths of the revision ``sig`` signed, built quickly
    (:func:`_paths_to_objects`), when later revisions will be compared with it.  Anything
    unexpected leaves pyHanko to build the table itself."""
    try:
        from pyhanko.version import __version__

        if not __version__.startswith(_PATHS_CHECKED_WITH):
            return
        reader = sig.reader
        revision = sig.signed_revision
        if revision >= reader.xrefs.total_revisions - 1:
            return  # nothing was added after this signature: no difference to analyse
        resolver = reader.get_historical_resolver(revision)
        if getattr(resolver, "_indirect_object_access_cache", False) is None:
            resolver._indirect_object_access_cache = _paths_to_objects(resolver)
    except Exception:  # noqa: BLE001 - pyHanko's own walk then does the work, and judges the file
        log.debug("pyHanko builds the table of paths itself", exc_info=True)


def _modification(status: Any) -> str:
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = status.modification_level
    if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return "none"
    if level == ModificationLevel.FORM_FILLING:
        return "form_fill"
    return "other"


def _one(sig: Any, context_args: dict[str, Any], ts_roots: list[Any]) -> SignatureResult:
    from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    try:
        name = str(sig.field_name)
    except Exception:
        name = "?"
    try:
        usage = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
        ts_args = {**context_args, "trust_roots": [*context_args["trust_roots"], *ts_roots]}
        _prepare_difference_analysis(sig)
        status = validate_pdf_signature(sig, ValidationContext(**context_args),
                                        ts_validation_context=ValidationContext(**ts_args), key_usage_settings=usage)
        token: Any = status.timestamp_validity
        token_ok = token is not None and bool(token.intact) and bool(token.valid)
        if token_ok and token.trusted and (not status.trusted or status.revoked):
            # A trusted timestamp proves the signature existed then: judge the certificate at that time.
            status = validate_pdf_signature(
                # The revocation lists at hand are newer than that time: let them speak for it.
                sig, ValidationContext(**context_args, moment=token.timestamp, retroactive_revinfo=True),
                ts_validation_context=ValidationContext(**ts_args), key_usage_settings=usage)
        cert = status.signing_cert
        padding_ok = _contents_well_formed(sig) and _cms_consistent(sig, cert)
        modification = _modification(status)
        covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        intact = bool(status.intact) and padding_ok
        valid = bool(status.valid) and padding_ok
        problem = ""
        if token is not None and not token_ok:
            problem = _("the signature's timestamp is damaged or does not match the signature")
        if not (intact and valid) or status.revoked or problem:
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
            signing_time=when, subject=_friendly(cert.subject), issuer=_friendly(cert.issuer),
            not_before=validity["not_before"].native, not_after=validity["not_after"].native,
            intact=intact, valid=valid, trusted=bool(status.trusted), revoked=bool(status.revoked),
            modification=modification, covers_whole_file=covers, problem=problem,
            timestamp_time=token.timestamp if token_ok else None,
            timestamp_trusted=token_ok and bool(token.trusted),
            level="B-T" if token_ok else "B-B",
        )
    except Exception as exc:  # a damaged signature must never stop the check of the others
        return SignatureResult(field_name=name, verdict="invalid", problem=str(exc) or type(exc).__name__)


def verify_pdf(
    pdf: bytes,
    trust_roots: list[bytes] | tuple[bytes, ...] = (),
    crls: list[bytes] | tuple[bytes, ...] = (),
    timestamp_roots: list[bytes] | tuple[bytes, ...] = (),
) -> Verification:
    """Check every signature of ``pdf``.

    ``trust_roots`` are PEM or DER certificates (only these are trusted), for signers and for
    timestamp authorities alike; ``timestamp_roots`` are further roots trusted for timestamps
    only.  ``crls`` are PEM or DER certificate revocation lists.  No network is used: without
    revocation data the revocation check soft-fails; a certificate revoked in a supplied CRL is
    invalid.  A signature with a trusted timestamp (B-T) whose certificate fails the check now
    (expired or revoked since) is judged again at the timestamp's time; a timestamp that does
    not check out makes the signature invalid.
    A file that is not a PDF at all raises :class:`UserError`; a damaged PDF gives the
    verdict "invalid".
    """
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = bytes(pdf)
    try:
        roots = _certs(trust_roots)
        ts_roots = _certs(timestamp_roots)
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
    results = [_one(sig, context_args, ts_roots) for sig in sigs]
    verdict = max((r.verdict for r in results), key=_SEVERITY.__getitem__)
    # Bytes added after the last signature that no signature covers count as a change.
    if verdict == "valid" and not any(r.covers_whole_file for r in results):
        verdict = "modified"
    return Verification(results, verdict)
