"""Every message box and file chooser goes through this seam, so tests can script answers."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from dbcomm.domain.models import ConflictDetails
from dbcomm.i18n import _


class Interaction:
    """Real dialogs.  Tests replace ``current`` with a scripted fake."""

    def info(self, parent: QWidget | None, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
        box.button(QMessageBox.StandardButton.Ok).setText(_("OK"))
        box.exec()

    def error(self, parent: QWidget | None, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
        box.button(QMessageBox.StandardButton.Ok).setText(_("OK"))
        box.exec()

    def confirm(self, parent: QWidget | None, title: str, text: str, yes: str, no: str | None = None) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
        yes_btn = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        no_btn = box.addButton(no or _("Cancel"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no_btn)
        box.exec()
        return box.clickedButton() is yes_btn

    def open_file(self, parent: QWidget | None, title: str, filters: str) -> Path | None:
        name, _sel = QFileDialog.getOpenFileName(parent, title, "", filters)
        return Path(name) if name else None

    def open_files(self, parent: QWidget | None, title: str, filters: str) -> list[Path]:
        names, _sel = QFileDialog.getOpenFileNames(parent, title, "", filters)
        return [Path(n) for n in names]

    def save_file(self, parent: QWidget | None, title: str, suggested: str, filters: str) -> Path | None:
        """The file to write; a name typed without an extension gets the one of the file type
        chosen in the dialog ("CSV (*.csv)" chosen and "so-hoat-dong" typed: so-hoat-dong.csv)."""
        name, selected = QFileDialog.getSaveFileName(parent, title, suggested, filters)
        return with_chosen_suffix(Path(name), selected, filters) if name else None

    def choose_folder(self, parent: QWidget | None, title: str) -> Path | None:
        name = QFileDialog.getExistingDirectory(parent, title)
        return Path(name) if name else None

    def resolve_conflict(self, parent: QWidget | None, message: str, details: ConflictDetails) -> str:
        """Both versions of a record side by side: "keep_theirs", "save_mine" or "back"."""
        from dbcomm.ui.conflict_dialog import ConflictDialog

        dialog = ConflictDialog(message, details, parent)
        dialog.exec()
        return dialog.choice


def _suffixes(filter_text: str) -> list[str]:
    return [s.lower() for s in re.findall(r"\*(\.[A-Za-z0-9]+)", filter_text)]


def with_chosen_suffix(path: Path, selected: str, filters: str) -> Path:
    """``path`` as typed when it ends in one of the ``filters``' extensions; else with the
    extension of the ``selected`` filter added (the name is kept whole: "bao.cao" → "bao.cao.csv")."""
    allowed = _suffixes(filters)
    if not allowed or path.suffix.lower() in allowed:
        return path
    chosen = _suffixes(selected) or allowed
    return path.with_name(path.name + chosen[0])


current: Interaction = Interaction()


def get() -> Interaction:
    return current
