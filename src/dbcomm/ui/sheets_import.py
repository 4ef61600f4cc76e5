"""Import an Excel or CSV log, step by step (File → Spreadsheet → Import from Excel/CSV…).

1. the file: for a CSV file its encoding (each candidate with a line decoded that way), for a
   workbook its sheet;
2. the first rows, and the row holding the column names;
3. one field per column, proposed from the column names (or remembered from the last import);
4. what each free-text form, objective, place … written in the sheet means, with suggestions;
5. the dry run: the counts and every row that will not be imported, with the reason;
6. the import itself, in one transaction, then what it did.

Reading the whole sheet (steps 4–6) runs off the GUI thread (``ui/tasks.BackgroundTask``), with
a progress bar and a Stop button; stopping the import rolls its transaction back.  The services
(``services/sheets``) decide everything; this module only shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.roles import Perm
from dbcomm.domain.vocab import LANGUAGES, SUBTYPES
from dbcomm.errors import UserError
from dbcomm.i18n import N_, _, format_date, format_number, ngettext
from dbcomm.services import sheets
from dbcomm.services.sheets import fields as F
from dbcomm.services.sheets.encodings import ENCODINGS
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.tasks import BackgroundTask, IsCancelled, Progress
from dbcomm.ui.widgets import may as _may
from dbcomm.ui.widgets import message_label as _message_label
from dbcomm.ui.widgets import say as _say

OK_COLOUR = "#1b5e20"
BAD_COLOUR = "#b00020"
NOTE_COLOUR = "#6b4e00"
MUTED_COLOUR = "#5f6368"
PROBLEM_ROWS_SHOWN = 5000  # rows listed in the dry run's table; the counts are always complete
WRAPPED_ROWS = 300  # up to this many, the reasons wrap onto several lines
FILE_FILTERS = N_("Excel or CSV files (*.xlsx *.xlsm *.csv *.txt *.xls);;All files (*)")

STEPS = (N_("File"), N_("First rows"), N_("Columns"), N_("Values"), N_("Dry run"), N_("Import"))
STEP_FILE, STEP_PREVIEW, STEP_COLUMNS, STEP_VALUES, STEP_DRY, STEP_DONE = range(6)

# Words for the dry run's statuses (``importing.STATUSES``).
STATUS_WORDS = {
    "error": N_("error"), "already": N_("imported before"), "in_register": N_("already in the register"),
    "duplicate": N_("likely duplicate"), "skipped": N_("heading or totals, skipped"),
}
HOW_WORDS = {"exact": N_("same name"), "remembered": N_("your earlier choice"), "suggested": N_("closest match"),
             "chosen": N_("your choice"), "": N_("not matched: choose")}


def field_text(key: str) -> str:
    """A field's name as the person reads it in the column lists."""
    spec = F.BY_KEY[key]
    if key.startswith("reach."):
        return _("People reached: {group}").format(group=_(spec.label))
    return _(spec.label)


def sample_line(text: str, limit: int = 110) -> str:
    """The first line of a decoded sample that shows how its letters read (one with diacritics)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    line = next((x for x in lines if not x.isascii()), lines[0])
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _table(name: str, headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 12)
    return table


def _item(text: str, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if tip:
        item.setToolTip(tip)
    return item


class SheetImportDialog(QDialog):
    """The import of a spreadsheet log into the plan ``plan_id``.

    Emits ``imported(result)`` with the ``sheets.ImportResult`` once activities were added.
    """

    imported = Signal(object)

    def __init__(self, db: Database, plan_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.plan_id = plan_id
        self.path: Path | None = None
        self.options = sheets.SourceOptions()
        self.info: sheets.SourceInfo | None = None
        self.pv: sheets.SheetPreview | None = None
        self.mapping: sheets.ColumnMapping | None = None
        self.suggestions: list[sheets.ValueSuggestion] = []
        self.value_map: dict[str, dict[str, str]] = {}
        self.request: sheets.ImportRequest | None = None
        self.dry: sheets.DryRun | None = None
        self.result_value: sheets.ImportResult | None = None
        self.task: BackgroundTask | None = None
        self._task_kind = ""
        self._choices: dict[str, list[sheets.Choice]] = {}
        self.setObjectName("sheet_import")
        self.setWindowTitle(_("Import from Excel/CSV"))
        self.setSizeGripEnabled(True)
        self.resize(1000, 660)
        self._build()
        self._go(STEP_FILE)

    # --- building -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.steps_label = QLabel()
        self.steps_label.setObjectName("steps")
        self.steps_label.setTextFormat(Qt.TextFormat.RichText)
        self.title_label = QLabel()
        self.title_label.setObjectName("step_title")
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.title_label.setFont(font)
        self.intro_label = QLabel()
        self.intro_label.setObjectName("step_intro")
        self.intro_label.setWordWrap(True)

        self.stack = QStackedWidget()
        for build in (self._build_file, self._build_preview, self._build_columns, self._build_values,
                      self._build_dry, self._build_done):
            page = QWidget()
            lay = QVBoxLayout(page)
            lay.setContentsMargins(0, 0, 0, 0)
            build(lay)
            self.stack.addWidget(page)

        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setMaximumHeight(16)
        self.progress.hide()
        self.message = _message_label("message")

        self.back_button = QPushButton(_("< Back"))
        self.back_button.setObjectName("back")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton(_("Next >"))
        self.next_button.setObjectName("next")
        self.next_button.clicked.connect(self.next)
        self.next_button.setDefault(True)
        self.stop_button = QPushButton(_("Stop"))
        self.stop_button.setObjectName("stop")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.hide()
        self.close_button = QPushButton(_("Cancel"))
        self.close_button.setObjectName("close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(0)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        buttons.addWidget(self.close_button)

        lay = QVBoxLayout(self)
        lay.addWidget(self.steps_label)
        lay.addWidget(self.title_label)
        lay.addWidget(self.intro_label)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.message)
        lay.addLayout(buttons)

    def _build_file(self, lay: QVBoxLayout) -> None:
        self.choose_button = QPushButton(_("Choose a file…"))
        self.choose_button.setObjectName("choose_file")
        self.choose_button.clicked.connect(self.choose_file)
        self.file_label = QLabel(_("No file chosen yet."))
        self.file_label.setObjectName("file")
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.choose_button)
        row.addWidget(self.file_label, 1)
        lay.addLayout(row)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.sheet_combo = QComboBox()
        self.sheet_combo.setObjectName("sheet")
        self.sheet_combo.currentIndexChanged.connect(lambda _i: self._sheet_chosen())
        self.sheet_caption = QLabel(_("Sheet:"))
        form.addRow(self.sheet_caption, self.sheet_combo)
        self.tcvn3_check = QCheckBox(_("The text was typed in the old TCVN3 (.VnTime) fonts: convert it to Unicode"))
        self.tcvn3_check.setObjectName("tcvn3")
        self.tcvn3_check.toggled.connect(lambda _on: self._tcvn3_toggled())
        form.addRow("", self.tcvn3_check)
        lay.addLayout(form)

        self.encoding_caption = QLabel(_("Encoding of the CSV file — choose the line that reads right:"))
        self.encoding_caption.setWordWrap(True)
        self.encodings = QListWidget()
        self.encodings.setObjectName("encodings")
        self.encodings.setAlternatingRowColors(True)
        self.encodings.currentItemChanged.connect(lambda *_a: self._encoding_chosen())
        lay.addWidget(self.encoding_caption)
        lay.addWidget(self.encodings, 1)
        self.file_details = QLabel()
        self.file_details.setObjectName("file_details")
        self.file_details.setWordWrap(True)
        self.file_details.setStyleSheet(f"color: {MUTED_COLOUR};")
        lay.addWidget(self.file_details)
        lay.addStretch(1)
        self._show_file_widgets()

    def _build_preview(self, lay: QVBoxLayout) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel(_("Column names are in row:")))
        self.header_spin = QSpinBox()
        self.header_spin.setObjectName("header_row")
        self.header_spin.setRange(1, 30)
        self.header_spin.setToolTip(_("dbcomm looks for the row of column names; change it if it found the wrong one"))
        self.header_spin.valueChanged.connect(lambda _v: self._header_row_chosen())
        row.addWidget(self.header_spin)
        self.header_note = QLabel()
        self.header_note.setObjectName("header_note")
        self.header_note.setStyleSheet(f"color: {MUTED_COLOUR};")
        row.addWidget(self.header_note, 1)
        lay.addLayout(row)
        self.preview_table = _table("preview", [])
        lay.addWidget(self.preview_table, 1)

    def _build_columns(self, lay: QVBoxLayout) -> None:
        self.columns_table = _table("columns", [_("Column"), _("Name in the file"), _("First values"),
                                                _("Import into field"), _("How")])
        header = self.columns_table.horizontalHeader()
        fit = QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(0, fit)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(4, fit)
        self.columns_table.setColumnWidth(1, 250)
        self.columns_table.setColumnWidth(3, 270)
        self.columns_table.verticalHeader().hide()
        self.columns_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        lay.addWidget(self.columns_table, 1)
        form = QFormLayout()
        self.form_constant = QComboBox()
        self.form_constant.setObjectName("form_for_every_row")
        self.form_constant.currentIndexChanged.connect(lambda _i: self._check_columns())
        form.addRow(_("Form of every row, when no column holds it:"), self.form_constant)
        lay.addLayout(form)
        self.field_combos: list[QComboBox] = []

    def _build_values(self, lay: QVBoxLayout) -> None:
        self.values_table = _table("values", [_("Field"), _("Written in the file"), _("Rows"), _("Means"), _("How")])
        header = self.values_table.horizontalHeader()
        fit = QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(0, fit)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, fit)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, fit)
        self.values_table.setColumnWidth(1, 220)
        self.values_table.verticalHeader().hide()
        self.values_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.value_combos: list[tuple[sheets.ValueSuggestion, QComboBox]] = []
        self.show_exact = QCheckBox(_("Also show the values dbcomm recognised by their exact name"))
        self.show_exact.setObjectName("show_exact")
        self.show_exact.toggled.connect(lambda _on: self._filter_values())
        self.no_values = QLabel(_("No column of forms, objectives, places or other lists is mapped: there is "
                                  "nothing to choose here."))
        self.no_values.setObjectName("no_values")
        self.no_values.setWordWrap(True)
        lay.addWidget(self.show_exact)
        lay.addWidget(self.values_table, 1)
        lay.addWidget(self.no_values)

    def _build_dry(self, lay: QVBoxLayout) -> None:
        self.count_labels: dict[str, tuple[QLabel, QLabel]] = {}
        grid = QFormLayout()
        grid.setHorizontalSpacing(12)
        for key, words in (("new", _("rows to import")), ("error", _("rows with errors (not imported)")),
                           ("already", _("rows imported before")), ("in_register", _("rows already in the register")),
                           ("duplicate", _("likely duplicates of activities in the register")),
                           ("skipped", _("headings or totals, skipped"))):
            value = QLabel("0")
            value.setObjectName(f"count_{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setMinimumWidth(60)
            bold = value.font()
            bold.setBold(True)
            value.setFont(bold)
            label = QLabel(words)
            self.count_labels[key] = (value, label)
            grid.addRow(value, label)
        top = QHBoxLayout()
        top.addLayout(grid)
        top.addStretch(1)
        lay.addLayout(top)
        self.duplicates_check = QCheckBox(_("Also import the likely duplicates"))
        self.duplicates_check.setObjectName("include_duplicates")
        self.duplicates_check.toggled.connect(lambda _on: self.run_dry_run())
        lay.addWidget(self.duplicates_check)
        self.problems_caption = QLabel(_("Rows that will not be imported (row numbers as in Excel), errors first:"))
        self.problems = _table("problems", [_("Row"), _("Status"), _("Title"), _("Why")])
        header = self.problems.horizontalHeader()
        fit = QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(0, fit)
        header.setSectionResizeMode(1, fit)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.problems.setColumnWidth(2, 280)
        self.problems.verticalHeader().hide()
        # the first rows to import, as they will be read: the kind and language dbcomm fills in
        # when the sheet has no column for them are seen before anything is written
        self.sample = _table("sample", [_("Row"), _("Date"), _("Form"), _("Kind"), _("Title"), _("Place"),
                                        _("Languages")])
        header = self.sample.horizontalHeader()
        for c in (0, 1, 2, 3, 5, 6):
            header.setSectionResizeMode(c, fit)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.sample.verticalHeader().hide()
        problems_page = QWidget()
        problems_lay = QVBoxLayout(problems_page)
        problems_lay.setContentsMargins(0, 4, 0, 0)
        problems_lay.addWidget(self.problems_caption)
        problems_lay.addWidget(self.problems, 1)
        self.dry_tabs = QTabWidget()
        self.dry_tabs.setObjectName("dry_tabs")
        self.dry_tabs.addTab(problems_page, _("Not imported"))
        self.dry_tabs.addTab(self.sample, _("First rows to import"))
        lay.addWidget(self.dry_tabs, 1)
        self.left_out = QLabel()
        self.left_out.setObjectName("left_out")
        self.left_out.hide()
        lay.addWidget(self.left_out)

    def _build_done(self, lay: QVBoxLayout) -> None:
        self.result_label = QLabel()
        self.result_label.setObjectName("result")
        self.result_label.setWordWrap(True)
        font = self.result_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        font.setBold(True)
        self.result_label.setFont(font)
        self.result_details = QLabel()
        self.result_details.setObjectName("result_details")
        self.result_details.setWordWrap(True)
        self.result_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.result_label)
        lay.addWidget(self.result_details)
        self.undo_button = QPushButton(_("Undo this import…"))
        self.undo_button.setObjectName("undo_import")
        self.undo_button.setToolTip(_("Move the activities this import added to the recycle bin."))
        self.undo_button.clicked.connect(self.undo_import)
        self.undo_button.hide()
        undo_row = QHBoxLayout()
        undo_row.addWidget(self.undo_button)
        undo_row.addStretch(1)
        lay.addLayout(undo_row)
        lay.addStretch(1)

    def undo_import(self) -> None:
        """The person imported the wrong file, or the wrong choices: the activities it added go to
        the recycle bin (where they can still be restored)."""
        result = self.result_value
        if result is None or not result.activity_ids:
            return
        n = len(result.activity_ids)
        if not interaction.get().confirm(self, _("Undo this import"), ngettext(
                "Move the {n} activity this import added to the recycle bin?",
                "Move the {n} activities this import added to the recycle bin?", n).format(n=format_number(n)),
                _("Move to the recycle bin")):
            return
        try:
            moved = sheets.undo_import(self.db, result)
        except UserError as exc:
            interaction.get().error(self, _("Undo this import"), str(exc))
            return
        self.undo_button.hide()
        self.result_label.setText(ngettext("Undone: {n} activity moved to the recycle bin.",
                                           "Undone: {n} activities moved to the recycle bin.", moved).format(
            n=format_number(moved)))
        self.result_label.setStyleSheet("")
        self.imported.emit(result)  # the register and the dashboard show it

    # --- moving between steps ----------------------------------------------------------------
    @property
    def step(self) -> int:
        return self.stack.currentIndex()

    @property
    def working(self) -> bool:
        return self.task is not None and self.task.running

    def _go(self, step: int) -> None:
        self.stack.setCurrentIndex(step)
        parts = []
        for i, name in enumerate(STEPS):
            text = f"{i + 1}. {_(name)}"
            parts.append(f"<b>{text}</b>" if i == step else f"<span style='color:{MUTED_COLOUR}'>{text}</span>")
        self.steps_label.setText(" &nbsp;›&nbsp; ".join(parts))
        titles = {
            STEP_FILE: (_("Choose the file"), _(
                "An Excel workbook (.xlsx) or a CSV file with one activity per row. Nothing is written to the "
                "register until the last step.")),
            STEP_PREVIEW: (_("The first rows"), _(
                "Check that dbcomm found the row of column names: the rows below it are the activities.")),
            STEP_COLUMNS: (_("Columns and fields"), _(
                "Choose the register's field for each column; columns left at “(not imported)” are ignored. "
                "dbcomm proposes fields from the column names and remembers your choice for the next file.")),
            STEP_VALUES: (_("What the values mean"), _(
                "Forms, objectives, places … written in your own words: choose what each one means in the plan "
                "(“≈” marks the closest choices). A value left at “— choose —” makes its rows errors.")),
            STEP_DRY: (_("Dry run"), _(
                "Every row was checked as if you had typed it in; nothing is written yet.")),
            STEP_DONE: (_("Import"), ""),
        }
        title, intro = titles[step]
        self.title_label.setText(title)
        self.intro_label.setText(intro)
        self.intro_label.setVisible(bool(intro))
        _say(self.message, "")
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.working
        step = self.step
        self.back_button.setEnabled(not busy and STEP_FILE < step < STEP_DONE)
        self.back_button.setVisible(step < STEP_DONE)
        ready = {
            STEP_FILE: self.pv is not None,
            STEP_PREVIEW: self.pv is not None and bool(self.pv.columns),
            STEP_COLUMNS: self.mapping is not None,
            STEP_VALUES: True,
            STEP_DRY: self.dry is not None and self.dry.to_import > 0 and _may(self.db, Perm.EDIT_ACTIVITIES),
            STEP_DONE: False,
        }[step]
        self.next_button.setEnabled(not busy and ready)
        self.next_button.setVisible(step < STEP_DONE)
        if step == STEP_DRY and self.dry is not None:
            self.next_button.setText(_("Import {n} activities").format(n=format_number(self.dry.to_import)))
        elif step == STEP_VALUES:
            self.next_button.setText(_("Dry run >"))
        else:
            self.next_button.setText(_("Next >"))
        self.close_button.setText(_("Close") if step == STEP_DONE else _("Cancel"))
        self.close_button.setEnabled(not busy)
        self.stop_button.setVisible(busy)
        self.progress.setVisible(busy)
        for w in (self.choose_button, self.sheet_combo, self.encodings, self.tcvn3_check, self.header_spin,
                  self.duplicates_check):
            w.setEnabled(not busy)

    def next(self) -> None:
        if self.working or not self.next_button.isEnabled():
            return
        step = self.step
        if step == STEP_FILE:
            self._go(STEP_PREVIEW)
        elif step == STEP_PREVIEW:
            self._propose_mapping()
            self._go(STEP_COLUMNS)
            self._check_columns()
        elif step == STEP_COLUMNS:
            if self._check_columns():
                self.load_values()
        elif step == STEP_VALUES:
            self.value_map = self.chosen_values()
            self.run_dry_run()
        elif step == STEP_DRY:
            self.run_import()

    def back(self) -> None:
        if self.working or self.step in (STEP_FILE, STEP_DONE):
            return
        self._go(self.step - 1)

    def stop(self) -> None:
        if self.task is not None and self.task.running:
            self.task.cancel()
            self.stop_button.setEnabled(False)

    def reject(self) -> None:
        if self.working:
            return  # the work ends (or is stopped) first: its outcome is shown
        super().reject()

    def done(self, result: int) -> None:
        sheets.forget()  # the rows read are kept between the steps only
        super().done(result)

    # --- step 1: the file ---------------------------------------------------------------------
    def choose_file(self) -> None:
        path = interaction.get().open_file(self, _("Import from Excel/CSV"), _(FILE_FILTERS))
        if path is not None:
            self.set_file(path)

    def set_file(self, path: Path, options: sheets.SourceOptions | None = None) -> None:
        """Open ``path`` (in the background) and show what it is."""
        self.path = Path(path)
        self.options = options or sheets.SourceOptions()
        self.file_label.setText(str(self.path))
        self._reset_from(STEP_FILE)
        self._open()

    def _reset_from(self, step: int) -> None:
        """Forget what was worked out at ``step`` and after it."""
        if step <= STEP_FILE:
            self.info = None
            self.pv = None
        if step <= STEP_PREVIEW:
            self.mapping = None
        if step <= STEP_COLUMNS:
            self.suggestions = []
        if step <= STEP_VALUES:
            self.dry = None
            self.request = None

    def _open(self, sheet: str | None = None, header_row: int | None = None) -> None:
        path, options = self.path, self.options
        assert path is not None

        def work(_progress: Progress, _cancelled: IsCancelled) -> tuple[sheets.SourceInfo, sheets.SheetPreview]:
            info = sheets.open_source(path, options)
            return info, sheets.preview(info, sheet, header_row=header_row)

        _say(self.message, _("Reading {file}…").format(file=path.name))
        self._run("open", work, self._opened)

    def _opened(self, result: tuple[sheets.SourceInfo, sheets.SheetPreview]) -> None:
        info, pv = result
        self.info, self.pv = info, pv
        self._reset_from(STEP_PREVIEW)
        self._fill_file(info, pv)
        self._fill_preview(pv)
        if not pv.columns:
            _say(self.message, _("The sheet “{sheet}” is empty.").format(sheet=pv.sheet), BAD_COLOUR)
        else:
            _say(self.message, "")
        self._update_buttons()

    def _fill_file(self, info: sheets.SourceInfo, pv: sheets.SheetPreview) -> None:
        self.sheet_combo.blockSignals(True)
        self.sheet_combo.clear()
        for s in info.sheets:
            text = s.name + (" " + _("(hidden)") if s.hidden else "")
            self.sheet_combo.addItem(text, s.name)
        self.sheet_combo.setCurrentIndex(max(0, self.sheet_combo.findData(pv.sheet)))
        self.sheet_combo.blockSignals(False)
        self.tcvn3_check.blockSignals(True)
        self.tcvn3_check.setChecked(info.kind == "xlsx" and info.encoding == "tcvn3")
        self.tcvn3_check.blockSignals(False)
        self.encodings.blockSignals(True)
        self.encodings.clear()
        for c in info.encoding_candidates:
            label = ENCODINGS.get(c.encoding, c.encoding)
            item = QListWidgetItem(f"{label}:   {sample_line(c.sample)}")
            item.setData(Qt.ItemDataRole.UserRole, c.encoding)
            item.setToolTip(c.sample[:600])
            self.encodings.addItem(item)
            if c.encoding == info.encoding:
                self.encodings.setCurrentItem(item)
                font = item.font()
                font.setBold(True)
                item.setFont(font)
        self.encodings.blockSignals(False)
        if info.kind == "csv":
            delimiter = {"\t": _("tab"), ",": ",", ";": ";", "|": "|"}.get(info.delimiter or ",", info.delimiter)
            details = _("CSV file, {encoding}, columns separated by “{delimiter}”.").format(
                encoding=ENCODINGS.get(info.encoding or "", info.encoding), delimiter=delimiter)
        else:
            details = _("Excel workbook with {n} sheets.").format(n=format_number(len(info.sheets)))
            if info.encoding == "tcvn3":
                details += " " + _("Its text looks typed in the old TCVN3 fonts: it is converted to Unicode.")
        self.file_details.setText(details)
        self._show_file_widgets()

    def _show_file_widgets(self) -> None:
        info = self.info
        is_csv = info is not None and info.kind == "csv"
        is_book = info is not None and info.kind == "xlsx"
        self.encoding_caption.setVisible(is_csv)
        self.encodings.setVisible(is_csv)
        self.sheet_caption.setVisible(is_book)
        self.sheet_combo.setVisible(is_book)
        self.tcvn3_check.setVisible(is_book)
        self.file_details.setVisible(info is not None)

    def _encoding_chosen(self) -> None:
        item = self.encodings.currentItem()
        if item is None or self.info is None or self.path is None:
            return
        encoding = item.data(Qt.ItemDataRole.UserRole)
        if encoding == self.info.encoding:
            return
        self.set_file(self.path, sheets.SourceOptions(encoding=encoding, delimiter=self.options.delimiter))

    def choose_encoding(self, encoding: str) -> None:
        """Pick the encoding's line in the list (what a click does)."""
        for i in range(self.encodings.count()):
            item = self.encodings.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == encoding:
                self.encodings.setCurrentItem(item)
                return
        raise ValueError(encoding)

    def _tcvn3_toggled(self) -> None:
        if self.path is None or self.info is None:
            return
        encoding = "tcvn3" if self.tcvn3_check.isChecked() else "unicode"
        sheet = self.sheet_combo.currentData()
        self.options = sheets.SourceOptions(encoding=encoding)
        self._reset_from(STEP_FILE)
        self._open(sheet)

    def _sheet_chosen(self) -> None:
        if self.info is None:
            return
        sheet = self.sheet_combo.currentData()
        if self.pv is not None and sheet == self.pv.sheet:
            return
        self._reset_from(STEP_PREVIEW)
        self._open(sheet)

    # --- step 2: the first rows ---------------------------------------------------------------
    def _fill_preview(self, pv: sheets.SheetPreview) -> None:
        self.header_spin.blockSignals(True)
        self.header_spin.setValue(pv.header_row)
        self.header_spin.blockSignals(False)
        if pv.header_rows == 2:
            note = _("(with a second row of names under merged cells); data from row {row}").format(row=pv.data_start)
        else:
            note = _("data from row {row}").format(row=pv.data_start)
        if pv.rows_estimate:
            note += " " + _("— about {n} rows in the sheet").format(n=format_number(pv.rows_estimate))
        self.header_note.setText(note)
        table = self.preview_table
        table.clear()
        table.setColumnCount(len(pv.columns))
        table.setHorizontalHeaderLabels([f"{c.letter}\n{c.header}" if c.header else c.letter for c in pv.columns])
        table.setRowCount(len(pv.rows))
        table.setVerticalHeaderLabels([str(number) for number, _values in pv.rows])
        for r, (_number, values) in enumerate(pv.rows):
            for c, value in enumerate(values[:len(pv.columns)]):
                table.setItem(r, c, _item(value, value if len(value) > 40 else ""))
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.resizeColumnsToContents()
        for c in range(table.columnCount()):
            table.setColumnWidth(c, min(max(table.columnWidth(c), 60), 260))

    def _header_row_chosen(self) -> None:
        if self.info is None or self.pv is None or self.header_spin.value() == self.pv.header_row:
            return
        self._reset_from(STEP_PREVIEW)
        self._open(self.pv.sheet, self.header_spin.value())

    # --- step 3: columns ----------------------------------------------------------------------
    def _propose_mapping(self) -> None:
        assert self.pv is not None
        if self.mapping is not None and self.field_combos:
            return  # the person's choices stay when coming back
        try:
            self.mapping = sheets.propose_mapping(self.db, self.pv)
        except UserError as exc:
            _say(self.message, str(exc), BAD_COLOUR)
            return
        self._fill_columns(self.pv, self.mapping)

    def _fill_columns(self, pv: sheets.SheetPreview, mapping: sheets.ColumnMapping) -> None:
        by_index = {index: key for key, index in mapping.columns.items()}
        table = self.columns_table
        table.setRowCount(len(pv.columns))
        self.field_combos = []
        for r, col in enumerate(pv.columns):
            table.setItem(r, 0, _item(col.letter))
            table.setItem(r, 1, _item(col.header or "—", col.header))
            samples = " · ".join(col.samples[:3])
            table.setItem(r, 2, _item(samples, "\n".join(col.samples)))
            combo = QComboBox()
            combo.setObjectName(f"field_{col.letter}")
            combo.addItem(_("(not imported)"), None)
            for spec in F.FIELDS:
                combo.addItem(field_text(spec.key) + (" *" if spec.required else ""), spec.key)
            key = by_index.get(col.index)
            combo.setCurrentIndex(max(0, combo.findData(key)))
            combo.currentIndexChanged.connect(lambda _i, row=r: self._column_changed(row))
            table.setCellWidget(r, 3, combo)
            self.field_combos.append(combo)
            table.setItem(r, 4, _item(self._how_mapped(key, mapping)))
        self.form_constant.blockSignals(True)
        self.form_constant.clear()
        self.form_constant.addItem(_("(from its column)"), None)
        for choice in self._plan_choices("form"):
            self.form_constant.addItem(choice.label, choice.target)
        self.form_constant.setCurrentIndex(max(0, self.form_constant.findData(mapping.constants.get("form"))))
        self.form_constant.blockSignals(False)

    @staticmethod
    def _how_mapped(key: str | None, mapping: sheets.ColumnMapping) -> str:
        if not key:
            return ""
        if key in mapping.remembered:
            return _("remembered")
        return _("recognised") if key in mapping.scores else ""

    def _plan_choices(self, key: str) -> list[sheets.Choice]:
        if key not in self._choices:
            self._choices[key] = sheets.choices(self.db, self.plan_id, key)
        return self._choices[key]

    def _column_changed(self, row: int) -> None:
        item = self.columns_table.item(row, 4)
        if item is not None:
            item.setText(_("your choice") if self.field_combos[row].currentData() else "")
        self._reset_from(STEP_COLUMNS)
        self._check_columns()

    def chosen_columns(self) -> dict[int, str | None]:
        assert self.pv is not None
        return {col.index: combo.currentData() for col, combo in zip(self.pv.columns, self.field_combos, strict=True)}

    def _check_columns(self) -> bool:
        """Build the mapping from the combos; a field chosen twice (or a required one missing) is
        said in plain words and Next stays off."""
        if self.pv is None or not self.field_combos:
            return False
        chosen = self.chosen_columns()
        form_mapped = "form" in chosen.values()
        self.form_constant.setEnabled(not form_mapped)
        constants = {}
        if not form_mapped and self.form_constant.currentData():
            constants["form"] = self.form_constant.currentData()
        try:
            mapping = sheets.mapping_from_columns(self.pv, chosen, constants)
        except UserError as exc:
            self.mapping = None
            _say(self.message, str(exc), BAD_COLOUR)
            self._update_buttons()
            return False
        old = self.mapping
        if old is not None:
            mapping.remembered = {k for k in old.remembered if mapping.columns.get(k) == old.columns.get(k)}
            mapping.scores = {k: v for k, v in old.scores.items() if mapping.columns.get(k) == old.columns.get(k)}
        self.mapping = mapping
        _say(self.message, "")
        self._update_buttons()
        return True

    def _new_request(self) -> sheets.ImportRequest:
        assert self.path is not None and self.mapping is not None and self.pv is not None
        return sheets.ImportRequest(self.path, self.plan_id, self.mapping, sheet=self.pv.sheet, options=self.options,
                                    value_map=dict(self.value_map),
                                    include_duplicates=self.duplicates_check.isChecked())

    # --- step 4: values -----------------------------------------------------------------------
    def load_values(self) -> None:
        request = self._new_request()

        def work(progress: Progress, cancelled: IsCancelled) -> list[sheets.ValueSuggestion]:
            return sheets.value_suggestions(self.db, request, progress=progress, cancelled=cancelled)

        _say(self.message, _("Reading the values of every row…"))
        self._run("values", work, self._values_loaded)

    def _values_loaded(self, suggestions: list[sheets.ValueSuggestion]) -> None:
        self.suggestions = suggestions
        self._fill_values(suggestions)
        self._go(STEP_VALUES)

    def _fill_values(self, suggestions: list[sheets.ValueSuggestion]) -> None:
        table = self.values_table
        table.setRowCount(len(suggestions))
        self.value_combos = []
        for r, s in enumerate(suggestions):
            table.setItem(r, 0, _item(field_text(s.field)))
            table.setItem(r, 1, _item(s.text, s.text))
            count = _item(format_number(s.count))
            count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, 2, count)
            combo = QComboBox()
            combo.setObjectName(f"value_{r}")
            combo.addItem(_("— choose —"), None)
            combo.addItem(_("(leave empty)"), "")
            close = [c for c in s.choices if c.score < 1.0][:3]
            for c in close:
                combo.addItem(_("≈ {choice}").format(choice=c.label), c.target)
            if close:
                combo.insertSeparator(combo.count())
            for choice in self._plan_choices(s.field):
                combo.addItem(choice.label, choice.target)
            combo.setCurrentIndex(max(0, combo.findData(s.proposed)) if s.proposed is not None else 0)
            combo.setMinimumContentsLength(30)
            combo.setToolTip(combo.currentText())  # a long form's whole name
            combo.currentTextChanged.connect(combo.setToolTip)
            combo.currentIndexChanged.connect(lambda _i, row=r: self._value_changed(row))
            table.setCellWidget(r, 3, combo)
            how = _item(_(HOW_WORDS.get(s.how, s.how)))
            if s.proposed is None:
                how.setForeground(QColor(BAD_COLOUR))
            table.setItem(r, 4, how)
            self.value_combos.append((s, combo))
        table.resizeRowsToContents()
        self.no_values.setVisible(not suggestions)
        self.values_table.setVisible(bool(suggestions))
        self.show_exact.setVisible(any(s.how == "exact" for s in suggestions))
        self._filter_values()

    def _filter_values(self) -> None:
        show_all = self.show_exact.isChecked()
        for r, (s, _combo) in enumerate(self.value_combos):
            self.values_table.setRowHidden(r, s.how == "exact" and not show_all)

    def _value_changed(self, row: int) -> None:
        item = self.values_table.item(row, 4)
        if item is not None:
            item.setText(_("your choice"))
            item.setForeground(QColor(OK_COLOUR))
        self.dry = None

    def value_row(self, field: str, text: str) -> int:
        """The row of the values table for a value as written in the file (for tests and curiosity)."""
        for r, (s, _combo) in enumerate(self.value_combos):
            if s.field == field and s.text == text:
                return r
        raise KeyError((field, text))

    def chosen_values(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for s, combo in self.value_combos:
            target = combo.currentData()
            if target is not None:
                out.setdefault(s.field, {})[s.text] = target
        return out

    # --- step 5: the dry run ------------------------------------------------------------------
    def run_dry_run(self) -> None:
        if self.mapping is None or self.working:
            return
        request = self._new_request()

        def work(progress: Progress, cancelled: IsCancelled) -> tuple[sheets.ImportRequest, sheets.DryRun]:
            return request, sheets.dry_run(self.db, request, progress=progress, cancelled=cancelled)

        _say(self.message, _("Checking every row…"))
        self._run("dry", work, self._dry_done)

    def _dry_done(self, result: tuple[sheets.ImportRequest, sheets.DryRun]) -> None:
        self.request, self.dry = result
        self._fill_dry(self.dry)
        if self.step != STEP_DRY:
            self._go(STEP_DRY)
        else:
            self._update_buttons()
        self._explain_dry(self.dry)

    def _fill_dry(self, dry: sheets.DryRun) -> None:
        for key, (value, label) in self.count_labels.items():
            n = dry.counts.get(key, 0)
            value.setText(format_number(n))
            colour = None
            if key == "new":
                colour = OK_COLOUR if n else BAD_COLOUR
            elif key == "error" and n:
                colour = BAD_COLOUR
            elif not n:
                colour = MUTED_COLOUR
            style = f"color: {colour};" if colour else ""
            value.setStyleSheet(style)
            label.setStyleSheet(style)
        self.duplicates_check.blockSignals(True)
        self.duplicates_check.setChecked(dry.include_duplicates)
        self.duplicates_check.blockSignals(False)
        self.duplicates_check.setVisible(dry.counts.get("duplicate", 0) > 0)
        shown = [o for o in dry.outcomes if not (o.status == "duplicate" and dry.include_duplicates)]
        shown.sort(key=lambda o: (o.status != "error", o.row))  # what the person must correct, first
        self._fill_sample(dry)
        table = self.problems
        table.setRowCount(min(len(shown), PROBLEM_ROWS_SHOWN))
        for r, o in enumerate(shown[:PROBLEM_ROWS_SHOWN]):
            row = _item(str(o.row))
            row.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            status = _item(_(STATUS_WORDS.get(o.status, o.status)))
            if o.status == "error":
                status.setForeground(QColor(BAD_COLOUR))
            reason = o.reason()
            for c, item in enumerate((row, status, _item(o.title or "—", o.title), _item(reason, reason))):
                table.setItem(r, c, item)
        table.setWordWrap(len(shown) <= WRAPPED_ROWS)  # long reasons read whole; thousands of rows stay quick
        if len(shown) <= WRAPPED_ROWS:
            table.resizeRowsToContents()
            # again once the table has its width: measured before, the wrapped reasons are too tall
            QTimer.singleShot(0, table.resizeRowsToContents)
        more = len(shown) - PROBLEM_ROWS_SHOWN + dry.outcomes_left_out
        _say(self.left_out, _("… and {n} more rows not imported.").format(n=format_number(more)) if more > 0 else "",
             MUTED_COLOUR)
        self.problems_caption.setVisible(bool(shown))
        self.problems.setVisible(bool(shown))
        self.dry_tabs.setTabText(0, _("Not imported ({n})").format(n=format_number(len(shown)
                                                                              + dry.outcomes_left_out)))
        self.dry_tabs.setTabText(1, _("First rows to import ({n} of {total})").format(
            n=format_number(len(dry.sample)), total=format_number(dry.to_import)))
        self.dry_tabs.setTabEnabled(1, bool(dry.sample))
        self.dry_tabs.setCurrentIndex(0 if shown or not dry.sample else 1)

    def _fill_sample(self, dry: sheets.DryRun) -> None:
        forms = {c.target: c.label for c in self._plan_choices("form")}
        table = self.sample
        table.setRowCount(len(dry.sample))
        for r, p in enumerate(dry.sample):
            kind = _(SUBTYPES[p.subtype]) if p.subtype in SUBTYPES else p.subtype
            languages = ", ".join(_(LANGUAGES[c]) if c in LANGUAGES else c for c in p.languages)
            form = forms.get(p.form, p.form)
            cells = (str(p.row), format_date(p.date_start), p.form, kind, p.title, p.place, languages)
            for c, text in enumerate(cells):
                item = _item(text, form if c == 2 else text)
                if c == 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)

    def _explain_dry(self, dry: sheets.DryRun) -> None:
        if dry.to_import:
            return
        c = dry.counts
        if c["error"] and not c["already"] + c["in_register"]:
            _say(self.message, _("No row can be imported: correct the rows listed (or the choices before) and try "
                                 "again. Nothing was imported."), BAD_COLOUR)
        else:
            _say(self.message, _("Nothing new to import."), OK_COLOUR, bold=True)

    def problem_rows(self) -> list[tuple[str, str, str, str]]:
        """The dry run's table as the person reads it: (row, status, title, why)."""
        out = []
        for r in range(self.problems.rowCount()):
            cells = [self.problems.item(r, c) for c in range(4)]
            out.append(tuple(cell.text() if cell is not None else "" for cell in cells))
        return out  # type: ignore[return-value]

    # --- step 6: the import -------------------------------------------------------------------
    def run_import(self) -> None:
        if self.request is None or self.dry is None or self.working:
            return
        request, dry = self.request, self.dry

        def work(progress: Progress, cancelled: IsCancelled) -> sheets.ImportResult:
            return sheets.apply_import(self.db, request, dry_run=dry, progress=progress, cancelled=cancelled)

        _say(self.message, _("Importing {n} activities…").format(n=format_number(dry.to_import)))
        self._run("import", work, self._imported)

    def _imported(self, result: sheets.ImportResult) -> None:
        self.result_value = result
        c = result.counts
        already = c.get("already", 0) + c.get("in_register", 0)
        skipped = c.get("skipped", 0) + (0 if self.request and self.request.include_duplicates
                                         else c.get("duplicate", 0))
        errors = c.get("error", 0)
        if errors:
            text = _("{added} added, {already} already imported, {errors} with errors, {skipped} skipped.")
        else:
            text = _("{added} added, {already} already imported, {skipped} skipped.")
        self.result_label.setText(text.format(added=format_number(result.added), already=format_number(already),
                                              errors=format_number(errors), skipped=format_number(skipped)))
        self.result_label.setStyleSheet(f"color: {OK_COLOUR};" if result.added else "")
        details = result.message + "\n\n" + _(
            "Each imported activity keeps the file and row it came from (shown in its history). Importing the "
            "same file again adds only rows that were not imported before.")
        if result.backup is not None:
            details += "\n\n" + _("The database as it was before this import is saved in the backups folder "
                                   "({file}).").format(file=result.backup.name)
        self.result_details.setText(details)
        self.undo_button.setVisible(bool(result.activity_ids))
        self._go(STEP_DONE)
        if result.added:
            self.imported.emit(result)

    # --- the background work ------------------------------------------------------------------
    def _run(self, kind: str, fn: Any, done: Any) -> None:
        self._task_kind = kind
        self.progress.setRange(0, 0)
        self.stop_button.setEnabled(True)
        self.stop_button.setText(_("Stop import") if kind == "import" else _("Stop"))
        self.stop_button.setToolTip(_("Stops the import: nothing is written.") if kind == "import" else "")
        task = _Task(self, fn, lambda result: self._finished(done, result), self._failed, self._cancelled)
        self.task = task
        self._update_buttons()

    def _progressed(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def _finished(self, done: Any, result: Any) -> None:
        self.task = None
        _say(self.message, "")
        done(result)
        self._update_buttons()

    def _failed(self, message: str) -> None:
        kind = self._task_kind
        self.task = None
        if kind == "open":
            self.info = self.pv = None
            self.file_label.setText(str(self.path) if self.path else "")
            self._show_file_widgets()
        _say(self.message, message, BAD_COLOUR)
        self._update_buttons()

    def _cancelled(self) -> None:
        kind = self._task_kind
        self.task = None
        if kind == "import":
            _say(self.message, _("Stopped: nothing was imported."), NOTE_COLOUR, bold=True)
        else:
            _say(self.message, _("Stopped."), NOTE_COLOUR)
        self._update_buttons()


class _Task(BackgroundTask):
    def __init__(self, dialog: SheetImportDialog, fn: Any, on_done: Any, on_error: Any, on_cancel: Any):
        self._dialog = dialog
        super().__init__(fn, on_done, on_error, on_cancel, owner=dialog)

    def on_progress(self, done: int, total: int) -> None:
        self._dialog._progressed(done, total)

    def _finish_ui(self) -> None:
        self._dialog = None  # type: ignore[assignment]  # no cycle left for the collector


def open_import(parent: QWidget, db: Database, plan_id: int) -> SheetImportDialog | None:
    """File → Spreadsheet → Import from Excel/CSV…: the dialog, or a plain refusal."""
    if not _may(db, Perm.EDIT_ACTIVITIES):
        interaction.get().error(parent, _("Import from Excel/CSV"),
                                _("Your role does not allow adding activities to the register."))
        return None
    dialog = SheetImportDialog(db, plan_id, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


__all__ = ["SheetImportDialog", "field_text", "open_import", "sample_line"]

