"""Run slow work off the GUI thread with a progress dialog, then report back on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
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
    # The thread object lives on the GUI thread: ``finished`` reaches it queued, and it is
    # deleted there, after the thread has ended, taking the worker with it (the worker is
    # never destroyed in its own thread, where its Python side would need the GIL while Qt
    # holds a lock the GUI thread may be waiting for).
    thread.finished.connect(thread.deleteLater)
    thread._worker = worker  # type: ignore[attr-defined]  # keep it alive until then
    _live.add(relay)
    thread.start()
    return thread


# --- work that reports progress and can be cancelled ---------------------------------------

Progress = Callable[[int, int], None]
IsCancelled = Callable[[], bool]


class _StepWorker(QObject):
    """Runs ``fn(progress, cancelled)`` in the worker thread; talks only through signals."""

    progressed = Signal(int, int)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[Progress, IsCancelled], Any], stop: threading.Event):
        super().__init__()
        self._fn = fn
        self._stop = stop

    def run(self) -> None:
        try:
            result = self._fn(lambda done, total: self.progressed.emit(int(done), int(total)),
                              self._stop.is_set)
        except UserError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed silently
            self.failed.emit(_("Unexpected error: {error}").format(error=exc))
        else:
            self.done.emit(result)


class BackgroundTask(QObject):
    """One piece of work in its own thread, with progress and a way to stop it.

    The callbacks run on the GUI thread.  ``on_cancel`` runs instead of ``on_error`` when the
    work stopped because it was cancelled; if the work finished before it noticed the
    cancellation, ``on_done`` runs (what was done is done).  ``state`` is ``running``, then
    ``done``, ``failed`` or ``cancelled``.
    """

    def __init__(self, fn: Callable[[Progress, IsCancelled], Any], on_done: Callable[[Any], None],
                 on_error: Callable[[str], None] | None = None,
                 on_cancel: Callable[[], None] | None = None, owner: QObject | None = None):
        super().__init__()
        self._owner_alive = True
        if owner is not None:  # the window the callbacks talk to: if it goes, they must not run
            owner.destroyed.connect(self._owner_gone)
        self.state = "running"
        self.error = ""
        self._on_done, self._on_error, self._on_cancel = on_done, on_error, on_cancel
        self._stop = threading.Event()
        self._thread = QThread()
        self._worker = _StepWorker(fn, self._stop)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progressed.connect(self._progressed)
        self._worker.done.connect(self._done)
        self._worker.failed.connect(self._failed)
        self._worker.done.connect(self._thread.quit)
        self._worker.failed.connect(self._thread.quit)
        # The worker is not deleted in its own thread (see run_with_progress): it goes with
        # this task, on the GUI thread, after the thread has ended.
        _tasks.add(self)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def cancel_requested(self) -> bool:
        return self._stop.is_set()

    def cancel(self) -> None:
        self._stop.set()

    def wait(self, ms: int = 10000) -> bool:
        """Block until the thread has stopped (used when a window closes mid-way)."""
        return self._thread.wait(ms)

    def on_progress(self, done: int, total: int) -> None:
        """Hook for subclasses (runs on the GUI thread)."""

    @Slot()
    def _owner_gone(self) -> None:
        self._owner_alive = False
        self.cancel()

    @Slot(int, int)
    def _progressed(self, done: int, total: int) -> None:
        if self.state == "running" and self._owner_alive:
            self.on_progress(done, total)

    @Slot(object)
    def _done(self, result: Any) -> None:
        self.state = "done"
        self._finish()
        if self._owner_alive:
            self._on_done(result)
        self._forget_callbacks()

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.error = message
        if self._stop.is_set():
            self.state = "cancelled"
            self._finish()
            if self._on_cancel and self._owner_alive:
                self._on_cancel()
        else:
            self.state = "failed"
            self._finish()
            if self._on_error and self._owner_alive:
                self._on_error(message)
        self._forget_callbacks()

    def _forget_callbacks(self) -> None:
        """The callbacks usually close over the window holding this task: a reference cycle,
        which Python's cyclic collector may free from any thread, a worker's included — and a
        Qt object destroyed off its own thread crashes the process.  Once reported, break it."""
        self._on_done = self._on_error = self._on_cancel = None  # type: ignore[assignment]

    def _finish(self) -> None:
        self._thread.quit()
        self._thread.wait(5000)
        self._thread.deleteLater()
        _tasks.discard(self)
        self._finish_ui()

    def _finish_ui(self) -> None:
        """Hook for subclasses: tidy the window once the thread has ended (GUI thread)."""


_tasks: set[BackgroundTask] = set()  # each task lives until it has reported back


class CancellableTask(BackgroundTask):
    """A ``BackgroundTask`` with a progress dialog and a Cancel button.

    The dialog is window-modal; it appears only if the work takes longer than a moment.
    Errors are shown in a message box unless ``on_error`` is given.
    """

    def __init__(self, parent: QWidget, title: str, fn: Callable[[Progress, IsCancelled], Any],
                 on_done: Callable[[Any], None], on_error: Callable[[str], None] | None = None,
                 on_cancel: Callable[[], None] | None = None, label: str | None = None):
        self.dialog = QProgressDialog(label or title, _("Cancel"), 0, 0, parent)
        self.dialog.setObjectName("progress")
        self.dialog.setWindowTitle(title)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setValue(0)  # at its minimum, so that the next line restarts the timer that shows it
        self.dialog.setMinimumDuration(400)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setMinimumWidth(380)
        self.dialog.canceled.connect(self._cancel_clicked)

        def show_error(message: str) -> None:
            interaction.get().error(parent, title, message)

        super().__init__(fn, on_done, on_error or show_error, on_cancel, owner=parent)

    def _cancel_clicked(self) -> None:
        if self.state == "running":
            self.cancel()

    def on_progress(self, done: int, total: int) -> None:
        if total > 0 and self._owner_alive:
            self.dialog.setMaximum(total)
            self.dialog.setValue(min(done, total))

    def _finish_ui(self) -> None:
        if self._owner_alive:  # else the dialog went with its parent
            self.dialog.canceled.disconnect(self._cancel_clicked)
            self.dialog.reset()
            self.dialog.hide()
            self.dialog.deleteLater()


def run_cancellable(parent: QWidget, title: str, fn: Callable[[Progress, IsCancelled], Any],
                    on_done: Callable[[Any], None], *, on_error: Callable[[str], None] | None = None,
                    on_cancel: Callable[[], None] | None = None, label: str | None = None) -> CancellableTask:
    """Run ``fn(progress, cancelled)`` in a thread behind a progress dialog with a Cancel button.

    ``progress(done, total)`` may be called from the worker thread; ``cancelled()`` tells the
    work to stop.  The callbacks run on the GUI thread.
    """
    return CancellableTask(parent, title, fn, on_done, on_error, on_cancel, label)
