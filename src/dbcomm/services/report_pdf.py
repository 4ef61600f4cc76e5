"""The period report as a PDF: Nghị định 30/2020/NĐ-CP, Phụ lục I, template 1.4 (Báo cáo).

``render_pdf(content)`` turns a ``ReportContent`` into PDF bytes.  It is a pure function
of the content: the same content always gives the same bytes (ReportLab's invariant mode,
a creation date taken from the document's date, a document ID derived from the content),
so a stored report can be rebuilt and its SHA-256 compared.

Page layout (points, origin at the bottom left of the page, 1 mm = 2.835 pt):

* body pages: A4 portrait, margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm;
* annex pages (the list of activities): A4 landscape.  The decree turns a landscape page
  so that its top edge is the binding edge, hence top 30 mm, bottom 15 mm, left and
  right 20 mm;
* page numbers centred in the top margin from page 2 on, none on page 1.

The signature block keeps a blank space (``SIGNATURE_SPACE_MM`` high) between the
signer's title and name for the signature and seal images.  It never stands alone on a
page: the body's last paragraph (of a long one, its last ``TAIL_LINES`` lines) stays with
the signer's title, space and name and the "Nơi nhận" lines beside them; a longer
distribution list goes on below, over the page if need be.  ``layout_info(content)``
tells where it is: the page and the rectangle in points, computed by laying out the
same document (see its docstring).

The document is always Vietnamese (it goes to a Vietnamese office), so its words are not
translated; only the start-up font check speaks the application's language.

Speed: the annex can hold 100,000 activities.  It is drawn by ``_GridTable``, a plain-text
table flowable that writes PDF operators directly, splits across pages in constant time
and repeats its header row on every page; every other table is a Platypus ``Table``.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import itertools
import math
import os
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

from reportlab import rl_config
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from dbcomm.domain.report import Figures, Header, IndicatorProgress, ReportContent
from dbcomm.errors import UserError
from dbcomm.i18n import _
from dbcomm.services import fonts

# --- fonts -----------------------------------------------------------------------------

FONT_DIR = fonts.FONT_DIR

REGULAR = "DbcommSerif"
BOLD = "DbcommSerif-Bold"
ITALIC = "DbcommSerif-Italic"
BOLD_ITALIC = "DbcommSerif-BoldItalic"

FONT_FILES: dict[str, str] = fonts.FONT_FILES

_fonts_lock = threading.Lock()
_fonts_ready = False


def check_fonts() -> None:
    """Raise ``UserError`` naming the first bundled font file that is missing or unreadable."""
    fonts.check_fonts(FONT_DIR)


def _ensure_fonts() -> None:
    """Register the four faces with ReportLab once per process."""
    global _fonts_ready
    if _fonts_ready:
        return
    with _fonts_lock:
        if _fonts_ready:
            return
        check_fonts()
        for name, file_name in FONT_FILES.items():
            try:
                pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file_name)))
            except Exception as exc:  # a damaged file: ReportLab raises many kinds
                raise UserError(
                    _(
                        "The font file {file} that reports need is missing or unreadable "
                        "(folder: {folder}). Reinstall the application to restore it."
                    ).format(file=file_name, folder=str(FONT_DIR))
                ) from exc
        pdfmetrics.registerFontFamily(
            REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
        )
        _fonts_ready = True


def _width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


# --- page geometry ---------------------------------------------------------------------

PAGE_W, PAGE_H = A4
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 20 * mm
MARGIN_LEFT = 30 * mm
MARGIN_RIGHT = 15 * mm
BODY_W = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT

ANNEX_PAGE_W, ANNEX_PAGE_H = landscape(A4)
ANNEX_MARGIN_TOP = 30 * mm
ANNEX_MARGIN_BOTTOM = 15 * mm
ANNEX_MARGIN_LEFT = 20 * mm
ANNEX_MARGIN_RIGHT = 20 * mm
ANNEX_W = ANNEX_PAGE_W - ANNEX_MARGIN_LEFT - ANNEX_MARGIN_RIGHT

PAGE_NUMBER_SIZE = 13
PAGE_NUMBER_FROM_TOP = 12 * mm  # baseline, inside the top margin

BODY_SIZE = 14
BODY_LEADING = 17.5  # 1.25 lines
INDENT = 1.27 * cm
TABLE_SIZE = 12
TABLE_LEADING = 14
SMALL_TABLE_SIZE = 11
SMALL_TABLE_LEADING = 12.8
SIGNATURE_SPACE_MM = 30
LINE_WIDTH = 0.6

# --- text helpers ------------------------------------------------------------------------


def _t(value: object) -> str:
    """NFC text; ``None`` is empty."""
    if value is None:
        return ""
    return unicodedata.normalize("NFC", str(value))


def _line(value: object) -> str:
    """NFC, one line, runs of white space collapsed."""
    return " ".join(_t(value).split())


def _x(value: object) -> str:
    """NFC and escaped for a Paragraph's mark-up."""
    return _xml_escape(_line(value))


def _upper(value: object) -> str:
    return _line(value).upper()


def _paragraphs(text: object) -> list[str]:
    """The paragraphs of a narrative: one per non-empty line (blank lines separate too)."""
    return [_line(p) for p in _t(text).splitlines() if p.strip()]


def fmt_int(value: int | float | None) -> str:
    """Vietnamese grouping: ``1234567`` → ``1.234.567``; ``None`` → empty."""
    if value is None:
        return ""
    return f"{round(value):,}".replace(",", ".")


def fmt_num(value: float | None, decimals: int = 2) -> str:
    """A measured value: ``1234.5`` → ``1.234,5``; whole numbers without decimals."""
    if value is None:
        return ""
    if float(value).is_integer():
        return fmt_int(int(value))
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def fmt_pct(value: float | None) -> str:
    """A percentage, always one decimal: ``14`` → ``14,0``; ``1234.56`` → ``1.234,6``."""
    if value is None:
        return ""
    text = f"{value:,.1f}"
    if text in ("-0.0",):
        text = "0.0"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _is_percent_unit(unit: str) -> bool:
    return _line(unit).casefold() in ("%", "phần trăm", "tỷ lệ %", "tỉ lệ %")


def fmt_measure(value: float | None, unit: str) -> str:
    """An indicator's value in its unit: percentages with one decimal, counts grouped."""
    return fmt_pct(value) if _is_percent_unit(unit) else fmt_num(value)


def fmt_signed(value: int) -> str:
    return ("+" if value > 0 else "") + fmt_int(value)


def fmt_date(value: date | None) -> str:
    return "" if value is None else f"{value.day:02d}/{value.month:02d}/{value.year}"


def date_line(place: str, day: date) -> str:
    """The date line of the header: ``Mường Phăng, ngày 05 tháng 01 năm 2026``.

    Days below 10 and the months January and February take a leading zero (the decree's
    rule, so that nothing can be added in front of the figure afterwards).
    """
    day_text = f"{day.day:02d}"
    month_text = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    when = f"ngày {day_text} tháng {month_text} năm {day.year}"
    place = _line(place)
    return f"{place}, {when}" if place else when[0].upper() + when[1:]


NUMBER_BLANK = 8  # spaces left for the registry's number
DATE_BLANKS = (("ngay", 6), ("thang", 6), ("nam", 9))  # day, month, year left for the registry

# Form fields the registry fills in when it seals (``services.report_signing``): the number,
# and the day, month and year when the date was left blank.
REGISTRY_FIELDS = ("so", "ngay", "thang", "nam")


def date_line_blank(place: str) -> tuple[str, list[tuple[str, int, int]]]:
    """The date line with day, month and year left blank, and where each blank is.

    Returns the text and ``(field name, first character, end character)`` for each blank.
    """
    place = _line(place)
    text = f"{place}, ngày " if place else "Ngày "
    spans = []
    for (name, n), after in zip(DATE_BLANKS, (" tháng ", " năm ", ""), strict=True):
        spans.append((name, len(text), len(text) + n))
        text += " " * n + after
    return text, spans


def doc_number(number: str) -> str:
    """``"5"`` → ``"05"``: numbers below 10 take a leading zero; others are kept."""
    text = _line(number).replace(" ", "")
    if text.isdigit() and int(text) < 10:
        return f"{int(text):02d}"
    return text


def doc_reference(number: str, symbol: str) -> str:
    """``05/BC-UBND``; a blank number leaves room for the registry: ``      /BC-UBND``."""
    symbol = _line(symbol).replace(" ", "")
    kind = f"BC-{symbol}" if symbol else "BC"
    num = doc_number(number)
    return f"{num}/{kind}" if num else f"{' ' * NUMBER_BLANK}/{kind}"


def number_line(number: str, symbol: str) -> str:
    """``Số: 05/BC-UBND`` or, number blank, ``Số:      /BC-UBND``."""
    ref = doc_reference(number, symbol)
    return f"Số: {ref}" if not ref.startswith(" ") else f"Số:{ref}"


_ADMIN_UNITS = ("THÀNH PHỐ", "THỊ XÃ", "THỊ TRẤN", "PHƯỜNG", "HUYỆN", "TỈNH", "XÃ")


def _title_words(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in text.split())


def agency_in_sentence(agency: str) -> str:
    """An upper-case agency name as written inside a sentence.

    ``ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG`` → ``Ủy ban nhân dân xã Mường Phăng``;
    ``SỞ GIÁO DỤC VÀ ĐÀO TẠO TỈNH ĐIỆN BIÊN`` → ``Sở Giáo dục và Đào tạo tỉnh Điện Biên``.
    Names already in mixed case, and names this rule does not know, are kept as given.
    """
    name = _line(agency)
    if not name or name != name.upper():
        return name
    words = name.split(" ")
    # the place part: from the last administrative unit word on
    unit_at = -1
    unit_len = 0
    for i in range(len(words)):
        for unit in _ADMIN_UNITS:
            parts = unit.split(" ")
            if words[i : i + len(parts)] == parts:
                unit_at, unit_len = i, len(parts)
                break
    head = words[:unit_at] if unit_at >= 0 else words
    tail = ""
    if unit_at >= 0:
        unit = " ".join(words[unit_at : unit_at + unit_len]).lower()
        place = " ".join(words[unit_at + unit_len :])
        tail = f"{unit} {_title_words(place)}".strip()
    head_text = " ".join(head)
    if head_text in ("ỦY BAN NHÂN DÂN", "UỶ BAN NHÂN DÂN"):
        head_out = "Ủy ban nhân dân"
    elif head_text == "UBND":
        head_out = "UBND"
    elif head and head[0] in ("SỞ", "BAN", "PHÒNG", "TRUNG", "HỘI", "BỘ"):
        # "Sở Giáo dục và Đào tạo": each field after the kind and after "và"/commas capitalised
        lead_len = 2 if head[0] == "TRUNG" and len(head) > 1 and head[1] == "TÂM" else 1
        out: list[str] = [w.lower() for w in head[:lead_len]]
        out[0] = out[0][:1].upper() + out[0][1:]
        start = True
        for w in head[lead_len:]:
            low = w.lower()
            if low in ("và", "-", "–"):
                out.append(low)
                start = True
                continue
            out.append(low[:1].upper() + low[1:] if start else low)
            start = low.endswith(",")
        head_out = " ".join(out)
    else:
        return name
    return f"{head_out} {tail}".strip()


def _fold(text: str) -> str:
    """Lower case without diacritics, for comparing what people type: ``Như trên`` → ``nhu tren``."""
    decomposed = unicodedata.normalize("NFD", _line(text).replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _first_word(folded: str) -> str:
    word = ""
    for ch in folded:
        if not ch.isalnum():
            break
        word += ch
    return word


def archive_line(archive_unit: str) -> str:
    """``- Lưu: VT, VHXH.``; ``- Lưu: VT.`` without a unit (a typed "Lưu: VT, …" is tidied)."""
    unit = _line(archive_unit).strip(" .;,-")
    if _first_word(_fold(unit)) == "luu":
        unit = unit[3:].lstrip(" :").strip(" .;,")
    if unit[:2].upper() == "VT" and (len(unit) == 2 or not unit[2].isalnum()):
        unit = unit[2:].strip(" .;,")
    return f"- Lưu: VT, {unit}." if unit else "- Lưu: VT."


def distribution_lines(header: Header) -> list[str]:
    """The lines under "Nơi nhận:", as printed.

    ``- Như trên;`` first when there is a "Kính gửi", then each distribution line once, then
    ``- Lưu: VT, <unit>.``.  Typed copies of "Như trên" and any typed line starting with
    "Lưu" are dropped: the document writes those itself.
    """
    out: list[str] = []
    if any(_line(r) for r in header.recipients):
        out.append("- Như trên;")
    seen: set[str] = set()
    for raw in header.distribution:
        text = _line(raw).lstrip("-–—+•*· ").rstrip(" ;.,:").strip()
        folded = _fold(text)
        if not text or folded.startswith("nhu tren") or _first_word(folded) == "luu":
            continue
        if folded in seen:
            continue
        seen.add(folded)
        out.append(f"- {text};")
    out.append(archive_line(header.archive_unit))
    return out


def _figures_sentence(t: Figures) -> str:
    parts = [f"{fmt_int(t.items)} tin, bài, sản phẩm", f"{fmt_int(t.sessions)} buổi, lượt"]
    parts.append(f"tổng thời lượng {fmt_int(t.minutes)} phút")
    parts.append(f"tiếp cận {fmt_int(t.reach)} lượt người")
    if t.cost:
        parts.append(f"tổng kinh phí {fmt_int(t.cost)} đồng")
    return "; ".join(parts)


def plan_reference(content: ReportContent) -> str:
    """``Kế hoạch số 386/KH-UBND ngày 15/02/2022 của UBND tỉnh Điện Biên``."""
    text = f"Kế hoạch số {_line(content.plan_code)}"
    if content.plan_issued_on is not None:
        text += f" ngày {fmt_date(content.plan_issued_on)}"
    if _line(content.plan_issuer):
        text += f" của {_line(content.plan_issuer)}"
    return text


# --- styles ------------------------------------------------------------------------------


@dataclass
class _Styles:
    body: ParagraphStyle
    note: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    caption: ParagraphStyle
    table_note: ParagraphStyle
    title: ParagraphStyle
    subject: ParagraphStyle
    centred: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    cell_num: ParagraphStyle
    cell_num_bold: ParagraphStyle
    cell_head: ParagraphStyle
    cell_centre: ParagraphStyle
    small_cell: ParagraphStyle
    small_num: ParagraphStyle
    small_head: ParagraphStyle
    small_centre: ParagraphStyle
    recv_label: ParagraphStyle
    recv_line: ParagraphStyle
    signer: ParagraphStyle
    annex_title: ParagraphStyle
    annex_sub: ParagraphStyle
    annex_legend: ParagraphStyle


def _make_styles() -> _Styles:
    base = ParagraphStyle(
        "body",
        fontName=REGULAR,
        fontSize=BODY_SIZE,
        leading=BODY_LEADING,
        alignment=TA_JUSTIFY,
        firstLineIndent=INDENT,
        spaceAfter=6,
        textColor=colors.black,
        allowWidows=0,
        allowOrphans=0,
    )

    def derive(name: str, parent: ParagraphStyle = base, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=parent, **kw)

    cell = derive(
        "cell",
        fontSize=TABLE_SIZE,
        leading=TABLE_LEADING,
        firstLineIndent=0,
        spaceAfter=0,
        alignment=TA_LEFT,
    )
    small = derive("small", cell, fontSize=SMALL_TABLE_SIZE, leading=SMALL_TABLE_LEADING)
    return _Styles(
        body=base,
        note=derive("note", fontName=ITALIC),
        h1=derive("h1", fontName=BOLD, alignment=TA_LEFT, keepWithNext=1, spaceBefore=6),
        h2=derive("h2", fontName=BOLD, alignment=TA_LEFT, keepWithNext=1),
        caption=derive(
            "caption", fontName=BOLD, fontSize=13, leading=16, firstLineIndent=0,
            alignment=TA_CENTER, keepWithNext=0, spaceBefore=2, spaceAfter=4,
        ),
        table_note=derive(
            "table_note", fontName=ITALIC, fontSize=12, leading=14.5, firstLineIndent=0,
            spaceBefore=3, spaceAfter=8,
        ),
        title=derive(
            "title", fontName=BOLD, fontSize=14, leading=17, firstLineIndent=0,
            alignment=TA_CENTER, spaceAfter=0,
        ),
        subject=derive(
            "subject", fontName=BOLD, fontSize=14, leading=17, firstLineIndent=0,
            alignment=TA_CENTER, spaceAfter=0,
        ),
        centred=derive("centred", firstLineIndent=0, alignment=TA_CENTER, spaceAfter=0),
        cell=cell,
        cell_bold=derive("cell_bold", cell, fontName=BOLD),
        cell_num=derive("cell_num", cell, alignment=TA_RIGHT),
        cell_num_bold=derive("cell_num_bold", cell, alignment=TA_RIGHT, fontName=BOLD),
        cell_head=derive("cell_head", cell, fontName=BOLD, alignment=TA_CENTER),
        cell_centre=derive("cell_centre", cell, alignment=TA_CENTER),
        small_cell=small,
        small_num=derive("small_num", small, alignment=TA_RIGHT),
        small_head=derive("small_head", small, fontName=BOLD, alignment=TA_CENTER),
        small_centre=derive("small_centre", small, alignment=TA_CENTER),
        recv_label=derive(
            "recv_label", fontName=BOLD_ITALIC, fontSize=12, leading=14, firstLineIndent=0,
            alignment=TA_LEFT, spaceAfter=0,
        ),
        recv_line=derive(
            "recv_line", fontSize=11, leading=13, firstLineIndent=0, alignment=TA_LEFT,
            spaceAfter=0,
        ),
        signer=derive(
            "signer", fontName=BOLD, fontSize=14, leading=17, firstLineIndent=0,
            alignment=TA_CENTER, spaceAfter=0,
        ),
        annex_title=derive(
            "annex_title", fontName=BOLD, fontSize=14, leading=17, firstLineIndent=0,
            alignment=TA_CENTER, spaceAfter=0,
        ),
        annex_sub=derive(
            "annex_sub", fontName=ITALIC, fontSize=14, leading=17, firstLineIndent=0,
            alignment=TA_CENTER, spaceAfter=6,
        ),
        annex_legend=derive(
            "annex_legend", fontName=ITALIC, fontSize=11, leading=13, firstLineIndent=0,
            alignment=TA_LEFT, spaceAfter=6,
        ),
    )


# --- small flowables ---------------------------------------------------------------------


def _balanced_lines(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap a short heading into as few lines as fit, with line lengths as even as possible."""
    words = text.split()
    if not words:
        return []
    if _width(text, font, size) <= width:
        return [text]
    lines = _FastWrapper(font, size).wrap(text, width)
    n = len(lines)
    if n > 4 or math.comb(len(words) - 1, n - 1) > 5000:
        return list(lines)
    best: list[str] = list(lines)
    best_w = max(_width(s, font, size) for s in best)
    for cuts in itertools.combinations(range(1, len(words)), n - 1):
        bounds = (0, *cuts, len(words))
        cand = [" ".join(words[a:b]) for a, b in itertools.pairwise(bounds)]
        w = max(_width(s, font, size) for s in cand)
        if w <= width and w < best_w - 0.01:
            best, best_w = cand, w
    return best


_UNIT_WORDS = ("THÀNH PHỐ", "THỊ XÃ", "THỊ TRẤN", "PHƯỜNG", "HUYỆN", "TỈNH", "XÃ")
_NOT_UNITS = (("XÃ", "HỘI"),)  # "XÃ HỘI HỌC TẬP" names no commune

# the cost of breaking a line at a word boundary (see ``_break_costs``)
_BREAK_INSIDE_UNIT = 1000  # "THÀNH / PHỐ"
_BREAK_AFTER_UNIT = 100  # "XÃ / MƯỜNG PHĂNG"
_BREAK_IN_PLACE = 30  # "XÃ MƯỜNG / PHĂNG"
_BREAK_IN_BRACKETS = 20  # "(DỮ / LIỆU MẪU)"
_BREAK_ELSEWHERE = 5  # "SỞ GIÁO DỤC VÀ ĐÀO / TẠO …": a name's words may belong together


def _break_costs(words: list[str]) -> list[int]:
    """``costs[i]``: the cost of starting a new line at word ``i`` (``0 < i < len(words)``).

    Free before the place (the administrative unit word that begins it) and before a
    parenthesised part; cheap elsewhere; costly inside the unit word, between it and the
    place name, in the place name and in the brackets.
    """
    n = len(words)
    costs = [_BREAK_ELSEWHERE] * (n + 1)
    for i, w in enumerate(words):
        if w.startswith("("):
            costs[i] = 0
    # the place: the last unit word (after the first word) up to the end or a bracket
    place: tuple[int, int, int] | None = None  # (unit start, name start, name end)
    for i in range(1, n):
        for unit in _UNIT_WORDS:
            parts = unit.split(" ")
            if words[i : i + len(parts)] != parts or i + len(parts) >= n:
                continue
            if any(words[i : i + len(x)] == list(x) for x in _NOT_UNITS):
                continue
            name_start = i + len(parts)
            name_end = next((k for k in range(name_start, n) if words[k].startswith("(")), n)
            if name_end > name_start:
                place = (i, name_start, name_end)
            break
    if place is not None:
        unit_at, name_start, name_end = place
        costs[unit_at] = 0
        for k in range(unit_at + 1, name_start):
            costs[k] = _BREAK_INSIDE_UNIT
        costs[name_start] = _BREAK_AFTER_UNIT
        for k in range(name_start + 1, name_end):
            costs[k] = _BREAK_IN_PLACE
    # unit words elsewhere ("THỊ / XÃ") and brackets
    for i in range(n):
        for unit in _UNIT_WORDS:
            parts = unit.split(" ")
            if len(parts) > 1 and words[i : i + len(parts)] == parts:
                for k in range(i + 1, i + len(parts)):
                    costs[k] = max(costs[k], _BREAK_INSIDE_UNIT)
    depth = 0
    for i, w in enumerate(words):
        if depth > 0 and i > 0:
            costs[i] = max(costs[i], _BREAK_IN_BRACKETS)
        depth += w.count("(") - w.count(")")
        depth = max(depth, 0)
    return costs


def _agency_lines(text: str, width: float) -> tuple[list[str], float]:
    """The issuing agency on as few lines as fit, broken where the name allows.

    The place stays whole and so does a parenthesised part where possible:
    ``ỦY BAN NHÂN DÂN / THÀNH PHỐ ĐIỆN BIÊN PHỦ`` rather than ``… THÀNH / PHỐ …``,
    ``UBND XÃ MƯỜNG PHĂNG / (DỮ LIỆU MẪU)`` rather than ``UBND XÃ MƯỜNG / PHĂNG (…)``.
    One line more than the fewest is allowed to avoid a bad break; among equal choices the
    lines are as even as possible.  The decree allows 12 to 13 pt: 13 pt unless a smaller
    size saves a line or a bad break.
    """
    words = text.split()
    if not words or _width(text, BOLD, 13) <= width:
        return ([text] if text else []), 13.0
    n = len(words)
    costs = _break_costs(words)
    sizes = (13.0, 12.5, 12.0)
    fewest = len(_FastWrapper(BOLD, 12.0).wrap(text, width))
    best: tuple[tuple[float, ...], list[str], float] | None = None
    for n_lines in range(fewest, min(n, fewest + 1) + 1):
        if math.comb(n - 1, n_lines - 1) > 5000:
            break
        for cuts in itertools.combinations(range(1, n), n_lines - 1):
            bounds = (0, *cuts, n)
            lines = [" ".join(words[a:b]) for a, b in itertools.pairwise(bounds)]
            cost = sum(costs[c] for c in cuts)
            widest13 = max(_width(x, BOLD, 13.0) for x in lines)
            for size in sizes:
                widest = widest13 * size / 13.0
                if widest <= width:
                    key = (cost, n_lines, -size, round(widest, 2))
                    if best is None or key < best[0]:
                        best = (key, lines, size)
                    break
    if best is None:  # a word wider than the column: plain wrapping
        return _balanced_lines(text, BOLD, 12.0, width), 12.0
    return best[1], best[2]


def _descent(font: str, size: float) -> float:
    """How far the font's glyphs reach below the baseline, in points (positive)."""
    return -float(pdfmetrics.getFont(font).face.descent) * size / 1000.0


RULE_CLEARANCE = 3.5  # points between the lowest glyph of a line and the rule under it


class _DocHeader(Flowable):
    """The two header blocks of page 1, the number and the date line."""

    LEFT_SHARE = 0.4

    def __init__(self, header: Header, width: float):
        super().__init__()
        self.width = width
        self.left_w = width * self.LEFT_SHARE
        self.right_w = width - self.left_w
        lw, rw = self.left_w - 4, self.right_w
        parent = _upper(header.parent_agency)
        self.agency_lines, self.left_size = _agency_lines(_upper(header.agency), lw)
        size = self.left_size
        self.parent_lines = _balanced_lines(parent, REGULAR, size, lw) if parent else []
        self.number = number_line(header.number, header.symbol)
        self.nation = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
        self.nation_size = 13 if _width(self.nation, BOLD, 13) <= rw else 12
        self.motto = "Độc lập - Tự do - Hạnh phúc"
        self.number_blank = not doc_number(header.number)
        self.date_spans: list[tuple[str, int, int]] = []
        if header.date_blank:
            self.date, self.date_spans = date_line_blank(header.place)
        else:
            self.date = date_line(header.place, header.doc_date)
        self.date_size = 14.0
        while self.date_size > 11 and _width(self.date, ITALIC, self.date_size) > rw:
            self.date_size -= 0.5
        lead = 15.0
        # baselines, measured down from the top of the flowable
        y = 12.0
        self.left_baselines: list[tuple[str, str, float]] = []
        for s in self.parent_lines:
            self.left_baselines.append((s, REGULAR, y))
            y += lead
        for s in self.agency_lines:
            self.left_baselines.append((s, BOLD, y))
            y += lead
        # the rules clear the descenders (brackets, the dot below Ạ/Ự) by RULE_CLEARANCE
        self.left_rule_y = (y - lead + _descent(BOLD, size) + RULE_CLEARANCE
                            + LINE_WIDTH / 2)
        widest = max((_width(s, BOLD, size) for s in self.agency_lines), default=60.0)
        self.left_rule_len = max(40.0, min(widest, lw) * 0.4)
        self.nation_y = 12.0
        self.motto_y = self.nation_y + 16.0
        self.motto_w = _width(self.motto, BOLD, 14)
        self.right_rule_y = (self.motto_y + _descent(BOLD, 14) + RULE_CLEARANCE
                             + LINE_WIDTH / 2)
        self.number_y = max(self.left_rule_y, self.right_rule_y) + 24.0
        self.height = self.number_y + 8.0

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        h = self.height
        lx = self.left_w / 2
        rx = self.left_w + self.right_w / 2
        c.setFillColor(colors.black)
        c.setStrokeColor(colors.black)
        c.setLineWidth(LINE_WIDTH)
        for text, font, y in self.left_baselines:
            c.setFont(font, self.left_size)
            c.drawCentredString(lx, h - y, text)
        c.line(lx - self.left_rule_len / 2, h - self.left_rule_y,
               lx + self.left_rule_len / 2, h - self.left_rule_y)
        c.setFont(BOLD, self.nation_size)
        c.drawCentredString(rx, h - self.nation_y, self.nation)
        c.setFont(BOLD, 14)
        c.drawCentredString(rx, h - self.motto_y, self.motto)
        c.line(rx - self.motto_w / 2, h - self.right_rule_y, rx + self.motto_w / 2,
               h - self.right_rule_y)
        c.setFont(REGULAR, 13)
        c.drawCentredString(lx, h - self.number_y, self.number)
        c.setFont(ITALIC, self.date_size)
        c.drawCentredString(rx, h - self.number_y, self.date)
        if self.number_blank:  # the registry's number goes right against the slash
            x0 = lx - _width(self.number, REGULAR, 13) / 2
            start = x0 + _width("Số: ", REGULAR, 13)
            end = x0 + _width(self.number[:self.number.index("/")], REGULAR, 13)
            _registry_field(c, "so", start, h - self.number_y, end - start, 13)
        x0 = rx - _width(self.date, ITALIC, self.date_size) / 2
        for name, first, last in self.date_spans:
            start = x0 + _width(self.date[:first], ITALIC, self.date_size)
            end = x0 + _width(self.date[:last], ITALIC, self.date_size)
            _registry_field(c, name, start, h - self.number_y, end - start, self.date_size)


def _registry_field(c: Canvas, name: str, x: float, baseline: float, width: float, size: float) -> None:
    """An empty, read-only, borderless text field over a blank of a line, for the registry.

    Filling it later (an incremental update) is a form fill, which leaves the leader's
    signature valid; printed blank, it is filled in by hand as on paper.  One font for all
    the fields (the filler draws the date in italics): with two, the form's resources get two
    ``/Font`` entries.
    """
    c.acroForm.textfield(
        name=name, value="", x=x, y=baseline - size * 0.3, width=width, height=size * 1.25,
        borderWidth=0, fillColor=None, borderColor=None, textColor=colors.black, fontName="Times-Roman",
        fontSize=size, fieldFlags="readOnly", annotationFlags="print", forceBorder=False,
        relative=True, maxlen=12)


class _Rule(Flowable):
    """A short centred horizontal rule."""

    def __init__(self, length: float, width: float, space_before: float = 2, space_after: float = 0):
        super().__init__()
        self.length = length
        self.width = width
        self.space_before = space_before
        self.space_after = space_after

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return self.width, self.space_before + self.space_after + 1

    def draw(self) -> None:
        c = self.canv
        c.setStrokeColor(colors.black)
        c.setLineWidth(LINE_WIDTH)
        y = self.space_after + 0.5
        c.line((self.width - self.length) / 2, y, (self.width + self.length) / 2, y)


@dataclass
class _Layout:
    """What the build learnt about the page layout."""

    signature_page: int = -1  # 0-based
    signature_rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    signature_page_size: tuple[float, float] = (PAGE_W, PAGE_H)
    pages: int = 0


class _SignatureSpace(Flowable):
    """The blank space for the signature and seal images; records where it lands."""

    def __init__(self, width: float, height: float, layout: _Layout):
        super().__init__()
        self.width = width
        self.height = height
        self.layout = layout

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        a, b, c_, d, e, f = self.canv._currentMatrix
        x0, y0 = e, f
        x1, y1 = a * self.width + c_ * self.height + e, b * self.width + d * self.height + f
        self.layout.signature_page = self.canv.getPageNumber() - 1
        self.layout.signature_rect = (
            round(min(x0, x1), 2),
            round(min(y0, y1), 2),
            round(abs(x1 - x0), 2),
            round(abs(y1 - y0), 2),
        )
        self.layout.signature_page_size = tuple(self.canv._pagesize)  # type: ignore[assignment]


# --- the fast plain-text table for the annex ------------------------------------------------


class _FastWrapper:
    """Greedy word wrapping with cached word widths (titles repeat their words a lot)."""

    def __init__(self, font: str, size: float):
        self.font = font
        self.size = size
        self._face = pdfmetrics.getFont(font)
        self._words: dict[str, float] = {}
        self.space = self.word(" ")
        self._texts: dict[tuple[str, float], tuple[str, ...]] = {}

    def word(self, w: str) -> float:
        width = self._words.get(w)
        if width is None:
            width = self._words[w] = float(self._face.stringWidth(w, self.size))
        return width

    def wrap_cached(self, text: str, width: float) -> tuple[str, ...]:
        key = (text, width)
        lines = self._texts.get(key)
        if lines is None:
            lines = self._texts[key] = self.wrap(text, width)
        return lines

    def wrap(self, text: str, width: float) -> tuple[str, ...]:
        words = text.split()
        if not words:
            return ("",)
        out: list[str] = []
        cur: list[str] = []
        cur_w = 0.0
        space = self.space
        word = self.word
        for w in words:
            ww = word(w)
            if ww > width:  # a word longer than the column: break it by characters
                if cur:
                    out.append(" ".join(cur))
                    cur, cur_w = [], 0.0
                piece = ""
                for ch in w:
                    if piece and word(piece + ch) > width:
                        out.append(piece)
                        piece = ""
                    piece += ch
                cur, cur_w = [piece], word(piece)
                continue
            if not cur:
                cur, cur_w = [w], ww
            elif cur_w + space + ww <= width:
                cur.append(w)
                cur_w += space + ww
            else:
                out.append(" ".join(cur))
                cur, cur_w = [w], ww
        if cur:
            out.append(" ".join(cur))
        return tuple(out)


@dataclass
class _GridSpec:
    """The shared data of a ``_GridTable`` and of all the parts it splits into."""

    col_widths: list[float]
    aligns: str  # one of "LCR" per column
    header: list[tuple[str, ...]]
    rows: list[tuple[tuple[str, ...], ...]]
    heights: list[float]
    font: str
    bold: str
    size: float
    leading: float
    pad_top: float
    pad_bottom: float
    pad_x: float
    total_span: int = 0  # the last row is a total row whose first cell spans this many columns
    progress: Callable[[int, int], None] | None = None
    cancelled: Callable[[], bool] | None = None
    header_h: float = 0.0
    prefix: list[float] = field(default_factory=list)
    col_x: list[float] = field(default_factory=list)
    unique_cols: frozenset[int] = frozenset()  # columns whose text rarely repeats (no cache)
    done: int = 0
    next_report: int = 0
    header_cache: list[dict[str, tuple[float, str]]] = field(default_factory=list)
    cell_cache: list[dict[str, tuple[float, str]]] = field(default_factory=list)
    total_cache: dict[str, tuple[float, str]] = field(default_factory=dict)
    encoders: dict[str, _TextEncoder] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.header_cache = [{} for _ in self.col_widths]
        self.cell_cache = [{} for _ in self.col_widths]
        n_lines = max((len(c) for c in self.header), default=1)
        self.header_h = n_lines * self.leading + self.pad_top + self.pad_bottom
        self.prefix = [0.0, *itertools.accumulate(self.heights)]
        self.col_x = [0.0, *itertools.accumulate(self.col_widths)]

    @property
    def width(self) -> float:
        return self.col_x[-1]


class _TextEncoder:
    """PDF text operators for one TrueType font in one document, fast.

    ReportLab's own path (``splitString`` then ``escapePDF``) loops over every character
    in Python.  Here a line whose characters all sit in the font's first subset is
    encoded and escaped by one ``str.translate``; any other line goes through ReportLab,
    which assigns its new characters exactly as it would have, then the table learns them.
    """

    def __init__(self, font: Any, canv: Canvas, size: float):
        self.font = font
        self.doc = canv._doc
        self.escape = canv._escape
        self.size = f"{size:g}"
        self.first: set[str] = set()  # characters of subset 0
        self.table: dict[int, str] = {}  # their escaped codes
        self.name0 = ""

    def encode(self, text: str) -> str:
        if self.name0 and self.first.issuperset(text):
            return f"{self.name0} {self.size} Tf ({text.translate(self.table)}) Tj"
        font, doc = self.font, self.doc
        out = " ".join(
            f"{font.getSubsetInternalName(subset, doc)} {self.size} Tf ({self.escape(chunk)}) Tj"
            for subset, chunk in font.splitString(text, doc)
        )
        if not self.name0:
            self.name0 = font.getSubsetInternalName(0, doc)
        assignments = font.state[doc].assignments
        for ch in set(text):
            code = assignments.get(ord(ch))
            if code is not None and code < 256:
                self.first.add(ch)
                self.table[ord(ch)] = self.escape(bytes((code,)))
        return out


class RenderCancelled(Exception):
    """The person cancelled the build (``cancelled()`` returned True)."""


class _GridTable(Flowable):
    """Rows ``start:end`` of a plain-text grid, header repeated on every page."""

    def __init__(self, spec: _GridSpec, start: int, end: int):
        super().__init__()
        self.spec = spec
        self.start = start
        self.end = end

    def _rows_height(self, a: int, b: int) -> float:
        return self.spec.prefix[b] - self.spec.prefix[a]

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        self.width = self.spec.width
        self.height = self.spec.header_h + self._rows_height(self.start, self.end)
        return self.width, self.height

    def split(self, aw: float, ah: float) -> list[Flowable]:
        spec = self.spec
        room = ah - spec.header_h
        if room <= 0:
            return []
        limit = spec.prefix[self.start] + room + 1e-6
        k = bisect.bisect_right(spec.prefix, limit, lo=self.start) - 1
        k = min(k, self.end)
        if k <= self.start:
            return []
        return [_GridTable(spec, self.start, k), _GridTable(spec, k, self.end)]

    # drawing: PDF operators written straight into the page, one text object per page

    def _encode(self, font_name: str, text: str) -> str:
        """``/F1+0 11 Tf (…) Tj`` for one line of text."""
        enc = self.spec.encoders.get(font_name)
        if enc is None:
            enc = self.spec.encoders[font_name] = _TextEncoder(
                pdfmetrics.getFont(font_name), self.canv, self.spec.size
            )
        return enc.encode(text)

    def _placed(self, cache: dict[str, tuple[float, str]], font_name: str, text: str,
                width: float, align: str) -> tuple[float, str]:
        """``(x offset in the column, operators)`` of a line, cached per column."""
        item = cache.get(text)
        if item is None:
            pad = self.spec.pad_x
            if align == "L":
                dx = pad
            else:
                w = _width(text, font_name, self.spec.size)
                dx = width - pad - w if align == "R" else (width - w) / 2
            item = cache[text] = (dx, self._encode(font_name, text))
        return item

    def draw(self) -> None:
        spec = self.spec
        if spec.cancelled is not None and spec.cancelled():
            raise RenderCancelled()
        ops: list[str] = ["q 0 g 0 G", f"{LINE_WIDTH} w"]
        out = ops.append
        size = spec.size
        lead = spec.leading
        col_x = spec.col_x
        col_w = spec.col_widths
        top = self.height
        x_end = spec.width
        heights = spec.heights
        rows = spec.rows
        last = len(rows) - 1
        # grid: a line above and below every row, the column lines
        row_tops = [top, top - spec.header_h]
        y = top - spec.header_h
        for i in range(self.start, self.end):
            y -= heights[i]
            row_tops.append(y)
        for yy in row_tops:
            out(f"0 {yy:.2f} m {x_end:.2f} {yy:.2f} l")
        has_total = spec.total_span > 1 and self.end - 1 == last
        bottom_plain = row_tops[-2] if has_total else row_tops[-1]
        for j, x in enumerate(col_x):
            out(f"{x:.2f} {top:.2f} m {x:.2f} {bottom_plain:.2f} l")
            if has_total and (j == 0 or j >= spec.total_span):
                out(f"{x:.2f} {bottom_plain:.2f} m {x:.2f} {row_tops[-1]:.2f} l")
        out("S BT")
        placed = self._placed
        # header: bold, centred both ways
        for j, lines in enumerate(spec.header):
            free = spec.header_h - spec.pad_top - spec.pad_bottom - len(lines) * lead
            base = top - spec.pad_top - free / 2 - size
            for k, s in enumerate(lines):
                dx, enc = placed(spec.header_cache[j], spec.bold, s, col_w[j], "C")
                out(f"1 0 0 1 {col_x[j] + dx:.2f} {base - k * lead:.2f} Tm {enc}")
        y = top - spec.header_h
        caches = spec.cell_cache
        aligns = spec.aligns
        font = spec.font
        pad_x = spec.pad_x
        encode = self._encode
        stop = min(self.end, last) if spec.total_span > 1 else self.end
        for i in range(self.start, stop):
            base = y - spec.pad_top - size
            for j, lines in enumerate(rows[i]):
                if not lines:
                    continue
                x0 = col_x[j]
                if j in spec.unique_cols:  # long unique text (titles): no cache
                    for k, s in enumerate(lines):
                        if s:
                            out(f"1 0 0 1 {x0 + pad_x:.2f} {base - k * lead:.2f} Tm "
                                f"{encode(font, s)}")
                    continue
                cache = caches[j]
                for k, s in enumerate(lines):
                    if s:
                        dx, enc = placed(cache, font, s, col_w[j], aligns[j])
                        out(f"1 0 0 1 {x0 + dx:.2f} {base - k * lead:.2f} Tm {enc}")
            y -= heights[i]
        if has_total:
            base = y - spec.pad_top - size
            row = rows[last]
            for j, lines in enumerate(row):
                if j and j < spec.total_span:
                    continue
                x0, w = (0.0, col_x[spec.total_span]) if j == 0 else (col_x[j], col_w[j])
                align = "C" if j == 0 else aligns[j]
                for k, s in enumerate(lines):
                    dx, enc = placed(spec.total_cache, spec.bold, s, w, align)
                    out(f"1 0 0 1 {x0 + dx:.2f} {base - k * lead:.2f} Tm {enc}")
        out("ET Q")
        self.canv._code.append("\n".join(ops))
        spec.done += self.end - self.start
        if spec.progress is not None and (spec.done >= spec.next_report or self.end == len(rows)):
            spec.progress(spec.done, len(rows))
            spec.next_report = spec.done + max(1, len(rows) // 50)


# --- the document ----------------------------------------------------------------------


_FIG_HEADERS = (
    "Số hoạt động",
    "Số tin, bài, sản phẩm",
    "Số buổi, lượt",
    "Thời lượng (phút)",
    "Số lượt người được tiếp cận",
)

_MULTI_NOTE = (
    "Ghi chú: một hoạt động có thể được tính ở nhiều dòng của bảng này, "
    "vì vậy không cộng các dòng để ra tổng số hoạt động."
)

_GAP_KINDS = {"objective": "Mục tiêu", "task": "Nhiệm vụ", "form": "Hình thức"}

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


_REACH_ORDER = ("Giới tính", "Dân tộc", "Đối tượng")


def _ordered_reach(reach_by: dict[str, list[tuple[str, int]]]) -> dict[str, list[tuple[str, int]]]:
    """The breakdowns in a fixed order: stored contents (JSON, sorted keys) lose dict order."""
    known = [k for k in _REACH_ORDER if reach_by.get(k)]
    rest = sorted(k for k, v in reach_by.items() if v and k not in _REACH_ORDER)
    return {k: list(reach_by[k]) for k in known + rest}


def _drawing(height: float) -> Drawing:
    d = Drawing(BODY_W, height)
    d.initialFontName = REGULAR  # else the renderer selects Helvetica first
    d.initialFontSize = 11
    return d


def _indicator_year(indicators: Sequence[IndicatorProgress]) -> int | None:
    """The year the indicator table speaks of; ``None`` if the rows disagree."""
    years = {i.year for i in indicators}
    return next(iter(years)) if len(years) == 1 else None


def _fig_values(f: Figures) -> list[int]:
    return [f.activities, f.items, f.sessions, f.minutes, f.reach]


TAIL_LINES = 2  # the lines of a long last paragraph that go over the page with the signature


class _HeadPart(Paragraph):
    """A paragraph that is the first part of a longer one (``_JustifyLast`` set): its last
    line is justified and no space follows it, also when it is split again over a page."""

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        parts: list[Flowable] = super().split(availWidth, availHeight)
        if len(parts) == 2 and getattr(self, "_JustifyLast", False):
            parts[1]._JustifyLast = 1  # type: ignore[attr-defined]
        return parts

    def getSpaceAfter(self) -> float:  # noqa: N802
        if getattr(self, "_JustifyLast", False):
            return 0.0
        return float(super().getSpaceAfter())


def _split_tail(para: Paragraph, tail: int) -> tuple[Paragraph, Paragraph] | None:
    """A body paragraph as two: all but its last ``tail`` lines, and those lines.

    Laid out one under the other they look exactly like the paragraph (same line breaks,
    the first part's last line justified, no space between them).  ``None`` for a
    paragraph too short to part (fewer than ``tail`` + 3 lines).
    """
    whole = _HeadPart(para.text, para.style)
    whole.wrap(BODY_W, PAGE_H)
    n = len(whole.blPara.lines)
    if n < tail + 3:
        return None
    parts = whole.split(BODY_W, (n - tail) * para.style.leading + 0.01)
    if len(parts) != 2:
        return None
    head, rest = parts
    head._JustifyLast = 1  # type: ignore[attr-defined]
    rest._JustifyLast = 0  # type: ignore[attr-defined]  # the paragraph's own last line
    return head, rest  # type: ignore[return-value]


class _Builder:
    """Builds the story (the list of flowables) for one report."""

    def __init__(self, content: ReportContent, layout: _Layout):
        self.c = content
        self.h = content.header
        self.s = _make_styles()
        self.layout = layout
        self.story: list[Flowable] = []
        self.table_no = 0
        self.chart_no = 0

    # helpers

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(text, style or self.s.body)

    def add(self, *flowables: Flowable) -> None:
        self.story.extend(flowables)

    def narrative(self, text: str, last: bool = False) -> None:
        paras = _paragraphs(text)
        if not paras:
            self.add(self.p("(Không có)./." if last else "(Không có.)"))
            return
        for i, para in enumerate(paras):
            if last and i == len(paras) - 1:
                para = para.rstrip()
                para = para[:-1] + "./." if para.endswith(".") else para + "./."
            self.add(self.p(_xml_escape(para)))

    def section(self, title: str, need: float = 0.0) -> None:
        """A numbered sub-heading; ``need``: room to keep for what follows (a table's top)."""
        if need:
            self.add(CondPageBreak(need))
        self.add(self.p(_x(title), self.s.h2))

    def caption(self, text: str) -> None:
        self.table_no += 1
        self.add(self.p(_x(f"Bảng {self.table_no}. {text}"), self.s.caption))

    # page 1 blocks

    def front(self) -> None:
        h = self.h
        self.add(_DocHeader(h, BODY_W), Spacer(1, 14))
        self.add(self.p("BÁO CÁO", self.s.title))
        subject = _line(h.subject)
        if subject:
            lines = _balanced_lines(subject, BOLD, 14, BODY_W)
            self.add(self.p("<br/>".join(_xml_escape(x) for x in lines), self.s.subject))
            widest = max(_width(x, BOLD, 14) for x in lines)
            self.add(_Rule(max(50.0, min(widest / 3, 150.0)), BODY_W, space_before=5))
        self.add(Spacer(1, 12))
        recipients = [_line(r).rstrip(".;,") for r in h.recipients if _line(r)]
        if len(recipients) == 1:
            self.add(self.p(_x(f"Kính gửi: {recipients[0]}."), self.s.centred))
        elif recipients:
            label = "Kính gửi:"
            label_w = _width(label, REGULAR, BODY_SIZE) + 8
            lines = [
                f"- {r}{'.' if i == len(recipients) - 1 else ';'}"
                for i, r in enumerate(recipients)
            ]
            text_w = min(
                max(_width(s, REGULAR, BODY_SIZE) for s in lines) + 6, BODY_W - label_w - 20
            )
            st = ParagraphStyle("recv", parent=self.s.centred, alignment=TA_LEFT)
            tbl = Table(
                [[self.p(label, st), [self.p(_x(s), st) for s in lines]]],
                colWidths=[label_w, text_w],
                hAlign="CENTER",
            )
            tbl.setStyle(TableStyle([
                ("FONT", (0, 0), (-1, -1), REGULAR, BODY_SIZE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]))
            self.add(tbl)
        if recipients:
            self.add(Spacer(1, 12))

    # tables

    def _table(self, data: list[list[Any]], widths: list[float], extra: list[tuple[Any, ...]],
               header_rows: int = 1) -> Table:
        tbl = Table(data, colWidths=widths, repeatRows=header_rows, hAlign="CENTER")
        style: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, -1), REGULAR, TABLE_SIZE, TABLE_LEADING),
            ("GRID", (0, 0), (-1, -1), LINE_WIDTH, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("VALIGN", (0, 0), (-1, header_rows - 1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
        tbl.setStyle(TableStyle(style + extra))
        return tbl

    def _num_width(self, values: Sequence[int], header_min: float = 50.0) -> float:
        widest = max((_width(fmt_int(v), BOLD, TABLE_SIZE) for v in values), default=0.0)
        return max(header_min, widest + 8)

    def figures_table(self, rows: list[Figures], label_head: str,
                      total: Figures | None = None, use_codes: bool = True) -> Table:
        s = self.s
        values = [v for f in [*rows, *([total] if total else [])] for v in _fig_values(f)]
        num_w = self._num_width(values, 52.0)
        code_w = 30.0
        if use_codes:
            code_w = max([30.0, *(_width(_line(f.code), REGULAR, TABLE_SIZE) + 8 for f in rows)])
        label_w = BODY_W - code_w - 5 * num_w
        data: list[list[Any]] = [
            [self.p("TT", s.cell_head), self.p(_x(label_head), s.cell_head)]
            + [self.p(_x(h), s.cell_head) for h in _FIG_HEADERS]
        ]
        extra: list[tuple[Any, ...]] = []
        for i, f in enumerate(rows, start=1):
            code = _line(f.code) if use_codes and _line(f.code) else str(i)
            bold = use_codes and f.level == 0 and any(r.level > 0 for r in rows)
            label_style = s.cell_bold if bold else s.cell
            if f.level > 0:
                label_style = ParagraphStyle(
                    f"lvl{f.level}", parent=s.cell, leftIndent=10 * f.level
                )
            data.append(
                [self.p(_x(code), s.cell_head if bold else s.cell_centre),
                 self.p(_x(f.label), label_style)]
                + [self.p(fmt_int(v), s.cell_num_bold if bold else s.cell_num)
                   for v in _fig_values(f)]
            )
        if total is not None:
            data.append(
                ["", self.p("Tổng cộng", s.cell_bold)]
                + [self.p(fmt_int(v), s.cell_num_bold) for v in _fig_values(total)]
            )
        return self._table(data, [code_w, label_w] + [num_w] * 5, extra)

    # sections

    def results(self) -> None:
        c, s = self.c, self.s
        t = c.totals
        empty = t.activities == 0
        self.add(self.p("II. KẾT QUẢ THỰC HIỆN", s.h1))
        for note in c.notes:
            for para in _paragraphs(note):
                self.add(self.p(_xml_escape(para), s.note))
        for para in _paragraphs(c.narrative.results_note):
            self.add(self.p(_xml_escape(para)))
        n = itertools.count(1)

        self.section(f"{next(n)}. Kết quả chung")
        period = _line(c.period_label)
        if "từ ngày" not in period:
            period = f"{period}, từ ngày {fmt_date(c.date_from)} đến ngày {fmt_date(c.date_to)}"
        plan = plan_reference(c)
        if _line(c.plan_title):
            plan += f" ({_line(c.plan_title)})"
        offices = c.by_office if c.scope == "all" else []
        if empty:
            self.add(self.p(_x(f"Thực hiện {plan}, kỳ báo cáo: {period}.")))
            self.add(self.p(_x(
                "Trong kỳ báo cáo, đơn vị chưa ghi nhận hoạt động truyền thông nào."
            )))
        elif offices:
            self.add(self.p(_x(
                f"Thực hiện {plan}, trong kỳ báo cáo ({period}), theo số liệu của "
                f"{fmt_int(len(offices))} đơn vị (kể cả báo cáo các đơn vị đã gửi về), đã có "
                f"{fmt_int(t.activities)} hoạt động truyền thông được tổ chức, với "
                f"{_figures_sentence(t)}."
            )))
        else:
            self.add(self.p(_x(
                f"Thực hiện {plan}, trong kỳ báo cáo ({period}), đơn vị đã tổ chức "
                f"{fmt_int(t.activities)} hoạt động truyền thông, với {_figures_sentence(t)}."
            )))

        if not empty and offices:
            self.section(f"{next(n)}. Kết quả theo đơn vị", 150)
            self.caption("Kết quả theo đơn vị")
            sums = [sum(v) for v in zip(*(_fig_values(f) for f in offices), strict=True)]
            total = t if sums == _fig_values(t) else None
            self.add(self.figures_table(offices, "Đơn vị", total, use_codes=False))
            if total is None:
                self.add(self.p(_x(_MULTI_NOTE), s.table_note))
            else:
                self.add(Spacer(1, 8))

        if not empty and c.by_form:
            self.section(f"{next(n)}. Kết quả theo hình thức truyền thông", 150)
            self.caption("Kết quả theo hình thức truyền thông")
            forms_sum = [sum(v) for v in zip(*(_fig_values(f) for f in c.by_form), strict=True)]
            total = t if forms_sum == _fig_values(t) else None
            self.add(self.figures_table(c.by_form, "Hình thức truyền thông", total))
            if total is None:
                self.add(self.p(_x(_MULTI_NOTE), s.table_note))
            else:
                self.add(Spacer(1, 8))
            chart = self.bar_chart(
                [_line(f.code) or str(i) for i, f in enumerate(c.by_form, 1)],
                [f.activities for f in c.by_form],
                "Số hoạt động truyền thông theo hình thức",
            )
            if chart:
                self.add(*chart)
        if not empty and c.by_objective:
            self.section(f"{next(n)}. Kết quả theo mục tiêu, nhiệm vụ của Kế hoạch", 150)
            self.caption("Kết quả theo mục tiêu, nhiệm vụ")
            self.add(self.figures_table(c.by_objective, "Mục tiêu, nhiệm vụ"))
            self.add(self.p(_x(_MULTI_NOTE), s.table_note))
        if not empty and c.by_programme:
            self.section(f"{next(n)}. Kết quả lồng ghép với các chương trình, đề án", 150)
            self.caption("Kết quả lồng ghép với các chương trình, đề án")
            self.add(self.figures_table(c.by_programme, "Chương trình, đề án"))
            self.add(self.p(_x(_MULTI_NOTE), s.table_note))
        if not empty and c.by_place:
            self.section(f"{next(n)}. Kết quả theo địa bàn", 150)
            self.caption("Kết quả theo địa bàn")
            sums = [sum(v) for v in zip(*(_fig_values(f) for f in c.by_place), strict=True)]
            total = t if sums == _fig_values(t) else None
            self.add(self.figures_table(c.by_place, "Địa bàn", total, use_codes=False))
            if total is None:
                self.add(self.p(_x(_MULTI_NOTE), s.table_note))
            else:
                self.add(Spacer(1, 8))
        if not empty and c.by_language:
            self.section(f"{next(n)}. Kết quả theo ngôn ngữ truyền thông", 150)
            self.caption("Kết quả theo ngôn ngữ truyền thông")
            self.add(self.figures_table(c.by_language, "Ngôn ngữ", use_codes=False))
            self.add(self.p(_x(_MULTI_NOTE), s.table_note))
        reach = _ordered_reach(c.reach_by)
        if not empty and reach:
            self.section(f"{next(n)}. Đối tượng được tiếp cận", 200)
            self.add(self.p(_x(
                f"Tổng số lượt người được tiếp cận trong kỳ: {fmt_int(t.reach)} lượt người; "
                "chia theo giới tính, dân tộc và đối tượng như sau:"
            )))
            self.caption("Số lượt người được tiếp cận theo nhóm")
            self.add(self.reach_table(reach, t.reach))
            self.add(Spacer(1, 8))
        if c.indicators:
            self.section(f"{next(n)}. Tiến độ thực hiện các chỉ tiêu", 150)
            self.caption("Tiến độ thực hiện các chỉ tiêu")
            self.add(self.indicator_table(c.indicators))
            self.add(self.p(_x(self.indicator_note(c.indicators)), s.table_note))
            chart_rows = [
                (_line(i.code), i.percent_of_year) for i in c.indicators
                if i.percent_of_year is not None
            ]
            chart = self.bar_chart(
                [code for code, _p in chart_rows],
                [p or 0.0 for _code, p in chart_rows],
                "Tỷ lệ thực hiện so với kế hoạch năm (%)",
                fmt=lambda v: fmt_pct(v) + "%",
            )
            if chart:
                self.add(*chart)
        if c.comparison and any(x.current or x.previous for x in c.comparison):
            label = _line(c.comparison_label) or "cùng kỳ năm trước"
            self.section(f"{next(n)}. So sánh với {label}", 150)
            self.caption(f"So sánh với {label}")
            self.add(self.comparison_table(label))
            self.add(Spacer(1, 8))
            chart = self.comparison_chart(label)
            if chart:
                self.add(*chart)
        self.section(f"{next(n)}. Mục tiêu, hình thức chưa có hoạt động trong kỳ")
        if c.gaps:
            self.add(self.p(_x(
                "Các mục tiêu, nhiệm vụ, hình thức truyền thông sau chưa có hoạt động trong kỳ:"
            )))
            for g in c.gaps:
                kind = _GAP_KINDS.get(g.kind, "")
                code = _line(g.code)
                text = f"- {kind} {code}: {_line(g.label)}" if code else f"- {kind}: {_line(g.label)}"
                reason = _line(g.nil_reason)
                text += f" (lý do: {reason.rstrip('.')})." if reason else "."
                self.add(self.p(_x(text)))
        else:
            self.add(self.p(_x(
                "Tất cả các mục tiêu, nhiệm vụ và hình thức truyền thông của Kế hoạch "
                "đều có hoạt động trong kỳ."
            )))
        for stmt in c.nil_statements:
            for para in _paragraphs(stmt):
                self.add(self.p(_xml_escape(para)))

    def reach_table(self, reach: dict[str, list[tuple[str, int]]], total: int) -> Table:
        s = self.s
        num_w = self._num_width([v for rows in reach.values() for _l, v in rows], 70.0)
        pct_w = 70.0
        code_w = 30.0
        label_w = BODY_W - code_w - num_w - pct_w
        data: list[list[Any]] = [[
            self.p("TT", s.cell_head), self.p("Nhóm", s.cell_head),
            self.p("Số lượt người", s.cell_head), self.p(_x("Tỷ lệ so với tổng số (%)"), s.cell_head),
        ]]
        extra: list[tuple[Any, ...]] = []
        for k, (category, rows) in enumerate(reach.items()):
            r = len(data)
            data.append([self.p(_ROMAN[k] if k < len(_ROMAN) else str(k + 1), s.cell_bold),
                         self.p(_x(f"Theo {_line(category).lower()}"), s.cell_bold), "", ""])
            extra.append(("SPAN", (1, r), (3, r)))
            for i, (label, people) in enumerate(rows, start=1):
                pct = fmt_pct(100.0 * people / total) if total else ""
                data.append([self.p(str(i), s.cell_centre), self.p(_x(label), s.cell),
                             self.p(fmt_int(people), s.cell_num), self.p(pct, s.cell_num)])
        return self._table(data, [code_w, label_w, num_w, pct_w], extra)

    NAME_MIN = 140.0  # the indicator name column's least width

    def indicator_table(self, indicators: list[IndicatorProgress]) -> Table:
        """Bảng: code, name, unit, [year target], value of the year, [% of the year target],
        milestone targets, [cumulative].

        The columns in brackets are left out when no indicator has a value for them (a plan
        may set targets only for its milestone years: then there is no year target to
        print, nor a percentage of it); so is the milestone of the report's own year when
        it only repeats the year target.
        """
        s = self.s
        year = _indicator_year(indicators)
        has_target = any(i.year_target is not None for i in indicators)
        years = sorted({y for i in indicators for y, _v in i.milestones})
        if has_target and year in years and all(
            dict(i.milestones).get(year) in (None, i.year_target) for i in indicators
        ):
            years.remove(year)  # the milestone of the report's year is its year target
        has_cumulative = any(i.cumulative is not None for i in indicators)
        of_year = f"năm {year}" if year else "trong năm"
        # (header, cell text per indicator, a width that keeps the header to 4 lines)
        cols: list[tuple[str, list[str], float]] = []
        if has_target:
            cols.append((f"Kế hoạch năm {year}" if year else "Kế hoạch năm",
                         [fmt_measure(i.year_target, i.unit) for i in indicators], 48.0))
        cols.append((f"Thực hiện {of_year} (đến hết kỳ báo cáo)",
                     [fmt_measure(i.year_value, i.unit) for i in indicators], 60.0))
        if has_target:
            cols.append(("Đạt so với kế hoạch năm (%)",
                         [fmt_pct(i.percent_of_year) for i in indicators], 50.0))
        for y in years:
            cols.append((f"Mục tiêu năm {y}",
                         [fmt_measure(dict(i.milestones).get(y), i.unit) for i in indicators],
                         48.0))
        if has_cumulative:
            cols.append(("Lũy kế từ đầu Kế hoạch",
                         [fmt_measure(i.cumulative, i.unit) for i in indicators], 52.0))
        pad = 8.0  # the cell's left and right padding, and a little air
        code_w = max([30.0, *(_width(_line(i.code), REGULAR, SMALL_TABLE_SIZE) + pad
                              for i in indicators)])
        unit_w = max([40.0, *(min(_width(_line(i.unit), REGULAR, SMALL_TABLE_SIZE) + pad, 46.0)
                              for i in indicators)])
        # each figure column as wide as its header wants, but the name keeps NAME_MIN: the
        # figure columns then give up width, down to their widest figure (headers wrap more)
        least = [max([40.0, *(_width(v, REGULAR, SMALL_TABLE_SIZE) + pad for v in values)])
                 for _h, values, _w in cols]
        num_ws = [max(w, lo) for (_h, _v, w), lo in zip(cols, least, strict=True)]
        short = self.NAME_MIN - (BODY_W - code_w - unit_w - sum(num_ws))
        slack = sum(w - lo for w, lo in zip(num_ws, least, strict=True))
        if short > 0 and slack > 0:
            give = min(1.0, short / slack)
            num_ws = [w - (w - lo) * give for w, lo in zip(num_ws, least, strict=True)]
        name_w = BODY_W - code_w - unit_w - sum(num_ws)
        heads = ["Mã", "Chỉ tiêu", "Đơn vị tính", *(h for h, _v, _w in cols)]
        data: list[list[Any]] = [[self.p(_x(h), s.small_head) for h in heads]]
        for k, ind in enumerate(indicators):
            data.append([
                self.p(_x(ind.code), s.small_centre),
                self.p(_x(ind.name), s.small_cell),
                self.p(_x(ind.unit), s.small_centre),
                *(self.p(values[k], s.small_num) for _h, values, _w in cols),
            ])
        return self._table(data, [code_w, name_w, unit_w, *num_ws], [])

    def indicator_note(self, indicators: list[IndicatorProgress]) -> str:
        """What the columns of the indicator table count, in a sentence or three."""
        year = _indicator_year(indicators)
        of_year = f"năm {year}" if year else "trong năm"
        counted = any(i.measure != "manual" for i in indicators)
        manual = any(i.measure == "manual" for i in indicators)
        parts = []
        if counted and manual:
            parts.append(
                f"Cột “Thực hiện {of_year}”: với chỉ tiêu tính từ sổ theo dõi hoạt động, là "
                f"số liệu từ đầu {of_year} đến hết kỳ báo cáo; với chỉ tiêu đơn vị tự đánh giá, "
                f"là số liệu đơn vị báo cáo cho {of_year}."
            )
        elif counted:
            parts.append(f"Cột “Thực hiện {of_year}”: số liệu từ đầu {of_year} đến hết kỳ "
                         "báo cáo, tính từ sổ theo dõi hoạt động.")
        else:
            parts.append(f"Cột “Thực hiện {of_year}”: số liệu đơn vị báo cáo cho {of_year}.")
        if any(i.cumulative is not None for i in indicators):
            parts.append("Cột “Lũy kế”: từ năm đầu thực hiện Kế hoạch đến hết kỳ báo cáo.")
        if not any(i.year_target is not None for i in indicators):
            years = sorted({y for i in indicators for y, _v in i.milestones})
            if years:
                named = ", ".join(str(y) for y in years)
                parts.append(f"Kế hoạch chưa giao chỉ tiêu riêng cho {of_year}; tiến độ được "
                             f"đối chiếu với mục tiêu các năm {named}.")
        return "Ghi chú: " + " ".join(parts)

    def comparison_table(self, label: str) -> Table:
        s = self.s
        heads = ["TT", "Nội dung", "Kỳ báo cáo", label[:1].upper() + label[1:],
                 "Tăng (+), giảm (-)", "Tỷ lệ so với cùng kỳ (%)"]
        values = [v for x in self.c.comparison for v in (x.current, x.previous)]
        num_w = self._num_width(values, 64.0)
        widths = [30.0, 0.0, num_w, num_w, num_w, 64.0]
        widths[1] = BODY_W - sum(widths)
        data: list[list[Any]] = [[self.p(_x(h), s.cell_head) for h in heads]]
        for i, x in enumerate(self.c.comparison, start=1):
            ratio = fmt_pct(100.0 * x.current / x.previous) if x.previous else ""
            data.append([
                self.p(str(i), s.cell_centre), self.p(_x(x.label), s.cell),
                self.p(fmt_int(x.current), s.cell_num), self.p(fmt_int(x.previous), s.cell_num),
                self.p(fmt_signed(x.current - x.previous), s.cell_num), self.p(ratio, s.cell_num),
            ])
        return self._table(data, widths, [])

    # charts

    def _chart_caption(self, text: str) -> Paragraph:
        self.chart_no += 1
        st = ParagraphStyle("chart_caption", parent=self.s.table_note, alignment=TA_CENTER)
        return self.p(_x(f"Biểu đồ {self.chart_no}. {text}"), st)

    def bar_chart(self, names: list[str], values: Sequence[float], caption: str,
                  fmt: Callable[[float], str] = fmt_int) -> list[Flowable] | None:
        if not values or not any(values):
            return None
        n = len(values)
        bar_h = 16.0
        height = n * (bar_h + 8) + 36
        label_w = max(_width(x, REGULAR, 11) for x in names) + 12
        d = _drawing(height)
        ch = HorizontalBarChart()
        ch.x = 40 + label_w
        ch.y = 24
        ch.width = BODY_W - ch.x - 70
        ch.height = height - 32
        ch.data = [list(reversed(list(values)))]
        ch.categoryAxis.categoryNames = list(reversed(names))
        ch.categoryAxis.labels.fontName = REGULAR
        ch.categoryAxis.labels.fontSize = 11
        ch.categoryAxis.labels.boxAnchor = "e"
        ch.categoryAxis.labels.dx = -4
        ch.valueAxis.valueMin = 0
        ch.valueAxis.labels.fontName = REGULAR
        ch.valueAxis.labels.fontSize = 10
        # round axis ticks ("50"; the caption says "%"); the bars carry the exact figure ("48,7%")
        ch.valueAxis.labelTextFormat = fmt_int
        ch.valueAxis.visibleGrid = 1
        ch.valueAxis.gridStrokeColor = colors.Color(0.8, 0.8, 0.8)
        ch.valueAxis.gridStrokeWidth = 0.4
        ch.bars[0].fillColor = colors.Color(0.25, 0.25, 0.25)
        ch.bars.strokeWidth = 0
        ch.barLabelFormat = fmt
        ch.barLabels.fontName = REGULAR
        ch.barLabels.fontSize = 10
        ch.barLabels.boxAnchor = "w"
        ch.barLabels.dx = 3
        ch.barWidth = bar_h
        d.add(ch)
        return [KeepTogether([d, self._chart_caption(caption)])]

    def comparison_chart(self, label: str) -> list[Flowable] | None:
        rows = self.c.comparison
        if not rows or not any(x.current or x.previous for x in rows):
            return None
        wrapper = _FastWrapper(REGULAR, 11)
        # a line per form ("F1. Phương tiện …") is named by its code: the table has the label
        short = {f"{_line(f.code)}. {_line(f.label)}": f"Hình thức {_line(f.code)}"
                 for f in self.c.by_form if _line(f.code)}
        wrapped = [wrapper.wrap(short.get(_line(x.label), _line(x.label)), 135) for x in rows]
        names = ["\n".join(w) for w in wrapped]
        # each line scaled to its larger value (= 100): the lines have different units
        cur = [100.0 * x.current / max(x.current, x.previous, 1) for x in rows]
        prev = [100.0 * x.previous / max(x.current, x.previous, 1) for x in rows]
        n = len(rows)
        group_h = max(34.0, 12.0 * max(len(w) for w in wrapped) + 10)
        height = n * group_h + 50
        d = _drawing(height)
        ch = HorizontalBarChart()
        ch.x = 150
        ch.y = 36
        ch.width = BODY_W - ch.x - 70
        ch.height = height - 44
        ch.data = [list(reversed(prev)), list(reversed(cur))]  # series 0 at the bottom
        ch.categoryAxis.categoryNames = list(reversed(names))
        ch.categoryAxis.labels.fontName = REGULAR
        ch.categoryAxis.labels.fontSize = 11
        ch.categoryAxis.labels.boxAnchor = "e"
        ch.categoryAxis.labels.dx = -4
        ch.categoryAxis.labels.leading = 12
        ch.valueAxis.valueMin = 0
        ch.valueAxis.valueMax = 100
        ch.valueAxis.visible = 0
        ch.valueAxis.labels.fontName = REGULAR
        ch.barLabelFormat = "values"
        ch.barLabelArray = [
            [fmt_int(x.previous) for x in reversed(rows)],
            [fmt_int(x.current) for x in reversed(rows)],
        ]
        ch.barLabels.fontName = REGULAR
        ch.barLabels.fontSize = 10
        ch.barLabels.boxAnchor = "w"
        ch.barLabels.dx = 3
        ch.bars[0].fillColor = colors.Color(0.7, 0.7, 0.7)
        ch.bars[1].fillColor = colors.Color(0.2, 0.2, 0.2)
        ch.bars.strokeWidth = 0
        ch.barWidth = 12
        ch.groupSpacing = 10
        d.add(ch)
        legend = Legend()
        legend.x = ch.x
        legend.y = 14
        legend.fontName = REGULAR
        legend.fontSize = 11
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.deltax = 150
        legend.boxAnchor = "w"
        legend.colorNamePairs = [
            (colors.Color(0.2, 0.2, 0.2), "Kỳ báo cáo"),
            (colors.Color(0.7, 0.7, 0.7), label[:1].upper() + label[1:]),
        ]
        d.add(legend)
        return [KeepTogether([
            d,
            self._chart_caption(
                f"So sánh với {label} (độ dài cột tính theo giá trị lớn hơn của từng dòng)"
            ),
        ])]

    # ending and annex

    def ending(self) -> None:
        s, h = self.s, self.h
        right_w = BODY_W * 0.55
        left_w = BODY_W - right_w
        lines = distribution_lines(h)
        label = self.p("Nơi nhận:", s.recv_label)
        left: list[Flowable] = [label, *(self.p(_x(x), s.recv_line) for x in lines)]
        right: list[Flowable] = [
            self.p(_x(line.upper()), s.signer)
            for line in (_line(x) for x in _t(h.signer_title).splitlines()) if line
        ]
        right.append(_SignatureSpace(right_w - 8, SIGNATURE_SPACE_MM * mm, self.layout))
        if _line(h.signer_name):
            right.append(self.p(_x(h.signer_name), s.signer))
        # "Nơi nhận" beside the signer's title, signature space and name: the lines that fit
        # there go with them; a longer list goes on below, and may go on over the page
        right_h = sum(f.wrap(right_w - 8, PAGE_H)[1] for f in right)
        used = 3.0  # the top padding of the first row
        first = 0
        for f in left:
            fh = f.wrap(left_w, PAGE_H)[1]
            if first >= 2 and used + fh > right_h:
                break
            used += fh
            first += 1
        style = [
            ("FONT", (0, 0), (-1, -1), REGULAR, 12),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
        ]
        block = Table([[left[:first], right]], colWidths=[left_w, right_w])
        block.setStyle(TableStyle([
            *style,
            ("LEFTPADDING", (1, 0), (1, 0), 4),
            ("RIGHTPADDING", (1, 0), (1, 0), 4),
            ("TOPPADDING", (0, 0), (0, 0), 3),  # "Nơi nhận" level with the title's first line
        ]))
        # the signature never stands alone on a page: the body's last paragraph goes with it
        # (and its heading, when it is the only paragraph under it: a heading never ends a
        # page); of a long last paragraph only the last lines, so that the page before the
        # signature is not left half empty
        closing: list[Flowable] = []
        if self.story and isinstance(self.story[-1], Paragraph):
            last_para = self.story.pop()
            parts = _split_tail(last_para, TAIL_LINES)
            if parts is not None:
                self.story.append(parts[0])
                closing.append(parts[1])
            else:
                closing.append(last_para)
                prev = self.story[-1] if self.story else None
                if isinstance(prev, Paragraph) and prev.style.name in ("h1", "h2"):
                    closing.insert(0, self.story.pop())
        self.add(KeepTogether([*closing, Spacer(1, 8), block]))
        if left[first:]:
            more = Table([[f, ""] for f in left[first:]], colWidths=[left_w, right_w],
                         hAlign="CENTER")
            more.setStyle(TableStyle(style))
            self.add(more)

    def annex(self, progress: Callable[[int, int], None] | None,
              cancelled: Callable[[], bool] | None) -> None:
        c, h, s = self.c, self.h, self.s
        if not (c.include_annex and c.annex):
            return
        self.add(NextPageTemplate("annex"), PageBreak())
        ref = doc_reference(h.number, h.symbol)
        of = agency_in_sentence(h.agency)
        day = " " * 12 if h.date_blank else fmt_date(h.doc_date)
        sub = f"(Kèm theo Báo cáo số {ref} ngày {day}"
        sub += f" của {of})" if of else ")"
        self.add(self.p("Phụ lục", s.annex_title))
        self.add(self.p("DANH SÁCH HOẠT ĐỘNG TRUYỀN THÔNG", s.annex_title))
        self.add(self.p(_xml_escape(sub), s.annex_sub))
        forms = "; ".join(
            f"{_line(f.code)}: {_line(f.label)}" for f in c.by_form if _line(f.code)
        )
        if forms:
            self.add(self.p(_x(f"Hình thức truyền thông — {forms}."), s.annex_legend))
        self.add(_GridTable(*_annex_spec(c, progress, cancelled)))


def _short_languages(text: str) -> str:
    """``Tiếng Việt, Tiếng Thái`` → ``Việt, Thái`` (the column is headed "Ngôn ngữ (tiếng)")."""
    names = [_line(x) for x in _t(text).split(",")]
    out = []
    for name in names:
        if name[:6].lower() == "tiếng " and len(name) > 6:
            name = name[6:]
        if name:
            out.append(name)
    return ", ".join(out)


_OFFICE_PREFIXES = (("ủy ban nhân dân ", "UBND "), ("uỷ ban nhân dân ", "UBND "))


def short_office_name(name: str) -> str:
    """``Ủy ban nhân dân xã Mường Phăng`` → ``UBND xã Mường Phăng`` (a narrow annex column)."""
    text = _line(name)
    low = text.lower()
    for long, short in _OFFICE_PREFIXES:
        if low.startswith(long):
            return short + text[len(long):]
    return text


def _annex_spec(content: ReportContent, progress: Callable[[int, int], None] | None,
                cancelled: Callable[[], bool] | None) -> tuple[_GridSpec, int, int]:
    _ensure_fonts()
    size = SMALL_TABLE_SIZE
    leading = round(size * 1.15, 2)
    pad_top, pad_bottom, pad_x = 2.0, 3.0, 3.0
    reg = _FastWrapper(REGULAR, size)
    bold = _FastWrapper(BOLD, size)
    rows_in = content.annex
    n = len(rows_in)
    stt_w = max(34.0, reg.word(str(n)) + 2 * pad_x + 2)
    nums = [(r.items, r.sessions, r.minutes, r.reach) for r in rows_in]
    totals = [sum(col) for col in zip(*nums, strict=True)] if nums else [0, 0, 0, 0]
    num_ws = [max(44.0, bold.word(fmt_int(t)) + 2 * pad_x + 2) for t in totals]
    num_ws[3] = max(num_ws[3], 52.0)
    date_w = max(58.0, reg.word("30/12/2025") + 2 * pad_x + 1)
    # A report over received data names each activity's office, in a column of its own
    # (the title, place and language columns give up the room).
    by_office = content.scope == "all"
    if by_office:
        widths = [stt_w, date_w, 78.0, 40.0, 0.0, 72.0, 56.0, 56.0, *num_ws]
        title_col = 4
        heads = ["STT", "Ngày", "Đơn vị", "Hình thức", "Tên hoạt động", "Địa bàn",
                 "Ngôn ngữ (tiếng)", "Mục tiêu/ nhiệm vụ", "Số tin bài/ sản phẩm", "Số buổi/ lượt",
                 "Thời lượng (phút)", "Số lượt người"]
    else:
        widths = [stt_w, date_w, 40.0, 0.0, 84.0, 66.0, 56.0, *num_ws]
        title_col = 3
        heads = ["STT", "Ngày", "Hình thức", "Tên hoạt động", "Địa bàn", "Ngôn ngữ (tiếng)",
                 "Mục tiêu/ nhiệm vụ", "Số tin bài/ sản phẩm", "Số buổi/ lượt",
                 "Thời lượng (phút)", "Số lượt người"]
    widths[title_col] = ANNEX_W - sum(widths)
    header = [bold.wrap(hd, w - 2 * pad_x) for hd, w in zip(heads, widths, strict=True)]
    inner = [w - 2 * pad_x for w in widths]
    date_cache: dict[tuple[date, date | None], tuple[str, ...]] = {}
    int_cache: dict[int, tuple[str, ...]] = {}
    max_lines = 24
    rows: list[tuple[tuple[str, ...], ...]] = []
    heights: list[float] = []
    base_h = pad_top + pad_bottom
    wrap_title = reg.wrap
    wrap_short = reg.wrap_cached
    off = 1 if by_office else 0
    w_form, w_title, w_place, w_lang, w_obj = inner[2 + off: 7 + off]
    w_office = inner[2]
    office_cache: dict[str, tuple[str, ...]] = {}

    def num(v: int) -> tuple[str, ...]:
        cell = int_cache.get(v)
        if cell is None:
            cell = int_cache[v] = (fmt_int(v),)
        return cell

    for i, r in enumerate(rows_in, start=1):
        key = (r.date_start, r.date_end)
        dcell = date_cache.get(key)
        if dcell is None:
            if r.date_end is not None and r.date_end != r.date_start:
                if r.date_start.year == r.date_end.year:  # "11/01 -" over "13/01/2026"
                    dcell = (fmt_date(r.date_start)[:5] + " -", fmt_date(r.date_end))
                else:  # a narrow column: three lines for the rare range across a new year
                    dcell = (fmt_date(r.date_start), "-", fmt_date(r.date_end))
            else:
                dcell = (fmt_date(r.date_start),)
            date_cache[key] = dcell
        title = wrap_title(_line(r.title), w_title)
        if len(title) > max_lines:
            title = (*title[: max_lines - 1], title[max_lines - 1] + " …")
        place = wrap_short(_line(r.place), w_place)[:max_lines]
        langs = wrap_short(_short_languages(r.languages), w_lang)[:max_lines]
        objs = wrap_short(_line(r.objectives), w_obj)[:max_lines]
        form = wrap_short(_line(r.form_code), w_form)[:max_lines]
        row: tuple[tuple[str, ...], ...]
        if by_office:
            ocell = office_cache.get(r.office)
            if ocell is None:
                ocell = office_cache[r.office] = wrap_short(short_office_name(r.office), w_office)[:max_lines]
            row = ((str(i),), dcell, ocell, form, title, place, langs, objs,
                   num(r.items), num(r.sessions), num(r.minutes), num(r.reach))
            lines = max(len(dcell), len(ocell), len(title), len(place), len(langs), len(objs), len(form))
        else:
            row = ((str(i),), dcell, form, title, place, langs, objs,
                   num(r.items), num(r.sessions), num(r.minutes), num(r.reach))
            lines = max(len(dcell), len(title), len(place), len(langs), len(objs), len(form))
        rows.append(row)
        heights.append(base_h + leading * lines)
    rows.append((("Tổng cộng",), *([()] * (6 + off)), *(num(t) for t in totals)))
    heights.append(base_h + leading)
    spec = _GridSpec(
        col_widths=widths, aligns="CC" + "L" * off + "CLLLLRRRR", header=header, rows=rows,
        heights=heights, font=REGULAR, bold=BOLD, size=size, leading=leading, pad_top=pad_top,
        pad_bottom=pad_bottom, pad_x=pad_x, total_span=7 + off, progress=progress,
        cancelled=cancelled, unique_cols=frozenset({title_col}),
    )
    return spec, 0, len(rows)


# --- build -------------------------------------------------------------------------------


def _doc_subject_fallback(period_label: str) -> str:
    period = _line(period_label)
    return f"Báo cáo {period}" if period else "Báo cáo"


def doc_title(header: Header, period_label: str = "") -> str:
    """The PDF's title: ``Báo cáo số 05/BC-UBND: <trích yếu>``, or ``Báo cáo: <trích yếu>``
    while the number is left blank for the registry."""
    head = "Báo cáo"
    if doc_number(header.number):
        head += f" số {doc_reference(header.number, header.symbol)}"
    subject = _line(header.subject)
    if subject:
        return f"{head}: {subject}"
    period = _line(period_label)
    return f"{head} {period}" if period else head


@contextlib.contextmanager
def _binary_streams() -> Iterator[None]:
    """Plain Flate streams (no ASCII85 layer): smaller and faster; fixed for determinism."""
    old = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = old


_build_lock = threading.Lock()


def _doc_id(content: ReportContent) -> bytes:
    """The PDF file identifier: a digest of what identifies the content.

    Everything but the annex rows goes in as JSON; the annex rows (up to 100,000) by their
    identity and version, which is much faster than serialising them and as specific.
    """
    h = hashlib.sha256()
    h.update(replace(content, annex=[], activity_versions=[]).to_json().encode("utf-8"))
    for r in content.annex:
        h.update(f"\n{r.uuid}:{r.version}".encode())
    for uuid, version in content.activity_versions:
        h.update(f"\n{uuid}/{version}".encode())
    digest = h.hexdigest()[:32].upper()
    return (
        f"\n[<{digest}><{digest}>]\n% ReportLab generated PDF document -- digest (opensource)\n"
    ).encode("ascii")


def _build(content: ReportContent, out: Any, *, with_annex: bool = True,
           progress: Callable[[int, int], None] | None = None,
           cancelled: Callable[[], bool] | None = None) -> _Layout:
    _ensure_fonts()
    layout = _Layout()
    h = content.header
    if not with_annex:
        content = replace(content, annex=[], include_annex=False)
    builder = _Builder(content, layout)
    b, s = builder, builder.s
    b.front()
    b.add(b.p("I. CÔNG TÁC CHỈ ĐẠO, TRIỂN KHAI", s.h1))
    b.narrative(content.narrative.direction)
    b.results()
    b.add(b.p("III. ĐÁNH GIÁ CHUNG", s.h1))
    b.narrative(content.narrative.assessment)
    b.add(b.p("IV. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI", s.h1))
    b.narrative(content.narrative.next_steps)
    b.add(b.p("V. ĐỀ XUẤT, KIẾN NGHỊ", s.h1))
    b.narrative(content.narrative.proposals, last=True)
    b.ending()
    b.annex(progress, cancelled)

    def page_number(canv: Canvas, doc: BaseDocTemplate) -> None:
        if cancelled is not None and cancelled():
            raise RenderCancelled()
        n = canv.getPageNumber()
        if n > 1:
            w, hh = canv._pagesize
            canv.setFont(REGULAR, PAGE_NUMBER_SIZE)
            canv.setFillColor(colors.black)
            canv.drawCentredString(w / 2, hh - PAGE_NUMBER_FROM_TOP, str(n))

    portrait = PageTemplate(
        id="body",
        pagesize=A4,
        frames=[Frame(MARGIN_LEFT, MARGIN_BOTTOM, BODY_W, PAGE_H - MARGIN_TOP - MARGIN_BOTTOM,
                      0, 0, 0, 0, id="body")],
        onPage=page_number,
    )
    annex = PageTemplate(
        id="annex",
        pagesize=(ANNEX_PAGE_W, ANNEX_PAGE_H),
        frames=[Frame(ANNEX_MARGIN_LEFT, ANNEX_MARGIN_BOTTOM, ANNEX_W,
                      ANNEX_PAGE_H - ANNEX_MARGIN_TOP - ANNEX_MARGIN_BOTTOM, 0, 0, 0, 0,
                      id="annex")],
        onPage=page_number,
    )
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        pageTemplates=[portrait, annex],
        title=doc_title(h, content.period_label),
        author=_line(h.agency),
        subject=_line(h.subject) or _doc_subject_fallback(content.period_label),
        creator="dbcomm",
        keywords=[_line(content.plan_code)],
        invariant=1,
        pageCompression=1,
        initialFontName=REGULAR,
        initialFontSize=BODY_SIZE,
        lang="vi-VN",
        leftMargin=MARGIN_LEFT,
        rightMargin=MARGIN_RIGHT,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
    )
    pdf_date = f"D:{h.doc_date.year:04d}{h.doc_date.month:02d}{h.doc_date.day:02d}000000+07'00'"
    doc_id = _doc_id(content)

    def make_canvas(*args: Any, **kw: Any) -> Canvas:
        canv = Canvas(*args, **kw)
        canv.setDateFormatter(lambda *_a: pdf_date)
        canv._doc._ID = doc_id
        return canv

    with _build_lock, _binary_streams():
        doc.build(builder.story, canvasmaker=make_canvas)
    layout.pages = doc.page
    if progress is not None and not (content.include_annex and content.annex):
        progress(1, 1)  # no annex: the only report, at the end
    return layout


def render_pdf(content: ReportContent) -> bytes:
    """The report as PDF bytes; the same content always gives the same bytes."""
    buf = BytesIO()
    _build(content, buf)
    return buf.getvalue()


def render_pdf_with_layout(content: ReportContent) -> tuple[bytes, dict[str, Any]]:
    """``render_pdf`` plus ``layout_info`` from the same build."""
    buf = BytesIO()
    layout = _build(content, buf)
    return buf.getvalue(), _layout_dict(layout)


def render_pdf_to(
    content: ReportContent,
    path: str | os.PathLike[str],
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Write the report to ``path`` (atomically: a temporary file renamed at the end).

    ``progress(done, total)`` is called a few dozen times at most, with annex rows drawn
    and the number of annex rows (plus one total row), the last time with ``done == total``
    (without an annex: once, ``(1, 1)``, at the end); ``cancelled()`` is asked once per
    page, and a True answer stops the build with ``RenderCancelled``, leaving no file.
    Returns ``layout_info`` of the written document.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".pdf.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            layout = _build(content, fh, progress=progress, cancelled=cancelled)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return _layout_dict(layout)


def _layout_dict(layout: _Layout) -> dict[str, Any]:
    x, y, w, h = layout.signature_rect
    pw, ph = layout.signature_page_size
    return {
        "signature_page": layout.signature_page,
        "signature_rect": (x, y, w, h),
        "page_size": (round(pw, 2), round(ph, 2)),
        "pages": layout.pages,
    }


def layout_info(content: ReportContent) -> dict[str, Any]:
    """Where the signature space is, for stamping the signature and seal images.

    Returns ``{"signature_page": i, "signature_rect": (x, y, w, h), "page_size": (w, h),
    "pages": n}``: ``i`` is the 0-based page index, the rectangle is in points in PDF user
    space (origin at the bottom left of the page), ``w`` × ``h`` is the blank space between
    the signer's title and name (the width of the signature column, ``SIGNATURE_SPACE_MM``
    high).  The signature block comes before the annex, which always starts on a new page,
    so this lays out the document without its annex (fast even for a 100,000-row annex);
    ``pages`` therefore counts the body pages only.  ``render_pdf_with_layout`` and
    ``render_pdf_to`` give the same rectangle from the full build.
    """
    return _layout_dict(_build(content, BytesIO(), with_annex=False))


def signature_box(content: ReportContent) -> tuple[int, float, float, float, float]:
    """``(page index, x, y, width, height)`` of the signature space; see ``layout_info``."""
    info = layout_info(content)
    x, y, w, h = info["signature_rect"]
    return info["signature_page"], x, y, w, h
