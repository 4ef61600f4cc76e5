"""Signing keys on a PKCS#11 USB token (SafeNet, Bit4id, VNPT-CA, Viettel-CA, FPT-CA, BKAV-CA …).

A token is reached through its vendor's PKCS#11 module (a .dll / .so "driver").  The key
never leaves the token: :func:`load_pkcs11` opens a logged-in session and returns an
:class:`~dbcomm.services.signing.Identity` whose signer asks the token to sign; the
identity's :meth:`~dbcomm.services.signing.Identity.close` closes the session.

Every failure is a :class:`~dbcomm.errors.UserError` with a translated sentence.  The PIN
is passed to the token and nowhere else: it is never stored, logged, or put in a message.
A wrong PIN is never retried here (tokens lock themselves after a few wrong PINs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from dbcomm.errors import UserError
from dbcomm.i18n import _
from dbcomm.services.signing import Identity, _key_usage, _name_text

# (vendor shown to the user, file name) of PKCS#11 modules installed by token software on
# Windows, looked for in System32 (and SysWOW64); names differ between driver versions.
WINDOWS_MODULES: tuple[tuple[str, str], ...] = (
    ("SafeNet eToken", "eTPKCS11.dll"),
    ("Bit4id", "bit4xpki.dll"),
    ("Bit4id", "bit4ipki.dll"),
    ("VNPT-CA", "vnpt-ca_csp11.dll"),
    ("VNPT-CA", "vnptca_p11_v8.dll"),
    ("VNPT-CA", "vnptca_p11_v6.dll"),
    ("VNPT-CA", "VNPT-CA_v34.dll"),
    ("Viettel-CA", "viettel-ca_v6.dll"),
    ("Viettel-CA", "viettel-ca_v5.dll"),
    ("Viettel-CA", "viettel-ca_v4.dll"),
    ("Viettel-CA", "viettel-ca_v2.dll"),
    ("FPT-CA", "SignatureP11.dll"),
    ("FPT-CA", "fpt-ca.dll"),
    ("BKAV-CA", "BkavCA.dll"),
    ("BKAV-CA", "bkavca_p11.dll"),
    ("Nacencomm CA2", "ShuttleCsp11_3003.dll"),
    ("NCCA", "ncca_csp11_v1.dll"),
    ("Feitian ePass2003", "eps2003csp11.dll"),
    ("Feitian ePass2003", "eps2003csp11v2.dll"),
    ("Gemalto IDPrime", "IDPrimePKCS11.dll"),
    ("Gemalto Classic Client", "gclib.dll"),
    ("OpenSC", "opensc-pkcs11.dll"),
)

# (vendor, path under Program Files / Program Files (x86)) for modules installed elsewhere.
WINDOWS_PROGRAM_FILES_MODULES: tuple[tuple[str, str], ...] = (
    ("Gemalto IDPrime", "Gemalto/IDGo 800 PKCS#11/IDPrimePKCS11.dll"),
    ("SafeNet eToken", "SafeNet/Authentication/SAC/x64/eTPKCS11.dll"),
    ("OpenSC", "OpenSC Project/OpenSC/pkcs11/opensc-pkcs11.dll"),
)

# (vendor, absolute path) on Linux: SoftHSM2 (a software token) and OpenSC (many smart cards).
LINUX_MODULES: tuple[tuple[str, str], ...] = (
    ("SoftHSM2", "/usr/lib/softhsm/libsofthsm2.so"),
    ("SoftHSM2", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    ("SoftHSM2", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
    ("SoftHSM2", "/usr/lib64/pkcs11/libsofthsm2.so"),
    ("SoftHSM2", "/usr/local/lib/softhsm/libsofthsm2.so"),
    ("OpenSC", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"),
    ("OpenSC", "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so"),
    ("OpenSC", "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so"),
    ("OpenSC", "/usr/lib64/opensc-pkcs11.so"),
    ("OpenSC", "/usr/lib/opensc-pkcs11.so"),
    ("SafeNet eToken", "/usr/lib/libeTPkcs11.so"),
    ("Bit4id", "/usr/lib/bit4id/libbit4xpki.so"),
    ("Feitian ePass2003", "/usr/lib/libeps2003csp11.so"),
)


@dataclass(frozen=True)
class TokenInfo:
    label: str
    serial: str
    manufacturer: str
    model: str


def _candidates(platform: str, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    if platform.startswith("win"):
        root = environ.get("SystemRoot") or environ.get("SYSTEMROOT") or r"C:\Windows"
        found = [(vendor, os.path.join(root, folder, name))
                 for folder in ("System32", "SysWOW64") for vendor, name in WINDOWS_MODULES]
        for var in ("ProgramFiles", "ProgramFiles(x86)"):
            base = environ.get(var)
            if base:
                found += [(vendor, os.path.join(base, *rel.split("/")))
                          for vendor, rel in WINDOWS_PROGRAM_FILES_MODULES]
        return found
    return list(LINUX_MODULES)


def _existing(platform: str, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for vendor, path in _candidates(platform, environ):
        if not os.path.isfile(path):
            continue
        real = os.path.normcase(os.path.realpath(path))
        if real in seen:  # the same library reached through a symbolic link
            continue
        seen.add(real)
        out.append((vendor, path))
    return out


def known_modules() -> list[str]:
    """The PKCS#11 modules of common tokens that are installed on this machine."""
    return [path for _vendor, path in _existing(sys.platform, os.environ)]


def module_vendor(module: str) -> str:
    """The vendor name to show for a module path ("" when it is not a known module)."""
    name = os.path.basename(module).lower()
    for vendor, path in (*LINUX_MODULES, *WINDOWS_MODULES, *WINDOWS_PROGRAM_FILES_MODULES):
        if os.path.basename(path.replace("\\", "/")).lower() == name:
            return vendor
    return ""


# --- errors ------------------------------------------------------------------------------


def _removed() -> UserError:
    return UserError(_("The token was removed or stopped answering. Plug it in again, "
                       "then open it and sign again."))


def _pin_locked() -> UserError:
    return UserError(_("The token's PIN is locked after too many wrong attempts, so it was not "
                       "tried. Unlock it with the token's own software or ask the certificate "
                       "provider."))


def _token_error(exc: BaseException) -> UserError:
    """A clear message for an error reported by the token (the PIN never appears in it)."""
    import pkcs11.exceptions as p11e

    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, p11e.PinIncorrect | p11e.PinInvalid | p11e.PinLenRange):
        return UserError(_("The PIN is wrong. Check it and try again: after a few wrong "
                           "attempts the token locks itself."))
    if isinstance(exc, p11e.PinLocked):
        return _pin_locked()
    if isinstance(exc, p11e.PinExpired):
        return UserError(_("The token's PIN has expired: change it with the token's own software."))
    if isinstance(exc, p11e.TokenNotPresent | p11e.DeviceRemoved | p11e.SessionHandleInvalid
                  | p11e.SessionClosed | p11e.TokenNotRecognised | p11e.DeviceError
                  | p11e.SlotIDInvalid):
        return _removed()
    if isinstance(exc, p11e.UserAlreadyLoggedIn | p11e.AnotherUserAlreadyLoggedIn):
        # PKCS#11 logs in once per token: a second identity would be logged out with the first.
        return UserError(_("The token is already open for signing. Close the other signing "
                           "with this token first."))
    if isinstance(exc, p11e.UserNotLoggedIn):
        return UserError(_("The token is not unlocked: open it again with its PIN."))
    reason = type(exc).__name__
    return UserError(_("The token reported an error ({reason}).").format(reason=reason))


def _load(module: str) -> Any:
    import pkcs11
    from pkcs11.exceptions import PKCS11Error

    path = Path(module)
    if not path.is_file():
        raise UserError(_("The token driver {file} does not exist. Install the software that came "
                          "with the token, or choose its PKCS#11 driver file.").format(file=module))
    # One library object per file: the same module reached by two names must not be
    # initialised twice.
    real = os.path.realpath(path)
    try:
        return pkcs11.lib(real)
    except (PKCS11Error, OSError) as exc:
        raise UserError(_("The file {file} is not a token driver (PKCS#11 module). Choose the "
                          "driver installed by the token's software.").format(file=path.name)) from exc


def _tokens(lib: Any) -> list[Any]:
    """The initialised tokens present in the module's slots."""
    from pkcs11 import TokenFlag
    from pkcs11.exceptions import PKCS11Error, TokenNotPresent, TokenNotRecognised

    try:
        slots = lib.get_slots(token_present=True)
    except PKCS11Error as exc:
        raise _token_error(exc) from exc
    out = []
    for slot in slots:
        try:
            token = slot.get_token()
        except (TokenNotPresent, TokenNotRecognised):
            continue  # unplugged between the two calls, or a card the module cannot read
        except PKCS11Error as exc:
            raise _token_error(exc) from exc
        if token.flags & TokenFlag.TOKEN_INITIALIZED:  # a blank token holds no key
            out.append(token)
    return out


def list_tokens(module: str) -> list[TokenInfo]:
    """The tokens plugged in now that the module can reach."""
    return [TokenInfo(label=t.label, serial=t.serial.decode("ascii", "replace").strip(),
                      manufacturer=t.manufacturer_id, model=t.model)
            for t in _tokens(_load(module))]


def _open(module: str, token_label: str, pin: str) -> Any:
    """A logged-in session on the token labelled ``token_label``."""
    from pkcs11 import TokenFlag
    from pkcs11.exceptions import PinIncorrect, PKCS11Error

    lib = _load(module)
    tokens = _tokens(lib)
    if not tokens:
        raise UserError(_("No token is plugged in. Plug in the token and try again."))
    matching = [t for t in tokens if t.label == token_label]
    if not matching:
        raise UserError(_("The token “{label}” is not plugged in. Plug it in and try again "
                          "(plugged in: {found}).").format(
            label=token_label, found=", ".join(f"“{t.label}”" for t in tokens)))
    token = matching[0]
    if token.flags & TokenFlag.USER_PIN_LOCKED:
        raise _pin_locked()
    if not pin:
        raise UserError(_("Enter the token's PIN."))
    try:
        return token.open(user_pin=pin)
    except PinIncorrect as exc:
        flags = _fresh_flags(lib, token)
        if flags & TokenFlag.USER_PIN_LOCKED:
            raise _pin_locked() from exc
        if flags & TokenFlag.USER_PIN_FINAL_TRY:
            raise UserError(_("The PIN is wrong. Careful: one more wrong PIN locks the token.")) from exc
        raise _token_error(exc) from exc
    except PKCS11Error as exc:
        raise _token_error(exc) from exc


def _fresh_flags(lib: Any, token: Any) -> int:
    """The token's flags read again (they change after a wrong PIN); 0 if it cannot be read."""
    try:
        for t in _tokens(lib):
            if t.slot == token.slot:
                return int(t.flags)
    except UserError:
        pass
    return 0


def _close(session: Any) -> None:
    from pkcs11.exceptions import PKCS11Error

    with contextlib.suppress(PKCS11Error):  # already closed, or the token was pulled out
        session.close()


def _attr(obj: Any, attribute: Any) -> Any:
    from pkcs11.exceptions import PKCS11Error

    try:
        return obj[attribute]
    except (PKCS11Error, KeyError):
        return None


@dataclass
class _Found:
    key_label: str | None
    key_id: bytes | None
    cert_der: bytes


def _keys_with_certs(session: Any) -> tuple[list[tuple[str, _Found]], list[bytes]]:
    """(shown label, key) for each private key with a certificate, and every certificate's DER."""
    from pkcs11 import Attribute, ObjectClass

    certs = [(_attr(c, Attribute.LABEL), _attr(c, Attribute.ID), _attr(c, Attribute.VALUE))
             for c in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})]
    certs = [c for c in certs if c[2]]
    found: list[tuple[str, _Found]] = []
    for key in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}):
        label, key_id = _attr(key, Attribute.LABEL) or None, _attr(key, Attribute.ID) or None
        cert = next((c for c in certs if key_id and c[1] == key_id), None) or next(
            (c for c in certs if label and c[0] == label), None)
        if cert is None:
            continue
        shown = label or cert[0]
        if shown:
            found.append((shown, _Found(label, key_id, bytes(cert[2]))))
    return found, [bytes(c[2]) for c in certs]


def list_keys(module: str, token_label: str, pin: str) -> list[str]:
    """Labels of the signing keys on the token that have a certificate."""
    from pkcs11.exceptions import PKCS11Error

    session = _open(module, token_label, pin)
    try:
        found, _certs = _keys_with_certs(session)
    except PKCS11Error as exc:
        raise _token_error(exc) from exc
    finally:
        _close(session)
    return sorted({label for label, _key in found})


def _signer_class() -> type:
    from pkcs11.exceptions import PKCS11Error
    from pyhanko.sign.pkcs11 import PKCS11Signer

    class TokenSigner(PKCS11Signer):
        """A PKCS11Signer that reports token problems as :class:`UserError` and knows it is closed."""

        closed = False

        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
            if self.closed:
                raise UserError(_("The token was closed. Open it again with its PIN to sign."))
            try:
                return await super().async_sign_raw(data, digest_algorithm, dry_run=dry_run)
            except PKCS11Error as exc:
                raise _token_error(exc) from exc

    return TokenSigner


def load_pkcs11(module: str, token_label: str, key_label: str, pin: str) -> Identity:
    """Open the token and return the identity of key ``key_label``; close it when done."""
    from asn1crypto import x509 as ax509
    from pkcs11.exceptions import PKCS11Error

    session = _open(module, token_label, pin)
    try:
        found, all_certs = _keys_with_certs(session)
        match = next((key for label, key in found if label == key_label), None)
        if match is None:
            raise UserError(_("The token “{token}” has no signing key “{key}” with a certificate. "
                              "Choose another key, or check that the right token is plugged in.").format(
                token=token_label, key=key_label))
        cert = x509.load_der_x509_certificate(match.cert_der)
        signing_cert = ax509.Certificate.load(match.cert_der)
        chain = [ax509.Certificate.load(der) for der in all_certs if der != match.cert_der]
        signer = _signer_class()(
            session, signing_cert=signing_cert, ca_chain=chain, key_label=match.key_label,
            key_id=match.key_id, other_certs_to_pull=())
        asyncio.run(signer.ensure_objects_loaded())  # finds the key handle now, not at signing time
    except UserError:
        _close(session)
        raise
    except PKCS11Error as exc:
        _close(session)
        raise _token_error(exc) from exc
    except ValueError as exc:
        _close(session)
        raise UserError(_("The certificate on the token cannot be read.")) from exc

    def closer() -> None:
        if not signer.closed:
            signer.closed = True
            _close(session)

    return Identity(
        signer=signer,
        holder_name=_name_text(cert.subject),
        issuer=_name_text(cert.issuer),
        serial=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_usage=_key_usage(cert),
        closer=closer,
    )
