"""The coverage tab: which objectives, tasks and forms had activity in which month or place,
and how far each indicator of the plan has come this year."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.periods import Cutoff, parse_period
from dbcomm.domain.report import IndicatorProgress
from dbcomm.domain.roles import Perm
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.i18n import _, format_number, language, ngettext
from dbcomm.services import auth, plans, reports
from dbcomm.services.reports import CoverageGrid, CoverageRow
from dbcomm.store.engine import Database
from dbcomm.ui.widgets import ErrorLabel

GAP_COLOUR = "#f8d7d7"  # a cell with no activity
NOT_YET_COLOUR = "#f4f5f6"  # a month still to come, or not over yet
TOTAL_COLOUR = "#eceff1"
GREEN_LOW, GREEN_HIGH = (232, 245, 233), (102, 187, 106)  # cells with activity, by intensity

ROW_ROLE = Qt.ItemDataRole.UserRole + 1


def green(share: float) -> QColor:
    """Light green for a few activities, deeper green for the most."""
    t = max(0.0, min(1.0, share))
    return QColor(*(round(lo + (hi - lo) * t) for lo, hi in zip(GREEN_LOW, GREEN_HIGH, strict=True)))


class CoverageModel(QAbstractTableModel):
    """Rows: objectives (bold), their tasks (indented), a separator, the forms, the totals.
    Columns: the months or places, then the total."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.grid: CoverageGrid | None = None
        self.lines: list[CoverageRow | None] = []  # None = the separator before the forms
        self.today = date.today()
        self.cutoff = Cutoff.CALENDAR
        self._max = 1
        self.label_width = 0  # the row titles are cut to this width (with "…"), 0 = not cut
        self.label_metrics: QFontMetrics | None = None

    def set_grid(self, grid: CoverageGrid, today: date | None = None,
                 cutoff: Cutoff | str = Cutoff.CALENDAR) -> None:
        self.beginResetModel()
        self.grid = grid
        self.today = today or date.today()
        self.cutoff = Cutoff(cutoff)
        objectives = [r for r in grid.rows if r.kind != "form"]
        forms = [r for r in grid.rows if r.kind == "form"]
        self.lines = [*objectives, None, *forms]
        self._max = max((c for r in grid.rows for c in r.counts), default=0) or 1
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.grid is None else len(self.lines) + 1

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.grid is None else len(self.grid.columns) + 1

    def is_total_row(self, row: int) -> bool:
        return row == len(self.lines)

    def is_total_column(self, column: int) -> bool:
        return self.grid is not None and column == len(self.grid.columns)

    def future(self, column: int) -> bool:
        """A month that has not begun yet: no activity there is no gap."""
        g = self.grid
        if g is None or g.by != "month" or self.is_total_column(column):
            return False
        return self._month(column)[0] > self.today

    def not_over(self, column: int) -> bool:
        """A month that has begun and not ended yet (today is in it): no activity yet is no gap."""
        g = self.grid
        if g is None or g.by != "month" or self.is_total_column(column):
            return False
        start, end = self._month(column)
        return start <= self.today <= end

    def open_month(self, column: int) -> bool:
        """Still to come or not over: an empty cell there is not a gap."""
        return self.future(column) or self.not_over(column)

    def _month(self, column: int) -> tuple[date, date]:
        """The first and last day of the month of ``column`` (its data window under a 15th cut-off)."""
        assert self.grid is not None
        p = parse_period(f"{self.grid.year}-{column + 1:02d}", self.cutoff)
        return p.start, p.end

    def count(self, row: int, column: int) -> int | None:
        g = self.grid
        if g is None:
            return None
        if self.is_total_row(row):
            return sum(g.column_totals) if self.is_total_column(column) else g.column_totals[column]
        line = self.lines[row]
        if line is None:
            return None
        return line.total if self.is_total_column(column) else line.counts[column]

    def column_title(self, column: int) -> str:
        g = self.grid
        if g is None:
            return ""
        if self.is_total_column(column):
            return _("Total")
        return g.columns[column]

    def row_title(self, row: int) -> str:
        if self.is_total_row(row):
            return _("All activities")
        line = self.lines[row]
        if line is None:
            return _("Communication forms")
        if line.kind == "task":
            return f"      {line.code}  {line.label}"
        return f"{line.code}. {line.label}"

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if self.grid is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                title = self.column_title(section)
                if self.grid.by == "place" and " " in title:  # "Xã\nMường Phăng": narrower columns
                    first, rest = title.split(" ", 1)
                    return f"{first}\n{rest}"
                return title
            if role == Qt.ItemDataRole.ToolTipRole:
                if self.grid.by == "month" and not self.is_total_column(section):
                    return _("Month {n}/{year}").format(n=section + 1, year=self.grid.year)
                return self.column_title(section)
            if role == Qt.ItemDataRole.FontRole and self.is_total_column(section):
                return _bold()
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.row_title(section).strip()
        if role == Qt.ItemDataRole.DisplayRole:
            text = self.row_title(section)
            if self.label_width and self.label_metrics is not None:
                return self.label_metrics.elidedText(text, Qt.TextElideMode.ElideRight, self.label_width)
            return text
        if role == Qt.ItemDataRole.FontRole:
            line = self.lines[section] if not self.is_total_row(section) else None
            if self.is_total_row(section) or line is None or line.kind == "objective":
                return _bold()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.grid is None:
            return None
        row, column = index.row(), index.column()
        n = self.count(row, column)
        total = self.is_total_row(row) or self.is_total_column(column)
        if role == Qt.ItemDataRole.DisplayRole:
            if n is None:
                return None
            if n == 0 and self.open_month(column):
                return ""
            return format_number(n)
        if role == Qt.ItemDataRole.EditRole:
            return n
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.FontRole and (total or self._line_kind(row) == "objective"):
            return _bold()
        if role == Qt.ItemDataRole.BackgroundRole:
            if n is None:
                return QBrush(QColor(TOTAL_COLOUR))
            if total:
                return QBrush(QColor(TOTAL_COLOUR))
            if n == 0:
                return QBrush(QColor(NOT_YET_COLOUR if self.open_month(column) else GAP_COLOUR))
            return QBrush(green(n / self._max))
        if role == Qt.ItemDataRole.ToolTipRole:
            if n is None:
                return None
            where = self.row_title(row).strip()
            when = self.column_title(column)
            if n == 0:
                if self.not_over(column):
                    return _("{what} — {when}: month not over yet").format(what=where, when=when)
                if self.future(column):
                    return _("{what} — {when}: not yet").format(what=where, when=when)
                return _("{what} — {when}: no activity").format(what=where, when=when)
            return ngettext("{what} — {when}: {n} activity", "{what} — {when}: {n} activities", n).format(
                what=where, when=when, n=format_number(n))
        if role == ROW_ROLE:
            return None if self.is_total_row(row) else self.lines[row]
        return None

    def _line_kind(self, row: int) -> str | None:
        if self.is_total_row(row):
            return None
        line = self.lines[row]
        return line.kind if line else None


def _bold() -> QFont:
    f = QFont()
    f.setBold(True)
    return f


def parse_value(text: str) -> float | None:
    """A number as typed: "45,5" or "45.5" → 45.5; "1.234" in Vietnamese (grouping) → 1234."""
    t = text.strip().replace(" ", "").replace("\u00a0", "")
    if not t:
        return None
    grouped = re.compile(r"^\d{1,3}([.,]\d{3})+$")
    if "," in t and "." in t:  # the later mark is the decimal one
        t = t.replace(".", "").replace(",", ".") if t.rfind(",") > t.rfind(".") else t.replace(",", "")
    elif "," in t:
        t = t.replace(",", "") if language() != "vi" and grouped.match(t) else t.replace(",", ".")
    elif "." in t and language() == "vi" and grouped.match(t):
        t = t.replace(".", "")
    try:
        value = float(t)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # "inf", "nan", "1e999": not a figure anybody reports
        raise ValidationFailed([_field_error("value", _("'{value}' is not a number.").format(value=text))])
    return value


def _field_error(field: str, message: str) -> Any:
    from dbcomm.domain.validation import FieldError

    return FieldError(field, message)


def finite(value: float | None) -> float | None:
    """The value, or None when there is no usable figure (missing, infinite, not a number)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def format_value(value: float | None) -> str:
    value = finite(value)
    if value is None:
        return "—"
    if float(value).is_integer():
        return format_number(int(value))
    return format_number(round(float(value), 2))


def with_unit(value: str, unit: str) -> str:
    """``45%``, ``336 tin, bài``."""
    if not unit:
        return value
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


def goal(p: IndicatorProgress) -> tuple[float | None, int | None]:
    """The target to measure the year against: the year's own, else the next milestone (and its year)."""
    if p.year_target is not None:
        return p.year_target, None
    later = [(y, v) for y, v in p.milestones if y >= p.year]
    return (later[0][1], later[0][0]) if later else (None, None)


def progress_figures(p: IndicatorProgress) -> tuple[float | None, str]:
    """The share of the target reached (percent, or None) and the bar's text:
    ``336 / 500 tin, bài (67%)``, ``45% / 70% by 2030 (64%)``, ``not reported · target 50%``."""
    target, by_year = goal(p)
    target = finite(target)
    year_value = finite(p.year_value)
    target_text = "" if target is None else with_unit(format_value(target), p.unit)
    if by_year is not None:
        target_text = _("{target} by {year}").format(target=target_text, year=by_year)
    if year_value is None:
        if target is None:
            return None, _("not reported")
        return None, _("not reported · target {target}").format(target=target_text)
    value = format_value(year_value)
    if target is None:
        return None, _("{value} (no target for {year})").format(value=with_unit(value, p.unit), year=p.year)
    if target <= 0:
        return None, f"{with_unit(value, p.unit)} / {target_text}"
    pct = finite(100.0 * year_value / target)
    if pct is None:
        return None, f"{with_unit(value, p.unit)} / {target_text}"
    text = f"{value if p.unit != '%' else with_unit(value, '%')} / {target_text}"
    return pct, f"{text} ({format_number(round(pct))}%)"


class IndicatorValueDialog(QDialog):
    """The value an office reports for a manual indicator for one year, with a note."""

    def __init__(self, db: Database, indicator_id: int, progress: IndicatorProgress,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.indicator_id = indicator_id
        self.year = progress.year
        self.setWindowTitle(_("Value of {code} for {year}").format(code=progress.code, year=progress.year))
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        name = QLabel(f"<b>{progress.code}.</b> {progress.name}")
        name.setWordWrap(True)
        lay.addWidget(name)
        form = QFormLayout()
        self.value_edit = QLineEdit("" if progress.year_value is None else format_value(progress.year_value))
        self.value_edit.setObjectName("value")
        self.value_edit.setPlaceholderText(_("blank: not reported"))
        unit = QWidget()
        ul = QHBoxLayout(unit)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addWidget(self.value_edit, 1)
        ul.addWidget(QLabel(progress.unit))
        form.addRow(_("Value for {year}").format(year=progress.year), unit)
        if progress.year_target is not None:
            form.addRow(_("Target"), QLabel(f"{format_value(progress.year_target)} {progress.unit}"))
        self.note_edit = QPlainTextEdit()
        self.note_edit.setObjectName("note")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setFixedHeight(70)
        self.note_edit.setPlaceholderText(_("Where the figure comes from, e.g. the school year report"))
        form.addRow(_("Note"), self.note_edit)
        lay.addLayout(form)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton(_("Save"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("ok")
        buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _save(self) -> None:
        """Store the value; a refused value (here or by the service) keeps the dialog open."""
        self.error.show_message("")
        try:
            value = parse_value(self.value_edit.text())
            reports.set_indicator_value(self.db, self.indicator_id, self.year, value,
                                        self.note_edit.toPlainText().strip())
        except UserError as exc:
            self.error.show_message(str(exc))
            self.value_edit.setFocus()
            self.value_edit.selectAll()
            return
        self.accept()


class DashboardView(QWidget):
    """Emits ``open_register(filter)`` when a cell is double-clicked: a dict with ``node_code``
    or ``form_code``, and ``date_from``/``date_to`` (by month) or ``place`` (by place)."""

    open_register = Signal(dict)

    def __init__(self, db: Database, plan_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.plan_id = plan_id
        self.stale = True
        self.progress: list[IndicatorProgress] = []
        self.bars: dict[str, QProgressBar] = {}
        self.value_buttons: dict[str, QPushButton] = {}
        self._indicator_ids: dict[str, int] = {}
        self.cutoff = Cutoff.CALENDAR

        top = QHBoxLayout()
        top.addWidget(QLabel(_("Year")))
        self.year_spin = QSpinBox()
        self.year_spin.setObjectName("year")
        top.addWidget(self.year_spin)
        top.addSpacing(16)
        self.by_month = QRadioButton(_("By month"))
        self.by_month.setObjectName("by_month")
        self.by_place = QRadioButton(_("By place"))
        self.by_place.setObjectName("by_place")
        self.by_month.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.by_month)
        group.addButton(self.by_place)
        top.addWidget(self.by_month)
        top.addWidget(self.by_place)
        top.addSpacing(16)
        legend = QWidget()
        legend.setObjectName("legend")
        gl = QHBoxLayout(legend)
        gl.setContentsMargins(0, 0, 0, 0)
        gl.setSpacing(4)
        for colours, words in (([GAP_COLOUR], _("no activity")),
                               ([green(0.15).name(), green(1).name()], _("few → many activities")),
                               ([NOT_YET_COLOUR], _("month not over yet"))):
            for colour in colours:
                swatch = QLabel()
                swatch.setFixedSize(18, 13)
                swatch.setStyleSheet(f"background: {colour}; border: 1px solid #c4c8cc;")
                gl.addWidget(swatch)
            gl.addWidget(QLabel(words))
            gl.addSpacing(10)
        top.addWidget(legend)
        top.addStretch(1)
        refresh = QPushButton(_("Refresh"))
        refresh.setObjectName("refresh")
        refresh.clicked.connect(self.reload)
        top.addWidget(refresh)

        self.model = CoverageModel(self)
        self.table = QTableView()
        self.table.setObjectName("coverage")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setShowGrid(True)
        self.table.setStyleSheet("QTableView { gridline-color: #ffffff; }")
        vh = self.table.verticalHeader()
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        vh.setFixedWidth(360)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.doubleClicked.connect(self._cell_activated)
        self.grid_note = QLabel(_("An activity that serves several tasks counts once for the objective."))
        self.grid_note.setObjectName("grid_note")
        self.grid_note.setWordWrap(True)
        self.grid_note.setStyleSheet("color: #5f6368;")
        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.setSpacing(2)
        ul.addWidget(self.table, 1)
        ul.addWidget(self.grid_note)

        self.indicators_box = QWidget()
        self.indicators_layout = QGridLayout(self.indicators_box)
        self.indicators_layout.setColumnStretch(0, 3)
        self.indicators_layout.setColumnStretch(1, 2)
        self.indicators_layout.setHorizontalSpacing(12)
        self.indicators_layout.setVerticalSpacing(3)
        scroll = QScrollArea()
        scroll.setObjectName("indicators")
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.indicators_box)
        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        self.indicators_title = QLabel()
        self.indicators_title.setStyleSheet("font-weight: bold;")
        ll.addWidget(self.indicators_title)
        ll.addWidget(scroll, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([520, 240])
        self.splitter = splitter
        self.error = ErrorLabel()

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.error)
        lay.addWidget(splitter, 1)
        self._set_years()
        self.year_spin.valueChanged.connect(lambda _v: self.reload())
        self.by_month.toggled.connect(lambda _on: self.reload())

    # --- data ---------------------------------------------------------------------------
    def _set_years(self) -> None:
        plan = plans.get_tree(self.db, self.plan_id).plan
        self.cutoff = Cutoff(plan.cutoff)
        self.year_spin.blockSignals(True)
        self.year_spin.setRange(plan.start_year, plan.end_year)
        self.year_spin.setValue(max(plan.start_year, min(plan.end_year, date.today().year)))
        self.year_spin.blockSignals(False)

    def set_plan(self, plan_id: int) -> None:
        self.plan_id = plan_id
        self._set_years()
        self.mark_stale()

    def mark_stale(self) -> None:
        """The register changed: count again now if the tab is shown, else when it is."""
        self.stale = True
        if self.isVisible():
            self.reload()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        if self.stale:
            self.reload()
        super().showEvent(event)

    def by(self) -> str:
        return "month" if self.by_month.isChecked() else "place"

    def reload(self) -> None:
        self.stale = False
        self.error.show_message("")
        year = self.year_spin.value()
        try:
            grid = reports.coverage(self.db, self.plan_id, year, by=self.by())
            self.progress = reports.indicator_progress(self.db, self.plan_id, year)
            self._indicator_ids = {i.code: i.id for i in plans.get_tree(self.db, self.plan_id).indicators}
        except UserError as exc:
            self.error.show_message(str(exc))
            return
        self.model.set_grid(grid, cutoff=self.cutoff)
        self._size_columns()
        self._fit_labels()
        self._fill_indicators()

    def column_width(self, column: int) -> int:
        """The width ``column`` needs: its title (each line, bold for the total) and its largest count."""
        model = self.model
        header = self.table.horizontalHeader()
        bold = QFontMetrics(_bold())
        plain = QFontMetrics(header.font())
        metrics = bold if model.is_total_column(column) else plain
        lines = str(model.headerData(column, Qt.Orientation.Horizontal) or "").split("\n")
        cells = QFontMetrics(_bold())  # the total row is bold: the widest a count is drawn
        counts = [model.index(r, column).data() or "" for r in range(model.rowCount())]
        need = max([metrics.horizontalAdvance(line) for line in lines]
                   + [cells.horizontalAdvance(str(c)) for c in counts]) + 20
        if model.grid is not None and model.grid.by == "month" and not model.is_total_column(column):
            return max(52, need)
        return max(56, min(150, need)) if not model.is_total_column(column) else max(64, need)

    def _size_columns(self) -> None:
        """Every switch (month ↔ place, another year) sets each column's width afresh: a width left
        from the other layout cuts the titles and leaves the row titles no room."""
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for c in range(self.model.columnCount()):
            header.resizeSection(c, self.column_width(c))
        if self.model.grid is not None and self.model.grid.by == "month":
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)

    def _fit_labels(self) -> None:
        """Give the row titles the room the columns leave (cut with "…" beyond it)."""
        model = self.model
        if model.grid is None:
            return
        header = self.table.horizontalHeader()
        metrics = QFontMetrics(_bold())
        columns = sum(header.sectionSize(c) for c in range(model.columnCount()))
        room = self.table.width() - columns - self.table.verticalScrollBar().sizeHint().width() - 6
        longest = max((metrics.horizontalAdvance(model.row_title(r)) for r in range(model.rowCount())),
                      default=200) + 16
        width = max(320, min(longest, room, 680))
        self.table.verticalHeader().setFixedWidth(width)
        model.label_metrics = metrics
        model.label_width = width - 14
        if model.rowCount():
            model.headerDataChanged.emit(Qt.Orientation.Vertical, 0, model.rowCount() - 1)

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_labels()

    def _fill_indicators(self) -> None:
        lay = self.indicators_layout
        while lay.count():
            item = lay.takeAt(0)
            if item.widget():
                item.widget().hide()  # gone from the screen now, deleted later
                item.widget().deleteLater()
        self.bars.clear()
        self.value_buttons.clear()
        year = self.year_spin.value()
        self.indicators_title.setText(_("Indicators of the plan, {year}").format(year=year))
        try:
            can_enter = auth.current(self.db).can(Perm.EDIT_ACTIVITIES)
        except UserError:
            can_enter = True
        row_height = self.fontMetrics().height() + 8
        for r, p in enumerate(self.progress):
            name = QLabel(f"<b>{p.code}.</b> {p.name}")
            name.setToolTip(p.name)
            name.setMinimumHeight(row_height)
            name.setMinimumWidth(200)  # a long name is cut, never the buttons beside it
            name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            bar = QProgressBar()
            bar.setObjectName(f"progress_{p.code}")
            bar.setRange(0, 1000)
            pct, text = progress_figures(p)
            bar.setValue(0 if pct is None else round(max(0.0, min(100.0, pct)) * 10))
            bar.setFormat(text)
            bar.setToolTip(text)
            bar.setTextVisible(True)
            bar.setAlignment(Qt.AlignmentFlag.AlignCenter)  # else a full bar pins its text top-left
            bar.setMinimumWidth(300)
            bar.setMinimumHeight(row_height - 4)
            if pct is not None and pct >= 100:
                bar.setStyleSheet("QProgressBar::chunk { background: #43a047; }")
            self.bars[p.code] = bar
            details = []
            if p.milestones:
                details.append(" · ".join(f"{y}: {with_unit(format_value(v), p.unit)}" for y, v in p.milestones))
            if p.measure != "manual" and p.cumulative is not None:
                details.append(_("since the plan began: {n}").format(n=format_value(p.cumulative)))
            detail = QLabel(" · ".join(details))
            detail.setStyleSheet("color: #5f6368;")
            detail.setMinimumWidth(detail.sizeHint().width())
            lay.addWidget(name, r, 0)
            lay.addWidget(bar, r, 1)
            lay.addWidget(detail, r, 2)
            if p.measure == "manual":
                b = QPushButton(_("Enter value…"))
                b.setObjectName(f"enter_{p.code}")
                b.setEnabled(can_enter and p.code in self._indicator_ids)
                b.clicked.connect(lambda _c=False, code=p.code: self.enter_value(code))
                b.setMinimumWidth(b.sizeHint().width())
                self.value_buttons[p.code] = b
                lay.addWidget(b, r, 3)
            else:
                source = QLabel(_("from the register"))
                source.setStyleSheet("color: #5f6368;")
                lay.addWidget(source, r, 3)
        lay.setRowStretch(len(self.progress), 1)

    def enter_value(self, code: str) -> bool:
        p = next((x for x in self.progress if x.code == code), None)
        indicator_id = self._indicator_ids.get(code)
        if p is None or indicator_id is None:
            return False
        if IndicatorValueDialog(self.db, indicator_id, p, self).exec() != QDialog.DialogCode.Accepted:
            return False
        self.reload()
        return True

    def _cell_activated(self, index: QModelIndex) -> None:
        line = index.data(ROW_ROLE)
        g = self.model.grid
        if line is None or g is None:
            return
        wanted: dict[str, Any] = {"form_code": line.code} if line.kind == "form" else {"node_code": line.code}
        if self.model.is_total_column(index.column()):
            wanted["period_key"] = str(g.year)
        elif g.by == "month":
            wanted["period_key"] = f"{g.year}-{index.column() + 1:02d}"
        else:
            wanted["period_key"] = str(g.year)
            wanted["place"] = g.columns[index.column()]
        self.open_register.emit(wanted)
