"""Spreadsheet files made in the tests, as offices send them: merged headers over a title, dates
typed as text, Vietnamese thousands, empty rows, NFD text, formulas, a second sheet, old
encodings, and the files that must be refused (password, .xls, damaged, far too long)."""

from __future__ import annotations

import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from dbcomm.services.sheets.encodings import TCVN3

# --- an office's own log ------------------------------------------------------------------------

TITLE = "SỔ THEO DÕI HOẠT ĐỘNG TRUYỀN THÔNG VỀ XÂY DỰNG XÃ HỘI HỌC TẬP NĂM 2025"
HEADER_TOP = ["STT", "Ngày thực hiện", "Hình thức", "Nội dung tuyên truyền", "Địa bàn", "Mục tiêu",
              "Số lượt người nghe", None, None, "Thời lượng (phút)", "Kinh phí (đồng)", "Nguồn kinh phí", "Ghi chú"]
HEADER_LOW = [None, None, None, None, None, None, "Tổng số", "Nữ", "Nam", None, None, None, None]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def office_log_rows() -> list[list[Any]]:
    """The data rows of the office log (from sheet row 6), with every quirk the issue names."""
    return [
        [1, "05/03/2025", "Loa truyền thanh", "Tuyên truyền Ngày Sách và Văn hóa đọc", "Mường Phăng", "2.2",
         "1.234", 600, 634, 30, None, None, None],
        [2, datetime(2025, 4, 21), "F4", nfd("Hội thi “Gia đình học tập” cấp xã"), nfd("Xã Nà Tấu"), "2.1; 2.3",
         250, 130, 120, None, "1.500.000", "Ngân sách nhà nước", nfd("Phối hợp với Hội Khuyến học")],
        [None] * 13,  # an empty row in the middle
        [3, "7/5/25", "Báo chí", "Bài viết về mô hình Dòng họ học tập", "Thanh Nưa", "2.1", None, None, None,
         None, None, None, None],
        [4, "31/02/2025", "Loa truyền thanh", "Phát thanh lịch học tập cộng đồng", "Mường Phăng", "4.3", 80,
         None, None, 15, None, None, "ngày không có thật"],
        [5, "12/06/2025", "Loa truyền thanh", "Phát thanh bằng tiếng Thái", "Bản Co Líu", "4.3", 120, None, None,
         20, None, None, None],
        [6, "15/06/2025", "Hội nghị", "Hội nghị triển khai Kế hoạch", "Mường Phăng", "1.2", 95, None, None, None,
         "2.000.000", None, "kinh phí không rõ nguồn"],
        [7, "20/06/2025", "F3", "Phát thanh tổng hợp", "Mường Phăng", "4.3", "=G6+G7", None, None, 10, None,
         None, "công thức chưa tính"],
    ]


def office_log(path: Path, *, extra_rows: list[list[Any]] | None = None, with_formula_values: bool = False) -> Path:
    """A commune's log: a title and a blank row above a two-row header with merged cells, then rows.

    Row numbers in the sheet: 1 title (merged A1:M1), 2 blank, 3–4 header (merged), 5 the
    columns' numbers "(1)…(13)", data from row 6.  A second sheet holds last year's notes.
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Năm 2025"
    ws["A1"] = TITLE
    ws.merge_cells("A1:M1")
    ws.append([])
    ws.append(HEADER_TOP)
    ws.append(HEADER_LOW)
    ws.merge_cells("G3:I3")
    for col in "ABCDEFJKLM":
        ws.merge_cells(f"{col}3:{col}4")
    ws.append([f"({i})" for i in range(1, 14)])
    for row in office_log_rows() + (extra_rows or []):
        ws.append(row)
    # a totals row at the bottom, with a formula
    last = ws.max_row
    ws.append([None, "Tổng cộng", None, None, None, None, f"=SUM(G6:G{last})", None, None, None, None, None, None])
    notes = wb.create_sheet("Ghi chú 2024")
    notes.append(["Ngày", "Nội dung"])
    notes.append([date(2024, 12, 1), "Sổ năm trước lưu ở văn phòng"])
    wb.save(path)
    if with_formula_values:
        _set_cached_values(path)
    return path


def _set_cached_values(path: Path) -> None:
    """Write the values Excel would have computed into the file's formula cells (``<v>``)."""
    with zipfile.ZipFile(path) as src:
        items = {name: src.read(name) for name in src.namelist()}
    sheet = items["xl/worksheets/sheet1.xml"].decode("utf-8")
    sheet = sheet.replace("<f>G6+G7</f><v></v>", "<f>G6+G7</f><v>1484</v>").replace(
        "<f>G6+G7</f><v />", "<f>G6+G7</f><v>1484</v>")
    if "<v>1484</v>" not in sheet:
        sheet = sheet.replace("<f>G6+G7</f>", "<f>G6+G7</f><v>1484</v>")
    items["xl/worksheets/sheet1.xml"] = sheet.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in items.items():
            dst.writestr(name, data)


# --- simple workbooks ----------------------------------------------------------------------------


def workbook(path: Path, rows: list[list[Any]], *, title: str = "Sheet1", more: dict[str, list[list[Any]]] | None = None,
             hidden: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    for name, other in (more or {}).items():
        extra = wb.create_sheet(name)
        for row in other:
            extra.append(row)
        if name in hidden:
            extra.sheet_state = "hidden"
    wb.save(path)
    return path


def big_log(path: Path, n: int, *, places: list[str], year: int = 2025) -> Path:
    """``n`` activities in one sheet (streamed with openpyxl's write-only mode)."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Nhật ký")
    ws.append(["STT", "Ngày", "Hình thức", "Tên hoạt động", "Địa bàn", "Mục tiêu", "Số người", "Nữ", "Nam",
               "Số tin, bài", "Thời lượng (phút)", "Kinh phí", "Nguồn kinh phí"])
    forms = ["F1", "F2", "F3", "F4", "F5"]
    for i in range(n):
        day = date(year, 1 + i % 12, 1 + i % 28)
        reach = 40 + i % 500
        ws.append([i + 1, day, forms[i % 5], f"Hoạt động truyền thông số {i + 1} về học tập suốt đời",
                   places[i % len(places)], f"{1 + i % 4}.1", reach, reach // 2, reach - reach // 2, 1 + i % 3,
                   (i % 4) * 15, 500_000 if i % 7 == 0 else 0, "Ngân sách nhà nước" if i % 7 == 0 else None])
    wb.save(path)
    return path


def million_rows(path: Path, rows: int = 1_000_000) -> Path:
    """An .xlsx whose one sheet has ``rows`` data rows (written as raw XML: openpyxl would take minutes)."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    workbook_xml = ('<?xml version="1.0" encoding="UTF-8"?>'
                    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                    '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>')
    workbook_rels = ('<?xml version="1.0" encoding="UTF-8"?>'
                     '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                     'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", workbook_xml)
        z.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        with z.open("xl/worksheets/sheet1.xml", "w") as out:
            out.write(b'<?xml version="1.0" encoding="UTF-8"?>'
                      b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                      b'<dimension ref="A1:C1"/><sheetData>')  # a dimension that lies
            out.write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>Ng\xc3\xa0y</t></is></c>'
                      b'<c r="B1" t="inlineStr"><is><t>H\xc3\xacnh th\xe1\xbb\xa9c</t></is></c>'
                      b'<c r="C1" t="inlineStr"><is><t>T\xc3\xaan ho\xe1\xba\xa1t \xc4\x91\xe1\xbb\x99ng</t></is></c>'
                      b'</row>')
            chunk = []
            for r in range(2, rows + 2):
                chunk.append(f'<row r="{r}"><c r="A{r}"><v>45700</v></c><c r="B{r}" t="inlineStr"><is><t>F3</t>'
                             f'</is></c><c r="C{r}" t="inlineStr"><is><t>Phát thanh {r}</t></is></c></row>')
                if len(chunk) >= 10_000:
                    out.write("".join(chunk).encode("utf-8"))
                    chunk = []
            out.write("".join(chunk).encode("utf-8"))
            out.write(b"</sheetData></worksheet>")
    return path


# --- CSV in old encodings -----------------------------------------------------------------------

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_TCVN3_BYTES = {v: k for k, v in TCVN3.items()}


def encode_cp1258(text: str) -> bytes:
    """Text as Windows-1258 writes it: base letters precomposed where the code page has them,
    tones as combining marks."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONES))
        out += base.encode("cp1258") + "".join(p for p in parts if p in _TONES).encode("cp1258")
    return bytes(out)


def encode_tcvn3(text: str) -> bytes:
    """Lower-case Vietnamese as the TCVN3 (.VnTime) fonts store it; capitals with tones have no
    code of their own and are written with the lower-case code (the .VnTimeH font draws them)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in _TCVN3_BYTES:
            out.append(_TCVN3_BYTES[ch])
        elif ch.lower() in _TCVN3_BYTES:
            out.append(_TCVN3_BYTES[ch.lower()])
        else:
            out += ch.encode("ascii")
    return bytes(out)


# --- a password-protected workbook and an old .xls, as Excel writes them ------------------------


def protected_xlsx(path: Path, password: str = "khuyenhoc2025") -> Path:
    """The office log encrypted with a password the way Excel does it (ECMA-376 agile encryption:
    an OLE2 container holding "EncryptionInfo" and "EncryptedPackage")."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = office_log(path.with_name(path.stem + "-plain.xlsx"))
    with plain.open("rb") as src, path.open("wb") as out:
        OOXMLFile(src).encrypt(password, out)
    plain.unlink()
    return path


def old_xls(path: Path) -> Path:
    """A log saved in the old Excel 97–2003 format (BIFF8, an OLE2 "Workbook" stream)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Năm 2024")
    for r, row in enumerate([["Ngày", "Hình thức", "Nội dung tuyên truyền", "Số người"],
                             ["05/03/2024", "Loa truyền thanh", "Tuyên truyền Ngày Sách và Văn hóa đọc", 120],
                             ["12/04/2024", "Hội nghị", "Hội nghị triển khai Kế hoạch", 95]]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(path))
    return path
