"""Reading spreadsheets: old Vietnamese encodings, numbers and dates as offices type them, the
header found under a title and merged cells, and the files that are refused with a plain reason."""

from __future__ import annotations

import unicodedata
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest

from dbcomm.services.sheets import SheetFileError, SourceOptions, open_source, preview
from dbcomm.services.sheets import encodings as E
from dbcomm.services.sheets import values as V
from dbcomm.services.sheets.reading import rows
from sheet_files import (
    encode_cp1258,
    encode_tcvn3,
    million_rows,
    office_log,
    old_xls,
    protected_xlsx,
    workbook,
)

# --- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("stored", "expected"), [
    ("§iÖn Biªn", "Điện Biên"),
    ("Th¸i", "Thái"),
    ("M«ng", "Mông"),
    ("Céng hßa x· héi chñ nghÜa ViÖt Nam", "Cộng hòa xã hội chủ nghĩa Việt Nam"),
    ("§éc lËp - Tù do - H¹nh phóc", "Độc lập - Tự do - Hạnh phúc"),
    ("Tr\u00adêng häc", "Trường học"),
    ("Sè ng\u00adêi", "Số người"),
    ("QuyÕt ®Þnh", "Quyết định"),
    ("Kh¬ Mó", "Khơ Mú"),
])
def test_tcvn3_text_is_converted_to_unicode(stored, expected):
    assert E.from_tcvn3(stored) == expected


def test_the_tcvn3_table_covers_every_vietnamese_lower_case_letter_once():
    letters = set("aăâbcdđeêghiklmnoôơpqrstuưvxy")
    toned = {unicodedata.normalize("NFC", base + tone) for base in "aăâeêioôơuưy"
             for tone in ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")}
    needed = {ch for ch in letters | toned if not ch.isascii()}
    assert needed <= set(E.TCVN3.values())
    assert len(set(E.TCVN3.values())) == len(E.TCVN3)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258", "tcvn3", "utf-16"])
def test_each_encoding_is_detected_from_the_bytes(encoding):
    text = "Ngày thực hiện;Hình thức;Địa bàn;Số người\n05/03/2025;Loa truyền thanh;Mường Phăng;120\n" \
           "06/03/2025;Tiếng Thái, tiếng Mông;Điện Biên Đông;80\n"
    raw = {"utf-8": text.encode("utf-8"), "utf-8-sig": text.encode("utf-8-sig"), "cp1258": encode_cp1258(text),
           "tcvn3": encode_tcvn3(text), "utf-16": text.encode("utf-16")}[encoding]
    best = E.candidates(raw)[0]
    assert best.encoding == encoding
    assert E.decode(raw, best.encoding) .replace("\ufeff", "") == text


def test_windows_1258_combining_tones_become_precomposed_letters():
    raw = encode_cp1258("Việt")
    assert len(raw) == 5  # V i ê + combining dot below + t
    assert E.decode(raw, "cp1258") == "Việt"
    assert unicodedata.is_normalized("NFC", E.decode(raw, "cp1258"))


def test_tcvn3_text_inside_a_workbook_is_recognised_and_repaired(tmp_path):
    path = workbook(tmp_path / "vntime.xlsx", [
        ["Ngµy", "H×nh thøc", "Tªn ho¹t ®éng", "§Þa bµn"],
        ["05/03/2025", "Loa truyÒn thanh", "Tuyªn truyÒn häc tËp suèt ®êi", "M\u00adêng Ph¨ng"],
    ])
    info = open_source(path)
    assert info.encoding == "tcvn3"
    pv = preview(info)
    assert [c.header for c in pv.columns] == ["Ngày", "Hình thức", "Tên hoạt động", "Địa bàn"]
    assert pv.rows[0][1][3] == "Mường Phăng"
    # the person can say the text is fine as it is
    assert open_source(path, SourceOptions(encoding="unicode")).encoding is None


def test_a_unicode_workbook_is_not_mistaken_for_tcvn3(tmp_path):
    path = workbook(tmp_path / "ok.xlsx", [["Ngày", "Tên hoạt động", "Ghi chú"],
                                           ["05/03/2025", "Café sách ¼ giờ", "Hội thi “Gia đình học tập”"]])
    assert open_source(path).encoding is None


# --- numbers and dates -------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "expected"), [
    ("1.234", 1234), ("1.234.567", 1234567), ("1.500.000 đ", 1500000), ("1 234", 1234), ("45 phút", 45),
    ("1,234", 1234), (" 12 ", 12), ("-", 0), ("", 0), (None, 0), (250, 250), (250.0, 250),
    ("1.000.000,00", 1000000),
])
def test_vietnamese_numbers(cell, expected):
    assert V.whole(cell) == expected


def test_decimal_comma_and_point():
    assert V.number("1.234,5") == Decimal("1234.5")
    assert V.number("12,5") == Decimal("12.5")
    assert V.number("12.5") == Decimal("12.5")


@pytest.mark.parametrize(("cell", "code"), [
    ("12,5", "not_whole"), ("abc", "not_number"), ("1.2.3", "not_number"), (True, "not_number"),
    ("#DIV/0!", "excel_error"), (date(2025, 1, 1), "not_number"),
])
def test_cells_that_are_not_counts(cell, code):
    with pytest.raises(V.CellError) as caught:
        V.whole(cell)
    assert caught.value.code == code


@pytest.mark.parametrize(("cell", "first", "last"), [
    ("05/03/2025", date(2025, 3, 5), None),
    ("5/3/25", date(2025, 3, 5), None),
    ("05-03-2025", date(2025, 3, 5), None),
    ("5.3.2025", date(2025, 3, 5), None),
    ("2025-03-05", date(2025, 3, 5), None),
    ("2025-03-05 00:00:00", date(2025, 3, 5), None),
    ("ngày 5 tháng 3 năm 2025", date(2025, 3, 5), None),
    ("05/03/2025 - 07/03/2025", date(2025, 3, 5), date(2025, 3, 7)),
    ("05-07/3/2025", date(2025, 3, 5), date(2025, 3, 7)),
    (datetime(2025, 3, 5, 14, 30), date(2025, 3, 5), None),
    (date(2025, 3, 5), date(2025, 3, 5), None),
    (45721, date(2025, 3, 5), None),  # Excel's serial number of the day, in a cell without date format
    ("20250305", date(2025, 3, 5), None),
    (None, None, None),
])
def test_dates(cell, first, last):
    assert V.dates(cell) == (first, last)


@pytest.mark.parametrize("cell", ["31/02/2025", "03/25/2025", "hôm qua", "12", "#REF!", True])
def test_cells_that_are_not_dates(cell):
    with pytest.raises(V.CellError):
        V.dates(cell)


# --- the header ----------------------------------------------------------------------------------


def test_the_header_is_found_under_a_title_with_merged_cells_and_a_second_header_row(tmp_path):
    info = open_source(office_log(tmp_path / "so-theo-doi.xlsx"))
    pv = preview(info)
    assert (pv.sheet, pv.header_row, pv.header_rows) == ("Năm 2025", 3, 2)
    assert pv.data_start == 6  # the row of column numbers "(1)" … "(13)" is passed over
    headers = [c.header for c in pv.columns]
    assert headers[6:9] == ["Số lượt người nghe – Tổng số", "Số lượt người nghe – Nữ", "Số lượt người nghe – Nam"]
    assert headers[1] == "Ngày thực hiện"  # merged over two rows
    assert pv.rows[0][0] == 6 and pv.rows[0][1][3] == "Tuyên truyền Ngày Sách và Văn hóa đọc"
    assert pv.columns[1].kind == "date"


def test_every_sheet_is_listed_and_a_second_sheet_can_be_read(tmp_path):
    path = workbook(tmp_path / "hai-trang.xlsx", [["Ghi chú"], ["không có số liệu"]], title="Bìa",
                    more={"Số liệu": [["Ngày", "Nội dung", "Hình thức"], ["05/03/2025", "Phát thanh", "F3"]],
                          "Danh mục": [["F3"]]}, hidden=("Danh mục",))
    info = open_source(path)
    assert [(s.name, s.hidden) for s in info.sheets] == [("Bìa", False), ("Số liệu", False), ("Danh mục", True)]
    pv = preview(info, "Số liệu")
    assert [c.header for c in pv.columns] == ["Ngày", "Nội dung", "Hình thức"]
    assert pv.rows == [(2, ["05/03/2025", "Phát thanh", "F3"])]
    with pytest.raises(SheetFileError) as caught:
        preview(info, "Không có")
    assert caught.value.code == "no_sheet"


def test_a_dimension_that_claims_fewer_rows_than_there_are_is_not_believed(tmp_path):
    path = million_rows(tmp_path / "lies.xlsx", rows=50)
    info = open_source(path)
    assert info.sheets[0].rows_estimate == 1  # what the file claims
    assert sum(1 for r in rows(info, None) if not r.is_blank()) == 51


def test_a_csv_file_is_read_in_its_encoding_with_its_delimiter(tmp_path):
    path = tmp_path / "so.csv"
    path.write_bytes(encode_cp1258("Ngày;Hình thức;Tên hoạt động\r\n05/03/2025;Loa;Phát thanh về khuyến học\r\n"))
    info = open_source(path)
    assert (info.kind, info.encoding, info.delimiter) == ("csv", "cp1258", ";")
    assert info.encoding_candidates[0].encoding == "cp1258"
    pv = preview(info)
    assert pv.rows == [(2, ["05/03/2025", "Loa", "Phát thanh về khuyến học"])]
    # the person's choice wins
    forced = open_source(path, SourceOptions(encoding="tcvn3", delimiter=";"))
    assert forced.encoding == "tcvn3"


# --- files that are refused ----------------------------------------------------------------------


def refused(path, code):
    with pytest.raises(SheetFileError) as caught:
        open_source(path)
    assert caught.value.code == code, str(caught.value)
    assert path.name in str(caught.value)
    return str(caught.value)


def test_a_password_protected_workbook_is_refused_with_what_to_do(tmp_path):
    message = refused(protected_xlsx(tmp_path / "co-mat-khau.xlsx"), "password")
    assert ".xlsx" in message


def test_an_old_xls_is_refused_with_save_as_xlsx(tmp_path):
    message = refused(old_xls(tmp_path / "so-cu.xls"), "xls")
    assert ".xlsx" in message


def test_a_damaged_workbook_is_refused(tmp_path):
    good = office_log(tmp_path / "good.xlsx")
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    refused(cut, "corrupt")
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"this is not a workbook at all" * 10)
    refused(garbage, "corrupt")


def test_a_workbook_whose_sheet_is_damaged_inside_is_refused_when_read(tmp_path):
    good = office_log(tmp_path / "good.xlsx")
    bad = tmp_path / "bad-sheet.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut in the middle of a row
            dst.writestr(name, data)
    with pytest.raises(SheetFileError) as caught:
        info = open_source(bad)
        list(rows(info, None))
    assert caught.value.code == "corrupt"


def test_a_web_page_saved_as_xls_is_refused(tmp_path):
    path = tmp_path / "bao-cao.xls"
    path.write_text("<html><body><table><tr><td>Ngày</td></tr></table></body></html>", encoding="utf-8")
    refused(path, "html")


def test_an_opendocument_spreadsheet_is_refused(tmp_path):
    path = tmp_path / "so.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    refused(path, "ods")


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "rong.csv"
    path.write_bytes(b"")
    refused(path, "empty")
