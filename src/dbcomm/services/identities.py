"""Signing identities: the leader's certificate and signature image, the office's and its seal.

A record says where the key is (a PKCS#12 file, or a key on a PKCS#11 token) and keeps the
certificate, to show who holds it and until when, and the image the signature shows on the
page.  Passwords and PINs are asked each time the key is used and never stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from dbcomm.domain.roles import Perm
from dbcomm.domain.text import nfc_line
from dbcomm.domain.validation import FieldError
from dbcomm.errors import NotFoundError, UserError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import audit, signing
from dbcomm.services.auth import require
from dbcomm.store.engine import Database
from dbcomm.store.models import SigningIdentity

ROLES = ("person", "office")
SOURCES = ("file", "token")
SEAL_MM_RANGE = (20.0, 60.0)  # the round seals of Vietnamese offices are 30–42 mm across
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_SIDE = 5000


@dataclass(frozen=True)
class IdentityInfo:
    id: int
    uuid: str
    role: str  # person | office
    label: str
    source: str  # file | token
    file_path: str
    module: str
    token_label: str
    key_label: str
    holder: str
    issuer: str
    not_before: datetime | None
    not_after: datetime | None
    has_image: bool
    seal_diameter_mm: float

    @property
    def where(self) -> str:
        if self.source == "file":
            return self.file_path
        return f"{self.token_label} / {self.key_label}"

    def status(self, now: datetime | None = None) -> str:
        """``valid``, ``expired`` or ``not_yet`` (the certificate's dates against ``now``)."""
        now = now or datetime.now(UTC)
        if self.not_after is not None and now > self.not_after.replace(tzinfo=UTC):
            return "expired"
        if self.not_before is not None and now < self.not_before.replace(tzinfo=UTC):
            return "not_yet"
        return "valid"


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    warnings: list[str]


def _info(r: SigningIdentity) -> IdentityInfo:
    return IdentityInfo(r.id, r.uuid, r.role, r.label, r.source, r.file_path, r.module, r.token_label,
                        r.key_label, r.holder, r.issuer, r.not_before, r.not_after, r.image_png is not None,
                        r.seal_diameter_mm)


def check_image(png: bytes, kind: str) -> ImageInfo:
    """A signature (``kind="signature"``) or seal (``"seal"``) image must be a PNG with a
    transparent background; a signature that is not blue or a seal that is not red is
    accepted with a warning."""
    from PIL import Image

    what = _("The signature image") if kind == "signature" else _("The seal image")
    if len(png) > IMAGE_MAX_BYTES:
        raise UserError(_("{what} is too large ({size} MB); use a PNG under 5 MB.").format(
            what=what, size=f"{len(png) / 1048576:.1f}"))
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise UserError(_("{what} must be a PNG file with a transparent background.").format(what=what))
    try:
        image = Image.open(io.BytesIO(png))
        width, height = image.size
        if max(width, height) > IMAGE_MAX_SIDE:
            raise UserError(_("{what} is too large ({w} × {h} pixels).").format(
                what=what, w=image.size[0], h=image.size[1]))
        image.load()
    except UserError:
        raise
    except Exception as exc:
        raise UserError(_("{what} cannot be read: {reason}").format(what=what, reason=exc)) from exc
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    rgba = image.convert("RGBA")
    lowest_alpha = min(rgba.getchannel("A").tobytes())
    if not has_alpha or lowest_alpha > 0:
        raise UserError(_("{what} has no transparent background: save it as a PNG with transparency, "
                          "so that it does not hide the text under it.").format(what=what))
    warnings: list[str] = []
    small = rgba.copy()
    small.thumbnail((200, 200))
    raw = small.tobytes()  # RGBA, four bytes a pixel
    opaque = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 4) if raw[i + 3] > 128]
    if not opaque:
        raise UserError(_("{what} is empty: every pixel is transparent.").format(what=what))
    r_mean = sum(p[0] for p in opaque) / len(opaque)
    g_mean = sum(p[1] for p in opaque) / len(opaque)
    b_mean = sum(p[2] for p in opaque) / len(opaque)
    if kind == "signature" and not (b_mean > r_mean + 20 and b_mean > g_mean):
        warnings.append(_("The signature is usually blue; this image is not."))
    if kind == "seal" and not (r_mean > g_mean + 40 and r_mean > b_mean + 40):
        warnings.append(_("The seal is usually red; this image is not."))
    return ImageInfo(image.size[0], image.size[1], warnings)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(role)


def _check_diameter(role: str, diameter_mm: float) -> float:
    if role != "office":
        return 0.0
    lo, hi = SEAL_MM_RANGE
    if not lo <= diameter_mm <= hi:
        raise ValidationFailed([FieldError("seal_diameter_mm", _(
            "The seal's diameter must be between {lo} and {hi} mm (measure the seal on paper).").format(
            lo=int(lo), hi=int(hi)))])
    return float(diameter_mm)


def _store(db: Database, role: str, source: str, identity: signing.Identity, cert_der: bytes, *,
           label: str, file_path: str = "", module: str = "", token_label: str = "", key_label: str = "",
           image_png: bytes | None, seal_diameter_mm: float) -> IdentityInfo:
    actor = require(db, Perm.MANAGE_SIGNING)
    _check_role(role)
    signing.check_usable(identity)  # an expired certificate is said now, not at signing time
    diameter = _check_diameter(role, seal_diameter_mm)
    if image_png is not None:
        check_image(image_png, "signature" if role == "person" else "seal")
    with db.write() as s:
        row = SigningIdentity(
            role=role, label=nfc_line(label) or identity.holder_name, source=source, file_path=file_path,
            module=module, token_label=token_label, key_label=key_label, cert_der=cert_der,
            holder=identity.holder_name, issuer=identity.issuer,
            not_before=identity.not_before.astimezone(UTC).replace(tzinfo=None),
            not_after=identity.not_after.astimezone(UTC).replace(tzinfo=None),
            image_png=image_png, seal_diameter_mm=diameter)
        s.add(row)
        s.flush()
        audit.record(s, actor, "create", entity="signing_identity", entity_uuid=row.uuid,
                     summary=f"{row.label} ({identity.holder_name})")
        return _info(row)


def _cert_der(identity: signing.Identity) -> bytes:
    cert = identity.signer.signing_cert
    return bytes(cert.dump())


def add_file_identity(db: Database, role: str, path: str | Path, password: str, *, label: str = "",
                      image_png: bytes | None = None, seal_diameter_mm: float = 0.0) -> IdentityInfo:
    """Record a PKCS#12 file; the password opens it once to read the certificate, and is not kept."""
    identity = signing.load_pkcs12(path, password)
    return _store(db, role, "file", identity, _cert_der(identity), label=label,
                  file_path=str(Path(path).resolve()), image_png=image_png, seal_diameter_mm=seal_diameter_mm)


def add_token_identity(db: Database, role: str, module: str, token_label: str, key_label: str, pin: str, *,
                       label: str = "", image_png: bytes | None = None,
                       seal_diameter_mm: float = 0.0) -> IdentityInfo:
    """Record a key on a PKCS#11 token; the PIN opens it once to read the certificate, and is not kept."""
    from dbcomm.services import tokens

    identity = tokens.load_pkcs11(module, token_label, key_label, pin)
    try:
        return _store(db, role, "token", identity, _cert_der(identity), label=label, module=module,
                      token_label=token_label, key_label=key_label, image_png=image_png,
                      seal_diameter_mm=seal_diameter_mm)
    finally:
        identity.close()


def list_identities(db: Database, role: str | None = None) -> list[IdentityInfo]:
    with db.read() as s:
        q = select(SigningIdentity).where(SigningIdentity.active.is_(True)).order_by(SigningIdentity.id)
        if role is not None:
            q = q.where(SigningIdentity.role == role)
        return [_info(r) for r in s.scalars(q)]


def get_identity(db: Database, identity_id: int) -> IdentityInfo:
    with db.read() as s:
        r = s.get(SigningIdentity, identity_id)
        if r is None or not r.active:
            raise NotFoundError(_("This signing certificate is no longer set up."))
        return _info(r)


def image_of(db: Database, identity_id: int) -> bytes | None:
    with db.read() as s:
        r = s.get(SigningIdentity, identity_id)
        return r.image_png if r is not None else None


def certificate_of(db: Database, identity_id: int) -> x509.Certificate | None:
    with db.read() as s:
        r = s.get(SigningIdentity, identity_id)
        der = r.cert_der if r is not None else None
    return x509.load_der_x509_certificate(der) if der else None


def set_image(db: Database, identity_id: int, image_png: bytes | None,
              seal_diameter_mm: float | None = None) -> IdentityInfo:
    actor = require(db, Perm.MANAGE_SIGNING)
    info = get_identity(db, identity_id)
    if image_png is not None:
        check_image(image_png, "signature" if info.role == "person" else "seal")
    diameter = (_check_diameter(info.role, seal_diameter_mm) if seal_diameter_mm is not None
                else info.seal_diameter_mm)
    with db.write() as s:
        r = s.get(SigningIdentity, identity_id)
        if r is None:
            raise NotFoundError(_("This signing certificate is no longer set up."))
        r.image_png, r.seal_diameter_mm = image_png, diameter
        r.version += 1
        audit.record(s, actor, "update", entity="signing_identity", entity_uuid=r.uuid,
                     summary=_("{label}: image changed").format(label=r.label))
        return _info(r)


def remove_identity(db: Database, identity_id: int) -> None:
    """Forget a signing identity (the key itself, in its file or token, is not touched)."""
    actor = require(db, Perm.MANAGE_SIGNING)
    with db.write() as s:
        r = s.get(SigningIdentity, identity_id)
        if r is None or not r.active:
            return
        r.active = False
        r.version += 1
        audit.record(s, actor, "delete", entity="signing_identity", entity_uuid=r.uuid, summary=r.label)


def open_identity(db: Database, identity_id: int, secret: str, now: datetime | None = None) -> signing.Identity:
    """Open the key with its password (file) or PIN (token), ready to sign; refuses an expired
    or not-yet-valid certificate, and a key whose certificate is not the one set up."""
    info = get_identity(db, identity_id)
    if info.source == "file":
        identity = signing.load_pkcs12(info.file_path, secret)
    else:
        from dbcomm.services import tokens

        identity = tokens.load_pkcs11(info.module, info.token_label, info.key_label, secret)
    try:
        signing.check_usable(identity, now)
        known = certificate_of(db, identity_id)
        if known is not None and known.serial_number != identity.serial:
            raise UserError(_("The key found is not the one set up for {label}: its certificate changed "
                              "(a renewed certificate?). Set it up again.").format(label=info.label))
    except BaseException:
        identity.close()
        raise
    return identity
