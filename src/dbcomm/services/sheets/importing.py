"""Importing a spreadsheet log: the free-text values, the dry run, and the import itself.

Every row goes through the register's own rules (``domain.validation``, the plan's forms,
objectives and programmes, the place's dates of existence, frozen periods).  The dry run reads
the whole sheet and says, for every row that will not be imported, why; the import reads it
again, checks everything again, and writes the good rows in one transaction — each with its
audit entry, as if logged by hand, and a ``sheet_source`` row naming its file, sheet and row.

A row imported before (the same file name, sheet, date, form, title and place — see
docs/decisions/0007-spreadsheet-import.md) is not imported again; a row whose activity
identifier is already in the register (a file exported from this database) neither; a row that
looks like an activity already in the register (same date, form, title and place) is left out
unless the person asks for it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import types
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from dbcomm.domain.models import ActivityInput, ReachBreakdown
from dbcomm.domain.roles import FROZEN, Perm
from dbcomm.domain.text import fold, vi_sort_key
from dbcomm.domain.validation import FieldError, validate_activity
from dbcomm.domain.vocab import DEFAULT_SUBTYPE_FOR_FORM
from dbcomm.errors import NotFoundError, PeriodLockedError, UserError
from dbcomm.i18n import _, format_date, format_number
from dbcomm.services import activities as activity_service
from dbcomm.services import audit, backup
from dbcomm.services.auth import require
from dbcomm.services.periods import check_editable
from dbcomm.services.sheets import fields as F
from dbcomm.services.sheets import lookups as L
from dbcomm.services.sheets import values as V
from dbcomm.services.sheets.mapping import ColumnMapping, check_mapping, remember, remembered_values
from dbcomm.services.sheets.reading import (
    MAX_ROWS,
    RawRow,
    SourceInfo,
    SourceOptions,
    check_size,
    file_sha256,
    forget,
    keep_open,
    open_source,
    rows,
    too_many_rows,
)
from dbcomm.store.activities import insert_links, insert_many, is_own
from dbcomm.store.engine import Database
from dbcomm.store.models import (
    Activity,
    AuditEntry,
    PeriodStatus,
    Plan,
    SheetSource,
    new_uuid,
    utcnow,
)

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]
P = ParamSpec("P")
R = TypeVar("R")


def _reading_once(fn: Callable[P, R]) -> Callable[P, R]:
    """Each step opens the workbook once, however many times it reads it."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with keep_open():
            return fn(*args, **kwargs)

    return wrapper

BATCH = 500  # rows checked against the database, and written, together
MAX_OUTCOMES = 50_000  # rows listed with their reasons (the counts are always complete)
REUSE_ROWS = 50_000  # up to this many rows, the import reuses what the dry run read (~2 KB a row)
STATUSES = ("new", "error", "already", "in_register", "duplicate", "skipped")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ImportCancelled(UserError):
    """The person cancelled: nothing was imported."""


@dataclass
class ImportRequest:
    """Everything the wizard (or the command line) decided, to dry-run and then import.

    ``value_map``: field key → {a value as written in the sheet (any case, diacritics optional)
    → the target chosen (``Choice.target``), or "" for "leave empty"}.  Values not in it are
    matched exactly against the plan and the directory; those matching nothing make their row
    an error.
    """

    path: Path
    plan_id: int
    mapping: ColumnMapping
    sheet: str | None = None
    value_map: dict[str, dict[str, str]] = field(default_factory=dict)
    options: SourceOptions = field(default_factory=SourceOptions)
    include_duplicates: bool = False


@dataclass(frozen=True)
class RowProblem:
    field: str  # field key ("" for the whole row)
    column: str  # column letter ("" when no column holds it)
    value: str  # the cell as shown
    code: str  # bad_date, not_number, not_whole, excel_error, formula, not_mapped, invalid, place_dates, locked
    message: str  # for people


@dataclass(frozen=True)
class RowOutcome:
    row: int  # row number in the sheet
    status: str  # error | already | in_register | duplicate | skipped
    title: str
    problems: tuple[RowProblem, ...] = ()
    note: str = ""  # where it was imported from before, which activity it looks like, …
    activity_id: int | None = None  # the activity it matches, when there is one

    def reason(self) -> str:
        """One line saying why the row is not imported."""
        if self.problems:
            return "; ".join(_cell_reason(p).rstrip(".") for p in self.problems) + "."
        return self.note


def _cell_reason(p: RowProblem) -> str:
    where = _("column {column}").format(column=p.column) if p.column else ""
    return f"{where}: {p.message}" if where else p.message


@dataclass(frozen=True)
class RowPreview:
    """A row the import will add, as the dry run shows it."""

    row: int
    date_start: date
    form: str  # code
    title: str
    place: str
    subtype: str = ""  # code: what the kind was read as (or taken from the form)
    languages: tuple[str, ...] = ()  # codes (Vietnamese when the sheet says none)


@dataclass
class DryRun:
    source: SourceInfo
    sheet: str
    counts: dict[str, int]  # per status (STATUSES), plus "blank"
    outcomes: list[RowOutcome]  # every row that will not be imported, and why (up to MAX_OUTCOMES)
    sample: list[RowPreview]  # the first rows that will be imported
    outcomes_left_out: int = 0  # rows beyond MAX_OUTCOMES, counted only
    include_duplicates: bool = False
    # the rows to import, as read (kept for files of up to REUSE_ROWS rows): the import after
    # this dry run checks them again rather than reading the file again
    _prepared: _Prepared | None = field(default=None, repr=False)

    @property
    def to_import(self) -> int:
        return self.counts["new"] + (self.counts["duplicate"] if self.include_duplicates else 0)

    @property
    def sha256(self) -> str:
        return self.source.sha256


@dataclass(frozen=True)
class ImportResult:
    file: str
    sheet: str
    added: int
    counts: dict[str, int]
    message: str
    activity_ids: tuple[int, ...] = ()  # the activities this import added
    backup: Path | None = None  # the safety backup taken before it (None on a shared server)


# --- the catalogue of values ----------------------------------------------------------------


@dataclass(frozen=True)
class ValueSuggestion:
    """A value written in a column that names a form, objective, place, …: what dbcomm proposes."""

    field: str
    text: str  # as first written in the sheet
    count: int  # rows where it appears
    proposed: str | None  # the target proposed, or None when the person must choose
    how: str  # "exact", "remembered", "suggested" or "" (nothing close)
    choices: tuple[L.Scored, ...]  # the closest choices, best first


def _plan_facts(db: Database, plan_id: int) -> tuple[L.Lookups, str]:
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise NotFoundError(_("The plan no longer exists."))
        return L.load(s, plan_id), plan.uuid


def choices(db: Database, plan_id: int, field_key: str) -> list[L.Choice]:
    """Everything a value of ``field_key`` can be mapped to, in the order to show them."""
    lookups, _uuid = _plan_facts(db, plan_id)
    return list(lookups.catalogues[field_key].choices)


def _with_constants(raw: RawRow, mapping: ColumnMapping) -> Iterator[tuple[str, Any, int | None]]:
    for key, index in mapping.columns.items():
        yield key, (raw.values[index] if index < len(raw.values) else None), index
    for key, value in mapping.constants.items():
        if key not in mapping.columns:
            yield key, value, None


def _data_rows(info: SourceInfo, request: ImportRequest, progress: Progress | None,
               cancelled: Cancelled | None) -> Iterator[RawRow]:
    """The sheet's data rows (blank ones too), counted: more than MAX_ROWS is refused."""
    sheet = info.sheet(request.sheet)
    estimate = sheet.rows_estimate or 0
    data = 0
    with closing(rows(info, sheet.name, request.mapping.data_start)) as stream:
        for raw in stream:
            if not raw.is_blank():
                data += 1
                if data > MAX_ROWS:
                    raise too_many_rows(info)
            if cancelled is not None and raw.number % 200 == 0 and cancelled():
                raise ImportCancelled(_("Cancelled: nothing was imported."))
            if progress is not None and raw.number % 500 == 0:
                progress(raw.number, estimate)
            yield raw


@_reading_once
def value_suggestions(db: Database, request: ImportRequest, *, progress: Progress | None = None,
                      cancelled: Cancelled | None = None) -> list[ValueSuggestion]:
    """Every distinct value of the mapped form, kind, place, objective, programme, language and
    funding columns, with what dbcomm proposes for it: the person's earlier choice, an exact
    match (case and diacritics ignored), or the closest choices."""
    check_mapping(request.mapping)
    info = open_source(request.path, request.options)
    check_size(info, request.sheet, request.mapping.data_start)
    lookups, plan_uuid = _plan_facts(db, request.plan_id)
    memory = remembered_values(db, plan_uuid)
    seen: dict[tuple[str, str], list[Any]] = {}
    wanted = [k for k in F.LOOKUP_FIELDS if k in request.mapping.columns or k in request.mapping.constants]
    items: dict[tuple[str, type, Any], list[tuple[str, str]]] = {}  # a cell's values, folded: worked out once
    for raw in _data_rows(info, request, progress, cancelled):
        if raw.is_blank():
            continue
        for key, value, _index in _with_constants(raw, request.mapping):
            if key not in wanted or V.is_blank(value):
                continue
            cell = (key, type(value), value)  # the type too: True == 1 for a dict
            parts = items.get(cell)
            if parts is None:
                try:
                    V.check_error(value)
                    parts = [(fold(item), item) for item in L.items(key, V.text(value), lookups.catalogues[key])]
                except V.CellError:
                    parts = []
                if len(items) < 50_000:
                    items[cell] = parts
            for folded, item in parts:
                entry = seen.setdefault((key, folded), [item, 0])
                entry[1] += 1
    out = []
    for (key, folded), (text, count) in seen.items():
        catalogue = lookups.catalogues[key]
        chosen = request.value_map.get(key, {})
        picked = {fold(k): v for k, v in chosen.items()}.get(folded)
        if picked is not None:
            out.append(ValueSuggestion(key, text, count, picked, "chosen", tuple(L.suggest(catalogue, text))))
            continue
        hit, found = L.proposal(catalogue, text)
        if hit and found and found[0].score >= 1.0:
            out.append(ValueSuggestion(key, text, count, hit, "exact", tuple(found)))
            continue
        kept = memory.get(key, {}).get(folded)
        if kept is not None and (kept == "" or kept in catalogue.keys):
            out.append(ValueSuggestion(key, text, count, kept, "remembered", tuple(found)))
            continue
        out.append(ValueSuggestion(key, text, count, hit, "suggested" if hit else "", tuple(found)))
    order = {k: i for i, k in enumerate(F.LOOKUP_FIELDS)}
    out.sort(key=lambda v: (order[v.field], -v.count, vi_sort_key(v.text)))
    return out


def proposed_value_map(suggestions: list[ValueSuggestion]) -> dict[str, dict[str, str]]:
    """The value map of every proposal (exact, remembered or confident), to start from."""
    out: dict[str, dict[str, str]] = {}
    for v in suggestions:
        if v.proposed is not None:
            out.setdefault(v.field, {})[v.text] = v.proposed
    return out


# --- reading one row -------------------------------------------------------------------------


@dataclass
class _Parsed:
    row: int
    status: str  # new | error | skipped
    title: str = ""
    problems: list[RowProblem] = field(default_factory=list)
    value: ActivityInput | None = None
    identity: tuple[str, ...] = ()
    uuid: str = ""
    note: str = ""
    key: str = ""
    title_fold: str = ""


class _Reader:
    """Turns raw rows into activities, with the reasons a row cannot be one."""

    def __init__(self, s: Session, info: SourceInfo, request: ImportRequest, lookups: L.Lookups) -> None:
        self.info, self.request, self.lookups = info, request, lookups
        self.mapping = request.mapping
        self.value_map = {key: {fold(k): v for k, v in chosen.items()} for key, chosen in request.value_map.items()}
        self.frozen = [(p.date_from, p.date_to) for p in s.scalars(select(PeriodStatus).where(
            PeriodStatus.plan_id == request.plan_id, PeriodStatus.state.in_([x.value for x in FROZEN])))]
        self.frozen_messages: dict[date, str] = {}
        self.session = s
        self.today = date.today()
        self.letters = {key: _letter(index) for key, index in self.mapping.columns.items()}
        self.file_key = fold(info.name)
        self.sheet_key = fold(info.sheet(request.sheet).name) if info.kind == "xlsx" else ""
        self.occurrences: dict[str, int] = {}
        self.seen: dict[tuple[str, type, Any], tuple[tuple[str, ...], tuple[RowProblem, ...]]] = {}

    # the pieces of a row

    def _problem(self, out: _Parsed, key: str, value: Any, code: str, message: str) -> None:
        out.problems.append(RowProblem(key, self.letters.get(key, ""), V.shown(value)[:200], code, message))

    def _lookup(self, out: _Parsed, key: str, value: Any) -> list[str]:
        """The targets of a form, place, objective … cell; its problems added to ``out``.  A log
        repeats a few dozen such values over thousands of rows: each is worked out once."""
        cell = (key, type(value), value)  # the type too: True == 1 for a dict
        known = self.seen.get(cell)
        if known is None:
            probe = _Parsed(0, "new")
            known = (tuple(self._lookup_value(probe, key, value)), tuple(probe.problems))
            if len(self.seen) < 50_000:
                self.seen[cell] = known
        out.problems.extend(known[1])
        return list(known[0])

    def _lookup_value(self, out: _Parsed, key: str, value: Any) -> list[str]:
        catalogue = self.lookups.catalogues[key]
        targets: list[str] = []
        for item in L.items(key, V.text(value), catalogue):
            chosen = self.value_map.get(key, {}).get(L.folded(item))
            target = chosen if chosen is not None else L.exact(catalogue, item)
            if target is None:
                found = L.suggest(catalogue, item, limit=1)
                hint = (" " + _("Closest: {choice}.").format(choice=found[0].label)
                        if found and found[0].score >= 0.6 else "")
                self._problem(out, key, item, "not_mapped", _("“{value}” is not one of the choices for {field}: "
                                                             "map it to one.").format(
                    value=item, field=_(F.BY_KEY[key].label)) + hint)
                continue
            if target and target not in targets:
                targets.append(target)
        return targets

    def parse(self, raw: RawRow) -> _Parsed:
        out = _Parsed(raw.number, "new")
        cells: dict[str, Any] = {}
        for key, value, index in _with_constants(raw, self.mapping):
            if index is not None and index in raw.missing:
                self._problem(out, key, value, "formula", _(
                    "the formula in this cell has no computed value: open the file in Excel, let it "
                    "calculate, save it and import it again"))
                continue
            cells[key] = value
        if self._skippable(raw, cells):
            out.status, out.problems = "skipped", []
            out.title = V.text(cells.get("title"))[:120]
            return out
        v = ActivityInput(plan_id=self.request.plan_id, date_start=None, form_id=None, title="")
        form_code = ""
        subtype_text_given = False
        reach: dict[str, dict[str, int]] = {}
        for key, value in cells.items():
            spec = F.BY_KEY[key]
            try:
                if spec.kind == "date":
                    first, last = V.dates(value)
                    if key == "date_start":
                        v.date_start = first
                        if last is not None and "date_end" not in cells:
                            v.date_end = last
                    else:
                        v.date_end = first
                elif spec.kind == "int":
                    amount = V.whole(value)
                    if key.startswith("reach."):
                        _reach, dim, cat = key.split(".")
                        if amount:
                            reach.setdefault(dim, {})[cat] = amount
                    else:
                        setattr(v, key, amount)
                elif spec.kind in ("text", "longtext"):
                    V.check_error(value)
                    setattr(v, key, V.text(value, multiline=spec.kind == "longtext"))
                elif spec.kind == "uuid":
                    text = V.text(value).lower()
                    out.uuid = text if _UUID.match(text) else ""
                elif key == "form":
                    V.check_error(value)
                    got = self._lookup(out, key, value)
                    form_code = got[0] if got else ""
                    v.form_id = self.lookups.form_ids.get(form_code)
                elif key == "subtype":
                    V.check_error(value)
                    got = self._lookup(out, key, value)
                    if got:
                        v.subtype, subtype_text_given = got[0], True
                elif key == "place":
                    V.check_error(value)
                    got = self._lookup(out, key, value)
                    v.place_id = int(got[0]) if got else None
                elif key == "objectives":
                    V.check_error(value)
                    v.node_ids = [self.lookups.node_ids[c] for c in self._lookup(out, key, value)]
                elif key == "programmes":
                    V.check_error(value)
                    v.programme_ids = [self.lookups.programme_ids[c] for c in self._lookup(out, key, value)]
                elif key == "languages":
                    V.check_error(value)
                    v.languages = self._lookup(out, key, value) or (["vi"] if V.is_blank(value) else [])
                elif key == "funding":
                    V.check_error(value)
                    got = self._lookup(out, key, value)
                    v.funding = got[0] if got else ""
            except V.CellError as exc:
                self._problem(out, key, value, exc.code, str(exc))
        if not subtype_text_given:
            v.subtype = DEFAULT_SUBTYPE_FOR_FORM.get(form_code, "other")
        v.reach = ReachBreakdown(reach)
        if reach and not v.reach_total:  # only the breakdown was written: its largest sum
            v.reach_total = max(sum(c.values()) for c in reach.values())
        if v.cost == 0 and v.funding == "none":
            v.funding = ""
        v = activity_service._clean(v)
        out.value, out.title, out.title_fold = v, v.title, fold(v.title)
        out.identity = self._identity(cells, v, out.title_fold)
        if "form" in cells and V.is_blank(cells.get("form")) and not any(p.field == "form" for p in out.problems):
            self._problem(out, "form", "", "invalid", _("Choose the communication form."))
        self._validate(out, v)
        if out.problems:
            out.status = "error"
        return out

    def _skippable(self, raw: RawRow, cells: dict[str, Any]) -> bool:
        """A row of totals, or a heading inside the log ("Quý I", "Tháng 3"): not an activity."""
        day = cells.get("date_start")
        if not V.is_blank(day):
            try:
                if V.dates(day)[0] is not None:
                    return False
            except V.CellError:
                pass
        filled = [v for v in raw.values if not V.is_blank(v)]
        if any(isinstance(v, str) and len(v) <= 20 and L.folded(v).strip(" :.") in F.TOTAL_WORDS for v in filled):
            return True
        return V.is_blank(day) and len(filled) == 1 and isinstance(filled[0], str)

    def _identity(self, cells: dict[str, Any], v: ActivityInput, title_fold: str) -> tuple[str, ...]:
        def text_key(key: str) -> str:
            value = cells.get(key)
            return L.folded(V.text(value)) if not V.is_blank(value) else ""

        day = v.date_start.isoformat() if v.date_start else text_key("date_start")
        return (day, text_key("form"), title_fold or text_key("title"), text_key("place"))

    def _validate(self, out: _Parsed, v: ActivityInput) -> None:
        known = {p.field for p in out.problems}
        for e in validate_activity(v, self.lookups.plan_start, self.lookups.plan_end, self.today):
            key = e.field.split(".")[0]
            if key in known or (e.field == "form_id" and "form" in known) or (
                    e.field == "date_start" and "date_start" in known):
                continue  # the cell's own reason says it
            self._add_field_error(out, e)
        if v.place_id is not None and v.date_start is not None:
            place = self.lookups.places.get(v.place_id)
            if place is not None and not ((place.valid_from is None or place.valid_from <= v.date_start)
                                          and (place.valid_to is None or v.date_start <= place.valid_to)):
                self._problem(out, "place", place.name, "place_dates", _(
                    "{name} did not exist as a unit on {day}.").format(name=place.name,
                                                                        day=format_date(v.date_start)))
        self.check_period(out, v)

    def check_period(self, out: _Parsed, v: ActivityInput) -> None:
        """A row dated in a submitted, approved or locked period cannot be imported."""
        if v.date_start is not None and any(a <= v.date_start <= b for a, b in self.frozen):
            message = self.frozen_messages.get(v.date_start)
            if message is None:
                try:
                    check_editable(self.session, self.request.plan_id, [v.date_start])
                    message = ""
                except PeriodLockedError as exc:
                    message = str(exc)
                self.frozen_messages[v.date_start] = message
            if message:
                self._problem(out, "date_start", format_date(v.date_start), "locked", message)

    def _add_field_error(self, out: _Parsed, e: FieldError) -> None:
        names = {"form_id": "form", "place_id": "place", "node_ids": "objectives", "programme_ids": "programmes"}
        key = names.get(e.field, e.field)
        if key.startswith("reach."):
            dim = key.split(".")[1]
            column = next((self.letters[k] for k in self.letters if k.startswith(f"reach.{dim}.")), "")
            out.problems.append(RowProblem(key, column, "", "invalid", e.message))
            return
        out.problems.append(RowProblem(key, self.letters.get(key, ""), "", "invalid", e.message))

    def keyed(self, parsed: _Parsed) -> None:
        """The row's key: file, sheet, identity and its occurrence among identical rows."""
        base = json.dumps([self.file_key, self.sheet_key, *parsed.identity], ensure_ascii=False)
        n = self.occurrences.get(base, 0) + 1
        self.occurrences[base] = n
        parsed.key = hashlib.sha256(f"{base}#{n}".encode()).hexdigest()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


# --- checking rows against the database ------------------------------------------------------


def _check_batch(s: Session, batch: list[_Parsed], include_duplicates: bool,
                 written: set[int] | None = None) -> None:
    """Mark rows imported before, rows whose identifier is in the register, likely duplicates."""
    live = [p for p in batch if p.status in ("new", "error")]
    keys = [p.key for p in live]
    before = {row.row_key: row for row in s.scalars(select(SheetSource).where(SheetSource.row_key.in_(keys)))} \
        if keys else {}
    if before:
        ids = [row.activity_id for row in before.values()]
        deleted = set(s.scalars(select(Activity.id).where(Activity.id.in_(ids), Activity.deleted_at.is_not(None))))
        for p in live:
            row = before.get(p.key)
            if row is None:
                continue
            p.status = "already"
            when = format_date(row.imported_at.date())
            p.note = _("imported on {date} from {file}, row {row}").format(
                date=when, file=row.file_name, row=row.row_number)
            if row.activity_id in deleted:
                p.note += " " + _("(since moved to the recycle bin)")
            p.problems = []
    uuids = [p.uuid for p in batch if p.status in ("new", "error") and p.uuid]
    if uuids:
        found = dict(s.execute(select(Activity.uuid, Activity.id).where(Activity.uuid.in_(uuids))).tuples().all())
        for p in batch:
            if p.status in ("new", "error") and p.uuid in found:
                p.status = "in_register"
                p.note = _("this activity is already in the register (#{id})").format(id=found[p.uuid])
                p.problems = []
    fresh = [p for p in batch if p.status == "new" and p.value is not None and p.value.date_start is not None]
    if not fresh:
        return
    days = sorted({p.value.date_start for p in fresh if p.value and p.value.date_start})
    titles = sorted({p.title_fold for p in fresh})
    existing: dict[tuple[Any, ...], list[tuple[int, int | None]]] = {}
    for k in range(0, len(days), 400):  # through the (date, form, title) index
        for aid, day, form_id, title_fold, place_id in s.execute(
                select(Activity.id, Activity.date_start, Activity.form_id, Activity.title_fold, Activity.place_id)
                .where(Activity.date_start.in_(days[k:k + 400]), Activity.title_fold.in_(titles),
                       Activity.deleted_at.is_(None), is_own())):
            if written is None or aid not in written:
                existing.setdefault((day, form_id, title_fold), []).append((aid, place_id))
    for p in fresh:
        assert p.value is not None
        same = [aid for aid, place in existing.get((p.value.date_start, p.value.form_id, p.title_fold), [])
                if place == p.value.place_id]
        if same:
            p.status = "duplicate"
            p.note = _("an activity with the same date, form, title and place is already in the register "
                       "(#{id})").format(id=same[0])
            if include_duplicates:
                p.note += " " + _("— imported all the same, as asked")


def _scan(s: Session, info: SourceInfo, request: ImportRequest, lookups: L.Lookups,
          progress: Progress | None, cancelled: Cancelled | None,
          written: set[int] | None = None) -> Iterator[list[_Parsed]]:
    """The sheet's rows, parsed, keyed and checked, in batches.  ``written``: the activities the
    import has written so far (a row is no duplicate of an earlier row of the same file)."""
    reader = _Reader(s, info, request, lookups)
    batch: list[_Parsed] = []
    for raw in _data_rows(info, request, progress, cancelled):
        if raw.is_blank():
            batch.append(_Parsed(raw.number, "blank"))
            continue
        parsed = reader.parse(raw)
        if parsed.status != "skipped":
            reader.keyed(parsed)
        batch.append(parsed)
        if len(batch) >= BATCH:
            _check_batch(s, batch, request.include_duplicates, written)
            yield batch
            batch = []
    if batch:
        _check_batch(s, batch, request.include_duplicates, written)
        yield batch


def _outcome(p: _Parsed) -> RowOutcome:
    note = p.note
    if p.status == "skipped" and not note:
        note = _("a heading or totals row, not an activity")
    return RowOutcome(p.row, p.status, p.title, tuple(p.problems), note)


def _place_name(lookups: L.Lookups, place_id: int | None) -> str:
    place = lookups.places.get(place_id) if place_id is not None else None
    return place.name if place else ""


def _prepare(db: Database, request: ImportRequest) -> tuple[SourceInfo, L.Lookups, str]:
    info = open_source(request.path, request.options)
    request.sheet = info.sheet(request.sheet).name
    check_mapping(request.mapping)
    check_size(info, request.sheet, request.mapping.data_start)
    lookups, plan_uuid = _plan_facts(db, request.plan_id)
    return info, lookups, plan_uuid


@dataclass(frozen=True)
class _Prepared:
    sha256: str
    request_key: str
    lookups_key: str
    rows: list[_Parsed]


def _request_key(request: ImportRequest) -> str:
    m = request.mapping
    return json.dumps([str(Path(request.path).resolve()), request.sheet, request.plan_id, sorted(m.columns.items()),
                       sorted(m.constants.items()), m.header_row, m.header_rows, m.data_start,
                       {k: sorted(v.items()) for k, v in sorted(request.value_map.items())},
                       request.options.encoding, request.options.delimiter], ensure_ascii=False, default=str)


def _lookups_key(lookups: L.Lookups) -> str:
    places = sorted((p.id, p.name, str(p.valid_from), str(p.valid_to)) for p in lookups.places.values())
    return hashlib.sha256(json.dumps([lookups.plan_start, lookups.plan_end, sorted(lookups.form_ids.items()),
                                      sorted(lookups.node_ids.items()), sorted(lookups.programme_ids.items()),
                                      places], ensure_ascii=False).encode()).hexdigest()


@_reading_once
def dry_run(db: Database, request: ImportRequest, *, progress: Progress | None = None,
            cancelled: Cancelled | None = None) -> DryRun:
    """What importing would do, row by row; changes nothing.  Raises for a file or mapping that
    cannot be imported at all (:class:`SheetFileError`, :class:`MappingError`)."""
    require(db, Perm.EDIT_ACTIVITIES)
    info, lookups, _plan_uuid = _prepare(db, request)
    counts = {status: 0 for status in (*STATUSES, "blank")}
    outcomes: list[RowOutcome] = []
    sample: list[RowPreview] = []
    left_out = 0
    kept: list[_Parsed] = []
    keep = True
    with db.read() as s:
        for batch in _scan(s, info, request, lookups, progress, cancelled):
            for p in batch:
                counts[p.status] += 1
                if p.status == "blank":
                    continue
                if keep and p.status in ("new", "duplicate"):
                    kept.append(p)
                    keep = len(kept) <= REUSE_ROWS
                    if not keep:
                        kept = []
                importable = p.status == "new" or (p.status == "duplicate" and request.include_duplicates)
                if importable and len(sample) < 50 and p.value is not None and p.value.date_start:
                    sample.append(RowPreview(p.row, p.value.date_start, _form_code(lookups, p.value.form_id),
                                             p.title, _place_name(lookups, p.value.place_id), p.value.subtype,
                                             tuple(p.value.languages)))
                if p.status != "new":
                    if len(outcomes) < MAX_OUTCOMES:
                        outcomes.append(_outcome(p))
                    else:
                        left_out += 1
    prepared = _Prepared(info.sha256, _request_key(request), _lookups_key(lookups), kept) if keep else None
    return DryRun(info, request.sheet or "", counts, outcomes, sample, left_out, request.include_duplicates,
                  prepared)


def _form_code(lookups: L.Lookups, form_id: int | None) -> str:
    return lookups.form_codes.get(form_id, "") if form_id is not None else ""


# --- importing -------------------------------------------------------------------------------


def _snapshot(v: ActivityInput, lookups: L.Lookups, node_codes: dict[int, str],
              programme_codes: dict[int, str]) -> dict[str, object]:
    """What ``activities._snapshot`` records of a new activity, from the values written."""
    return {
        "date_start": v.date_start.isoformat() if v.date_start else None,
        "date_end": v.date_end.isoformat() if v.date_end and v.date_end != v.date_start else None,
        "form": _form_code(lookups, v.form_id), "subtype": v.subtype, "title": v.title,
        "description": v.description, "place": _place_name(lookups, v.place_id) or None,
        "languages": " ".join(v.languages), "items": v.items, "minutes": v.minutes, "sessions": v.sessions,
        "reach_total": v.reach_total, "partner": v.partner, "cost": v.cost, "funding": v.funding,
        "notes": v.notes, "objectives": sorted(node_codes[n] for n in v.node_ids),
        "programmes": sorted(programme_codes[p] for p in v.programme_ids),
        "reach": {f"{dim}.{cat}": n for dim, cats in sorted(v.reach.values.items())
                  for cat, n in sorted(cats.items()) if n},
        "attachments": [],
    }


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


class _Writer:
    """Writes batches of new activities with a few statements per table, and their audit entries
    chained exactly as ``audit.record`` chains them."""

    def __init__(self, s: Session, db: Database, info: SourceInfo, sheet: str, lookups: L.Lookups) -> None:
        self.s, self.info, self.sheet, self.lookups = s, info, sheet, lookups
        self.actor = db.actor or require(db, Perm.EDIT_ACTIVITIES)
        self.now = utcnow()
        self.prev = s.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar() or audit.GENESIS
        self.node_codes = {i: c for c, i in lookups.node_ids.items()}
        self.programme_codes = {i: c for c, i in lookups.programme_ids.items()}
        self.added = 0
        self.ids: set[int] = set()  # the activities this import wrote (not duplicates of themselves)

    def write(self, parsed: list[_Parsed]) -> None:
        if not parsed:
            return
        s, now = self.s, self.now
        rows_: list[dict[str, Any]] = []
        for p in parsed:
            v = p.value
            assert v is not None
            rows_.append({
                "uuid": new_uuid(), "version": 1, "created_at": now, "updated_at": now, "deleted_at": None,
                "plan_id": v.plan_id, "form_id": v.form_id, "subtype": v.subtype, "date_start": v.date_start,
                "date_end": None if v.date_end == v.date_start else v.date_end,
                "title": v.title, "title_fold": p.title_fold, "title_sort": vi_sort_key(v.title),
                "description": v.description, "partner": v.partner, "notes": v.notes, "place_id": v.place_id,
                "languages": " ".join(v.languages), "items": v.items, "minutes": v.minutes,
                "sessions": v.sessions, "reach_total": v.reach_total, "cost": v.cost, "funding": v.funding,
                "search_text": activity_service._search_text(v), "origin_id": None, "origin_report_id": None})
        by_uuid = insert_many(s, rows_)  # Core, many rows a statement: no ORM bookkeeping per row
        ids = [by_uuid[r["uuid"]] for r in rows_]
        self.ids.update(ids)
        nodes: list[tuple[int, int]] = []
        programmes: list[tuple[int, int]] = []
        reach: list[tuple[int, str, str, int]] = []
        sources: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for p, row, activity_id in zip(parsed, rows_, ids, strict=True):
            v = p.value
            assert v is not None
            nodes += [(activity_id, n) for n in v.node_ids]
            programmes += [(activity_id, x) for x in v.programme_ids]
            reach += [(activity_id, dim, cat, n) for dim, cats in v.reach.values.items() for cat, n in cats.items() if n]
            sources.append({"activity_id": activity_id, "row_key": p.key, "file_name": self.info.name,
                            "sheet": self.sheet, "row_number": p.row, "file_sha256": self.info.sha256,
                            "imported_at": now})
            snapshot = _snapshot(v, self.lookups, self.node_codes, self.programme_codes)
            changes = {k: [None, x] for k, x in snapshot.items() if x not in (None, "", 0, [], {})}
            changes["source"] = [None, _source_text(self.info.name, self.sheet, p.row, self.info.kind)]
            entries.append(self._entry(row["uuid"], v.title, changes))
        insert_links(s, nodes, programmes, reach)
        connection = s.connection()
        for model, values in ((SheetSource, sources), (AuditEntry, entries)):
            connection.execute(_table(model).insert(), values)
        self.added += len(parsed)

    def _entry(self, entity_uuid: str, summary: str, changes: dict[str, Any]) -> dict[str, Any]:
        fields = {
            "at": self.now, "username": self.actor.username, "full_name": self.actor.full_name, "action": "create",
            "entity": "activity", "entity_uuid": entity_uuid, "summary": summary,
            "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True, default=audit._json_default),
            "prev_hash": self.prev,
        }
        digest = hashlib.sha256(audit._canonical(types.SimpleNamespace(**fields))).hexdigest()  # type: ignore[arg-type]
        self.prev = digest
        return {**fields, "hash": digest}


def _source_text(file: str, sheet: str, row: int, kind: str) -> str:
    if kind == "csv":
        return _("{file}, row {row}").format(file=file, row=row)
    return _("{file}, sheet {sheet}, row {row}").format(file=file, sheet=sheet, row=row)


@_reading_once
def _reusable(dry: DryRun | None, info: SourceInfo, request: ImportRequest, lookups: L.Lookups) -> _Prepared | None:
    prepared = dry._prepared if dry is not None else None
    if prepared is None or prepared.sha256 != info.sha256 or prepared.request_key != _request_key(request):
        return None
    return prepared if prepared.lookups_key == _lookups_key(lookups) else None


def _again(s: Session, db_rows: list[_Parsed], reader: _Reader, include_duplicates: bool,
           written: set[int]) -> list[_Parsed]:
    """The dry run's rows, checked again against the database as it is now, in this transaction."""
    batch = []
    for p in db_rows:
        again = _Parsed(p.row, "new", p.title, [], p.value, p.identity, p.uuid, "", p.key, p.title_fold)
        assert again.value is not None
        reader.check_period(again, again.value)
        if again.problems:
            again.status = "error"
        batch.append(again)
    _check_batch(s, batch, include_duplicates, written)
    return batch


def apply_import(db: Database, request: ImportRequest, *, dry_run: DryRun | None = None,
                 expected_sha256: str | None = None, remember_choices: bool = True,
                 progress: Progress | None = None, cancelled: Cancelled | None = None) -> ImportResult:
    """Import the sheet's good rows in one transaction, with every check of the dry run made
    again.  ``dry_run``: the dry run the person saw; its rows are reused when the file, the
    choices and the plan's lists are unchanged since (the checks against the register are made
    again), and the file must be the one it read.  ``expected_sha256``: the same check without
    a dry run at hand.  The mapping and the values chosen are remembered for the next import."""
    actor = require(db, Perm.EDIT_ACTIVITIES)
    prepared = None
    if dry_run is not None and dry_run._prepared is not None:
        # the dry run read the file: only make sure it is the same file, without opening it again
        info = dry_run.source
        request.sheet = request.sheet or dry_run.sheet
        check_mapping(request.mapping)
        if file_sha256(Path(request.path)) != info.sha256:
            raise UserError(_("{file} changed since the dry run: look at the dry run again before importing.").format(
                file=info.name))
        lookups, plan_uuid = _plan_facts(db, request.plan_id)
        prepared = _reusable(dry_run, info, request, lookups)
    if prepared is None:
        info, lookups, plan_uuid = _prepare(db, request)
    expected = expected_sha256 or (dry_run.sha256 if dry_run is not None else None)
    if expected and expected != info.sha256:
        raise UserError(_("{file} changed since the dry run: look at the dry run again before importing.").format(
            file=info.name))
    sheet = request.sheet or ""
    counts = {status: 0 for status in (*STATUSES, "blank")}
    will_add = dry_run.to_import if dry_run is not None else 1
    safety = backup.before(db, "sheet-import") if will_add else None  # as before any import
    with db.write() as s:
        writer = _Writer(s, db, info, sheet, lookups)
        if prepared is not None and dry_run is not None:
            for status in ("error", "already", "in_register", "skipped", "blank"):
                counts[status] = dry_run.counts[status]
            reader = _Reader(s, info, request, lookups)
            batches: Iterator[list[_Parsed]] = (
                _again(s, prepared.rows[k:k + BATCH], reader, request.include_duplicates, writer.ids)
                for k in range(0, len(prepared.rows), BATCH))
        else:
            batches = _scan(s, info, request, lookups, progress, cancelled, writer.ids)
        done = 0
        for batch in batches:
            good = []
            done += len(batch)
            if progress is not None and prepared is not None:
                progress(done, len(prepared.rows))
            for p in batch:
                counts[p.status] += 1
                if p.status == "new" or (p.status == "duplicate" and request.include_duplicates):
                    good.append(p)
            if cancelled is not None and cancelled():
                raise ImportCancelled(_("Cancelled: nothing was imported."))
            writer.write(good)
        added = writer.added
        message = _import_message(info, sheet, added, counts, request.include_duplicates)
        if added:
            audit.record(s, actor, "import", entity="register", summary=message, at=writer.now, changes={
                "file": [None, info.name], "sheet": [None, sheet], "sha256": [None, info.sha256],
                "added": [None, added], "errors": [None, counts["error"]],
                "already": [None, counts["already"] + counts["in_register"]],
                "duplicates": [None, counts["duplicate"]]})
        if remember_choices:
            remember(s, request.mapping, plan_uuid, request.value_map)
        s.expire_all()
    forget()  # done: the rows read need not be kept
    return ImportResult(info.name, sheet, added, counts, message, tuple(sorted(writer.ids)), safety)


def undo_import(db: Database, result: ImportResult) -> int:
    """Move the activities an import added to the recycle bin (each audited, each restorable),
    for an import that should not have been made; returns how many were moved."""
    return activity_service.delete(db, list(result.activity_ids))


def _import_message(info: SourceInfo, sheet: str, added: int, counts: dict[str, int], with_duplicates: bool) -> str:
    parts = [_("{file}: {n} activities imported").format(
        file=info.name if info.kind == "csv" else f"{info.name} ({sheet})", n=format_number(added))]
    if counts["already"] + counts["in_register"]:
        parts.append(_("{n} already in the register").format(
            n=format_number(counts["already"] + counts["in_register"])))
    if counts["duplicate"] and not with_duplicates:
        parts.append(_("{n} left out as likely duplicates").format(n=format_number(counts["duplicate"])))
    if counts["error"]:
        parts.append(_("{n} rows with errors not imported").format(n=format_number(counts["error"])))
    return ", ".join(parts) + "."


# --- where an activity came from -------------------------------------------------------------


@dataclass(frozen=True)
class SourceMark:
    file_name: str
    sheet: str
    row: int
    imported_at: datetime

    def describe(self) -> str:
        if not self.sheet or self.sheet == self.file_name:
            return _source_text(self.file_name, self.sheet, self.row, "csv")
        return _source_text(self.file_name, self.sheet, self.row, "xlsx")


def source_of(db: Database, activity_id: int) -> SourceMark | None:
    """The spreadsheet row an activity was imported from, if it was."""
    with db.read() as s:
        row = s.scalar(select(SheetSource).where(SheetSource.activity_id == activity_id).limit(1))
        return SourceMark(row.file_name, row.sheet, row.row_number, row.imported_at) if row else None


def sources(db: Database, activity_ids: list[int]) -> dict[int, SourceMark]:
    """The same for many activities at once (a register page)."""
    out: dict[int, SourceMark] = {}
    with db.read() as s:
        for k in range(0, len(activity_ids), 900):
            for row in s.scalars(select(SheetSource).where(SheetSource.activity_id.in_(activity_ids[k:k + 900]))):
                out[row.activity_id] = SourceMark(row.file_name, row.sheet, row.row_number, row.imported_at)
    return out
