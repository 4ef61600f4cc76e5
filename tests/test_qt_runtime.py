"""The Qt binding dbcomm runs on must not corrupt Python's own objects.

PySide6 6.12.0 drops one reference to ``True`` on every ``Signal.emit()``: after some thousands of
progress updates the interpreter aborts ("deallocating True"), at the latest when it exits.
pyproject.toml excludes that version; this test catches a binding with the same fault.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    bare = Signal()
    one = Signal(object)
    text = Signal(str)
    progress = Signal(int, int)
    finished = Signal(int, object, object)


def test_emitting_signals_leaves_pythons_constants_alone(qapp) -> None:  # type: ignore[no-untyped-def]
    emitter = _Emitter()
    received: list[object] = []
    emitter.progress.connect(lambda done, total: received.append(done))
    emitter.finished.connect(lambda *args: received.append(args[0]))
    before = (sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None))
    for i in range(100):
        emitter.bare.emit()
        emitter.one.emit(i)
        emitter.text.emit("Đang chép")
        emitter.progress.emit(i, 100)
        emitter.finished.emit(i, None, True)
    after = (sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None))
    assert len(received) == 200
    # other threads may hold a few references for a moment; the fault lost 500 here
    assert all(abs(a - b) < 50 for a, b in zip(after, before, strict=True)), (before, after)
