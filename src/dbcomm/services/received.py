"""The reports this office received from others, as lists for the screens (read only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import defer

from dbcomm.errors import NotFoundError
from dbcomm.i18n import _
from dbcomm.store.engine import Database
from dbcomm.store.models import ReceivedReport

VIETNAM = timedelta(hours=7)


@dataclass(frozen=True)
class ReceivedRow:
    """One received report as the list shows it (plain data; the PDF is read when opened)."""

    id: int
    sender_id: int
    sender_name: str
    report_uuid: str
    plan_code: str
    period_key: str
    date_from: date
    date_to: date
    number: str
    doc_date: date | None
    subject: str
    signers: str
    verdict: str
    activity_count: int
    received_at: datetime  # UTC, naive
    state: str
    note: str
    decided_at: datetime | None
    decided_by: str
    due: date
    late: bool  # the first version for this office and period came after the deadline


def list_received(db: Database, due_days: int, *, include_superseded: bool = False) -> list[ReceivedRow]:
    """The reports received, newest first.

    """
    with db.read() as s:
        rows = list(s.scalars(select(ReceivedReport).options(defer(ReceivedReport.signed_pdf))
                              .order_by(ReceivedReport.received_at.desc(), ReceivedReport.id.desc())))
        first: dict[tuple[int, str, str], datetime] = {}
        for r in rows:  # newest first: the last seen is the first received
            first[(r.sender_id, r.plan_code, r.period_key)] = r.received_at
        out = []
        for r in rows:
            if r.state == "superseded" and not include_superseded:
                continue
            due = r.date_to + timedelta(days=due_days)
            late = (first[(r.sender_id, r.plan_code, r.period_key)] + VIETNAM).date() > due
            out.append(ReceivedRow(
                r.id, r.sender_id, r.sender_name, r.report_uuid, r.plan_code, r.period_key, r.date_from,
                r.date_to, r.number, r.doc_date, r.subject, r.signers, r.verdict, r.activity_count,
                r.received_at, r.state, r.note, r.decided_at, r.decided_by, due, late))
        return out


def received_pdf(db: Database, received_id: int) -> bytes:
    """The signed PDF of a received report, as it came ."""
    with db.read() as s:
        row = s.get(ReceivedReport, received_id)
        if row is None:
            raise NotFoundError(_("This received report no longer exists."))
        return bytes(row.signed_pdf)
