"""A blank log for offices and communes that collect on paper or in Excel first.

Three sheets: "Nhật ký hoạt động" (the columns of ``fields.FIELDS``, drop-down lists for the
forms, kinds, places, objectives, programmes, languages and funding sources, date and number
checks), "Hướng dẫn" (how to fill it in, in Vietnamese) and the hidden "Danh mục" holding the
lists the drop-downs refer to.  Filled in, it imports with no mapping to choose.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dbcomm.domain.roles import Perm
from dbcomm.errors import NotFoundError
from dbcomm.i18n import _
from dbcomm.services.auth import require
from dbcomm.services.files import atomic_write_bytes
from dbcomm.services.sheets import fields as F
from dbcomm.services.sheets import lookups as L
from dbcomm.store.engine import Database
from dbcomm.store.models import Organisation, Plan

DATA_SHEET = "Nhật ký hoạt động"
HELP_SHEET = "Hướng dẫn"
LISTS_SHEET = "Danh mục"
ROWS = 2000  # rows prepared with drop-down lists and checks

_LIST_FIELDS = ("form", "subtype", "place", "objectives", "programmes", "languages", "funding")
_LIST_TITLES = {
    "form": "Hình thức truyền thông", "subtype": "Loại hoạt động", "place": "Địa bàn",
    "objectives": "Mục tiêu, nhiệm vụ", "programmes": "Chương trình, đề án", "languages": "Ngôn ngữ",
    "funding": "Nguồn kinh phí",
}

HELP_LINES = [
    ("HƯỚNG DẪN GHI SỔ THEO DÕI HOẠT ĐỘNG TRUYỀN THÔNG", ""),
    ("", ""),
    ("Cách ghi", "Mỗi hoạt động ghi trên một dòng của trang “Nhật ký hoạt động”, bắt đầu từ dòng 2. "
                 "Không sửa, xóa hay đổi thứ tự dòng tiêu đề (dòng 1)."),
    ("", "Các cột bắt buộc: Ngày thực hiện, Hình thức truyền thông, Tên hoạt động. Các cột khác ghi nếu có."),
    ("", "Ô có danh sách chọn (mũi tên bên phải ô): bấm vào ô rồi chọn trong danh sách. Có thể gõ nội dung "
         "khác, khi nhập vào dbcomm sẽ được đối chiếu và hỏi lại."),
    ("", "Khi nhập file vào dbcomm, mọi dòng đều được kiểm tra trước; dòng nào chưa đúng sẽ được chỉ rõ lý do "
         "và chưa được nhập. Nhập lại cùng một file không tạo hoạt động trùng."),
    ("", ""),
    ("Ngày thực hiện", "Ghi theo dạng ngày/tháng/năm, ví dụ 05/03/2026. Hoạt động diễn ra nhiều ngày thì ghi "
                       "thêm ngày cuối ở cột “Đến ngày”. Không ghi ngày trong tương lai."),
    ("Hình thức truyền thông", "Chọn một trong các hình thức của Kế hoạch."),
    ("Loại hoạt động", "Chọn loại cụ thể (tin bài báo chí, phát thanh trên loa, sự kiện…). Để trống thì "
                       "dbcomm chọn theo hình thức."),
    ("Tên hoạt động", "Tên hoặc nội dung chính của hoạt động, tối đa 300 ký tự."),
    ("Địa bàn", "Chọn xã, phường nơi tổ chức hoạt động (nếu có)."),
    ("Mục tiêu, nhiệm vụ", "Chọn nhiệm vụ của Kế hoạch mà hoạt động thực hiện. Nhiều nhiệm vụ thì gõ các mã, "
                           "cách nhau bởi dấu chấm phẩy, ví dụ: 1.1; 2.3"),
    ("Chương trình, đề án", "Chương trình, đề án được lồng ghép (nếu có); nhiều mã cách nhau bởi dấu chấm phẩy."),
    ("Ngôn ngữ", "Ngôn ngữ sử dụng; nhiều ngôn ngữ cách nhau bởi dấu chấm phẩy, ví dụ: Tiếng Việt; Tiếng Thái. "
                 "Để trống là Tiếng Việt."),
    ("Các cột số", "Ghi số, không ghi đơn vị (ví dụ 1500000, hoặc 1.500.000). Số tin, bài; số buổi; thời lượng "
                   "(phút); số lượt người được tiếp cận; kinh phí (đồng)."),
    ("Nữ, Nam, Dân tộc…, Đối tượng…", "Chia số lượt người theo giới tính, dân tộc và đối tượng (nếu có). Tổng "
                                      "mỗi nhóm không vượt quá số lượt người được tiếp cận."),
    ("Kinh phí, Nguồn kinh phí", "Có kinh phí thì chọn nguồn kinh phí."),
    ("", ""),
    ("Lưu file", "Lưu dưới dạng Excel Workbook (.xlsx). Không lưu dạng .xls (Excel 97-2003) và không đặt mật khẩu "
                 "cho file."),
    ("Nhập vào dbcomm", "Trong dbcomm: Dữ liệu → Nhập từ Excel, chọn file này; hoặc lệnh: "
                        "dbcomm sheets import <tên file>.xlsx"),
]


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def write_template(db: Database, plan_id: int, path: Path) -> Path:
    """Write the blank log for the plan (its forms, objectives, programmes) and the office's places."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    require(db, Perm.EXPORT)
    with db.read() as s:
        if s.get(Plan, plan_id) is None:
            raise NotFoundError(_("The plan no longer exists."))
        lookups = L.load(s, plan_id)
        orgs = list(s.scalars(select(Organisation).order_by(Organisation.name_sort)))
        in_area = [o for o in orgs if o.in_area]
        places = in_area or [o for o in orgs if o.kind in ("commune", "ward", "township")]
        place_names = [o.name for o in places] or [p.name for p in lookups.places.values()]

    lists: dict[str, list[str]] = {
        "form": [c.label for c in lookups.catalogues["form"].choices],
        "subtype": list(F.SUBTYPES_VI.values()),
        "place": place_names,
        "objectives": [c.label for c in lookups.catalogues["objectives"].choices],
        "programmes": [c.label for c in lookups.catalogues["programmes"].choices],
        "languages": list(F.LANGUAGES_VI.values()),
        "funding": list(F.FUNDING_VI.values()),
    }

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = DATA_SHEET
    help_ws = wb.create_sheet(HELP_SHEET)
    list_ws = wb.create_sheet(LISTS_SHEET)
    list_ws.sheet_state = "hidden"

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE7F0")
    required_fill = PatternFill("solid", fgColor="FCE4C4")
    specs = [spec for spec in F.FIELDS if spec.key != "uuid"]
    headers = ["STT", *(spec.header for spec in specs)]
    ws.append(headers)
    ws.row_dimensions[1].height = 45
    ws.freeze_panes = "A2"
    ws.column_dimensions["A"].width = 6
    ranges: dict[str, str] = {}
    for i, key in enumerate(_LIST_FIELDS, start=1):
        letter = get_column_letter(i)
        list_ws.cell(row=1, column=i, value=_LIST_TITLES[key]).font = bold
        for r, value in enumerate(lists[key], start=2):
            list_ws.cell(row=r, column=i, value=value)
        list_ws.column_dimensions[letter].width = 50
        last = max(len(lists[key]) + 1, 2)
        ranges[key] = f"{_quoted(LISTS_SHEET)}!${letter}$2:${letter}${last}"

    validations: list[Any] = []
    for col, spec in enumerate(specs, start=2):
        letter = get_column_letter(col)
        cell = ws.cell(row=1, column=col)
        cell.font = bold
        cell.fill = required_fill if spec.required else header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        dim = ws.column_dimensions[letter]
        dim.width = spec.width
        area = f"{letter}2:{letter}{ROWS + 1}"
        if spec.kind == "date":
            dim.number_format = "dd/mm/yyyy"
            dv = DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)",
                                formula2="DATE(2100,12,31)", allow_blank=True, errorStyle="warning",
                                error="Ghi ngày theo dạng ngày/tháng/năm, ví dụ 05/03/2026.", errorTitle="Ngày",
                                prompt="Ngày/tháng/năm, ví dụ 05/03/2026", promptTitle=spec.header)
        elif spec.kind == "int":
            dim.number_format = "#,##0"
            dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                errorStyle="warning", error="Ghi một số nguyên, không âm, không kèm đơn vị.",
                                errorTitle=spec.header)
        elif spec.key in ranges:
            dv = DataValidation(type="list", formula1=f"={ranges[spec.key]}", allow_blank=True,
                                errorStyle="warning", error="Nên chọn một giá trị trong danh sách.",
                                errorTitle=spec.header)
        else:
            dim.alignment = Alignment(wrap_text=True, vertical="top")
            continue
        dv.showErrorMessage = True
        dv.showInputMessage = spec.kind == "date"
        dv.add(area)
        validations.append(dv)
    for dv in validations:
        ws.add_data_validation(dv)

    help_ws.column_dimensions["A"].width = 30
    help_ws.column_dimensions["B"].width = 100
    for label, text in HELP_LINES:
        help_ws.append([label, text])
    help_ws["A1"].font = Font(bold=True, size=13)
    for row in help_ws.iter_rows(min_row=2):
        row[0].font = bold
        row[0].alignment = Alignment(vertical="top", wrap_text=True)
        row[1].alignment = Alignment(vertical="top", wrap_text=True)
    wb.active = 0

    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)
