"""Signing with a PKCS#11 token, against a SoftHSM2 token made at test time (key generated on it)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from cryptography.x509.oid import NameOID

import softhsm
from dbcomm import i18n
from dbcomm.errors import UserError
from dbcomm.services import signing, tokens
from report_samples import sample_content

WRONG_PIN = "97531864"


@pytest.fixture(scope="module")
def token(tmp_path_factory) -> softhsm.SoftToken:
    return softhsm.make_token(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory):
    import pki

    return pki.build(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def report_pdf() -> bytes:
    from dbcomm.services.report_pdf import render_pdf

    return bytes(render_pdf(sample_content(annex_rows=2)))


@pytest.fixture(autouse=True)
def _english():
    i18n.set_language("en")  # the messages are checked in English (the source language)


@pytest.fixture
def identity(token):
    ident = tokens.load_pkcs11(token.module, token.token_label, token.key_label, token.pin)
    yield ident
    ident.close()


def blue_signature_png() -> bytes:
    from PIL import Image

    image = Image.new("RGBA", (160, 80), (0, 0, 0, 0))
    for x in range(10, 150):
        image.putpixel((x, 40 + (x // 20) % 3), (20, 40, 200, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def common_name(cert) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def no_pin(error: pytest.ExceptionInfo[UserError], *pins: str) -> None:
    text = str(error.value)
    for pin in pins:
        assert pin not in text


# --- finding modules and tokens ------------------------------------------------------------

def test_known_modules_finds_softhsm(token):
    found = tokens.known_modules()
    assert os.path.realpath(token.module) in {os.path.realpath(m) for m in found}
    assert all(os.path.isfile(m) for m in found)
    assert len({os.path.realpath(m) for m in found}) == len(found)  # no library twice via a link
    assert tokens.module_vendor(token.module) == "SoftHSM2"


def test_known_modules_on_windows_look_in_system32_and_program_files(tmp_path):
    system = tmp_path / "Windows" / "System32"
    system.mkdir(parents=True)
    for name in ("eTPKCS11.dll", "viettel-ca_v6.dll", "unrelated.dll"):
        (system / name).write_bytes(b"MZ")
    gemalto = tmp_path / "Program Files" / "Gemalto" / "IDGo 800 PKCS#11"
    gemalto.mkdir(parents=True)
    (gemalto / "IDPrimePKCS11.dll").write_bytes(b"MZ")
    env = {"SystemRoot": str(tmp_path / "Windows"), "ProgramFiles": str(tmp_path / "Program Files")}
    found = tokens._existing("win32", env)
    assert found == [
        ("SafeNet eToken", str(system / "eTPKCS11.dll")),
        ("Viettel-CA", str(system / "viettel-ca_v6.dll")),
        ("Gemalto IDPrime", str(gemalto / "IDPrimePKCS11.dll")),
    ]
    assert tokens.module_vendor(str(system / "eTPKCS11.dll")) == "SafeNet eToken"
    assert tokens.module_vendor(str(system / "unrelated.dll")) == ""


def test_list_tokens_shows_the_plugged_in_token(token):
    found = tokens.list_tokens(token.module)
    assert [t.label for t in found] == [token.token_label]  # SoftHSM's blank slot is not listed
    assert found[0].manufacturer == "SoftHSM project"
    assert found[0].serial and found[0].model


def test_list_keys_gives_the_keys_that_have_a_certificate(token):
    assert tokens.list_keys(token.module, token.token_label, token.pin) == [token.key_label]


def test_the_token_identity_carries_the_certificate_facts(token, identity):
    assert identity.holder_name == common_name(token.cert) == token.holder_name
    assert identity.issuer == common_name(token.intermediate)
    assert identity.serial == token.cert.serial_number
    assert identity.not_after == token.cert.not_valid_after_utc
    assert {"digital_signature", "non_repudiation"} <= identity.key_usage
    signing.check_usable(identity)


# --- signing -------------------------------------------------------------------------------

def test_sign_invisibly_with_the_token(token, identity, report_pdf):
    started = time.perf_counter()
    signed = signing.sign_pdf(report_pdf, identity, field_name="Token", reason="Ký ban hành")
    elapsed = time.perf_counter() - started
    print(f"token signing took {elapsed:.3f} s")
    assert elapsed < 5
    result = signing.verify_pdf(signed, trust_roots=[token.root_pem])
    assert result.verdict == "valid", result.signatures
    assert [s.signer_name for s in result.signatures] == [common_name(token.cert)]
    # Not trusted without the token CA's root: the chain really comes from the token's cert.
    assert signing.verify_pdf(signed, trust_roots=[]).verdict == "untrusted"


def test_sign_visibly_with_the_token(token, identity, report_pdf):
    from pyhanko.pdf_utils.reader import PdfFileReader

    box = (0, 340, 90, 120, 60)
    signed = signing.sign_pdf(report_pdf, identity, field_name="Leader", box=box,
                              image_png=blue_signature_png())
    result = signing.verify_pdf(signed, trust_roots=[token.root_pem])
    assert result.verdict == "valid"
    assert result.signatures[0].signer_name == token.holder_name
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    widget = sig.sig_field
    assert [round(float(v)) for v in widget["/Rect"]] == [340, 90, 460, 150]
    assert "/AP" in widget


def test_token_then_p12_gives_two_valid_signatures(token, identity, test_pki, report_pdf):
    once = signing.sign_pdf(report_pdf, identity, field_name="Token", box=(0, 340, 90, 120, 60),
                            image_png=blue_signature_png())
    office = signing.load_pkcs12(test_pki.office, test_pki.password)
    twice = signing.sign_pdf(once, office, field_name="Office")
    result = signing.verify_pdf(twice, trust_roots=[token.root_pem, test_pki.root_pem])
    assert result.verdict == "valid"
    assert [(s.field_name, s.signer_name, s.verdict) for s in result.signatures] == [
        ("Token", token.holder_name, "valid"), ("Office", "UBND xã Mường Phăng", "valid")]


# --- failures ------------------------------------------------------------------------------

def test_a_wrong_pin_is_a_clear_error_and_gives_nothing(token, report_pdf):
    with pytest.raises(UserError, match="PIN is wrong") as error:
        tokens.load_pkcs11(token.module, token.token_label, token.key_label, WRONG_PIN)
    no_pin(error, WRONG_PIN, token.pin)
    with pytest.raises(UserError, match="PIN is wrong") as error:
        tokens.list_keys(token.module, token.token_label, WRONG_PIN)
    no_pin(error, WRONG_PIN, token.pin)
    with pytest.raises(UserError, match="Enter the token's PIN"):
        tokens.list_keys(token.module, token.token_label, "")
    # The right PIN still works afterwards: nothing was left logged in or locked.
    assert tokens.list_keys(token.module, token.token_label, token.pin) == [token.key_label]


def test_the_pin_is_never_logged(token, report_pdf, caplog):
    import logging

    with caplog.at_level(logging.DEBUG):
        identity = tokens.load_pkcs11(token.module, token.token_label, token.key_label, token.pin)
        signing.sign_pdf(report_pdf, identity, field_name="Logged")
        identity.close()
        with pytest.raises(UserError):
            tokens.list_keys(token.module, token.token_label, WRONG_PIN)
    assert caplog.records  # pyHanko did log at DEBUG level
    assert token.pin not in caplog.text and WRONG_PIN not in caplog.text


def test_an_unknown_token_label_says_plug_in_the_token(token):
    with pytest.raises(UserError, match="not plugged in") as error:
        tokens.load_pkcs11(token.module, "Token VNPT-CA", token.key_label, token.pin)
    assert "Token VNPT-CA" in str(error.value) and token.token_label in str(error.value)
    no_pin(error, token.pin)


def test_an_unknown_key_label_is_a_clear_error(token):
    with pytest.raises(UserError, match="no signing key") as error:
        tokens.load_pkcs11(token.module, token.token_label, "Khóa khác", token.pin)
    no_pin(error, token.pin)


def test_a_missing_module_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        tokens.list_tokens(str(tmp_path / "eTPKCS11.dll"))
    with pytest.raises(UserError, match="does not exist") as error:
        tokens.load_pkcs11(str(tmp_path / "eTPKCS11.dll"), "x", "y", WRONG_PIN)
    no_pin(error, WRONG_PIN)


def test_a_file_that_is_not_a_pkcs11_module_is_a_clear_error(tmp_path):
    text = tmp_path / "driver.so"
    text.write_text("not a library\n", encoding="utf-8")
    with pytest.raises(UserError, match="not a token driver"):
        tokens.list_tokens(str(text))
    libc = next((p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                             "/lib/aarch64-linux-gnu/libc.so.6") if Path(p).is_file()), None)
    if libc:  # a real shared library, but without the PKCS#11 entry point
        with pytest.raises(UserError, match="not a token driver"):
            tokens.list_tokens(libc)


def test_signing_after_close_is_a_clear_error(token, report_pdf):
    identity = tokens.load_pkcs11(token.module, token.token_label, token.key_label, token.pin)
    identity.close()
    identity.close()  # closing twice is harmless
    with pytest.raises(UserError, match="token was closed"):
        signing.sign_pdf(report_pdf, identity, field_name="Late")


def test_a_token_gone_during_signing_is_a_clear_error(token, report_pdf):
    identity = tokens.load_pkcs11(token.module, token.token_label, token.key_label, token.pin)
    try:
        # The session disappears under the identity, as when the token is pulled out.
        identity.signer.pkcs11_session.close()
        with pytest.raises(UserError, match="removed or stopped answering"):
            signing.sign_pdf(report_pdf, identity, field_name="Gone")
    finally:
        identity.close()
    # The token is usable again with a fresh session.
    again = tokens.load_pkcs11(token.module, token.token_label, token.key_label, token.pin)
    try:
        signed = signing.sign_pdf(report_pdf, again, field_name="Again")
    finally:
        again.close()
    assert signing.verify_pdf(signed, trust_roots=[token.root_pem]).verdict == "valid"


def test_a_token_opened_twice_is_a_clear_error(token, identity, report_pdf):
    with pytest.raises(UserError, match="already open"):
        tokens.load_pkcs11(token.module, token.token_label, token.key_label, token.pin)
    # The first identity is unharmed, and once closed the token opens again.
    assert signing.sign_pdf(report_pdf, identity, field_name="First")
    identity.close()
    again = tokens.load_pkcs11(token.module, token.token_label, token.key_label, token.pin)
    again.close()


class _LockedToken:
    label = "Locked"
    serial = b"1"
    manufacturer_id = "Test"
    model = "Fake"

    def __init__(self) -> None:
        from pkcs11 import TokenFlag

        self.flags = TokenFlag.TOKEN_INITIALIZED | TokenFlag.USER_PIN_LOCKED
        self.opened = 0

    def open(self, **_kwargs):
        self.opened += 1
        raise AssertionError("a locked token must not be tried")


def test_a_locked_pin_is_said_and_not_tried(monkeypatch):
    fake = _LockedToken()
    slot = type("Slot", (), {"get_token": lambda self: fake})()
    lib = type("Lib", (), {"get_slots": lambda self, token_present=False: [slot]})()
    monkeypatch.setattr(tokens, "_load", lambda module: lib)
    with pytest.raises(UserError, match="PIN is locked") as error:
        tokens.load_pkcs11("fake.so", "Locked", "key", WRONG_PIN)
    assert fake.opened == 0
    no_pin(error, WRONG_PIN)


def test_token_errors_become_clear_messages():
    import pkcs11.exceptions as p11e

    assert "PIN is locked" in str(tokens._token_error(p11e.PinLocked()))
    assert "removed" in str(tokens._token_error(p11e.DeviceRemoved()))
    assert "removed" in str(tokens._token_error(p11e.TokenNotPresent()))
    assert "PIN is wrong" in str(tokens._token_error(p11e.PinIncorrect()))
    assert "GeneralError" in str(tokens._token_error(p11e.GeneralError()))
