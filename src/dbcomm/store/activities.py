"""Repository functions for activities: the register's queries live here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from dbcomm.domain.models import ActivityFilter, ActivityRow, Totals
from dbcomm.domain.text import search_terms
from dbcomm.store.models import (
    Activity,
    ActivityNode,
    ActivityProgramme,
    CommForm,
    Organisation,
    PlanNode,
)

SORT_KEYS = ("date", "form", "subtype", "title", "place", "languages", "items", "minutes",
             "sessions", "reach", "partner", "cost")


def _conditions(f: ActivityFilter) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = [Activity.deleted_at.is_not(None) if f.deleted else Activity.deleted_at.is_(None)]
    if f.plan_id is not None:
        cond.append(Activity.plan_id == f.plan_id)
    if f.date_from is not None:
        cond.append(func.coalesce(Activity.date_end, Activity.date_start) >= f.date_from)
    if f.date_to is not None:
        cond.append(Activity.date_start <= f.date_to)
    if f.form_id is not None:
        cond.append(Activity.form_id == f.form_id)
    if f.subtype:
        cond.append(Activity.subtype == f.subtype)
    if f.place_id is not None:
        cond.append(Activity.place_id == f.place_id)
    if f.language:
        cond.append(func.instr(" " + Activity.languages + " ", f" {f.language} ") > 0)
    if f.programme_id is not None:
        cond.append(
            exists().where(
                ActivityProgramme.activity_id == Activity.id,
                ActivityProgramme.programme_id == f.programme_id,
            )
        )
    if f.node_id is not None:
        # an objective matches its own links and those of its tasks
        child = aliased(PlanNode)
        node_ids = select(child.id).where(
            or_(child.id == f.node_id, child.parent_id == f.node_id)
        )
        cond.append(
            exists().where(
                ActivityNode.activity_id == Activity.id, ActivityNode.node_id.in_(node_ids)
            )
        )
    for term in search_terms(f.text):
        cond.append(func.instr(Activity.search_text, term) > 0)
    return cond


def _row_select() -> Select:  # type: ignore[type-arg]
    return (
        select(
            Activity.id,
            Activity.uuid,
            Activity.date_start,
            Activity.date_end,
            CommForm.code,
            CommForm.name,
            Activity.subtype,
            Activity.title,
            func.coalesce(Organisation.name, ""),
            Activity.languages,
            Activity.items,
            Activity.minutes,
            Activity.sessions,
            Activity.reach_total,
            Activity.partner,
            Activity.cost,
        )
        .join(CommForm, CommForm.id == Activity.form_id)
        .outerjoin(Organisation, Organisation.id == Activity.place_id)
    )


def _order(sort: str, descending: bool) -> list:  # type: ignore[type-arg]
    column = {
        "date": Activity.date_start,
        "form": CommForm.ordinal,
        "subtype": Activity.subtype,
        "title": Activity.title_sort,
        "place": Organisation.name_sort,
        "languages": Activity.languages,
        "items": Activity.items,
        "minutes": Activity.minutes,
        "sessions": Activity.sessions,
        "reach": Activity.reach_total,
        "partner": Activity.partner,
        "cost": Activity.cost,
    }.get(sort, Activity.date_start)
    primary = column.desc() if descending else column.asc()
    tie = Activity.id.desc() if descending else Activity.id.asc()
    if sort == "date":
        return [primary, tie]
    second = Activity.date_start.desc()
    return [primary, second, Activity.id.desc()]


def list_rows(
    session: Session,
    f: ActivityFilter,
    *,
    sort: str = "date",
    descending: bool = True,
    offset: int = 0,
    limit: int = 200,
) -> list[ActivityRow]:
    stmt = (
        _row_select()
        .where(and_(*_conditions(f)))
        .order_by(*_order(sort, descending))
        .offset(offset)
        .limit(limit)
    )
    return [ActivityRow(*r) for r in session.execute(stmt)]


def totals(session: Session, f: ActivityFilter) -> Totals:
    stmt = select(
        func.count(Activity.id),
        func.coalesce(func.sum(Activity.items), 0),
        func.coalesce(func.sum(Activity.minutes), 0),
        func.coalesce(func.sum(Activity.sessions), 0),
        func.coalesce(func.sum(Activity.reach_total), 0),
        func.coalesce(func.sum(Activity.cost), 0),
    ).where(and_(*_conditions(f)))
    row = session.execute(stmt).one()
    return Totals(*(int(v) for v in row))


def ids(session: Session, f: ActivityFilter) -> Sequence[int]:
    return session.scalars(select(Activity.id).where(and_(*_conditions(f)))).all()


def find_duplicates(
    session: Session, day: date, form_id: int, title_fold: str, exclude_id: int | None
) -> list[Activity]:
    stmt = select(Activity).where(
        Activity.deleted_at.is_(None),
        Activity.date_start == day,
        Activity.form_id == form_id,
        Activity.title_fold == title_fold,
    )
    if exclude_id is not None:
        stmt = stmt.where(Activity.id != exclude_id)
    return list(session.scalars(stmt))


def get(session: Session, activity_id: int) -> Activity | None:
    return session.get(Activity, activity_id)


def soft_delete(session: Session, activity_ids: Sequence[int], when: datetime) -> int:
    count = 0
    for a in session.scalars(select(Activity).where(Activity.id.in_(activity_ids))):
        if a.deleted_at is None:
            a.deleted_at = when
            a.version += 1
            count += 1
    return count


def restore(session: Session, activity_ids: Sequence[int]) -> int:
    count = 0
    for a in session.scalars(select(Activity).where(Activity.id.in_(activity_ids))):
        if a.deleted_at is not None:
            a.deleted_at = None
            a.version += 1
            count += 1
    return count


def distinct_partners(session: Session, limit: int = 500) -> list[str]:
    stmt = (
        select(Activity.partner)
        .where(Activity.partner != "", Activity.deleted_at.is_(None))
        .group_by(Activity.partner)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [p for p in session.scalars(stmt)]
