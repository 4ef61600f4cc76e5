"""Preview, print and save a report's PDF.

Pages are drawn from the PDF itself (so what is seen is what was built), only when they
scroll into view: a report of a few thousand pages opens at once.  PDFium may be used by
one thread at a time, so every call into it holds ``PDFIUM_LOCK``.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, QRect, QRectF, QSize, QSizeF, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeySequence,
    QPageLayout,
    QPageSize,
    QPainter,
    QPen,
    QShortcut,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    import pypdfium2 as pdfium

from dbcomm.domain.report import SENDABLE_STATES
from dbcomm.domain.roles import SYSTEM, Perm
from dbcomm.errors import UserError
from dbcomm.i18n import _, format_datetime, format_number, ngettext
from dbcomm.services import auth, reports
from dbcomm.store.engine import Database
from dbcomm.ui import interaction

PDFIUM_LOCK = reports.PDFIUM_LOCK  # shared with the services (page counts after a build)

ZOOM_MIN, ZOOM_MAX = 0.25, 4.0
GAP = 12  # pixels between pages and around them
CACHE_PAGES = 12  # rendered pages kept in memory
PRINT_DPI_MAX = 300  # finer than this only makes the print job bigger, not the text sharper
CHECK_CODE_LENGTH = 8  # the part of the PDF's SHA-256 shown as its "check code"
# Reports built on a workstation without accounts once stored the program's own name as the
# builder; it names nobody.
NOBODY = frozenset({"", SYSTEM.full_name})


def builder_name(built_by: str | None) -> str:
    """Who built a report, or "" when nobody is on record."""
    name = (built_by or "").strip()
    return "" if name in NOBODY else name


def _pdfium() -> Any:
    """The PDF reader, loaded when a PDF is first shown (not at start-up: it takes ~70 ms)."""
    import pypdfium2

    return pypdfium2


def open_pdf(pdf: bytes) -> Any:
    """Open a PDF for drawing, with its form (call with PDFIUM_LOCK held): without the form,
    PDFium leaves out the signature and seal images and the number the registry wrote in."""
    doc = _pdfium().PdfDocument(pdf)
    doc.init_forms()
    return doc


def render_page(doc: pdfium.PdfDocument, index: int, scale: float, grayscale: bool = False) -> QImage:
    """One page as a QImage, ``scale`` pixels per PDF point (call with PDFIUM_LOCK held)."""
    page = doc[index]
    try:
        bitmap = page.render(scale=scale, grayscale=grayscale, rev_byteorder=True, may_draw_forms=True)
        try:
            fmt = QImage.Format.Format_Grayscale8 if bitmap.n_channels == 1 else QImage.Format.Format_RGB888
            image = QImage(memoryview(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride, fmt)
            return image.copy()  # own the pixels before PDFium frees its buffer
        finally:
            bitmap.close()
    finally:
        page.close()


class PdfPages:
    """An open PDF: its page count and page sizes (in points), and pages rendered on request."""

    def __init__(self, pdf: bytes):
        self.pdf = pdf
        with PDFIUM_LOCK:
            try:
                self._doc = open_pdf(pdf)
            except _pdfium().PdfiumError as exc:
                raise UserError(_("The PDF cannot be read: {error}").format(error=exc)) from exc
            self.sizes = [tuple(self._doc.get_page_size(i)) for i in range(len(self._doc))]

    def __len__(self) -> int:
        return len(self.sizes)

    def render(self, index: int, scale: float) -> QImage:
        with PDFIUM_LOCK:
            return render_page(self._doc, index, scale)

    def close(self) -> None:
        with PDFIUM_LOCK:
            self._doc.close()


class PageView(QAbstractScrollArea):
    """The pages one under another, at a zoom; renders only what is on screen.

    Emits ``page_changed(index)`` (0-based) when another page reaches the top of the view.
    """

    page_changed = Signal(int)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("pages")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setAutoFillBackground(False)
        self.pages: PdfPages | None = None
        self.zoom = 1.0
        self.fit_width = True
        self.paused = False  # True while the PDF is being rebuilt: draw no new page
        self.rendered: list[int] = []  # pages rendered so far, in order (for tests and curiosity)
        self._tops: list[int] = []
        self._sizes: list[tuple[int, int]] = []
        self._scales: list[float] = []
        self._width = 0
        self._height = 0
        self._cache: OrderedDict[int, tuple[float, QImage]] = OrderedDict()
        self._wanted: list[int] = []
        self._current = -1
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._render_next)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.viewport().update())

    # --- the document and its layout ---------------------------------------------------
    def set_pages(self, pages: PdfPages) -> None:
        self.pages = pages
        self._cache.clear()
        self._wanted.clear()
        self._current = -1
        self._layout()
        self.verticalScrollBar().setValue(0)
        self._on_scrolled()
        self.viewport().update()

    def page_count(self) -> int:
        return len(self.pages) if self.pages else 0

    def _px_per_point(self) -> float:
        return self.zoom * self.logicalDpiX() / 72.0

    def _layout(self) -> None:
        """Sizes and places of the pages.  Fitting the width fits each page on its own, so the
        landscape pages of an annex are as wide as the portrait pages of the text."""
        if self.pages is None:
            return
        dpi = self.logicalDpiX() / 72.0
        if self.fit_width:
            available = max(100, self.viewport().width() - 2 * GAP)
            self._scales = [max(ZOOM_MIN, min(ZOOM_MAX, available / (w * dpi))) * dpi
                            for w, _h in self.pages.sizes]
            first = self.pages.sizes[0][0] if self.pages.sizes else 595.0
            self.zoom = max(ZOOM_MIN, min(ZOOM_MAX, available / (first * dpi)))
        else:
            self._scales = [self._px_per_point()] * len(self.pages.sizes)
        self._sizes = [(round(w * k), round(h * k)) for (w, h), k in zip(self.pages.sizes, self._scales,
                                                                           strict=True)]
        self._tops = []
        y = GAP
        for _w, h in self._sizes:
            self._tops.append(y)
            y += h + GAP
        self._height = y
        self._width = max((w for w, _h in self._sizes), default=0) + 2 * GAP
        self._update_scrollbars()
        self.zoom_changed.emit(self.zoom)

    def _update_scrollbars(self) -> None:
        vp = self.viewport().size()
        v, h = self.verticalScrollBar(), self.horizontalScrollBar()
        v.setRange(0, max(0, self._height - vp.height()))
        v.setPageStep(vp.height())
        v.setSingleStep(40)
        h.setRange(0, max(0, self._width - vp.width()))
        h.setPageStep(vp.width())
        h.setSingleStep(40)

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self.fit_width:
            self._keep_place(self._layout)
        else:
            self._update_scrollbars()

    def _keep_place(self, change: Callable[[], None]) -> None:
        """Apply a zoom change keeping the same spot of the same page at the top."""
        if not self._tops:
            change()
            return
        y = self.verticalScrollBar().value()
        index = self.page_at(y)
        offset = (y - self._tops[index]) / max(1, self._sizes[index][1])
        change()
        self.verticalScrollBar().setValue(self._tops[index] + round(offset * self._sizes[index][1]))
        self.viewport().update()

    def set_zoom(self, zoom: float) -> None:
        zoom = max(ZOOM_MIN, min(ZOOM_MAX, zoom))

        def change() -> None:
            self.fit_width = False
            self.zoom = zoom
            self._layout()

        self._keep_place(change)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / 1.25)

    def zoom_to_width(self) -> None:
        def change() -> None:
            self.fit_width = True
            self._layout()

        self._keep_place(change)

    # --- where we are -------------------------------------------------------------------
    def page_at(self, y: int) -> int:
        if not self._tops:
            return 0
        return max(0, min(len(self._tops) - 1, bisect.bisect_right(self._tops, y + GAP) - 1))

    def current_page(self) -> int:
        """The page that fills the upper part of the view (0-based)."""
        return self.page_at(self.verticalScrollBar().value() + self.viewport().height() // 3)

    def go_to_page(self, index: int) -> None:
        if not self._tops:
            return
        index = max(0, min(len(self._tops) - 1, index))
        self.verticalScrollBar().setValue(self._tops[index] - GAP)
        self._on_scrolled()

    def _on_scrolled(self, _value: int = 0) -> None:
        page = self.current_page()
        if page != self._current:
            self._current = page
            self.page_changed.emit(page)
        self.viewport().update()

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        key = event.key()
        if key == Qt.Key.Key_PageDown:
            self.go_to_page(self.current_page() + 1)
        elif key == Qt.Key.Key_PageUp:
            page = self.current_page()
            at_top = self.verticalScrollBar().value() <= self._tops[page] - GAP if self._tops else True
            self.go_to_page(page - 1 if at_top else page)
        elif key == Qt.Key.Key_Home:
            self.go_to_page(0)
        elif key == Qt.Key.Key_End:
            self.go_to_page(self.page_count() - 1)
        else:
            super().keyPressEvent(event)

    def wheelEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_in() if event.angleDelta().y() > 0 else self.zoom_out()
            return
        super().wheelEvent(event)

    # --- drawing ------------------------------------------------------------------------
    def visible_pages(self) -> list[int]:
        if not self._tops:
            return []
        top = self.verticalScrollBar().value()
        bottom = top + self.viewport().height()
        first = self.page_at(top)
        out = []
        for i in range(first, len(self._tops)):
            if self._tops[i] > bottom:
                break
            out.append(i)
        return out

    def _render_scale(self, index: int) -> float:
        return self._scales[index] * self.devicePixelRatioF()

    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        p = QPainter(self.viewport())
        p.fillRect(self.viewport().rect(), QColor("#8a8d91"))
        if self.pages is None:
            p.end()
            return
        dx = self.horizontalScrollBar().value()
        dy = self.verticalScrollBar().value()
        wanted = []
        vp_width = self.viewport().width()
        for i in self.visible_pages():
            scale = self._render_scale(i)
            w, h = self._sizes[i]
            x = max(GAP, (max(self._width, vp_width) - w) // 2) - dx
            rect = QRect(x, self._tops[i] - dy, w, h)
            p.fillRect(rect.translated(3, 3), QColor(0, 0, 0, 60))
            p.fillRect(rect, Qt.GlobalColor.white)
            cached = self._cache.get(i)
            if cached is not None:
                self._cache.move_to_end(i)
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, cached[0] != scale)
                p.drawImage(QRectF(rect), cached[1])
            if cached is None or abs(cached[0] - scale) > 1e-6:
                wanted.append(i)
                if cached is None:
                    p.setPen(QPen(QColor("#9aa0a6")))
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter,
                               _("Page {n}").format(n=format_number(i + 1)))
        p.end()
        self._wanted = wanted
        if wanted and not self.paused and not self._timer.isActive():
            self._timer.start()

    def _render_next(self) -> None:
        if self.pages is None or self.paused:
            return
        visible = set(self.visible_pages())
        while self._wanted:
            i = self._wanted.pop(0)
            if i not in visible:
                continue
            scale = self._render_scale(i)
            cached = self._cache.get(i)
            if i not in visible or (cached is not None and abs(cached[0] - scale) < 1e-6):
                continue
            image = self.pages.render(i, scale)
            image.setDevicePixelRatio(self.devicePixelRatioF())
            self._cache[i] = (scale, image)
            self._cache.move_to_end(i)
            while len(self._cache) > CACHE_PAGES:
                self._cache.popitem(last=False)
            self.rendered.append(i)
            break
        self.viewport().update()  # paints the new page and asks for the next one

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(820, 900)


# --- printing ------------------------------------------------------------------------------


class _PrintRenderer(QObject):
    """Renders the pages to print in a worker thread, a couple of pages ahead of the printer."""

    page_ready = Signal(int, object)  # index, QImage
    failed = Signal(str)
    finished = Signal()

    def __init__(self, pdf: bytes, pages: list[int], scale: float, grayscale: bool,
                 stop: threading.Event, slots: threading.Semaphore):
        super().__init__()
        self._pdf, self._pages, self._scale, self._gray = pdf, pages, scale, grayscale
        self._stop, self._slots = stop, slots

    def run(self) -> None:
        doc = None
        try:
            with PDFIUM_LOCK:
                doc = open_pdf(self._pdf)
            for i in self._pages:
                self._slots.acquire()
                if self._stop.is_set():
                    break
                with PDFIUM_LOCK:
                    image = render_page(doc, i, self._scale, self._gray)
                self.page_ready.emit(i, image)
        except Exception as exc:  # noqa: BLE001 - shown to the person
            self.failed.emit(str(exc))
        finally:
            if doc is not None:
                with PDFIUM_LOCK:
                    doc.close()
            self.finished.emit()


class PrintJob(QObject):
    """Prints a PDF on a ``QPrinter``: pages are rendered in a thread, painted on the GUI thread.

    ``state`` is ``running``, then ``done``, ``cancelled`` or ``failed``.  ``on_finished(state)``
    runs on the GUI thread at the end.
    """

    def __init__(self, pdf: bytes, printer: QPrinter, parent: QWidget | None = None,
                 on_finished: Callable[[str], None] | None = None, show_progress: bool = True):
        super().__init__()
        self.printer = printer
        self.state = "running"
        self.error = ""
        self.printed = 0
        self._on_finished = on_finished
        with PDFIUM_LOCK:
            doc = _pdfium().PdfDocument(pdf)
            try:
                self._sizes = [tuple(doc.get_page_size(i)) for i in range(len(doc))]
            finally:
                doc.close()
        first = printer.fromPage() if printer.printRange() == QPrinter.PrintRange.PageRange else 0
        last = printer.toPage() if printer.printRange() == QPrinter.PrintRange.PageRange else 0
        start = max(1, first or 1) - 1
        end = min(len(self._sizes), last or len(self._sizes))
        self.pages = list(range(start, end))
        dpi = min(printer.resolution(), PRINT_DPI_MAX)
        grayscale = printer.colorMode() == QPrinter.ColorMode.GrayScale
        printer.setFullPage(True)  # the PDF has its own margins
        self._painter: QPainter | None = None
        self.dialog: QProgressDialog | None = None
        if show_progress:
            self.dialog = QProgressDialog(_("Printing…"), _("Cancel"), 0, len(self.pages), parent)
            self.dialog.setObjectName("print_progress")
            self.dialog.setWindowTitle(_("Print"))
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
            self.dialog.setValue(0)  # at its minimum, so that the next line restarts the timer that shows it
            self.dialog.setMinimumDuration(400)
            self.dialog.setAutoClose(False)
            self.dialog.setAutoReset(False)
            self.dialog.canceled.connect(self.cancel)
        self._stop = threading.Event()
        self._slots = threading.Semaphore(2)
        self._thread = QThread()
        self._worker = _PrintRenderer(pdf, self.pages, dpi / 72.0, grayscale, self._stop, self._slots)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.page_ready.connect(self._paint)
        self._worker.failed.connect(self._failed)
        self._worker.finished.connect(self._finished)
        _jobs.add(self)
        if not self.pages:
            self.state = "failed"
            self.error = _("There is no page to print.")
            QTimer.singleShot(0, self._finished)
            return
        self._thread.start()

    def _orient(self, index: int) -> None:
        w, h = self._sizes[index]
        layout = self.printer.pageLayout()
        size = QPageSize(QSizeF(min(w, h), max(w, h)), QPageSize.Unit.Point, "",
                         QPageSize.SizeMatchPolicy.FuzzyMatch)
        if layout.pageSize().id() != size.id() or size.id() == QPageSize.PageSizeId.Custom:
            self.printer.setPageSize(size)
        self.printer.setPageOrientation(QPageLayout.Orientation.Landscape if w > h
                                        else QPageLayout.Orientation.Portrait)

    @Slot(int, object)
    def _paint(self, index: int, image: QImage) -> None:
        if self.state != "running":
            self._slots.release()
            return
        self._orient(index)
        if self._painter is None:
            self._painter = QPainter()
            if not self._painter.begin(self.printer):
                self._painter = None
                self.state = "failed"
                self.error = _("The printer could not be started.")
                self._stop.set()
                self._slots.release()
                return
        elif not self.printer.newPage():
            self.state = "failed"
            self.error = _("The printer refused the next page.")
            self._stop.set()
            self._slots.release()
            return
        paper = self.printer.paperRect(QPrinter.Unit.DevicePixel)
        target = QSizeF(image.width(), image.height()).scaled(paper.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (paper.width() - target.width()) / 2
        y = (paper.height() - target.height()) / 2
        self._painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self._painter.drawImage(QRectF(x, y, target.width(), target.height()), image)
        self.printed += 1
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.setValue(self.printed)
            self.dialog.setLabelText(_("Printing page {n} of {total}…").format(
                n=format_number(self.printed), total=format_number(len(self.pages))))
        self._slots.release()

    def cancel(self) -> None:
        if self.state != "running":
            return
        self.state = "cancelled"
        self._stop.set()
        self._slots.release()
        if self._painter is not None:
            self.printer.abort()

    @Slot(str)
    def _failed(self, message: str) -> None:
        if self.state == "running":
            self.state = "failed"
            self.error = _("Printing failed: {error}").format(error=message)

    @Slot()
    def _finished(self) -> None:
        if self._painter is not None:
            self._painter.end()
            self._painter = None
        if self.state == "running":
            self.state = "done"
        self._thread.quit()
        self._thread.wait(5000)
        alive = self.dialog is None or shiboken6.isValid(self.dialog)  # the window may have closed
        if self.dialog is not None and alive:
            self.dialog.canceled.disconnect(self.cancel)
            self.dialog.reset()
            self.dialog.hide()
            self.dialog.deleteLater()
        _jobs.discard(self)
        if self._on_finished and alive:
            self._on_finished(self.state)


_jobs: set[PrintJob] = set()


# --- the dialog ----------------------------------------------------------------------------


def suggested_file_name(period_key: str) -> str:
    """``BC-2026-Q3.pdf``; a custom range gives ``BC-2026-01-15_2026-03-14.pdf``."""
    return f"BC-{period_key.replace('..', '_')}.pdf"


class PdfPreviewDialog(QDialog):
    """A report's pages, with Print…, Save as PDF… and, for a stored report, how it stands.

    ``info`` is the stored report (``reports.ReportInfo``) or None for a PDF not stored;
    ``identical`` says whether ``pdf`` is byte for byte the PDF that was built;
    ``changed`` is the number of activities changed since the build.
    Emits ``rebuilt(info)`` after a rebuild.
    """

    rebuilt = Signal(object)

    def __init__(self, db: Database, pdf: bytes, *, info: Any = None, identical: bool | None = None,
                 changed: int = 0, just_built: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.pdf = pdf
        self.info = info
        self.identical = identical
        self.changed = changed
        self.just_built = just_built
        self.task: Any = None
        self.print_job: PrintJob | None = None
        self.saved_path: Any = None
        self.sign_dialog: Any = None
        self.send_dialog: Any = None
        self.setObjectName("pdf_preview")
        self.setWindowTitle(_("Report preview") if info is None else
                            _("Report preview — {period}").format(period=info.period_key))
        self.setSizeGripEnabled(True)
        self.resize(960, 1000)
        self._build()
        self._set_pdf(pdf)
        self._show_state()

    def _build(self) -> None:
        bar = QHBoxLayout()
        bar.setSpacing(4)

        def tool(text: str, tip: str, slot: Callable[[], None], name: str) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setObjectName(name)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            bar.addWidget(b)
            return b

        self.prev_button = tool("◀", _("Previous page (PgUp)"), lambda: self.view.go_to_page(
            self.view.current_page() - 1), "previous_page")
        bar.addWidget(QLabel(_("Page")))
        self.page_spin = QSpinBox()
        self.page_spin.setObjectName("page")
        self.page_spin.setKeyboardTracking(False)
        self.page_spin.valueChanged.connect(lambda n: self.view.go_to_page(n - 1))
        bar.addWidget(self.page_spin)
        self.page_label = QLabel()
        self.page_label.setObjectName("page_count")
        bar.addWidget(self.page_label)
        self.next_button = tool("▶", _("Next page (PgDn)"), lambda: self.view.go_to_page(
            self.view.current_page() + 1), "next_page")
        bar.addSpacing(16)
        tool("−", _("Zoom out (Ctrl+−)"), lambda: self.view.zoom_out(), "zoom_out")
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("zoom")
        self.zoom_label.setMinimumWidth(48)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        bar.addWidget(self.zoom_label)
        tool("+", _("Zoom in (Ctrl++)"), lambda: self.view.zoom_in(), "zoom_in")
        fit = QPushButton(_("Fit width"))
        fit.setObjectName("fit_width")
        fit.clicked.connect(lambda: self.view.zoom_to_width())
        bar.addWidget(fit)
        bar.addStretch(1)

        self.state_label = QLabel()
        self.state_label.setObjectName("build_state")
        self.state_label.setWordWrap(True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.identical_label = QLabel()
        self.identical_label.setObjectName("identical")
        self.identical_label.setWordWrap(True)

        self.notice = QFrame()
        self.notice.setObjectName("changed_notice")
        self.notice.setStyleSheet("#changed_notice { background: #fff4ce; border: 1px solid #e0c36c; "
                                  "border-radius: 3px; }")
        nl = QHBoxLayout(self.notice)
        nl.setContentsMargins(8, 4, 8, 4)
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        nl.addWidget(self.notice_label, 1)
        self.rebuild_button = QPushButton(_("Rebuild"))
        self.rebuild_button.setObjectName("rebuild")
        self.rebuild_button.clicked.connect(self.rebuild)
        nl.addWidget(self.rebuild_button)
        self.notice.hide()

        self.view = PageView()
        self.view.page_changed.connect(self._on_page_changed)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{round(z * 100)}%"))

        self.signature_label = QLabel()
        self.signature_label.setObjectName("signature_state")
        self.signature_label.setWordWrap(True)
        self.signature_label.hide()

        buttons = QHBoxLayout()
        self.sign_button = QPushButton(_("Sign…"))
        self.sign_button.setObjectName("sign")
        self.sign_button.setToolTip(_("The leader signs the report (the period is then locked)."))
        self.sign_button.clicked.connect(lambda: self.ask_sign("leader"))
        self.seal_button = QPushButton(_("Number and seal…"))
        self.seal_button.setObjectName("seal")
        self.seal_button.setToolTip(_("The registry writes in the number and applies the office's seal."))
        self.seal_button.clicked.connect(lambda: self.ask_sign("seal"))
        self.annex_button = QPushButton(_("Sign an annex file…"))
        self.annex_button.setObjectName("sign_annex")
        self.annex_button.setToolTip(_("Sign a separate annex file (PDF) with the office's signature."))
        self.annex_button.clicked.connect(self.sign_annex)
        self.correct_button = QPushButton(_("Correct…"))
        self.correct_button.setObjectName("correct")
        self.correct_button.setToolTip(_("Make a new report for the same period that replaces this one."))
        self.correct_button.clicked.connect(self.make_correction)
        self.send_button = QPushButton(_("Send to USB…"))
        self.send_button.setObjectName("send_usb")
        self.send_button.setToolTip(_("Write the issued report to a USB stick for the receiving office."))
        self.send_button.clicked.connect(self.send_to_usb)
        for b in (self.sign_button, self.seal_button, self.annex_button, self.correct_button, self.send_button):
            buttons.addWidget(b)
            b.hide()
        self.print_button = QPushButton(_("Print…"))
        self.print_button.setObjectName("print")
        self.print_button.clicked.connect(self.print_dialog)
        self.save_button = QPushButton(_("Save as PDF…"))
        self.save_button.setObjectName("save_pdf")
        self.save_button.clicked.connect(self.save_as)
        self.close_button = QPushButton(_("Close"))
        self.close_button.setObjectName("close")
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        try:
            can_export = auth.current(self.db).can(Perm.EXPORT)
        except UserError:
            can_export = True
        for b in (self.print_button, self.save_button):
            b.setEnabled(can_export)
            if not can_export:
                b.setToolTip(_("Your role does not allow this."))

        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.state_label)
        lay.addWidget(self.identical_label)
        lay.addWidget(self.signature_label)
        lay.addWidget(self.notice)
        lay.addWidget(self.view, 1)
        lay.addLayout(buttons)
        for keys, slot in (("Ctrl++", self.view.zoom_in), ("Ctrl+=", self.view.zoom_in),
                           ("Ctrl+-", self.view.zoom_out), ("Ctrl+P", self.print_dialog),
                           ("Ctrl+S", self.save_as)):
            QShortcut(QKeySequence(keys), self, activated=slot)
        self.view.setFocus()

    # --- state ----------------------------------------------------------------------------
    def _set_pdf(self, pdf: bytes) -> None:
        old = self.view.pages
        self.pdf = pdf
        self.sha256 = hashlib.sha256(pdf).hexdigest()
        self.view.set_pages(PdfPages(pdf))
        if old is not None:
            old.close()
        n = self.view.page_count()
        self.page_spin.blockSignals(True)
        self.page_spin.setRange(1, max(1, n))
        self.page_spin.setValue(1)
        self.page_spin.blockSignals(False)
        self.page_label.setText(_("of {n}").format(n=format_number(n)))

    def page_count(self) -> int:
        return self.view.page_count()

    def _on_page_changed(self, index: int) -> None:
        self.page_spin.blockSignals(True)
        self.page_spin.setValue(index + 1)
        self.page_spin.blockSignals(False)

    def _show_state(self) -> None:
        # The check code is the start of the file's SHA-256 fingerprint: two PDFs with the same
        # code are the same file, byte for byte.
        info = self.info
        short = self.sha256[:CHECK_CODE_LENGTH]
        if info is None:
            self.state_label.setText(_("Check code {code}…").format(code=short))
            self.identical_label.hide()
            self.notice.hide()
            return
        pages = ngettext("{n} page", "{n} pages", self.page_count()).format(n=format_number(self.page_count()))
        acts = ngettext("{n} activity", "{n} activities", info.activity_count).format(
            n=format_number(info.activity_count))
        if self.just_built:
            self.state_label.setText(_("Built just now: {pages}, {activities}. Check code {code}…").format(
                pages=pages, activities=acts, code=short))
        elif builder_name(info.built_by):
            self.state_label.setText(_("Built on {time} by {name}: {pages}, {activities}.").format(
                time=format_datetime(info.built_at), name=builder_name(info.built_by), pages=pages,
                activities=acts))
        else:  # a workstation without accounts: nobody to name
            self.state_label.setText(_("Built on {time}: {pages}, {activities}.").format(
                time=format_datetime(info.built_at), pages=pages, activities=acts))
        if self.identical is None or self.just_built:
            self.identical_label.hide()
        elif self.identical:
            self.identical_label.setText(_(
                "✓ Identical to the PDF that was built (check code {code}…).").format(code=short))
            self.identical_label.setStyleSheet("color: #1b5e20;")
            self.identical_label.show()
        else:
            self.identical_label.setText(_(
                "⚠ This PDF differs from the one that was built (check code {now}… instead of "
                "{then}…). The report was probably built by another version of the program.").format(
                    now=short, then=(info.pdf_sha256 or "")[:CHECK_CODE_LENGTH]))
            self.identical_label.setStyleSheet("color: #8a4b00;")
            self.identical_label.show()
        self._show_signatures()
        if self.changed > 0 and not info.is_signed:
            self.notice_label.setText(ngettext(
                "{n} activity changed since this report was built — Rebuild to include it.",
                "{n} activities changed since this report was built — Rebuild to include them.",
                self.changed).format(n=format_number(self.changed)))
            draft = info.state == "draft"
            try:
                allowed = auth.current(self.db).can(Perm.BUILD_REPORT)
            except UserError:
                allowed = True
            self.rebuild_button.setVisible(draft)
            self.rebuild_button.setEnabled(allowed)
            self.notice.show()
        else:
            self.notice.hide()

    def _may(self, perm: Perm) -> bool:
        try:
            return auth.current(self.db).can(perm)
        except UserError:
            return True

    def _show_signatures(self) -> None:
        info = self.info
        state = info.state if info is not None else ""
        built = info is not None and bool(info.pdf_sha256)
        self.sign_button.setVisible(built and state == "draft" and self._may(Perm.SIGN_REPORT))
        self.seal_button.setVisible(state == "signed" and self._may(Perm.SEAL_REPORT))
        self.annex_button.setVisible(state in reports.ISSUED_STATES and self._may(Perm.SEAL_REPORT))
        self.correct_button.setVisible(state in reports.SIGNED_STATES and self._may(Perm.BUILD_REPORT))
        self.send_button.setVisible(state in SENDABLE_STATES and self._may(Perm.EXPORT))
        if info is None or state not in ("signed", "returned", *SENDABLE_STATES):
            self.signature_label.hide()
            return
        lines = [_("✍ Signed by {name} on {time}.").format(name=info.signed_by,
                                                           time=format_datetime(info.signed_at))]
        if state in (*SENDABLE_STATES, "returned"):
            lines.append(_("Numbered {number} and sealed by {name} on {time}.").format(
                number=info.number, name=info.sealed_by, time=format_datetime(info.sealed_at)))
        else:
            lines.append(_("Waiting for the registry to number and seal it."))
        lines.append(_("Signature level: PAdES {level}. Signed file check code {code}…").format(
            level=info.signature_level or "B-B", code=info.signed_sha256[:CHECK_CODE_LENGTH]))
        sent = {"sent": _("Sent on a USB stick; waiting for the receiving office's answer."),
                "accepted": _("Accepted by the receiving office."),
                "returned": _("Returned by the receiving office ({note}): make a correction report with "
                              "“Correct…”.").format(note=info.decision_note or "—")}.get(state)
        if sent:
            lines.append(sent)
        self.signature_label.setText(" ".join(lines))
        self.signature_label.setStyleSheet("color: #6b4e00;" if state in ("signed", "returned") else "color: #1b5e20;")
        self.signature_label.show()

    # --- sending --------------------------------------------------------------------------
    def send_to_usb(self) -> Any:
        """Write the issued report's package to a USB stick (``ui/usb_dialogs.SendDialog``)."""
        from dbcomm.ui.usb_dialogs import SendDialog

        if self.info is None:
            return None
        dialog = SendDialog(self.db, self.info, self)
        dialog.sent.connect(self._sent)
        self.send_dialog = dialog
        dialog.open()
        return dialog

    def _sent(self, info: Any) -> None:
        self.info = info
        self._show_state()
        self.rebuilt.emit(info)

    # --- signing --------------------------------------------------------------------------
    def ask_sign(self, step: str) -> Any:
        from dbcomm.ui.sign_dialog import ask_sign

        if self.info is None:
            return None
        try:
            dialog = ask_sign(self.db, self.info, step, self, setup=self._setup)
        except UserError as exc:
            interaction.get().error(self, _("Sign the report"), str(exc))
            return None
        dialog.signed.connect(self._signed)
        self.sign_dialog = dialog
        return dialog

    def _setup(self, parent: QWidget) -> None:
        from dbcomm.ui.signing_setup import open_signing_setup

        open_signing_setup(parent, self.db)

    def _signed(self, result: Any) -> None:
        self.info = result.info
        self.identical = None
        self.changed = 0
        self.just_built = False
        self._set_pdf(result.pdf)
        self._show_state()
        self.rebuilt.emit(result.info)

    def sign_annex(self) -> Any:
        """Sign a separate annex PDF with the office's signature (text stamp at the top right)."""
        from dbcomm.ui.sign_dialog import sign_annex_file

        if self.info is None:
            return None
        return sign_annex_file(self.db, self.info, self)

    def make_correction(self) -> Any:
        from dbcomm.services import report_signing

        if self.info is None:
            return None
        if not interaction.get().confirm(
                self, _("Correct the report"),
                _("Make a new report for {period} that replaces this signed one? This one stays as it is; "
                  "the new one starts as a draft with the same settings and text.").format(
                    period=self.info.period_key),
                yes=_("Make a correction")):
            return None
        try:
            info = report_signing.make_correction(self.db, self.info.id)
        except UserError as exc:
            interaction.get().error(self, _("Correct the report"), str(exc))
            return None
        self.rebuilt.emit(info)
        interaction.get().info(self, _("Correct the report"), _(
            "A new draft report was made for {period}; open it in the Reports tab, change what needs "
            "changing, build and sign it.").format(period=info.period_key))
        return info

    # --- actions --------------------------------------------------------------------------
    def save_as(self) -> Any:
        """Ask where, then write the PDF shown; returns the path written or None."""
        suggested = suggested_file_name(self.info.period_key if self.info else "report")
        if self.info is not None and self.info.is_signed:
            suggested = suggested.removesuffix(".pdf") + "-ky-so.pdf"
        path = interaction.get().save_file(self, _("Save as PDF"), suggested, _("PDF files (*.pdf)"))
        if not path:
            return None
        try:
            written = reports.save_pdf(self.db, self.pdf, path, self.info.id if self.info else None)
        except (UserError, OSError) as exc:
            interaction.get().error(self, _("Save as PDF"), str(exc))
            return None
        self.saved_path = written
        interaction.get().info(self, _("Save as PDF"), _("Wrote {path}.").format(path=written))
        return written

    def print_dialog(self) -> PrintJob | None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(suggested_file_name(self.info.period_key if self.info else "report"))
        printer.setFromTo(1, self.page_count())
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle(_("Print"))
        dialog.setMinMax(1, self.page_count())
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return self.print_to(printer)

    def print_to(self, printer: QPrinter) -> PrintJob:
        """Print on ``printer`` (already set up); the work goes on in the background."""

        def finished(state: str) -> None:
            if state == "failed" and self.print_job is not None:
                interaction.get().error(self, _("Print"), self.print_job.error)

        self.print_job = PrintJob(self.pdf, printer, self, finished)
        return self.print_job

    def rebuild(self) -> None:
        """Build the report again from today's register (drafts only)."""
        if self.info is None:
            return
        from dbcomm.ui.tasks import run_cancellable

        report_id = self.info.id
        self.view.paused = True  # PDFium is busy in the build thread: draw no page meanwhile

        def done(built: reports.BuiltReport) -> None:
            self.view.paused = False
            self.info = built.info
            self.identical = True
            self.changed = 0
            self.just_built = True
            self._set_pdf(built.pdf)
            self._show_state()
            self.rebuilt.emit(built.info)

        def stopped(message: str | None = None) -> None:
            self.view.paused = False
            self.view.viewport().update()
            if message:
                interaction.get().error(self, _("Rebuild"), message)

        self.task = run_cancellable(
            self, _("Building the report"),
            lambda progress, cancelled: reports.build(self.db, report_id, progress=progress,
                                                      cancelled=cancelled),
            done, on_error=stopped, on_cancel=stopped, label=_("Counting the activities and writing the PDF…"))

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name
        if self.print_job is not None and self.print_job.state == "running":
            self.print_job.cancel()
        if self.view.pages is not None:
            self.view.pages.close()
            self.view.pages = None
        super().done(result)

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp, Qt.Key.Key_Home, Qt.Key.Key_End):
            self.view.keyPressEvent(event)
            return
        super().keyPressEvent(event)


def open_stored(db: Database, report_id: int, parent: QWidget,
                on_open: Callable[[PdfPreviewDialog], None] | None = None) -> Any:
    """Render a stored report again (in the background) and show it, with how it stands."""
    from dbcomm.ui.tasks import run_cancellable

    def work(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Any:
        from dbcomm.services import report_signing

        info = reports.get_report(db, report_id).info
        if info.is_signed:  # the signed file as kept, not a new rendering
            return report_signing.signed_file(db, report_id), None, 0, info
        rendered = reports.render_stored(db, report_id)
        if cancelled():
            return None
        changed = reports.changed_since_build(db, report_id)
        return rendered.pdf, rendered.identical, changed, info

    def show(result: Any) -> None:
        if result is None:  # the person cancelled while the PDF was being prepared
            return
        pdf, identical, changed, info = result
        dialog = PdfPreviewDialog(db, pdf, info=info, identical=identical, changed=changed, parent=parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if on_open:
            on_open(dialog)
        dialog.open()

    return run_cancellable(parent, _("Report preview"), work, show,
                           label=_("Preparing the preview…"))


__all__ = ["PDFIUM_LOCK", "PageView", "PdfPages", "PdfPreviewDialog", "PrintJob", "builder_name",
           "open_stored", "suggested_file_name"]
