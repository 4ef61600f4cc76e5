"""The cyclic collector runs on the GUI thread, never in a worker thread."""

from __future__ import annotations

import gc
import threading
import weakref

from dbcomm.ui import collector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector can free it


def test_garbage_made_anywhere_is_freed_on_the_gui_thread(qtbot, qapp):
    installed = collector.install(qapp)
    assert collector.install(qapp) is installed  # once per application
    assert not gc.isenabled()

    node = _Node()
    ref = weakref.ref(node)
    del node
    freed_in: list[str] = []
    kept: list[object] = []

    def allocate_a_lot() -> None:  # far past every threshold: Python would collect here
        kept.extend([object()] for _ in range(200_000))
        freed_in.append("worker" if ref() is None else "")

    worker = threading.Thread(target=allocate_a_lot)
    worker.start()
    worker.join()
    assert freed_in == [""], "the cycle was freed in the worker thread"
    assert ref() is not None
    qtbot.waitUntil(lambda: ref() is None, timeout=5000)  # the GUI thread's timer freed it
