"""The report package: send an issued report on a USB stick, inspect and import one received.

A package is a small zip holding the issued (signed and sealed) report and a manifest; the
period's data travels inside the signed PDF (see docs/decisions/0005-exchange-packages.md).

Sending (``send``) writes ``<office>_<period>_<report uuid 8>.dbcpkg`` safely onto the stick
and marks the report "sent".  Receiving is three steps over the same checks:

- ``inspect`` says what a package is and whether it can be imported — ``new``, ``already``
  (the same signed file was imported before), ``newer`` (a later version of a report already
  imported for the same office and period), ``older`` (refused) or ``invalid`` (refused, with
  the reason) — and never raises;
- ``plan_import`` (a dry run) lists what importing would add, change, keep and remove;
- ``apply_import`` checks everything again and imports in one transaction.

A refused package leaves the receiving database untouched.  Nothing in the manifest is
believed on its own: every figure comes from the data the signatures cover, and the manifest
must agree with it.  "No activity" statements are not imported (the signed report shows them).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from dbcomm.domain.models import ActivityInput, ReachBreakdown
from dbcomm.domain.report import SENDABLE_STATES
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import fold, nfc, nfc_line, vi_sort_key
from dbcomm.domain.validation import validate_activity
from dbcomm.errors import NotFoundError, UserError
from dbcomm.i18n import _
from dbcomm.services import (
    audit,
    backup,
    exchange_data,
    package_files,
    pdf_fields,
    report_signing,
    settings,
    signing,
    trust,
)
from dbcomm.services.auth import require
from dbcomm.services.exchange_data import ActivityData, DataError, PeriodData
from dbcomm.services.package_files import PackageError
from dbcomm.store.activities import insert_links, insert_many
from dbcomm.store.engine import Database
from dbcomm.store.models import (
    Activity,
    ActivityNode,
    ActivityProgramme,
    ActivityReach,
    AppSetting,
    CommForm,
    Organisation,
    Plan,
    PlanNode,
    Programme,
    ReceivedReport,
    Report,
    utcnow,
)

KIND = "report"
PDF_MEMBER = "report.pdf"
MIN_SIGNATURES = 2  # the leader's and the office's seal

STATUSES = ("new", "already", "newer", "older", "invalid")
OFFICE_UUID_KEY = "office.uuid"  # as exchange_data.office_uuid keeps it (read here, never made)


# --- sending --------------------------------------------------------------------------------


def _ascii_words(text: str) -> str:
    """``"Mường Phăng"`` → ``"MuongPhang"``: diacritics removed, words joined, ASCII only."""
    words = re.split(r"[^0-9a-z]+", fold(text))
    return "".join(w[:1].upper() + w[1:] for w in words if w)


def suggested_name(db: Database, report_id: int) -> str:
    """The package's file name, e.g. ``MuongPhang_2026-Q3_1a2b3c4d.dbcpkg`` (ASCII only)."""
    office = settings.get_office(db)
    with db.read() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        period_key, report_uuid = r.period_key, r.uuid
    office_part = _ascii_words(office.place_name) or _ascii_words(office.name) or "Office"
    period_part = re.sub(r"[^0-9A-Za-z-]+", "_", fold(period_key).upper()).strip("_") or "period"
    return f"{office_part[:40]}_{period_part}_{report_uuid.replace('-', '')[:8]}{package_files.SUFFIX}"


def build_report_package(db: Database, report_id: int) -> bytes:
    """The package's bytes for an issued report (signed, sealed, with its data inside)."""
    with db.read() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        state, number, doc_date = r.state, r.number, r.doc_date
    if state == "returned":
        raise UserError(_("The receiving office returned this report: make a correction report with "
                          "“Correct…”, sign and seal it, and send that."))
    if state not in SENDABLE_STATES:
        raise UserError(_("Only an issued report (signed by the leader, then numbered and sealed) can be "
                          "sent; this one is not issued yet."))
    pdf = report_signing.signed_file(db, report_id)
    raw = signing.attachments_of(pdf).get(exchange_data.DATA_FILE)
    if raw is None:
        raise UserError(_("This report was signed before dbcomm put the period's data inside signed reports, "
                          "so it cannot be sent as a package. Make a correction report, sign and seal it, "
                          "and send that."))
    data = exchange_data.parse(raw)
    fields = pdf_fields.field_values(pdf)
    day = _fields_date(fields) or doc_date
    manifest = {
        "kind": KIND,
        "sender": {"uuid": data.office_uuid, "name": data.office_name},
        "period": {"key": data.period_key, "from": data.date_from.isoformat(), "to": data.date_to.isoformat()},
        "plan": {"code": data.plan_code},
        "report": {"uuid": data.report_uuid, "number": fields.get("so") or number,
                   "date": day.isoformat() if day else None, "supersedes": data.supersedes},
        "counts": {"activities": len(data.activities), "audit": len(data.audit)},
        "app_version": data.app_version,
    }
    return package_files.build(manifest, {PDF_MEMBER: pdf})


def send(db: Database, report_id: int, folder: Path) -> Path:
    """Write the report's package into ``folder`` (a USB stick) and mark the report sent."""
    actor = require(db, Perm.EXPORT)
    data = build_report_package(db, report_id)
    name = suggested_name(db, report_id)
    path = package_files.write_safely(Path(folder), name, data)
    with db.write() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        if r.state == "issued":
            r.state = "sent"
        r.sent_at = utcnow()
        r.version += 1
        audit.record(s, actor, "export", entity="report", entity_uuid=r.uuid,
                     summary=f"{r.period_key}: {name} {hashlib.sha256(data).hexdigest()[:12]}")
    return path


# --- what a package is ----------------------------------------------------------------------


@dataclass
class PackageInfo:
    """What ``inspect`` found; ``status`` is one of ``STATUSES``, ``problem`` says why it is refused."""

    path: Path
    sha256: str = ""  # of the package file
    sender_name: str = ""
    sender_uuid: str = ""
    plan_code: str = ""
    period_key: str = ""
    date_from: date | None = None
    date_to: date | None = None
    report_uuid: str = ""
    supersedes: str | None = None
    subject: str = ""
    number: str = ""
    doc_date: date | None = None
    activity_count: int = 0
    signers: list[str] = field(default_factory=list)
    verdict: str = ""  # of the signatures: valid | untrusted | modified | invalid | unsigned
    sealed_at: datetime | None = None  # the last signature's time (UTC, naive)
    status: str = "invalid"
    problem: str = ""
    code: str = ""  # the check that refused it (PackageError.code)

    @property
    def importable(self) -> bool:
        return self.status in ("new", "newer")


@dataclass(frozen=True)
class Conflict:
    uuid: str
    title: str
    reason: str


@dataclass
class ImportPlan:
    """A dry run: what importing the package would do (nothing is written)."""

    info: PackageInfo
    to_add: list[str] = field(default_factory=list)  # activity uuids
    to_change: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {"add": len(self.to_add), "change": len(self.to_change), "unchanged": len(self.unchanged),
                "remove": len(self.to_remove), "conflicts": len(self.conflicts)}


@dataclass(frozen=True)
class ImportResult:
    info: PackageInfo
    changed: bool  # False: the package was imported before, nothing was written
    received_id: int | None
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    places_added: int = 0
    message: str = ""


@dataclass
class _Package:
    """A package that passed the checks that need no database."""

    info: PackageInfo
    pdf: bytes
    data: PeriodData
    signature_results: list[signing.SignatureResult]


@dataclass
class _Context:
    """What the database says about a package (computed in one session)."""

    sender_id: int
    plan_id: int
    forms: dict[str, int]
    nodes: dict[str, int]
    programmes: dict[str, int]
    current_id: int | None  # the sender's imported report of the period this one replaces
    plan: ImportPlan
    existing: dict[str, int]  # uuid → activity id (the sender's received activities)


def _refuse(code: str, message: str) -> PackageError:
    return PackageError(code, message)


def _fields_date(fields: dict[str, str]) -> date | None:
    try:
        return date(int(fields["nam"]), int(fields["thang"]), int(fields["ngay"]))
    except (KeyError, ValueError):
        return None


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _same(a: Any, b: Any) -> bool:
    return unicodedata.normalize("NFC", str(a or "")) == unicodedata.normalize("NFC", str(b or ""))


# A person inspects a package, looks at what it holds, then imports it: the second check of
# the same bytes against the same trust list reuses the first one's verdict for a few minutes
# (verifying a report's two signatures takes up to a second).
_VERIFIED: dict[str, tuple[float, signing.Verification]] = {}
_VERIFIED_TTL = 300.0
_VERIFIED_MAX = 128  # a province reads a few dozen packages at a time: look, then import


def _verify(pdf: bytes, roots: list[bytes], crls: list[bytes]) -> signing.Verification:
    digest = hashlib.sha256()
    for blob in (pdf, *roots, b"--crls--", *crls):
        digest.update(hashlib.sha256(blob).digest())
    key = digest.hexdigest()
    now = time.monotonic()
    hit = _VERIFIED.get(key)
    if hit is not None and now - hit[0] < _VERIFIED_TTL:
        return hit[1]
    result = signing.verify_pdf(pdf, roots, crls)
    for old in [k for k, (at, _v) in _VERIFIED.items() if now - at >= _VERIFIED_TTL]:
        del _VERIFIED[old]
    if len(_VERIFIED) >= _VERIFIED_MAX:
        del _VERIFIED[min(_VERIFIED, key=lambda k: _VERIFIED[k][0])]
    _VERIFIED[key] = (now, result)
    return result


def _check_signatures(db: Database, name: str, pdf: bytes, info: PackageInfo) -> list[signing.SignatureResult]:
    """The report's signatures: valid, trusted, the leader's and the office's (or refused)."""
    try:
        verification = _verify(pdf, trust.root_certificates(db), trust.crl_data(db))
    except UserError as exc:
        raise _refuse("pdf_unreadable", _("The report inside {file} is not a readable PDF ({reason}). Ask the "
                                          "sending office for the package again.").format(file=name, reason=exc)) from exc
    info.verdict = verification.verdict
    info.signers = [r.signer_name for r in verification.signatures]
    times = [r.signing_time for r in verification.signatures if r.signing_time is not None]
    info.sealed_at = _naive_utc(max(times)) if times else None
    if verification.verdict == "unsigned":
        raise _refuse("unsigned", _("The report inside {file} is not signed. Only a report signed by the "
                                    "leader and sealed by the office can be imported; ask the sending office "
                                    "to sign and seal it, then send it again.").format(file=name))
    if verification.verdict == "untrusted":
        raise _refuse("untrusted", _("The signatures of the report inside {file} are intact, but a signer's "
                                     "certificate does not come from an authority this office trusts. If the "
                                     "sending office is genuine, import its certificate authority's root "
                                     "(“Verify a signed PDF” → “Trusted authorities”), then import the "
                                     "package again.").format(file=name))
    if verification.verdict == "modified":
        raise _refuse("modified", _("The report inside {file} was changed after it was signed; it is refused. "
                                    "Ask the sending office for the package again.").format(file=name))
    if verification.verdict != "valid":
        raise _refuse("signature", _("A signature of the report inside {file} is invalid: the document or the "
                                     "signature was altered, or a certificate was revoked. It is refused; ask "
                                     "the sending office for the package again.").format(file=name))
    if len(verification.signatures) < MIN_SIGNATURES:
        raise _refuse("not_sealed", _("The report inside {file} carries {n} signature; an issued report carries "
                                      "the leader's signature and the office's seal. Ask the sending office's "
                                      "registry to number and seal it, then send it again.").format(
            file=name, n=len(verification.signatures)))
    return list(verification.signatures)


def _open(db: Database, path: Path, info: PackageInfo) -> _Package:
    """Every check that needs no database but the trust list: container, manifest, signatures,
    data, and that the manifest agrees with the signed data."""
    name = path.name
    raw = package_files.read(path, (PDF_MEMBER,))
    info.sha256 = raw.sha256
    manifest = raw.manifest
    if manifest.get("kind") != KIND:
        raise _refuse("kind", _("{file} is a dbcomm package, but not a report (it holds “{kind}”). Import it "
                                "where that kind of package is imported.").format(
            file=name, kind=str(manifest.get("kind", "—"))[:40]))
    pdf = raw.members[PDF_MEMBER]
    with db.read() as s:  # these very bytes, verified when they were imported: no need to again
        known = s.scalar(select(ReceivedReport).where(ReceivedReport.pdf_sha256 == hashlib.sha256(pdf).hexdigest(),
                                                      ReceivedReport.verdict == "valid").limit(1))
        if known is not None:
            info.verdict, info.signers, info.sealed_at = known.verdict, known.signers.splitlines(), known.sealed_at
    results = _check_signatures(db, name, pdf, info) if known is None else []
    try:
        embedded = signing.attachments_of(pdf).get(exchange_data.DATA_FILE)
    except UserError as exc:
        raise _refuse("pdf_unreadable", _("The report inside {file} is not a readable PDF ({reason}).").format(
            file=name, reason=exc)) from exc
    if embedded is None:
        raise _refuse("no_data", _("The report inside {file} does not carry its data (it was signed by an older "
                                   "dbcomm). Ask the sending office for a correction report made with this "
                                   "version.").format(file=name))
    try:
        data = exchange_data.parse(embedded)
    except DataError as exc:
        raise _refuse(f"data_{exc.code}", _("The data inside {file} cannot be imported: {reason} Ask the sending "
                                            "office about it.").format(file=name, reason=exc)) from exc
    info.sender_name, info.sender_uuid = data.office_name, data.office_uuid
    info.plan_code, info.period_key = data.plan_code, data.period_key
    info.date_from, info.date_to = data.date_from, data.date_to
    info.report_uuid, info.supersedes, info.subject = data.report_uuid, data.supersedes, data.report_subject
    info.activity_count = len(data.activities)
    fields = pdf_fields.field_values(pdf)
    _check_manifest(name, manifest, data, fields)
    report_part = manifest.get("report")
    declared: dict[str, Any] = report_part if isinstance(report_part, dict) else {}
    info.number = fields.get("so") or str(declared.get("number") or "")
    info.doc_date = _fields_date(fields)
    if info.doc_date is None and declared.get("date"):
        try:
            info.doc_date = date.fromisoformat(str(declared["date"]))
        except ValueError:
            info.doc_date = None
    return _Package(info, pdf, data, results)


def _check_manifest(name: str, manifest: dict[str, Any], data: PeriodData, fields: dict[str, str]) -> None:
    def part(key: str) -> dict[str, Any]:
        value = manifest.get(key)
        return value if isinstance(value, dict) else {}

    sender, period, report, counts = part("sender"), part("period"), part("report"), part("counts")
    wrong: list[str] = []
    if not (_same(sender.get("uuid"), data.office_uuid) and _same(sender.get("name"), data.office_name)):
        wrong.append(_("the sending office"))
    if not (_same(period.get("key"), data.period_key) and period.get("from") == data.date_from.isoformat()
            and period.get("to") == data.date_to.isoformat()):
        wrong.append(_("the period"))
    if not (_same(report.get("uuid"), data.report_uuid) and _same(report.get("supersedes"), data.supersedes)):
        wrong.append(_("the report"))
    if fields.get("so") and not _same(report.get("number"), fields["so"]):
        wrong.append(_("the document number"))
    if not _same(part("plan").get("code"), data.plan_code):
        wrong.append(_("the plan"))
    if counts.get("activities") != len(data.activities) or counts.get("audit") != len(data.audit):
        wrong.append(_("the number of activities or audit entries"))
    if wrong:
        raise _refuse("manifest_mismatch", _("The manifest of {file} disagrees with the signed report about {what}. "
                                             "The package was altered or badly made; it is refused. Ask the "
                                             "sending office for it again.").format(file=name, what=", ".join(wrong)))


def _find_sender(s: Session, data: PeriodData) -> Organisation | None:
    by_uuid = s.scalar(select(Organisation).where(Organisation.uuid == data.office_uuid))
    if by_uuid is not None:
        return by_uuid
    key = _office_key(data.office_name)
    found = [o for o in s.scalars(select(Organisation).order_by(Organisation.id)) if _office_key(o.name) == key]
    if not found:
        return None
    valid = [o for o in found if (o.valid_from is None or o.valid_from <= data.date_to)
             and (o.valid_to is None or data.date_from <= o.valid_to)]
    return (valid or found)[0]


_ABBREVIATIONS = (("uy ban nhan dan", "ubnd"), ("hoi dong nhan dan", "hdnd"), ("so giao duc va dao tao", "sgddt"),
                  ("phong giao duc va dao tao", "pgddt"))


def _office_key(name: str) -> str:
    """An office's name for matching the directory: case, diacritics, spacing and the usual
    abbreviations ("UBND" for "Ủy ban nhân dân") do not matter."""
    key = " ".join(fold(name).split())
    for long, short in _ABBREVIATIONS:
        key = key.replace(long, short)
    return key


def _comparable(a: ActivityData) -> tuple[Any, ...]:
    """What must be equal for two copies of one version of an activity (as it is stored)."""
    return (a.date_start, a.date_end if a.date_end != a.date_start else None, a.form, a.subtype,
            nfc_line(a.title), nfc(a.description), fold(a.place), tuple(dict.fromkeys(a.languages)), a.items, a.minutes, a.sessions, a.reach_total,
            tuple(sorted((d, tuple(sorted(c.items()))) for d, c in a.reach.items())),
            tuple(sorted(set(a.objectives))), tuple(sorted(set(a.programmes))), nfc_line(a.partner), a.cost,
            a.funding, nfc(a.notes))


def _stored_data(a: Activity) -> ActivityData:
    return exchange_data._activity(a)


def _data_of(pdf: bytes) -> PeriodData | None:
    try:
        raw = signing.attachments_of(pdf).get(exchange_data.DATA_FILE)
        return exchange_data.parse(raw) if raw is not None else None
    except UserError:
        return None


def _analyse(s: Session, pkg: _Package) -> _Context:
    """Check the package against this database and say what importing it would do.  Raises
    :class:`PackageError` for a refused package; conflicts are listed, not raised."""
    info, data, name = pkg.info, pkg.data, pkg.info.path.name
    own = s.get(AppSetting, OFFICE_UUID_KEY)
    if own is not None and _same(json.loads(own.value), data.office_uuid):
        raise _refuse("own_report", _("{file} is a report of this office itself; it is not imported here. "
                                      "Take it to the office it was sent to.").format(file=name))
    sender = _find_sender(s, data)
    if sender is None:
        raise _refuse("unknown_sender", _("{file} comes from “{office}”, which is not in this office's directory. "
                                          "If it is one of your units, add it on the Directory tab first "
                                          "(its name as in the report), then import the package again.").format(
            file=name, office=data.office_name))
    plan = s.scalar(select(Plan).where(Plan.code == data.plan_code).order_by(Plan.is_default.desc(), Plan.id))
    if plan is None:
        raise _refuse("unknown_plan", _("{file} reports on plan “{plan}”, which this office does not have. Import "
                                        "that plan (or its update) first, then import the package again.").format(
            file=name, plan=data.plan_code))
    forms = {f.code: f.id for f in s.scalars(select(CommForm).where(CommForm.plan_id == plan.id))}
    nodes = {n.code: n.id for n in s.scalars(select(PlanNode).where(PlanNode.plan_id == plan.id))}
    programmes = {p.code: p.id for p in s.scalars(select(Programme).where(Programme.plan_id == plan.id))}
    for kind, used, known in ((_("communication form"), {a.form for a in data.activities}, forms),
                              (_("objective or task"), {c for a in data.activities for c in a.objectives}, nodes),
                              (_("programme"), {c for a in data.activities for c in a.programmes}, programmes)):
        missing = sorted(used - set(known))
        if missing:
            raise _refuse("unknown_code", _("{file} uses {kind} {codes}, which plan “{plan}” here does not have. "
                                            "Import the plan update the sending office uses, then import the "
                                            "package again.").format(
                file=name, kind=kind, codes=", ".join(missing[:10]), plan=data.plan_code))
    today = date.today() + timedelta(days=1)  # clocks of two offline computers differ
    for index, a in enumerate(data.activities, start=1):
        errors = validate_activity(_input(a, plan.id, forms[a.form], [], [], None), plan.start_year,
                                   plan.end_year, today)
        if errors:
            raise _refuse("activity_invalid", _("{file}: activity {n} (“{title}”) cannot be imported: {reason} Ask "
                                                "the sending office about it.").format(
                file=name, n=index, title=a.title[:80], reason=errors[0].message))
    # status: compare with what was imported before from this office for this period
    rows = list(s.scalars(select(ReceivedReport).where(
        ReceivedReport.sender_office_uuid == data.office_uuid, ReceivedReport.period_key == data.period_key,
        ReceivedReport.plan_code == data.plan_code).order_by(ReceivedReport.id)))
    same_file = next((r for r in rows if r.pdf_sha256 == hashlib.sha256(pkg.pdf).hexdigest()), None)
    live = [r for r in rows if r.state != "superseded"]
    current = live[-1] if live else None
    plan_out = ImportPlan(info)
    if same_file is not None:
        info.status = "already" if same_file.state != "superseded" else "older"
    elif any(r.report_uuid == data.report_uuid for r in rows):
        raise _refuse("same_report", _("{file} holds report {uuid}, which was imported before from a different "
                                       "file. One report cannot have two signed files; ask the sending office "
                                       "which one is right.").format(file=name, uuid=data.report_uuid))
    elif current is None:
        info.status = "new"
    else:
        previous = _data_of(current.signed_pdf)
        superseded_by_current = previous is not None and previous.supersedes == data.report_uuid
        if data.supersedes == current.report_uuid:
            info.status = "newer"
        elif superseded_by_current or any(r.report_uuid == data.supersedes for r in rows if r is not current):
            info.status = "older"
        elif info.sealed_at is not None and current.sealed_at is not None and info.sealed_at > current.sealed_at:
            info.status = "newer"
        else:
            info.status = "older"
    if info.status == "older":
        when = current.doc_date.strftime("%d/%m/%Y") if current is not None and current.doc_date else "—"
        info.problem = _("{file} is an earlier version of the report of {office} for {period} than the one "
                         "imported already (number {number}, {date}); it is not imported.").format(
            file=name, office=data.office_name, period=data.period_key,
            number=current.number if current is not None else "—", date=when)
        info.code = "older"
    ctx = _Context(sender.id, plan.id, forms, nodes, programmes, current.id if current is not None else None,
                   plan_out, {})
    if info.status not in ("new", "newer"):
        return ctx
    # the activities, one by one
    uuids = [a.uuid for a in data.activities]
    stored: dict[str, Activity] = {}
    for k in range(0, len(uuids), 500):
        for hit in s.scalars(select(Activity).where(Activity.uuid.in_(uuids[k:k + 500]))):
            stored[hit.uuid] = hit
    for a in data.activities:
        row = stored.get(a.uuid)
        if row is None:
            plan_out.to_add.append(a.uuid)
            continue
        ctx.existing[a.uuid] = row.id
        if row.origin_id is None:
            plan_out.conflicts.append(Conflict(a.uuid, a.title, _("it is one of this office's own activities")))
        elif row.origin_id != sender.id:
            plan_out.conflicts.append(Conflict(a.uuid, a.title, _("it was received from another office")))
        elif a.version > row.version or row.deleted_at is not None:
            plan_out.to_change.append(a.uuid)
        elif a.version < row.version:
            plan_out.conflicts.append(Conflict(a.uuid, a.title, _(
                "a later version of it (version {v}) was imported already").format(v=row.version)))
        elif _comparable(_stored_data(row)) == _comparable(a):
            plan_out.unchanged.append(a.uuid)
        else:
            plan_out.conflicts.append(Conflict(a.uuid, a.title, _(
                "it has the same version as the one imported already, but different content")))
    if info.status == "newer" and current is not None:
        previous = _data_of(current.signed_pdf)
        gone = sorted({x.uuid for x in previous.activities} - set(uuids)) if previous else []
        for k in range(0, len(gone), 500):
            for hit in s.scalars(select(Activity).where(
                    Activity.uuid.in_(gone[k:k + 500]), Activity.origin_id == sender.id,
                    Activity.deleted_at.is_(None))):
                plan_out.to_remove.append(hit.uuid)
                ctx.existing[hit.uuid] = hit.id
    if plan_out.conflicts:
        first = plan_out.conflicts[0]
        info.status, info.code = "invalid", "conflict"
        info.problem = _("{file} cannot be imported: {n} of its activities conflict with this database — for "
                         "example “{title}” ({uuid}): {reason}. Nothing was imported; ask the sending office "
                         "about it.").format(file=name, n=len(plan_out.conflicts), title=first.title[:80],
                                             uuid=first.uuid, reason=first.reason)
    return ctx


def _input(a: ActivityData, plan_id: int, form_id: int, node_ids: list[int], programme_ids: list[int],
           place_id: int | None) -> ActivityInput:
    return ActivityInput(
        plan_id=plan_id, date_start=a.date_start, form_id=form_id, title=a.title, subtype=a.subtype,
        date_end=a.date_end, description=a.description, node_ids=node_ids, programme_ids=programme_ids,
        place_id=place_id, languages=list(a.languages), items=a.items, minutes=a.minutes, sessions=a.sessions,
        reach_total=a.reach_total, reach=ReachBreakdown({d: dict(c) for d, c in a.reach.items()}),
        partner=a.partner, cost=a.cost, funding=a.funding, notes=a.notes)


def _invalid(info: PackageInfo, exc: Exception) -> PackageInfo:
    info.status = "invalid"
    info.code = exc.code if isinstance(exc, (PackageError, DataError)) else "error"
    info.problem = str(exc) if isinstance(exc, UserError) else _(
        "{file} could not be read: {reason}").format(file=info.path.name, reason=exc)
    return info


def inspect(db: Database, path: Path) -> PackageInfo:
    """What the package at ``path`` is and whether it can be imported.  Never raises."""
    return plan_import(db, path).info


def plan_import(db: Database, path: Path) -> ImportPlan:
    """A dry run of ``apply_import``: the package's info and what importing it would change."""
    info = PackageInfo(Path(path))
    try:
        pkg = _open(db, Path(path), info)
        with db.read() as s:
            return _analyse(s, pkg).plan
    except Exception as exc:  # whatever is wrong with a package, the answer is "refused, because …"
        return ImportPlan(_invalid(info, exc))


# --- importing ------------------------------------------------------------------------------

_PLACE_KINDS = (("thi tran ", "township"), ("phuong ", "ward"), ("xa ", "commune"), ("thanh pho ", "city"),
                ("thi xa ", "town"), ("huyen ", "district"), ("so ", "department"), ("tinh ", "province"))


def _place_kind(name: str) -> str:
    key = fold(name) + " "
    return next((kind for prefix, kind in _PLACE_KINDS if key.startswith(prefix)), "commune")


def _place_id(s: Session, name: str, sender: Organisation, cache: dict[str, int], added: list[int]) -> int | None:
    name = nfc_line(name)
    if not name:
        return None
    key = fold(name)
    if key in cache:
        return cache[key]
    found = list(s.scalars(select(Organisation).where(Organisation.name_fold == key).order_by(Organisation.id)))
    chosen = next((o for o in found if o.parent_id == sender.id), None) or (found[0] if found else None)
    if chosen is None:
        chosen = Organisation(name=name, name_fold=key, name_sort=vi_sort_key(name), kind=_place_kind(name),
                              parent_id=sender.id, in_area=False)  # the sender's place, not this office's area
        s.add(chosen)
        s.flush()
        added.append(chosen.id)
    cache[key] = chosen.id
    return chosen.id


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _write_activities(s: Session, ctx: _Context, plan: ImportPlan, data: PeriodData, sender: Organisation,
                      received_id: int, now: datetime, places: dict[str, int], places_added: list[int]) -> None:
    """Write the package's new and changed activities in bulk (a province reads 45 packages of
    thousands of activities at a time): the same fields as ``services.activities`` writes —
    its cleaning (``_clean``), folded title, sort key, search text (``_search_text``), nodes,
    programmes, reach — with one executemany per table instead of several statements per
    activity, and no ORM object per row."""
    from sqlalchemy import delete, update

    wanted = set(plan.to_add) | set(plan.to_change)
    rows: list[dict[str, Any]] = []
    links: list[tuple[str, dict[int, None], dict[int, None], dict[str, dict[str, int]]]] = []
    for a in data.activities:
        if a.uuid not in wanted:
            continue
        title, description, partner, notes = nfc_line(a.title), nfc(a.description), nfc_line(a.partner), nfc(a.notes)
        rows.append({
            "uuid": a.uuid, "version": a.version, "updated_at": now, "deleted_at": None,
            "plan_id": ctx.plan_id, "form_id": ctx.forms[a.form], "subtype": a.subtype,
            "date_start": a.date_start,
            "date_end": None if a.date_end == a.date_start else a.date_end,
            "title": title, "title_fold": fold(title), "title_sort": vi_sort_key(title),
            "description": description, "partner": partner, "notes": notes,
            "place_id": _place_id(s, a.place, sender, places, places_added),
            "languages": " ".join(dict.fromkeys(a.languages)), "items": a.items,
            "minutes": a.minutes, "sessions": a.sessions, "reach_total": a.reach_total,
            "cost": a.cost, "funding": a.funding, "search_text": fold(" ".join((title, description, partner, notes))),
            "origin_id": sender.id, "origin_report_id": received_id})
        links.append((a.uuid, dict.fromkeys(ctx.nodes[c] for c in a.objectives),
                      dict.fromkeys(ctx.programmes[c] for c in a.programmes), a.reach))
    changed = [r for r in rows if r["uuid"] in ctx.existing]
    added = [r for r in rows if r["uuid"] not in ctx.existing]
    if changed:
        ids = [ctx.existing[r["uuid"]] for r in changed]
        for table in (ActivityNode, ActivityProgramme, ActivityReach):
            s.execute(delete(table).where(table.activity_id.in_(ids)))
        s.execute(update(Activity), [{"id": ctx.existing[r["uuid"]], **{k: v for k, v in r.items() if k != "uuid"}}
                                     for r in changed])
    ids_by_uuid = dict(ctx.existing)
    ids_by_uuid.update(insert_many(s, [{**r, "created_at": now} for r in added]))
    nodes: list[tuple[Any, ...]] = []
    programmes: list[tuple[Any, ...]] = []
    reach: list[tuple[Any, ...]] = []
    for uid, node_ids, programme_ids, counts in links:
        activity_id = ids_by_uuid[uid]
        nodes += [(activity_id, n) for n in node_ids]
        programmes += [(activity_id, p) for p in programme_ids]
        reach += [(activity_id, dim, cat, n) for dim, cats in counts.items() for cat, n in cats.items() if n]
    insert_links(s, nodes, programmes, reach)
    s.expire_all()  # the session must not keep the old state of rows written around it


def apply_import(db: Database, path: Path, expected_sha256: str | None = None, *,
                 backup_first: bool = True) -> ImportResult:
    """Import the package at ``path``: everything is checked again, then written in one
    transaction.  A package imported before changes nothing; a refused one raises
    :class:`PackageError` and changes nothing.  ``expected_sha256``: the package's SHA-256 as
    inspected, to make sure the file read now is the one the person looked at.
    ``backup_first``: a safety backup before writing, as before any import (False when the
    caller took one before a batch of packages)."""
    actor = require(db, Perm.IMPORT)
    info = PackageInfo(Path(path))
    try:
        pkg = _open(db, Path(path), info)
    except UserError:
        raise
    except Exception as exc:  # an unforeseen fault of the file: refused all the same
        raise PackageError("error", _invalid(info, exc).problem) from exc
    if expected_sha256 and expected_sha256 != info.sha256:
        raise PackageError("changed", _("{file} changed since it was inspected; inspect it again before "
                                        "importing.").format(file=info.path.name))
    if backup_first:
        backup.before(db, "report-import")
    data, name = pkg.data, info.path.name
    with db.write() as s:
        ctx = _analyse(s, pkg)
        plan = ctx.plan
        if info.status == "already":
            return ImportResult(info, False, None, unchanged=len(data.activities), message=_(
                "{file} was imported before; nothing changed.").format(file=name))
        if info.status != "new" and info.status != "newer":
            raise PackageError(info.code or "refused", info.problem)
        sender = s.get(Organisation, ctx.sender_id)
        assert sender is not None
        received = ReceivedReport(
            sender_id=sender.id, sender_office_uuid=data.office_uuid, sender_name=data.office_name,
            report_uuid=data.report_uuid, plan_code=data.plan_code, period_key=data.period_key,
            date_from=data.date_from, date_to=data.date_to, number=info.number, doc_date=info.doc_date,
            subject=data.report_subject, sealed_at=info.sealed_at, signers="\n".join(info.signers),
            verdict=info.verdict, activity_count=len(data.activities), signed_pdf=pkg.pdf,
            pdf_sha256=hashlib.sha256(pkg.pdf).hexdigest(), package_sha256=info.sha256,
            received_by=actor.display, state="received", supersedes_id=ctx.current_id)
        s.add(received)
        s.flush()
        if info.status == "newer" and ctx.current_id is not None:
            old = s.get(ReceivedReport, ctx.current_id)
            if old is not None:
                old.state = "superseded"
                old.version += 1
        now = utcnow()
        places: dict[str, int] = {}
        places_added: list[int] = []
        _write_activities(s, ctx, plan, data, sender, received.id, now, places, places_added)
        for uid in plan.to_remove:
            gone_row = s.get(Activity, ctx.existing[uid])
            if gone_row is not None:
                gone_row.deleted_at, gone_row.updated_at = now, now
        s.flush()
        summary = _("{office}, {period}: report {number} — {added} added, {changed} changed, {removed} removed").format(
            office=data.office_name, period=data.period_key, number=info.number or "—", added=len(plan.to_add),
            changed=len(plan.to_change), removed=len(plan.to_remove))
        audit.record(s, actor, "import", entity="report", entity_uuid=data.report_uuid, summary=summary,
                     changes={"package": [None, info.sha256], "status": [None, info.status],
                              "places_added": [None, len(places_added)]})
        received_id = received.id
    return ImportResult(info, True, received_id, added=len(plan.to_add), updated=len(plan.to_change),
                        unchanged=len(plan.unchanged), removed=len(plan.to_remove),
                        places_added=len(places_added), message=summary)
