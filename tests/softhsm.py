"""A SoftHSM2 software token for tests: key pair generated on the token, certificate written to it.

``make_token(folder)`` needs ``softhsm2-util`` and the SoftHSM2 module (Debian packages
``softhsm2 opensc``); without them it skips the calling test.  It points ``SOFTHSM2_CONF`` at
a configuration in ``folder`` for the rest of the process (the module reads it when it is
first initialised), so call it once per test module with a module- or session-scoped folder.

The token's certificate is issued by a test CA built with the helpers of :mod:`pki` (same
names, extensions and CRL distribution point as the .p12 signers).  ``tests/pki.py`` keeps
its intermediate CA's key to itself, so the token has its own root and intermediate:
verify with ``trust_roots=[token.root_pem]`` (plus ``pki``'s root for .p12 signatures).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import pki

INSTALL_HINT = "install the Debian packages: sudo apt-get install softhsm2 opensc"

MODULE_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


@dataclass
class SoftToken:
    module: str
    token_label: str
    key_label: str
    pin: str
    cert: x509.Certificate
    intermediate: x509.Certificate
    root_pem: bytes
    holder_name: str


def find_module() -> str | None:
    return next((p for p in MODULE_PATHS if os.path.isfile(p)), None)


def require_softhsm() -> tuple[str, str]:
    """(softhsm2-util, module path), or skip the test saying what to install."""
    util = shutil.which("softhsm2-util")
    module = find_module()
    if util is None or module is None:
        missing = "softhsm2-util" if util is None else "the SoftHSM2 PKCS#11 module"
        pytest.skip(f"PKCS#11 tests need {missing}: {INSTALL_HINT}")
    return util, module


def make_token(folder: Path, *, token_label: str = "dbcomm test token",
               key_label: str = "Chữ ký Lò Văn Thắng", pin: str = "246810",
               holder_name: str = "Lò Văn Thắng (token)") -> SoftToken:
    import pkcs11
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.x509 import decode_x509_certificate

    util, module = require_softhsm()
    folder.mkdir(parents=True, exist_ok=True)
    tokendir = folder / "tokens"
    tokendir.mkdir(exist_ok=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokendir}\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n", encoding="utf-8")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run([util, "--init-token", "--free", "--label", token_label, "--pin", pin,
                    "--so-pin", "13579135"], check=True, capture_output=True, timeout=30)

    real = os.path.realpath(module)  # the path dbcomm.services.tokens loads it by
    already = real in pkcs11._loaded
    lib = pkcs11.lib(real)
    if already:  # initialised earlier with another configuration: read the new one
        lib.reinitialize()
    token = lib.get_token(token_label=token_label)

    # The test CA: a root and an intermediate, as in pki.build().
    now = datetime.now(UTC)
    start, end = now - timedelta(days=30), now + timedelta(days=365)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = pki._name("Test Root CA Token")
    root = pki._cert(root_name, root_key, root_name, root_key, ca=True, sign=False,
                     start=start - timedelta(days=1), end=end + timedelta(days=365), serial=1)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter_name = pki._name("Test Token Intermediate CA")
    inter = pki._cert(inter_name, inter_key, root_name, root_key, ca=True, sign=False,
                      start=start, end=end + timedelta(days=30), serial=2)

    key_id = b"\x01\x42"
    with token.open(rw=True, user_pin=pin) as session:
        public, _private = session.generate_keypair(KeyType.RSA, 2048, id=key_id, label=key_label,
                                                    store=True)
        numbers = rsa.RSAPublicNumbers(int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                                       int.from_bytes(public[Attribute.MODULUS], "big"))
        holder = SimpleNamespace(public_key=numbers.public_key)  # pki._cert asks the key for it
        cert = pki._cert(pki._name(holder_name), holder, inter_name, inter_key, ca=False, sign=True,
                         start=start, end=end, serial=200)
        for c, label, cid in ((cert, key_label, key_id), (inter, "Test Token Intermediate CA", b"\x02")):
            template = decode_x509_certificate(c.public_bytes(serialization.Encoding.DER))
            template.update({Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: cid})
            session.create_object(template)
    return SoftToken(module=module, token_label=token_label, key_label=key_label, pin=pin, cert=cert,
                     intermediate=inter, root_pem=root.public_bytes(serialization.Encoding.PEM),
                     holder_name=holder_name)
