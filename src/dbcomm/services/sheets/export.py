"""Spreadsheets for the people above: the register (filtered) and every table of a period report,
as .xlsx (dates as dates, numbers as numbers, Vietnamese headers, the header row frozen, sensible
widths, a filter on the header and totals) or as CSV (UTF-8 with a BOM, so that Excel shows the
diacritics; a text that Excel would take for a formula, such as "=HYPERLINK(…)", starts with an
apostrophe).

The register's sheet has the columns of ``fields.FIELDS``: exported, it imports back into an
empty office as the same register (see ``importing``); its totals row is recognised there.
Workbooks are written in openpyxl's streaming mode and saved in one piece (``atomic_write_bytes``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from copy import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

import dbcomm
from dbcomm.domain.models import ActivityFilter
from dbcomm.domain.report import Figures, ReportContent
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import fold
from dbcomm.errors import UserError
from dbcomm.i18n import VIETNAM, _
from dbcomm.services import audit, settings
from dbcomm.services.auth import require
from dbcomm.services.files import atomic_write_bytes, atomic_write_stream
from dbcomm.services.sheets import fields as F
from dbcomm.store import activities as repo
from dbcomm.store.engine import Database
from dbcomm.store.models import (
    Activity,
    ActivityNode,
    ActivityProgramme,
    ActivityReach,
    PlanNode,
    Programme,
)

DATE_FORMAT = "dd/mm/yyyy"
INT_FORMAT = "#,##0"
FLOAT_FORMAT = "#,##0.0"
TOTAL_LABEL = "Tổng cộng"
MULTI_NOTE = ("Ghi chú: một hoạt động có thể được tính ở nhiều dòng của bảng này, "
              "vì vậy không cộng các dòng để ra tổng số hoạt động.")
PAGE = 2000  # activities read at a time
PRINT_WIDTH = 200  # characters of columns that still read well across one A4 landscape page
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet takes for a formula
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class Column:
    header: str
    kind: str = "text"  # text | int | float | date | percent
    width: float = 14.0
    total: bool = False  # summed in the totals row


@dataclass
class Table:
    """One sheet: a header row, rows of plain values, and (optionally) a totals row."""

    name: str  # the sheet's name (at most 31 characters)
    columns: list[Column]
    rows: Iterable[list[Any]]
    total_label_column: int | None = None  # where "Tổng cộng" goes; None: no totals row
    notes: list[str] = field(default_factory=list)  # lines under the table
    levels: list[int] = field(default_factory=list)  # indentation of the label column, per row
    label_column: int = 1
    title: str = ""  # printed at the top of every page (the office, what, which period)


@dataclass(frozen=True)
class ExportResult:
    paths: list[Path]
    rows: int  # data rows written (activities, or the rows of every table)

    @property
    def path(self) -> Path:
        return self.paths[0]


def _format_of(path: Path, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".") or "xlsx").lower()
    if fmt not in ("xlsx", "csv"):
        raise UserError(_("Choose a .xlsx or .csv file to export to (not “{name}”).").format(name=path.name))
    return fmt


def _clean_text(value: str) -> str:
    return _ILLEGAL.sub("", value)


def _now_text() -> str:
    return datetime.now(UTC).astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


# --- writing ---------------------------------------------------------------------------------


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "Sheet"
    out, n = base, 2
    while out.casefold() in used:
        suffix = f" ({n})"
        out, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(out.casefold())
    return out


class _Styles:
    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        thin = Side(style="thin", color="999999")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.header_font = Font(bold=True)
        self.header_fill = PatternFill("solid", fgColor="DDE7F0")
        self.header_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.total_font = Font(bold=True)
        self.total_fill = PatternFill("solid", fgColor="F2F2F2")
        self.wrap = Alignment(vertical="top", wrap_text=True)
        self.top = Alignment(vertical="top")
        self.indents = {n: Alignment(vertical="top", wrap_text=True, indent=2 * n) for n in range(1, 4)}
        self.note_font = Font(italic=True)
        self.cells: dict[tuple[str, bool, bool, int], Any] = {}  # a body cell's style, by its kind


def _cell(ws: Any, value: Any, column: Column, styles: _Styles, *, total: bool = False, level: int = 0) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        value = _clean_text(value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # a text that starts with "=" stays text, never a formula
    # The same few styles over and over: each is looked up in the workbook's lists once, then
    # copied (a hundred thousand rows of thirty cells: 3 million lookups otherwise).
    key = (column.kind, value is not None, total, level)
    known = styles.cells.get(key)
    if known is not None:
        cell._style = copy(known)
        return cell
    if value is not None:
        if column.kind == "date":
            cell.number_format = DATE_FORMAT
        elif column.kind == "int":
            cell.number_format = INT_FORMAT
        elif column.kind in ("float", "percent"):
            cell.number_format = FLOAT_FORMAT
    if total:
        cell.font, cell.fill = styles.total_font, styles.total_fill
    if column.kind == "text":
        cell.alignment = styles.indents.get(level, styles.wrap) if level else styles.wrap
    else:
        cell.alignment = styles.top
    styles.cells[key] = copy(cell._style)
    return cell


def _write_table(wb: Any, table: Table, used: set[str], styles: _Styles) -> int:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(_sheet_name(table.name, used))
    for i, column in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = column.width
    ws.freeze_panes = "A2"
    # printed as officials print it: A4 landscape, as wide as the page, the header row on every
    # page, what it is at the top and the page number at the bottom
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    width = sum(c.width for c in table.columns)
    if width <= PRINT_WIDTH:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    else:  # the register's thirty columns on one page would be unreadable: a few pages across
        ws.page_setup.scale = max(50, int(100 * PRINT_WIDTH / width))
    ws.print_title_rows = "1:1"
    if table.title:
        ws.oddHeader.center.text = table.title.replace("&", "&&")
    ws.oddFooter.center.text = "Trang &P / &N"
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font, cell.fill, cell.alignment, cell.border = (styles.header_font, styles.header_fill,
                                                             styles.header_align, styles.border)
        header.append(cell)
    ws.append(header)
    sums = [0.0] * len(table.columns)
    count = 0
    for index, row in enumerate(table.rows):
        level = table.levels[index] if index < len(table.levels) else 0
        cells = []
        for i, (value, column) in enumerate(zip(row, table.columns, strict=True)):
            if column.total and isinstance(value, (int, float)):
                sums[i] += value
            cells.append(_cell(ws, value, column, styles, level=level if i == table.label_column else 0))
        ws.append(cells)
        count += 1
    last = count + 1
    if table.total_label_column is not None and count:
        values: list[Any] = [None] * len(table.columns)
        values[table.total_label_column] = TOTAL_LABEL
        for i, column in enumerate(table.columns):
            if column.total:
                values[i] = int(sums[i]) if float(sums[i]).is_integer() else sums[i]
        ws.append([_cell(ws, v, c, styles, total=True) for v, c in zip(values, table.columns, strict=True)])
    if table.notes:
        ws.append([])
        for note in table.notes:
            cell = WriteOnlyCell(ws, value=_clean_text(note))
            cell.font = styles.note_font
            ws.append([cell])
    ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(last, 2)}"
    return count


def _write_info(wb: Any, lines: list[tuple[str, Any]], used: set[str]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    ws = wb.create_sheet(_sheet_name("Thông tin", used))
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 80
    bold = Font(bold=True)
    for label, value in lines:
        cell = WriteOnlyCell(ws, value=label)
        cell.font = bold
        number = WriteOnlyCell(ws, value=value)
        if isinstance(value, int):
            number.number_format = INT_FORMAT
            number.alignment = Alignment(horizontal="left")
        ws.append([cell, _clean_text(value) if isinstance(value, str) else number])


Info = list[tuple[str, Any]] | Callable[[], list[tuple[str, Any]]] | None


def write_xlsx(tables: list[Table], path: Path, info: Info = None) -> int:
    """Write the tables (one sheet each, the first one active) and an information sheet (its lines,
    or a function giving them once the tables are written)."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    styles = _Styles()
    used: set[str] = set()
    buf = io.BytesIO()
    try:
        count = sum(_write_table(wb, t, used, styles) for t in tables)
        lines = info() if callable(info) else info
        if lines:
            _write_info(wb, lines, used)
        wb.save(buf)
    except BaseException:
        _discard(wb)
        raise
    atomic_write_bytes(Path(path), buf.getvalue())
    return count


def _discard(wb: Any) -> None:
    """A workbook abandoned half-way (stopped, or an error): each sheet's stream is closed and
    its temporary file removed, so that nothing is left behind."""
    for ws in list(getattr(wb, "_sheets", [])):
        writer = getattr(ws, "_writer", None)
        with suppress(Exception):  # already closed, or never started: nothing to finish
            ws.close()
        if writer is not None:
            with suppress(Exception):  # already removed
                writer.cleanup()


def _csv_value(value: Any, column: Column) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",") if not value.is_integer() else str(int(value))
    text = _clean_text(str(value))
    if isinstance(value, str) and text.startswith((*FORMULA_STARTS, "'")):
        # Excel would run "=HYPERLINK(…)" or read "- Tuyên truyền…" as a formula: the apostrophe
        # keeps it text there, and dbcomm's import takes one off again (reading._csv_cell) — so a
        # text that itself begins with an apostrophe gets one more, to come back as it was
        return "'" + text
    return text


def write_csv(table: Table, path: Path, delimiter: str = ",") -> int:
    """One table as CSV: UTF-8 with a BOM, a header row, dates dd/mm/yyyy, plain numbers.
    Written out a megabyte at a time (the province's register is 54 MB of CSV)."""
    count = 0

    def write(out: Any) -> None:
        nonlocal count
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
        w.writerow([c.header for c in table.columns])
        out.write(codecs.BOM_UTF8)
        for row in table.rows:
            w.writerow([_csv_value(v, c) for v, c in zip(row, table.columns, strict=True)])
            count += 1
            if buf.tell() > 1 << 20:
                out.write(buf.getvalue().encode("utf-8"))
                buf.seek(0)
                buf.truncate()
        out.write(buf.getvalue().encode("utf-8"))

    atomic_write_stream(Path(path), write)
    return count


# --- the register ----------------------------------------------------------------------------


def register_columns(*, with_uuid: bool = True) -> list[Column]:
    columns = [Column("STT", "int", 6)]
    for spec in F.FIELDS:
        if spec.key == "uuid" and not with_uuid:
            continue
        kind = {"date": "date", "int": "int"}.get(spec.kind, "text")
        columns.append(Column(spec.header, kind, spec.width, total=spec.kind == "int"))
    return columns


def _join(values: Iterable[str]) -> str:
    return "; ".join(v for v in values if v)


class ExportCancelled(UserError):
    """The person stopped the export: no file was written."""


Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


def _register_rows(db: Database, f: ActivityFilter, counter: list[int], progress: Progress | None = None,
                   cancelled: Cancelled | None = None) -> Iterator[list[Any]]:
    """The filtered register in date order, one list of values per activity (``FIELDS`` order).
    ``progress(done, total)`` after each page; ``cancelled()`` is asked before each."""
    number = 0
    with db.read(snapshot=True) as s:  # one state of the register, however long the export takes
        every = repo.list_ids(s, f, sort="date", descending=False)  # then read page by page, no OFFSET
        total = len(every)
        nodes = {n.id: n.code for n in s.scalars(select(PlanNode))}
        programmes = {p.id: p.code for p in s.scalars(select(Programme))}
        for start in range(0, total, PAGE):
            if cancelled is not None and cancelled():
                raise ExportCancelled(_("Export stopped: no file was written."))
            page = repo.rows_by_ids(s, every[start:start + PAGE])
            ids = [r.id for r in page]
            extra = {i: (d, fu, n) for i, d, fu, n in s.execute(
                select(Activity.id, Activity.description, Activity.funding, Activity.notes)
                .where(Activity.id.in_(ids)))}
            node_codes: dict[int, list[str]] = {}
            for aid, nid in s.execute(select(ActivityNode.activity_id, ActivityNode.node_id)
                                      .where(ActivityNode.activity_id.in_(ids))):
                node_codes.setdefault(aid, []).append(nodes.get(nid, ""))
            programme_codes: dict[int, list[str]] = {}
            for aid, pid in s.execute(select(ActivityProgramme.activity_id, ActivityProgramme.programme_id)
                                      .where(ActivityProgramme.activity_id.in_(ids))):
                programme_codes.setdefault(aid, []).append(programmes.get(pid, ""))
            reach: dict[int, dict[str, int]] = {}
            for aid, dim, cat, n in s.execute(select(ActivityReach.activity_id, ActivityReach.dimension,
                                                     ActivityReach.category, ActivityReach.count)
                                              .where(ActivityReach.activity_id.in_(ids))):
                reach.setdefault(aid, {})[f"reach.{dim}.{cat}"] = n
            for r in page:
                number += 1
                description, funding, notes = extra[r.id]
                values: dict[str, Any] = {
                    "date_start": r.date_start, "date_end": r.date_end,
                    "form": f"{r.form_code} – {r.form_name}", "subtype": F.SUBTYPES_VI.get(r.subtype, r.subtype),
                    "title": r.title, "description": description, "place": r.place_name or None,
                    "objectives": _join(sorted(node_codes.get(r.id, []), key=_code_order)) or None,
                    "programmes": _join(sorted(programme_codes.get(r.id, []), key=_code_order)) or None,
                    "languages": _join(F.LANGUAGES_VI.get(c, c) for c in r.languages.split()),
                    "items": r.items, "sessions": r.sessions, "minutes": r.minutes, "reach_total": r.reach_total,
                    "partner": r.partner, "cost": r.cost,
                    "funding": F.FUNDING_VI.get(funding, funding) if funding else None,
                    "notes": notes, "uuid": r.uuid,
                }
                breakdown = reach.get(r.id, {})
                row: list[Any] = [number]
                for spec in F.FIELDS:
                    if spec.key.startswith("reach."):
                        row.append(breakdown.get(spec.key) or None)
                    else:
                        value = values[spec.key]
                        row.append(value if value != "" else None)
                yield row
            if progress is not None:
                progress(number, total)
    counter[0] = number


def _code_order(code: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code))


def _filter_lines(db: Database, f: ActivityFilter) -> list[tuple[str, str]]:
    """What the export was filtered on, so that whoever opens the file does not take a part of
    the register (and its totals) for the whole of it."""
    from dbcomm.store.models import CommForm, Organisation

    lines = []
    if f.date_from or f.date_to:
        lines.append(("Thời gian", f"{f.date_from.strftime('%d/%m/%Y') if f.date_from else '…'} – "
                                   f"{f.date_to.strftime('%d/%m/%Y') if f.date_to else '…'}"))
    with db.read() as s:
        if f.form_id is not None and (form := s.get(CommForm, f.form_id)) is not None:
            lines.append(("Hình thức", f"{form.code} – {form.name}"))
        if f.node_id is not None and (node := s.get(PlanNode, f.node_id)) is not None:
            lines.append(("Mục tiêu, nhiệm vụ", f"{node.code} – {node.title}"))
        if f.programme_id is not None and (programme := s.get(Programme, f.programme_id)) is not None:
            lines.append(("Chương trình", f"{programme.code} – {programme.name}"))
        if f.place_id is not None and (place := s.get(Organisation, f.place_id)) is not None:
            lines.append(("Địa bàn", place.name))
        if isinstance(f.origin, int) and (sender := s.get(Organisation, f.origin)) is not None:
            lines.append(("Đơn vị gửi", sender.name))
    if f.language:
        lines.append(("Ngôn ngữ", F.LANGUAGES_VI.get(f.language, f.language)))
    if f.subtype:
        lines.append(("Loại", F.SUBTYPES_VI.get(f.subtype, f.subtype)))
    if f.origin == "all":
        lines.append(("Phạm vi", "Cả hoạt động nhận từ các đơn vị khác"))
    if f.text:
        lines.append(("Tìm", f.text))
    if f.deleted:
        lines.append(("Thùng rác", "Các hoạt động đã xóa"))
    if not lines:
        lines.append(("Lọc", "Toàn bộ sổ (không lọc)"))
    return lines


def export_register(db: Database, f: ActivityFilter, path: Path, *, fmt: str | None = None,
                    delimiter: str = ",", progress: Progress | None = None,
                    cancelled: Cancelled | None = None) -> ExportResult:
    """Write the filtered register (in date order) to ``path`` as .xlsx or CSV.  ``progress(done,
    total)`` is told the activities written; when ``cancelled()`` says so, the export stops
    (:class:`ExportCancelled`) and nothing is written: the file is saved whole at the end."""
    actor = require(db, Perm.EXPORT)
    path = Path(path)
    kind = _format_of(path, fmt)
    counter = [0]
    columns = register_columns()
    office_name = settings.get_office(db).name
    table = Table("Sổ hoạt động", columns, _register_rows(db, f, counter, progress, cancelled),
                  title=f"{office_name} – Sổ theo dõi hoạt động truyền thông" if office_name else
                  "Sổ theo dõi hoạt động truyền thông",
                  total_label_column=columns.index(next(c for c in columns if c.header == F.BY_KEY["title"].header)))
    if kind == "csv":
        count = write_csv(table, path, delimiter)
    else:
        office = settings.get_office(db)

        def info() -> list[tuple[str, Any]]:  # the count is known once the rows are written
            return [("Đơn vị", office.name), ("Nội dung", "Sổ theo dõi hoạt động truyền thông"),
                    *_filter_lines(db, f), ("Số hoạt động", counter[0]),
                    ("Xuất lúc", _now_text()), ("Phần mềm", f"dbcomm {dbcomm.__version__}")]

        count = write_xlsx([table], path, info)
    with db.write() as s:
        audit.record(s, actor, "export", entity="register", summary=_("{n} activities to {path}").format(
            n=count, path=path.name))
    return ExportResult([path], count)


# --- report tables ---------------------------------------------------------------------------

_FIGURE_COLUMNS = [("Số hoạt động", "activities"), ("Số tin, bài, sản phẩm", "items"), ("Số buổi, lượt", "sessions"),
                   ("Thời lượng (phút)", "minutes"), ("Số lượt người được tiếp cận", "reach"),
                   ("Kinh phí (đồng)", "cost")]


def _figures_table(name: str, label_head: str, rows: list[Figures], total: Figures | None,
                   *, use_codes: bool = True) -> Table:
    columns = [Column("Mã" if use_codes else "TT", "text", 8), Column(label_head, "text", 60)]
    columns += [Column(h, "int", 14, total=True) for h, _k in _FIGURE_COLUMNS]
    body = [[(r.code if use_codes and r.code else str(i)), r.label, *(getattr(r, k) for _h, k in _FIGURE_COLUMNS)]
            for i, r in enumerate(rows, start=1)]
    sums = [sum(getattr(r, k) for r in rows) for _h, k in _FIGURE_COLUMNS]
    partition = total is not None and sums == [getattr(total, k) for _h, k in _FIGURE_COLUMNS]
    return Table(name, columns, body, total_label_column=1 if partition else None,
                 notes=[] if partition or not rows else [MULTI_NOTE], levels=[r.level for r in rows])


def report_tables(content: ReportContent) -> list[Table]:
    """Every table of a report, as the PDF shows them (and the activities' list)."""
    t = content.totals
    tables = [
        Table("Tổng hợp", [Column("Nội dung", "text", 40), Column("Số lượng", "int", 16)],
              [[h, getattr(t, k)] for h, k in _FIGURE_COLUMNS]),
    ]
    if content.scope == "all" and content.by_office:
        tables.append(_figures_table("Theo đơn vị", "Đơn vị", content.by_office, t, use_codes=False))
    tables.append(_figures_table("Theo hình thức", "Hình thức truyền thông", content.by_form, t))
    tables.append(_figures_table("Theo mục tiêu, nhiệm vụ", "Mục tiêu, nhiệm vụ", content.by_objective, None))
    tables.append(_figures_table("Theo chương trình, đề án", "Chương trình, đề án", content.by_programme, None))
    tables.append(_figures_table("Theo địa bàn", "Địa bàn", content.by_place, t, use_codes=False))
    tables.append(_figures_table("Theo ngôn ngữ", "Ngôn ngữ", content.by_language, None, use_codes=False))
    reach_rows = []
    for group, pairs in content.reach_by.items():
        for label, people in pairs:
            share = round(100.0 * people / t.reach, 1) if t.reach else None
            reach_rows.append([group, label, people, share])
    tables.append(Table("Đối tượng tiếp cận", [Column("Nhóm", "text", 16), Column("Đối tượng", "text", 34),
                                               Column("Số lượt người", "int", 16),
                                               Column("Tỷ lệ so với tổng số (%)", "percent", 16)], reach_rows))
    ind_rows = []
    for ind in content.indicators:
        ind_rows.append([ind.code, ind.name, ind.unit, ind.year, ind.year_target, ind.year_value,
                         round(ind.percent_of_year, 1) if ind.percent_of_year is not None else None,
                         ind.cumulative])
    tables.append(Table("Chỉ tiêu", [Column("Mã", "text", 8), Column("Chỉ tiêu", "text", 60),
                                     Column("Đơn vị tính", "text", 14), Column("Năm", "int", 8),
                                     Column("Chỉ tiêu năm", "float", 14), Column("Kết quả", "float", 14),
                                     Column("Tỷ lệ hoàn thành (%)", "percent", 14),
                                     Column("Lũy kế từ đầu Kế hoạch", "float", 16)], ind_rows))
    if content.comparison:
        rows = [[c.label, c.current, c.previous, c.current - c.previous,
                 round(100.0 * (c.current - c.previous) / c.previous, 1) if c.previous else None]
                for c in content.comparison]
        tables.append(Table(f"So sánh {content.comparison_label}"[:31],
                            [Column("Nội dung", "text", 40), Column("Kỳ này", "int", 14),
                             Column(f"Cùng kỳ ({content.comparison_label})", "int", 16),
                             Column("Tăng (+), giảm (−)", "int", 14), Column("Tỷ lệ tăng, giảm (%)", "percent", 14)],
                            rows))
    kinds = {"objective": "Mục tiêu", "task": "Nhiệm vụ", "form": "Hình thức"}
    tables.append(Table("Chưa có hoạt động", [Column("Loại", "text", 12), Column("Mã", "text", 8),
                                              Column("Nội dung", "text", 60), Column("Lý do", "text", 40)],
                        [[kinds.get(g.kind, g.kind), g.code, g.label, g.nil_reason or None] for g in content.gaps]))
    if content.annex:
        office_column = content.scope == "all"
        columns = [Column("STT", "int", 6), Column("Ngày", "date", 12), Column("Đến ngày", "date", 12),
                   Column("Hình thức", "text", 8), Column("Tên hoạt động", "text", 50), Column("Địa bàn", "text", 22),
                   Column("Ngôn ngữ", "text", 16), Column("Mục tiêu, nhiệm vụ", "text", 14),
                   Column("Số tin, bài, sản phẩm", "int", 12, total=True), Column("Số buổi, lượt", "int", 12, total=True),
                   Column("Thời lượng (phút)", "int", 12, total=True),
                   Column("Số lượt người được tiếp cận", "int", 14, total=True)]
        if office_column:
            columns.append(Column("Đơn vị", "text", 24))
        columns += [Column("Mã hoạt động (UUID)", "text", 38), Column("Phiên bản", "int", 9)]
        annex_rows: list[list[Any]] = []
        for i, a in enumerate(content.annex, start=1):
            row: list[Any] = [i, a.date_start, a.date_end, a.form_code, a.title, a.place or None, a.languages, a.objectives or None,
                   a.items, a.sessions, a.minutes, a.reach]
            if office_column:
                row.append(a.office)
            annex_rows.append([*row, a.uuid, a.version])
        tables.append(Table("Danh sách hoạt động", columns, annex_rows, total_label_column=4))
    return tables


def _report_content(db: Database, report_id: int | None, plan_id: int | None, period_key: str | None,
                    scope: str) -> ReportContent:
    from dataclasses import replace

    from dbcomm.domain.report import Narrative
    from dbcomm.services import reports

    if report_id is not None:
        detail = reports.get_report(db, report_id)
        if detail.info.built_at is not None:
            return reports.stored_content(db, report_id)
        return reports.compute(db, detail.settings, detail.narrative)
    if plan_id is None or not period_key:
        raise UserError(_("Choose a report or a period to export."))
    cfg = replace(reports.default_settings(db, plan_id, period_key), scope=scope)
    return reports.compute(db, cfg, Narrative())


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", fold(name)).strip("-") or "bang"


def export_report(db: Database, path: Path, *, report_id: int | None = None, plan_id: int | None = None,
                  period_key: str | None = None, scope: str = "own", fmt: str | None = None,
                  progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Every table of a report: a stored report (as it was built) or a period computed now.
    As .xlsx: one sheet per table.  As CSV: one file per table, named after ``path``
    (``BC-2026-Q3.csv`` → ``BC-2026-Q3-theo-hinh-thuc.csv``, …)."""
    actor = require(db, Perm.EXPORT)
    path = Path(path)
    kind = _format_of(path, fmt)
    content = _report_content(db, report_id, plan_id, period_key, scope)
    tables = report_tables(content)
    office_name = settings.get_office(db).name
    for table in tables:
        table.title = " – ".join(x for x in (office_name, f"{table.name}, {content.period_label}") if x)
    if kind == "csv":
        paths = []
        count = 0
        for table in tables:
            target = path.with_name(f"{path.stem}-{_slug(table.name)}.csv")
            count += write_csv(table, target)
            paths.append(target)
    else:
        office = settings.get_office(db)
        info: list[tuple[str, Any]] = [
                ("Đơn vị", office.name), ("Báo cáo", content.header.subject or content.period_label),
                ("Kỳ báo cáo", f"{content.period_label} ({content.date_from.strftime('%d/%m/%Y')} – "
                               f"{content.date_to.strftime('%d/%m/%Y')})"),
                ("Kế hoạch", f"{content.plan_code} {content.plan_title}".strip()),
                ("Số hoạt động", content.totals.activities),
                ("Xuất lúc", _now_text()), ("Phần mềm", f"dbcomm {dbcomm.__version__}")]
        count = write_xlsx(tables, path, info)
        paths = [path]
    with db.write() as s:
        audit.record(s, actor, "export", entity="report", summary=_("report tables of {period} to {path}").format(
            period=content.period_key, path=path.name))
    return ExportResult(paths, count)
