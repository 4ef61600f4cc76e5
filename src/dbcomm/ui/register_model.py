"""The register's table model: rows fetched from SQL a page at a time, sorted in SQL.

At 100,000 activities the view asks only for the rows on screen; the model
keeps a bounded cache of pages, so scrolling to the end costs one query.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from dbcomm.domain.models import ActivityFilter, ActivityRow, Totals
from dbcomm.domain.vocab import LANGUAGES, SUBTYPES, label
from dbcomm.i18n import N_, _, format_date, format_number
from dbcomm.services import activities
from dbcomm.store.engine import Database

ROW_ID_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

COLUMNS: list[tuple[str, str]] = [
    ("date", N_("Date")),
    ("form", N_("Form")),
    ("subtype", N_("Kind")),
    ("title", N_("Title")),
    ("place", N_("Place")),
    ("languages", N_("Languages")),
    ("items", N_("Items")),
    ("minutes", N_("Minutes")),
    ("reach", N_("People reached")),
    ("partner", N_("Partner")),
]
NUMERIC = {"items", "minutes", "reach"}

# data() is called for every cell and every role on each repaint: plain ints and tuples only.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_ROW_ID = int(ROW_ID_ROLE)
_ROW = int(ROW_ROLE)
_KEYS = tuple(key for key, _label in COLUMNS)
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
_ALIGNMENT = tuple(_RIGHT if key in NUMERIC else None for key in _KEYS)
_TOOLTIP_FIELDS = {"title": "title", "form": "form_name", "partner": "partner", "place": "place_name"}
_TOOLTIPS = {i: _TOOLTIP_FIELDS[key] for i, key in enumerate(_KEYS) if key in _TOOLTIP_FIELDS}

# A chunk of rows (the cache's unit): its rows, and the text of each row's cells, made the
# first time the row is shown.
_Page = tuple[list[ActivityRow], list[tuple[str, ...] | None]]


class _Bridge(QObject):
    """Carries a background result back to the GUI thread."""

    finished = Signal(int, object, object)


class RegisterModel(QAbstractTableModel):
    """Two steps per refresh, so that a keystroke never waits for the whole set:

    1. at once, the first page (a LIMIT query that stops after one screenful);
    2. in a background thread, the ordered list of every matching id and the totals.
       Rows beyond the first page are then read by id, ``CHUNK`` at a time, in constant time.

    Step 2 starts once the first page is on screen (``start_counting``, which the view calls
    after painting; a timer starts it anyway if nothing paints), so that the window does not
    compete with it while drawing the rows the person is waiting for.
    """

    PAGE = 200  # the first screenful, read by the refresh itself
    CHUNK = 50  # later rows are read by id this many at a time: a jump reads little, and little is kept
    MAX_CHUNKS = 256
    # If the view does not paint (a hidden tab), step 2 starts after this long anyway.
    COUNT_DELAY_MS = 40
    # Tests set this to False to run step 2 at once, on the calling thread.
    background = os.environ.get("DBCOMM_SYNC_REGISTER") != "1"

    totals_changed = Signal()

    def __init__(self, db: Database, parent: Any = None, f: ActivityFilter | None = None):
        super().__init__(parent)
        self._db = db
        self._filter = f or ActivityFilter()
        self._sort = "date"
        self._descending = True
        self._count = 0
        self._totals: Totals | None = Totals()
        self._ids: list[int] | None = None
        self._pages: OrderedDict[int, _Page] = OrderedDict()  # by chunk number
        self._first_ids: list[int] = []
        self._last_page_no = -1  # the page data() read last, kept at hand
        self._last_page: _Page | None = None
        self._dates: dict[tuple[date, date | None], str] = {}  # texts made once (a few thousand at most)
        self._languages: dict[str, str] = {}
        self._generation = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="register")
        self._pending: Future[Any] | None = None
        self._work: Callable[[], None] | None = None
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(self.COUNT_DELAY_MS)
        self._count_timer.timeout.connect(self.start_counting)
        self._bridge = _Bridge(self)
        self._bridge.finished.connect(self._on_complete)

    # --- what the view asks ------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role in (Qt.ItemDataRole.DisplayRole,
                                                                  Qt.ItemDataRole.ToolTipRole):
            return _(COLUMNS[section][1])
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return format_number(section + 1)
        return None

    def _page(self, page_no: int) -> _Page | None:
        if page_no == self._last_page_no:
            return self._last_page
        page = self._pages.get(page_no)
        if page is None:
            if self._ids is None:
                return None
            rows = activities.rows_by_ids(self._db, self._ids[page_no * self.CHUNK:(page_no + 1) * self.CHUNK])
            page = self._make_page(rows)
            self._pages[page_no] = page
            while len(self._pages) > self.MAX_CHUNKS:
                self._pages.popitem(last=False)  # the least recently used (never this one, just added)
        else:
            self._pages.move_to_end(page_no)
        self._last_page_no, self._last_page = page_no, page
        return page

    @staticmethod
    def _make_page(rows: list[ActivityRow]) -> _Page:
        return rows, [None] * len(rows)  # each row's cells are made when first shown

    def _cells(self, r: ActivityRow) -> tuple[str, ...]:
        return tuple(self._display(r, key) for key in _KEYS)

    def _forget_pages(self) -> None:
        self._pages.clear()
        self._last_page_no, self._last_page = -1, None

    def row(self, row: int) -> ActivityRow | None:
        if not 0 <= row < self._count:
            return None
        page_no, i = divmod(row, self.CHUNK)
        page = self._page(page_no)
        return page[0][i] if page is not None and i < len(page[0]) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if role == _DISPLAY:
            row = index.row()
            if not 0 <= row < self._count:
                return None
            page_no, i = divmod(row, self.CHUNK)
            page = self._page(page_no)
            if page is None or i >= len(page[1]):
                return None
            cells = page[1][i]
            if cells is None:
                cells = page[1][i] = self._cells(page[0][i])
            return cells[index.column()]
        if role == _ALIGN:
            return _ALIGNMENT[index.column()] if index.isValid() else None
        if role == _TOOLTIP:
            attr = _TOOLTIPS.get(index.column())
            r = self.row(index.row()) if attr else None
            return getattr(r, attr) if r is not None and attr else None
        if role == _ROW_ID:
            r = self.row(index.row())
            return r.id if r is not None else None
        if role == _ROW:
            return self.row(index.row())
        return None  # Qt asks for many roles we leave default

    def _display(self, r: ActivityRow, key: str) -> str:
        if key == "date":
            text = self._dates.get((r.date_start, r.date_end))
            if text is None:
                text = format_date(r.date_start) + (f" – {format_date(r.date_end)}" if r.date_end else "")
                self._dates[(r.date_start, r.date_end)] = text
            return text
        if key == "form":
            return r.form_code
        if key == "subtype":
            return label(SUBTYPES, r.subtype)
        if key == "title":
            return r.title
        if key == "place":
            return r.place_name
        if key == "languages":
            text = self._languages.get(r.languages)
            if text is None:
                text = self._languages[r.languages] = ", ".join(label(LANGUAGES, c) for c in r.languages.split())
            return text
        if key == "items":
            return format_number(r.items) if r.items else ""
        if key == "minutes":
            return format_number(r.minutes) if r.minutes else ""
        if key == "reach":
            return format_number(r.reach_total) if r.reach_total else ""
        if key == "partner":
            return r.partner
        return ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = COLUMNS[column][0]
        self._descending = order == Qt.SortOrder.DescendingOrder
        self.refresh()

    # --- what the register asks ---------------------------------------------
    @property
    def totals(self) -> Totals | None:
        """Totals of the filtered set, or None while they are being counted."""
        return self._totals

    @property
    def complete(self) -> bool:
        return self._ids is not None

    @property
    def current_filter(self) -> ActivityFilter:
        return self._filter

    def set_filter(self, f: ActivityFilter) -> None:
        self._filter = f
        self.refresh()

    def refresh(self) -> None:
        """Show the first page now; count and list the rest in the background."""
        self._generation += 1
        generation = self._generation
        self._work = None
        self._count_timer.stop()
        if self._pending is not None:
            self._pending.cancel()
        f, sort, desc = self._filter, self._sort, self._descending
        first = activities.list_rows(self._db, f, sort=sort, descending=desc, offset=0, limit=self.PAGE)
        self.beginResetModel()
        self._forget_pages()
        for start in range(0, len(first), self.CHUNK):
            self._pages[start // self.CHUNK] = self._make_page(first[start:start + self.CHUNK])
        self._first_ids = [r.id for r in first]
        self._count = len(first)
        if len(first) < self.PAGE:  # everything is on the first page
            self._ids = [r.id for r in first]
            self._totals = Totals(
                count=len(first), items=sum(r.items for r in first), minutes=sum(r.minutes for r in first),
                sessions=sum(r.sessions for r in first), reach=sum(r.reach_total for r in first),
                cost=sum(r.cost for r in first))
        else:
            self._ids = None
            self._totals = None
        self.endResetModel()
        if self._ids is not None:
            self.totals_changed.emit()
            return

        def work() -> None:
            ids = activities.list_ids(self._db, f, sort=sort, descending=desc)
            if generation != self._generation:
                return
            t = activities.totals(self._db, f)
            if generation == self._generation:
                self._bridge.finished.emit(generation, ids, t)

        self.totals_changed.emit()
        if self.background:
            self._work = work
            self._count_timer.start()
        else:
            work()

    def start_counting(self) -> None:
        """Start step 2 of the latest refresh, if it has not started yet (the view calls this
        once it has painted the first page)."""
        work, self._work = self._work, None
        self._count_timer.stop()
        if work is not None:
            self._pending = self._pool.submit(work)

    def _on_complete(self, generation: int, ids: list[int], totals: Totals) -> None:
        if generation != self._generation:
            return  # a newer filter is already on screen
        shown = self._first_ids
        if len(ids) < self._count or ids[:len(shown)] != shown:
            # saved from elsewhere between the two steps: show the newer list whole
            self.beginResetModel()
            self._forget_pages()
            self._ids = ids
            self._count = len(ids)
            self.endResetModel()
        else:
            self._ids = ids
            if len(ids) > self._count:
                self.beginInsertRows(QModelIndex(), self._count, len(ids) - 1)
                self._count = len(ids)
                self.endInsertRows()
        self._totals = totals
        self.totals_changed.emit()

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until the background step has delivered (for tests and scripts)."""
        from PySide6.QtCore import QCoreApplication

        self.start_counting()
        deadline = time.monotonic() + timeout
        while self._ids is None and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.002)
        return self._ids is not None

    def shutdown(self) -> None:
        self._generation += 1
        self._work = None
        self._count_timer.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def id_at(self, row: int) -> int | None:
        r = self.row(row)
        return r.id if r else None

    def row_of_id(self, activity_id: int) -> int | None:
        """The row showing ``activity_id`` (None if it is not in the filtered set)."""
        if self._ids is not None:
            try:
                return self._ids.index(activity_id)
            except ValueError:
                return None
        for page_no, page in self._pages.items():
            for i, r in enumerate(page[0]):
                if r.id == activity_id:
                    return page_no * self.CHUNK + i
        return None
