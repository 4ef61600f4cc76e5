"""Cell values as offices write them: Vietnamese numbers ("1.234", "1.500.000 đ"), dates typed
as text ("05/3/2024", "5/3/24", "ngày 5 tháng 3 năm 2024"), real Excel dates and serial numbers,
ISO dates, Excel error values — each turned into a plain value or refused with a reason."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from dbcomm.domain.text import fold, nfc, nfc_line
from dbcomm.i18n import _

EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})

# Excel's serial day numbers of 1 Jan 1990 and 31 Dec 2099: a plain number in a date column
# inside this range is a date whose cell lost its date format.
_SERIAL_MIN, _SERIAL_MAX = 32874, 73050


class CellError(ValueError):
    """A cell that cannot be read as what its column holds; ``code`` for programs, str for people."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def shown(value: object) -> str:
    """A cell's value as the person sees it in a table (dates dd/mm/yyyy, whole numbers without .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return nfc(value)
    return str(value)


def text(value: object, *, multiline: bool = False) -> str:
    """A text cell: NFC, trimmed; single-line text has its runs of spaces collapsed."""
    if value is None:
        return ""
    raw = value if isinstance(value, str) else shown(value)
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return nfc(raw) if multiline else nfc_line(raw)


def check_error(value: object) -> None:
    if isinstance(value, str) and "#" in value and value.strip().upper() in EXCEL_ERRORS:
        raise CellError("excel_error", _("the cell holds the Excel error {error}").format(error=value.strip()))


# --- numbers -------------------------------------------------------------------------------

_NUMBER = re.compile(r"^([+-]?)\s*(\d[\d.,\s]*)\s*([^\d.,\s][^\d]*)?$")
_GROUPED_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_GROUPED_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_DASHES = {"-", "–", "—", "x", "0"}


def number(value: object) -> Decimal:
    """A number cell.  Text follows the Vietnamese convention: "." groups thousands, "," marks
    decimals ("1.234" = 1234, "1.234,5" = 1234.5); "1,234" (three digits after a single comma)
    is read as 1234 too, since counts do not have thousandths.  A unit after the number is
    allowed ("45 phút", "1.500.000 đ"); "-" alone means none."""
    check_error(value)
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise CellError("not_number", _("“{value}” is not a number").format(value=shown(value)))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (date, datetime)):
        raise CellError("not_number", _("“{value}” is a date, not a number").format(value=shown(value)))
    raw = nfc(str(value)).replace("\u00a0", " ").replace("\u202f", " ").strip()
    if raw in _DASHES or not raw:
        return Decimal(0)
    m = _NUMBER.match(raw)
    if not m:
        raise CellError("not_number", _("“{value}” is not a number").format(value=raw))
    sign, digits, unit = m.group(1), re.sub(r"\s+", "", m.group(2)), (m.group(3) or "").strip()
    if unit and not all(ch.isalpha() or ch in " ./'" for ch in unit):
        raise CellError("not_number", _("“{value}” is not a number").format(value=raw))
    if "." in digits and "," in digits:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        group = "." if decimal_mark == "," else ","
        digits = digits.replace(group, "").replace(decimal_mark, ".")
    elif "." in digits:
        digits = digits.replace(".", "") if _GROUPED_DOT.match(digits) else digits
    elif "," in digits:
        digits = digits.replace(",", "") if _GROUPED_COMMA.match(digits) else digits.replace(",", ".")
    try:
        result = Decimal(digits)
    except InvalidOperation:
        raise CellError("not_number", _("“{value}” is not a number").format(value=raw)) from None
    return -result if sign == "-" else result


def whole(value: object) -> int:
    """A count: a whole number (negative numbers are left to the register's own rules)."""
    amount = number(value)
    if amount != amount.to_integral_value():
        raise CellError("not_whole", _("“{value}” is not a whole number").format(value=shown(value)))
    return int(amount)


# --- dates ---------------------------------------------------------------------------------

_DMY = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})(?!\d)")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_WORDS = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})")
_DAYS_RANGE = re.compile(r"^(\d{1,2})\s*[-–—]\s*(\d{1,2})\s*[/.]\s*(\d{1,2})\s*[/.]\s*(\d{4}|\d{2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _year(text: str) -> int:
    year = int(text)
    return year + (2000 if year < 70 else 1900) if len(text) == 2 else year


def _make(year: int, month: int, day: int, raw: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError("bad_date", _("“{value}” is not a date (dd/mm/yyyy)").format(value=raw)) from None


def _from_serial(serial: float, raw: str) -> date:
    from openpyxl.utils.datetime import from_excel

    if not (_SERIAL_MIN <= serial <= _SERIAL_MAX):
        raise CellError("bad_date", _("“{value}” is not a date (dd/mm/yyyy)").format(value=raw))
    moment = from_excel(serial)
    return moment.date() if isinstance(moment, datetime) else moment  # type: ignore[return-value]


def dates(value: object) -> tuple[date | None, date | None]:
    """A date cell → (first day, last day or None).  A range in one cell ("05/3/2024 - 07/3/2024",
    "05-07/3/2024") gives both; an empty cell gives (None, None)."""
    check_error(value)
    if value is None:
        return None, None
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, bool):
        raise CellError("bad_date", _("“{value}” is not a date (dd/mm/yyyy)").format(value=shown(value)))
    if isinstance(value, (int, float)):
        raw = shown(value)
        if m := _COMPACT.match(raw):
            return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw), None
        return _from_serial(float(value), raw), None
    raw = nfc_line(str(value))
    if not raw:
        return None, None
    if m := _ISO.match(raw):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw), None
    if m := _COMPACT.match(raw):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw), None
    if m := _DAYS_RANGE.match(raw):
        month, year = int(m.group(3)), _year(m.group(4))
        first, last = _make(year, month, int(m.group(1)), raw), _make(year, month, int(m.group(2)), raw)
        return (first, last) if last >= first else (last, first)
    found = _DMY.findall(raw)
    if not found:
        if m := _WORDS.search(fold(raw)):
            return _make(int(m.group(3)), int(m.group(2)), int(m.group(1)), raw), None
        if re.fullmatch(r"\d+(\.0+)?", raw):
            return _from_serial(float(raw), raw), None
        raise CellError("bad_date", _("“{value}” is not a date (dd/mm/yyyy)").format(value=raw))
    leftover = _DMY.sub("", raw)
    if len(found) > 2 or re.search(r"\d", leftover):
        raise CellError("bad_date", _("“{value}” is not a date (dd/mm/yyyy)").format(value=raw))
    days = [_make(_year(y), int(mo), int(d), raw) for d, mo, y in found]
    if len(days) == 1:
        return days[0], None
    return days[0], days[1]
