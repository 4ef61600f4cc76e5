"""The coverage tab and the indicators, driven like a person; the indicator editor's measure."""

from __future__ import annotations

import math
from datetime import date

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QPushButton

from dbcomm.domain.models import ActivityFilter
from dbcomm.errors import ValidationFailed
from dbcomm.i18n import _, format_number
from dbcomm.services import activities, plans, reports
from dbcomm.services.reports import CoverageGrid, CoverageRow
from dbcomm.store.models import IndicatorValue
from dbcomm.ui.dashboard_view import (
    GAP_COLOUR,
    NOT_YET_COLOUR,
    DashboardView,
    IndicatorValueDialog,
    _bold,
    parse_value,
)
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.plan_view import IndicatorDialog, PlanView
from ui_helpers import (
    FakeInteraction,
    choose,
    click,
    click_tab,
    drive_modal,
    install_fake,
    type_text,
)

YEAR = 2025  # a whole year in the past: every month without activity is a gap


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def plan_id(db) -> int:  # type: ignore[no-untyped-def]
    return plans.default_plan(db).id


@pytest.fixture
def dashboard(qtbot, demo_db, plan_id, fake) -> DashboardView:  # type: ignore[no-untyped-def]
    v = DashboardView(demo_db, plan_id)
    qtbot.addWidget(v)
    v.resize(1300, 800)
    v.show()
    v.year_spin.setValue(YEAR)
    return v


def shown_counts(view: DashboardView) -> dict[str, list[int]]:
    """What the grid shows, by row code: the counts per column, then the total."""
    model = view.model
    out = {}
    for r, line in enumerate(model.lines):
        if line is None:
            continue
        out[line.code] = [int(model.index(r, c).data().replace(".", "") or 0) for c in range(model.columnCount())]
    return out


def test_the_grid_shows_the_counts_of_the_coverage_service(qtbot, demo_db, plan_id, dashboard):  # type: ignore[no-untyped-def]
    grid = reports.coverage(demo_db, plan_id, YEAR)
    shown = shown_counts(dashboard)
    assert shown == {r.code: [*r.counts, r.total] for r in grid.rows}
    model = dashboard.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == [f"{m:02d}" for m in range(1, 13)] + [_("Total")]
    last = model.rowCount() - 1
    assert [model.index(last, c).data() for c in range(12)] == [format_number(n) for n in grid.column_totals]
    assert model.index(last, 12).data() == format_number(sum(grid.column_totals))
    titles = [model.headerData(r, Qt.Orientation.Vertical, Qt.ItemDataRole.ToolTipRole) for r in range(last + 1)]
    assert titles.index(_("Communication forms")) == sum(1 for r in grid.rows if r.kind != "form")
    bold = model.headerData(0, Qt.Orientation.Vertical, Qt.ItemDataRole.FontRole)
    assert bold is not None and bold.bold()  # an objective
    assert model.headerData(1, Qt.Orientation.Vertical).startswith("      ")  # a task, indented

    click(qtbot, dashboard.by_place)
    by_place = reports.coverage(demo_db, plan_id, YEAR, by="place")
    shown_places = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(by_place.columns))]
    assert [name.replace("\n", " ") for name in shown_places] == by_place.columns  # "Xã\nMường Phăng"
    assert shown_counts(dashboard) == {r.code: [*r.counts, r.total] for r in by_place.rows}


def test_a_cell_without_activity_has_the_gap_colour_and_says_so(qtbot, demo_db, plan_id, dashboard):  # type: ignore[no-untyped-def]
    grid = reports.coverage(demo_db, plan_id, YEAR)
    model = dashboard.model
    zero = next((r, c) for r, line in enumerate(model.lines) if line is not None
                for c, n in enumerate(line.counts) if n == 0)
    busy = next((r, c) for r, line in enumerate(model.lines) if line is not None
                for c, n in enumerate(line.counts) if n > 0)
    gap = model.index(*zero)
    assert gap.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(GAP_COLOUR)
    line = model.lines[zero[0]]
    assert gap.data(Qt.ItemDataRole.ToolTipRole) == _("{what} — {when}: no activity").format(
        what=f"{line.code}. {line.label}" if line.kind != "task" else f"{line.code}  {line.label}",
        when=grid.columns[zero[1]])
    assert model.index(*busy).data(Qt.ItemDataRole.BackgroundRole).color() != QColor(GAP_COLOUR)


def test_months_still_to_come_are_not_gaps(qtbot, demo_db, plan_id, dashboard):  # type: ignore[no-untyped-def]
    grid = reports.coverage(demo_db, plan_id, 2026)
    dashboard.model.set_grid(grid, today=date(2026, 8, 20))
    december = dashboard.model.index(0, 11)
    assert december.data() == ""
    assert december.data(Qt.ItemDataRole.BackgroundRole).color() != QColor(GAP_COLOUR)


def test_the_month_not_over_yet_is_no_gap_unless_it_has_activity(qtbot, dashboard):  # type: ignore[no-untyped-def]
    columns = [f"{m:02d}" for m in range(1, 13)]
    quiet = [3, 1, 0, 2, 4, 1, 0, 0, 0, 0, 0, 0]  # nothing in July (a gap) nor, so far, in August
    busy = [1, 0, 2, 1, 1, 3, 2, 5, 0, 0, 0, 0]  # five in August already
    grid = CoverageGrid(2026, "month", columns,
                        [CoverageRow("objective", "1", "Nâng cao nhận thức", quiet),
                         CoverageRow("form", "F1", "Tin, bài trên Cổng thông tin điện tử", busy)],
                        [a + b for a, b in zip(quiet, busy, strict=True)])
    model = dashboard.model
    model.set_grid(grid, today=date(2026, 8, 20))

    july, august = model.index(0, 6), model.index(0, 7)
    assert july.data() == "0"
    assert july.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(GAP_COLOUR)
    assert august.data() == ""
    assert august.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(NOT_YET_COLOUR)
    assert august.data(Qt.ItemDataRole.ToolTipRole) == _("{what} — {when}: month not over yet").format(
        what="1. Nâng cao nhận thức", when="08")
    september = model.index(0, 8)
    assert september.data(Qt.ItemDataRole.ToolTipRole) == _("{what} — {when}: not yet").format(
        what="1. Nâng cao nhận thức", when="09")

    f1_august = model.index(2, 7)  # row 1 is the line before the forms
    assert f1_august.data() == "5"
    assert f1_august.data(Qt.ItemDataRole.BackgroundRole).color() not in (QColor(GAP_COLOUR), QColor(NOT_YET_COLOUR))


def test_a_note_under_the_grid_says_how_objectives_are_counted(qtbot, dashboard):  # type: ignore[no-untyped-def]
    assert dashboard.grid_note.isVisible()
    assert dashboard.grid_note.text() == _("An activity that serves several tasks counts once for the objective.")
    table = dashboard.table
    assert dashboard.grid_note.mapTo(dashboard, QPoint(0, 0)).y() >= table.mapTo(dashboard, QPoint(0, table.height())).y()


def column_widths(view: DashboardView) -> list[int]:
    header = view.table.horizontalHeader()
    return [header.sectionSize(c) for c in range(view.model.columnCount())]


def test_switching_back_to_months_sizes_the_columns_afresh(qtbot, dashboard):  # type: ignore[no-untyped-def]
    months = column_widths(dashboard)
    labels = dashboard.table.verticalHeader().width()
    click(qtbot, dashboard.by_place)
    assert column_widths(dashboard) != months
    click(qtbot, dashboard.by_month)

    assert column_widths(dashboard) == months
    assert dashboard.table.verticalHeader().width() == labels  # the row titles get their room back
    model, header = dashboard.model, dashboard.table.horizontalHeader()
    total = model.columnCount() - 1
    bold = QFontMetrics(_bold())
    assert header.sectionSize(total) > bold.horizontalAdvance(_("Total"))  # "Total" is not cut
    for c in range(model.columnCount()):
        for r in range(model.rowCount()):
            assert header.sectionSize(c) > bold.horizontalAdvance(model.index(r, c).data() or "")


def test_progress_bar_text_is_centred(qtbot, dashboard, monkeypatch):  # type: ignore[no-untyped-def]
    def fill(d: IndicatorValueDialog) -> None:
        type_text(d.value_edit, "60")  # above the target: a full bar
        click(qtbot, d.ok_button)

    drive_modal(monkeypatch, IndicatorValueDialog, fill)
    click(qtbot, dashboard.value_buttons["CT1"])
    assert dashboard.bars["CT1"].value() == dashboard.bars["CT1"].maximum()
    assert dashboard.bars
    for bar in dashboard.bars.values():
        assert bar.alignment() & Qt.AlignmentFlag.AlignHCenter, bar.objectName()
        assert bar.alignment() & Qt.AlignmentFlag.AlignVCenter, bar.objectName()


@pytest.mark.parametrize("typed", ["inf", "nan", "1e999", "-inf"])
def test_a_value_that_is_not_finite_is_refused(qtbot, demo_db, plan_id, dashboard, monkeypatch, typed):  # type: ignore[no-untyped-def]
    def fill(d: IndicatorValueDialog) -> None:
        type_text(d.value_edit, typed)
        click(qtbot, d.ok_button)
        assert d.isVisible()  # the dialog stays open for a correction

    opened = drive_modal(monkeypatch, IndicatorValueDialog, fill)
    click(qtbot, dashboard.value_buttons["CT2"])
    assert opened[0].error.text() == _("'{value}' is not a number.").format(value=typed)
    (ct2,) = [p for p in reports.indicator_progress(demo_db, plan_id, YEAR) if p.code == "CT2"]
    assert ct2.year_value is None
    dashboard.reload()  # the tab still opens
    assert dashboard.bars["CT2"].text().startswith(_("not reported"))


def test_a_percentage_above_100_is_refused_with_the_reason(qtbot, demo_db, plan_id, dashboard, monkeypatch):  # type: ignore[no-untyped-def]
    def fill(d: IndicatorValueDialog) -> None:
        type_text(d.value_edit, "150")
        click(qtbot, d.ok_button)
        assert d.isVisible() and d.error.isVisible()  # still open, with the reason

    opened = drive_modal(monkeypatch, IndicatorValueDialog, fill)
    click(qtbot, dashboard.value_buttons["CT1"])  # a "%" indicator

    ct1_id = next(i.id for i in plans.get_tree(demo_db, plan_id).indicators if i.code == "CT1")
    with pytest.raises(ValidationFailed) as refused:
        reports.set_indicator_value(demo_db, ct1_id, YEAR, 150.0)
    assert opened[0].error.text() == str(refused.value)  # the service's own words
    (ct1,) = [p for p in reports.indicator_progress(demo_db, plan_id, YEAR) if p.code == "CT1"]
    assert ct1.year_value is None


def test_an_infinite_value_stored_earlier_does_not_break_the_tab(qtbot, demo_db, plan_id, dashboard):  # type: ignore[no-untyped-def]
    ct1_id = next(i.id for i in plans.get_tree(demo_db, plan_id).indicators if i.code == "CT1")
    with demo_db.write() as s:  # written before values were checked
        s.add(IndicatorValue(indicator_id=ct1_id, year=YEAR, value=math.inf, note=""))
    dashboard.reload()
    bar = dashboard.bars["CT1"]
    assert bar.value() == 0
    assert "inf" not in bar.text().lower()


def test_entering_a_manual_indicator_value_updates_the_bar_and_the_database(qtbot, demo_db, plan_id, dashboard, monkeypatch):  # type: ignore[no-untyped-def]
    bar = dashboard.bars["CT1"]  # manual; target 50% for 2025
    assert bar.value() == 0 and bar.text().startswith(_("not reported"))
    assert "CT6" not in dashboard.value_buttons  # counted from the register: nothing to enter

    def fill(d: IndicatorValueDialog) -> None:
        type_text(d.value_edit, "45")
        type_text(d.note_edit, "Theo báo cáo tổng kết năm học của Trung tâm học tập cộng đồng")
        click(qtbot, d.ok_button)

    opened = drive_modal(monkeypatch, IndicatorValueDialog, fill)
    click(qtbot, dashboard.value_buttons["CT1"])

    assert len(opened) == 1
    bar = dashboard.bars["CT1"]
    assert bar.value() == 900  # 45 of 50: 90%
    assert bar.text() == "45% / 50% (90%)"
    (ct1,) = [p for p in reports.indicator_progress(demo_db, plan_id, YEAR) if p.code == "CT1"]
    assert ct1.year_value == 45


def test_a_value_that_is_not_a_number_is_refused_in_the_dialog(qtbot, demo_db, plan_id, dashboard, monkeypatch):  # type: ignore[no-untyped-def]
    def fill(d: IndicatorValueDialog) -> None:
        type_text(d.value_edit, "khoảng 45")
        click(qtbot, d.ok_button)

    opened = drive_modal(monkeypatch, IndicatorValueDialog, fill)
    click(qtbot, dashboard.value_buttons["CT2"])
    assert opened[0].error.text() == _("'{value}' is not a number.").format(value="khoảng 45")
    (ct2,) = [p for p in reports.indicator_progress(demo_db, plan_id, YEAR) if p.code == "CT2"]
    assert ct2.year_value is None


@pytest.mark.parametrize(("typed", "value"), [("45", 45.0), ("45,5", 45.5), ("45.5", 45.5),
                                               ("1.234", 1234.0), ("1.234,5", 1234.5), ("", None)])
def test_values_are_read_as_typed_in_vietnamese(typed, value):  # type: ignore[no-untyped-def]
    assert parse_value(typed) == value


def test_register_measured_indicators_show_the_register_sum(qtbot, demo_db, plan_id, dashboard):  # type: ignore[no-untyped-def]
    (ct6,) = [p for p in reports.indicator_progress(demo_db, plan_id, YEAR) if p.code == "CT6"]
    assert ct6.measure == "items" and ct6.year_value
    assert dashboard.bars["CT6"].text().startswith(format_number(int(ct6.year_value)) + " tin, bài")


def test_the_tab_counts_again_after_activities_change(qtbot, demo_db, plan_id, fake):  # type: ignore[no-untyped-def]
    w = MainWindow(demo_db)
    qtbot.addWidget(w)
    w.show()
    assert w.dashboard is not None
    click_tab(qtbot, w.tabs, w.tabs.indexOf(w.dashboard))
    w.dashboard.year_spin.setValue(YEAR)
    before = sum(shown_counts(w.dashboard)["F3"][:12])
    f3 = next(f.id for f in activities.forms(demo_db, plan_id) if f.code == "F3")
    ids = activities.list_ids(demo_db, ActivityFilter(plan_id=plan_id, form_id=f3, date_from=date(YEAR, 1, 1),
                                                      date_to=date(YEAR, 12, 31)))
    assert ids

    click_tab(qtbot, w.tabs, w.tabs.indexOf(w.register))
    activities.delete(demo_db, ids[:1])
    w.register.refresh()  # what the register's delete button does after deleting
    click_tab(qtbot, w.tabs, w.tabs.indexOf(w.dashboard))
    assert sum(shown_counts(w.dashboard)["F3"][:12]) == before - 1


def test_the_register_totals_show_only_with_the_register(qtbot, demo_db, fake):  # type: ignore[no-untyped-def]
    w = MainWindow(demo_db)
    qtbot.addWidget(w)
    w.show()
    assert w.tabs.currentWidget() is w.register
    assert w.status_label.isVisible() and w.status_label.text()
    click_tab(qtbot, w.tabs, w.tabs.indexOf(w.reports_view))
    assert not w.status_label.isVisible()
    click_tab(qtbot, w.tabs, w.tabs.indexOf(w.dashboard))
    assert not w.status_label.isVisible()
    click_tab(qtbot, w.tabs, w.tabs.indexOf(w.register))
    assert w.status_label.isVisible() and w.status_label.text()


def test_double_clicking_a_cell_shows_those_activities_in_the_register(qtbot, demo_db, plan_id, fake):  # type: ignore[no-untyped-def]
    w = MainWindow(demo_db)
    qtbot.addWidget(w)
    w.show()
    click_tab(qtbot, w.tabs, w.tabs.indexOf(w.dashboard))
    w.dashboard.year_spin.setValue(YEAR)
    model = w.dashboard.model
    row, column = next((r, c) for r, line in enumerate(model.lines) if line is not None and line.kind == "form"
                       for c, n in enumerate(line.counts) if n > 0)
    table = w.dashboard.table
    table.scrollTo(model.index(row, column))
    centre = QPoint(table.visualRect(model.index(row, column)).center())
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)

    assert w.tabs.currentWidget() is w.register
    f = w.register.current_filter()
    line = model.lines[row]
    assert (f.date_from, f.date_to) == (date(YEAR, column + 1, 1), reports.resolve_period(
        demo_db, plan_id, f"{YEAR}-{column + 1:02d}").end)
    assert f.form_id == next(x.id for x in w.register.tree.forms if x.code == line.code)
    qtbot.waitUntil(lambda: w.register.model.complete and w.register.model.totals is not None)
    assert w.register.model.totals.count == line.counts[column]


# --- the indicator editor of the plan tab ---------------------------------------------------


def test_the_indicator_editor_saves_how_the_indicator_is_measured(qtbot, db, plan, fake, monkeypatch):  # type: ignore[no-untyped-def]
    view = PlanView(db, plan.plan.id)
    qtbot.addWidget(view)
    view.show()

    def fill(d: IndicatorDialog) -> None:
        assert d.measure_combo.currentData() == "manual"
        type_text(d.name_edit, "Số buổi sinh hoạt chuyên đề khuyến học tại nhà văn hóa bản")
        d.unit_edit.clear()
        type_text(d.unit_edit, "buổi")
        choose(d.measure_combo, "sessions")
        click(qtbot, d.ok_button)

    drive_modal(monkeypatch, IndicatorDialog, fill)
    click(qtbot, view.findChild(QPushButton, "add_indicator"))
    saved = next(i for i in plans.get_tree(db, plan.plan.id).indicators
                 if i.name == "Số buổi sinh hoạt chuyên đề khuyến học tại nhà văn hóa bản")
    assert saved.measure == "sessions"
