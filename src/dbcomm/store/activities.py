"""Repository functions for activities: the register's queries live here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    column,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

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

# The trigram index over the folded text (see migration 0001): terms of three or more
# characters are looked up there; shorter ones are matched by scanning.
_FTS = table("activity_fts", column("rowid"), column("activity_fts"))


class contains_folded(FunctionElement[bool]):
    """``needle`` occurs in ``haystack`` (both already folded): SQLite's ``instr``; on a server a
    ``LIKE '%…%'``, which PostgreSQL answers from the trigram index."""

    type = Boolean()
    inherit_cache = True
    name = "contains_folded"

    def __init__(self, haystack: Any, needle: str) -> None:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        super().__init__(haystack, literal(needle), literal(f"%{escaped}%"))


@compiles(contains_folded)
def _contains_sqlite(element: contains_folded, compiler: Any, **kw: Any) -> str:
    haystack, needle, _pattern = list(element.clauses)
    return f"instr({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)}) > 0"


@compiles(contains_folded, "postgresql")
def _contains_server(element: contains_folded, compiler: Any, **kw: Any) -> str:
    haystack, _needle, pattern = list(element.clauses)
    return f"({compiler.process(haystack, **kw)} LIKE {compiler.process(pattern, **kw)})"


def is_sqlite(session: Session | None) -> bool:
    return session is None or session.get_bind().dialect.name == "sqlite"


def fts_query(terms: list[str]) -> str:
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


SORT_KEYS = ("date", "form", "subtype", "title", "place", "languages", "items", "minutes",
             "sessions", "reach", "partner", "cost")


# A term found in fewer rows than this is looked up by id; a commoner one is matched
# while walking the rows in display order (a screenful is found almost at once).
FTS_DIRECT_LIMIT = 2000


# The office's own activities are those without an origin.  Two spellings of that condition:
#
# - ``own_only()``: "not one of the received ids".  The received ids come from the origin index
#   (``ix_activity_origin_id``, a covering search), and a query that needs only ids and dates
#   keeps walking the (plan, deleted, date) index without reading the rows: the register's
#   ordered list of 100,000 ids stays a covering-index walk (55 ms in SQLite with 20,000
#   received rows, against 245 ms for a row-by-row origin test).
# - ``is_own()``: ``+activity.origin_id IS NULL``, for queries that read each row anyway (a
#   screenful of rows, totals, the report figures): no list of received ids to build first.
#   The unary plus keeps SQLite from choosing the origin index for it, which would walk every
#   own row in origin order instead of the (plan, deleted, date) order.
_RECEIVED = aliased(Activity, name="received")
_OWN = Activity.id.not_in(select(_RECEIVED.id).where(_RECEIVED.origin_id.is_not(None)))
_OWN_ROW = literal_column("+activity.origin_id").is_(None)


def own_only() -> ColumnElement[bool]:
    """The office's own activities (not received from another office), index-friendly."""
    return _OWN


def is_own() -> ColumnElement[bool]:
    """The same condition, tested on each row (for queries that read the rows anyway)."""
    return _OWN_ROW


def origin_condition(origin: int | str | None, index_only: bool = False) -> ColumnElement[bool] | None:
    """The condition for ``ActivityFilter.origin`` (None: no condition, every origin).
    ``index_only``: the query reads ids and dates only (see ``own_only``)."""
    if origin is None:
        return _OWN if index_only else _OWN_ROW
    if origin == "all":
        return None
    if isinstance(origin, int) and not isinstance(origin, bool):
        return Activity.origin_id == origin  # a sender's rows: found through ix_activity_origin_id
    raise ValueError(f"origin must be None, 'all' or an organisation id, not {origin!r}")


def _conditions(f: ActivityFilter, session: Session | None = None, *,
                index_only: bool = False) -> list[ColumnElement[bool]]:
    origin = origin_condition(f.origin, index_only)
    sqlite = is_sqlite(session)
    deleted: Any  # a mapped column, or the same column kept out of index choice
    plan: Any
    if f.origin is None or f.origin == "all" or not sqlite:
        deleted, plan = Activity.deleted_at, Activity.plan_id
    else:
        # One sender's activities, a few thousand at most: found through the origin index,
        # then sorted.  Without statistics (``ANALYZE``) SQLite would rather walk the (plan,
        # deleted, date) index over every row; the unary plus takes those two columns out of
        # its choice.
        deleted, plan = literal_column("+activity.deleted_at"), literal_column("+activity.plan_id")
    cond: list[ColumnElement[bool]] = [deleted.is_not(None) if f.deleted else deleted.is_(None)]
    if origin is not None:
        cond.append(origin)
    if f.plan_id is not None:
        cond.append(plan == f.plan_id)
    # An activity belongs to the period in which it starts (never counted twice).
    if f.date_from is not None:
        cond.append(Activity.date_start >= f.date_from)
    if f.date_to is not None:
        cond.append(Activity.date_start <= f.date_to)
    if f.form_id is not None:
        cond.append(Activity.form_id == f.form_id)
    if f.subtype:
        cond.append(Activity.subtype == f.subtype)
    if f.place_id is not None:
        cond.append(Activity.place_id == f.place_id)
    if f.language:
        cond.append(contains_folded(" " + Activity.languages + " ", f" {f.language} "))
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
    terms = search_terms(f.text)
    long_terms = [t for t in terms if len(t) >= 3]
    scan_terms = [t for t in terms if len(t) < 3]
    if not sqlite:  # the server's trigram index serves LIKE directly
        long_terms, scan_terms = [], terms
    if long_terms:
        matches = select(_FTS.c.rowid).where(_FTS.c.activity_fts.op("MATCH")(fts_query(long_terms)))
        if session is not None:
            few = list(session.scalars(matches.limit(FTS_DIRECT_LIMIT + 1)))
            if len(few) <= FTS_DIRECT_LIMIT:
                cond.append(Activity.id.in_(few))
            else:
                scan_terms = terms
        else:
            cond.append(Activity.id.in_(matches))
    for term in scan_terms:
        cond.append(contains_folded(Activity.search_text, term))
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
    if sort == "place":  # activities without a place (NULL) sort first, as in SQLite, on every engine
        primary = primary.nulls_last() if descending else primary.nulls_first()
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
        .where(and_(*_conditions(f, session)))
        .order_by(*_order(sort, descending))
        .offset(offset)
        .limit(limit)
    )
    return [ActivityRow(*r) for r in session.execute(stmt)]


def list_ids(session: Session, f: ActivityFilter, *, sort: str = "date", descending: bool = True) -> list[int]:
    """Every matching id in display order: the register pages through slices of this list."""
    order = _order(sort, descending)
    if sort == "date" and search_terms(f.text) and is_sqlite(session):
        # Walking the date index would fetch each matching row at random (seconds when a
        # one-letter term matches everything); a plain scan plus a sort is far cheaper.
        direction = "DESC" if descending else "ASC"
        order = [literal_column(f"+activity.date_start {direction}"), literal_column(f"activity.id {direction}")]
    stmt = select(Activity.id).where(and_(*_conditions(f, session, index_only=True))).order_by(*order)
    if sort == "form":
        stmt = stmt.join(CommForm, CommForm.id == Activity.form_id)
    elif sort == "place":
        stmt = stmt.outerjoin(Organisation, Organisation.id == Activity.place_id)
    return list(session.scalars(stmt))


def rows_by_ids(session: Session, ids: Sequence[int]) -> list[ActivityRow]:
    """The rows for ``ids``, in the order given."""
    if not ids:
        return []
    found = {r[0]: ActivityRow(*r) for r in session.execute(_row_select().where(Activity.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def totals(session: Session, f: ActivityFilter) -> Totals:
    stmt = select(
        func.count(Activity.id),
        func.coalesce(func.sum(Activity.items), 0),
        func.coalesce(func.sum(Activity.minutes), 0),
        func.coalesce(func.sum(Activity.sessions), 0),
        func.coalesce(func.sum(Activity.reach_total), 0),
        func.coalesce(func.sum(Activity.cost), 0),
    ).where(and_(*_conditions(f, session)))
    row = session.execute(stmt).one()
    return Totals(*(int(v) for v in row))


def ids(session: Session, f: ActivityFilter) -> Sequence[int]:
    return session.scalars(select(Activity.id).where(and_(*_conditions(f, session, index_only=True)))).all()


def find_duplicates(
    session: Session, day: date, form_id: int, title_fold: str, exclude_id: int | None
) -> list[Activity]:
    """The office's own live activities with this date, form and folded title."""
    stmt = select(Activity).where(
        Activity.deleted_at.is_(None),
        _OWN_ROW,
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
        .where(Activity.partner != "", Activity.deleted_at.is_(None), _OWN_ROW)
        .group_by(Activity.partner)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [p for p in session.scalars(stmt)]
