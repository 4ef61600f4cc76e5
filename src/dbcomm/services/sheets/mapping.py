"""Finding the header and mapping columns to the register's fields.

The header is the row, among the first ones, whose cells look most like known column names
(a title or the office's letterhead above it is passed over).  A second header row under cells
merged across several columns ("Số người tham dự" over "Nam", "Nữ") is joined to the first; a
row of column numbers ("(1)", "(2)", …) under the header is skipped.  Each column is then
proposed a field by its name — Vietnamese or English, with or without diacritics — checked
against what the column holds (a date field wants dates).  A mapping the person confirmed is
remembered by column name for the next file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

from dbcomm.domain.text import fold
from dbcomm.errors import UserError
from dbcomm.i18n import _
from dbcomm.services.sheets import fields as F
from dbcomm.services.sheets import values as V
from dbcomm.services.sheets.reading import HEADER_SCAN_ROWS, RawRow, SourceInfo, first_rows
from dbcomm.store.engine import Database

MEMORY_KEY = "sheets.memory"
MATCH_SCORE = 0.6
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_DATE_SHAPE = re.compile(r"^\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}$")
_COLUMN_NUMBER = re.compile(r"^\(?\s*(\d{1,2}|[A-Za-z])\s*\)?$")


class MappingError(UserError):
    """The columns chosen cannot be imported as they are (a column or field used twice, a
    required field missing): nothing was imported."""


@dataclass(frozen=True)
class ColumnInfo:
    index: int  # 0-based
    letter: str  # A, B, … AA
    header: str  # as read; two header rows are joined: "Số người tham dự – Nữ"
    names: tuple[str, ...]  # the texts its field is recognised by (child, parent + child, parent)
    samples: tuple[str, ...]  # its first values, as shown
    kind: str  # what it mostly holds: "date", "number", "text", "uuid" or "" (nothing yet)


@dataclass(frozen=True)
class SheetPreview:
    source: SourceInfo
    sheet: str
    header_row: int  # 1-based
    header_rows: int  # 1, or 2 when a second row sits under merged cells
    data_start: int  # the first row of data
    columns: list[ColumnInfo]
    rows: list[tuple[int, list[str]]]  # the first data rows: (row number, values as shown)
    rows_estimate: int | None  # the sheet's claimed size (may be wrong)


@dataclass
class ColumnMapping:
    """Which column holds which field.  ``columns``: field key → 0-based column index.
    ``constants``: a value for every row of a field the sheet has no column for (the form of a log
    of loudspeaker broadcasts only), as the person would type it in a cell."""

    columns: dict[str, int]
    constants: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    header_rows: int = 1
    data_start: int = 2
    headers: list[str] = field(default_factory=list)  # each column's header, to remember the mapping
    scores: dict[str, float] = field(default_factory=dict)  # field → how sure the proposal is (0–1)
    remembered: set[str] = field(default_factory=set)  # fields proposed from an earlier import


# --- reading the header ----------------------------------------------------------------------


def _kind(value: Any) -> str:
    if V.is_blank(value):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "serial" if float(value).is_integer() and 32874 <= value <= 73050 else "number"
    if not isinstance(value, str):
        return "date" if hasattr(value, "year") else "text"
    text = value.strip()
    if _UUID.match(text):
        return "uuid"
    if re.search(r"\d", text):
        if _DATE_SHAPE.match(text):
            return "date"  # a date, or a mistyped one ("31/02/2024"): the column holds dates
        try:
            V.dates(text)
            return "date"
        except V.CellError:
            pass
        try:
            V.number(text)
            return "number"
        except V.CellError:
            pass
    return "text"


def _names_score(spec: F.FieldSpec, names: tuple[str, ...]) -> float:
    best = 0.0
    for position, text in enumerate(names):
        weight = 1.0 if position < 2 else 0.8  # a parent header alone counts for less
        exact_key, folded = F.nfc_key(text), fold(text)
        if not folded:
            continue
        for name in F.header_names(spec):
            score = 0.0
            if F.nfc_key(name) == exact_key:
                score = 1.0
            elif fold(name) == folded:
                # "Năm" (year) is not "Nam" (men): diacritics written differently do not match
                score = 0.9 if text.isascii() else 0.3
            else:
                key = fold(name)
                if len(key) >= 4 and re.search(rf"(^|\W){re.escape(key)}($|\W)", folded):
                    score = 0.6 + 0.3 * len(key) / len(folded)
            best = max(best, score * weight)
    return best


def _is_header_like(row: RawRow) -> tuple[int, int, int]:
    """(cells matching a known column name, text cells, date or number cells)."""
    matches = texts = others = 0
    for value in row.values:
        kind = _kind(value)
        if kind == "text":
            texts += 1
            names = (V.text(value),)
            if any(_names_score(spec, names) >= MATCH_SCORE for spec in F.FIELDS):
                matches += 1
        elif kind:
            others += 1
    return matches, texts, others


def _find_header(head: list[RawRow]) -> int:
    best_index, best_score = 0, float("-inf")
    for i, row in enumerate(head):
        matches, texts, others = _is_header_like(row)
        if texts < 2:
            continue
        score = 3 * matches + texts - 2 * others
        if score > best_score:
            best_index, best_score = i, score
    return best_index


def _is_sub_header(parent: RawRow, row: RawRow) -> bool:
    kinds = [_kind(v) for v in row.values]
    if not any(k == "text" for k in kinds) or any(k in ("date", "serial", "uuid") for k in kinds):
        return False
    if sum(1 for k in kinds if k == "number") > 0:
        return False
    under_empty = [i for i, k in enumerate(kinds)
                   if k == "text" and (i >= len(parent.values) or V.is_blank(parent.values[i]))]
    return bool(under_empty)


def _is_column_numbers(row: RawRow) -> bool:
    cells = [V.shown(v).strip() for v in row.values if not V.is_blank(v)]
    return len(cells) >= 2 and all(_COLUMN_NUMBER.match(c) for c in cells)


def _headers(parent: RawRow, child: RawRow | None, width: int) -> list[tuple[str, tuple[str, ...]]]:
    def cell(row: RawRow | None, i: int) -> str:
        if row is None or i >= len(row.values):
            return ""
        return V.text(row.values[i])

    out: list[tuple[str, tuple[str, ...]]] = []
    for i in range(width):
        top, low = cell(parent, i), cell(child, i)
        if not top and low:
            # under cells merged across: the nearest header to the left, if every column between
            # has its own second-row header (one merged span)
            j = i - 1
            while j >= 0 and not cell(parent, j) and cell(child, j):
                j -= 1
            if j >= 0 and cell(child, j):
                top = cell(parent, j)
        if low:
            names = (low, f"{top} {low}".strip(), top) if top else (low,)
            out.append((f"{top} – {low}" if top else low, tuple(n for n in names if n)))
        else:
            out.append((top, (top,) if top else ()))
    return out


def preview(info: SourceInfo, sheet: str | None = None, *, header_row: int | None = None,
            header_rows: int | None = None, n: int = 20) -> SheetPreview:
    """The sheet's header (found, or as the person says) and its first ``n`` data rows."""
    name = info.sheet(sheet).name
    head = first_rows(info, name, HEADER_SCAN_ROWS + n + 3)
    if not head or all(r.is_blank() for r in head):
        return SheetPreview(info, name, header_row or 1, 1, (header_row or 1) + 1, [], [],
                            info.sheet(name).rows_estimate)
    if header_row is None:
        h = _find_header(head[:HEADER_SCAN_ROWS])
    else:
        h = min(max(header_row - 1, 0), len(head) - 1)
    parent = head[h]
    rows_below = head[h + 1:]
    if header_rows is None:
        header_rows = 2 if rows_below and _is_sub_header(parent, rows_below[0]) else 1
    child = rows_below[0] if header_rows == 2 and rows_below else None
    data_index = h + header_rows
    if data_index < len(head) and _is_column_numbers(head[data_index]):
        data_index += 1
    data = [r for r in head[data_index:] if not r.is_blank()][:n]
    width = max([len(r.values) for r in head[h:data_index + n]] or [0])
    while width > 0 and all(
            len(r.values) < width or V.is_blank(r.values[width - 1]) for r in head[h:data_index + n]):
        width -= 1
    columns = []
    for i, (header, names) in enumerate(_headers(parent, child, width)):
        values = [r.values[i] for r in data if i < len(r.values) and not V.is_blank(r.values[i])]
        kinds = [_kind(v) for v in values]
        kind = ""
        if kinds:
            counts = {k: kinds.count(k) for k in set(kinds)}
            if "serial" in counts:  # whole numbers in the range of Excel's dates: dates or numbers
                joined = "date" if counts.get("date", 0) >= counts.get("number", 0) else "number"
                counts[joined] = counts.get(joined, 0) + counts.pop("serial")
            priority = ("date", "uuid", "number", "text")
            kind = max(counts, key=lambda k: (counts[k], -priority.index(k)))
        columns.append(ColumnInfo(i, get_column_letter(i + 1), header, names,
                                  tuple(V.shown(v) for v in values[:5]), kind))
    shown_rows = [(r.number, [V.shown(v) for v in r.values[:width]]) for r in data]
    return SheetPreview(info, name, parent.number, header_rows, head[data_index].number if data_index < len(head)
                        else parent.number + header_rows, columns, shown_rows, info.sheet(name).rows_estimate)


# --- proposing a mapping ---------------------------------------------------------------------


def _compatible(spec: F.FieldSpec, kind: str) -> float:
    if not kind:
        return 1.0
    if spec.kind == "date":
        return 1.0 if kind in ("date", "serial") else 0.7
    if spec.kind == "int":
        return 1.0 if kind in ("number", "serial") else 0.7
    if spec.kind == "uuid":
        return 1.0 if kind == "uuid" else 0.3
    return 0.7 if kind in ("date", "uuid") else 1.0


def _memory(db: Database) -> dict[str, Any]:
    from dbcomm.services import settings

    data = settings.get_value(db, MEMORY_KEY, {}) or {}
    return data if isinstance(data, dict) else {}


def propose_mapping(db: Database, pv: SheetPreview) -> ColumnMapping:
    """A field for each column dbcomm recognises; columns it does not know stay unmapped."""
    remembered_headers: dict[str, str] = _memory(db).get("headers", {})
    candidates: list[tuple[float, int, str, bool]] = []
    for col in pv.columns:
        if not col.names and not col.samples:
            continue
        remembered = remembered_headers.get(F.nfc_key(col.header)) if col.header else None
        for spec in F.FIELDS:
            if remembered == spec.key:
                candidates.append((1.2, col.index, spec.key, True))
                continue
            score = _names_score(spec, col.names) * _compatible(spec, col.kind)
            if score >= MATCH_SCORE:
                candidates.append((score, col.index, spec.key, False))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    mapping = ColumnMapping({}, header_row=pv.header_row, header_rows=pv.header_rows, data_start=pv.data_start,
                            headers=[c.header for c in pv.columns])
    used: set[int] = set()
    for score, index, key, from_memory in candidates:
        if key in mapping.columns or index in used:
            continue
        mapping.columns[key] = index
        mapping.scores[key] = min(score, 1.0)
        if from_memory:
            mapping.remembered.add(key)
        used.add(index)
    if "date_start" not in mapping.columns:  # no date header: the first column of dates
        for col in pv.columns:
            if col.index not in used and col.kind == "date":
                mapping.columns["date_start"] = col.index
                mapping.scores["date_start"] = MATCH_SCORE
                break
    return mapping


def mapping_from_columns(pv: SheetPreview, chosen: dict[int, str | None],
                         constants: dict[str, str] | None = None) -> ColumnMapping:
    """The mapping the person chose column by column (column index → field key or None).
    A field chosen for two columns is refused with :class:`MappingError`."""
    columns: dict[str, int] = {}
    for index, key in sorted(chosen.items()):
        if not key:
            continue
        if key in columns:
            raise MappingError(_double_field(pv.columns, key, columns[key], index))
        columns[key] = index
    mapping = ColumnMapping(columns, dict(constants or {}), pv.header_row, pv.header_rows, pv.data_start,
                            [c.header for c in pv.columns])
    check_mapping(mapping, len(pv.columns))
    return mapping


def _column_name(columns: list[ColumnInfo] | list[str], index: int) -> str:
    letter = get_column_letter(index + 1)
    header = ""
    if 0 <= index < len(columns):
        item = columns[index]
        header = item.header if isinstance(item, ColumnInfo) else item
    return f"{letter} “{header}”" if header else letter


def _double_field(columns: list[ColumnInfo] | list[str], key: str, first: int, second: int) -> str:
    return _("{field} is mapped to two columns, {first} and {second}: choose one of them.").format(
        field=_(F.BY_KEY[key].label), first=_column_name(columns, first), second=_column_name(columns, second))


def check_mapping(mapping: ColumnMapping, width: int | None = None) -> None:
    """Refuse a mapping that cannot be imported: an unknown field, a column outside the sheet, a
    column mapped twice, a required field with neither a column nor a value for every row."""
    problems = []
    for key in list(mapping.columns) + list(mapping.constants):
        if key not in F.BY_KEY:
            problems.append(_("“{field}” is not a field of the register.").format(field=key))
    by_column: dict[int, list[str]] = {}
    for key, index in mapping.columns.items():
        if index < 0 or (width is not None and index >= width):
            problems.append(_("Column {column} is not in the sheet.").format(column=get_column_letter(max(index, 0) + 1)))
        by_column.setdefault(index, []).append(key)
    for index, keys in sorted(by_column.items()):
        if len(keys) > 1:
            names = ", ".join(_(F.BY_KEY[k].label) if k in F.BY_KEY else k for k in keys)
            problems.append(_("Column {column} is mapped twice (to {fields}): map each column to one field.").format(
                column=_column_name(mapping.headers, index), fields=names))
    for key in mapping.constants:
        if key in mapping.columns:
            problems.append(_("{field} has both a column and a value for every row: choose one.").format(
                field=_(F.BY_KEY[key].label) if key in F.BY_KEY else key))
    for key in F.REQUIRED:
        if key not in mapping.columns and not mapping.constants.get(key, "").strip():
            problems.append(_("No column is mapped to {field}, which every activity needs.").format(
                field=_(F.BY_KEY[key].label)))
    if problems:
        raise MappingError(" ".join(problems) + " " + _("Nothing was imported."))


def remember(session: Any, mapping: ColumnMapping, plan_uuid: str, value_map: dict[str, dict[str, str]]) -> None:
    """Keep the confirmed mapping (by column name) and value choices for the next import, in the
    caller's transaction."""
    import json

    from dbcomm.store.models import AppSetting

    row = session.get(AppSetting, MEMORY_KEY)
    data = json.loads(row.value) if row else {}
    if not isinstance(data, dict):
        data = {}
    headers = data.setdefault("headers", {})
    for key, index in mapping.columns.items():
        if 0 <= index < len(mapping.headers) and mapping.headers[index]:
            headers[F.nfc_key(mapping.headers[index])] = key
    while len(headers) > 500:  # the oldest go first
        headers.pop(next(iter(headers)))
    plan_values = data.setdefault("values", {}).setdefault(plan_uuid, {})
    for key, chosen in value_map.items():
        kept = plan_values.setdefault(key, {})
        kept.update({fold(k): v for k, v in chosen.items()})
        while len(kept) > 2000:
            kept.pop(next(iter(kept)))
    payload = json.dumps(data, ensure_ascii=False)
    if row:
        row.value = payload
    else:
        session.add(AppSetting(key=MEMORY_KEY, value=payload))
    session.flush()  # written now: a caller that expires its session afterwards must not lose it


def remembered_values(db: Database, plan_uuid: str) -> dict[str, dict[str, str]]:
    values = _memory(db).get("values", {})
    found = values.get(plan_uuid, {}) if isinstance(values, dict) else {}
    return found if isinstance(found, dict) else {}
