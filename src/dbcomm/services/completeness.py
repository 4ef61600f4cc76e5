"""Who has reported: the receiving office's grid of sending offices × periods.

Rows are the offices expected to report upward — every organisation that has sent at least
one report for the plan, and every organisation of the directory marked "in the area" whose
kind reports upward (``REPORTING_KINDS``) and that existed during one of the periods shown
(not the office itself, recognised by its name) — in Vietnamese order, and columns the periods of one kind in a year, up
to today.  A period is due ``exchange.due_days`` days after it ends (a setting, 10 by default).

A cell's status:

- ``accepted`` — the report in hand was accepted;
- ``received_on_time`` / ``received_late`` — received, not decided yet; late when the first
  version of the report for that period arrived after the due date (a corrected version
  sent after a return does not make an office late);
- ``returned`` — the report in hand was sent back for correction;
- ``missing`` — nothing received and the due date has passed;
- ``not_due`` — nothing received and the due date has not passed (the grid's ``today``
  is on or before the due date);
- ``not_expected`` — nothing received and the office did not exist during the period (the
  directory is date-effective: the district level ended on 30/06/2025).

``late`` is also kept on accepted and returned cells.  Column totals: ``received`` counts the
reports in hand that were not returned (accepted, on time, late), ``expected`` the offices
expected to report for the period (every row but ``not_expected`` ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import false, or_, select

from dbcomm.domain.periods import Cutoff, Period, PeriodError, PeriodKind, parse_period
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import fold, vi_sort_key
from dbcomm.domain.validation import FieldError
from dbcomm.errors import NotFoundError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import audit, settings
from dbcomm.services.auth import require
from dbcomm.store.engine import Database
from dbcomm.store.models import Organisation, Plan, ReceivedReport

DUE_DAYS_KEY = "exchange.due_days"
DEFAULT_DUE_DAYS = 10
MIN_DUE_DAYS, MAX_DUE_DAYS = 0, 60

# Directory kinds (domain.vocab.ORG_KINDS) of offices that report upward: provincial departments,
# the district-level units (until 30/06/2025) and the commune-level units (communes, wards,
# townships).  Not the province itself, nor "other".
REPORTING_KINDS: frozenset[str] = frozenset({"department", "city", "town", "district", "commune", "ward",
                                             "township"})

STATUSES: tuple[str, ...] = ("accepted", "received_on_time", "received_late", "returned", "missing",
                             "not_due", "not_expected")
RECEIVED_STATUSES: frozenset[str] = frozenset({"accepted", "received_on_time", "received_late"})

# Received-at times are stored in UTC; due dates are Vietnamese calendar days (UTC+7).
_LOCAL = timedelta(hours=7)


# --- the due-days setting -------------------------------------------------------------------


def get_due_days(db: Database) -> int:
    """Days after a period's end by which its report is due (``exchange.due_days``)."""
    value = settings.get_value(db, DUE_DAYS_KEY, DEFAULT_DUE_DAYS)
    if isinstance(value, int) and not isinstance(value, bool) and MIN_DUE_DAYS <= value <= MAX_DUE_DAYS:
        return value
    return DEFAULT_DUE_DAYS


def set_due_days(db: Database, days: int) -> int:
    """Set the number of days (0–60) after a period's end by which its report is due."""
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DUE_DAYS <= days <= MAX_DUE_DAYS:
        raise ValidationFailed([FieldError("due_days", _(
            "Enter a whole number of days between {low} and {high} for the reporting deadline.").format(
                low=MIN_DUE_DAYS, high=MAX_DUE_DAYS))])
    actor = require(db, Perm.EDIT_SETTINGS)
    before = get_due_days(db)
    settings.set_value(db, DUE_DAYS_KEY, days)
    with db.write() as s:
        audit.record(s, actor, "settings", entity="setting", summary=f"{DUE_DAYS_KEY} = {days}",
                     changes={DUE_DAYS_KEY: [before, days]})
    return days


# --- the grid -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompletenessCell:
    status: str  # one of STATUSES
    report_id: int | None = None  # the received_report in hand (the newest not superseded)
    received_at: datetime | None = None  # when it arrived (UTC)
    late: bool = False  # the first version arrived after the due date


@dataclass(frozen=True)
class CompletenessColumn:
    key: str  # "2026-Q3"
    start: date
    end: date
    due: date


@dataclass
class CompletenessRow:
    org_id: int
    code: str
    name: str
    kind: str
    cells: list[CompletenessCell] = field(default_factory=list)


@dataclass
class CompletenessGrid:
    plan_id: int
    kind: str  # PeriodKind value
    year: int
    today: date
    due_days: int
    columns: list[CompletenessColumn]
    rows: list[CompletenessRow]
    received: list[int]  # per column: reports in hand, not returned
    expected: list[int]  # per column: offices expected to report


def _periods(kind: PeriodKind, year: int, cutoff: Cutoff) -> list[Period]:
    if kind == PeriodKind.MONTH:
        keys = [f"{year}-{m:02d}" for m in range(1, 13)]
    elif kind == PeriodKind.QUARTER:
        keys = [f"{year}-Q{q}" for q in range(1, 5)]
    elif kind == PeriodKind.HALF:
        keys = [f"{year}-H1"]
    elif kind == PeriodKind.NINE:
        keys = [f"{year}-9M"]
    else:
        keys = [f"{year}"]
    return [parse_period(k, cutoff) for k in keys]


def _valid_during(org: Organisation, period: Period) -> bool:
    return (org.valid_from is None or org.valid_from <= period.end) and (
        org.valid_to is None or period.start <= org.valid_to)


def _local_day(moment: datetime) -> date:
    return (moment + _LOCAL).date()


def completeness(db: Database, plan_id: int, kind: PeriodKind | str, year: int,
                 today: date | None = None) -> CompletenessGrid:
    """Which offices have reported for each period of ``kind`` in ``year`` (up to ``today``)."""
    today = today or date.today()
    try:
        period_kind = PeriodKind(kind)
    except ValueError:
        period_kind = PeriodKind.CUSTOM
    if period_kind == PeriodKind.CUSTOM:
        raise ValidationFailed([FieldError("kind", _(
            "Choose month, quarter, 6 months, 9 months or year."))])
    if not 2000 <= year <= 2100:
        raise ValidationFailed([FieldError("year", _("The year must be between 2000 and 2100."))])
    due_days = get_due_days(db)
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise NotFoundError(_("The plan no longer exists."))
        try:
            periods = [p for p in _periods(period_kind, year, Cutoff(plan.cutoff)) if p.start <= today]
        except PeriodError as exc:  # pragma: no cover - keys are built above
            raise ValidationFailed([FieldError("year", str(exc))]) from exc
        columns = [CompletenessColumn(p.key, p.start, p.end, p.end + timedelta(days=due_days))
                   for p in periods]
        keys = [c.key for c in columns]
        reports = list(s.scalars(
            select(ReceivedReport).where(ReceivedReport.plan_code == plan.code,
                                         ReceivedReport.period_key.in_(keys))
            .order_by(ReceivedReport.received_at, ReceivedReport.id))) if keys else []
        senders = set(s.scalars(select(ReceivedReport.sender_id)
                                .where(ReceivedReport.plan_code == plan.code).distinct()))
        own = fold(settings.get_office(db).name)
        orgs = list(s.scalars(select(Organisation).where(or_(
            Organisation.id.in_(senders) if senders else false(),
            Organisation.in_area.is_(True) & Organisation.kind.in_(sorted(REPORTING_KINDS))))))
        # the office itself, if it is in its own directory, does not report to itself; a unit of
        # the directory that did not exist in any of these periods is not expected either
        orgs = [o for o in orgs if o.id in senders or (
            (not own or fold(o.name) != own) and any(_valid_during(o, p) for p in periods))]
        orgs.sort(key=lambda o: (vi_sort_key(o.name), o.id))

        by_cell: dict[tuple[int, str], list[ReceivedReport]] = {}
        for r in reports:  # oldest first
            by_cell.setdefault((r.sender_id, r.period_key), []).append(r)

        rows: list[CompletenessRow] = []
        received = [0] * len(columns)
        expected = [0] * len(columns)
        for org in orgs:
            row = CompletenessRow(org.id, org.code, org.name, org.kind)
            for j, (col, period) in enumerate(zip(columns, periods, strict=True)):
                versions = by_cell.get((org.id, col.key), [])
                cell = _cell(versions, col, today, _valid_during(org, period))
                row.cells.append(cell)
                if cell.status != "not_expected":
                    expected[j] += 1
                if cell.status in RECEIVED_STATUSES:
                    received[j] += 1
            rows.append(row)
    return CompletenessGrid(plan_id, period_kind.value, year, today, due_days, columns, rows, received,
                            expected)


def _cell(versions: list[ReceivedReport], col: CompletenessColumn, today: date, valid: bool) -> CompletenessCell:
    if not versions:
        if not valid:
            return CompletenessCell("not_expected")
        return CompletenessCell("missing" if today > col.due else "not_due")
    current = [r for r in versions if r.state != "superseded"] or versions
    report = current[-1]  # the newest in hand
    late = _local_day(versions[0].received_at) > col.due
    if report.state == "accepted":
        status = "accepted"
    elif report.state == "returned":
        status = "returned"
    else:
        status = "received_late" if late else "received_on_time"
    return CompletenessCell(status, report.id, report.received_at, late)
