"""The register tab, driven like a person: searching, sorting, filtering, editing, deleting."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date

import pytest
from PySide6.QtCore import QPoint, Qt

from dbcomm.domain.models import ActivityFilter
from dbcomm.domain.text import fold, search_terms, vi_sort_key
from dbcomm.i18n import format_number, ngettext
from dbcomm.services import activities, demo
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.register_model import COLUMNS, RegisterModel
from dbcomm.ui.register_view import RegisterView
from ui_helpers import (
    FakeInteraction,
    choose,
    click,
    click_check,
    click_row,
    install_fake,
    replace_text,
    type_text,
)

TITLE_COLUMN = next(i for i, (key, _label) in enumerate(COLUMNS) if key == "title")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def window(qtbot, demo_db, fake) -> MainWindow:  # type: ignore[no-untyped-def]
    w = MainWindow(demo_db)
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.register)
    return w


@pytest.fixture
def view(window) -> RegisterView:  # type: ignore[no-untyped-def]
    assert window.register is not None
    return window.register


def settle(qtbot, view: RegisterView) -> None:  # type: ignore[no-untyped-def]
    """Wait for the debounce timer and for the register to know its full count."""
    qtbot.waitUntil(lambda: view.model.current_filter == view.current_filter() and view.model.complete
                    and view.model.totals is not None, timeout=5000)


def status_count(window: MainWindow) -> str:
    """The first part of the status bar: "300 hoạt động"."""
    return window.status_label.text().split(" · ")[0]


def shows_count(n: int) -> str:
    return ngettext("{count} activity", "{count} activities", n).format(count=format_number(n))


def shown_rows(model: RegisterModel) -> list:  # type: ignore[type-arg]
    rows = [model.row(r) for r in range(model.rowCount())]
    assert None not in rows
    return rows


def all_count(db, f: ActivityFilter) -> int:  # type: ignore[no-untyped-def]
    return activities.totals(db, f).count


def base_filter(view: RegisterView) -> ActivityFilter:
    return ActivityFilter(plan_id=view.tree.plan.id)


@pytest.fixture
def register_texts(demo_db, plan, tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every activity's searchable text (title, description, partner, notes) read from a CSV export."""
    path = tmp_path / "all.csv"
    activities.export_csv(demo_db, ActivityFilter(plan_id=plan.plan.id), path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {r["uuid"]: " ".join((r["title"], r["description"], r["partner"], r["notes"]))
                for r in csv.DictReader(fh)}


# --- searching -------------------------------------------------------------------------------


def test_searching_without_diacritics_finds_the_vietnamese_text(qtbot, window, view, demo_db, register_texts):  # type: ignore[no-untyped-def]
    total = view.model.rowCount()
    assert status_count(window) == shows_count(total)

    view.search_edit.setFocus()
    qtbot.keyClicks(view.search_edit, "hoc tap suot doi")
    settle(qtbot, view)

    rows = shown_rows(view.model)
    expected = [u for u, text in register_texts.items()
                if all(t in fold(text) for t in search_terms("hoc tap suot doi"))]
    assert 0 < len(rows) < total
    assert sorted(r.uuid for r in rows) == sorted(expected)
    for r in rows:
        assert "học tập suốt đời" in register_texts[r.uuid].lower()
    assert status_count(window) == shows_count(len(rows))
    assert not view.empty_label.isVisible()


def test_searching_in_capitals_with_diacritics_finds_the_same_activities(qtbot, window, view):  # type: ignore[no-untyped-def]
    qtbot.keyClicks(view.search_edit, "hoc tap suot doi")
    settle(qtbot, view)
    plain = sorted(r.id for r in shown_rows(view.model))
    view.search_edit.clear()
    settle(qtbot, view)

    type_text(view.search_edit, "HỌC TẬP SUỐT ĐỜI")
    settle(qtbot, view)

    assert sorted(r.id for r in shown_rows(view.model)) == plain
    assert status_count(window) == shows_count(len(plain))


def test_a_search_that_matches_nothing_says_so(qtbot, window, view):  # type: ignore[no-untyped-def]
    type_text(view.search_edit, "không có hoạt động nào như thế")
    settle(qtbot, view)

    assert view.model.rowCount() == 0
    assert view.empty_label.isVisible() and view.empty_label.text()
    assert status_count(window) == shows_count(0)


# --- sorting --------------------------------------------------------------------------------


def click_header(qtbot, view: RegisterView, section: int) -> None:  # type: ignore[no-untyped-def]
    header = view.table.horizontalHeader()
    x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def test_clicking_the_title_header_sorts_in_vietnamese_order(qtbot, view, register_texts, demo_db):  # type: ignore[no-untyped-def]
    all_titles = [r.title for r in activities.list_rows(demo_db, base_filter(view), limit=10_000)]
    assert sorted(all_titles) != sorted(all_titles, key=vi_sort_key)  # Đ… sorts apart in code-point order

    click_header(qtbot, view, TITLE_COLUMN)
    settle(qtbot, view)

    header = view.table.horizontalHeader()
    assert header.sortIndicatorSection() == TITLE_COLUMN
    descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    shown = [view.model.data(view.model.index(r, TITLE_COLUMN)) for r in range(view.model.rowCount())]
    assert shown == sorted(all_titles, key=vi_sort_key, reverse=descending)

    click_header(qtbot, view, TITLE_COLUMN)  # the other way round
    settle(qtbot, view)

    again = [view.model.data(view.model.index(r, TITLE_COLUMN)) for r in range(view.model.rowCount())]
    assert again == sorted(all_titles, key=vi_sort_key, reverse=not descending)


PLACE_COLUMN = next(i for i, (key, _label) in enumerate(COLUMNS) if key == "place")


def test_clicking_the_place_header_puts_activities_without_a_place_first_then_vietnamese_order(qtbot, view, demo_db):  # type: ignore[no-untyped-def]
    # read by date, a different query from the one the header runs
    everything = activities.list_rows(demo_db, base_filter(view), sort="date", limit=10_000)
    assert any(not r.place_name for r in everything) and any(r.place_name for r in everything)
    ascending = [r.id for r in sorted(everything, key=lambda r: (r.place_name != "", vi_sort_key(r.place_name),
                                                                 r.date_start, r.id))]

    click_header(qtbot, view, PLACE_COLUMN)
    settle(qtbot, view)

    header = view.table.horizontalHeader()
    assert header.sortIndicatorSection() == PLACE_COLUMN
    descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    shown = [view.model.id_at(r) for r in range(view.model.rowCount())]
    assert shown == (ascending[::-1] if descending else ascending)
    places = [view.model.data(view.model.index(r, PLACE_COLUMN)) for r in range(view.model.rowCount())]
    assert places == [next(x.place_name for x in everything if x.id == i) for i in shown]

    click_header(qtbot, view, PLACE_COLUMN)  # the other way round: the exact reverse
    settle(qtbot, view)

    again = [view.model.id_at(r) for r in range(view.model.rowCount())]
    assert again == shown[::-1]


@pytest.fixture
def counting_in_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """The register as the application runs it: the count of the whole set in a worker thread."""
    monkeypatch.setattr(RegisterModel, "background", True)


def test_a_search_shows_its_first_rows_at_once_and_the_count_once_they_are_on_screen(  # type: ignore[no-untyped-def]
        qtbot, demo_db, fake, counting_in_background):
    from dbcomm.services import plans

    view = RegisterView(demo_db, plans.get_tree(demo_db, plans.default_plan(demo_db).id))
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.model.complete, timeout=5000)

    type_text(view.search_edit, "a")
    view.apply_filter()  # as the debounce timer would
    assert view.model.rowCount() == RegisterModel.PAGE  # the first screenful, before any counting
    assert view.model.totals is None
    first = [view.model.id_at(r) for r in range(RegisterModel.PAGE)]

    qtbot.waitUntil(lambda: view.model.totals is not None, timeout=5000)  # painted, then counted

    f = replace(base_filter(view), text="a")
    expected = activities.totals(demo_db, f)
    assert view.model.totals == expected
    assert view.model.rowCount() == expected.count > RegisterModel.PAGE
    assert [view.model.id_at(r) for r in range(RegisterModel.PAGE)] == first
    assert [view.model.id_at(r) for r in range(view.model.rowCount())] == [
        r.id for r in activities.list_rows(demo_db, f, limit=10_000)]
    view.model.shutdown()


def test_an_activity_saved_elsewhere_before_the_count_arrives_takes_its_place_in_the_table(  # type: ignore[no-untyped-def]
        qtbot, demo_db, plan, fake, counting_in_background):
    from dbcomm.domain.models import ActivityInput

    view = RegisterView(demo_db, plan)  # the first page is read; the count has not started
    qtbot.addWidget(view)
    assert view.model.totals is None
    newest = activities.list_rows(demo_db, base_filter(view), limit=1)[0]
    # another window saves an activity on the newest day: it belongs at the top
    saved = activities.create(demo_db, ActivityInput(plan_id=plan.plan.id, date_start=newest.date_start,
                                                     form_id=plan.forms[0].id, subtype="press",
                                                     title="Bài viết lưu từ cửa sổ khác"))

    qtbot.waitUntil(lambda: view.model.complete and view.model.totals is not None, timeout=5000)

    assert view.model.id_at(0) == saved.id
    assert view.model.rowCount() == view.model.totals.count == 301
    assert [view.model.id_at(r) for r in range(view.model.rowCount())] == [
        r.id for r in activities.list_rows(demo_db, base_filter(view), limit=10_000)]
    view.model.shutdown()


def test_a_register_that_is_not_on_screen_still_counts_its_activities(  # type: ignore[no-untyped-def]
        qtbot, demo_db, fake, counting_in_background):
    from dbcomm.services import plans

    hidden = RegisterView(demo_db, plans.get_tree(demo_db, plans.default_plan(demo_db).id))
    qtbot.addWidget(hidden)  # never shown, so never painted
    assert not hidden.isVisible()
    assert hidden.model.rowCount() == RegisterModel.PAGE  # the first page at once
    assert hidden.model.totals is None

    qtbot.waitUntil(lambda: hidden.model.complete and hidden.model.totals is not None, timeout=5000)

    expected = activities.totals(demo_db, base_filter(hidden))
    assert hidden.model.totals == expected
    assert hidden.model.rowCount() == expected.count == 300
    hidden.model.shutdown()


# --- editing, deleting, the recycle bin ----------------------------------------------------


def test_editing_the_selected_activity_shows_the_new_title_in_the_table(qtbot, window, view, demo_db):  # type: ignore[no-untyped-def]
    click_row(qtbot, view.table, 2, TITLE_COLUMN)
    (aid,) = view.selected_ids()
    old_title = activities.get(demo_db, aid).title

    d = view.edit_selected()
    assert d is not None
    qtbot.addWidget(d)
    assert d.title_edit.text() == old_title
    replace_text(qtbot, d.title_edit, "Phóng sự về gương học tập của già làng bản Huổi Lèng")
    click(qtbot, d.save_button)
    settle(qtbot, view)

    assert not d.isVisible()
    assert activities.get(demo_db, aid).title == "Phóng sự về gương học tập của già làng bản Huổi Lèng"
    row = view.model.row_of_id(aid)
    assert row is not None
    assert view.model.data(view.model.index(row, TITLE_COLUMN)) == "Phóng sự về gương học tập của già làng bản Huổi Lèng"
    assert view.selected_ids() == [aid]
    assert status_count(window) == shows_count(300)


def test_deleting_asks_first_and_undo_brings_the_activity_back(qtbot, window, view, fake, demo_db):  # type: ignore[no-untyped-def]
    total = view.model.rowCount()
    click_row(qtbot, view.table, 0, TITLE_COLUMN)
    (aid,) = view.selected_ids()
    title = activities.get(demo_db, aid).title
    fake.confirm_answers = [True]

    view.delete_action.trigger()
    settle(qtbot, view)

    assert len(fake.of_kind("confirm")) == 1 and title in fake.of_kind("confirm")[0].text
    assert aid not in [r.id for r in shown_rows(view.model)]
    assert view.model.rowCount() == total - 1
    assert status_count(window) == shows_count(total - 1)
    assert view.undo_action.isEnabled()

    view.undo_action.trigger()
    settle(qtbot, view)

    assert aid in [r.id for r in shown_rows(view.model)]
    assert status_count(window) == shows_count(total)
    assert not view.undo_action.isEnabled()


def test_answering_no_to_the_delete_question_keeps_the_activity(qtbot, window, view, fake):  # type: ignore[no-untyped-def]
    total = view.model.rowCount()
    click_row(qtbot, view.table, 0, TITLE_COLUMN)
    (aid,) = view.selected_ids()
    fake.confirm_answers = [False]

    view.delete_action.trigger()
    settle(qtbot, view)

    assert aid in [r.id for r in shown_rows(view.model)]
    assert status_count(window) == shows_count(total)
    assert not view.undo_action.isEnabled()


def test_the_recycle_bin_shows_deleted_activities_and_restores_them(qtbot, window, view, fake, demo_db):  # type: ignore[no-untyped-def]
    total = view.model.rowCount()
    fake.confirm_answers = [True]
    click_row(qtbot, view.table, 0)
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     pos=view.table.visualRect(view.model.index(2, 0)).center())
    deleted = view.selected_ids()
    assert len(deleted) == 3
    view.delete_action.trigger()
    settle(qtbot, view)

    click_check(qtbot, view.deleted_check)
    settle(qtbot, view)

    assert sorted(r.id for r in shown_rows(view.model)) == sorted(deleted)
    assert status_count(window) == shows_count(3)
    assert view.restore_action.isVisible()
    assert not view.delete_action.isEnabled()

    click_row(qtbot, view.table, 0)
    (restored,) = view.selected_ids()
    view.restore_action.trigger()
    settle(qtbot, view)

    assert sorted(r.id for r in shown_rows(view.model)) == sorted(set(deleted) - {restored})
    click_check(qtbot, view.deleted_check)
    settle(qtbot, view)
    assert status_count(window) == shows_count(total - 2)
    assert activities.get(demo_db, restored).version >= 2


# --- filters --------------------------------------------------------------------------------


def test_the_form_filter_splits_the_register_without_losing_any_activity(qtbot, window, view, demo_db):  # type: ignore[no-untyped-def]
    total = view.model.rowCount()
    seen = 0
    for form in view.tree.forms:
        choose(view.form_combo, form.id)
        settle(qtbot, view)
        rows = shown_rows(view.model)
        assert {r.form_code for r in rows} <= {form.code}
        assert len(rows) == all_count(demo_db, replace(base_filter(view), form_id=form.id))
        assert status_count(window) == shows_count(len(rows))
        seen += len(rows)
    assert seen == total


def test_place_and_language_filters_show_only_matching_activities(qtbot, window, view, demo_db):  # type: ignore[no-untyped-def]
    place_name = "Xã Mường Phăng"
    place_id = view.place_combo.itemData(view.place_combo.findText(place_name))
    choose(view.place_combo, place_id)
    settle(qtbot, view)
    at_place = shown_rows(view.model)
    assert at_place and {r.place_name for r in at_place} == {place_name}
    assert len(at_place) == all_count(demo_db, replace(base_filter(view), place_id=place_id))

    choose(view.language_combo, "hmong")
    settle(qtbot, view)
    both = shown_rows(view.model)
    assert all("hmong" in r.languages.split() for r in both)
    assert {r.id for r in both} <= {r.id for r in at_place}
    expected = all_count(demo_db, replace(base_filter(view), place_id=place_id, language="hmong"))
    assert len(both) == expected
    assert status_count(window) == shows_count(expected)

    choose(view.place_combo, None)  # "All places" again
    settle(qtbot, view)
    assert len(shown_rows(view.model)) == all_count(demo_db, replace(base_filter(view), language="hmong"))


def test_new_activity_from_the_register_appears_in_the_table(qtbot, window, view, demo_db):  # type: ignore[no-untyped-def]
    total = view.model.rowCount()

    d = view.new_activity()
    qtbot.addWidget(d)
    type_text(d.title_edit, "Ngày hội đọc sách ở bản Na Son")
    click(qtbot, d.save_button)
    settle(qtbot, view)

    assert status_count(window) == shows_count(total + 1)
    titles = [r.title for r in shown_rows(view.model)]
    assert "Ngày hội đọc sách ở bản Na Son" in titles
    (aid,) = view.selected_ids()
    assert activities.get(demo_db, aid).title == "Ngày hội đọc sách ở bản Na Son"


# --- a large register -----------------------------------------------------------------------


def test_scrolling_to_the_bottom_of_thousands_of_rows_shows_the_last_activity(qtbot, db, fake):  # type: ignore[no-untyped-def]
    demo.generate(db, 3000, seed=11)
    w = MainWindow(db)
    qtbot.addWidget(w)
    w.show()
    view = w.register
    assert view is not None
    settle(qtbot, view)
    model = view.model
    assert model.rowCount() == 3000
    assert status_count(w) == shows_count(3000)

    view.table.scrollToBottom()
    qtbot.wait(10)
    view.table.viewport().grab()  # paint what is on screen

    last = model.rowCount() - 1
    assert view.table.rowAt(view.table.viewport().height() - 2) == last
    expected = activities.list_rows(db, base_filter(view), sort="date", descending=True, offset=last, limit=1)[0]
    assert model.data(model.index(last, TITLE_COLUMN)) is not None
    assert model.data(model.index(last, TITLE_COLUMN)) == expected.title
    assert model.id_at(last) == expected.id


# --- several plans --------------------------------------------------------------------------


def test_the_register_shows_only_the_current_plans_activities_from_the_start(qtbot, db, plan, fake):  # type: ignore[no-untyped-def]
    from dbcomm.domain.models import ActivityInput
    from dbcomm.services import plans

    other = plans.create_plan(db, plans.PlanFields(code="120/KH-UBND", title="Kế hoạch năm 2026",
                                                   start_year=2026, end_year=2026), copy_from=plan.plan.id)
    other_form = plans.get_tree(db, other.id).forms[0].id
    activities.create(db, ActivityInput(plan_id=plan.plan.id, date_start=date(2025, 4, 21),
                                        form_id=plan.forms[0].id, title="Bài viết của kế hoạch 386", subtype="press"))
    activities.create(db, ActivityInput(plan_id=other.id, date_start=date(2026, 4, 21),
                                        form_id=other_form, title="Bài viết của kế hoạch 120", subtype="press"))

    w = MainWindow(db)
    qtbot.addWidget(w)
    w.show()

    assert w.register is not None
    assert [r.title for r in shown_rows(w.register.model)] == ["Bài viết của kế hoạch 386"]
    assert status_count(w) == shows_count(1)
