"""The office's identity, used by the first-run setup and by the settings dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from dbcomm.domain.models import OfficeIdentity
from dbcomm.domain.vocab import OFFICE_KINDS
from dbcomm.errors import ValidationFailed
from dbcomm.i18n import _
from dbcomm.ui.widgets import ErrorLabel

SIGNER_TEMPLATES = {
    "commune": "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
    "district": "TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
    "department": "GIÁM ĐỐC",
}


class OfficeForm(QWidget):
    def __init__(self, parent: QWidget | None = None, with_signer: bool = True, with_identity: bool = True):
        super().__init__(parent)
        self.errors: dict[str, ErrorLabel] = {}
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit()
        self.parent_edit = QLineEdit()
        self.kind_combo = QComboBox()
        for code, text in OFFICE_KINDS.items():
            self.kind_combo.addItem(_(text), code)
        self.place_edit = QLineEdit()
        self.symbol_edit = QLineEdit()
        self.signer_title_edit = QPlainTextEdit()
        self.signer_title_edit.setTabChangesFocus(True)
        self.signer_title_edit.setFixedHeight(72)
        self.signer_name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(_("e.g. UBND xã Mường Phăng"))
        self.parent_edit.setPlaceholderText(_("e.g. UBND tỉnh Điện Biên"))
        self.place_edit.setPlaceholderText(_("e.g. Mường Phăng"))
        self.symbol_edit.setPlaceholderText(_("e.g. UBND, VHTT"))
        self.kind_combo.setCurrentIndex(self.kind_combo.findData("commune"))  # most offices since 2025
        self.kind_combo.currentIndexChanged.connect(self._suggest_signer)
        rows = []
        if with_identity:
            rows += [
                ("name", _("Office name") + " *", self.name_edit),
                ("parent_agency", _("Parent agency") + " *", self.parent_edit),
                ("kind", _("Kind of office") + " *", self.kind_combo),
                ("place_name", _("Place name in document dates") + " *", self.place_edit),
                ("symbol", _("Document-symbol abbreviation") + " *", self.symbol_edit),
            ]
        if with_signer:
            rows += [
                ("signer_title", _("Signer's title block"), self.signer_title_edit),
                ("signer_name", _("Signer's name"), self.signer_name_edit),
            ]
        included = {id(w) for _n, _c, w in rows}
        for w in (self.name_edit, self.parent_edit, self.kind_combo, self.place_edit, self.symbol_edit,
                  self.signer_title_edit, self.signer_name_edit):
            if id(w) not in included:  # kept for value(), never shown
                w.setParent(self)
                w.hide()
        for name, caption, widget in rows:
            widget.setObjectName(name)
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(widget)
            err = ErrorLabel()
            v.addWidget(err)
            self.errors[name] = err
            form.addRow(caption, box)
            signal = getattr(widget, "textChanged", None) or getattr(widget, "currentIndexChanged", None)
            if signal is not None:
                signal.connect(lambda *_a, e=err: e.show_message(""))

    def _suggest_signer(self) -> None:
        current = self.signer_title_edit.toPlainText().strip()
        if not current or current in SIGNER_TEMPLATES.values():
            self.signer_title_edit.setPlainText(SIGNER_TEMPLATES.get(self.kind_combo.currentData(), ""))

    def set_value(self, o: OfficeIdentity) -> None:
        self.name_edit.setText(o.name)
        self.parent_edit.setText(o.parent_agency)
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(o.kind)))
        self.place_edit.setText(o.place_name)
        self.symbol_edit.setText(o.symbol)
        self.signer_title_edit.setPlainText(o.signer_title or SIGNER_TEMPLATES.get(o.kind, ""))
        self.signer_name_edit.setText(o.signer_name)

    def value(self) -> OfficeIdentity:
        return OfficeIdentity(
            name=self.name_edit.text(), parent_agency=self.parent_edit.text(),
            kind=self.kind_combo.currentData(), place_name=self.place_edit.text(),
            symbol=self.symbol_edit.text(), signer_title=self.signer_title_edit.toPlainText(),
            signer_name=self.signer_name_edit.text(),
        )

    def show_errors(self, exc: ValidationFailed | None) -> None:
        for err in self.errors.values():
            err.show_message("")
        if exc is None:
            return
        for e in exc.errors:
            if e.field in self.errors:
                self.errors[e.field].show_message(e.message)
