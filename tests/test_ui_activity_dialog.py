"""The activity dialog, driven like a person: typing Vietnamese, ticking boxes, clicking Save."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from dbcomm.domain.models import ActivityFilter, ActivityInput
from dbcomm.i18n import _
from dbcomm.services import activities, demo, orgs
from dbcomm.services import attachments as attachment_store
from dbcomm.ui.activity_dialog import ActivityDialog
from ui_helpers import (
    FakeInteraction,
    choose,
    click,
    click_tab,
    commit_text,
    install_fake,
    replace_text,
    tick,
    type_date,
    type_text,
)

TITLE = "Phát thanh tiếng Mông về học tập suốt đời"
PLACE = "Xã Mường Phăng"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def communes(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The demo communes, marked as the office's area: they are the places offered."""
    demo.ensure_demo_communes(db)
    return {o.name: o.id for o in orgs.places(db)}


@pytest.fixture
def dialog(qtbot, db, plan, fake, communes) -> ActivityDialog:  # type: ignore[no-untyped-def]
    d = ActivityDialog(db, plan)
    qtbot.addWidget(d)
    d.show()
    return d


def form_id(plan, code: str) -> int:  # type: ignore[no-untyped-def]
    return next(f.id for f in plan.forms if f.code == code)


def count(db, plan) -> int:  # type: ignore[no-untyped-def]
    return activities.totals(db, ActivityFilter(plan_id=plan.plan.id)).count


def error_label(d: ActivityDialog, field: str) -> QLabel:
    label = d.findChild(QLabel, f"error_{field}")
    assert label is not None, f"no error label for {field}"
    return label


def save_and_get_id(qtbot, d: ActivityDialog, button: QPushButton | None = None) -> int:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(d.saved, timeout=2000) as saved:
        click(qtbot, button or d.save_button)
    return saved.args[0]


def language_index(d: ActivityDialog, code: str):  # type: ignore[no-untyped-def]
    lst = d.language_list
    row = next(i for i in range(lst.count()) if lst.item(i).data(Qt.ItemDataRole.UserRole) == code)
    return lst.indexFromItem(lst.item(row))


# --- logging a new activity ----------------------------------------------------------------


def test_an_activity_typed_in_vietnamese_is_saved_with_every_value(qtbot, db, plan, dialog, communes):  # type: ignore[no-untyped-def]
    d = dialog
    type_date(qtbot, d.date_edit, "15032025")
    choose(d.form_combo, form_id(plan, "F3"))
    type_text(d.title_edit, TITLE)
    replace_text(qtbot, d.place_combo.lineEdit(), PLACE)
    tick(qtbot, d.language_list, language_index(d, "hmong"))
    type_text(d.partner_edit, "Đài truyền thanh xã")

    click_tab(qtbot, d.tabs, 1)
    objective = d.node_tree.topLevelItem(1)
    task = objective.child(0)
    tick(qtbot, d.node_tree, d.node_tree.indexFromItem(task))
    tick(qtbot, d.programme_list, d.programme_list.indexFromItem(d.programme_list.item(0)))

    click_tab(qtbot, d.tabs, 2)
    qtbot.keyClicks(d.items_edit, "4")
    qtbot.keyClicks(d.minutes_edit, "60")
    qtbot.keyClicks(d.reach_edit, "1200")
    qtbot.keyClicks(d.reach_edits[("sex", "female")], "700")
    qtbot.keyClicks(d.reach_edits[("sex", "male")], "500")
    qtbot.keyClicks(d.reach_edits[("ethnic", "hmong")], "1100")

    new_id = save_and_get_id(qtbot, d)

    assert not d.isVisible()
    rec = activities.get(db, new_id)
    assert rec.title == TITLE
    assert rec.date_start == date(2025, 3, 15)
    assert rec.form_id == form_id(plan, "F3")
    assert rec.subtype == "loudspeaker"  # the usual kind for F3, chosen by the dialog
    assert rec.place_id == communes[PLACE]
    assert rec.languages == ["vi", "hmong"]
    assert rec.partner == "Đài truyền thanh xã"
    assert rec.node_ids == [task.data(0, Qt.ItemDataRole.UserRole)]
    assert rec.programme_ids == [plan.programmes[0].id]
    assert (rec.items, rec.minutes, rec.reach_total) == (4, 60, 1200)
    assert rec.reach.values == {"sex": {"female": 700, "male": 500}, "ethnic": {"hmong": 1100}}


def test_decomposed_text_from_an_input_method_is_stored_composed(qtbot, db, plan, dialog):  # type: ignore[no-untyped-def]
    d = dialog
    nfd_title = unicodedata.normalize("NFD", TITLE)
    assert nfd_title != TITLE
    commit_text(d.title_edit, nfd_title)
    commit_text(d.description_edit, unicodedata.normalize("NFD", "Tuyên truyền ở bản Huổi Lèng"))
    assert d.title_edit.text() == nfd_title  # what the IME delivered

    new_id = save_and_get_id(qtbot, d)

    rec = activities.get(db, new_id)
    assert rec.title == TITLE
    assert unicodedata.is_normalized("NFC", rec.title)
    assert rec.description == "Tuyên truyền ở bản Huổi Lèng"
    found = activities.list_rows(db, ActivityFilter(plan_id=plan.plan.id, text="tiếng mông"))
    assert [r.id for r in found] == [new_id]


# --- validation shown next to the fields ---------------------------------------------------


def test_an_empty_title_is_marked_next_to_the_field_and_nothing_is_saved(qtbot, db, plan, dialog):  # type: ignore[no-untyped-def]
    d = dialog
    click_tab(qtbot, d.tabs, 3)  # the person is elsewhere when pressing Save

    click(qtbot, d.save_button)

    assert d.isVisible()
    label = error_label(d, "title")
    assert label.isVisible()
    assert label.text() == _("Enter a title.")
    assert d.tabs.currentIndex() == 0  # brought back to the field
    assert d.summary_error.isVisible()
    assert count(db, plan) == 0


def test_a_breakdown_larger_than_the_total_is_shown_on_the_people_tab(qtbot, db, plan, dialog):  # type: ignore[no-untyped-def]
    d = dialog
    type_text(d.title_edit, "Họp bản tuyên truyền về khuyến học")
    click_tab(qtbot, d.tabs, 2)
    qtbot.keyClicks(d.reach_edit, "100")
    qtbot.keyClicks(d.reach_edits[("sex", "female")], "80")
    qtbot.keyClicks(d.reach_edits[("sex", "male")], "50")
    click_tab(qtbot, d.tabs, 0)

    click(qtbot, d.save_button)

    assert d.tabs.currentIndex() == 2
    label = error_label(d, "reach.sex")
    assert label.isVisible()
    assert "130" in label.text() and "100" in label.text()
    assert not error_label(d, "reach.ethnic").isVisible()
    assert not error_label(d, "title").isVisible()
    assert count(db, plan) == 0


def test_a_negative_count_is_refused_next_to_the_field(qtbot, db, plan, dialog):  # type: ignore[no-untyped-def]
    d = dialog
    type_text(d.title_edit, "Đăng tin trên trang Facebook của xã")
    click_tab(qtbot, d.tabs, 2)
    qtbot.keyClicks(d.items_edit, "-5")
    click_tab(qtbot, d.tabs, 0)

    click(qtbot, d.save_button)

    assert d.tabs.currentIndex() == 2
    label = error_label(d, "items")
    assert label.isVisible()
    assert label.text() == _("This cannot be negative.")
    assert count(db, plan) == 0

    # Correcting the number lets it through, and the message goes away.
    d.items_edit.clear()
    qtbot.keyClicks(d.items_edit, "5")
    new_id = save_and_get_id(qtbot, d)
    assert activities.get(db, new_id).items == 5


def test_a_place_that_is_not_in_the_list_is_refused(qtbot, db, plan, dialog):  # type: ignore[no-untyped-def]
    d = dialog
    type_text(d.title_edit, "Treo băng rôn hưởng ứng Ngày Sách")
    replace_text(qtbot, d.place_combo.lineEdit(), "Xã Không Có")

    click(qtbot, d.save_button)

    label = error_label(d, "place_id")
    assert label.isVisible()
    assert "Xã Không Có" in label.text()
    assert count(db, plan) == 0


# --- duplicates, "save and new" ----------------------------------------------------------


def _log(db, plan, title: str, day: date, form_code: str) -> int:  # type: ignore[no-untyped-def]
    return activities.create(db, ActivityInput(
        plan_id=plan.plan.id, date_start=day, form_id=form_id(plan, form_code), title=title,
        subtype="press")).id


def test_a_likely_duplicate_is_asked_about_and_no_saves_nothing(qtbot, db, plan, dialog, fake):  # type: ignore[no-untyped-def]
    first = _log(db, plan, TITLE, date(2025, 3, 15), "F1")
    d = dialog
    type_date(qtbot, d.date_edit, "15032025")
    choose(d.form_combo, form_id(plan, "F1"))
    type_text(d.title_edit, "PHÁT THANH TIẾNG MÔNG VỀ HỌC TẬP SUỐT ĐỜI")  # same title, other case
    fake.confirm_answers = [False]

    click(qtbot, d.save_button)

    assert len(fake.of_kind("confirm")) == 1
    assert f"#{first}" in fake.of_kind("confirm")[0].text
    assert d.isVisible()  # back to the form
    assert count(db, plan) == 1


def test_a_likely_duplicate_is_saved_when_the_person_insists(qtbot, db, plan, dialog, fake):  # type: ignore[no-untyped-def]
    _log(db, plan, TITLE, date(2025, 3, 15), "F1")
    d = dialog
    type_date(qtbot, d.date_edit, "15032025")
    choose(d.form_combo, form_id(plan, "F1"))
    type_text(d.title_edit, TITLE)
    fake.confirm_answers = [True]

    new_id = save_and_get_id(qtbot, d)

    assert len(fake.of_kind("confirm")) == 1
    assert not d.isVisible()
    assert count(db, plan) == 2
    assert activities.get(db, new_id).title == TITLE


def test_the_same_title_on_another_day_is_not_a_duplicate(qtbot, db, plan, dialog, fake):  # type: ignore[no-untyped-def]
    _log(db, plan, TITLE, date(2025, 3, 15), "F1")
    d = dialog
    type_date(qtbot, d.date_edit, "22032025")
    choose(d.form_combo, form_id(plan, "F1"))
    type_text(d.title_edit, TITLE)

    save_and_get_id(qtbot, d)

    assert fake.of_kind("confirm") == []  # the fake would have failed on a question
    assert count(db, plan) == 2


def test_save_and_new_keeps_date_form_and_place_and_clears_the_title(qtbot, db, plan, dialog, communes):  # type: ignore[no-untyped-def]
    d = dialog
    type_date(qtbot, d.date_edit, "02102024")
    choose(d.form_combo, form_id(plan, "F3"))
    replace_text(qtbot, d.place_combo.lineEdit(), PLACE)
    type_text(d.title_edit, "Phát thanh tiếng Thái về Ngày Khuyến học")
    click_tab(qtbot, d.tabs, 2)
    qtbot.keyClicks(d.items_edit, "3")

    first = save_and_get_id(qtbot, d, d.save_new_button)

    assert d.isVisible()
    assert d.title_edit.text() == ""
    assert d.items_edit.value() == 0
    assert d.tabs.currentIndex() == 0
    assert d.date_edit.value() == date(2024, 10, 2)
    assert d.form_combo.currentData() == form_id(plan, "F3")
    assert d.place_combo.currentText() == PLACE
    assert "Phát thanh tiếng Thái về Ngày Khuyến học" in d.summary_error.text()

    type_text(d.title_edit, "Phát thanh tiếng Mông về Ngày Khuyến học")
    second = save_and_get_id(qtbot, d)

    assert not d.isVisible()
    a, b = activities.get(db, first), activities.get(db, second)
    assert (a.title, b.title) == ("Phát thanh tiếng Thái về Ngày Khuyến học", "Phát thanh tiếng Mông về Ngày Khuyến học")
    for rec in (a, b):
        assert rec.date_start == date(2024, 10, 2)
        assert rec.form_id == form_id(plan, "F3")
        assert rec.place_id == communes[PLACE]
    assert (a.items, b.items) == (3, 0)
    assert count(db, plan) == 2


# --- evidence files ---------------------------------------------------------------------


def _add_files_button(d: ActivityDialog) -> QPushButton:
    return next(b for b in d.findChildren(QPushButton) if b.text() == _("Add files…"))


def test_an_evidence_file_is_saved_with_its_checksum(qtbot, db, plan, dialog, fake, tmp_path):  # type: ignore[no-untyped-def]
    photo = tmp_path / "ảnh họp bản Mường Phăng.jpg"
    content = b"\xff\xd8\xff\xe0" + "ảnh chụp buổi họp".encode() * 100
    photo.write_bytes(content)
    fake.open_files_result = [photo]
    d = dialog
    type_text(d.title_edit, "Họp bản tuyên truyền học tập suốt đời")
    click_tab(qtbot, d.tabs, 3)

    click(qtbot, _add_files_button(d))

    assert d.attachment_list.count() == 1
    assert photo.name in d.attachment_list.item(0).text()
    assert not d.attachment_error.isVisible()
    new_id = save_and_get_id(qtbot, d)

    (att,) = activities.get(db, new_id).attachments
    assert att.filename == unicodedata.normalize("NFC", photo.name)
    assert att.size == len(content)
    assert att.sha256 == hashlib.sha256(content).hexdigest()
    assert att.path is not None and att.path.read_bytes() == content
    assert attachment_store.verify(db.attachments_dir, att.sha256)


def test_a_too_large_file_is_refused_with_a_clear_message(qtbot, db, plan, dialog, fake, tmp_path):  # type: ignore[no-untyped-def]
    big = tmp_path / "bản scan quá lớn.pdf"
    with big.open("wb") as fh:  # sparse: one byte over the limit without writing 25 MB
        fh.truncate(attachment_store.MAX_ATTACHMENT_BYTES + 1)
    small = tmp_path / "tờ rơi.pdf"
    small.write_bytes(b"%PDF-1.4 leaflet")
    fake.open_files_result = [big, small]
    d = dialog
    type_text(d.title_edit, "Phát tờ rơi song ngữ về khuyến học")
    click_tab(qtbot, d.tabs, 3)

    click(qtbot, _add_files_button(d))

    assert d.attachment_error.isVisible()
    assert big.name in d.attachment_error.text()
    assert str(attachment_store.MAX_ATTACHMENT_BYTES // 1048576) in d.attachment_error.text()
    shown = [d.attachment_list.item(i).text() for i in range(d.attachment_list.count())]
    assert len(shown) == 1 and small.name in shown[0]

    new_id = save_and_get_id(qtbot, d)
    assert [a.filename for a in activities.get(db, new_id).attachments] == [small.name]


# --- keyboard and editing ------------------------------------------------------------------


def test_enter_in_the_title_moves_on_instead_of_saving(qtbot, db, plan, dialog):  # type: ignore[no-untyped-def]
    d = dialog
    type_text(d.title_edit, "Ngày hội đọc sách tại thư viện")

    qtbot.keyClick(d.title_edit, Qt.Key.Key_Return)
    type_date(qtbot, d.date_edit, "21042025")
    qtbot.keyClick(d.date_edit, Qt.Key.Key_Return)

    assert d.isVisible()
    assert count(db, plan) == 0


def test_enter_outside_a_text_box_saves_and_never_opens_the_file_chooser(qtbot, db, plan, dialog, fake):  # type: ignore[no-untyped-def]
    d = dialog
    type_text(d.title_edit, "Ngày hội đọc sách tại thư viện")
    click_tab(qtbot, d.tabs, 3)
    d.attachment_list.setFocus()

    qtbot.keyClick(d.attachment_list, Qt.Key.Key_Return)

    assert fake.of_kind("open_files") == []
    assert d.save_button.isDefault()
    assert not d.isVisible()
    assert count(db, plan) == 1


def test_editing_shows_the_stored_values_and_saves_the_change(qtbot, db, plan, fake):  # type: ignore[no-untyped-def]
    aid = _log(db, plan, "Bài viết về khuyến học", date(2024, 4, 21), "F1")
    d = ActivityDialog(db, plan, record=activities.get(db, aid))
    qtbot.addWidget(d)
    d.show()
    assert d.title_edit.text() == "Bài viết về khuyến học"
    assert d.date_edit.value() == date(2024, 4, 21)
    assert not d.save_new_button.isVisible()

    replace_text(qtbot, d.title_edit, "Bài viết về khuyến học, khuyến tài")
    save_and_get_id(qtbot, d)

    rec = activities.get(db, aid)
    assert rec.title == "Bài viết về khuyến học, khuyến tài"
    assert rec.version == 2
    assert count(db, plan) == 1


def _edited_by_a_colleague_meanwhile(qtbot, db, plan):  # type: ignore[no-untyped-def]
    aid = _log(db, plan, "Bài viết về khuyến học", date(2024, 4, 21), "F1")
    d = ActivityDialog(db, plan, record=activities.get(db, aid))
    qtbot.addWidget(d)
    d.show()
    other = activities.duplicate_input(db, aid)
    other.title = "Bài viết của đồng nghiệp"
    activities.update(db, aid, other, expected_version=1)  # a colleague saves first
    replace_text(qtbot, d.title_edit, "Bài viết của tôi")
    return aid, d


def test_an_edit_after_someone_else_saved_shows_both_versions_and_back_keeps_editing(qtbot, db, plan, fake):  # type: ignore[no-untyped-def]
    aid, d = _edited_by_a_colleague_meanwhile(qtbot, db, plan)
    fake.conflict_answers = ["back"]
    click(qtbot, d.save_button)

    shown = fake.conflicts[0]
    assert ("Tiêu đề", "Bài viết của tôi", "Bài viết của đồng nghiệp") in shown.differences
    assert shown.current_version == 2
    assert d.isVisible() and d.title_edit.text() == "Bài viết của tôi"  # nothing typed is lost
    assert activities.get(db, aid).title == "Bài viết của đồng nghiệp"


def test_after_a_conflict_the_person_may_save_over_the_colleagues_version(qtbot, db, plan, fake):  # type: ignore[no-untyped-def]
    aid, d = _edited_by_a_colleague_meanwhile(qtbot, db, plan)
    fake.conflict_answers = ["save_mine"]
    click(qtbot, d.save_button)
    assert not d.isVisible()
    stored = activities.get(db, aid)
    assert (stored.title, stored.version) == ("Bài viết của tôi", 3)


def test_after_a_conflict_the_person_may_keep_the_colleagues_version(qtbot, db, plan, fake):  # type: ignore[no-untyped-def]
    aid, d = _edited_by_a_colleague_meanwhile(qtbot, db, plan)
    fake.conflict_answers = ["keep_theirs"]
    click(qtbot, d.save_button)
    assert not d.isVisible()
    stored = activities.get(db, aid)
    assert (stored.title, stored.version) == ("Bài viết của đồng nghiệp", 2)


def test_the_conflict_dialog_shows_each_difference_and_returns_the_choice(qtbot):  # type: ignore[no-untyped-def]
    from datetime import datetime

    from dbcomm.domain.models import ConflictDetails
    from dbcomm.ui.conflict_dialog import ConflictDialog

    details = ConflictDetails(saved_by="Lò Thị Mai", saved_at=datetime(2026, 11, 27, 3, 5), current_version=4,
                              differences=(("Tiêu đề", "Bài của tôi", "Bài của chị Mai"), ("Số phút", "45", "30")))
    dialog = ConflictDialog("Lò Thị Mai đã lưu hoạt động này.", details)
    qtbot.addWidget(dialog)
    dialog.show()
    cells = [[dialog.table.item(r, c).text() for c in range(3)] for r in range(dialog.table.rowCount())]
    assert cells == [["Tiêu đề", "Bài của tôi", "Bài của chị Mai"], ["Số phút", "45", "30"]]
    header = dialog.table.horizontalHeaderItem(2).text()
    assert "Lò Thị Mai" in header and "10:05" in header  # Vietnam time
    click(qtbot, dialog.save_button)
    assert dialog.choice == "save_mine" and not dialog.isVisible()


def test_opening_an_activity_of_a_submitted_period_says_so_before_any_typing(qtbot, db, plan, fake):  # type: ignore[no-untyped-def]
    # given an activity of 2026-Q2 and the period submitted
    from dbcomm.domain.roles import PeriodState
    from dbcomm.services import periods

    activity_id = _log(db, plan, "Họp bản tuyên truyền học tập suốt đời", date(2026, 5, 20), "F3")
    periods.transition(db, plan.plan.id, "2026-Q2", PeriodState.SUBMITTED)

    # when the person opens it
    d = ActivityDialog(db, plan, record=activities.get(db, activity_id))
    qtbot.addWidget(d)
    d.show()

    # then the dialog says why it cannot be changed, and Save is off
    assert "2026-Q2" in d.summary_error.text() and d.summary_error.isVisible()
    assert not d.save_button.isEnabled()
