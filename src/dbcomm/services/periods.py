"""The reporting-period workflow: draft → submitted → approved (or returned) → locked.

Activities dated inside a submitted, approved or locked period cannot change; a
leader may reopen the period (recorded in the audit trail), or the change is
logged as an amendment in the next period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dbcomm.domain.periods import Cutoff, PeriodError, PeriodKind, parse_period, period_containing
from dbcomm.domain.roles import FROZEN, PERIOD_STATE_LABELS, TRANSITIONS, Actor, PeriodState
from dbcomm.domain.text import nfc
from dbcomm.domain.validation import FieldError
from dbcomm.errors import NotFoundError, PeriodLockedError, UserError, ValidationFailed
from dbcomm.i18n import _, format_date
from dbcomm.services import audit
from dbcomm.services.auth import require
from dbcomm.store.activities import own_only
from dbcomm.store.engine import Database
from dbcomm.store.models import Activity, PeriodStatus, Plan, utcnow


@dataclass(frozen=True)
class PeriodRow:
    key: str
    kind: str
    start: date
    end: date
    state: PeriodState
    changed_at: datetime | None
    changed_by: str
    note: str
    activities: int


def _local(dt: datetime | None) -> date | None:
    return (dt + timedelta(hours=7)).date() if dt else None


def list_periods(db: Database, plan_id: int, kinds: Iterable[PeriodKind] = (
        PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF, PeriodKind.NINE, PeriodKind.YEAR),
        today: date | None = None) -> list[PeriodRow]:
    """Every period of the plan up to today (newest first), with its state and activity count."""
    today = today or date.today()
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise NotFoundError(_("The plan no longer exists."))
        cutoff = Cutoff(plan.cutoff)
        states = {p.period_key: p for p in s.scalars(select(PeriodStatus).where(PeriodStatus.plan_id == plan_id))}
        counts: dict[object, int] = dict(s.execute(
            select(Activity.date_start, func.count())
            .where(Activity.plan_id == plan_id, Activity.deleted_at.is_(None), own_only())
            .group_by(Activity.date_start)).all())
    per_day = {(k if isinstance(k, date) else date.fromisoformat(str(k))): v for k, v in counts.items()}
    rows: list[PeriodRow] = []
    last_year = min(today.year, plan.end_year)
    for year in range(last_year, plan.start_year - 1, -1):
        keys: list[str] = []
        if PeriodKind.YEAR in kinds:
            keys.append(f"{year}")
        if PeriodKind.NINE in kinds:
            keys.append(f"{year}-9M")
        if PeriodKind.HALF in kinds:
            keys.append(f"{year}-H1")
        if PeriodKind.QUARTER in kinds:
            keys += [f"{year}-Q{q}" for q in (4, 3, 2, 1)]
        if PeriodKind.MONTH in kinds:
            keys += [f"{year}-{m:02d}" for m in range(12, 0, -1)]
        for key in keys:
            p = parse_period(key, cutoff)
            if p.start > today:
                continue
            st = states.get(p.key)
            n = sum(v for d, v in per_day.items() if p.start <= d <= p.end)
            rows.append(PeriodRow(
                p.key, p.kind.value, p.start, p.end, PeriodState(st.state) if st else PeriodState.DRAFT,
                st.changed_at if st else None, st.changed_by if st else "", st.note if st else "", n))
    return rows


def state_of(db: Database, plan_id: int, period_key: str) -> PeriodState:
    with db.read() as s:
        row = s.scalar(select(PeriodStatus).where(PeriodStatus.plan_id == plan_id,
                                                  PeriodStatus.period_key == period_key))
        return PeriodState(row.state) if row else PeriodState.DRAFT


def transition(db: Database, plan_id: int, period_key: str, to: PeriodState | str, note: str = "") -> PeriodState:
    """Move a period to ``to``; the role is checked and the change is audited."""
    to = PeriodState(to)
    note = nfc(note)
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise NotFoundError(_("The plan no longer exists."))
        cutoff = Cutoff(plan.cutoff)
    try:
        period = parse_period(period_key, cutoff)
    except PeriodError as exc:
        raise ValidationFailed([FieldError("period", _("'{value}' is not a period.").format(value=period_key))]) from exc
    current = state_of(db, plan_id, period.key)
    perm = TRANSITIONS.get((current, to))
    if perm is None:
        raise UserError(_("Period {key} is {state}: it cannot become {to}.").format(
            key=period.key, state=_(PERIOD_STATE_LABELS[current]).lower(), to=_(PERIOD_STATE_LABELS[to]).lower()))
    actor = require(db, perm)
    needs_note = to == PeriodState.RETURNED or (to == PeriodState.DRAFT and current != PeriodState.RETURNED)
    if needs_note and not note:
        raise ValidationFailed([FieldError("note", _("Say why (the note is kept with the period)."))])
    with db.write() as s:
        row = s.scalar(select(PeriodStatus).where(PeriodStatus.plan_id == plan_id,
                                                  PeriodStatus.period_key == period.key))
        if row is None:
            row = PeriodStatus(plan_id=plan_id, period_key=period.key, date_from=period.start, date_to=period.end)
            s.add(row)
        elif row.state != current:
            raise UserError(_("Someone else changed period {key} meanwhile; look again.").format(key=period.key))
        else:
            row.version += 1
        row.state, row.changed_at, row.changed_by, row.note = to.value, utcnow(), actor.display, note
        s.flush()
        audit.record(s, actor, "status", entity="period", entity_uuid=row.uuid,
                     summary=_("Period {key}: {old} → {new}.").format(
                         key=period.key, old=_(PERIOD_STATE_LABELS[current]), new=_(PERIOD_STATE_LABELS[to]))
                     + (f" {note}" if note else ""),
                     changes={"state": [current.value, to.value], "period": [None, period.key]})
    return to


def _frozen(session: Session, plan_id: int, day: date) -> PeriodStatus | None:
    return session.scalar(
        select(PeriodStatus).where(
            PeriodStatus.plan_id == plan_id, PeriodStatus.state.in_([s.value for s in FROZEN]),
            PeriodStatus.date_from <= day, PeriodStatus.date_to >= day,
        ).order_by(PeriodStatus.date_from).limit(1))


def check_editable(session: Session, plan_id: int, days: Iterable[date | None]) -> None:
    """Refuse, with the reason and the way forward, a change dated in a frozen period."""
    for day in days:
        if day is None:
            continue
        row = _frozen(session, plan_id, day)
        if row is None:
            continue
        when = format_date(_local(row.changed_at))
        verb = {
            PeriodState.SUBMITTED: _("Period {key} was submitted on {date} by {name}."),
            PeriodState.APPROVED: _("Period {key} was approved on {date} by {name}."),
            PeriodState.LOCKED: _("Period {key} was locked on {date} by {name}."),
        }[PeriodState(row.state)]
        raise PeriodLockedError(
            verb.format(key=row.period_key, date=when, name=row.changed_by or "?") + " "
            + _("Its activities cannot be changed. A leader can reopen the period (this is recorded), "
                "or log the change as an amendment in the next period."))


def next_open_day(db: Database, plan_id: int, day: date) -> date:
    """The first day after ``day`` that is not in a frozen period (for amendments)."""
    with db.read() as s:
        while (row := _frozen(s, plan_id, day)) is not None:
            day = row.date_to + timedelta(days=1)
    return day


def period_of(db: Database, plan_id: int, day: date, kind: PeriodKind = PeriodKind.QUARTER) -> str:
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        cutoff = Cutoff(plan.cutoff) if plan else Cutoff.CALENDAR
    return period_containing(day, kind, cutoff).key


def frozen_notice(db: Database, plan_id: int, day: date | None) -> str | None:
    """The reason an activity of ``day`` cannot change now (None if it can), to show up front."""
    with db.read() as s:
        try:
            check_editable(s, plan_id, [day])
        except PeriodLockedError as exc:
            return str(exc)
    return None


def lock_for_signature(session: Session, actor: Actor, plan_id: int, period_key: str, date_from: date,
                       date_to: date, note: str, by: str = "") -> None:
    """Lock the period of a report the leader has just signed, in the caller's transaction.

    Signing is the leader's approval: whatever state the period was in, it becomes locked
    (recorded in the audit trail); a leader can still reopen it, and a correction is then a
    new report.
    """
    row = session.scalar(select(PeriodStatus).where(PeriodStatus.plan_id == plan_id,
                                                    PeriodStatus.period_key == period_key))
    old = PeriodState(row.state) if row is not None else PeriodState.DRAFT
    if old == PeriodState.LOCKED:
        return
    if row is None:
        row = PeriodStatus(plan_id=plan_id, period_key=period_key, date_from=date_from, date_to=date_to)
        session.add(row)
    else:
        row.version += 1
    # "locked by": the person who signed (a workstation without accounts has no other name)
    row.state, row.changed_at, row.changed_by, row.note = (PeriodState.LOCKED.value, utcnow(),
                                                           by or actor.display, nfc(note))
    session.flush()
    audit.record(session, actor, "status", entity="period", entity_uuid=row.uuid,
                 summary=_("Period {key}: {old} → {new}.").format(
                     key=period_key, old=_(PERIOD_STATE_LABELS[old]), new=_(PERIOD_STATE_LABELS[PeriodState.LOCKED]))
                 + f" {nfc(note)}",
                 changes={"state": [old.value, PeriodState.LOCKED.value], "period": [None, period_key]})
