"""The installation's self-test: does this copy of dbcomm do its whole job on this computer?

It opens a fresh database in a temporary folder, loads the demo office, builds a quarterly
report PDF, signs it with a throwaway test certificate made on the spot, and verifies the
signature. IT staff run it after installing (``dbcomm self-test``), and the installer checks
run it inside the installed copy. Nothing in the person's own data folder is touched.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from dbcomm.i18n import _

Say = Callable[[str], None]


@dataclass
class Step:
    name: str
    seconds: float
    detail: str = ""


@dataclass
class SelfTestResult:
    ok: bool
    steps: list[Step] = field(default_factory=list)
    failed_step: str = ""
    reason: str = ""

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


class _Failed(Exception):
    pass


def _test_identity(folder: Path) -> tuple[Any, bytes]:
    """A root certificate and a signer certificate made now, valid for a day; the signer as .p12."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    from dbcomm.services import signing

    now = datetime.now(UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dbcomm self-test"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def cert(subject: x509.Name, key: Any, issuer: x509.Name, issuer_key: Any, *, ca: bool) -> x509.Certificate:
        usage = x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                              encipher_only=False, decipher_only=False)
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .add_extension(usage, critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                               critical=False)
                .sign(issuer_key, hashes.SHA256()))

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = name("dbcomm self-test root")
    root = cert(root_name, root_key, root_name, root_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    signer = cert(name("Lò Văn Thắng (thử nghiệm)"), key, root_name, root_key, ca=False)
    password = "tự-kiểm-tra"
    path = folder / "self-test.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"self-test", key, signer, [root], serialization.BestAvailableEncryption(password.encode())))
    return signing.load_pkcs12(path, password), root.public_bytes(serialization.Encoding.PEM)


def _signature_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 150), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(15, 110), (80, 40), (140, 100), (200, 35), (285, 95)],
                               fill=(20, 40, 190, 255), width=5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _last_quarter(today: date) -> str:
    quarter = (today.month - 1) // 3  # the quarter before this one
    year = today.year if quarter else today.year - 1
    return f"{year}-Q{quarter or 4}"


def run(say: Say = print, *, keep: Path | None = None,
        extra: tuple[tuple[str, Callable[[Any], str]], ...] = ()) -> SelfTestResult:
    """Run every step in turn; stop at the first that fails and say why.

    With ``keep``, the database and the signed PDF are written there (for IT staff to look at);
    otherwise everything lives in a temporary folder removed at the end. ``extra`` steps get the
    open database after the others (the command adds the window's check this way).
    """
    result = SelfTestResult(ok=False)
    folder = Path(tempfile.mkdtemp(prefix="dbcomm-self-test-"))
    state: dict[str, Any] = {}

    def step(title: str, work: Callable[[], str]) -> None:
        say(_("{step}…").format(step=title))
        began = time.perf_counter()
        try:
            detail = work()
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its step
            result.steps.append(Step(title, time.perf_counter() - began))
            raise _Failed(title, f"{type(exc).__name__}: {exc}") from exc
        seconds = time.perf_counter() - began
        result.steps.append(Step(title, seconds, detail))
        say(_("  OK ({seconds:.2f} s) {detail}").format(seconds=seconds, detail=detail).rstrip())

    def open_db() -> str:
        from dbcomm.services.database import open_database
        from dbcomm.store.migrate import HEAD_REVISION

        state["db"] = open_database(folder / "self-test.sqlite3")
        return _("schema {revision}").format(revision=HEAD_REVISION)

    def fonts() -> str:
        from dbcomm.services.fonts import check_fonts

        check_fonts()
        return ""

    def demo_office() -> str:
        from dbcomm.services import demo

        db = state["db"]
        demo.set_demo_office(db)
        added = demo.generate(db, 300, seed=386, end=date.today(), start=date.today() - timedelta(days=400))
        return _("{n} activities").format(n=added)

    def build() -> str:
        from dbcomm.domain.report import Narrative
        from dbcomm.services import plans, reports

        db = state["db"]
        plan_id = plans.default_plan(db).id
        cfg = reports.default_settings(db, plan_id, _last_quarter(date.today()))
        narrative = reports.draft_narrative(reports.compute(db, cfg, Narrative()))
        info = reports.save_draft(db, None, cfg, narrative)
        built = reports.build(db, info.id)
        state["report_id"] = info.id
        if not built.pdf.startswith(b"%PDF-"):
            raise RuntimeError(_("the report is not a PDF file"))
        return _("{pages} pages, {n} activities").format(pages=built.info.pdf_pages, n=built.info.activity_count)

    def sign() -> str:
        from dbcomm.services import report_signing

        identity, root_pem = _test_identity(folder)
        state["root"] = root_pem
        signed = report_signing.sign_report(state["db"], state["report_id"], identity, _signature_png())
        state["pdf"] = signed.pdf
        return _("PAdES {level}").format(level=signed.level)

    def verify() -> str:
        from dbcomm.services import signing

        outcome = signing.verify_pdf(state["pdf"], [state["root"]])
        if outcome.verdict != "valid":
            raise RuntimeError(_("the signature was not found valid: {verdict}").format(verdict=outcome.verdict))
        changed = bytearray(state["pdf"])
        middle = len(changed) // 3
        changed[middle] ^= 0x01  # one flipped byte must be noticed
        if signing.verify_pdf(bytes(changed), [state["root"]]).verdict == "valid":
            raise RuntimeError(_("a changed copy of the file was not noticed"))
        return _("valid; a changed copy is refused")

    try:
        try:
            for title, work in ((_("Opening a new database"), open_db),
                                (_("Checking the fonts"), fonts),
                                (_("Loading the demo office"), demo_office),
                                (_("Building a report PDF"), build),
                                (_("Signing it with a test certificate"), sign),
                                (_("Verifying the signature"), verify),
                                *((t, lambda w=w: w(state["db"])) for t, w in extra)):
                step(title, work)
            result.ok = True
        except _Failed as failed:
            result.failed_step, result.reason = failed.args
        if keep is not None and "db" in state:
            keep.mkdir(parents=True, exist_ok=True)
            if "pdf" in state:
                (keep / "self-test-signed.pdf").write_bytes(state["pdf"])
    finally:
        db = state.get("db")
        if db is not None:
            db.close()
        if keep is not None and (folder / "self-test.sqlite3").exists():
            shutil.copy2(folder / "self-test.sqlite3", keep / "self-test.sqlite3")
        shutil.rmtree(folder, ignore_errors=True)
    return result
