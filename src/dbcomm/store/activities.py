"""Repository functions for activities: the register's queries live here."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    Table,
    and_,
    column,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Join
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import InternalTraversal

from dbcomm.domain.models import ActivityFilter, ActivityRow, Totals
from dbcomm.domain.text import search_terms
from dbcomm.store.models import (
    Activity,
    ActivityNode,
    ActivityProgramme,
    ActivityReach,
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


class unindexed(ColumnElement[Any]):
    """A column SQLite's planner may not use an index for (``+activity.origin_id``).  PostgreSQL
    chooses by its statistics, and the unary plus would only hide them from it (it then guessed
    that 0.5% of the rows are one's own and read every row to sort them): there it is the
    plain column."""

    inherit_cache = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.type = NullType()

    _traverse_internals = [("name", InternalTraversal.dp_string)]


@compiles(unindexed)
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return f"+{element.name}"


@compiles(unindexed, "postgresql")
def _unindexed_server(element: unindexed, compiler: Any, **kw: Any) -> str:
    return element.name


class _WalkFirst(Join):
    """A join whose left table SQLite walks first (``CROSS JOIN``).  The register sorted by form
    or place walks the small table in its sort-key order and each form's or place's
    activities in date order, with no sort at all; without statistics (a database that was
    never ``ANALYZE``d) SQLite would rather read every activity and sort them (0.3–0.9 s)."""

    inherit_cache = True


@compiles(_WalkFirst, "sqlite")
def _walk_first_sqlite(element: _WalkFirst, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    return (f"{compiler.process(element.left, **kw)} CROSS JOIN {compiler.process(element.right, **kw)} "
            f"ON {compiler.process(element.onclause, **kw)}")


def _form_first() -> _WalkFirst:
    return _WalkFirst(CommForm.__table__, Activity.__table__, Activity.form_id == CommForm.id)


def _place_first() -> _WalkFirst:
    return _WalkFirst(Organisation.__table__, Activity.__table__, Activity.place_id == Organisation.id)


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
_OWN_ROW = unindexed("activity.origin_id").is_(None)


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
                index_only: bool = False, scan: bool = False) -> list[ColumnElement[bool]]:
    """The filter as SQL conditions.  ``index_only``: see ``origin_condition``; ``scan``: the
    query reads every row in table order anyway (SQLite), so no (plan, deleted, …) index is
    offered to the planner, which would otherwise read the rows through one, at random."""
    origin = origin_condition(f.origin, index_only)
    sqlite = is_sqlite(session)
    deleted: Any  # a mapped column, or the same column kept out of index choice
    plan: Any
    if (f.origin is None or f.origin == "all" or not sqlite) and not scan:
        deleted, plan = Activity.deleted_at, Activity.plan_id
    else:
        # A scan, or one sender's activities (a few thousand at most: found through the origin
        # index, then sorted).  Without statistics (``ANALYZE``) SQLite would rather walk one of
        # the (plan, deleted, …) indexes over every row, reading the rows at random; the unary
        # plus takes those two columns out of its choice.
        deleted, plan = unindexed("activity.deleted_at"), unindexed("activity.plan_id")
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
            first = matches.limit(FTS_DIRECT_LIMIT + 1).subquery()
            few = _unpack(session.connection().execute(
                select(func.group_concat(func.printf("%016x", first.c.rowid), ""))).scalar())
            if len(few) <= FTS_DIRECT_LIMIT:
                cond.append(Activity.id.in_(few))
            else:
                scan_terms = terms
        else:
            cond.append(Activity.id.in_(matches))
    for term in scan_terms:
        cond.append(contains_folded(Activity.search_text, term))
    return cond


_ROW_COLUMNS = (
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


def _row_select(start: str = "activity") -> Select:  # type: ignore[type-arg]
    """The register's columns.  ``start`` names the table the rows are walked from: "form" and
    "place" put the small table first, so that its sort-key index and the activity index that
    follows each form or place give the rows already in order (no sort of 100,000 rows)."""
    stmt = select(*_ROW_COLUMNS)
    if start == "form":
        return stmt.select_from(_form_first()).outerjoin(Organisation, Organisation.id == Activity.place_id)
    if start == "place":  # activities with a place only: see _place_parts
        return stmt.select_from(_place_first()).join(CommForm, CommForm.id == Activity.form_id)
    return stmt.join(CommForm, CommForm.id == Activity.form_id).outerjoin(
        Organisation, Organisation.id == Activity.place_id)


_SORT_COLUMNS: dict[str, Any] = {
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
}


def _order(sort: str, descending: bool) -> list:  # type: ignore[type-arg]
    """The display order: the sort key, then the date and the id, all in the same direction.

    Ascending is the exact reverse of descending, so that one index per sortable column
    (``(plan, deleted, key, date, id)``, migration 0008) serves both directions without sorting.
    Forms and places are ordered by their own key and then their id (two places of the same
    name are not interleaved).  Activities without a place are ordered by ``_place_parts``.
    """
    keys: list[Any] = []
    if sort in _SORT_COLUMNS:
        keys.append(_SORT_COLUMNS[sort])
        if sort == "form":
            keys.append(CommForm.id)
        elif sort == "place":
            keys.append(Organisation.id)
    keys += [Activity.date_start, Activity.id]
    return [k.desc() if descending else k.asc() for k in keys]


class _Part:
    """One ordered part of the register: its conditions, its order, and whether it walks the
    places first (the activities that have one) or the activities (those that have none)."""

    def __init__(self, where: ColumnElement[bool], order: list, by_place: bool):  # type: ignore[type-arg]
        self.where, self.order, self.by_place = where, order, by_place

    def rows(self) -> Select:  # type: ignore[type-arg]
        return _row_select("place" if self.by_place else "activity").where(self.where).order_by(*self.order)

    def ids(self) -> Select:  # type: ignore[type-arg]
        stmt = select(Activity.id)
        if self.by_place:
            stmt = stmt.select_from(_place_first())
        return stmt.where(self.where)


def _place_parts(cond: list[ColumnElement[bool]], descending: bool) -> list[_Part]:
    """The place order in two parts: the activities without a place (first when ascending, last
    when descending, where SQLite puts NULL), and the others, walked place by place in name
    order (the organisation's sort-key index, then the activity index on place and date)."""
    order = _order("place", descending)
    parts = [_Part(and_(*cond, Activity.place_id.is_(None)), order[2:], False), _Part(and_(*cond), order, True)]
    return parts[::-1] if descending else parts


def _slice_of_parts(conn: Any, parts: list[_Part], offset: int, limit: int | None) -> list[ActivityRow]:
    """Rows ``offset .. offset+limit`` of the parts taken one after the other."""
    out: list[ActivityRow] = []
    for part in parts:
        want = None if limit is None else limit - len(out)
        if want == 0:
            break
        stmt = part.rows()
        rows = [ActivityRow(*r) for r in conn.execute(stmt.offset(offset).limit(want)).all()]
        if rows:
            out += rows
            offset = 0
        elif offset:  # the slice starts after the end of this part
            offset = max(0, offset - _count(conn, stmt))
    return out


def _count(conn: Any, stmt: Select) -> int:  # type: ignore[type-arg]
    return int(conn.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())


def list_rows(
    session: Session,
    f: ActivityFilter,
    *,
    sort: str = "date",
    descending: bool = True,
    offset: int = 0,
    limit: int = 200,
) -> list[ActivityRow]:
    cond = _conditions(f, session)
    conn = session.connection()  # Core rows: no ORM loading for a screenful of plain values
    if sort == "place":
        return _slice_of_parts(conn, _place_parts(cond, descending), offset, limit)
    stmt = (_row_select("form" if sort == "form" else "activity").where(and_(*cond))
            .order_by(*_order(sort, descending)).offset(offset).limit(limit))
    return [ActivityRow(*r) for r in conn.execute(stmt).all()]


def list_ids(session: Session, f: ActivityFilter, *, sort: str = "date", descending: bool = True) -> list[int]:
    """Every matching id in display order: the register pages through slices of this list.

    The list is built inside the database as one string (16 hex digits per id) and unpacked in
    one go, so the thread that runs it holds Python's interpreter lock for about a millisecond,
    instead of taking it back for each of 100,000 rows while the window paints.
    """
    # With a search, walking an index would fetch each matching row at random (seconds when a
    # one-letter term matches everything); a plain scan plus a sort is far cheaper.
    scan = sort == "date" and bool(search_terms(f.text)) and is_sqlite(session)
    cond = _conditions(f, session, index_only=True, scan=scan)
    conn = session.connection()
    if sort == "place":
        return [i for part in _place_parts(cond, descending) for i in _packed_ids(conn, part.ids(), part.order)]
    order = _order(sort, descending)
    if scan:
        order = ([unindexed("activity.date_start").desc(), Activity.id.desc()] if descending
                 else [unindexed("activity.date_start").asc(), Activity.id.asc()])
    stmt = select(Activity.id).where(and_(*cond))
    if sort == "form":
        stmt = stmt.select_from(_form_first())
    return _packed_ids(conn, stmt, order)


def _packed_ids(conn: Any, stmt: Select, order: list) -> list[int]:  # type: ignore[type-arg]
    """The ids that ``stmt`` selects, in ``order``, read as one packed string."""
    if conn.dialect.name == "sqlite":
        # An aggregate over an ordered subquery reads the rows in the subquery's order (SQLite
        # does not flatten a subquery with ORDER BY into an aggregate query).
        inner = stmt.order_by(*order).subquery()
        packed = select(func.group_concat(func.printf("%016x", inner.c.id), ""))
    else:
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        hex_id = func.lpad(func.to_hex(Activity.id), 16, "0")
        packed = stmt.with_only_columns(func.string_agg(hex_id, aggregate_order_by(literal(""), *order)))
    return _unpack(conn.execute(packed).scalar())


def _unpack(packed: str | None) -> list[int]:
    """Ids packed as 16 hex digits each (``printf('%016x', id)`` concatenated)."""
    if not packed:
        return []
    ids = array("q", bytes.fromhex(packed))
    if sys.byteorder == "little":
        ids.byteswap()
    return ids.tolist()


def rows_by_ids(session: Session, ids: Sequence[int]) -> list[ActivityRow]:
    """The rows for ``ids``, in the order given."""
    if not ids:
        return []
    stmt = _row_select().where(Activity.id.in_(list(ids)))
    found = {r[0]: ActivityRow(*r) for r in session.connection().execute(stmt).all()}
    return [found[i] for i in ids if i in found]


def totals(session: Session, f: ActivityFilter) -> Totals:
    stmt = select(
        func.count(Activity.id),
        func.coalesce(func.sum(Activity.items), 0),
        func.coalesce(func.sum(Activity.minutes), 0),
        func.coalesce(func.sum(Activity.sessions), 0),
        func.coalesce(func.sum(Activity.reach_total), 0),
        func.coalesce(func.sum(Activity.cost), 0),
    ).where(and_(*_conditions(f, session, scan=is_sqlite(session))))  # every matching row is read anyway
    row = session.connection().execute(stmt).one()
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


def insert_many(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert new activities (each a dict of the table's columns, ``uuid`` included) and return
    their ids by uuid.

    Many rows go into one statement (with ``RETURNING``) rather than one statement each: the
    trigram search index flushes what it has gathered at the end of every statement, so
    20,000 one-row statements leave 20,000 small index segments to merge (about 1.8 s of a
    20,000-row import) where 20 statements leave 20."""
    if not rows:
        return {}
    connection = session.connection()  # Core, not the ORM's bulk path: no bookkeeping per row
    table = cast(Table, Activity.__table__)
    if connection.dialect.insert_returning:
        stmt = insert(table).returning(table.c.uuid, table.c.id)
        return {uuid: id_ for uuid, id_ in connection.execute(stmt, list(rows))}
    connection.execute(insert(table), list(rows))  # SQLite before 3.35: no RETURNING
    uuids = [r["uuid"] for r in rows]
    out: dict[str, int] = {}
    for k in range(0, len(uuids), 900):
        out.update({u: i for i, u in session.execute(select(Activity.id, Activity.uuid)
                                                     .where(Activity.uuid.in_(uuids[k:k + 900])))})
    return out


def insert_links(session: Session, nodes: Sequence[tuple[int, int]], programmes: Sequence[tuple[int, int]],
                 reach: Sequence[tuple[int, str, str, int]]) -> None:
    """Insert new activities' objectives ``(activity, node)``, programmes ``(activity,
    programme)`` and reach ``(activity, dimension, category, count)``: plain integers and text,
    several rows per activity, handed to the driver as they are."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    for name, columns, values in ((ActivityNode.__tablename__, ("activity_id", "node_id"), nodes),
                                  (ActivityProgramme.__tablename__, ("activity_id", "programme_id"), programmes),
                                  (ActivityReach.__tablename__, ("activity_id", "dimension", "category", "count"),
                                   reach)):
        if values:
            connection.exec_driver_sql(f"INSERT INTO {name} ({', '.join(columns)}) "
                                       f"VALUES ({', '.join([mark] * len(columns))})", list(values))
