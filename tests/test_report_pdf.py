"""The period report PDF: the decree's layout, read back from the PDF itself."""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest

from dbcomm.domain.report import ReportContent
from dbcomm.errors import UserError
from dbcomm.services import report_pdf
from dbcomm.services.report_pdf import (
    RenderCancelled,
    agency_in_sentence,
    check_fonts,
    date_line,
    distribution_lines,
    fmt_int,
    fmt_num,
    fmt_pct,
    layout_info,
    number_line,
    render_pdf,
    render_pdf_to,
    render_pdf_with_layout,
)
from report_samples import (
    FORMS,
    LONG_TITLE,
    annex_title,
    empty_content,
    milestone_indicators,
    sample_content,
)

MM = 72 / 25.4
A4_W, A4_H = 595.28, 841.89
TOL = 1.0

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftotext, pdffonts) not installed",
)


# --- reading a PDF back ------------------------------------------------------------------


def pdf_text(data: bytes, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-raw", "-enc", "UTF-8"]
    if first is not None:
        args += ["-f", str(first)]
    if last is not None:
        args += ["-l", str(last)]
    return subprocess.run(args + ["-", "-"], input=data, capture_output=True, check=True).stdout.decode(
        "utf-8"
    )


def flat(text: str) -> str:
    """Runs of white space (line ends of wrapped text included) as one space."""
    return " ".join(text.split())


def page_chars(data: bytes) -> list[tuple[tuple[float, float], list[tuple[str, float, float, float, float]]]]:
    """Per page: its size and its characters as (char, left, bottom, right, top) in points."""
    pdf = pdfium.PdfDocument(data)
    pages = []
    try:
        for page in pdf:
            tp = page.get_textpage()
            chars = []
            for i in range(tp.count_chars()):
                ch = chr(pdfium_raw.FPDFText_GetUnicode(tp.raw, i))
                if ch.isspace():
                    continue
                left, bottom, right, top = tp.get_charbox(i)
                chars.append((ch, left, bottom, right, top))
            pages.append((page.get_size(), chars))
    finally:
        pdf.close()
    return pages


@pytest.fixture(scope="module")
def sample() -> ReportContent:
    return sample_content()


@pytest.fixture(scope="module")
def sample_pdf(sample: ReportContent) -> bytes:
    return render_pdf(sample)


@pytest.fixture(scope="module")
def sample_text(sample_pdf: bytes) -> str:
    return pdf_text(sample_pdf)


@pytest.fixture(scope="module")
def sample_pages(sample_pdf: bytes):
    return page_chars(sample_pdf)


# --- pure helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 15), "Mường Phăng, ngày 15 tháng 3 năm 2026"),
        (date(2026, 1, 5), "Mường Phăng, ngày 05 tháng 01 năm 2026"),
        (date(2026, 2, 20), "Mường Phăng, ngày 20 tháng 02 năm 2026"),
        (date(2026, 12, 5), "Mường Phăng, ngày 05 tháng 12 năm 2026"),
        (date(2026, 10, 31), "Mường Phăng, ngày 31 tháng 10 năm 2026"),
    ],
)
def test_date_line_pads_days_below_ten_and_the_first_two_months(day, expected):
    assert date_line("Mường Phăng", day) == expected


def test_date_line_takes_nfd_place_names_as_nfc():
    nfd = unicodedata.normalize("NFD", "Điện Biên Đông")
    assert date_line(nfd, date(2024, 1, 5)) == "Điện Biên Đông, ngày 05 tháng 01 năm 2024"


def test_numbers_use_vietnamese_grouping():
    assert fmt_int(0) == "0"
    assert fmt_int(999) == "999"
    assert fmt_int(1234) == "1.234"
    assert fmt_int(1234567) == "1.234.567"
    assert fmt_int(-4500) == "-4.500"
    assert fmt_num(46.5) == "46,5"
    assert fmt_num(60000.0) == "60.000"
    assert fmt_num(1234.25) == "1.234,25"
    assert fmt_num(None) == ""


def test_percentages_always_have_one_decimal():
    assert fmt_pct(14) == "14,0"
    assert fmt_pct(12.06) == "12,1"
    assert fmt_pct(120) == "120,0"
    assert fmt_pct(89.04) == "89,0"
    assert fmt_pct(1234.56) == "1.234,6"
    assert fmt_pct(0) == "0,0"
    assert fmt_pct(-0.01) == "0,0"
    assert fmt_pct(None) == ""


def test_document_number_takes_a_leading_zero_below_ten_or_leaves_room():
    assert number_line("5", "UBND") == "Số: 05/BC-UBND"
    assert number_line("05", "UBND") == "Số: 05/BC-UBND"
    assert number_line("123", "SGDĐT") == "Số: 123/BC-SGDĐT"
    assert re.fullmatch(r"Số: {4,}/BC-UBND", number_line("", "UBND"))


def test_agency_names_are_written_in_sentence_case_inside_a_sentence():
    assert agency_in_sentence("ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG") == "Ủy ban nhân dân xã Mường Phăng"
    assert (
        agency_in_sentence("SỞ GIÁO DỤC VÀ ĐÀO TẠO TỈNH ĐIỆN BIÊN")
        == "Sở Giáo dục và Đào tạo tỉnh Điện Biên"
    )
    assert agency_in_sentence("Trường PTDTBT Tiểu học Mường Phăng") == (
        "Trường PTDTBT Tiểu học Mường Phăng"
    )


# --- page 1 --------------------------------------------------------------------------------


def test_page_one_carries_both_header_blocks_number_and_date(sample_pdf):
    lines = [ln.strip() for ln in pdf_text(sample_pdf, 1, 1).splitlines()]
    text = "\n".join(lines)
    assert "UBND TỈNH ĐIỆN BIÊN" in lines
    assert "ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG" in flat(text)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in lines
    assert "Độc lập - Tự do - Hạnh phúc" in lines
    assert "Số: 05/BC-UBND Mường Phăng, ngày 05 tháng 01 năm 2026" in lines
    assert "BÁO CÁO" in lines
    assert (
        "BÁO CÁO Kết quả thực hiện công tác truyền thông về xây dựng xã hội học tập quý IV năm 2025"
        in flat(text)
    )
    assert "Kính gửi: Sở Giáo dục và Đào tạo tỉnh Điện Biên." in lines


def test_number_and_date_sit_on_one_line_left_and_right(sample_pages):
    (_size, chars) = sample_pages[0]
    text = "".join(c[0] for c in chars)
    so = text.index("Số:")
    place = text.index("MườngPhăng,")
    assert abs(chars[so][2] - chars[place][2]) < 2  # same baseline
    year_end = text.index("2026", place) + 3
    assert chars[so + 2][3] < chars[place][1]  # left block, then the date line
    assert chars[so][1] < A4_W / 2 < (chars[place][1] + chars[year_end][3]) / 2


def test_blank_number_leaves_room_for_the_registry():
    data = render_pdf(sample_content(annex_rows=0, header={"number": ""}))
    text = pdf_text(data, 1, 1)
    assert re.search(r"Số:\s+/BC-UBND", text)
    (_size, chars) = page_chars(data)[0]
    joined = "".join(c[0] for c in chars)
    colon = joined.index("Số:") + 2
    slash = joined.index("/BC-UBND")
    assert chars[slash][1] - chars[colon][3] > 12  # several spaces' worth of room


def test_several_recipients_are_listed_under_kinh_gui():
    data = render_pdf(
        sample_content(
            annex_rows=0,
            header={"recipients": ["Sở Giáo dục và Đào tạo tỉnh Điện Biên", "Hội Khuyến học tỉnh"]},
        )
    )
    lines = [ln.strip() for ln in pdf_text(data, 1, 1).splitlines()]
    assert "Kính gửi: - Sở Giáo dục và Đào tạo tỉnh Điện Biên;" in lines
    assert "- Hội Khuyến học tỉnh." in lines


def _rules(data: bytes, page: int = 0) -> list[tuple[float, float, float, float]]:
    """The short horizontal lines drawn on a page: (left, bottom, right, top) of each."""
    pdf = pdfium.PdfDocument(data)
    try:
        out = []
        for obj in pdf[page].get_objects():
            if obj.type == pdfium_raw.FPDF_PAGEOBJ_PATH:
                left, bottom, right, top = obj.get_bounds()
                if top - bottom < 2 and 20 < right - left < 300:
                    out.append((left, bottom, right, top))
        return out
    finally:
        pdf.close()


@pytest.mark.parametrize(
    ("agency", "expected"),
    [
        ("UBND XÃ MƯỜNG PHĂNG (DỮ LIỆU MẪU)", ["UBND XÃ MƯỜNG PHĂNG", "(DỮ LIỆU MẪU)"]),
        ("ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG", ["ỦY BAN NHÂN DÂN", "XÃ MƯỜNG PHĂNG"]),
        ("ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG (DỮ LIỆU MẪU)",
         ["ỦY BAN NHÂN DÂN", "XÃ MƯỜNG PHĂNG", "(DỮ LIỆU MẪU)"]),
        ("ỦY BAN NHÂN DÂN THÀNH PHỐ ĐIỆN BIÊN PHỦ", ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ ĐIỆN BIÊN PHỦ"]),
        ("ỦY BAN NHÂN DÂN THỊ XÃ MƯỜNG LAY", ["ỦY BAN NHÂN DÂN", "THỊ XÃ MƯỜNG LAY"]),
        ("SỞ GIÁO DỤC VÀ ĐÀO TẠO TỈNH ĐIỆN BIÊN", ["SỞ GIÁO DỤC VÀ ĐÀO TẠO", "TỈNH ĐIỆN BIÊN"]),
        ("PHÒNG VĂN HÓA - XÃ HỘI HUYỆN ĐIỆN BIÊN", ["PHÒNG VĂN HÓA - XÃ HỘI", "HUYỆN ĐIỆN BIÊN"]),
        ("UBND XÃ MƯỜNG PHĂNG", ["UBND XÃ MƯỜNG PHĂNG"]),
    ],
)
def test_agency_names_break_before_the_place_and_keep_brackets_whole(agency, expected):
    report_pdf._ensure_fonts()
    width = report_pdf._DocHeader.LEFT_SHARE * report_pdf.BODY_W - 4
    lines, size = report_pdf._agency_lines(agency, width)
    assert lines == expected
    assert 12 <= size <= 13


def test_a_long_agency_name_is_printed_whole_in_good_lines_with_the_rule_clear_below():
    agency = "UBND XÃ MƯỜNG PHĂNG (DỮ LIỆU MẪU)"
    data = render_pdf(sample_content(annex_rows=0, header={"agency": agency}))
    lines = [ln.strip() for ln in pdf_text(data, 1, 1).splitlines()]
    assert "UBND XÃ MƯỜNG PHĂNG" in lines and "(DỮ LIỆU MẪU)" in lines
    (_size, chars) = page_chars(data)[0]
    joined = "".join(c[0] for c in chars)
    at = joined.index("(DỮLIỆUMẪU)")
    agency_bottom = min(c[2] for c in chars[at : at + len("(DỮLIỆUMẪU)")])
    at = joined.index("Độclập-Tựdo-Hạnhphúc")
    motto_bottom = min(c[2] for c in chars[at : at + len("Độclập-Tựdo-Hạnhphúc")])
    rules = _rules(data)
    left = [r for r in rules if r[2] < A4_W * 0.45]
    right = [r for r in rules if r[0] > A4_W * 0.45 and r[3] > motto_bottom - 20]
    assert len(left) == 1 and right
    # clear of the brackets' descenders and of the "p" by 3 pt (the bounds of a drawn line
    # take in its width and some more: the real gap is larger)
    assert left[0][3] <= agency_bottom - 3
    assert max(r[3] for r in right) <= motto_bottom - 3


def test_header_rules_leave_room_for_descenders_at_every_size():
    report_pdf._ensure_fonts()
    for agency in ("ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG", "UBND XÃ MƯỜNG PHĂNG (DỮ LIỆU MẪU)",
                   "ỦY BAN NHÂN DÂN PHƯỜNG NAM THANH (THÀNH PHỐ ĐIỆN BIÊN PHỦ)"):
        header = sample_content(annex_rows=0, header={"agency": agency}).header
        head = report_pdf._DocHeader(header, report_pdf.BODY_W)
        last_baseline = head.left_baselines[-1][2]
        descent = report_pdf._descent(report_pdf.BOLD, head.left_size)
        gap = head.left_rule_y - report_pdf.LINE_WIDTH / 2 - (last_baseline + descent)
        assert gap >= 3
        assert head.number_y - head.left_rule_y >= 18  # and the number line well below


def test_pdf_metadata_name_the_report_by_its_subject():
    subject = "Kết quả thực hiện công tác truyền thông về xây dựng xã hội học tập quý IV năm 2025"
    for number, title in (("", f"Báo cáo: {subject}"),
                          ("5", f"Báo cáo số 05/BC-UBND: {subject}")):
        pdf = pdfium.PdfDocument(render_pdf(sample_content(annex_rows=0,
                                                           header={"number": number})))
        try:
            meta = pdf.get_metadata_dict()
        finally:
            pdf.close()
        assert meta["Title"] == title
        assert meta["Subject"] == subject
        assert "/BC" not in meta["Subject"]


def test_header_appears_on_page_one_only(sample_pdf, sample_pages):
    assert len(sample_pages) >= 3
    assert "CỘNG HÒA" in pdf_text(sample_pdf, 1, 1)
    for n in range(2, len(sample_pages) + 1):
        assert "CỘNG HÒA" not in pdf_text(sample_pdf, n, n)


# --- pages, margins, fonts ---------------------------------------------------------------


def test_pages_are_a4_portrait_and_the_annex_landscape(sample_pages, sample):
    sizes = [size for size, _chars in sample_pages]
    portrait = [s for s in sizes if s[0] < s[1]]
    landscape = [s for s in sizes if s[0] > s[1]]
    assert portrait and landscape
    assert sizes == portrait + landscape  # the annex comes last
    for w, h in portrait:
        assert w == pytest.approx(A4_W, abs=0.05) and h == pytest.approx(A4_H, abs=0.05)
    for w, h in landscape:
        assert w == pytest.approx(A4_H, abs=0.05) and h == pytest.approx(A4_W, abs=0.05)


def test_page_numbers_sit_in_the_top_margin_from_page_two_on(sample_pdf, sample_pages):
    top_margin = 20 * MM
    (_w, h), chars = sample_pages[0]
    assert not [c for c in chars if c[2] > h - top_margin]  # nothing in page 1's top margin
    for index in range(1, len(sample_pages)):
        (w, h), chars = sample_pages[index]
        in_margin = [c for c in chars if c[2] > h - top_margin]
        assert "".join(c[0] for c in in_margin) == str(index + 1)
        assert (in_margin[0][1] + in_margin[-1][3]) / 2 == pytest.approx(w / 2, abs=2)
    assert pdf_text(sample_pdf, 2, 2).splitlines()[0].strip() == "2"


def test_text_stays_within_the_margins(sample_pages):
    for index, ((w, h), chars) in enumerate(sample_pages):
        if w < h:
            left, right, bottom = 30 * MM, w - 15 * MM, 20 * MM
        else:
            left, right, bottom = 20 * MM, w - 20 * MM, 15 * MM
        assert min(c[1] for c in chars) >= left - TOL, f"page {index + 1}"
        assert max(c[3] for c in chars) <= right + TOL, f"page {index + 1}"
        assert min(c[2] for c in chars) >= bottom - 3, f"page {index + 1}"  # descenders


def test_body_text_starts_at_the_left_margin():
    long_direction = "\n".join(
        f"Đoạn {i}: Ủy ban nhân dân xã chỉ đạo các bản tổ chức tuyên truyền về xây dựng xã hội "
        "học tập, khuyến học, khuyến tài bằng tiếng Việt, tiếng Thái và tiếng Mông."
        for i in range(1, 16)
    )
    data = render_pdf(sample_content(annex_rows=0, narrative={"direction": long_direction}))
    (_w, _h), chars = page_chars(data)[1]
    assert "Đoạn" in "".join(c[0] for c in chars)  # page 2 holds body paragraphs
    assert min(c[1] for c in chars) == pytest.approx(30 * MM, abs=2)
    assert max(c[3] for c in chars) <= A4_W - 15 * MM + TOL


def test_only_the_bundled_fonts_are_used_and_embedded(sample_pdf, tmp_path):
    path = tmp_path / "r.pdf"
    path.write_bytes(sample_pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    rows = [ln.split() for ln in out.splitlines()[2:] if ln.strip()]
    assert len(rows) == 4
    for row in rows:
        name = row[0]
        assert re.fullmatch(r"[A-Z]{6}\+LiberationSerif(-Bold|-Italic|-BoldItalic)?", name), name
        emb, sub = row[-5], row[-4]
        assert (emb, sub) == ("yes", "yes"), row
    assert b"Helvetica" not in sample_pdf


# --- the results ---------------------------------------------------------------------------


def test_every_figure_of_the_form_table_is_printed_with_grouping(sample, sample_text):
    text = flat(sample_text)
    for f in sample.by_form:
        row = " ".join(fmt_int(v) for v in (f.activities, f.items, f.sessions, f.minutes, f.reach))
        assert f"{f.code} {flat(f.label)} {row}" in text
    t = sample.totals
    total = " ".join(fmt_int(v) for v in (t.activities, t.items, t.sessions, t.minutes, t.reach))
    assert f"Tổng cộng {total}" in text
    assert "12.408" in text  # thousands separator


def test_general_results_name_the_plan_and_the_totals(sample_text):
    text = flat(sample_text)
    assert "Kế hoạch số 386/KH-UBND ngày 15/02/2022 của UBND tỉnh Điện Biên" in text
    assert "đã tổ chức 30 hoạt động truyền thông" in text
    assert "tiếp cận 12.408 lượt người" in text


def test_tables_by_objective_programme_place_and_language(sample, sample_text):
    text = flat(sample_text)
    for rows in (sample.by_objective, sample.by_programme, sample.by_place, sample.by_language):
        for f in rows:
            assert flat(f.label) in text
            assert f"{fmt_int(f.minutes)} {fmt_int(f.reach)}" in text
    assert text.count("một hoạt động có thể được tính ở nhiều dòng") >= 3
    for category in ("Theo giới tính", "Theo dân tộc", "Theo đối tượng"):
        assert category in text
    assert "Nữ 6.420 51,7" in text
    assert "Cán bộ, công chức 655 5,3" in text


def _table_rows(text: str, code: str, stop: str) -> list[str]:
    """The pdftotext lines of one row of a table: from the line starting with ``code`` to the
    first line starting with ``stop`` (the unit, which follows the wrapped name)."""
    lines = [ln.strip() for ln in text.splitlines()]
    first = next(i for i, ln in enumerate(lines) if ln.startswith(code + " "))
    last = next(i for i in range(first, len(lines)) if lines[i].startswith(stop))
    return lines[first : last + 1]


def test_indicator_rows_show_target_value_percent_milestones_and_cumulative(sample_text):
    text = flat(sample_text)
    for head in ("Kế hoạch năm 2025", "Thực hiện năm 2025 (đến hết kỳ báo cáo)",
                 "Đạt so với kế hoạch năm (%)", "Mục tiêu năm 2030", "Lũy kế từ đầu Kế hoạch"):
        assert head in text, head
    assert "Mục tiêu năm 2025" not in text  # the 2025 milestone is the 2025 target
    assert "% 50,0 46,5 93,0 70,0" in text
    assert "% 40,0 41,2 103,0 60,0" in text
    assert "lượt người 60.000 52.345 87,2 300.000 187.654" in text
    assert "Cột “Lũy kế”: từ năm đầu thực hiện Kế hoạch đến hết kỳ báo cáo." in text
    # the names have room: three lines at most even with every column present
    assert len(_table_rows(sample_text, "CT1", "%")) <= 4


def test_indicator_table_without_targets_for_the_year_drops_those_columns():
    content = sample_content(annex_rows=0, indicators=milestone_indicators(2026))
    raw = pdf_text(render_pdf(content))
    text = flat(raw)
    start = text.index("Tiến độ thực hiện các chỉ tiêu Mã")
    table = text[start : text.index("Ghi chú: Cột “Thực hiện", start)]
    assert "Thực hiện năm 2026 (đến hết kỳ báo cáo)" in table
    assert "Lũy kế từ đầu Kế hoạch" in table
    assert "Mục tiêu năm 2025" in table and "Mục tiêu năm 2030" in table
    assert "Kế hoạch năm" not in table and "Đạt so với" not in table
    assert "% 52,0 50,0 70,0" in table
    assert "lượt người 183.830 1.200.000 1.006.770" in table
    assert "tin, bài 336 2.177" in table
    assert "Kế hoạch chưa giao chỉ tiêu riêng cho năm 2026" in text
    assert "Tỷ lệ thực hiện so với kế hoạch năm" not in text  # no chart without targets
    # the name column is wide: the longest name takes two lines
    assert len(_table_rows(raw, "CT1", "%")) <= 3


def test_every_percentage_has_one_decimal(sample_text):
    text = flat(sample_text)
    marked = re.findall(r"[\d.,]*\d\s?%", text)
    assert marked
    for value in marked:
        assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d\s?%", value), value
    # percentage columns (headed "%"): reach shares, ratios to last year
    assert "Nam 5.988 48,3" in text
    assert "+1 120,0" in text and "-2 0,0" in text


def test_comparison_with_last_year_has_a_table_and_a_chart(sample_text):
    text = flat(sample_text)
    assert "So sánh với cùng kỳ năm 2024" in text
    assert "Số hoạt động truyền thông 30 31 -1 96,8" in text
    assert "Biểu đồ" in text and "Kỳ báo cáo" in text


def test_gaps_are_listed_with_their_reasons(sample_text):
    text = flat(sample_text)
    assert "Mục tiêu, hình thức chưa có hoạt động trong kỳ" in text
    assert f"- Hình thức F5: {FORMS[4][1]} (lý do: thư viện xã đang sửa chữa)." in text
    assert "- Nhiệm vụ 2.3: Giới thiệu gương điển hình tiên tiến trong học tập suốt đời." in text
    assert "Hình thức F5: thư viện xã đang sửa chữa, sẽ tổ chức lại trong quý I năm 2026." in text


def test_notes_open_section_two_and_the_body_ends_with_the_closing_mark(sample_text):
    text = flat(sample_text)
    two = text.index("II. KẾT QUẢ THỰC HIỆN")
    note = text.index("Kỳ báo cáo tính theo quý dương lịch")
    general = text.index("1. Kết quả chung")
    assert two < note < general
    assert "đội ngũ truyền thông cơ sở./." in text
    assert text.index("./.") < text.index("Nơi nhận:")
    for heading in ("I. CÔNG TÁC CHỈ ĐẠO, TRIỂN KHAI", "III. ĐÁNH GIÁ CHUNG",
                    "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI", "V. ĐỀ XUẤT, KIẾN NGHỊ"):
        assert heading in text


def test_empty_narrative_sections_say_there_is_nothing():
    data = render_pdf(
        sample_content(annex_rows=0, narrative={"assessment": "", "proposals": "  \n "})
    )
    text = flat(pdf_text(data))
    assert "III. ĐÁNH GIÁ CHUNG (Không có.)" in text
    assert "(Không có)./." in text


def test_signature_block_lists_distribution_and_signer(sample_text):
    lines = [ln.strip() for ln in sample_text.splitlines()]
    text = flat(sample_text)
    assert "Nơi nhận:" in text
    for expected in ("- Như trên;", "- Thường trực Đảng ủy xã;", "- Lưu: VT, VHXH."):
        assert any(expected in ln for ln in lines), expected
    assert "TM. ỦY BAN NHÂN DÂN" in text and "PHÓ CHỦ TỊCH" in text
    assert "Lò Văn Thắng" in text


def _recv_lines(data: bytes) -> list[str]:
    lines = [ln.strip() for ln in pdf_text(data).splitlines()]
    start = lines.index("Nơi nhận:")
    out = []
    for ln in lines[start + 1 :]:
        if not ln.startswith("- "):
            break
        out.append(ln)
    return out


def test_distribution_never_repeats_nhu_tren_nor_prints_a_typed_luu_line(sample):
    typed = ["Như trên", "- UBND tỉnh (b/c);", "Lưu: VT", "- như trên;", "UBND tỉnh (b/c)",
             "  ", "Lưu VT, VHXH."]
    header = replace(sample.header, distribution=typed)
    data = render_pdf(replace(sample, annex=[], header=header))
    assert _recv_lines(data) == ["- Như trên;", "- UBND tỉnh (b/c);", "- Lưu: VT, VHXH."]
    text = flat(pdf_text(data))
    assert text.count("Như trên") == 1 and text.count("Lưu") == 1
    # no archive unit: "- Lưu: VT."; no "Kính gửi": no "Như trên" at all
    assert distribution_lines(replace(header, archive_unit="")) == [
        "- Như trên;", "- UBND tỉnh (b/c);", "- Lưu: VT."]
    assert distribution_lines(replace(header, archive_unit="Lưu: VT, VHXH.", recipients=[])) == [
        "- UBND tỉnh (b/c);", "- Lưu: VT, VHXH."]


def _fill(data: bytes, page: int) -> float:
    """How far down a body page its text reaches: 1.0 = to the bottom margin."""
    (_w, h), chars = page_chars(data)[page]
    top, bottom = h - 20 * MM, 20 * MM
    return (top - min(c[2] for c in chars)) / (top - bottom)


STEP = ("Tiếp tục duy trì chuyên mục trên hệ thống loa truyền thanh; tổ chức các hoạt động "
        "hưởng ứng Ngày Sách và Văn hóa đọc Việt Nam (21/4) tại các bản.")
LONG_PROPOSAL = " ".join(["Đề nghị Sở Giáo dục và Đào tạo hỗ trợ tài liệu tuyên truyền song ngữ "
                          "và bồi dưỡng nghiệp vụ cho đội ngũ truyền thông cơ sở."] * 5)


def _body_lines(data: bytes, page: int) -> list[str]:
    """The text lines of a body page (1-based), without its page number."""
    lines = [ln.strip() for ln in pdf_text(data, page, page).splitlines() if ln.strip()]
    return lines[1:] if lines and lines[0] == str(page) else lines


@pytest.mark.parametrize("case", ["short proposal", "long proposal", "long distribution"])
def test_the_page_before_the_signature_is_not_left_half_empty(case):
    header: dict[str, object] = {}
    narrative = {"proposals": LONG_PROPOSAL} if case == "long proposal" else {}
    if case == "long distribution":
        header["distribution"] = [f"UBND bản số {i}" for i in range(1, 31)]
    moved = 0
    for k in range(10, 16):  # around the lengths that put the signature over a page
        narrative["next_steps"] = "\n".join([STEP] * k)
        content = sample_content(annex_rows=0, narrative=narrative, header=header)
        data, info = render_pdf_with_layout(content)
        page = info["signature_page"] + 1  # 1-based
        lines = _body_lines(data, page)
        assert "Nơi nhận:" in lines
        before = lines[: lines.index("Nơi nhận:")]
        assert before and before[-1].endswith("./.")  # the body's end goes with the signature
        fill = _fill(data, page - 2)
        assert fill >= 0.6, (k, fill)
        if len(before) <= 3:  # the signature page holds little more than the block
            moved += 1
    assert moved  # some of the lengths did put the signature over the page


def test_a_long_last_paragraph_leaves_only_its_last_lines_to_the_signature_page():
    content = sample_content(annex_rows=0, narrative={"next_steps": "\n".join([STEP] * 10),
                                                      "proposals": LONG_PROPOSAL})
    data, info = render_pdf_with_layout(content)
    page = info["signature_page"] + 1
    before = _body_lines(data, page - 1)
    on_page = _body_lines(data, page)
    assert "V. ĐỀ XUẤT, KIẾN NGHỊ" in before
    body = on_page[: on_page.index("Nơi nhận:")]
    assert len(body) == 2 and body[-1].endswith("truyền thông cơ sở./.")
    # the paragraph reads on unbroken over the page, and the page before is nearly full
    start = before.index("V. ĐỀ XUẤT, KIẾN NGHỊ") + 1
    assert flat(" ".join(before[start:] + body)) == flat(LONG_PROPOSAL)[:-1] + "./."
    assert _fill(data, page - 2) > 0.7


def _line_boxes(data: bytes, page: int) -> list[tuple[float, float, float]]:
    """The text lines of a page (0-based), top down: (baseline box bottom, left, right)."""
    pdf = pdfium.PdfDocument(data)
    try:
        tp = pdf[page].get_textpage()
        rows: dict[float, list[float]] = {}
        for i in range(tp.count_chars()):
            if chr(pdfium_raw.FPDFText_GetUnicode(tp.raw, i)).isspace():
                continue
            left, bottom, right, _top = tp.get_charbox(i, loose=True)
            row = rows.setdefault(round(bottom, 1), [left, right])
            row[0], row[1] = min(row[0], left), max(row[1], right)
        return [(y, lr[0], lr[1]) for y, lr in sorted(rows.items(), reverse=True)]
    finally:
        pdf.close()


def test_a_last_paragraph_over_several_pages_still_reads_as_one_paragraph():
    sentence = ("Đề nghị Sở Giáo dục và Đào tạo hỗ trợ tài liệu tuyên truyền song ngữ và bồi "
                "dưỡng nghiệp vụ cho đội ngũ truyền thông cơ sở.")
    content = sample_content(annex_rows=0, narrative={"proposals": " ".join([sentence] * 60)})
    data, info = render_pdf_with_layout(content)
    page = info["signature_page"]
    lines = _body_lines(data, page + 1)
    body = len(lines[: lines.index("Nơi nhận:")])
    assert body > 4  # the paragraph's first part goes on over this page, then its last lines
    boxes = _line_boxes(data, page)[1 : 1 + body]  # without the page number
    gaps = [round(a[0] - b[0], 1) for a, b in itertools.pairwise(boxes)]
    assert gaps == [report_pdf.BODY_LEADING] * (body - 1)  # no space where it was parted
    right = A4_W - 15 * MM
    for _y, left, end in boxes[:-1]:  # justified to the right margin, all but the last line
        assert end == pytest.approx(right, abs=1.5)
        assert left == pytest.approx(30 * MM, abs=1.5)  # no first-line indent either
    assert boxes[-1][2] < right - 20


def test_a_long_distribution_list_goes_on_below_the_signature(sample):
    lines = [f"UBND bản số {i}" for i in range(1, 31)]
    content = replace(sample, annex=[], header=replace(sample.header, distribution=lines))
    data, info = render_pdf_with_layout(content)
    text = flat(pdf_text(data, info["signature_page"] + 1))
    # the first lines beside the signer's title, space and name; the rest below them
    assert "Nơi nhận: - Như trên; - UBND bản số 1;" in text
    assert text.index("Lò Văn Thắng") < text.index("- UBND bản số 30; - Lưu: VT, VHXH.")
    assert text.index("- UBND bản số 5;") < text.index("Lò Văn Thắng")


def test_signature_space_lies_between_title_and_name(sample, sample_pages):
    info = layout_info(sample)
    page = info["signature_page"]
    x, y, w, h = info["signature_rect"]
    assert h == pytest.approx(30 * MM, abs=0.1)
    (pw, ph), chars = sample_pages[page]
    assert info["page_size"] == (round(pw, 2), round(ph, 2))
    joined = "".join(c[0] for c in chars)
    name = joined.index("LòVănThắng")
    title = joined.index("PHÓCHỦTỊCH")
    assert chars[title][2] >= y + h - 1  # the title above the space
    assert chars[name][4] <= y + 1  # the name below it
    assert x <= chars[name][1] and chars[name][3] <= x + w
    # the same rectangle when the whole document, annex included, is built
    _data, full = render_pdf_with_layout(sample)
    assert full["signature_page"] == page and full["signature_rect"] == info["signature_rect"]


# --- the annex -----------------------------------------------------------------------------


def test_annex_lists_every_activity_and_nothing_else(sample, sample_pdf, sample_pages):
    first_annex = next(i for i, ((w, h), _c) in enumerate(sample_pages) if w > h) + 1
    text = flat(pdf_text(sample_pdf, first_annex))
    assert "Phụ lục DANH SÁCH HOẠT ĐỘNG TRUYỀN THÔNG" in text
    assert (
        "(Kèm theo Báo cáo số 05/BC-UBND ngày 05/01/2026 của Ủy ban nhân dân xã Mường Phăng)"
        in text
    )
    for row in sample.annex:
        assert flat(row.title) in text
    assert flat(LONG_TITLE) in text
    assert annex_title(len(sample.annex) + 1) not in text
    counted = set(re.findall(r"\(đợt (\d+)\)", text))
    assert len(counted) == len(sample.annex) - 1  # every row but the long title's
    assert "STT" in text and "Tên hoạt động" in text
    totals = [sum(getattr(r, k) for r in sample.annex) for k in ("items", "sessions", "minutes", "reach")]
    assert "Tổng cộng " + " ".join(fmt_int(v) for v in totals) in text


def test_very_long_title_wraps_inside_its_column(sample_pages):
    for (w, h), chars in sample_pages:
        if w > h:
            assert max(c[3] for c in chars) <= w - 20 * MM + TOL


def test_annex_cell_text_never_crosses_a_column_line(sample):
    content = replace(sample, annex=list(sample.annex))
    content.annex[3] = replace(content.annex[3], date_start=date(2025, 12, 30),
                               date_end=date(2026, 1, 2))
    content.annex[4] = replace(content.annex[4], place="Bản" + "Nậm" * 40,
                               languages="Tiếng Việt, Tiếng Thái, Tiếng Mông, Tiếng Dao")
    spec, _start, _end = report_pdf._annex_spec(content, None, None)
    lines = [report_pdf.ANNEX_MARGIN_LEFT + x for x in spec.col_x]
    annex_pages = [(size, chars) for size, chars in page_chars(render_pdf(content))
                   if size[0] > size[1]]
    assert annex_pages
    checked = 0
    for _size, chars in annex_pages:
        joined = "".join(c[0] for c in chars)
        table_top = chars[joined.index("STTNgày")][4] + 12  # the legend above is not in a cell
        total_at = joined.find("Tổngcộng")
        total_y = chars[total_at][2] if total_at >= 0 else None
        for ch, left, bottom, right, top in chars:
            if top > table_top or (total_y is not None and abs(bottom - total_y) < 3
                                   and right < lines[7]):
                continue  # the title block, and "Tổng cộng" spanning the first columns
            checked += 1
            assert not any(left - 2 < x < right + 2 for x in lines), (ch, left, right)  # padding kept
    assert checked > 1000


def test_annex_header_repeats_on_every_annex_page():
    content = sample_content(annex_rows=600)
    data = render_pdf(content)
    pages = page_chars(data)
    annex_pages = [i + 1 for i, ((w, h), _c) in enumerate(pages) if w > h]
    assert len(annex_pages) >= 3
    for n in (annex_pages[1], annex_pages[-1]):
        text = pdf_text(data, n, n)
        lines = [ln.strip() for ln in text.splitlines()]
        assert lines[0] == str(n)
        assert "STT Ngày" in flat(text) and "Tên hoạt động" in flat(text)
        assert "Số lượt người" in flat(text)
    assert "Tổng cộng" in pdf_text(data, annex_pages[-1], annex_pages[-1])
    # every row once, in order
    text = flat(pdf_text(data, annex_pages[0]))
    numbers = [int(x) for x in re.findall(r"\(đợt (\d+)\)", text)]
    assert numbers == [i for i in range(1, 601) if i != 2]


def test_annex_is_left_out_when_not_asked_for(sample):
    data = render_pdf(replace(sample, include_annex=False))
    assert all(w < h for (w, h), _c in page_chars(data))
    assert "DANH SÁCH HOẠT ĐỘNG" not in pdf_text(data)


# --- text handling -------------------------------------------------------------------------


def test_decomposed_input_comes_out_composed():
    def nfd(s: str) -> str:
        return unicodedata.normalize("NFD", s)

    content = sample_content(
        annex_rows=3,
        header={"agency": nfd("ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG"), "place": nfd("Mường Phăng"),
                "subject": nfd("Kết quả truyền thông quý IV năm 2025")},
        narrative={"direction": nfd("Chỉ đạo Đài truyền thanh xã & các bản <Mường Phăng>.")},
    )
    content.annex[0] = replace(content.annex[0], title=nfd("Phát thanh tiếng Thái ở bản Nghịu"))
    text = pdf_text(render_pdf(content))
    assert unicodedata.normalize("NFC", text) == text
    flat_text = flat(text)
    assert "Mường Phăng, ngày 05 tháng 01 năm 2026" in flat_text
    assert "Kết quả truyền thông quý IV năm 2025" in flat_text
    assert "Chỉ đạo Đài truyền thanh xã & các bản <Mường Phăng>." in flat_text
    assert "Phát thanh tiếng Thái ở bản Nghịu" in flat_text


def test_long_texts_everywhere_stay_inside_the_page():
    long = " ".join(["Tuyên truyền xây dựng xã hội học tập, khuyến học, khuyến tài"] * 8)
    content = sample_content(
        annex_rows=5,
        header={
            "agency": "BAN CHỈ ĐẠO XÂY DỰNG XÃ HỘI HỌC TẬP VÀ PHỔ CẬP GIÁO DỤC XÃ MƯỜNG PHĂNG",
            "subject": long,
            "distribution": [long],
        },
    )
    content.by_form[0] = replace(content.by_form[0], label=long)
    content.annex[1] = replace(content.annex[1], title="X" * 400, place=long)
    for (w, h), chars in page_chars(render_pdf(content)):
        right = w - (15 if w < h else 20) * MM
        assert max(c[3] for c in chars) <= right + TOL


# --- an empty period -----------------------------------------------------------------------


def test_period_without_activities_says_so_plainly_and_lists_every_gap():
    content = empty_content()
    data = render_pdf(content)
    text = flat(pdf_text(data))
    assert "Trong kỳ báo cáo, đơn vị chưa ghi nhận hoạt động truyền thông nào." in text
    assert "Kết quả theo hình thức truyền thông" not in text
    assert "Số hoạt động truyền thông theo hình thức" not in text  # no chart of zeros
    for code, label in FORMS:
        assert f"- Hình thức {code}: {label}." in text
    assert "DANH SÁCH HOẠT ĐỘNG" not in text
    assert all(w < h for (w, h), _c in page_chars(data))
    assert "./." in text


def test_charts_are_left_out_when_all_their_values_are_zero(sample):
    zero_forms = [replace(f, activities=0) for f in sample.by_form]
    zero_comparison = [replace(x, current=0, previous=0) for x in sample.comparison]
    no_percent = [replace(i, year_value=None) for i in sample.indicators]
    content = replace(sample, by_form=zero_forms, comparison=zero_comparison,
                      indicators=no_percent, annex=[])
    text = flat(pdf_text(render_pdf(content)))
    assert "Biểu đồ" not in text
    assert "So sánh với cùng kỳ năm 2024" not in text


# --- determinism ---------------------------------------------------------------------------


def test_same_content_gives_the_same_bytes_even_after_storing_it(sample, sample_pdf):
    again = render_pdf(sample)
    assert again == sample_pdf
    stored = ReportContent.from_json(sample.to_json())
    assert hashlib.sha256(render_pdf(stored)).digest() == hashlib.sha256(sample_pdf).digest()
    other = render_pdf(sample_content(header={"number": "6"}))
    assert other != sample_pdf


def test_document_dates_come_from_the_content(sample_pdf):
    assert b"D:20260105000000+07'00'" in sample_pdf


# --- files, progress, cancelling, fonts -------------------------------------------------------


def test_render_to_a_file_reports_progress_sparingly(tmp_path, sample):
    calls: list[tuple[int, int]] = []
    target = tmp_path / "bao-cao.pdf"
    info = render_pdf_to(sample, target, progress=lambda done, total: calls.append((done, total)))
    assert target.read_bytes() == render_pdf(sample)
    assert calls and len(calls) <= 60
    assert calls[-1] == (len(sample.annex) + 1, len(sample.annex) + 1)
    assert info["signature_page"] >= 0


def test_cancelling_stops_the_build_and_leaves_no_file(tmp_path, sample):
    target = tmp_path / "bao-cao.pdf"
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(RenderCancelled):
        render_pdf_to(sample, target, cancelled=cancelled)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_font_file_is_named(monkeypatch, tmp_path):
    for name in list(report_pdf.FONT_FILES.values())[:-1]:
        shutil.copy(report_pdf.FONT_DIR / name, tmp_path / name)
    monkeypatch.setattr(report_pdf, "FONT_DIR", tmp_path)
    missing = list(report_pdf.FONT_FILES.values())[-1]
    with pytest.raises(UserError) as err:
        check_fonts()
    assert missing in str(err.value)


def test_unreadable_font_file_is_named(monkeypatch, tmp_path):
    for name in report_pdf.FONT_FILES.values():
        shutil.copy(report_pdf.FONT_DIR / name, tmp_path / name)
    broken = report_pdf.FONT_FILES[report_pdf.BOLD]
    (tmp_path / broken).write_bytes(b"<html>not a font</html>")
    monkeypatch.setattr(report_pdf, "FONT_DIR", tmp_path)
    with pytest.raises(UserError, match=re.escape(broken)):
        check_fonts()


def test_bundled_fonts_and_licence_are_present():
    check_fonts()
    licence = Path(report_pdf.FONT_DIR, "LICENSE-LiberationSerif.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Copyright (c) 2012 Red Hat, Inc." in licence


def test_a_very_long_distribution_list_still_fits(sample):
    lines = [f"UBND bản số {i}" for i in range(1, 81)]
    data = render_pdf(replace(sample, annex=[], header=replace(sample.header, distribution=lines)))
    text = flat(pdf_text(data))
    assert "- UBND bản số 80; - Lưu: VT, VHXH." in text
    assert "Lò Văn Thắng" in text
