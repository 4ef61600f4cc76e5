"""The report editor: the period, the document's frame, the narrative; save, build, preview."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.periods import (
    Cutoff,
    Period,
    PeriodError,
    PeriodKind,
    parse_period,
)
from dbcomm.domain.report import Narrative, ReportSettings
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import nfc
from dbcomm.errors import UserError, ValidationFailed
from dbcomm.i18n import N_, _, format_date
from dbcomm.services import plans, reports
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.pdf_preview import PdfPreviewDialog
from dbcomm.ui.tasks import BackgroundTask, run_cancellable
from dbcomm.ui.widgets import DateEdit, ErrorLabel, enable_for

PERIOD_KINDS: list[tuple[str, str]] = [
    (PeriodKind.MONTH.value, N_("Month")),
    (PeriodKind.QUARTER.value, N_("Quarter")),
    (PeriodKind.HALF.value, N_("First 6 months")),
    (PeriodKind.NINE.value, N_("First 9 months")),
    (PeriodKind.YEAR.value, N_("Year")),
    (PeriodKind.CUSTOM.value, N_("Custom range")),
]
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}

# (Narrative field, tab title, what the section holds)
SECTIONS: list[tuple[str, str, str]] = [
    ("direction", N_("I. Direction"),
     N_("I. How the work was directed and organised: documents issued, tasks assigned.")),
    ("results_note", N_("II. Results"),
     N_("II. Results: the tables are filled in from the register. An optional paragraph written "
        "here comes above them.")),
    ("assessment", N_("III. Assessment"),
     N_("III. Overall assessment: strengths, shortcomings and their causes.")),
    ("next_steps", N_("IV. Next steps"),
     N_("IV. Direction and tasks for the next period.")),
    ("proposals", N_("V. Proposals"),
     N_("V. Proposals and recommendations to the authorities above.")),
]

WARNINGS_DELAY_MS = 300  # the notices follow the period and the date once the person pauses


def today() -> date:
    """Today's date; the one place the editor asks for it (tests replace it)."""
    return date.today()


class ReportEditor(QDialog):
    """Write a new report (``report_id=None``) or edit a stored one.

    Emits ``saved(report_id)`` after each save and after each build.
    """

    saved = Signal(int)

    def __init__(self, db: Database, plan_id: int, report_id: int | None = None,
                 period_key: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.report_id = report_id
        self.version: int | None = None
        self.info: reports.ReportInfo | None = None
        self.task: Any = None  # the build or draft running behind a progress dialog
        self.draft_task: BackgroundTask | None = None  # the quiet draft of a new report
        self._started: list[BackgroundTask] = []  # every draft started, even those left behind
        self.preview: PdfPreviewDialog | None = None
        self._auto_subject = ""
        self._auto_narrative: Narrative | None = None
        # A new report starts with a draft written from the figures; it follows the period
        # while the person has not touched it.
        self._auto_draft_on = report_id is None
        self.warning_texts: list[str] = []  # the notices shown above the document
        self._errors: dict[str, ErrorLabel] = {}
        self._closed = False
        self.read_only = False
        detail = reports.get_report(db, report_id) if report_id is not None else None
        self.plan_id = detail.settings.plan_id if detail else plan_id
        self.tree = plans.get_tree(db, self.plan_id)
        self.cutoff = Cutoff(self.tree.plan.cutoff)
        self.setObjectName("report_editor")
        self.setMinimumSize(1060, 720)
        self._redraft_timer = QTimer(self)
        self._redraft_timer.setSingleShot(True)
        self._redraft_timer.setInterval(500)
        self._redraft_timer.timeout.connect(self._start_auto_draft)
        self._warnings_timer = QTimer(self)
        self._warnings_timer.setSingleShot(True)
        self._warnings_timer.setInterval(WARNINGS_DELAY_MS)
        self._warnings_timer.timeout.connect(self.update_warnings)
        self._loading = True
        self._build()
        if detail is not None:
            self.info = detail.info
            self.version = detail.info.version
            self._load(detail.settings, detail.narrative)
        else:
            # the last quarter that has ended: the one usually reported on
            key = period_key or reports.last_complete_period(self.tree.plan.cutoff, PeriodKind.QUARTER,
                                                             today()).key
            self._load(reports.default_settings(db, self.plan_id, key), Narrative())
        self._loading = False
        self._update_period()
        self._clean = self._state()
        self._update_title()
        if detail is not None and detail.info.state != "draft":
            self._make_read_only()
        self.update_warnings()
        if detail is None:
            self._start_auto_draft()

    # --- building -----------------------------------------------------------------------
    def _field(self, form: QFormLayout, name: str, caption: str, widget: QWidget,
               hint: str = "") -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(widget)
        if hint:
            h = QLabel(hint)
            h.setWordWrap(True)
            h.setStyleSheet("color: #5f6368;")
            lay.addWidget(h)
        err = ErrorLabel()
        err.setObjectName(f"error_{name}")
        lay.addWidget(err)
        form.addRow(caption, box)
        self._errors[name] = err
        return widget

    def _build(self) -> None:
        # The period
        period_box = QGroupBox(_("Period"))
        pl = QHBoxLayout(period_box)
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("period_kind")
        for code, text in PERIOD_KINDS:
            self.kind_combo.addItem(_(text), code)
        self.year_spin = QSpinBox()
        self.year_spin.setObjectName("period_year")
        self.year_spin.setRange(2000, 2100)
        self.year_spin.setValue(today().year)
        self.month_combo = QComboBox()
        self.month_combo.setObjectName("period_month")
        for m in range(1, 13):
            self.month_combo.addItem(_("Month {n}").format(n=m), m)
        self.quarter_combo = QComboBox()
        self.quarter_combo.setObjectName("period_quarter")
        for q in range(1, 5):
            self.quarter_combo.addItem(_("Quarter {q}").format(q=ROMAN[q]), q)
        self.from_edit, self.to_edit = DateEdit(), DateEdit()
        self.from_edit.setObjectName("period_from")
        self.to_edit.setObjectName("period_to")
        self.range_dash = QLabel("–")
        self.year_label = QLabel(_("Year"))
        for w in (self.kind_combo, self.year_label, self.year_spin, self.month_combo, self.quarter_combo,
                  self.from_edit, self.range_dash, self.to_edit):
            pl.addWidget(w)
        pl.addSpacing(16)
        dates_box = QVBoxLayout()
        dates_box.setSpacing(0)
        self.period_dates = QLabel()
        self.period_dates.setObjectName("period_dates")
        self.period_dates.setStyleSheet("font-weight: bold;")
        dates_box.addWidget(self.period_dates)
        self.period_error = ErrorLabel()
        self.period_error.setObjectName("error_period")
        dates_box.addWidget(self.period_error)
        self._errors["period"] = self.period_error
        pl.addLayout(dates_box, 1)
        self.kind_combo.currentIndexChanged.connect(self._update_period)
        self.year_spin.valueChanged.connect(self._update_period)
        self.month_combo.currentIndexChanged.connect(self._update_period)
        self.quarter_combo.currentIndexChanged.connect(self._update_period)
        self.from_edit.dateChanged.connect(self._update_period)
        self.to_edit.dateChanged.connect(self._update_period)

        # The document's frame
        doc_box = QGroupBox(_("Document"))
        doc_lay = QVBoxLayout(doc_box)
        form = QFormLayout()
        doc_lay.addLayout(form)
        doc_lay.addStretch(1)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.recipient_edit = QPlainTextEdit()
        self.recipient_edit.setObjectName("recipient")
        self.recipient_edit.setTabChangesFocus(True)
        self.recipient_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 14)
        self.recipient_edit.setPlaceholderText(_("One recipient per line"))
        self._field(form, "recipient", _("To (Kính gửi)"), self.recipient_edit)
        self.subject_edit = QPlainTextEdit()
        self.subject_edit.setObjectName("subject")
        self.subject_edit.setTabChangesFocus(True)
        self.subject_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 2 + 14)
        self._field(form, "subject", _("Subject (trích yếu)") + " *", self.subject_edit,
                    _("Follows the period until you change it."))
        self.place_edit = QLineEdit()
        self.place_edit.setObjectName("place")
        self._field(form, "place", _("Place in the date line"), self.place_edit)
        day = QWidget()
        dl = QHBoxLayout(day)
        dl.setContentsMargins(0, 0, 0, 0)
        self.doc_date_edit = DateEdit()
        self.doc_date_edit.setObjectName("doc_date")
        self.build_day_check = QCheckBox(_("the day it is built"))
        self.build_day_check.setObjectName("doc_date_on_build")
        self.build_day_check.toggled.connect(lambda on: self.doc_date_edit.setEnabled(not on))
        self.build_day_check.toggled.connect(lambda _on: self._warnings_later())
        self.doc_date_edit.dateChanged.connect(lambda _d: self._warnings_later())
        self.registry_date_check = QCheckBox(_("left for the registry"))
        self.registry_date_check.setObjectName("doc_date_by_registry")
        self.registry_date_check.setToolTip(_("The date line is printed blank; the registry fills in the day "
                                              "it issues the document, when it seals it."))
        self.registry_date_check.toggled.connect(self._registry_date_toggled)
        dl.addWidget(self.doc_date_edit)
        dl.addWidget(self.build_day_check)
        dl.addWidget(self.registry_date_check)
        dl.addStretch(1)
        self._field(form, "doc_date", _("Document date"), day)
        self.number_edit = QLineEdit()
        self.number_edit.setObjectName("number")
        self.number_edit.setMaximumWidth(160)
        self.number_edit.setPlaceholderText(_("blank"))
        self._field(form, "number", _("Document number"), self.number_edit,
                    _("Leave it blank: the registry writes the number in when the document is issued."))
        self.distribution_edit = QPlainTextEdit()
        self.distribution_edit.setObjectName("distribution")
        self.distribution_edit.setTabChangesFocus(True)
        self.distribution_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 14)
        self.distribution_edit.setPlaceholderText(_("One per line; “Như trên;” comes first by itself"))
        self._field(form, "distribution", _("Copies to (Nơi nhận)"), self.distribution_edit)
        archive = QWidget()
        al = QHBoxLayout(archive)
        al.setContentsMargins(0, 0, 0, 0)
        al.addWidget(QLabel("Lưu: VT,"))
        self.archive_edit = QLineEdit()
        self.archive_edit.setObjectName("archive_unit")
        self.archive_edit.setPlaceholderText(_("e.g. VHXH"))
        al.addWidget(self.archive_edit, 1)
        self._field(form, "archive_unit", _("Filed by"), archive)
        self.annex_check = QCheckBox(_("Add the list of activities as an annex"))
        self.annex_check.setObjectName("include_annex")
        self.compare_check = QCheckBox(_("Compare with the same period last year"))
        self.compare_check.setObjectName("compare_last_year")
        self.scope_check = QCheckBox(_("Include the reports received from other offices"))
        self.scope_check.setObjectName("scope_all")
        self.scope_check.setToolTip(_("Count the activities of the reports received from other offices "
                                      "with the office's own, and add a table by office. Without reports "
                                      "received, this changes nothing."))
        self.scope_check.toggled.connect(lambda _on: self._warnings_later())
        self.scope_check.toggled.connect(lambda _on: self._follow_scope())
        checks = QWidget()
        cl = QVBoxLayout(checks)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.annex_check)
        cl.addWidget(self.compare_check)
        cl.addWidget(self.scope_check)
        form.addRow(_("Contents"), checks)

        # The narrative
        text_box = QGroupBox(_("Narrative"))
        tl = QVBoxLayout(text_box)
        self.narrative_tabs = QTabWidget()
        self.narrative_tabs.setObjectName("narrative")
        self.sections: dict[str, QPlainTextEdit] = {}
        for name, title, heading in SECTIONS:
            page = QWidget()
            lay = QVBoxLayout(page)
            label = QLabel(_(heading))
            label.setWordWrap(True)
            label.setStyleSheet("color: #5f6368;")
            lay.addWidget(label)
            edit = QPlainTextEdit()
            edit.setObjectName(name)
            edit.setTabChangesFocus(True)
            lay.addWidget(edit, 1)
            self.sections[name] = edit
            self.narrative_tabs.addTab(page, _(title))
            self.narrative_tabs.setTabToolTip(self.narrative_tabs.count() - 1, _(heading))
        tl.addWidget(self.narrative_tabs, 1)
        draft_row = QHBoxLayout()
        self.draft_button = QPushButton(_("Fill in a draft from the figures"))
        self.draft_button.setObjectName("fill_draft")
        self.draft_button.setToolTip(_("Count the period's activities and write a first draft into the "
                                       "empty sections"))
        self.draft_button.clicked.connect(self.fill_draft)
        draft_row.addWidget(self.draft_button)
        self.draft_note = QLabel()
        self.draft_note.setObjectName("draft_note")
        self.draft_note.setWordWrap(True)
        self.draft_note.setStyleSheet("color: #5f6368;")
        draft_row.addWidget(self.draft_note, 1)
        tl.addLayout(draft_row)

        middle = QHBoxLayout()
        middle.addWidget(doc_box, 5)
        middle.addWidget(text_box, 6)

        self.summary_error = ErrorLabel()
        self.summary_error.setObjectName("summary_error")
        self.status_label = QLabel()
        self.status_label.setObjectName("status")
        self.status_label.setStyleSheet("color: #1b5e20;")
        buttons = QHBoxLayout()
        self.save_button = QPushButton(_("Save draft"))
        self.save_button.setObjectName("save_draft")
        self.save_button.clicked.connect(self.save)
        self.build_button = QPushButton(_("Build and preview"))
        self.build_button.setObjectName("build")
        self.build_button.setDefault(True)
        self.build_button.clicked.connect(self.build_and_preview)
        self.close_button = QPushButton(_("Close"))
        self.close_button.setObjectName("close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.status_label, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.build_button)
        buttons.addWidget(self.close_button)

        # Notices before building: nothing here stops the build
        self.warnings_box = QFrame()
        self.warnings_box.setObjectName("warnings")
        self.warnings_box.setStyleSheet("#warnings { background: #fff4ce; border: 1px solid #e0c36c; "
                                        "border-radius: 3px; }")
        wl = QHBoxLayout(self.warnings_box)
        wl.setContentsMargins(8, 4, 8, 4)
        self.warnings_label = QLabel()
        self.warnings_label.setObjectName("warnings_text")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet("color: #5c3c00;")
        wl.addWidget(self.warnings_label, 1)
        self.warnings_box.hide()

        lay = QVBoxLayout(self)
        lay.addWidget(period_box)
        lay.addWidget(self.warnings_box)
        lay.addLayout(middle, 1)
        lay.addWidget(self.summary_error)
        lay.addLayout(buttons)
        enable_for(self.db, self, {Perm.BUILD_REPORT: ("save_draft", "build", "fill_draft")})

    # --- the period ----------------------------------------------------------------------
    def kind(self) -> str:
        return str(self.kind_combo.currentData())

    def period_key(self) -> str | None:
        """The chosen period as a key, or None (with the reason shown) when it is not a period."""
        kind, year = self.kind(), self.year_spin.value()
        if kind == PeriodKind.MONTH:
            return f"{year}-{self.month_combo.currentData():02d}"
        if kind == PeriodKind.QUARTER:
            return f"{year}-Q{self.quarter_combo.currentData()}"
        if kind == PeriodKind.HALF:
            return f"{year}-H1"
        if kind == PeriodKind.NINE:
            return f"{year}-9M"
        if kind == PeriodKind.YEAR:
            return str(year)
        start, end = self.from_edit.value(), self.to_edit.value()
        if end < start:
            return None
        return f"{start.isoformat()}..{end.isoformat()}"

    def period(self) -> Period | None:
        key = self.period_key()
        if key is None:
            return None
        try:
            return parse_period(key, self.cutoff)
        except PeriodError:
            return None

    def _update_period(self) -> None:
        kind = self.kind()
        custom = kind == PeriodKind.CUSTOM
        self.year_label.setVisible(not custom)
        self.year_spin.setVisible(not custom)
        self.month_combo.setVisible(kind == PeriodKind.MONTH)
        self.quarter_combo.setVisible(kind == PeriodKind.QUARTER)
        for w in (self.from_edit, self.range_dash, self.to_edit):
            w.setVisible(custom)
        if self._loading:
            return
        self._warnings_later()
        period = self.period()
        if period is None:
            self.period_dates.setText("")
            self.period_error.show_message(_("The range ends before it starts: choose an end date on or "
                                             "after the start date."))
            return
        self.period_error.show_message("")
        text = f"{format_date(period.start)} – {format_date(period.end)}"
        if self.cutoff == Cutoff.DAY15 and not custom:
            text += "  " + _("(data window from the 15th to the 14th)")
        self.period_dates.setText(text)
        self._follow_period(period)

    def _follow_period(self, period: Period) -> None:
        """The subject (and an untouched draft) follow the period."""
        try:
            subject = reports.default_settings(self.db, self.plan_id, period.key).subject
        except UserError:
            return
        if self.subject_text() in ("", self._auto_subject):
            self.subject_edit.setPlainText(subject)
        self._auto_subject = subject
        if (self._auto_draft_on or self._auto_narrative is not None) and self._narrative_untouched():
            # a draft on its way for the period before is of no use any more
            if self.draft_task is not None and self.draft_task.running:
                self.draft_task.cancel()
            self._redraft_timer.start()

    def _follow_scope(self) -> None:
        """An untouched draft follows what the report counts (own, or with what was received)."""
        if (self._auto_draft_on or self._auto_narrative is not None) and self._narrative_untouched():
            if self.draft_task is not None and self.draft_task.running:
                self.draft_task.cancel()
            self._redraft_timer.start()

    def _set_period(self, key: str) -> None:
        p = parse_period(key, self.cutoff)
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(p.kind.value)))
        if p.kind == PeriodKind.CUSTOM:
            self.from_edit.set_value(p.start)
            self.to_edit.set_value(p.end)
            return
        self.year_spin.setValue(int(p.key[:4]))
        if p.kind == PeriodKind.MONTH:
            self.month_combo.setCurrentIndex(self.month_combo.findData(int(p.key[5:7])))
        elif p.kind == PeriodKind.QUARTER:
            self.quarter_combo.setCurrentIndex(self.quarter_combo.findData(int(p.key[-1])))

    # --- notices before building -------------------------------------------------------
    def _warnings_later(self) -> None:
        if not self._loading:
            self._warnings_timer.start()

    def update_warnings(self) -> list[str]:
        """Show what the person should know before building (a period outside the plan, no
        activity, another report for the period, a date before the period's end)."""
        self._warnings_timer.stop()
        key = self.period_key()
        texts: list[str] = []
        if key is not None and not self.read_only:
            try:
                texts = reports.warnings(self.db, self.settings(key), self.report_id, today())
            except UserError:
                texts = []  # an impossible period is shown next to the period itself
        self.warning_texts = texts
        self.warnings_label.setText("\n".join(f"⚠ {t}" for t in texts))
        self.warnings_box.setVisible(bool(texts))
        return texts

    def _other_reports(self) -> list[reports.ReportInfo]:
        """The stored reports of the plan for the period chosen (other than this one)."""
        period = self.period()
        if period is None:
            return []
        return [r for r in reports.list_reports(self.db, self.plan_id)
                if r.period_key == period.key and r.id != self.report_id]

    def _another_is_wanted(self) -> bool:
        """For a new report whose period already has one: ask before writing a second."""
        if self.report_id is not None:
            return True
        others = self._other_reports()
        if not others:
            return True
        return interaction.get().confirm(
            self, _("New report"),
            _("There is already a report for this period: “{subject}”.\n\nCreate another report for "
              "the same period?").format(subject=others[0].subject),
            yes=_("Create another report"), no=_("Go back"))

    def _registry_date_toggled(self, on: bool) -> None:
        self.build_day_check.setEnabled(not on)
        self.doc_date_edit.setEnabled(not on and not self.build_day_check.isChecked())
        self._warnings_later()

    # --- values --------------------------------------------------------------------------
    def subject_text(self) -> str:
        return nfc(self.subject_edit.toPlainText()).strip()

    def settings(self, period_key: str | None = None) -> ReportSettings:
        return ReportSettings(
            plan_id=self.plan_id, period_key=period_key or self.period_key() or "",
            recipient=nfc(self.recipient_edit.toPlainText()), subject=self.subject_text(),
            place=nfc(self.place_edit.text()),
            doc_date=(None if self.build_day_check.isChecked() or self.registry_date_check.isChecked()
                      else self.doc_date_edit.value()),
            date_by_registry=self.registry_date_check.isChecked(),
            number=self.number_edit.text().strip(),
            distribution=[line.strip() for line in nfc(self.distribution_edit.toPlainText()).splitlines()
                          if line.strip()],
            archive_unit=nfc(self.archive_edit.text()).strip(),
            include_annex=self.annex_check.isChecked(), compare_last_year=self.compare_check.isChecked(),
            scope="all" if self.scope_check.isChecked() else "own")

    def narrative(self) -> Narrative:
        return Narrative(**{name: nfc(edit.toPlainText()) for name, edit in self.sections.items()})

    def _load(self, cfg: ReportSettings, narrative: Narrative) -> None:
        self._set_period(cfg.period_key)
        period = parse_period(cfg.period_key, self.cutoff)
        try:
            self._auto_subject = reports.default_settings(self.db, self.plan_id, period.key).subject
        except UserError:
            self._auto_subject = ""
        self.recipient_edit.setPlainText(cfg.recipient)
        self.subject_edit.setPlainText(cfg.subject)
        self.place_edit.setText(cfg.place)
        self.build_day_check.setChecked(cfg.doc_date is None)
        self.doc_date_edit.setEnabled(cfg.doc_date is not None)
        if cfg.doc_date is not None:
            self.doc_date_edit.set_value(cfg.doc_date)
        self.registry_date_check.setChecked(cfg.date_by_registry)
        self._registry_date_toggled(cfg.date_by_registry)
        self.number_edit.setText(cfg.number)
        self.distribution_edit.setPlainText("\n".join(cfg.distribution))
        self.archive_edit.setText(cfg.archive_unit)
        self.annex_check.setChecked(cfg.include_annex)
        self.compare_check.setChecked(cfg.compare_last_year)
        self.scope_check.setChecked(cfg.scope == "all")
        for name, edit in self.sections.items():
            edit.setPlainText(getattr(narrative, name))

    def _state(self) -> tuple[Any, ...]:
        return (asdict(self.settings()), asdict(self.narrative()))

    def is_dirty(self) -> bool:
        return self._state() != self._clean

    def _update_title(self) -> None:
        if self.report_id is None:
            self.setWindowTitle(_("New report"))
        else:
            self.setWindowTitle(_("Report {period}").format(period=self.info.period_key if self.info else ""))

    def _make_read_only(self) -> None:
        for w in self.findChildren(QWidget):
            if isinstance(w, QPlainTextEdit | QLineEdit):
                w.setReadOnly(True)
        self.read_only = True
        self.warnings_box.hide()
        for b in (self.save_button, self.build_button, self.draft_button):
            b.setEnabled(False)
        self.status_label.setStyleSheet("color: #8a4b00;")
        self.status_label.setText(_("This report has been signed; it cannot change."))

    # --- errors --------------------------------------------------------------------------
    def _clear_errors(self) -> None:
        for err in self._errors.values():
            err.show_message("")
        self.summary_error.show_message("")

    def _show_errors(self, exc: ValidationFailed) -> None:
        unplaced = []
        for e in exc.errors:
            err = self._errors.get(e.field)
            if err is None:
                unplaced.append(e.message)
            else:
                err.show_message("\n".join(x for x in (err.text(), e.message) if x))
        self.summary_error.show_message("\n".join(unplaced) if unplaced else
                                        _("Please correct the fields marked in red."))

    # --- saving and building -----------------------------------------------------------
    def save(self) -> bool:
        """Save the settings and the narrative as a draft; False (with the reasons shown) if not saved."""
        self._clear_errors()
        self.status_label.setText("")
        key = self.period_key()
        if key is None:
            self._update_period()
            self.summary_error.show_message(_("Please correct the fields marked in red."))
            return False
        if not self._another_is_wanted():
            return False
        self._redraft_timer.stop()  # the person has taken over: no draft arrives after saving
        if self.draft_task is not None and self.draft_task.running:
            self.draft_task.cancel()
            self.draft_task.wait()
        try:
            info = reports.save_draft(self.db, self.report_id, self.settings(key), self.narrative(),
                                      expected_version=self.version)
        except ValidationFailed as exc:
            self._show_errors(exc)
            return False
        except UserError as exc:
            self.summary_error.show_message(str(exc))
            return False
        self.report_id, self.version, self.info = info.id, info.version, info
        self._clean = self._state()
        self._update_title()
        self.update_warnings()
        self.status_label.setStyleSheet("color: #1b5e20;")
        self.status_label.setText(_("Draft saved."))
        self.saved.emit(info.id)
        return True

    def build_and_preview(self) -> bool:
        """Save, then build in the background; the preview opens when the PDF is ready."""
        if not self.save():
            return False
        report_id = self.report_id
        assert report_id is not None
        self.status_label.setText(_("Building…"))
        self.task = run_cancellable(
            self, _("Building the report"),
            lambda progress, cancelled: reports.build(self.db, report_id, progress=progress,
                                                      cancelled=cancelled),
            self._built, on_error=self._build_failed, on_cancel=self._build_cancelled,
            label=_("Counting the activities and writing the PDF…"))
        return True

    def _built(self, built: reports.BuiltReport) -> None:
        self.info, self.version = built.info, built.info.version
        self.status_label.setStyleSheet("color: #1b5e20;")
        self.status_label.setText(_("Built: {pages} pages.").format(pages=built.info.pdf_pages))
        self.saved.emit(built.info.id)
        self.preview = PdfPreviewDialog(self.db, built.pdf, info=built.info, identical=True,
                                        just_built=True, parent=self)
        self.preview.open()

    def _build_failed(self, message: str) -> None:
        self.status_label.setText("")
        self.summary_error.show_message(message)
        interaction.get().error(self, _("Build the report"), message)

    def _build_cancelled(self) -> None:
        self.status_label.setStyleSheet("color: #8a4b00;")
        self.status_label.setText(_("The report was not built: cancelled."))

    # --- the draft narrative -------------------------------------------------------------
    def _narrative_untouched(self) -> bool:
        """Every section is empty or still holds the automatic draft."""
        auto = asdict(self._auto_narrative) if self._auto_narrative else {}
        return all(edit.toPlainText() in ("", auto.get(name, ""))
                   for name, edit in self.sections.items())

    def draft_tag(self) -> tuple[str | None, int, bool]:
        """What a draft is written for: the period, the plan and the scope.  A draft computed for other
        settings than the ones now chosen is thrown away."""
        return self.period_key(), self.plan_id, self.scope_check.isChecked()

    def drafting(self) -> bool:
        """A quiet draft is about to start or is being written."""
        return self._redraft_timer.isActive() or (self.draft_task is not None and self.draft_task.running)

    def _start_auto_draft(self) -> None:
        """For a new report: write the draft quietly in the background into the empty sections."""
        self._redraft_timer.stop()
        key = self.period_key()
        if key is None:
            return
        if self.draft_task is not None and self.draft_task.running:
            self.draft_task.cancel()
        cfg, narrative = self.settings(key), self.narrative()
        tag = self.draft_tag()
        task_ref: list[BackgroundTask | None] = [None]

        def work(progress: Any, cancelled: Any) -> Narrative:
            return reports.draft_narrative(reports.compute(self.db, cfg, narrative, cancelled=cancelled))

        def done(draft: Narrative) -> None:
            if self._closed or self.draft_task is not task_ref[0]:
                return  # the window closed, or a newer draft is on its way
            if tag != self.draft_tag():  # written for a period no longer chosen
                if self._narrative_untouched():
                    self._redraft_timer.start()
                return
            was_clean = not self.is_dirty()
            self.draft_note.setText("")
            previous = asdict(self._auto_narrative) if self._auto_narrative else {}
            for name, edit in self.sections.items():
                if edit.toPlainText() in ("", previous.get(name, "")):
                    edit.setPlainText(getattr(draft, name))
            self._auto_narrative = draft
            if was_clean:
                self._clean = self._state()

        def failed(message: str) -> None:
            if not self._closed and self.draft_task is task_ref[0] and tag == self.draft_tag():
                self.draft_note.setText(_("No draft was written: {reason}").format(reason=message))

        self.draft_task = BackgroundTask(work, done, failed, owner=self)
        task_ref[0] = self.draft_task
        self._started = [t for t in self._started if t.running] + [self.draft_task]

    def fill_draft(self) -> Any:
        """Count the figures (in the background) and write the draft into the sections."""
        key = self.period_key()
        if key is None:
            self._update_period()
            return None
        cfg, narrative = self.settings(key), self.narrative()
        tag = self.draft_tag()
        self._redraft_timer.stop()
        if self.draft_task is not None and self.draft_task.running:
            self.draft_task.cancel()
        self.task = run_cancellable(
            self, _("Fill in a draft from the figures"),
            lambda progress, cancelled: reports.draft_narrative(
                reports.compute(self.db, cfg, narrative, progress=progress, cancelled=cancelled)),
            lambda draft: self._apply_draft(draft, tag), label=_("Counting the activities…"))
        return self.task

    def _apply_draft(self, draft: Narrative, tag: tuple[str | None, int, bool] | None = None) -> None:
        if self._closed:
            return
        if tag is not None and tag != self.draft_tag():
            self.draft_note.setText(_("The period changed while the draft was being written: nothing "
                                      "was filled in. Press the button again."))
            return
        titles = {name: _(title) for name, title, _h in SECTIONS}
        auto = asdict(self._auto_narrative) if self._auto_narrative else {}

        def written_by_person(name: str) -> bool:
            text = self.sections[name].toPlainText().strip()
            return bool(text) and text != auto.get(name, "").strip()

        overwrite = [name for name in self.sections
                     if written_by_person(name) and getattr(draft, name).strip()
                     and self.sections[name].toPlainText().strip() != getattr(draft, name).strip()]
        replace = False
        if overwrite:
            replace = interaction.get().confirm(
                self, _("Fill in a draft from the figures"),
                _("These sections already hold text: {sections}.\n\nReplace it with the draft? The "
                  "empty sections are filled in either way.").format(
                    sections=", ".join(titles[n] for n in overwrite)),
                yes=_("Replace with the draft"), no=_("Keep my text"))
        for name, edit in self.sections.items():
            text = getattr(draft, name)
            if text and (not written_by_person(name) or (replace and name in overwrite)):
                edit.setPlainText(text)
        self._auto_narrative = draft
        self.draft_note.setText(_("Draft written from the figures of {period}.").format(
            period=self.period_key() or ""))

    # --- closing -------------------------------------------------------------------------
    def reject(self) -> None:
        if self.is_dirty() and self.save_button.isEnabled() and not interaction.get().confirm(
                self, _("Close"), _("This report has changes that are not saved. Close without saving?"),
                yes=_("Close without saving"), no=_("Go back")):
            return
        super().reject()

    def done(self, result: int) -> None:
        self._closed = True
        self._redraft_timer.stop()
        self._warnings_timer.stop()
        # a draft left behind by a change of period may still be counting: the database must
        # outlive every thread that reads it
        for task in [*self._started, *([self.draft_task] if self.draft_task else [])]:
            if task.running:
                task.cancel()
                task.wait()
        super().done(result)
