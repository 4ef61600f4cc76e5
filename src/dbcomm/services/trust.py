"""The office's trust list: the certificate authorities whose signatures it trusts, and their
revocation lists (CRLs), kept in the database and used to verify signed PDFs.

The government's and the public CAs' roots are in no operating system's trust store, so the
office imports the ones its province uses.  Only certificate-authority certificates (basic
constraints CA) that are currently valid are accepted; an imported intermediate is trusted
as an anchor too.  A CRL whose issuer is not in the list is kept but flagged, so the person
sees that it will not match anything until its authority is imported.

Stored in the ``app_setting`` table (``trust_roots`` and ``trust_crls``, JSON lists), each
change in one transaction with its audit entry.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from dbcomm.domain.roles import Perm
from dbcomm.domain.text import nfc
from dbcomm.errors import NotFoundError, UserError
from dbcomm.i18n import _, format_date
from dbcomm.services import audit, settings
from dbcomm.services.auth import require
from dbcomm.services.signing import Verification, verify_pdf
from dbcomm.store.engine import Database
from dbcomm.store.models import AppSetting

ROOTS_KEY = "trust_roots"
CRLS_KEY = "trust_crls"

Source = str | Path | bytes | bytearray


@dataclass(frozen=True)
class RootInfo:
    """A trusted certificate authority."""

    fingerprint: str  # SHA-256 of the DER certificate, upper-case hex
    subject: str  # common name (or the whole name when it has none), NFC
    issuer: str
    not_before: datetime
    not_after: datetime
    added_at: datetime
    added_by: str = ""
    self_signed: bool = True  # a root; False for an intermediate authority

    @property
    def fingerprint_display(self) -> str:
        """``AB:CD:…`` in pairs, as certificate viewers show it."""
        return ":".join(self.fingerprint[i:i + 2] for i in range(0, len(self.fingerprint), 2))


@dataclass(frozen=True)
class CrlInfo:
    """A certificate revocation list kept for offline checks."""

    fingerprint: str  # SHA-256 of the DER list
    issuer: str
    last_update: datetime
    next_update: datetime | None
    revoked_count: int
    added_at: datetime
    added_by: str = ""
    issuer_known: bool = False  # its issuer is among the trusted authorities

    @property
    def outdated(self) -> bool:
        return self.next_update is not None and self.next_update < datetime.now(UTC)


# --- reading files -------------------------------------------------------------------------


def _read(source: Source) -> tuple[bytes, str]:
    """The bytes and a name to show."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), ""
    path = Path(source)
    try:
        return path.read_bytes(), path.name
    except OSError as exc:
        raise UserError(_("Cannot read {file}: {reason}").format(
            file=path.name, reason=exc.strerror or exc)) from exc


def _name_text(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return nfc(str(cns[0].value) if cns else name.rfc4514_string())


def _load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM (one or several), DER, or PKCS#7 (.p7b, PEM or DER) file."""
    if b"-----BEGIN" in data:
        certs: list[x509.Certificate] = []
        if b"-----BEGIN PKCS7-----" in data or b"-----BEGIN CERTIFICATE CHAIN-----" in data:
            with contextlib.suppress(ValueError):
                certs.extend(pkcs7.load_pem_pkcs7_certificates(data))
        if b"-----BEGIN CERTIFICATE-----" in data or b"-----BEGIN X509 CERTIFICATE-----" in data:
            with contextlib.suppress(ValueError):
                certs.extend(x509.load_pem_x509_certificates(data))
        return certs
    for load in (lambda d: [x509.load_der_x509_certificate(d)], pkcs7.load_der_pkcs7_certificates):
        try:
            return list(load(data))
        except ValueError:
            continue
    return []


def _load_crl(data: bytes) -> x509.CertificateRevocationList | None:
    try:
        if b"-----BEGIN X509 CRL-----" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        return None


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest().upper()


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _check_certificate(cert: x509.Certificate, now: datetime) -> None:
    name = _name_text(cert.subject)
    if not _is_ca(cert):
        raise UserError(_(
            "“{name}” is not the certificate of a certificate authority (it belongs to a person or an "
            "organisation that signs). Import the root certificate of the authority that issued it, "
            "“{issuer}”.").format(name=name, issuer=_name_text(cert.issuer)))
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now > end:
        raise UserError(_(
            "The certificate of the authority “{name}” expired on {end} (it was valid from {start} to "
            "{end}); it cannot be trusted any more. Ask for its current root certificate.").format(
                name=name, start=format_date(start), end=format_date(end)))
    if now < start:
        raise UserError(_(
            "The certificate of the authority “{name}” is not valid yet: it is valid from {start} to "
            "{end}.").format(name=name, start=format_date(start), end=format_date(end)))


# --- stored lists --------------------------------------------------------------------------


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _stored(db: Database, key: str) -> list[dict[str, Any]]:
    return list(settings.get_value(db, key, []) or [])


def _put(session: Session, key: str, value: list[dict[str, Any]]) -> None:
    payload = json.dumps(value, ensure_ascii=False)
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=payload))
    else:
        row.value = payload


def _get(session: Session, key: str) -> list[dict[str, Any]]:
    row = session.get(AppSetting, key)
    return list(json.loads(row.value) or []) if row else []


def _root_info(entry: dict[str, Any]) -> RootInfo:
    cert = x509.load_der_x509_certificate(base64.b64decode(entry["der"]))
    return RootInfo(
        fingerprint=entry["fingerprint"], subject=_name_text(cert.subject), issuer=_name_text(cert.issuer),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        added_at=_when(entry.get("added_at")) or datetime.now(UTC), added_by=entry.get("added_by", ""),
        self_signed=cert.issuer == cert.subject)


def _crl_info(entry: dict[str, Any], ca_names: set[bytes]) -> CrlInfo:
    crl = x509.load_der_x509_crl(base64.b64decode(entry["der"]))
    return CrlInfo(
        fingerprint=entry["fingerprint"], issuer=_name_text(crl.issuer),
        last_update=crl.last_update_utc, next_update=crl.next_update_utc, revoked_count=len(crl),
        added_at=_when(entry.get("added_at")) or datetime.now(UTC), added_by=entry.get("added_by", ""),
        issuer_known=crl.issuer.public_bytes() in ca_names)


def _ca_names(roots: list[dict[str, Any]]) -> set[bytes]:
    return {x509.load_der_x509_certificate(base64.b64decode(e["der"])).subject.public_bytes() for e in roots}


def list_roots(db: Database) -> list[RootInfo]:
    """The trusted authorities, in the order they were added."""
    return [_root_info(e) for e in _stored(db, ROOTS_KEY)]


def root_certificates(db: Database) -> list[bytes]:
    """The trusted authorities' certificates (DER), for :func:`signing.verify_pdf`."""
    return [base64.b64decode(e["der"]) for e in _stored(db, ROOTS_KEY)]


def list_crls(db: Database) -> list[CrlInfo]:
    names = _ca_names(_stored(db, ROOTS_KEY))
    return [_crl_info(e, names) for e in _stored(db, CRLS_KEY)]


def crl_data(db: Database) -> list[bytes]:
    return [base64.b64decode(e["der"]) for e in _stored(db, CRLS_KEY)]


# --- changing the lists --------------------------------------------------------------------


def import_roots(db: Database, source: Source, *, now: datetime | None = None) -> list[RootInfo]:
    """Add the certificate authorities of a PEM, DER (.cer, .crt) or PKCS#7 (.p7b) file.

    Returns the authorities added; one already in the list is not added again (so importing
    the same file twice returns an empty list).  The file is refused whole, with a
    :class:`UserError` saying why, if it holds no certificate, or any certificate in it
    is not a certificate authority's, has expired or is not valid yet.
    """
    actor = require(db, Perm.EDIT_SETTINGS)
    data, file_name = _read(source)
    certs = _load_certificates(data)
    if not certs:
        if _load_crl(data) is not None:
            raise UserError(_("{file} is a certificate revocation list, not a certificate: import it under "
                              "Revocation lists.").format(file=file_name or _("The file")))
        raise UserError(_("{file} is not a certificate file: a trusted root must be a certificate in PEM, "
                          "DER (.cer, .crt) or PKCS#7 (.p7b) form.").format(file=file_name or _("The file")))
    moment = now or datetime.now(UTC)
    for cert in certs:
        _check_certificate(cert, moment)
    added: list[dict[str, Any]] = []
    with db.write() as s:
        stored = _get(s, ROOTS_KEY)
        known = {e["fingerprint"] for e in stored}
        for cert in certs:
            der = _der(cert)
            fp = _fingerprint(der)
            if fp in known:
                continue
            known.add(fp)
            entry = {"fingerprint": fp, "der": base64.b64encode(der).decode("ascii"),
                     "added_at": datetime.now(UTC).isoformat(), "added_by": actor.username}
            stored.append(entry)
            added.append(entry)
        if added:
            _put(s, ROOTS_KEY, stored)
            for entry in added:
                info = _root_info(entry)
                audit.record(s, actor, "settings", entity="settings",
                             summary=_("Trusted certificate authority added: {name} (SHA-256 {fp})").format(
                                 name=info.subject, fp=info.fingerprint_display),
                             changes={"trusted_root": [None, info.fingerprint]})
    return [_root_info(e) for e in added]


def remove_root(db: Database, fingerprint: str) -> RootInfo:
    """Stop trusting an authority; returns what was removed."""
    actor = require(db, Perm.EDIT_SETTINGS)
    wanted = fingerprint.replace(":", "").strip().upper()
    with db.write() as s:
        stored = _get(s, ROOTS_KEY)
        found = [e for e in stored if e["fingerprint"] == wanted]
        if not found:
            raise NotFoundError(_("This certificate authority is not in the trust list (any more)."))
        info = _root_info(found[0])
        _put(s, ROOTS_KEY, [e for e in stored if e["fingerprint"] != wanted])
        audit.record(s, actor, "settings", entity="settings",
                     summary=_("Trusted certificate authority removed: {name} (SHA-256 {fp})").format(
                         name=info.subject, fp=info.fingerprint_display),
                     changes={"trusted_root": [info.fingerprint, None]})
    return info


def import_crl(db: Database, source: Source) -> CrlInfo:
    """Keep a certificate revocation list (PEM or DER .crl).

    The same list twice is kept once; a newer list from the same authority replaces the older
    one, and an older one than the list kept is refused.  A list whose authority is not in the
    trust list is kept, flagged (``issuer_known`` False).
    """
    actor = require(db, Perm.EDIT_SETTINGS)
    data, file_name = _read(source)
    crl = _load_crl(data)
    if crl is None:
        raise UserError(_("{file} is not a certificate revocation list (CRL, in PEM or DER form).").format(
            file=file_name or _("The file")))
    der = crl.public_bytes(Encoding.DER)
    fp = _fingerprint(der)
    issuer = crl.issuer.public_bytes()
    with db.write() as s:
        stored = _get(s, CRLS_KEY)
        names = _ca_names(_get(s, ROOTS_KEY))
        for entry in stored:
            if entry["fingerprint"] == fp:
                return _crl_info(entry, names)
        same_issuer = [e for e in stored
                       if x509.load_der_x509_crl(base64.b64decode(e["der"])).issuer.public_bytes() == issuer]
        for entry in same_issuer:
            older = x509.load_der_x509_crl(base64.b64decode(entry["der"]))
            if older.last_update_utc > crl.last_update_utc:
                raise UserError(_("A newer revocation list of “{issuer}” (of {date}) is kept already; this "
                                  "one is older and was not imported.").format(
                                      issuer=_name_text(crl.issuer), date=format_date(older.last_update_utc)))
        entry = {"fingerprint": fp, "der": base64.b64encode(der).decode("ascii"),
                 "added_at": datetime.now(UTC).isoformat(), "added_by": actor.username}
        replaced = {e["fingerprint"] for e in same_issuer}
        _put(s, CRLS_KEY, [e for e in stored if e["fingerprint"] not in replaced] + [entry])
        info = _crl_info(entry, names)
        audit.record(s, actor, "settings", entity="settings",
                     summary=_("Revocation list added: {issuer}, of {date}, {n} revoked").format(
                         issuer=info.issuer, date=format_date(info.last_update), n=info.revoked_count),
                     changes={"crl": [sorted(replaced)[0] if replaced else None, fp]})
    return info


def remove_crl(db: Database, fingerprint: str) -> CrlInfo:
    actor = require(db, Perm.EDIT_SETTINGS)
    wanted = fingerprint.replace(":", "").strip().upper()
    with db.write() as s:
        stored = _get(s, CRLS_KEY)
        found = [e for e in stored if e["fingerprint"] == wanted]
        if not found:
            raise NotFoundError(_("This revocation list is not kept (any more)."))
        info = _crl_info(found[0], _ca_names(_get(s, ROOTS_KEY)))
        _put(s, CRLS_KEY, [e for e in stored if e["fingerprint"] != wanted])
        audit.record(s, actor, "settings", entity="settings",
                     summary=_("Revocation list removed: {issuer}, of {date}").format(
                         issuer=info.issuer, date=format_date(info.last_update)),
                     changes={"crl": [info.fingerprint, None]})
    return info


# --- verifying -----------------------------------------------------------------------------


def verify_bytes(db: Database, pdf: bytes) -> Verification:
    """Check the signatures of ``pdf`` against the office's trust list and revocation lists."""
    return verify_pdf(pdf, root_certificates(db), crl_data(db))


def verify_file(db: Database, path: str | Path) -> Verification:
    """Read ``path`` and check its signatures; a missing file or a file that is not a PDF is a
    :class:`UserError`."""
    data, _name = _read(path)
    return verify_bytes(db, data)
