"""The register's table model: rows fetched from SQL a page at a time, sorted in SQL.

At 100,000 activities the view asks only for the rows on screen; the model
keeps a bounded cache of pages, so scrolling to the end costs one query.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

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


class RegisterModel(QAbstractTableModel):
    PAGE = 200
    MAX_PAGES = 64

    def __init__(self, db: Database, parent: Any = None):
        super().__init__(parent)
        self._db = db
        self._filter = ActivityFilter()
        self._sort = "date"
        self._descending = True
        self._count = 0
        self._totals = Totals()
        self._pages: OrderedDict[int, list[ActivityRow]] = OrderedDict()
        self._counted = False

    # --- what the view asks ------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
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
            page = activities.list_rows(
                self._db, self._filter, sort=self._sort, descending=self._descending,
                offset=page_no * self.PAGE, limit=self.PAGE,
            )
            self._pages[page_no] = page
            while len(self._pages) > self.MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_no)
        i = row - page_no * self.PAGE
        return page[i] if i < len(page) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
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
        self.refresh(recount=not self._counted)

    # --- what the register asks ---------------------------------------------
    @property
    def totals(self) -> Totals:
        return self._totals

    @property
    def current_filter(self) -> ActivityFilter:
        return self._filter

    def set_filter(self, f: ActivityFilter) -> None:
        self._filter = f
        self.refresh()

    def refresh(self, recount: bool = True) -> None:
        self.beginResetModel()
        self._pages.clear()
        if recount:
            self._totals = activities.totals(self._db, self._filter)
            self._count = self._totals.count
            self._counted = True
        self.endResetModel()

    def id_at(self, row: int) -> int | None:
        r = self.row(row)
        return r.id if r else None

    def row_of_id(self, activity_id: int) -> int | None:
        """The row showing ``activity_id`` among the cached pages (None if not loaded)."""
        for page_no, page in self._pages.items():
            for i, r in enumerate(page):
                if r.id == activity_id:
                    return page_no * self.PAGE + i
        return None
