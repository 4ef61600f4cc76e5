"""Logging activities: create, edit, duplicate, delete/undo, list, totals, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dbcomm.domain.models import (
    ActivityFilter,
    ActivityInput,
    ActivityRecord,
    ActivityRow,
    AttachmentInfo,
    CodeName,
    NilStatement,
    ReachBreakdown,
    Totals,
)
from dbcomm.domain.periods import Cutoff, PeriodError, parse_period
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import fold, nfc, nfc_line, vi_sort_key
from dbcomm.domain.validation import FieldError, validate_activity
from dbcomm.domain.vocab import LANGUAGES, SUBTYPES, label
from dbcomm.errors import ConflictError, NotFoundError, UserError, ValidationFailed
from dbcomm.i18n import _, format_date, format_datetime, format_number
from dbcomm.services import attachments as attachment_store
from dbcomm.services import audit
from dbcomm.services.auth import require
from dbcomm.services.files import atomic_write_bytes
from dbcomm.services.periods import check_editable
from dbcomm.store import activities as repo
from dbcomm.store.engine import Database
from dbcomm.store.models import (
    Activity,
    ActivityReach,
    Attachment,
    CommForm,
    Organisation,
    Plan,
    PlanNode,
    Programme,
    utcnow,
)
from dbcomm.store.models import NilStatement as NilStatementRow


def _search_text(a: ActivityInput) -> str:
    return fold(" ".join((a.title, a.description, a.partner, a.notes)))


def _clean(value: ActivityInput) -> ActivityInput:
    return replace(
        value,
        title=nfc_line(value.title),
        description=nfc(value.description),
        partner=nfc_line(value.partner),
        notes=nfc(value.notes),
        languages=list(dict.fromkeys(value.languages)),
        node_ids=list(dict.fromkeys(value.node_ids)),
        programme_ids=list(dict.fromkeys(value.programme_ids)),
    )


def _check(session, value: ActivityInput) -> None:  # type: ignore[no-untyped-def]
    plan = session.get(Plan, value.plan_id)
    if plan is None:
        raise NotFoundError(_("The plan no longer exists."))
    errors = validate_activity(value, plan.start_year, plan.end_year)
    if value.form_id is not None:
        form = session.get(CommForm, value.form_id)
        if form is None or form.plan_id != plan.id:
            errors.append(FieldError("form_id", _("This form does not belong to the plan.")))
    if value.place_id is not None:
        place = session.get(Organisation, value.place_id)
        if place is None:
            errors.append(FieldError("place_id", _("This place is not in the directory.")))
        elif value.date_start and not (
            (place.valid_from is None or place.valid_from <= value.date_start)
            and (place.valid_to is None or value.date_start <= place.valid_to)
        ):
            errors.append(FieldError(
                "place_id",
                _("{name} did not exist as a unit on {day}.").format(name=place.name, day=format_date(value.date_start)),
            ))
    if value.node_ids:
        found = session.scalars(select(PlanNode.id).where(PlanNode.id.in_(value.node_ids), PlanNode.plan_id == plan.id)).all()
        if len(found) != len(value.node_ids):
            errors.append(FieldError("node_ids", _("An objective or task does not belong to the plan.")))
    if value.programme_ids:
        found = session.scalars(select(Programme.id).where(Programme.id.in_(value.programme_ids), Programme.plan_id == plan.id)).all()
        if len(found) != len(value.programme_ids):
            errors.append(FieldError("programme_ids", _("A programme does not belong to the plan.")))
    if errors:
        raise ValidationFailed(errors)


def _apply(session, db: Database, a: Activity, value: ActivityInput) -> None:  # type: ignore[no-untyped-def]
    a.plan_id, a.form_id, a.subtype = value.plan_id, value.form_id, value.subtype  # type: ignore[assignment]
    a.date_start, a.date_end = value.date_start, value.date_end  # type: ignore[assignment]
    if a.date_end == a.date_start:
        a.date_end = None
    a.title, a.title_fold, a.title_sort = value.title, fold(value.title), vi_sort_key(value.title)
    a.description, a.partner, a.notes = value.description, value.partner, value.notes
    a.place_id, a.languages = value.place_id, " ".join(value.languages)
    a.items, a.minutes, a.sessions = value.items, value.minutes, value.sessions
    a.reach_total, a.cost, a.funding = value.reach_total, value.cost, value.funding
    a.search_text = _search_text(value)
    a.nodes = list(session.scalars(select(PlanNode).where(PlanNode.id.in_(value.node_ids)))) if value.node_ids else []
    a.programmes = (
        list(session.scalars(select(Programme).where(Programme.id.in_(value.programme_ids))))
        if value.programme_ids else []
    )
    a.reach = [
        ActivityReach(dimension=dim, category=cat, count=n)
        for dim, cats in value.reach.values.items()
        for cat, n in cats.items()
        if n
    ]
    if value.removed_attachments:
        a.attachments = [x for x in a.attachments if x.uuid not in set(value.removed_attachments)]
    for path in value.new_attachments:
        digest, size, mime = attachment_store.store_file(db.attachments_dir, path)
        a.attachments.append(Attachment(filename=nfc_line(Path(path).name), size=size, sha256=digest, mime=mime))


def _snapshot(a: Activity) -> dict[str, object]:
    """What the audit trail keeps of an activity (compared before and after an edit)."""
    return {
        "date_start": a.date_start.isoformat() if a.date_start else None,
        "date_end": a.date_end.isoformat() if a.date_end else None,
        "form": a.form.code if a.form else a.form_id, "subtype": a.subtype, "title": a.title,
        "description": a.description, "place": a.place.name if a.place else None,
        "languages": a.languages, "items": a.items, "minutes": a.minutes, "sessions": a.sessions,
        "reach_total": a.reach_total, "partner": a.partner, "cost": a.cost, "funding": a.funding,
        "notes": a.notes, "objectives": sorted(n.code for n in a.nodes),
        "programmes": sorted(p.code for p in a.programmes),
        "reach": {f"{r.dimension}.{r.category}": r.count for r in sorted(a.reach, key=lambda r: (r.dimension, r.category))},
        "attachments": [f"{x.filename} ({x.sha256[:12]})" for x in a.attachments],
    }


class ReceivedActivityError(UserError):
    """The activity came from another office in a report package: it is that office's record."""


def _refuse_received(session, rows: Sequence[Activity]) -> None:  # type: ignore[no-untyped-def]
    """Refuse to change activities another office sent: a correction must come from it."""
    received = [a for a in rows if a.origin_id is not None]
    if not received:
        return
    names = sorted({(org.name if (org := session.get(Organisation, a.origin_id)) else "?") for a in received},
                   key=vi_sort_key)
    raise ReceivedActivityError(_(
        "This activity was received from {office} with its report; it belongs to that office and "
        "cannot be changed or deleted here. A correction must come from {office}, in a corrected "
        "report.").format(office=", ".join(names)))


@dataclass(frozen=True)
class DuplicateHint:
    id: int
    title: str
    date_start: date


def likely_duplicates(db: Database, value: ActivityInput, exclude_id: int | None = None) -> list[DuplicateHint]:
    """Activities with the same date, form and title (ignoring case and diacritics)."""
    if value.date_start is None or value.form_id is None or not value.title.strip():
        return []
    with db.read() as s:
        found = repo.find_duplicates(s, value.date_start, value.form_id, fold(nfc_line(value.title)), exclude_id)
        return [DuplicateHint(a.id, a.title, a.date_start) for a in found]


def create(db: Database, value: ActivityInput) -> ActivityRecord:
    """Validate and save a new activity (with its evidence files) in one transaction."""
    actor = require(db, Perm.EDIT_ACTIVITIES)
    value = _clean(value)
    for path in value.new_attachments:
        attachment_store.check_file(path)
    with db.write() as s:
        _check(s, value)
        check_editable(s, value.plan_id, [value.date_start])
        a = Activity()
        s.add(a)
        _apply(s, db, a, value)
        s.flush()
        s.refresh(a)
        audit.record(s, actor, "create", entity="activity", entity_uuid=a.uuid, summary=a.title,
                     changes={k: [None, v] for k, v in _snapshot(a).items() if v not in (None, "", 0, [], {})})
        return _record(a)


def update(db: Database, activity_id: int, value: ActivityInput, expected_version: int) -> ActivityRecord:
    """Save changes; refuses if somebody saved the activity since it was opened."""
    actor = require(db, Perm.EDIT_ACTIVITIES)
    value = _clean(value)
    for path in value.new_attachments:
        attachment_store.check_file(path)
    with db.write() as s:
        a = s.get(Activity, activity_id)
        if a is None or a.deleted_at is not None:
            raise NotFoundError(_("This activity has been deleted in the meantime; nothing was saved."))
        _refuse_received(s, [a])
        if a.version != expected_version:
            raise _conflict(s, db, a, value)
        _check(s, value)
        check_editable(s, a.plan_id, [a.date_start, value.date_start])
        before = _snapshot(a)
        _apply(s, db, a, value)
        a.version += 1
        a.updated_at = utcnow()
        s.flush()
        s.refresh(a)
        changes = audit.diff(before, _snapshot(a))
        if changes:
            audit.record(s, actor, "update", entity="activity", entity_uuid=a.uuid, summary=a.title, changes=changes)
        return _record(a)


class _Undo(Exception):
    pass


def _shown(value: object) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_number(v) if isinstance(v, int) else v}" for k, v in value.items())
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return format_date(date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def _conflict(s: Session, db: Database, a: Activity, value: ActivityInput) -> ConflictError:
    """The refusal of a save that would overwrite someone else's: who, when, and what differs."""
    from dbcomm.domain.models import ConflictDetails
    from dbcomm.store.models import AuditEntry

    theirs = _snapshot(a)
    mine = theirs
    try:
        with s.begin_nested():  # what the person's values would give, undone at once
            _apply(s, db, a, replace(value, new_attachments=[], removed_attachments=[]))
            s.flush()
            mine = _snapshot(a)
            raise _Undo
    except (_Undo, UserError):
        pass
    s.expire(a)
    last = s.scalars(select(AuditEntry).where(AuditEntry.entity_uuid == a.uuid)
                     .order_by(AuditEntry.id.desc()).limit(1)).first()
    from dbcomm.domain.roles import SYSTEM

    # Without accounts (one-person mode) nobody's name is known: "someone else" (another window).
    who = (last.full_name or last.username) if last and last.username != SYSTEM.username else ""
    labels = audit.FIELD_LABELS
    differences = tuple((_(labels.get(key, key)), _shown(mine.get(key)), _shown(theirs.get(key)))
                        for key in theirs if key != "attachments" and mine.get(key) != theirs.get(key))
    saved_at = a.updated_at
    details = ConflictDetails(saved_by=who, saved_at=saved_at, current_version=a.version, differences=differences)
    message = (_("{who} saved this activity at {time}, after you opened it.").format(
        who=who, time=format_datetime(saved_at)) if who else
        _("Someone else saved this activity at {time}, after you opened it.").format(time=format_datetime(saved_at)))
    return ConflictError(message + " " + _("Nothing was saved yet: compare the two versions, then keep the saved "
                                           "one or save yours over it."), details)


def _record(a: Activity) -> ActivityRecord:
    reach: dict[str, dict[str, int]] = {}
    for r in a.reach:
        reach.setdefault(r.dimension, {})[r.category] = r.count
    return ActivityRecord(
        plan_id=a.plan_id, date_start=a.date_start, form_id=a.form_id, title=a.title,
        subtype=a.subtype, date_end=a.date_end, description=a.description,
        node_ids=[n.id for n in a.nodes], programme_ids=[p.id for p in a.programmes],
        place_id=a.place_id, languages=a.languages.split(), items=a.items, minutes=a.minutes,
        sessions=a.sessions, reach_total=a.reach_total, reach=ReachBreakdown(reach),
        partner=a.partner, cost=a.cost, funding=a.funding, notes=a.notes,
        id=a.id, uuid=a.uuid, version=a.version, created_at=a.created_at, updated_at=a.updated_at,
        attachments=[AttachmentInfo(x.uuid, x.filename, x.size, x.sha256, x.mime) for x in a.attachments],
    )


def get(db: Database, activity_id: int, *, include_received: bool = False) -> ActivityRecord:
    """One activity, to edit it.  An activity received from another office is refused
    (``ReceivedActivityError``) unless ``include_received`` (to show it, read-only)."""
    with db.read() as s:
        a = s.get(Activity, activity_id)
        if a is None:
            raise NotFoundError(_("This activity no longer exists."))
        if not include_received:
            _refuse_received(s, [a])
        rec = _record(a)
    for att in rec.attachments:
        att.path = attachment_store.stored_path(db.attachments_dir, att.sha256)
    return rec


def duplicate_input(db: Database, activity_id: int, new_date: date | None = None) -> ActivityInput:
    """A copy of an activity to log it again (e.g. a weekly broadcast), without its evidence."""
    rec = get(db, activity_id)
    return ActivityInput(
        plan_id=rec.plan_id, date_start=new_date or rec.date_start, form_id=rec.form_id,
        title=rec.title, subtype=rec.subtype, date_end=None, description=rec.description,
        node_ids=list(rec.node_ids), programme_ids=list(rec.programme_ids), place_id=rec.place_id,
        languages=list(rec.languages), items=rec.items, minutes=rec.minutes, sessions=rec.sessions,
        reach_total=rec.reach_total, reach=ReachBreakdown({k: dict(v) for k, v in rec.reach.values.items()}),
        partner=rec.partner, cost=rec.cost, funding=rec.funding, notes=rec.notes,
    )


def delete(db: Database, activity_ids: Sequence[int]) -> int:
    """Move activities to the recycle bin (restorable with ``restore``)."""
    actor = require(db, Perm.EDIT_ACTIVITIES)
    with db.write() as s:
        rows = list(s.scalars(select(Activity).where(Activity.id.in_(activity_ids), Activity.deleted_at.is_(None))))
        _refuse_received(s, rows)
        for a in rows:
            check_editable(s, a.plan_id, [a.date_start])
        n = repo.soft_delete(s, [a.id for a in rows], utcnow())
        for a in rows:
            audit.record(s, actor, "delete", entity="activity", entity_uuid=a.uuid, summary=a.title)
        return n


def restore(db: Database, activity_ids: Sequence[int]) -> int:
    actor = require(db, Perm.EDIT_ACTIVITIES)
    with db.write() as s:
        rows = list(s.scalars(select(Activity).where(Activity.id.in_(activity_ids), Activity.deleted_at.is_not(None))))
        _refuse_received(s, rows)
        for a in rows:
            check_editable(s, a.plan_id, [a.date_start])
        n = repo.restore(s, [a.id for a in rows])
        for a in rows:
            audit.record(s, actor, "restore", entity="activity", entity_uuid=a.uuid, summary=a.title)
        return n


def list_rows(
    db: Database, f: ActivityFilter, *, sort: str = "date", descending: bool = True,
    offset: int = 0, limit: int = 200,
) -> list[ActivityRow]:
    with db.read() as s:
        return repo.list_rows(s, f, sort=sort, descending=descending, offset=offset, limit=limit)


def list_ids(db: Database, f: ActivityFilter, *, sort: str = "date", descending: bool = True) -> list[int]:
    with db.read() as s:
        return repo.list_ids(s, f, sort=sort, descending=descending)


def rows_by_ids(db: Database, ids: Sequence[int]) -> list[ActivityRow]:
    with db.read() as s:
        return repo.rows_by_ids(s, ids)


def totals(db: Database, f: ActivityFilter) -> Totals:
    with db.read() as s:
        return repo.totals(s, f)


def filter_for_period(db: Database, plan_id: int, period_key: str) -> ActivityFilter:
    """A filter for ``period_key`` (``2026-Q3``, ``2026-05``…) under the plan's cut-off."""
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        cutoff = Cutoff(plan.cutoff) if plan else Cutoff.CALENDAR
    period = parse_period(period_key, cutoff)
    return ActivityFilter(plan_id=plan_id, date_from=period.start, date_to=period.end)


# --- look-ups for the forms and filters ---------------------------------------


def forms(db: Database, plan_id: int) -> list[CodeName]:
    with db.read() as s:
        rows = s.scalars(select(CommForm).where(CommForm.plan_id == plan_id).order_by(CommForm.ordinal))
        return [CodeName(f.id, f.code, f.name) for f in rows]


def partners(db: Database) -> list[str]:
    with db.read() as s:
        return repo.distinct_partners(s)


# --- CSV export ------------------------------------------------------------------

CSV_HEADER = [
    "uuid", "date_start", "date_end", "form", "subtype", "title", "description", "place",
    "languages", "items", "minutes", "sessions", "reach_total", "partner", "cost", "funding", "notes",
]


def export_csv(db: Database, f: ActivityFilter, path: Path) -> int:
    """Write the filtered register as CSV (UTF-8 with BOM so Excel reads the diacritics)."""
    actor = require(db, Perm.EXPORT)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    count = 0
    offset = 0
    with db.read() as s:
        while True:
            rows = repo.list_rows(s, f, sort="date", descending=False, offset=offset, limit=5000)
            if not rows:
                break
            extra = {
                i: (d, fu, n)
                for i, d, fu, n in s.execute(
                    select(Activity.id, Activity.description, Activity.funding, Activity.notes).where(
                        Activity.id.in_([r.id for r in rows])
                    )
                )
            }
            for r in rows:
                description, funding, notes = extra[r.id]
                w.writerow([
                    r.uuid, r.date_start.isoformat(), r.date_end.isoformat() if r.date_end else "",
                    r.form_code, r.subtype, r.title, description, r.place_name, r.languages,
                    r.items, r.minutes, r.sessions, r.reach_total, r.partner, r.cost, funding, notes,
                ])
                count += 1
            offset += len(rows)
    atomic_write_bytes(Path(path), buf.getvalue().encode("utf-8-sig"))
    with db.write() as s:
        audit.record(s, actor, "export", entity="register", summary=_("{n} activities to {path}").format(
            n=count, path=Path(path).name))
    return count


def describe_row(r: ActivityRow) -> str:
    """One line of text for the command line."""
    when = format_date(r.date_start) + (f"–{format_date(r.date_end)}" if r.date_end else "")
    langs = ",".join(label(LANGUAGES, c) for c in r.languages.split())
    return "\t".join([
        str(r.id), when, r.form_code, label(SUBTYPES, r.subtype), r.title, r.place_name, langs,
        str(r.items), str(r.reach_total),
    ])


# --- "no activity this period, because …" -------------------------------------------


def add_nil_statement(db: Database, plan_id: int, period_key: str, reason: str, form_id: int | None = None) -> NilStatement:
    actor = require(db, Perm.EDIT_ACTIVITIES)
    reason = nfc(reason)
    errors = []
    try:
        with db.read() as s:
            plan = s.get(Plan, plan_id)
            cutoff = Cutoff(plan.cutoff) if plan else Cutoff.CALENDAR
        period = parse_period(period_key, cutoff)
    except PeriodError:
        errors.append(FieldError("period", _("Enter a period such as 2026-Q3, 2026-05 or 2026.")))
        period = None
    if not reason:
        errors.append(FieldError("reason", _("Say why there was no activity.")))
    if errors:
        raise ValidationFailed(errors)
    assert period is not None
    with db.write() as s:
        check_editable(s, plan_id, [period.start])
        row = NilStatementRow(plan_id=plan_id, period_key=period.key, form_id=form_id, reason=reason)
        s.add(row)
        s.flush()
        audit.record(s, actor, "create", entity="nil_statement", entity_uuid=row.uuid,
                     summary=f"{period.key}: {reason}")
        return NilStatement(row.id, row.uuid, row.plan_id, row.period_key, row.form_id, row.reason, row.created_at)


def nil_statements(db: Database, plan_id: int) -> list[NilStatement]:
    with db.read() as s:
        rows = s.scalars(select(NilStatementRow).where(NilStatementRow.plan_id == plan_id).order_by(NilStatementRow.period_key.desc()))
        return [NilStatement(r.id, r.uuid, r.plan_id, r.period_key, r.form_id, r.reason, r.created_at) for r in rows]


def delete_nil_statement(db: Database, statement_id: int) -> None:
    actor = require(db, Perm.EDIT_ACTIVITIES)
    with db.write() as s:
        row = s.get(NilStatementRow, statement_id)
        if row is not None:
            audit.record(s, actor, "delete", entity="nil_statement", entity_uuid=row.uuid,
                         summary=f"{row.period_key}: {row.reason}")
            s.delete(row)
