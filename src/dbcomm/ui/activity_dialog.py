"""The dialog to log or edit one activity."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDate, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.models import (
    ActivityInput,
    ActivityRecord,
    AttachmentInfo,
    PlanTree,
    ReachBreakdown,
)
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import nfc
from dbcomm.domain.vocab import (
    AUDIENCES,
    DEFAULT_SUBTYPE_FOR_FORM,
    ETHNIC_GROUPS,
    FUNDING_SOURCES,
    LANGUAGES,
    SEXES,
    SUBTYPES,
)
from dbcomm.errors import ConflictError, PermissionDenied, UserError, ValidationFailed
from dbcomm.i18n import _, format_date, format_number
from dbcomm.services import activities, auth, orgs
from dbcomm.services import attachments as attachment_store
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.widgets import CheckList, DateEdit, ErrorLabel, NumberEdit


class ActivityDialog(QDialog):
    """Log a new activity (``record=None``) or edit one.  Emits ``saved(id)`` after each save."""

    saved = Signal(int)

    def __init__(self, db: Database, tree: PlanTree, record: ActivityRecord | None = None,
                 template: ActivityInput | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.tree = tree
        self.record = record
        self._attachments: list[AttachmentInfo] = list(record.attachments) if record else []
        self._new_files: list[Path] = []
        self._removed: list[str] = []
        self._errors: dict[str, tuple[ErrorLabel, int, QWidget]] = {}
        self.setWindowTitle(_("Edit activity") if record else _("Log an activity"))
        self.setMinimumSize(760, 600)
        self._build()
        if record is not None:
            from dbcomm.services.periods import frozen_notice

            notice = frozen_notice(db, record.plan_id, record.date_start)
            if notice:  # say it before any typing, not after
                self.summary_error.show_message(notice)
                self.save_button.setEnabled(False)
        start = record or template
        if start is not None:
            self._load(start)
        else:
            self._on_form_changed()
        self.title_edit.setFocus()

    # --- building -------------------------------------------------------------
    def _field(self, form: QFormLayout, tab: int, name: str, caption: str, widget: QWidget) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(widget)
        err = ErrorLabel()
        err.setObjectName(f"error_{name}")
        lay.addWidget(err)
        form.addRow(caption, box)
        self._errors[name] = (err, tab, widget)
        return widget

    def _build(self) -> None:
        self.tabs = QTabWidget()
        # Tab 0: the activity
        general = QWidget()
        outer = QVBoxLayout(general)
        f0 = QFormLayout()
        f0.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        outer.addLayout(f0)
        outer.addStretch(1)
        dates = QWidget()
        dl = QHBoxLayout(dates)
        dl.setContentsMargins(0, 0, 0, 0)
        self.date_edit = DateEdit()
        self.date_edit.setObjectName("date_start")
        self.range_check = QCheckBox(_("until"))
        self.end_edit = DateEdit()
        self.end_edit.setObjectName("date_end")
        self.end_edit.setEnabled(False)
        self.range_check.toggled.connect(self.end_edit.setEnabled)
        self.date_edit.dateChanged.connect(self._sync_end)
        dl.addWidget(self.date_edit)
        dl.addWidget(self.range_check)
        dl.addWidget(self.end_edit)
        dl.addStretch(1)
        self._field(f0, 0, "date_start", _("Date") + " *", dates)
        self._errors["date_end"] = (self._errors["date_start"][0], 0, self.end_edit)

        self.form_combo = QComboBox()
        self.form_combo.setObjectName("form_id")
        for cn in self.tree.forms:
            self.form_combo.addItem(f"{cn.code}. {cn.name}", cn.id)
            self.form_combo.setItemData(self.form_combo.count() - 1, cn.name, Qt.ItemDataRole.ToolTipRole)
        self.form_combo.currentIndexChanged.connect(self._on_form_changed)
        self._field(f0, 0, "form_id", _("Communication form") + " *", self.form_combo)

        self.subtype_combo = QComboBox()
        self.subtype_combo.setObjectName("subtype")
        for code, text in SUBTYPES.items():
            self.subtype_combo.addItem(_(text), code)
        self._field(f0, 0, "subtype", _("Kind of activity") + " *", self.subtype_combo)

        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("title")
        self.title_edit.setPlaceholderText(_("e.g. Loudspeaker broadcast in Thai on lifelong learning week"))
        self._field(f0, 0, "title", _("Title") + " *", self.title_edit)

        self.description_edit = QPlainTextEdit()
        self.description_edit.setObjectName("description")
        self.description_edit.setTabChangesFocus(True)
        self.description_edit.setFixedHeight(80)
        self._field(f0, 0, "description", _("Description"), self.description_edit)

        self.place_combo = QComboBox()
        self.place_combo.setObjectName("place_id")
        self.place_combo.setEditable(True)
        self.place_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.place_combo.lineEdit().setPlaceholderText(_("— no particular place —"))
        for o in orgs.places(self.db):
            self.place_combo.addItem(o.name, o.id)
        completer = self.place_combo.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.place_combo.setCurrentIndex(-1)
        self._field(f0, 0, "place_id", _("Place (commune)"), self.place_combo)

        self.language_list = CheckList()
        self.language_list.setObjectName("languages")
        self.language_list.set_entries([(c, _(t)) for c, t in LANGUAGES.items()])
        self.language_list.setFlow(QListWidget.Flow.LeftToRight)
        self.language_list.setWrapping(True)
        self.language_list.setFixedHeight(56)
        self._field(f0, 0, "languages", _("Languages") + " *", self.language_list)

        self.partner_edit = QLineEdit()
        self.partner_edit.setObjectName("partner")
        self.partner_edit.setPlaceholderText(_("press agency, school, library…"))
        pc = QCompleter(activities.partners(self.db), self.partner_edit)
        pc.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        pc.setFilterMode(Qt.MatchFlag.MatchContains)
        self.partner_edit.setCompleter(pc)
        self._field(f0, 0, "partner", _("Partner"), self.partner_edit)
        self.tabs.addTab(general, _("Activity"))

        # Tab 1: objectives and programmes
        links = QWidget()
        f1 = QFormLayout(links)
        f1.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.node_tree = QTreeWidget()
        self.node_tree.setObjectName("node_ids")
        self.node_tree.setHeaderHidden(True)
        for obj in self.tree.objectives:
            top = QTreeWidgetItem([f"{obj.code}. {obj.title}"])
            top.setData(0, Qt.ItemDataRole.UserRole, obj.id)
            top.setCheckState(0, Qt.CheckState.Unchecked)
            top.setToolTip(0, obj.title)
            for task in obj.children:
                child = QTreeWidgetItem([f"{task.code}. {task.title}"])
                child.setData(0, Qt.ItemDataRole.UserRole, task.id)
                child.setCheckState(0, Qt.CheckState.Unchecked)
                child.setToolTip(0, task.title)
                top.addChild(child)
            self.node_tree.addTopLevelItem(top)
        self.node_tree.expandAll()
        self._field(f1, 1, "node_ids", _("Objectives and tasks"), self.node_tree)
        self.programme_list = CheckList()
        self.programme_list.setObjectName("programme_ids")
        self.programme_list.set_entries([(p.id, f"{p.code}. {p.name}") for p in self.tree.programmes])
        self._field(f1, 1, "programme_ids", _("Integrated programmes"), self.programme_list)
        self.tabs.addTab(links, _("Objectives and programmes"))

        # Tab 2: quantities and people reached
        numbers = QWidget()
        v2 = QVBoxLayout(numbers)
        q = QGroupBox(_("Quantities"))
        fq = QFormLayout(q)
        self.items_edit = self._number(fq, 2, "items", _("Items (news, articles, programmes, broadcasts)"))
        self.minutes_edit = self._number(fq, 2, "minutes", _("Minutes broadcast"))
        self.sessions_edit = self._number(fq, 2, "sessions", _("Sessions (meetings, classes, events)"))
        v2.addWidget(q)
        r = QGroupBox(_("People reached"))
        vr = QVBoxLayout(r)
        ft = QFormLayout()
        self.reach_edit = self._number(ft, 2, "reach_total", _("Total people reached"))
        vr.addLayout(ft)
        grid = QGridLayout()
        self.reach_edits: dict[tuple[str, str], NumberEdit] = {}
        for col, (dim, vocab, caption) in enumerate((
            ("sex", SEXES, _("By sex")),
            ("ethnic", ETHNIC_GROUPS, _("By ethnic group")),
            ("audience", AUDIENCES, _("By audience")),
        )):
            box = QGroupBox(caption)
            fb = QFormLayout(box)
            for cat, text in vocab.items():
                e = NumberEdit()
                e.setObjectName(f"reach.{dim}.{cat}")
                fb.addRow(_(text), e)
                self.reach_edits[(dim, cat)] = e
            err = ErrorLabel()
            err.setObjectName(f"error_reach.{dim}")
            fb.addRow(err)
            self._errors[f"reach.{dim}"] = (err, 2, next(iter(self.reach_edits[(dim, c)] for c in vocab)))
            grid.addWidget(box, 0, col)
        vr.addLayout(grid)
        v2.addWidget(r)
        c = QGroupBox(_("Cost"))
        fc = QFormLayout(c)
        self.cost_edit = self._number(fc, 2, "cost", _("Cost (VND)"))
        self.funding_combo = QComboBox()
        self.funding_combo.setObjectName("funding")
        self.funding_combo.addItem(_("— none —"), "")
        for code, text in FUNDING_SOURCES.items():
            self.funding_combo.addItem(_(text), code)
        self._field(fc, 2, "funding", _("Funding source"), self.funding_combo)
        v2.addWidget(c)
        v2.addStretch(1)
        self.tabs.addTab(numbers, _("Quantities and people"))

        # Tab 3: evidence and notes
        evidence = QWidget()
        v3 = QVBoxLayout(evidence)
        v3.addWidget(QLabel(_("Evidence: photos, scanned clippings, PDF files (at most {n} MB each).").format(
            n=attachment_store.MAX_ATTACHMENT_BYTES // 1048576)))
        self.attachment_list = QListWidget()
        self.attachment_list.setObjectName("attachments")
        self.attachment_list.itemDoubleClicked.connect(self._open_attachment)
        v3.addWidget(self.attachment_list)
        self.attachment_error = ErrorLabel()
        v3.addWidget(self.attachment_error)
        row = QHBoxLayout()
        add_btn = QPushButton(_("Add files…"))
        add_btn.clicked.connect(self._add_files)
        rm_btn = QPushButton(_("Remove"))
        rm_btn.clicked.connect(self._remove_file)
        row.addWidget(add_btn)
        row.addWidget(rm_btn)
        row.addStretch(1)
        v3.addLayout(row)
        v3.addWidget(QLabel(_("Notes")))
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setObjectName("notes")
        self.notes_edit.setTabChangesFocus(True)
        v3.addWidget(self.notes_edit)
        self.tabs.addTab(evidence, _("Evidence and notes"))
        self._refresh_attachments()

        self.summary_error = ErrorLabel()
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(_("Save"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_new_button = buttons.addButton(_("Save and new"), QDialogButtonBox.ButtonRole.ApplyRole)
        self.cancel_button = buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.clicked.connect(lambda: self.save(close=True))
        self.save_new_button.clicked.connect(lambda: self.save(close=False))
        self.cancel_button.clicked.connect(self.reject)
        self.save_new_button.setVisible(self.record is None)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=lambda: self.save(close=True))
        QShortcut(QKeySequence("Ctrl+Shift+S"), self, activated=lambda: self.save(close=False))

        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(self.summary_error)
        lay.addWidget(buttons)
        # Only now is the button inside the dialog: set earlier, QDialog forgets it and makes the
        # first auto-default button ("Add files…") the default, so Enter opened the file chooser.
        self.save_button.setDefault(True)
        try:  # a reader (e.g. the registry clerk) sees the activity and why it cannot be saved
            auth.require(self.db, Perm.EDIT_ACTIVITIES)
        except PermissionDenied as exc:
            self.save_button.setEnabled(False)
            self.save_new_button.setEnabled(False)
            self.summary_error.show_message(str(exc))

    def _number(self, form: QFormLayout, tab: int, name: str, caption: str) -> NumberEdit:
        e = NumberEdit()
        e.setObjectName(name)
        self._field(form, tab, name, caption, e)
        return e

    # --- behaviour --------------------------------------------------------------
    def _sync_end(self, d: QDate) -> None:
        if self.end_edit.date() < d:
            self.end_edit.setDate(d)

    def _on_form_changed(self) -> None:
        form_id = self.form_combo.currentData()
        code = next((f.code for f in self.tree.forms if f.id == form_id), "")
        default = DEFAULT_SUBTYPE_FOR_FORM.get(code)
        if default and self.record is None:
            self.subtype_combo.setCurrentIndex(self.subtype_combo.findData(default))
        if not self.language_list.checked():
            self.language_list.set_checked(["vi"])

    def _add_files(self) -> None:
        paths = interaction.get().open_files(
            self, _("Add evidence"), _("Evidence (*.jpg *.jpeg *.png *.pdf *.tif *.tiff *.doc *.docx);;All files (*)")
        )
        problems = []
        for p in paths:
            try:
                attachment_store.check_file(p)
            except UserError as exc:
                problems.append(str(exc))
                continue
            self._new_files.append(p)
        self.attachment_error.show_message("\n".join(problems))
        self._refresh_attachments()

    def _remove_file(self) -> None:
        item = self.attachment_list.currentItem()
        if item is None:
            return
        key = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(key, Path):
            self._new_files.remove(key)
        else:
            self._removed.append(key)
        self._refresh_attachments()

    def _open_attachment(self, item: QListWidgetItem) -> None:
        key = item.data(Qt.ItemDataRole.UserRole)
        path = key if isinstance(key, Path) else next(
            (a.path for a in self._attachments if a.uuid == key), None)
        if path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def _refresh_attachments(self) -> None:
        self.attachment_list.clear()
        for a in self._attachments:
            if a.uuid in self._removed:
                continue
            item = QListWidgetItem(f"{a.filename}  ({format_number(max(1, a.size // 1024))} KB)")
            item.setData(Qt.ItemDataRole.UserRole, a.uuid)
            self.attachment_list.addItem(item)
        for p in self._new_files:
            item = QListWidgetItem(f"{p.name}  ({format_number(max(1, p.stat().st_size // 1024))} KB) — " + _("new"))
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.attachment_list.addItem(item)

    def _checked_nodes(self) -> list[int]:
        out: list[int] = []
        for i in range(self.node_tree.topLevelItemCount()):
            top = self.node_tree.topLevelItem(i)
            if top.checkState(0) == Qt.CheckState.Checked:
                out.append(top.data(0, Qt.ItemDataRole.UserRole))
            for j in range(top.childCount()):
                ch = top.child(j)
                if ch.checkState(0) == Qt.CheckState.Checked:
                    out.append(ch.data(0, Qt.ItemDataRole.UserRole))
        return out

    def _set_nodes(self, ids: list[int]) -> None:
        wanted = set(ids)
        for i in range(self.node_tree.topLevelItemCount()):
            top = self.node_tree.topLevelItem(i)
            top.setCheckState(0, Qt.CheckState.Checked if top.data(0, Qt.ItemDataRole.UserRole) in wanted else Qt.CheckState.Unchecked)
            for j in range(top.childCount()):
                ch = top.child(j)
                ch.setCheckState(0, Qt.CheckState.Checked if ch.data(0, Qt.ItemDataRole.UserRole) in wanted else Qt.CheckState.Unchecked)

    def _place_id(self) -> int | None:
        text = self.place_combo.currentText().strip()
        if not text:
            return None
        idx = self.place_combo.findText(text, Qt.MatchFlag.MatchFixedString)
        if idx < 0:
            return -1 if text else None  # typed text that is not a known place
        return self.place_combo.itemData(idx)

    def value(self) -> ActivityInput:
        reach: dict[str, dict[str, int]] = {}
        for (dim, cat), e in self.reach_edits.items():
            if e.value():
                reach.setdefault(dim, {})[cat] = e.value()
        return ActivityInput(
            plan_id=self.tree.plan.id,
            date_start=self.date_edit.value(),
            date_end=self.end_edit.value() if self.range_check.isChecked() else None,
            form_id=self.form_combo.currentData(),
            subtype=self.subtype_combo.currentData(),
            title=nfc(self.title_edit.text()),
            description=nfc(self.description_edit.toPlainText()),
            node_ids=self._checked_nodes(),
            programme_ids=self.programme_list.checked(),
            place_id=self._place_id(),
            languages=self.language_list.checked(),
            items=self.items_edit.value(), minutes=self.minutes_edit.value(),
            sessions=self.sessions_edit.value(), reach_total=self.reach_edit.value(),
            reach=ReachBreakdown(reach), partner=nfc(self.partner_edit.text()),
            cost=self.cost_edit.value(), funding=self.funding_combo.currentData(),
            notes=nfc(self.notes_edit.toPlainText()),
            new_attachments=list(self._new_files), removed_attachments=list(self._removed),
        )

    def _load(self, v: ActivityInput) -> None:
        if v.date_start:
            self.date_edit.set_value(v.date_start)
        if v.date_end:
            self.range_check.setChecked(True)
            self.end_edit.set_value(v.date_end)
        self.form_combo.setCurrentIndex(max(0, self.form_combo.findData(v.form_id)))
        self.subtype_combo.setCurrentIndex(max(0, self.subtype_combo.findData(v.subtype)))
        self.title_edit.setText(v.title)
        self.description_edit.setPlainText(v.description)
        self.place_combo.setCurrentIndex(self.place_combo.findData(v.place_id) if v.place_id else -1)
        self.language_list.set_checked(v.languages)
        self.partner_edit.setText(v.partner)
        self._set_nodes(v.node_ids)
        self.programme_list.set_checked(v.programme_ids)
        self.items_edit.set_value(v.items)
        self.minutes_edit.set_value(v.minutes)
        self.sessions_edit.set_value(v.sessions)
        self.reach_edit.set_value(v.reach_total)
        for (dim, cat), e in self.reach_edits.items():
            e.set_value(v.reach.get(dim, cat))
        self.cost_edit.set_value(v.cost)
        self.funding_combo.setCurrentIndex(max(0, self.funding_combo.findData(v.funding)))
        self.notes_edit.setPlainText(v.notes)

    def _clear_errors(self) -> None:
        for err, _tab, _w in self._errors.values():
            err.show_message("")
        self.summary_error.setStyleSheet("color: #b00020;")
        self.summary_error.show_message("")

    def _show_errors(self, exc: ValidationFailed) -> None:
        first: tuple[int, QWidget] | None = None
        unplaced = []
        messages: dict[str, list[str]] = {}
        for e in exc.errors:
            messages.setdefault(e.field, []).append(e.message)
        for field, texts in messages.items():
            target = self._errors.get(field)
            if target is None:
                unplaced.extend(texts)
                continue
            err, tab, widget = target
            existing = err.text()
            err.show_message("\n".join(([existing] if existing else []) + texts))
            if first is None:
                first = (tab, widget)
        if unplaced:
            self.summary_error.show_message("\n".join(unplaced))
        else:
            self.summary_error.show_message(_("Please correct the fields marked in red."))
        if first is not None:
            self.tabs.setCurrentIndex(first[0])
            first[1].setFocus()

    def save(self, close: bool = True) -> int | None:
        """Validate and save; returns the activity's id, or None if nothing was saved."""
        self._clear_errors()
        value = self.value()
        if value.place_id == -1:
            err = self._errors["place_id"][0]
            err.show_message(_("'{name}' is not in the list of places. Choose a place from the list, or add it "
                               "in the directory first.").format(name=self.place_combo.currentText()))
            self.tabs.setCurrentIndex(0)
            self.place_combo.setFocus()
            return None
        exclude = self.record.id if self.record else None
        dups = activities.likely_duplicates(self.db, value, exclude_id=exclude)
        if dups and not interaction.get().confirm(
            self, _("Possible duplicate"),
            _("An activity with the same date, form and title is already in the register:\n\n"
              "#{id}  {day}  {title}\n\nSave this one as well?").format(
                id=dups[0].id, day=format_date(dups[0].date_start), title=dups[0].title),
            yes=_("Save anyway"), no=_("Go back"),
        ):
            return None
        try:
            if self.record is None:
                rec = activities.create(self.db, value)
            else:
                rec = self._update(value)
                if rec is None:
                    return None
        except ValidationFailed as exc:
            self._show_errors(exc)
            return None
        except UserError as exc:
            self.summary_error.show_message(str(exc))
            return None
        self.saved.emit(rec.id)
        if close:
            self.accept()
        else:
            self._reset_for_next(rec)
        return rec.id

    def _update(self, value: ActivityInput) -> ActivityRecord | None:
        """Save over the opened version; if someone saved first, show both and let the person choose."""
        assert self.record is not None
        expected = self.record.version
        while True:
            try:
                return activities.update(self.db, self.record.id, value, expected)
            except ConflictError as exc:
                if exc.details is None:
                    raise
                choice = interaction.get().resolve_conflict(self, str(exc), exc.details)
                if choice == "save_mine":
                    expected = exc.details.current_version  # over the version just shown (asked again if it moved)
                    continue
                if choice == "keep_theirs":
                    self.saved.emit(self.record.id)  # the register shows the saved version
                    self.reject()
                return None

    def _reset_for_next(self, rec: ActivityRecord) -> None:
        """'Save and new': keep date, form, kind, place, languages and links; clear the rest."""
        for w in (self.title_edit, self.partner_edit):
            w.clear()
        for pw in (self.description_edit, self.notes_edit):
            pw.clear()
        for e in (self.items_edit, self.minutes_edit, self.sessions_edit, self.reach_edit, self.cost_edit,
                  *self.reach_edits.values()):
            e.set_value(0)
        self.funding_combo.setCurrentIndex(0)
        self._new_files.clear()
        self._refresh_attachments()
        self.tabs.setCurrentIndex(0)
        self.summary_error.show_message(_("Saved #{id}: {title}. Enter the next activity.").format(
            id=rec.id, title=rec.title))
        self.summary_error.setStyleSheet("color: #1b5e20;")
        self.title_edit.setFocus()

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        # Enter inside a text box must not close the dialog; Ctrl+S saves.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            focus = self.focusWidget()
            if isinstance(focus, (QLineEdit, QComboBox, QAbstractSpinBox)):
                self.focusNextChild()
                return
        super().keyPressEvent(event)
