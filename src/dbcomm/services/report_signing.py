"""Signing a report as Vietnamese offices do: the leader signs, then the registry seals.

1. ``sign_report``: the leader's visible signature — the signature image centred in the
   signature space between the signer's title and name.  The report's period is locked, and
   the report can no longer be rebuilt (a correction is a new report, ``make_correction``).
2. ``seal_report``: the registry fills in the number (and the date, if it was left blank) —
   a form fill, which keeps the leader's signature valid — and applies the office's
   signature as a second incremental update, showing the seal at its real size over the
   left third of the signature image.

Each step keeps the signed file with the report (``signed_pdf``) with its SHA-256 and the
signature level obtained (PAdES B-B, or B-T with a timestamp server).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dbcomm.domain.report import ReportSettings
from dbcomm.domain.roles import Perm
from dbcomm.domain.validation import FieldError
from dbcomm.errors import NotFoundError, UserError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import audit, exchange_data, pdf_fields, periods, reports, settings, signing
from dbcomm.services.auth import require
from dbcomm.store.engine import Database
from dbcomm.store.models import Report, utcnow

LEADER_FIELD = "ChuKyLanhDao"
SEAL_FIELD = "DauCoQuan"
ANNEX_FIELD = "ChuKyCoQuan"
TIMESTAMP_URL_KEY = "signing.timestamp_url"
TIMESTAMP_TIMEOUT = 60.0  # seconds: a slow line to the timestamp server is usual
SIGNATURE_FILL = (0.8, 0.95)  # the image may take this share of the space's width, height
VIETNAM = timedelta(hours=7)

Rect = tuple[float, float, float, float]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SignedReport:
    info: reports.ReportInfo
    pdf: bytes
    level: str  # B-B | B-T
    timestamp_problem: str  # why a timestamp was asked for and not obtained ("" otherwise)


# --- geometry ------------------------------------------------------------------------------


def _image_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return image.size


def signature_rect(space: Rect, png: bytes) -> Rect:
    """The signature image's place: as large as fits ``SIGNATURE_FILL`` of the signature
    space, its proportions kept, centred between the signer's title and name."""
    x, y, w, h = space
    iw, ih = _image_size(png)
    scale = min(w * SIGNATURE_FILL[0] / iw, h * SIGNATURE_FILL[1] / ih)
    sw, sh = iw * scale, ih * scale
    return x + (w - sw) / 2, y + (h - sh) / 2, sw, sh


def seal_rect(signature: Rect, png: bytes, diameter_mm: float) -> Rect:
    """The seal at its real size (its width is the seal's diameter), centred on the height of
    the signature image and covering its left third."""
    x, y, w, h = signature
    iw, ih = _image_size(png)
    sw = diameter_mm * 72 / 25.4
    sh = sw * ih / iw
    return x + w / 3 - sw, y + h / 2 - sh / 2, sw, sh


# --- settings -----------------------------------------------------------------------------


def timestamp_url(db: Database) -> str:
    return str(settings.get_value(db, TIMESTAMP_URL_KEY, "") or "")


def set_timestamp_url(db: Database, url: str) -> None:
    """The timestamp server (RFC 3161) to use when the workstation can reach one; "" for none."""
    require(db, Perm.MANAGE_SIGNING)
    url = url.strip()
    if url and not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", url, flags=re.IGNORECASE):
        raise ValidationFailed([FieldError("timestamp_url", _(
            "Enter the timestamp server's address as http://… or https://…, or leave it empty."))])
    settings.set_value(db, TIMESTAMP_URL_KEY, url)


# --- the two steps ------------------------------------------------------------------------


def _sign(pdf: bytes, identity: signing.Identity, field_name: str, box: signing.Box, image_png: bytes,
          url: str, when: datetime | None, location: str,
          attachments: list[tuple[str, bytes, str]] | None = None) -> signing.SignOutcome:
    return signing.sign_pdf_ex(
        pdf, identity, field_name=field_name, box=box, image_png=image_png, location=location,
        signing_time=when, timestamp_url=url or None, timestamp_timeout=TIMESTAMP_TIMEOUT,
        attachments=attachments)


def _check_intact(pdf: bytes) -> None:
    """Never keep a signed file that does not verify (trust aside)."""
    result = signing.verify_pdf(pdf)
    if result.verdict not in ("valid", "untrusted"):
        raise UserError(_("The signed file did not verify ({verdict}); nothing was kept.").format(
            verdict=result.verdict))


def _layout(r: Report) -> dict[str, Any]:
    return json.loads(r.signature_layout) if r.signature_layout else {}


def sign_report(db: Database, report_id: int, identity: signing.Identity, image_png: bytes, *,
                now: datetime | None = None, progress: Progress | None = None) -> SignedReport:
    """The leader signs the built report: visible signature, period locked, report final."""
    from dbcomm.services.identities import check_image
    from dbcomm.services.report_pdf import signature_box

    actor = require(db, Perm.SIGN_REPORT)
    check_image(image_png, "signature")
    signing.check_usable(identity, now)
    detail = reports.get_report(db, report_id)
    if detail.info.is_signed:
        raise UserError(_("This report is signed already."))
    if detail.info.built_at is None:
        raise UserError(_("Build the report before signing it."))
    changed = reports.changed_since_build(db, report_id)
    if changed:
        raise UserError(_("{n} activities of the period changed since the report was built. Build it "
                          "again, check it, then sign.").format(n=changed))
    if progress:
        progress(1, 4)
    rendered = reports.render_stored(db, report_id)
    if not rendered.identical:
        raise UserError(_("The stored report cannot be reproduced exactly; build it again before signing."))
    content = reports.stored_content(db, report_id)
    page, x, y, w, h = signature_box(content)
    rect = signature_rect((x, y, w, h), image_png)
    if progress:
        progress(2, 4)
    url = timestamp_url(db)
    # The period's data travels inside the PDF, covered by the leader's signature (and then
    # the seal's): see docs/decisions/0005-exchange-packages.md.
    data = exchange_data.collect(db, report_id)
    outcome = _sign(rendered.pdf, identity, LEADER_FIELD, (page, *rect), image_png, url, now,
                    content.header.place, [(exchange_data.DATA_FILE, data, exchange_data.DATA_MIME)])
    _check_intact(outcome.data)
    if progress:
        progress(3, 4)
    digest = hashlib.sha256(outcome.data).hexdigest()
    with db.write() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        if r.state != "draft" or r.pdf_sha256 != detail.info.pdf_sha256:
            raise UserError(_("Someone else changed this report meanwhile; look again."))
        r.state, r.signed_pdf, r.signed_sha256 = "signed", outcome.data, digest
        r.signature_level = outcome.level
        r.signed_at, r.signed_by = utcnow(), identity.holder_name
        r.signature_layout = json.dumps({"page": page, "signature": rect}, sort_keys=True)
        r.version += 1
        periods.lock_for_signature(
            s, actor, r.plan_id, r.period_key, r.date_from, r.date_to,
            _("Report signed by {name}.").format(name=identity.holder_name), by=identity.holder_name)
        audit.record(s, actor, "sign", entity="report", entity_uuid=r.uuid,
                     summary=f"{r.period_key}: {identity.holder_name} ({outcome.level}) {digest[:12]}")
        s.flush()
        info = reports._info(r)
    if progress:
        progress(4, 4)
    return SignedReport(info, outcome.data, outcome.level, outcome.timestamp_problem)


def _local_today(now: datetime | None) -> date:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.astimezone(UTC) + VIETNAM).date()


def registry_values(number: str, day: date | None) -> dict[str, str]:
    """The values written into the blanks: the number, and the day, month and year."""
    values: dict[str, str] = {}
    if number:
        values["so"] = number
    if day is not None:
        values["ngay"] = f"{day.day:02d}"
        values["thang"] = f"{day.month:02d}" if day.month <= 2 else str(day.month)
        values["nam"] = str(day.year)
    return values


def seal_report(db: Database, report_id: int, identity: signing.Identity, seal_png: bytes,
                diameter_mm: float, *, number: str = "", doc_date: date | None = None,
                now: datetime | None = None, progress: Progress | None = None) -> SignedReport:
    """The registry numbers (and dates, if left blank) the signed report and seals it."""
    from dbcomm.services.identities import check_image

    actor = require(db, Perm.SEAL_REPORT)
    check_image(seal_png, "seal")
    signing.check_usable(identity, now)
    with db.read() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        state, signed, layout, printed_number = r.state, r.signed_pdf, _layout(r), r.number
        expected_sha = r.signed_sha256
    if state == "issued":
        raise UserError(_("This report is numbered and sealed already."))
    if state != "signed" or signed is None:
        raise UserError(_("The leader signs the report first; the registry seals it after."))
    if hashlib.sha256(signed).hexdigest() != expected_sha:
        raise UserError(_("The signed file kept with this report is damaged (its SHA-256 differs)."))
    content = reports.stored_content(db, report_id)
    typed = reports.document_number(number)
    if typed and not re.fullmatch(r"[0-9A-Za-z.-]{1,12}", typed):
        raise ValidationFailed([FieldError("number", _("The document number may hold only digits and letters."))])
    values: dict[str, str] = {}
    if printed_number:
        if typed and typed != printed_number:
            raise ValidationFailed([FieldError("number", _(
                "The report already carries number {number}; it cannot be changed now.").format(
                number=printed_number))])
        final_number = printed_number
    else:
        if not typed:
            raise ValidationFailed([FieldError("number", _("Enter the document number from the registry's book."))])
        final_number = typed
        values.update(registry_values(typed, None))
    final_date = content.header.doc_date
    if content.header.date_blank:
        final_date = doc_date or _local_today(now)
        if final_date < content.date_to:
            raise ValidationFailed([FieldError("doc_date", _(
                "The date of issue cannot be before the end of the period ({end}).").format(
                end=content.date_to.strftime("%d/%m/%Y")))])
        values.update(registry_values("", final_date))
    if progress:
        progress(1, 3)
    pdf = pdf_fields.fill_fields(signed, values) if values else signed
    page = int(layout.get("page", 0))
    rect = seal_rect(tuple(layout["signature"]), seal_png, diameter_mm)  # type: ignore[arg-type]
    url = timestamp_url(db)
    outcome = _sign(pdf, identity, SEAL_FIELD, (page, *rect), seal_png, url, now, content.header.place)
    _check_intact(outcome.data)
    if progress:
        progress(2, 3)
    digest = hashlib.sha256(outcome.data).hexdigest()
    with db.write() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        if r.signed_sha256 != expected_sha:
            raise UserError(_("Someone else changed this report meanwhile; look again."))
        leader_level = r.signature_level
        r.state, r.signed_pdf, r.signed_sha256 = "issued", outcome.data, digest
        # the file is as strong as its weaker signature
        r.signature_level = "B-T" if {leader_level, outcome.level} == {"B-T"} else "B-B"
        r.number, r.doc_date = final_number, final_date
        r.sealed_at, r.sealed_by = utcnow(), identity.holder_name
        r.signature_layout = json.dumps({**layout, "seal": rect}, sort_keys=True)
        r.version += 1
        audit.record(s, actor, "seal", entity="report", entity_uuid=r.uuid,
                     summary=f"{r.period_key}: {final_number} {final_date.isoformat()} — "
                             f"{identity.holder_name} ({outcome.level}) {digest[:12]}")
        s.flush()
        info = reports._info(r)
    if progress:
        progress(3, 3)
    return SignedReport(info, outcome.data, outcome.level, outcome.timestamp_problem)


def signed_file(db: Database, report_id: int) -> bytes:
    """The report's signed PDF as kept (checked against its recorded SHA-256)."""
    with db.read() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        data, digest = r.signed_pdf, r.signed_sha256
    if data is None:
        raise UserError(_("This report has not been signed."))
    if hashlib.sha256(data).hexdigest() != digest:
        raise UserError(_("The signed file kept with this report is damaged (its SHA-256 differs)."))
    return data


def document_reference(db: Database, report_id: int) -> str:
    """``05/BC-UBND`` for an issued report."""
    from dbcomm.services.report_pdf import doc_reference

    info = reports.get_report(db, report_id).info
    content = reports.stored_content(db, report_id)
    return doc_reference(info.number, content.header.symbol)


def sign_annex(db: Database, report_id: int, pdf: bytes, identity: signing.Identity, *,
               now: datetime | None = None) -> signing.SignOutcome:
    """Sign a separate annex file of an issued report with the office's signature: no image,
    the number and signing time (ISO 8601, +07:00) at the top right of page 1."""
    require(db, Perm.SEAL_REPORT)
    signing.check_usable(identity, now)
    info = reports.get_report(db, report_id).info
    if info.state not in reports.ISSUED_STATES:
        raise UserError(_("Number and seal the report first; its annexes are signed after."))
    moment = now or datetime.now(UTC)
    text = signing.annex_stamp_text(f"Số: {document_reference(db, report_id)}", moment)
    outcome = signing.sign_pdf_ex(pdf, identity, field_name=ANNEX_FIELD, stamp_text=text,
                                  signing_time=moment, timestamp_url=timestamp_url(db) or None,
                                  timestamp_timeout=TIMESTAMP_TIMEOUT)
    _check_intact(outcome.data)
    with db.write() as s:
        r = s.get(Report, report_id)
        if r is not None:
            audit.record(s, require(db, Perm.SEAL_REPORT), "sign", entity="report", entity_uuid=r.uuid,
                         summary=_("Annex signed: {hash}").format(
                             hash=hashlib.sha256(outcome.data).hexdigest()[:12]))
    return outcome


def make_correction(db: Database, report_id: int) -> reports.ReportInfo:
    """A new draft report for the same period that corrects (and references) a signed one."""
    from dbcomm.services.report_pdf import fmt_date

    detail = reports.get_report(db, report_id)
    if not detail.info.is_signed:
        raise UserError(_("Only a signed report is corrected by a new one; this one can still be edited."))
    cfg: ReportSettings = replace(detail.settings, number="", doc_date=None)
    ref = document_reference(db, report_id) if detail.info.number else ""
    when = fmt_date(detail.info.doc_date) if detail.info.doc_date else ""
    lead = (f"Báo cáo này thay thế Báo cáo số {ref} ngày {when}." if ref and when
            else "Báo cáo này thay thế báo cáo đã ký trước đây cho cùng kỳ.")
    narrative = replace(detail.narrative, direction=(lead + "\n" + detail.narrative.direction).strip())
    info = reports.save_draft(db, None, cfg, narrative)
    with db.write() as s:
        r = s.get(Report, info.id)
        assert r is not None
        r.supersedes_id = report_id
        s.flush()
        return reports._info(r)


def corrections_of(db: Database, report_id: int) -> list[int]:
    with db.read() as s:
        return list(s.scalars(select(Report.id).where(Report.supersedes_id == report_id)))
