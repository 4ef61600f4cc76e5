"""Receipts: the receiving office's answer to a report, carried back on the USB stick.

The receiving office (a provincial department) decides on a report it received — accepted,
or returned with a note (:func:`decide`) — and writes a receipt (:func:`write_receipt`): a
one-page PDF in the Vietnamese administrative style, "PHIẾU XÁC NHẬN TIẾP NHẬN BÁO CÁO" or
"PHIẾU TRẢ LẠI BÁO CÁO", with its machine-readable content embedded as
``dbcomm-receipt.json`` and signed by the office's certificate (no visible image), in a
package of ``kind`` "receipt" (see docs/decisions/0005-exchange-packages.md).

The sending office reads it back (:func:`inspect_receipt`, :func:`apply_receipt`): the
signature must be valid and trusted, the receipt must be for this office and for the exact
signed file this office keeps of the report (its SHA-256).  Accepted: the report becomes
"accepted" and its period locked; returned: the report becomes "returned" and its period
goes back to draft with the note, so that a correction report can be made.  Applying the
same receipt again changes nothing; an older decision than the one recorded is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import uuid as uuidlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reportlab.platypus import Flowable
from sqlalchemy import select
from sqlalchemy.orm import Session

from dbcomm.domain.periods import Cutoff, PeriodError, parse_period
from dbcomm.domain.roles import PERIOD_STATE_LABELS, Actor, PeriodState, Perm
from dbcomm.domain.text import nfc, nfc_line
from dbcomm.domain.validation import FieldError
from dbcomm.errors import NotFoundError, UserError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import audit, exchange_data, package_files, settings, signing, trust
from dbcomm.services.auth import require
from dbcomm.store.engine import Database
from dbcomm.store.models import AuditEntry, PeriodStatus, Plan, ReceivedReport, Report, utcnow

KIND = "receipt"
MEMBER = "receipt.pdf"
DATA_FILE = "dbcomm-receipt.json"
DATA_MIME = "application/json"
FORMAT = "dbcomm.receipt"
FORMAT_VERSION = 1
FIELD = "DauCoQuan"  # the office's signature (invisible)
DECISIONS = ("accepted", "returned")
DECIDABLE = ("received", "accepted", "returned")
ENTITY = "received_report"
VIETNAM = timedelta(hours=7)
MAX_NOTE = 4000


class ReceiptError(UserError):
    """A receipt that cannot be applied; ``code`` names the check that failed."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Receipt:
    """The content of a receipt, as signed (``dbcomm-receipt.json``)."""

    receiver_uuid: str
    receiver_name: str
    sender_uuid: str
    sender_name: str
    report_uuid: str
    report_sha256: str
    period_key: str
    number: str
    decision: str  # accepted | returned
    note: str
    decided_at: datetime  # UTC, naive (as stored), to the second
    decided_by: str
    created_at: str


@dataclass(frozen=True)
class ReceiptInfo:
    """What a receipt file is, before it is applied (:func:`inspect_receipt`)."""

    path: Path
    status: str  # new | already | invalid
    problem: str = ""  # why it is invalid (translated), or "" for new and already
    code: str = ""  # the check that failed, for invalid
    receipt: Receipt | None = None
    report_id: int | None = None
    signer: str = ""  # who signed the receipt (the certificate's holder)


@dataclass(frozen=True)
class ReceiptResult:
    """What :func:`apply_receipt` did."""

    status: str  # applied | already
    decision: str
    report_id: int
    period_key: str
    message: str  # one translated sentence for the person


# --- the receiving side: deciding -----------------------------------------------------------


def _now() -> datetime:
    return utcnow().replace(microsecond=0)


def _receipt_written(s: Session, row: ReceivedReport) -> AuditEntry | None:
    """The audit entry of the receipt written for the current decision, if one was written."""
    entries = s.scalars(select(AuditEntry).where(AuditEntry.entity == ENTITY, AuditEntry.entity_uuid == row.uuid,
                                                 AuditEntry.action == "export")
                        .order_by(AuditEntry.id.desc()))
    for entry in entries:
        try:
            changes = json.loads(entry.changes or "{}")
        except ValueError:
            continue
        if "receipt" in changes:
            return entry
    return None


def decide(db: Database, received_id: int, decision: str, note: str = "") -> None:
    """Accept, or return with a note, a report received from another office.

    A report waiting for a decision can be decided; a decision can be changed until its
    receipt is written.  A superseded report (a newer version came in) cannot.
    """
    actor = require(db, Perm.APPROVE_PERIOD)
    if decision not in DECISIONS:
        raise ValueError(decision)
    note = nfc(note).strip()
    if decision == "returned" and not note:
        raise ValidationFailed([FieldError("note", _(
            "Say why the report is returned: the note goes back to the sending office with the receipt."))])
    if len(note) > MAX_NOTE:
        raise ValidationFailed([FieldError("note", _("The note is too long (at most {n} characters).").format(
            n=MAX_NOTE))])
    with db.write() as s:
        row = s.get(ReceivedReport, received_id)
        if row is None:
            raise NotFoundError(_("This received report no longer exists."))
        if row.state not in DECIDABLE:
            raise UserError(_("This report of {office} was replaced by a newer version it sent; decide on "
                              "the newer one.").format(office=row.sender_name))
        if row.state != "received":
            written = _receipt_written(s, row)
            if written is not None:
                raise UserError(_("The receipt of this decision was written on {date}; the sending office may "
                                  "have applied it already. The decision cannot change now: ask the office for "
                                  "a correction report if the report must be changed.").format(
                    date=_local(written.at).strftime("%d/%m/%Y %H:%M")))
        old = row.state
        row.state, row.note, row.decided_at, row.decided_by = decision, note, _now(), actor.display
        row.version += 1
        s.flush()
        audit.record(s, actor, "status", entity=ENTITY, entity_uuid=row.uuid,
                     summary=_("Report {period} of {office}: {decision}.").format(
                         period=row.period_key, office=row.sender_name, decision=_decision_label(decision))
                     + (f" {note}" if note else ""),
                     changes={"state": [old, decision], "note": [None, note]})


def _decision_label(decision: str) -> str:
    return _("accepted") if decision == "accepted" else _("returned")


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment + VIETNAM


# --- the receiving side: the receipt --------------------------------------------------------


def _ascii(text: str, limit: int = 40) -> str:
    """``UBND xã Mường Phăng`` → ``UBNDXaMuongPhang``: for file names that any stick accepts."""
    words = []
    for word in nfc_line(text).replace("đ", "d").replace("Đ", "D").split():
        plain = "".join(ch for ch in unicodedata.normalize("NFD", word) if not unicodedata.combining(ch))
        plain = re.sub(r"[^A-Za-z0-9]", "", plain)
        if plain:
            words.append(plain[:1].upper() + plain[1:])
    return "".join(words)[:limit] or "DonVi"


def file_name(sender_name: str, period_key: str, report_uuid: str, decision: str) -> str:
    """``PhieuNhan_<sender>_<period>_<uuid 8>.dbcpkg`` (``PhieuTraLai_…`` for a returned report)."""
    prefix = "PhieuNhan" if decision == "accepted" else "PhieuTraLai"
    period = re.sub(r"[^A-Za-z0-9-]", "", period_key)[:30] or "Ky"
    return f"{prefix}_{_ascii(sender_name)}_{period}_{report_uuid[:8]}{package_files.SUFFIX}"


def _period_words(s: Session, row: ReceivedReport) -> str:
    from dbcomm.services.reports import period_label

    plan = s.scalar(select(Plan).where(Plan.code == row.plan_code).limit(1))
    try:
        period = parse_period(row.period_key, Cutoff(plan.cutoff) if plan is not None else Cutoff.CALENDAR)
    except (PeriodError, ValueError):
        period = None
    dates = f"{row.date_from.strftime('%d/%m/%Y')} – {row.date_to.strftime('%d/%m/%Y')}"
    return f"{period_label(period)} ({dates})" if period is not None else dates


def _sender_symbol(signed_pdf: bytes) -> str:
    """The sending office's document symbol, from the data inside its signed report ("" if none)."""
    try:
        raw = signing.attachments_of(signed_pdf).get(exchange_data.DATA_FILE)
        return exchange_data.parse(raw).office_symbol if raw else ""
    except UserError:
        return ""


def build_receipt(db: Database, received_id: int, identity: signing.Identity) -> tuple[str, bytes]:
    """The receipt of the decision on a received report: the package's file name and bytes.

    The PDF is signed with ``identity`` (the office's certificate), the receipt's data
    embedded in the signed revision.
    """
    require(db, Perm.EXPORT)
    signing.check_usable(identity)
    office = settings.get_office(db)
    receiver_uuid = exchange_data.office_uuid(db)
    with db.read() as s:
        row = s.get(ReceivedReport, received_id)
        if row is None:
            raise NotFoundError(_("This received report no longer exists."))
        if row.state not in DECISIONS or row.decided_at is None:
            raise UserError(_("Accept or return the report first; the receipt says which."))
        receipt = Receipt(
            receiver_uuid=receiver_uuid, receiver_name=office.name or _("(office name not set)"),
            sender_uuid=row.sender_office_uuid, sender_name=row.sender_name, report_uuid=row.report_uuid,
            report_sha256=row.pdf_sha256, period_key=row.period_key, number=row.number,
            decision=row.state, note=row.note, decided_at=row.decided_at.replace(microsecond=0),
            decided_by=row.decided_by,
            created_at=datetime.now(UTC).replace(microsecond=0).isoformat())
        page = ReceiptPage(
            parent_agency=office.parent_agency, agency=office.name, place=office.place_name,
            signer_title=office.signer_title, signer_name=office.signer_name or row.decided_by,
            sender_name=row.sender_name, number=row.number, symbol=_sender_symbol(row.signed_pdf), doc_date=row.doc_date.strftime("%d/%m/%Y")
            if row.doc_date else "", period=_period_words(s, row), subject=row.subject,
            received_at=_local(row.received_at).strftime("%d/%m/%Y"), report_uuid=row.report_uuid,
            sha256=row.pdf_sha256, decision=row.state, note=row.note, decided_at=_local(receipt.decided_at),
            signed_by=identity.holder_name)
    pdf = render_receipt_pdf(page)
    from dbcomm.services.report_signing import TIMESTAMP_TIMEOUT, timestamp_url

    outcome = signing.sign_pdf_ex(
        pdf, identity, field_name=FIELD, location=office.place_name,
        reason="Phiếu xác nhận tiếp nhận báo cáo" if receipt.decision == "accepted" else "Phiếu trả lại báo cáo",
        timestamp_url=timestamp_url(db) or None, timestamp_timeout=TIMESTAMP_TIMEOUT,
        attachments=[(DATA_FILE, _dumps(receipt), DATA_MIME)])
    check = signing.verify_pdf(outcome.data)
    if check.verdict not in ("valid", "untrusted"):
        raise UserError(_("The signed receipt does not verify ({reason}); it was not written.").format(
            reason=check.message()))
    manifest = {
        "kind": KIND,
        "receiver": {"uuid": receipt.receiver_uuid, "name": receipt.receiver_name},
        "sender": {"uuid": receipt.sender_uuid, "name": receipt.sender_name},
        "report": {"uuid": receipt.report_uuid, "sha256": receipt.report_sha256, "period": receipt.period_key,
                   "number": receipt.number},
        "decision": receipt.decision,
        "decided_at": _iso(receipt.decided_at),
    }
    data = package_files.build(manifest, {MEMBER: outcome.data})
    return file_name(receipt.sender_name, receipt.period_key, receipt.report_uuid, receipt.decision), data


def write_receipt(db: Database, received_id: int, identity: signing.Identity, folder: Path) -> Path:
    """Write the receipt package in ``folder`` (a USB stick); the writing is recorded, and from
    then on the decision cannot change."""
    actor = require(db, Perm.EXPORT)
    name, data = build_receipt(db, received_id, identity)
    path = package_files.write_safely(Path(folder), name, data)
    with db.write() as s:
        row = s.get(ReceivedReport, received_id)
        if row is None:
            raise NotFoundError(_("This received report no longer exists."))
        audit.record(s, actor, "export", entity=ENTITY, entity_uuid=row.uuid,
                     summary=_("Receipt written for report {period} of {office} ({decision}): {file}").format(
                         period=row.period_key, office=row.sender_name, decision=_decision_label(row.state),
                         file=name),
                     changes={"receipt": [None, row.state], "sha256": [None, hashlib.sha256(data).hexdigest()]})
    return path


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat(timespec="seconds")


def _dumps(r: Receipt) -> bytes:
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "receiver": {"uuid": r.receiver_uuid, "name": r.receiver_name},
        "sender": {"uuid": r.sender_uuid, "name": r.sender_name},
        "report": {"uuid": r.report_uuid, "sha256": r.report_sha256, "period": r.period_key, "number": r.number},
        "decision": r.decision, "note": r.note, "decided_at": _iso(r.decided_at), "decided_by": r.decided_by,
        "created_at": r.created_at,
    }
    return exchange_data.dumps(payload)


# --- the receipt PDF ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptPage:
    parent_agency: str
    agency: str
    place: str
    signer_title: str
    signer_name: str
    sender_name: str
    number: str
    symbol: str  # the sender's document symbol ("UBND" → 07/BC-UBND), "" if unknown
    doc_date: str
    period: str
    subject: str
    received_at: str
    report_uuid: str
    sha256: str
    decision: str
    note: str
    decided_at: datetime  # local time
    signed_by: str


def render_receipt_pdf(page: ReceiptPage) -> bytes:
    """One A4 page, Nghị định 30/2020 style (margins 20/20/30/15 mm, Liberation Serif)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import (
        BaseDocTemplate,
        Frame,
        PageTemplate,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )

    from dbcomm.services import report_pdf as rp

    rp._ensure_fonts()

    def x(text: object) -> str:
        return rp._x(text)

    body = ParagraphStyle("r_body", fontName=rp.REGULAR, fontSize=14, leading=18, alignment=TA_JUSTIFY,
                          firstLineIndent=rp.INDENT, spaceAfter=6, textColor=colors.black)
    title = ParagraphStyle("r_title", parent=body, fontName=rp.BOLD, alignment=TA_CENTER, firstLineIndent=0,
                           spaceAfter=2, leading=18)
    sub = ParagraphStyle("r_sub", parent=body, alignment=TA_CENTER, firstLineIndent=0, spaceAfter=0)
    cell = ParagraphStyle("r_cell", parent=body, fontSize=13, leading=16, alignment=TA_LEFT, firstLineIndent=0,
                          spaceAfter=0)
    cell_bold = ParagraphStyle("r_cell_b", parent=cell, fontName=rp.BOLD)
    small = ParagraphStyle("r_small", parent=cell, fontSize=10, leading=12)
    recv_label = ParagraphStyle("r_recv", parent=cell, fontName=rp.BOLD_ITALIC, fontSize=12, leading=14)
    recv_line = ParagraphStyle("r_recv_l", parent=cell, fontSize=11, leading=13)
    signer = ParagraphStyle("r_signer", parent=cell, fontName=rp.BOLD, fontSize=14, leading=17,
                            alignment=TA_CENTER)
    signer_note = ParagraphStyle("r_signer_n", parent=signer, fontName=rp.ITALIC, fontSize=12, leading=14)

    accepted = page.decision == "accepted"
    heading = "PHIẾU XÁC NHẬN TIẾP NHẬN BÁO CÁO" if accepted else "PHIẾU TRẢ LẠI BÁO CÁO"
    agency_sentence = rp.agency_in_sentence(rp._upper(page.agency)) if page.agency else "Cơ quan tiếp nhận"
    story: list[Any] = [_ReceiptHeader(page, rp.BODY_W), Spacer(1, 16), Paragraph(heading, title),
                        _Rule(40 * 2.835, 0), Spacer(1, 8),
                        Paragraph(f"Kính gửi: {x(page.sender_name)}", sub), Spacer(1, 10)]
    if accepted:
        opening = (f"{x(agency_sentence)} xác nhận đã tiếp nhận và chấp nhận báo cáo của "
                   f"{x(page.sender_name)}, cụ thể như sau:")
    else:
        opening = (f"{x(agency_sentence)} đã tiếp nhận báo cáo của {x(page.sender_name)} và trả lại để "
                   "đơn vị hoàn thiện, cụ thể như sau:")
    story.append(Paragraph(opening, body))
    number = nfc_line(page.number)
    if not number:
        reference = "chưa ghi số"
    elif "/" in number:
        reference = f"số {number}"
    else:
        reference = f"số {rp.doc_reference(number, page.symbol)}" if page.symbol else f"số {rp.doc_number(number)}"
    rows = [
        ("Báo cáo:", f"{reference}" + (f", ngày {page.doc_date}" if page.doc_date else "")),
        ("Trích yếu:", page.subject or "—"),
        ("Kỳ báo cáo:", page.period),
        ("Ngày nhận:", page.received_at),
        ("Kết quả:", "Chấp nhận" if accepted else "Trả lại để hoàn thiện"),
    ]
    if page.note:
        rows.append(("Ý kiến:" if accepted else "Lý do trả lại:", page.note))
    label_w = 36 * 2.835
    table = Table([[Paragraph(x(a), cell_bold), Paragraph(x(b), cell)] for a, b in rows],
                  colWidths=[label_w, rp.BODY_W - label_w - rp.INDENT], hAlign="RIGHT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                               ("TOPPADDING", (0, 0), (-1, -1), 0)]))
    story += [table, Spacer(1, 6)]
    if accepted:
        story.append(Paragraph("Số liệu của báo cáo đã được tiếp nhận vào cơ sở dữ liệu tổng hợp của "
                               f"{x(agency_sentence)}./.", body))
    else:
        story.append(Paragraph(f"Đề nghị {x(page.sender_name)} hoàn thiện, ký số và gửi lại báo cáo thay "
                               "thế; số liệu của báo cáo bị trả lại không được tổng hợp./.", body))
    title_lines = [ln for ln in (rp._upper(t) for t in page.signer_title.splitlines()) if ln]
    right: list[Any] = [Paragraph(x(t), signer) for t in title_lines]
    right += [Paragraph(f"(Đã ký số: {x(page.signed_by)})", signer_note), Spacer(1, 36),
              Paragraph(x(page.signer_name), signer)]
    left: list[Any] = [Paragraph("Nơi nhận:", recv_label), Paragraph("- Như trên;", recv_line),
                       Paragraph("- Lưu: VT.", recv_line)]
    block = Table([[left, right]], colWidths=[rp.BODY_W * 0.45, rp.BODY_W * 0.55])
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    story += [Spacer(1, 10), block, Spacer(1, 24),
              Paragraph(f"Mã báo cáo: {x(page.report_uuid)} · SHA-256 của tệp báo cáo đã ký: "
                        f"{x(page.sha256)} · Quyết định lúc {page.decided_at.strftime('%H:%M %d/%m/%Y')}. "
                        f"Dữ liệu của phiếu được đính kèm trong tệp ({DATA_FILE}).", small)]
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=(rp.PAGE_W, rp.PAGE_H), leftMargin=rp.MARGIN_LEFT,
                          rightMargin=rp.MARGIN_RIGHT, topMargin=rp.MARGIN_TOP, bottomMargin=rp.MARGIN_BOTTOM,
                          title=heading, author=nfc_line(page.agency), creator="dbcomm")
    frame = Frame(rp.MARGIN_LEFT, rp.MARGIN_BOTTOM, rp.BODY_W, rp.PAGE_H - rp.MARGIN_TOP - rp.MARGIN_BOTTOM,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate("receipt", frames=[frame])])
    doc.build(story)
    return out.getvalue()


class _Rule(Flowable):  # type: ignore[misc]
    """A short centred rule under the title."""

    def __init__(self, length: float, space: float) -> None:
        super().__init__()
        self.length, self.space = length, space

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        self.avail = aw
        return aw, 4

    def draw(self) -> None:
        from dbcomm.services.report_pdf import LINE_WIDTH

        c = self.canv
        c.setLineWidth(LINE_WIDTH)
        x0 = (self.avail - self.length) / 2
        c.line(x0, 2, x0 + self.length, 2)


class _ReceiptHeader(Flowable):  # type: ignore[misc]
    """The two header blocks (agency, national motto) and the date line, as in report_pdf."""

    LEFT_SHARE = 0.4

    def __init__(self, page: ReceiptPage, width: float) -> None:
        from dbcomm.services import report_pdf as rp

        super().__init__()
        self.width = width
        self.left_w = width * self.LEFT_SHARE
        self.right_w = width - self.left_w
        lw, rw = self.left_w - 4, self.right_w
        self.agency_lines, self.size = rp._agency_lines(rp._upper(page.agency), lw)
        parent = rp._upper(page.parent_agency)
        self.parent_lines = rp._balanced_lines(parent, rp.REGULAR, self.size, lw) if parent else []
        self.nation = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
        self.nation_size = 13 if rp._width(self.nation, rp.BOLD, 13) <= rw else 12
        self.motto = "Độc lập - Tự do - Hạnh phúc"
        self.date = rp.date_line(page.place, page.decided_at.date())
        self.date_size = 14.0
        while self.date_size > 11 and rp._width(self.date, rp.ITALIC, self.date_size) > rw:
            self.date_size -= 0.5
        lead = 15.0
        y = 12.0
        self.left: list[tuple[str, str, float]] = []
        for text in self.parent_lines:
            self.left.append((text, rp.REGULAR, y))
            y += lead
        for text in self.agency_lines:
            self.left.append((text, rp.BOLD, y))
            y += lead
        self.left_rule_y = y - lead + rp._descent(rp.BOLD, self.size) + rp.RULE_CLEARANCE + rp.LINE_WIDTH / 2
        widest = max((rp._width(t, rp.BOLD, self.size) for t in self.agency_lines), default=60.0)
        self.left_rule_len = max(40.0, min(widest, lw) * 0.4)
        self.nation_y, self.motto_y = 12.0, 28.0
        self.motto_w = rp._width(self.motto, rp.BOLD, 14)
        self.right_rule_y = self.motto_y + rp._descent(rp.BOLD, 14) + rp.RULE_CLEARANCE + rp.LINE_WIDTH / 2
        self.date_y = max(self.left_rule_y, self.right_rule_y) + 24.0
        self.height = self.date_y + 8.0

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        from dbcomm.services import report_pdf as rp

        c, h = self.canv, self.height
        lx, rx = self.left_w / 2, self.left_w + self.right_w / 2
        c.setLineWidth(rp.LINE_WIDTH)
        for text, font, y in self.left:
            c.setFont(font, self.size)
            c.drawCentredString(lx, h - y, text)
        if self.agency_lines:
            c.line(lx - self.left_rule_len / 2, h - self.left_rule_y, lx + self.left_rule_len / 2,
                   h - self.left_rule_y)
        c.setFont(rp.BOLD, self.nation_size)
        c.drawCentredString(rx, h - self.nation_y, self.nation)
        c.setFont(rp.BOLD, 14)
        c.drawCentredString(rx, h - self.motto_y, self.motto)
        c.line(rx - self.motto_w / 2, h - self.right_rule_y, rx + self.motto_w / 2, h - self.right_rule_y)
        c.setFont(rp.ITALIC, self.date_size)
        c.drawCentredString(rx, h - self.date_y, self.date)


# --- the sending side -----------------------------------------------------------------------


def _refuse(code: str, message: str) -> ReceiptError:
    return ReceiptError(code, message)


def _text(value: Any, name: str, where: str, *, limit: int = MAX_NOTE) -> str:
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise _refuse("data", _("{file}: the receipt's data is damaged ({what}). Ask the receiving office "
                                "for the receipt again.").format(file=name, what=where))
    return nfc(value)


def parse_receipt(raw: bytes, name: str) -> Receipt:
    """Read the embedded JSON strictly; raises :class:`ReceiptError`."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse("data", _("{file}: the receipt's data cannot be read. Ask the receiving office for the "
                                "receipt again.").format(file=name)) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _refuse("not_receipt", _("{file} is not a dbcomm receipt.").format(file=name))
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _refuse("data", _("{file}: the receipt does not say its format version.").format(file=name))
    if version > FORMAT_VERSION:
        raise _refuse("newer", _("{file} was written by a newer dbcomm (receipt format {got}). Update dbcomm on "
                                 "this computer, then apply it again.").format(file=name, got=version))
    parts = {key: data.get(key) for key in ("receiver", "sender", "report")}
    if not all(isinstance(v, dict) for v in parts.values()):
        raise _refuse("data", _("{file}: the receipt's data is damaged ({what}). Ask the receiving office "
                                "for the receipt again.").format(file=name, what="receiver/sender/report"))
    receiver, sender, report = parts["receiver"], parts["sender"], parts["report"]
    assert isinstance(receiver, dict) and isinstance(sender, dict) and isinstance(report, dict)
    try:
        receiver_uuid = str(uuidlib.UUID(str(receiver.get("uuid"))))
        sender_uuid = str(uuidlib.UUID(str(sender.get("uuid"))))
        report_uuid = str(uuidlib.UUID(str(report.get("uuid"))))
        moment = datetime.fromisoformat(str(data.get("decided_at")))
    except ValueError as exc:
        raise _refuse("data", _("{file}: the receipt's data is damaged ({what}). Ask the receiving office "
                                "for the receipt again.").format(file=name, what="uuid/decided_at")) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    sha = _text(report.get("sha256"), name, "sha256", limit=64)
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise _refuse("data", _("{file}: the receipt's data is damaged ({what}). Ask the receiving office "
                                "for the receipt again.").format(file=name, what="sha256"))
    decision = data.get("decision")
    if decision not in DECISIONS:
        raise _refuse("data", _("{file}: the receipt's data is damaged ({what}). Ask the receiving office "
                                "for the receipt again.").format(file=name, what="decision"))
    return Receipt(
        receiver_uuid=receiver_uuid, receiver_name=nfc_line(_text(receiver.get("name", ""), name, "receiver")),
        sender_uuid=sender_uuid, sender_name=nfc_line(_text(sender.get("name", ""), name, "sender")),
        report_uuid=report_uuid, report_sha256=sha,
        period_key=_text(report.get("period", ""), name, "period", limit=40),
        number=_text(report.get("number", ""), name, "number", limit=40),
        decision=str(decision), note=_text(data.get("note", ""), name, "note").strip(),
        decided_at=moment.replace(microsecond=0),
        decided_by=nfc_line(_text(data.get("decided_by", ""), name, "decided_by")),
        created_at=_text(data.get("created_at", ""), name, "created_at", limit=40))


@dataclass(frozen=True)
class _Examined:
    receipt: Receipt
    report_id: int
    status: str  # new | already
    signer: str


def _examine(db: Database, path: Path) -> _Examined:
    """Every check of a receipt file, in order; raises :class:`UserError` with the reason."""
    path = Path(path)
    name = path.name
    try:
        raw = package_files.read(path, (MEMBER,))
    except package_files.PackageError as exc:
        if exc.code == "members":
            raise _refuse("not_receipt", _("{file} is not a receipt (it holds other files: a report package, "
                                           "or another kind of package). A receipt is the PhieuNhan_… or "
                                           "PhieuTraLai_… file the receiving office gives back.").format(
                file=name)) from exc
        raise _refuse(exc.code, str(exc)) from exc
    if raw.manifest.get("kind") != KIND:
        raise _refuse("not_receipt", _("{file} is not a receipt but a package of another kind (“{kind}”). A "
                                       "receipt is the PhieuNhan_… or PhieuTraLai_… file the receiving office "
                                       "gives back.").format(file=name, kind=raw.manifest.get("kind")))
    pdf = raw.members[MEMBER]
    try:
        check = signing.verify_pdf(pdf, trust.root_certificates(db), trust.crl_data(db))
    except UserError as exc:
        raise _refuse("not_pdf", _("{file}: the receipt inside is not a readable PDF ({reason}). Ask the "
                                   "receiving office for the receipt again.").format(file=name, reason=exc)) from exc
    signer = ", ".join(sorted({s.signer_name for s in check.signatures if s.signer_name}))
    if check.verdict == "unsigned":
        raise _refuse("unsigned", _("{file}: the receipt is not signed, so it cannot be trusted. Ask the "
                                    "receiving office to write the receipt again with its certificate.").format(
            file=name))
    if check.verdict == "untrusted":
        raise _refuse("untrusted", _("{file} is signed by {signer}, whose certificate does not chain to a "
                                     "certificate authority this office trusts. If {signer} is the receiving "
                                     "office, import its authority's root certificate into the trust list, then "
                                     "apply the receipt again.").format(file=name, signer=signer or "?"))
    if check.verdict != "valid":
        raise _refuse("signature", _("{file}: the receipt was changed after it was signed, or its signature is "
                                     "damaged ({reason}). It is refused; ask the receiving office for the receipt "
                                     "again.").format(file=name, reason=check.message()))
    try:
        attached = signing.attachments_of(pdf)
    except UserError as exc:
        raise _refuse("not_pdf", str(exc)) from exc
    if DATA_FILE not in attached:
        raise _refuse("not_receipt", _("{file} holds a signed PDF without receipt data; it is not a dbcomm "
                                       "receipt.").format(file=name))
    receipt = parse_receipt(attached[DATA_FILE], name)
    report_part = raw.manifest.get("report") if isinstance(raw.manifest.get("report"), dict) else {}
    assert isinstance(report_part, dict)
    if (raw.manifest.get("decision") != receipt.decision or report_part.get("uuid") != receipt.report_uuid
            or report_part.get("sha256") != receipt.report_sha256):
        raise _refuse("manifest", _("{file}: the package's index does not agree with the signed receipt; it "
                                    "is refused. Ask the receiving office for the receipt again.").format(file=name))
    here = exchange_data.office_uuid(db)
    if receipt.sender_uuid != here:
        raise _refuse("other_office", _("{file} is a receipt for another office ({office}), not for this one. "
                                        "Give it to that office.").format(file=name, office=receipt.sender_name))
    with db.read() as s:
        report = s.scalar(select(Report).where(Report.uuid == receipt.report_uuid))
        if report is None:
            raise _refuse("unknown_report", _("{file} answers a report this office does not have (period {period}, "
                                              "{uuid}). Check that this is the office's own database.").format(
                file=name, period=receipt.period_key, uuid=receipt.report_uuid))
        if report.signed_sha256 != receipt.report_sha256:
            raise _refuse("other_version", _("{file} answers another version of the report of period {period} "
                                             "than the signed file this office keeps. It is refused; if a "
                                             "correction was sent, wait for the receipt of the correction.").format(
                file=name, period=report.period_key))
        known = report.decided_at
        decided = known is not None and report.state in DECISIONS
        if decided and known == receipt.decided_at and report.state == receipt.decision:
            return _Examined(receipt, report.id, "already", signer)
        newer = s.scalar(select(Report).where(Report.supersedes_id == report.id, Report.state.in_(
            ("signed", "issued", "sent", "accepted", "returned"))))
        if newer is not None:
            raise _refuse("outdated", _("{file} answers the report of period {period} that this office has since "
                                        "corrected (the correction is signed); the answer is out of date and is "
                                        "refused. The receiving office answers the correction.").format(
                file=name, period=report.period_key))
        if decided and known is not None and known >= receipt.decided_at:
            raise _refuse("older", _("{file} holds an older decision ({then}) than the one recorded for this "
                                     "report ({now}); nothing was changed.").format(
                file=name, then=_local(receipt.decided_at).strftime("%d/%m/%Y %H:%M"),
                now=_local(known).strftime("%d/%m/%Y %H:%M")))
        return _Examined(receipt, report.id, "new", signer)


def inspect_receipt(db: Database, path: Path) -> ReceiptInfo:
    """What a receipt file is: ``new`` (it can be applied), ``already`` (applied before) or
    ``invalid`` (with the reason).  Never raises for a bad file."""
    path = Path(path)
    try:
        found = _examine(db, path)
    except ReceiptError as exc:
        return ReceiptInfo(path, "invalid", str(exc), exc.code)
    except UserError as exc:
        return ReceiptInfo(path, "invalid", str(exc), "error")
    return ReceiptInfo(path, found.status, "", "", found.receipt, found.report_id, found.signer)


def apply_receipt(db: Database, path: Path) -> ReceiptResult:
    """Apply a receipt to this office's report and its period, in one transaction.

    Refuses (:class:`ReceiptError`) a receipt that is not valid, trusted and for this office's
    exact report; a receipt applied before changes nothing (status "already").
    """
    actor = require(db, Perm.IMPORT)
    found = _examine(db, Path(path))
    r = found.receipt
    label = _decision_label(r.decision)
    if found.status == "already":
        return ReceiptResult("already", r.decision, found.report_id, r.period_key, _(
            "This receipt was applied already: the report of period {period} is {decision}. Nothing changed.").format(
            period=r.period_key, decision=label))
    decided_by = r.receiver_name + (f" ({r.decided_by})" if r.decided_by else "")
    with db.write() as s:
        report = s.get(Report, found.report_id)
        if report is None or report.signed_sha256 != r.report_sha256:
            raise UserError(_("Someone else changed this report meanwhile; look again."))
        if report.decided_at is not None and report.state in DECISIONS and report.decided_at >= r.decided_at:
            raise UserError(_("Someone else applied a receipt for this report meanwhile; look again."))
        old = report.state
        report.state, report.decided_at, report.decided_by, report.decision_note = (
            r.decision, r.decided_at, decided_by, r.note)
        report.version += 1
        s.flush()
        audit.record(s, actor, "import", entity="report", entity_uuid=report.uuid,
                     summary=_("Receipt of {office}: report {period} {decision}.").format(
                         office=r.receiver_name, period=report.period_key, decision=label)
                     + (f" {r.note}" if r.note else ""),
                     changes={"state": [old, r.decision], "decided_at": [None, _iso(r.decided_at)]})
        when = _local(r.decided_at).strftime("%d/%m/%Y")
        if r.decision == "accepted":
            note = _("Accepted by {office} on {date}.").format(office=r.receiver_name, date=when)
            if r.note:
                note += f" {r.note}"
            set_period_state(s, actor, report, PeriodState.LOCKED, note)
            message = _("{office} accepted the report of period {period}; the period is locked.").format(
                office=r.receiver_name, period=report.period_key)
        else:
            note = _("Returned by {office} on {date}: {note}").format(office=r.receiver_name, date=when, note=r.note)
            set_period_state(s, actor, report, PeriodState.DRAFT, note)
            message = _("{office} returned the report of period {period}: {note} The period is open again: "
                        "correct the activities, then make a correction report, sign it and send it.").format(
                office=r.receiver_name, period=report.period_key, note=r.note)
    return ReceiptResult("applied", r.decision, found.report_id, r.period_key, message)


def set_period_state(session: Session, actor: Actor, report: Report, to: PeriodState, note: str) -> None:
    """Put the report's period in state ``to`` with ``note``, in the caller's transaction, audited
    as ``periods.transition`` does (the receiving office's decision overrides the usual workflow)."""
    row = session.scalar(select(PeriodStatus).where(PeriodStatus.plan_id == report.plan_id,
                                                    PeriodStatus.period_key == report.period_key))
    old = PeriodState(row.state) if row is not None else PeriodState.DRAFT
    if row is None:
        row = PeriodStatus(plan_id=report.plan_id, period_key=report.period_key, date_from=report.date_from,
                           date_to=report.date_to)
        session.add(row)
    else:
        row.version += 1
    note = nfc(note)
    row.state, row.changed_at, row.changed_by, row.note = to.value, utcnow(), actor.display, note
    session.flush()
    audit.record(session, actor, "status", entity="period", entity_uuid=row.uuid,
                 summary=_("Period {key}: {old} → {new}.").format(
                     key=report.period_key, old=_(PERIOD_STATE_LABELS[old]), new=_(PERIOD_STATE_LABELS[to]))
                 + f" {note}",
                 changes={"state": [old.value, to.value], "period": [None, report.period_key]})
