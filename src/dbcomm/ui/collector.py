"""Python's cyclic garbage collector, run on the GUI thread only.

Left automatic, the collector runs in whichever thread happens to allocate when its
thresholds are crossed — a report build's worker thread included.  If the garbage it finds
holds a Qt object (a window closed a while ago, a lambda that captured a widget), that object
is then destroyed off the GUI thread, and Qt crashes the process.  So the automatic collector
is switched off while the application runs, and a timer on the GUI thread does the same work
at the same thresholds.  Reference counting (which frees almost everything) is not affected.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

_INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject, interval_ms: int = _INTERVAL_MS):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        # What is alive now (the modules, classes and functions loaded so far, tens of thousands
        # of objects) lives as long as the program: set it aside, so that a full collection
        # looks only at what was made since.  Over the whole heap a full collection took 50–130 ms
        # with the window open, a visible stall in the register's scrolling every minute or so.
        gc.freeze()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, as Python would."""
        counts = gc.get_count()
        generation = -1
        for index in range(3):
            if counts[index] > self.thresholds[index]:
                generation = index
        if generation >= 0:
            gc.collect(generation)

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()


def install(app: QCoreApplication | None = None) -> GuiThreadCollector:
    """Install the collector on the application once (idempotent); call on the GUI thread."""
    app = app or QCoreApplication.instance()
    if app is None:
        raise RuntimeError("a QApplication must exist first")
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("the collector must be installed from the GUI thread")
    existing = app.findChild(GuiThreadCollector)
    if isinstance(existing, GuiThreadCollector):
        return existing
    return GuiThreadCollector(app)
