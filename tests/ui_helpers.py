"""Helpers for the UI tests: typing Vietnamese like a person, a scripted interaction seam.

``qtbot.keyClicks`` aborts the whole process on any non-ASCII character (see
docs/pitfalls.md), so Vietnamese is typed one character at a time with
``QTest.sendKeyEvent`` or committed the way an IME does, with a
``QInputMethodEvent``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QTabWidget,
    QWidget,
)

from dbcomm.ui import interaction


def type_text(widget: QWidget, text: str) -> None:
    """Type ``text`` key by key (works for any character, unlike ``keyClicks``)."""
    for ch in text:
        QTest.sendKeyEvent(QTest.KeyAction.Click, widget, Qt.Key.Key_unknown, ch, Qt.KeyboardModifier.NoModifier)


def commit_text(widget: QWidget, text: str) -> None:
    """Commit ``text`` as an input method does (Unikey, Telex, a phone keyboard)."""
    event = QInputMethodEvent("", [])
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def click(qtbot, widget: QWidget) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def click_tab(qtbot, tabs: QTabWidget, index: int) -> None:  # type: ignore[no-untyped-def]
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())


def choose(combo: QComboBox, data: object) -> None:
    """Pick the entry whose data is ``data`` (what a click in the drop-down list does)."""
    index = combo.findData(data)
    assert index >= 0, f"{data!r} is not offered in {combo.objectName()}"
    combo.setCurrentIndex(index)


def tick(qtbot, view: QAbstractItemView, index: QModelIndex) -> None:  # type: ignore[no-untyped-def]
    """Toggle the check box of ``index`` with the keyboard: focus the entry, press Space."""
    view.setFocus()
    view.setCurrentIndex(index)
    qtbot.keyClick(view, Qt.Key.Key_Space)


def click_row(qtbot, view: QAbstractItemView, row: int, column: int = 0) -> None:  # type: ignore[no-untyped-def]
    index = view.model().index(row, column)
    view.scrollTo(index)
    rect = view.visualRect(index)
    assert rect.isValid(), f"row {row} is not on screen"
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.center()))


@dataclass
class Asked:
    kind: str
    title: str
    text: str


@dataclass
class FakeInteraction:
    """A scripted stand-in for message boxes and file choosers.

    ``confirm_answers`` are used in order; a question nobody scripted fails the test.
    """

    confirm_answers: list[bool] = field(default_factory=list)
    open_files_result: list[Path] = field(default_factory=list)
    open_file_result: Path | None = None
    save_file_result: Path | None = None
    choose_folder_result: Path | None = None
    conflict_answers: list[str] = field(default_factory=list)
    conflicts: list[object] = field(default_factory=list)  # the ConflictDetails shown
    asked: list[Asked] = field(default_factory=list)

    def info(self, parent, title: str, text: str) -> None:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("info", title, text))

    def error(self, parent, title: str, text: str) -> None:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("error", title, text))

    def confirm(self, parent, title: str, text: str, yes: str, no: str | None = None) -> bool:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("confirm", title, text))
        if not self.confirm_answers:
            raise AssertionError(f"unexpected question: {title}: {text}")
        return self.confirm_answers.pop(0)

    def open_file(self, parent, title: str, filters: str) -> Path | None:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("open_file", title, filters))
        return self.open_file_result

    def open_files(self, parent, title: str, filters: str) -> list[Path]:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("open_files", title, filters))
        return list(self.open_files_result)

    def save_file(self, parent, title: str, suggested: str, filters: str) -> Path | None:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("save_file", title, suggested))
        return self.save_file_result

    def choose_folder(self, parent, title: str) -> Path | None:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("choose_folder", title, ""))
        return self.choose_folder_result

    def resolve_conflict(self, parent, message: str, details) -> str:  # type: ignore[no-untyped-def]
        self.asked.append(Asked("conflict", "", message))
        self.conflicts.append(details)
        if not self.conflict_answers:
            raise AssertionError(f"unexpected conflict: {message}")
        return self.conflict_answers.pop(0)

    def of_kind(self, kind: str) -> list[Asked]:
        return [a for a in self.asked if a.kind == kind]


def install_fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    """Replace the message-box seam with a scripted fake for the rest of the test."""
    f = FakeInteraction()
    monkeypatch.setattr(interaction, "current", f)
    return f


def drive_modal(monkeypatch: pytest.MonkeyPatch, dialog_class: type[QDialog],
                fill: Callable[[QDialog], None]) -> list[QDialog]:
    """Make ``dialog_class.exec()`` show the dialog, let ``fill`` act on it, and return its result.

    ``fill`` plays the person: it types and clicks Save or Cancel.  Returns the list of
    dialogs opened, so a test can look at one that refused to close.
    """
    opened: list[QDialog] = []

    def fake_exec(self: QDialog) -> int:
        opened.append(self)
        self.show()
        fill(self)
        if self.isVisible():  # still open: the person gives up
            self.reject()
        return self.result()

    monkeypatch.setattr(dialog_class, "exec", fake_exec)
    return opened


def type_date(qtbot, edit: QWidget, digits: str) -> None:  # type: ignore[no-untyped-def]
    """Click into the day of a dd/MM/yyyy date box and type the digits (``"15032025"``)."""
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton, pos=QPoint(6, edit.height() // 2))
    qtbot.keyClicks(edit, digits)


def replace_text(qtbot, widget: QWidget, text: str) -> None:  # type: ignore[no-untyped-def]
    """Select what the box holds (Ctrl+A) and type over it."""
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    type_text(widget, text)


def click_check(qtbot, box: QWidget) -> None:  # type: ignore[no-untyped-def]
    """Click a check box on its box (its centre may be empty space when the layout stretches it)."""
    before = box.isChecked()  # type: ignore[attr-defined]
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert box.isChecked() != before, "the click missed the check box"  # type: ignore[attr-defined]
