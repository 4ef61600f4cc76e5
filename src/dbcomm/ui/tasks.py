"""Run slow work off the GUI thread with a progress dialog, then report back on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from dbcomm.errors import UserError
from dbcomm.i18n import _
from dbcomm.ui import interaction


class _Worker(QObject):
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any]):
        super().__init__()
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except UserError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed silently
            self.failed.emit(_("Unexpected error: {error}").format(error=exc))
        else:
            self.done.emit(result)


class _Relay(QObject):
    """Created in the GUI thread: the worker's signals reach it queued, so the callbacks (which
    close the dialog and show message boxes) run on the GUI thread, not in the worker."""

    def __init__(self, ok: Callable[[Any], None], err: Callable[[str], None]):
        super().__init__()
        self._ok, self._err = ok, err

    @Slot(object)
    def ok(self, result: Any) -> None:
        _live.discard(self)
        self._ok(result)

    @Slot(str)
    def err(self, message: str) -> None:
        _live.discard(self)
        self._err(message)


_live: set[_Relay] = set()  # each relay lives until its callback has run


def run_with_progress(parent: QWidget, title: str, fn: Callable[[], Any],
                      on_done: Callable[[Any], None]) -> QThread:
    """Run ``fn`` in a thread; the window stays responsive; errors are shown in a message box."""
    dialog = QProgressDialog(title, "", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setCancelButton(None)  # the work is one transaction: cancelling half-way is not offered
    dialog.setMinimumDuration(300)
    thread = QThread(parent)
    worker = _Worker(fn)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)

    def finish_ok(result: Any) -> None:
        dialog.close()
        on_done(result)

    def finish_err(message: str) -> None:
        dialog.close()
        interaction.get().error(parent, title, message)

    relay = _Relay(finish_ok, finish_err)
    worker.done.connect(relay.ok)
    worker.failed.connect(relay.err)
    worker.done.connect(thread.quit)
    worker.failed.connect(thread.quit)
    thread.finished.connect(worker.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread._worker = worker  # type: ignore[attr-defined]  # keep it alive
    _live.add(relay)
    thread.start()
    return thread
