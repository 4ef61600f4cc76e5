"""A tiny RFC 3161 timestamp server for tests: HTTP on 127.0.0.1, in a thread.

Its certificate (extended key usage timeStamping, RSA: pyHanko's test stamper signs with
PKCS#1 v1.5) is issued by a test TSA root made here, since the PKI of ``pki.py`` keeps its
CA keys to itself; a test trusts it through ``verify_pdf(..., timestamp_roots=[root_pem])``
or by adding it to the trust roots.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from asn1crypto import keys, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

import pki

MODES = ("ok", "garbage", "slow", "error")


@dataclass
class TSAKeys:
    root_pem: bytes
    cert: Any  # asn1crypto certificate of the TSA
    key: Any  # asn1crypto PrivateKeyInfo


def make_keys() -> TSAKeys:
    now = datetime.now(UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = pki._name("Test TSA Root")
    root = (
        x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
        .public_key(root_key.public_key()).serial_number(500)
        .not_valid_before(now - timedelta(days=60)).not_valid_after(now + timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = (
        x509.CertificateBuilder().subject_name(pki._name("Test TSA Điện Biên")).issuer_name(root_name)
        .public_key(tsa_key.public_key()).serial_number(501)
        .not_valid_before(now - timedelta(days=50)).not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    der_key = tsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return TSAKeys(root_pem=root.public_bytes(serialization.Encoding.PEM),
                   cert=ax509.Certificate.load(tsa.public_bytes(serialization.Encoding.DER)),
                   key=keys.PrivateKeyInfo.load(der_key))


class TimestampServer:
    """``with TimestampServer(keys, mode) as server: server.url``.

    Modes: "ok" answers as a TSA; "garbage" answers 200 with bytes that are no timestamp
    response; "error" answers HTTP 500; "slow" waits ``delay`` seconds, then answers well.
    ``fixed_time`` makes the TSA claim that time instead of now.
    """

    def __init__(self, tsa_keys: TSAKeys, mode: str = "ok", *, delay: float = 3.0,
                 fixed_time: datetime | None = None) -> None:
        assert mode in MODES
        self.stamper = DummyTimeStamper(tsa_keys.cert, tsa_keys.key, fixed_dt=fixed_time)
        self.mode = mode
        self.delay = delay
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                server.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if server.mode == "slow":
                    time.sleep(server.delay)
                if server.mode == "error":
                    self.send_error(500, "TSA out of order")
                    return
                if server.mode == "garbage":
                    answer = b"<html>not a timestamp</html>"
                else:
                    answer = server.stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client may have given up waiting
                    self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> TimestampServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"
