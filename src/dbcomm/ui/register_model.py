"""The register's table model: rows fetched from SQL a page at a time, sorted in SQL.

At 100,000 activities the view asks only for the rows on screen; the model
keeps a bounded cache of pages, so scrolling to the end costs one query.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
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


class _Bridge(QObject):
    """Carries a background result back to the GUI thread."""

    finished = Signal(int, object, object)


class RegisterModel(QAbstractTableModel):
    """Two steps per refresh, so that a keystroke never waits for the whole set:

    1. at once, the first page (a LIMIT query that stops after one screenful);
    2. in a background thread, the ordered list of every matching id and the totals.
       Rows beyond the first page are then read by id, a page at a time, in constant time.
    """

    PAGE = 200
    MAX_PAGES = 64
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
        self._pages: OrderedDict[int, list[ActivityRow]] = OrderedDict()
        self._generation = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="register")
        self._pending: Future[Any] | None = None
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

    def row(self, row: int) -> ActivityRow | None:
        if not 0 <= row < self._count:
            return None
        page_no = row // self.PAGE
        page = self._pages.get(page_no)
        if page is None:
            if self._ids is None:
                return None
            page = activities.rows_by_ids(self._db, self._ids[page_no * self.PAGE:(page_no + 1) * self.PAGE])
            self._pages[page_no] = page
            while len(self._pages) > self.MAX_PAGES:
                oldest = next(iter(self._pages))
                if oldest == page_no:
                    break
                self._pages.pop(oldest)
        else:
            self._pages.move_to_end(page_no)
        i = row - page_no * self.PAGE
        return page[i] if i < len(page) else None

    _ROLES = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                        Qt.ItemDataRole.TextAlignmentRole, ROW_ID_ROLE, ROW_ROLE})

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in self._ROLES or not index.isValid():  # Qt asks for many roles we leave default
            return None
        r = self.row(index.row())
        if r is None:
            return None
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(r, key)
        if role == Qt.ItemDataRole.ToolTipRole and key in ("title", "form", "partner", "place"):
            return {"title": r.title, "form": r.form_name, "partner": r.partner, "place": r.place_name}[key]
        if role == Qt.ItemDataRole.TextAlignmentRole and key in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == ROW_ID_ROLE:
            return r.id
        if role == ROW_ROLE:
            return r
        return None

    @staticmethod
    def _display(r: ActivityRow, key: str) -> str:
        if key == "date":
            return format_date(r.date_start) + (f" – {format_date(r.date_end)}" if r.date_end else "")
        if key == "form":
            return r.form_code
        if key == "subtype":
            return label(SUBTYPES, r.subtype)
        if key == "title":
            return r.title
        if key == "place":
            return r.place_name
        if key == "languages":
            return ", ".join(label(LANGUAGES, c) for c in r.languages.split())
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
        if self._pending is not None:
            self._pending.cancel()
        f, sort, desc = self._filter, self._sort, self._descending
        first = activities.list_rows(self._db, f, sort=sort, descending=desc, offset=0, limit=self.PAGE)
        self.beginResetModel()
        self._pages.clear()
        self._pages[0] = first
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
            self._bridge.finished.emit(generation, ids, t)

        self.totals_changed.emit()
        if self.background:
            self._pending = self._pool.submit(work)
        else:
            work()

    def _on_complete(self, generation: int, ids: list[int], totals: Totals) -> None:
        if generation != self._generation:
            return  # a newer filter is already on screen
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

        deadline = time.monotonic() + timeout
        while self._ids is None and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.002)
        return self._ids is not None

    def shutdown(self) -> None:
        self._generation += 1
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
            for i, r in enumerate(page):
                if r.id == activity_id:
                    return page_no * self.PAGE + i
        return None
