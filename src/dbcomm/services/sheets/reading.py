"""Opening a spreadsheet safely and reading it row by row.

An .xlsx is read with openpyxl in read-only mode (streamed, never loaded whole) with the values
Excel last computed (``data_only``); when the sheet has formulas it is streamed a second time
alongside, to tell a formula whose value was never computed from an empty cell.  A CSV file is
streamed in its detected or chosen encoding.  The file's own "dimension" (its claimed size) is
not believed: rows are counted as they come, and reading stops past ``MAX_ROWS``.

Files that are not what they seem get a plain refusal saying what to do: a workbook protected
by a password, an old .xls, a damaged file, an OpenDocument or binary workbook, a web page saved
with an .xls name.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import re
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from xml.etree.ElementTree import ParseError

from dbcomm.domain.text import nfc
from dbcomm.errors import ImportFileError
from dbcomm.i18n import _, format_number
from dbcomm.services.sheets import encodings
from dbcomm.services.sheets import values as V

MAX_ROWS = 200_000  # data rows in one import
MAX_FILE_BYTES = 100 * 1024 * 1024  # the file as stored (an .xlsx of 200,000 rows is ~15 MB)
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024  # a sheet's or the shared strings' XML, unpacked
HEADER_SCAN_ROWS = 30  # the header is looked for in this many first rows
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"


class SheetFileError(ImportFileError):
    """The file cannot be imported as it is; ``code`` says why, ``str()`` tells the person what to do."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class SourceOptions:
    """The person's choices about reading the file (None: detected).

    ``encoding``: for a CSV file, one of ``encodings.ENCODINGS``; for a workbook, ``"tcvn3"`` to
    repair text typed in the old TCVN3 (.VnTime) fonts, or ``"unicode"`` to keep it as it is.
    """

    encoding: str | None = None
    delimiter: str | None = None


@dataclass(frozen=True)
class SheetInfo:
    name: str
    hidden: bool
    rows_estimate: int | None  # what the file claims (can be wrong); None when it does not say


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    kind: str  # "xlsx" | "csv"
    size: int
    sha256: str
    sheets: list[SheetInfo]
    encoding: str | None  # CSV: the encoding used; workbook: "tcvn3" when its text is repaired
    encoding_candidates: list[encodings.Candidate] = field(default_factory=list)  # CSV: each reading
    delimiter: str | None = None
    options: SourceOptions = SourceOptions()
    mtime_ns: int = 0  # the file's time of change when it was opened

    @property
    def name(self) -> str:
        return self.path.name

    def sheet(self, name: str | None) -> SheetInfo:
        """The named sheet; None: the first visible one."""
        if name is None:
            return next((s for s in self.sheets if not s.hidden), self.sheets[0])
        for s in self.sheets:
            if s.name == name:
                return s
        raise SheetFileError("no_sheet", _("{file} has no sheet named “{sheet}”.").format(file=self.name, sheet=name))


@dataclass(frozen=True)
class RawRow:
    number: int  # 1-based row number in the sheet (the record number in a CSV file)
    values: tuple[Any, ...]
    missing: frozenset[int] = frozenset()  # columns holding a formula that was never computed

    def is_blank(self) -> bool:
        return all(V.is_blank(v) for v in self.values)


# --- opening ---------------------------------------------------------------------------------


def _refuse(code: str, message: str, path: Path) -> SheetFileError:
    return SheetFileError(code, message.format(file=path.name))


def _contains_utf16(path: Path, names: tuple[str, ...]) -> set[str]:
    """Which of these storage names appear in a compound (OLE) file's directory."""
    wanted = {name: name.encode("utf-16-le") for name in names}
    found: set[str] = set()
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            block = tail + chunk
            found |= {name for name, raw in wanted.items() if raw in block}
            tail = block[-64:]
    return found


def _check_compound(path: Path) -> SheetFileError:
    found = _contains_utf16(path, ("EncryptedPackage", "EncryptionInfo", "Workbook", "Book"))
    if {"EncryptedPackage", "EncryptionInfo"} & found:
        return _refuse("password", _(
            "{file} is protected by a password, so dbcomm cannot read it. Open it in Excel with its "
            "password, remove the password (File → Info → Protect Workbook → Encrypt with Password, "
            "leave it empty), save it as an Excel Workbook (.xlsx) and import that file."), path)
    if {"Workbook", "Book"} & found:
        return _refuse("xls", _(
            "{file} is in the old Excel format (.xls), which dbcomm does not read. Open it in Excel or "
            "LibreOffice, choose File → Save As → Excel Workbook (.xlsx), and import the .xlsx file."), path)
    return _refuse("protected_or_xls", _(
        "{file} is either protected by a password or in the old Excel format (.xls). Open it in Excel, "
        "remove any password, save it as an Excel Workbook (.xlsx) and import that file."), path)


def _damaged(path: Path) -> SheetFileError:
    return _refuse("corrupt", _(
        "{file} is damaged: it is not a complete Excel workbook. Open it in Excel (which may offer to "
        "repair it) and save it again, or ask for the file again."), path)


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {i.filename: i for i in archive.infolist()}
            if "xl/workbook.xml" in infos:
                for name, info in infos.items():
                    if name.startswith("xl/") and name.endswith(".xml") and info.file_size > MAX_UNPACKED_BYTES:
                        raise _refuse("too_large", _(
                            "{file} is too large to import: split it into several files of at most "
                            "{n} rows.").replace("{n}", format_number(MAX_ROWS)), path)
                return
            if "xl/workbook.bin" in infos:
                raise _refuse("xlsb", _(
                    "{file} is an Excel Binary Workbook (.xlsb). Open it in Excel, save it as an Excel "
                    "Workbook (.xlsx) and import that file."), path)
            if "mimetype" in infos and b"opendocument" in archive.read("mimetype"):
                raise _refuse("ods", _(
                    "{file} is an OpenDocument spreadsheet (.ods). Open it in LibreOffice, save it as "
                    "an Excel Workbook (.xlsx) and import that file."), path)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError):
        raise _damaged(path) from None
    raise _refuse("not_spreadsheet", _(
        "{file} is not a spreadsheet: dbcomm imports Excel workbooks (.xlsx) and CSV files."), path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def open_source(path: Path, options: SourceOptions | None = None) -> SourceInfo:
    """Look at a file to import: what it is, its sheets and (CSV) its encoding.  Raises
    :class:`SheetFileError` with a plain message for anything that cannot be imported."""
    path = Path(path)
    options = options or SourceOptions()
    try:
        st = path.stat()
        size, mtime_ns = st.st_size, st.st_mtime_ns
        with path.open("rb") as fh:
            head = fh.read(8)
    except FileNotFoundError as exc:
        raise SheetFileError("missing", _("{file} is not there (moved, renamed or on a stick that was taken "
                                          "out?): choose it again.").format(file=path.name)) from exc
    except OSError as exc:
        raise SheetFileError("unreadable", _("Cannot read {file}: {reason}").format(
            file=path.name, reason=exc.strerror or exc)) from exc
    if size == 0:
        raise _refuse("empty", _("{file} is empty."), path)
    if size > MAX_FILE_BYTES:
        raise _refuse("too_large", _(
            "{file} is too large to import (more than {mb} MB): split it into several files.").replace(
            "{mb}", str(MAX_FILE_BYTES // (1024 * 1024))), path)
    if head.startswith(_CFB):
        raise _check_compound(path)
    sha256 = file_sha256(path)
    key = (str(path.resolve()), sha256, options)
    known = _recall("info", key)
    if known is not None:
        return dataclasses.replace(cast(SourceInfo, known), mtime_ns=mtime_ns)
    if head.startswith(_ZIP) or path.suffix.lower() in (".xlsx", ".xlsm", ".xltx"):
        if not head.startswith(_ZIP):
            raise _damaged(path)
        _check_zip(path)
        info = _open_workbook(path, size, sha256, options)
    else:
        info = _open_csv(path, size, sha256, options)
    info = dataclasses.replace(info, mtime_ns=mtime_ns)
    _keep("info", key, info)
    return info


# --- what was read last ----------------------------------------------------------------------
#
# An import reads its file in three steps (the values to map, the dry run, the import), each of
# which used to open and read the whole file again.  The last file opened and the rows last read
# are remembered, keyed by the file's SHA-256: a step that finds the same bytes, sheet and
# reading options uses them; a file changed in between is read again.

REMEMBER_ROWS = 50_000  # rows kept in memory between steps (a 20,000-row log of 16 columns: ~60 MB)
REMEMBER_CELLS = 1_500_000  # and cells: a sheet a thousand columns wide is not kept
_memory_lock = threading.Lock()
_memory: dict[str, tuple[object, object]] = {}


def _recall(kind: str, key: object) -> object | None:
    with _memory_lock:
        held = _memory.get(kind)
    return held[1] if held is not None and held[0] == key else None


def _keep(kind: str, key: object, value: object) -> None:
    with _memory_lock:
        _memory[kind] = (key, value)


def forget() -> None:
    """Let go of the file and rows remembered (the import is done, or the wizard closed)."""
    with _memory_lock:
        _memory.clear()


# Workbooks opened during one operation (a dry run, an import), shared by its steps; see keep_open.
_OPEN: ContextVar[dict[tuple[str, bool], Any] | None] = ContextVar("dbcomm_sheets_open", default=None)
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3}[0-9]+(?::[A-Z]{1,3}[0-9]+)?)\"")


@contextmanager
def keep_open() -> Iterator[None]:
    """Open each workbook once for everything done inside (and close it at the end): opening an
    .xlsx reads its shared strings and styles, which is most of the cost of a small file."""
    if _OPEN.get() is not None:
        yield
        return
    token = _OPEN.set({})
    try:
        yield
    finally:
        for wb in (_OPEN.get() or {}).values():
            wb.close()
        _OPEN.reset(token)


def _release(wb: Any) -> None:
    if wb not in (_OPEN.get() or {}).values():
        wb.close()


def _streaming_reader(path: Path, data_only: bool) -> Any:
    """openpyxl's read-only reader, except that a sheet without a ``<dimension>`` at its top is not
    parsed whole just to learn its size (openpyxl's own files in streaming mode have none); the
    size is not relied upon anyway (``reset_dimensions``)."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):  # type: ignore[misc]
        def _get_size(self) -> None:
            with self._get_source() as src:
                head = src.read(16384)
            m = _DIMENSION.search(head)
            if m:
                bounds = range_boundaries(m.group(1).decode("ascii"))
                self._min_column, self._min_row, self._max_column, self._max_row = bounds

    class Reader(ExcelReader):  # type: ignore[misc]
        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files or "chartsheet" in rel.Type:
                    continue
                ws = Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)

    reader = Reader(path, read_only=True, keep_vba=False, data_only=data_only, keep_links=False)
    reader.read()
    return reader.wb


def _load(path: Path, data_only: bool = True) -> Any:
    cache = _OPEN.get()
    key = (str(path), data_only)
    if cache is not None and key in cache:
        return cache[key]
    try:
        wb = _streaming_reader(path, data_only)
    except Exception:  # noqa: BLE001 - the same file through openpyxl's own entry point says what is wrong
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=data_only, keep_links=False)
        except Exception as exc:  # whatever openpyxl finds wrong inside the package: damaged
            raise _damaged(path) from exc
    if cache is not None:
        cache[key] = wb
    return wb


def _open_workbook(path: Path, size: int, sha256: str, options: SourceOptions) -> SourceInfo:
    wb = _load(path)
    try:
        sheets = []
        for ws in wb.worksheets:
            try:
                estimate = ws.max_row
            except Exception:  # noqa: BLE001 - a dimension that cannot be read is no estimate
                estimate = None
            sheets.append(SheetInfo(ws.title, ws.sheet_state != "visible", estimate))
        if not sheets:
            raise _refuse("no_sheet", _("{file} has no worksheet."), path)
        encoding = options.encoding if options.encoding == "tcvn3" else None
        if options.encoding is None:
            first = next((s for s in sheets if not s.hidden), sheets[0])
            sample: list[str] = []
            try:
                for row in _limited(wb[first.name].iter_rows(values_only=True), HEADER_SCAN_ROWS):
                    sample += [v for v in row if isinstance(v, str)]
            except Exception as exc:  # a damaged sheet shows now rather than later
                raise _damaged(path) from exc
            encoding = "tcvn3" if encodings.looks_like_tcvn3(sample) else None
    finally:
        _release(wb)
    return SourceInfo(path, "xlsx", size, sha256, sheets, encoding, options=options)


def _limited(rows: Any, n: int) -> Iterator[Any]:
    for i, row in enumerate(rows):
        if i >= n:
            return
        yield row


_HTML = re.compile(rb"^\s*(<!doctype html|<html|<table|<\?xml[^>]*>\s*<\?mso-application|<\?xml.*urn:schemas-"
                   rb"microsoft-com:office:spreadsheet)", re.IGNORECASE | re.DOTALL)


def _open_csv(path: Path, size: int, sha256: str, options: SourceOptions) -> SourceInfo:
    with path.open("rb") as fh:
        sample = fh.read(1 << 20)
    probe = sample[:4096]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        probe = sample[:8192].decode("utf-16", errors="ignore").encode("utf-8")
    if _HTML.match(probe.lstrip(b"\xef\xbb\xbf")):
        raise _refuse("html", _(
            "{file} is a web page or an Excel 2003 XML file with a spreadsheet's name (some systems export "
            "this way). Open it in Excel, save it as an Excel Workbook (.xlsx) and import that file."), path)
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse("not_spreadsheet", _(
            "{file} is not a spreadsheet: dbcomm imports Excel workbooks (.xlsx) and CSV files."), path)
    found = encodings.candidates(sample)
    encoding = options.encoding or found[0].encoding
    if encoding not in encodings.ENCODINGS:
        raise SheetFileError("encoding", _("Unknown encoding “{name}”: choose one of {names}.").format(
            name=encoding, names=", ".join(encodings.ENCODINGS)))
    text = encodings.decode(sample[:65536], encoding)
    delimiter = options.delimiter or _sniff_delimiter(text)
    return SourceInfo(path, "csv", size, sha256, [SheetInfo(path.name, False, None)], encoding, found,
                      delimiter, options)


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:30] if line.strip()]
    best, best_score = ",", -1.0
    for delimiter in (";", ",", "\t", "|"):
        counts = [len(next(csv.reader([line], delimiter=delimiter))) - 1 for line in lines[:30]]
        if not counts or max(counts) == 0:
            continue
        common = max(set(counts), key=counts.count)
        score = counts.count(common) / len(counts) * min(common, 10)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- reading rows ----------------------------------------------------------------------------


def _has_formulas(ws: Any) -> bool:
    """Whether the sheet's XML holds any formula (a quick scan of the raw bytes)."""
    if not hasattr(ws, "_get_source"):
        return True
    tail = b""
    try:
        with ws._get_source() as src:
            while chunk := src.read(1 << 20):
                block = tail + chunk
                if b"<f>" in block or b"<f " in block or b"<f/>" in block:
                    return True
                tail = block[-8:]
    except Exception:  # noqa: BLE001 - unsure: read both ways
        return True
    return False


def _is_formula(value: object) -> bool:
    if isinstance(value, str):
        return value.startswith("=")
    return value is not None and type(value).__name__ in ("ArrayFormula", "DataTableFormula")


def rows(info: SourceInfo, sheet: str | None, start: int = 1) -> Generator[RawRow, None, None]:
    """Every row of the sheet from row ``start``, blank rows included, streamed; the rows read
    to the end last time, when they are of the same bytes, sheet and reading."""
    name = info.sheet(sheet).name
    key = _rows_key(info, name, start)
    known = _recall("rows", key)
    if known is not None:
        yield from cast(tuple[RawRow, ...], known)
        return
    kept: list[RawRow] | None = []
    cells = 0
    for row in _csv_rows(info, start) if info.kind == "csv" else _sheet_rows(info, name, start):
        if kept is not None:
            kept.append(row)
            cells += len(row.values)
            if len(kept) > REMEMBER_ROWS or cells > REMEMBER_CELLS:
                kept = None
        yield row
    if kept is not None and _unchanged(info):
        _keep("rows", key, tuple(kept))


def _unchanged(info: SourceInfo) -> bool:
    """The file is still as it was when opened (its size and time of change): the rows read are
    those of the bytes whose SHA-256 keys them."""
    try:
        st = info.path.stat()
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (info.size, info.mtime_ns)


def _rows_key(info: SourceInfo, name: str, start: int) -> tuple[object, ...]:
    return (str(info.path.resolve()), info.sha256, info.encoding, info.delimiter, name, start)


def _sheet_rows(info: SourceInfo, name: str, start: int) -> Generator[RawRow, None, None]:
    repair = info.encoding == "tcvn3"
    wb = _load(info.path)
    formulas = None
    try:
        ws = wb[name]
        ws.reset_dimensions()  # the claimed size can be wrong: read what is there
        values = ws.iter_rows(min_row=start, values_only=True)
        if _has_formulas(ws):
            formulas = _load(info.path, data_only=False)
            fws = formulas[name]
            fws.reset_dimensions()
            raw = fws.iter_rows(min_row=start, values_only=True)
        number = start - 1
        for row in values:
            number += 1
            missing: frozenset[int] = frozenset()
            if formulas is not None:
                written = next(raw, ())
                missing = frozenset(i for i, v in enumerate(written)
                                    if _is_formula(v) and (i >= len(row) or row[i] is None))
            cells = tuple(_cell(v, repair) for v in row)
            yield RawRow(number, cells, missing)
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ParseError, ValueError) as exc:
        raise _damaged(info.path) from exc
    except Exception as exc:
        if type(exc).__name__ in ("XMLSyntaxError", "ParseError"):
            raise _damaged(info.path) from exc
        raise
    finally:
        _release(wb)
        if formulas is not None:
            _release(formulas)


def _cell(value: Any, repair: bool) -> Any:
    if isinstance(value, str):
        return encodings.from_tcvn3(value) if repair else unicodedata.normalize("NFC", value)
    return value


_GUARDED = ("=", "+", "-", "@", "\t", "\r", "'")  # what a CSV export puts an apostrophe before


def _csv_cell(value: str) -> str:
    """A CSV cell as written: the apostrophe a spreadsheet export puts before a text that would
    otherwise be a formula ("'=…", "'- …"), or before one that begins with an apostrophe, is not
    part of the text."""
    return value[1:] if value[:1] == "'" and value[1:2] in _GUARDED else value


def _csv_rows(info: SourceInfo, start: int) -> Generator[RawRow, None, None]:
    encoding = info.encoding or "utf-8"
    repair = encoding == "tcvn3"
    python_encoding = "latin-1" if repair else encoding
    csv.field_size_limit(1 << 20)
    with info.path.open("rb") as raw:
        stream = io.TextIOWrapper(raw, encoding=python_encoding, errors="replace", newline="")
        reader = csv.reader(stream, delimiter=info.delimiter or ",")
        try:
            for number, record in enumerate(reader, start=1):
                if number < start:
                    continue
                cells = tuple(_csv_cell(encodings.from_tcvn3(v) if repair else nfc(v) if not v.isascii()
                                        else v.strip()) for v in record)
                yield RawRow(number, cells)
        except csv.Error as exc:
            raise SheetFileError("corrupt_csv", _(
                "{file} cannot be read as a CSV file (line {line}: {reason}). Open it in Excel and save it "
                "as an Excel Workbook (.xlsx) or as “CSV UTF-8”.").format(
                file=info.name, line=reader.line_num, reason=exc)) from exc


def _count_tags(stream: Any, tag: bytes, limit: int) -> int:
    """How many times ``tag`` occurs in a stream, read in pieces (stops counting past ``limit``)."""
    found, tail = 0, b""
    while chunk := stream.read(1 << 20):
        block = tail + chunk
        found += block.count(tag) - tail.count(tag)
        tail = block[-(len(tag) - 1):] if len(tag) > 1 else b""
        if found > limit:
            break
    return found


def _rows_with_values(stream: Any, limit: int) -> int:
    """The rows of a sheet's XML that hold a value (``<v>`` or an inline string), counted in the
    raw stream without parsing it (stops counting past ``limit``)."""
    found, rest = 0, b""
    while chunk := stream.read(1 << 20):
        parts = (rest + chunk).split(b"</row>")
        rest = parts.pop()
        found += sum(1 for part in parts if b"<v>" in part or b"<is>" in part)
        if found > limit:
            break
    return found


def check_size(info: SourceInfo, sheet: str | None, start: int = 1) -> None:
    """Refuse a sheet of more than ``MAX_ROWS`` rows of data before reading it in earnest: the
    rows are first counted in the raw file (fast); only when there seem to be too many are the
    rows holding something counted one by one."""
    limit = MAX_ROWS + start
    if _recall("rows", _rows_key(info, info.sheet(sheet).name, start)) is not None:
        return  # read to the end before, and no more than REMEMBER_ROWS
    if info.kind == "csv":
        with info.path.open("rb") as fh:
            if _count_tags(fh, b"\n", limit) <= limit:
                return
    else:
        wb = _load(info.path)
        try:
            ws = wb[info.sheet(sheet).name]
            if hasattr(ws, "_get_source"):
                with ws._get_source() as src:
                    if _count_tags(src, b"<row", limit) <= limit:
                        return
                with ws._get_source() as src:
                    if _rows_with_values(src, limit) > MAX_ROWS + start - 1:
                        raise too_many_rows(info)
                    return
        finally:
            _release(wb)
    data = 0
    with closing(rows(info, sheet, start)) as stream:
        for raw in stream:
            if not raw.is_blank():
                data += 1
                if data > MAX_ROWS:
                    raise too_many_rows(info)


def first_rows(info: SourceInfo, sheet: str | None, n: int) -> list[RawRow]:
    out: list[RawRow] = []
    with closing(rows(info, sheet)) as stream:
        for row in stream:
            out.append(row)
            if len(out) >= n:
                break
    return out


def too_many_rows(info: SourceInfo) -> SheetFileError:
    return SheetFileError("too_many_rows", _(
        "{file} has more than {n} rows of data, more than dbcomm imports at once. Split it into several "
        "files (for example one per year) and import them one after the other; nothing was imported."
    ).format(file=info.name, n=format_number(MAX_ROWS)))
